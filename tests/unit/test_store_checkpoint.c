/* The SQLite store's writer: checkpoints on their own thread, the WAL
 * bounded, and how long records wait for their commit. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store/sqlite_private.h"
#include "store/store.h"

/* Pages in the WAL, and how many of them are copied into the database. */
static void wal_pages(sqlite3 *db, int *in_wal, int *copied)
{
	*in_wal = *copied = -1;
	sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, in_wal, copied);
}

static void write_pages(sqlite3 *db, int pages)
{
	char sql[200];
	snprintf(sql, sizeof sql, "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		 " FROM n WHERE i < %d) INSERT INTO t SELECT zeroblob(4000) FROM n; COMMIT", pages);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
}

TEST(store_checkpoints_run_beside_the_writer_and_keep_the_wal_bounded)
{
	char dir[] = "/tmp/kmsd-checkpoint-XXXXXX", path[300], side[320];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/clients.db", dir);
	sqlite3 *db;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t (b BLOB)", NULL, NULL,
			   NULL) == SQLITE_OK);
	store_options opt = { 0 };
	sqlite_checkpointer *c = sqlite_checkpointer_start(path, &opt);
	CHECK(c != NULL);
	sqlite_checkpointer_attach(c, db);

	/* a few pages: no checkpoint at all (SQLite's own would run at 1000) */
	write_pages(db, 1500);
	unsigned long runs = 0, inline_runs = 0;
	sqlite_checkpointer_counts(c, &runs, &inline_runs);
	CHECK_EQ(runs + inline_runs, 0);

	/* past its threshold: the thread copies everything, the writer none */
	write_pages(db, 3000);
	for (int i = 0; i < 500 && runs == 0; i++) {
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
		sqlite_checkpointer_counts(c, &runs, &inline_runs);
	}
	CHECK(runs >= 1);
	CHECK_EQ(inline_runs, 0);
	int in_wal, copied;
	wal_pages(db, &in_wal, &copied);
	CHECK(in_wal > 4096);
	CHECK_EQ(copied, in_wal);
	/* all of it copied: the next commit starts the WAL over */
	write_pages(db, 1);
	wal_pages(db, &in_wal, &copied);
	CHECK(in_wal < 50);

	/* a writer far ahead of the thread checkpoints itself */
	write_pages(db, 17000);
	sqlite_checkpointer_counts(c, &runs, &inline_runs);
	CHECK(inline_runs >= 1);

	sqlite3_close(db);
	sqlite_checkpointer_stop(c);
	for (int i = 0; i < 3; i++) {
		snprintf(side, sizeof side, "%s%s", path, i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(side);
	}
	CHECK(rmdir(dir) == 0);
}

TEST(store_reports_the_longest_wait_and_the_longest_batch)
{
	char dir[] = "/tmp/kmsd-wait-XXXXXX", spec[300], err[300], side[320];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(spec, sizeof spec, "sqlite:%s/clients.db", dir);
	store *s = store_open(spec, false, err, sizeof err);
	CHECK(s != NULL);
	store_writer_stats ws;
	store_writer_stats_get(s, &ws);
	CHECK(ws.max_wait_ms == 0 && ws.max_batch_ms == 0);
	for (unsigned i = 0; i < 200; i++) {
		store_record r;
		memset(&r, 0, sizeof r);
		memcpy(r.cmid.b, &i, sizeof i);
		r.time = 1700000000;
		r.queued_ns = 1; /* whatever the caller leaves: store_submit stamps it */
		CHECK(store_submit(s, &r));
	}
	CHECK(store_flush(s));
	store_writer_stats_get(s, &ws);
	/* at least the writer's cycle wait, well under the 250 ms promise on
	 * an idle writer; never the caller's stamp (that would be years) */
	CHECK(ws.max_wait_ms > 0 && ws.max_wait_ms < 5000);
	CHECK(ws.max_batch_ms > 0 && ws.max_batch_ms >= ws.last_batch_ms);
	store_close(s);
	for (int i = 0; i < 3; i++) {
		snprintf(side, sizeof side, "%s/clients.db%s", dir, i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(side);
	}
	CHECK(rmdir(dir) == 0);
}
