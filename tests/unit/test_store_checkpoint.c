/* The SQLite store's writer: checkpoints on their own thread, the WAL
 * bounded, and how long records wait for their commit. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

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

/* A writer's connection in WAL mode on a new clients.db under the test's
 * directory, with a checkpointer attached; path gets the file's path. */
static bool checkpointed_writer(char *path, size_t len, sqlite3 **db, sqlite_checkpointer **c)
{
	char dir[256];
	if (!test_temp_dir(dir, sizeof dir))
		return false;
	snprintf(path, len, "%s/clients.db", dir);
	store_options opt = { 0 };
	if (sqlite3_open(path, db) != SQLITE_OK ||
	    sqlite3_exec(*db, "PRAGMA journal_mode=WAL; CREATE TABLE t (b BLOB)", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    !(*c = sqlite_checkpointer_start(path, &opt)))
		return false;
	sqlite_checkpointer_attach(*c, *db);
	return true;
}

TEST(store_checkpoints_run_beside_the_writer_and_keep_the_wal_bounded)
{
	char path[300];
	sqlite3 *db;
	sqlite_checkpointer *c;
	CHECK(checkpointed_writer(path, sizeof path, &db, &c));

	/* a few pages: no checkpoint at all (SQLite's own would run at 1000) */
	write_pages(db, 1500);
	unsigned long runs = 0, inline_runs = 0;
	sqlite_checkpointer_counts(c, &runs, &inline_runs, NULL);
	CHECK_EQ(runs + inline_runs, 0);

	/* past its threshold: the thread copies everything, the writer none */
	write_pages(db, 3000);
	for (int i = 0; i < 500 && runs == 0; i++) {
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
		sqlite_checkpointer_counts(c, &runs, &inline_runs, NULL);
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
	sqlite_checkpointer_counts(c, &runs, &inline_runs, NULL);
	CHECK(inline_runs >= 1);

	sqlite3_close(db);
	sqlite_checkpointer_stop(c);
}

/* A file renamed over the database while the writer runs: the thread
 * opens nothing but the writer's file. It used to open the new one in WAL
 * mode (the old -wal is beside it), truncate the -shm the writer maps
 * (SIGBUS) and copy the old file's pages into the new one. */
TEST(store_checkpoints_never_touch_a_file_renamed_over_the_database)
{
	char path[300];
	sqlite3 *db;
	sqlite_checkpointer *c;
	CHECK(checkpointed_writer(path, sizeof path, &db, &c));
	write_pages(db, 100);

	static const char garbage[] = "not a database, not a database, not a database";
	char side[320];
	snprintf(side, sizeof side, "%s.new", path);
	FILE *f = fopen(side, "w");
	CHECK(f != NULL);
	for (int i = 0; i < 200; i++)
		fputs(garbage, f);
	fclose(f);
	CHECK(rename(side, path) == 0);

	/* past the threshold: the thread wakes, and leaves the new file be */
	write_pages(db, 4200);
	unsigned long runs = 0, inline_runs = 0, refused = 0;
	for (int i = 0; i < 500 && runs + refused == 0; i++) {
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
		sqlite_checkpointer_counts(c, &runs, &inline_runs, &refused);
	}
	/* the writer still reads its own file through an intact -shm */
	CHECK(sqlite3_exec(db, "SELECT count(*) FROM t", NULL, NULL, NULL) == SQLITE_OK);
	snprintf(side, sizeof side, "%s-shm", path);
	struct stat st;
	CHECK(stat(side, &st) == 0 && st.st_size >= 32768);
	/* and the new file is as it was put there */
	char head[sizeof garbage];
	f = fopen(path, "r");
	CHECK(f != NULL);
	CHECK(fread(head, 1, sizeof garbage - 1, f) == sizeof garbage - 1);
	fclose(f);
	CHECK(memcmp(head, garbage, sizeof garbage - 1) == 0);
	CHECK(stat(path, &st) == 0 && st.st_size == 200 * (off_t)(sizeof garbage - 1));
	CHECK_EQ(runs, 0);
	CHECK_EQ(refused, 1);

	sqlite3_close(db);
	sqlite_checkpointer_stop(c);
}

TEST(store_reports_the_longest_wait_and_the_longest_batch)
{
	char dir[256], spec[300], err[300];
	CHECK(test_temp_dir(dir, sizeof dir));
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
}
