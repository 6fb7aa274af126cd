/* The SQLite backend: opening a database and migrating its schema.
 *
 * Migrations run in order from the database's user_version to the current
 * one, each in the same transaction as the version bump, so a database is
 * always at exactly one version. A new database goes through all of them,
 * which keeps every step exercised. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/activity_private.h"
#include "store/sqlite_private.h"

static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1: the first schema */
	"CREATE TABLE clients ("
	" cmid BLOB NOT NULL, app_id BLOB NOT NULL, kms_id BLOB, sku_id BLOB,"
	" workstation TEXT, license_status INTEGER, protocol TEXT,"
	" seen INTEGER NOT NULL, requests INTEGER NOT NULL DEFAULT 1, last_result INTEGER,"
	" PRIMARY KEY (cmid, app_id));",

	/* 1 -> 2: first and last seen, the client's address and the count it
	 * was given; the host identity table */
	"CREATE TABLE clients_v2 ("
	" cmid BLOB NOT NULL, app_id BLOB NOT NULL, kms_id BLOB, sku_id BLOB,"
	" workstation TEXT, address TEXT, license_status INTEGER, protocol TEXT,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	" requests INTEGER NOT NULL DEFAULT 1, last_result INTEGER, last_count INTEGER,"
	" PRIMARY KEY (cmid, app_id)) WITHOUT ROWID;"
	"INSERT INTO clients_v2 (cmid, app_id, kms_id, sku_id, workstation, address,"
	" license_status, protocol, first_seen, last_seen, requests, last_result, last_count)"
	" SELECT cmid, app_id, kms_id, sku_id, workstation, '', license_status, protocol,"
	" seen, seen, requests, last_result, NULL FROM clients;"
	"DROP TABLE clients;"
	"ALTER TABLE clients_v2 RENAME TO clients;"
	"CREATE INDEX clients_pool ON clients (app_id, last_seen);"
	"CREATE INDEX clients_last_seen ON clients (last_seen);"
	"CREATE TABLE identity (name TEXT PRIMARY KEY, value TEXT NOT NULL);",

	/* 2 -> 3: when the client was last answered (counted): a refused
	 * request is history, not a machine of the pool */
	"ALTER TABLE clients ADD COLUMN counted_seen INTEGER;"
	"UPDATE clients SET counted_seen = last_seen WHERE last_result = 0;"
	"CREATE INDEX clients_counted ON clients (counted_seen);",
	/* 3 -> 4: an index for each filter and sort of the queries (a
	 * secondary index ends with the key, cmid and app_id, which breaks
	 * ties and serves the keyset cursor), and one that covers the
	 * per-group statistics */
	"CREATE INDEX clients_kms ON clients (kms_id, last_seen);"
	"CREATE INDEX clients_workstation ON clients (workstation COLLATE NOCASE);"
	"CREATE INDEX clients_address ON clients (address COLLATE NOCASE);"
	"CREATE INDEX clients_requests ON clients (requests, last_seen);"
	"CREATE INDEX clients_groups ON clients (app_id, kms_id, last_seen, last_result);",
	/* 4 -> 5: the answered clients per group and hour of last_seen, kept
	 * by triggers in the transaction that changes a row (so the writer,
	 * prune, forget and any other tool keep it true), for statistics that
	 * read a few hundred counters instead of every row. The NULL kms_id of
	 * a version-1 row is kept as x'' (a key column is never NULL) */
	"CREATE TABLE client_hours (app_id BLOB NOT NULL, kms_id BLOB NOT NULL,"
	" hour INTEGER NOT NULL, clients INTEGER NOT NULL,"
	" PRIMARY KEY (app_id, kms_id, hour)) WITHOUT ROWID;"
	"INSERT INTO client_hours SELECT app_id, ifnull(kms_id, x''), last_seen / 3600, count(*)"
	" FROM clients WHERE last_result = 0 GROUP BY 1, 2, 3;"
	"CREATE TRIGGER client_hours_insert AFTER INSERT ON clients WHEN new.last_result IS 0"
	" BEGIN INSERT INTO client_hours VALUES (new.app_id, ifnull(new.kms_id, x''),"
	" new.last_seen / 3600, 1) ON CONFLICT DO UPDATE SET clients = clients + 1; END;"
	/* most upserts stay in their hour and group: the WHEN skips them */
	"CREATE TRIGGER client_hours_update AFTER UPDATE OF app_id, kms_id, last_seen, last_result"
	" ON clients WHEN (old.last_result IS 0) <> (new.last_result IS 0) OR (new.last_result IS 0"
	" AND (old.app_id IS NOT new.app_id OR old.kms_id IS NOT new.kms_id"
	" OR old.last_seen / 3600 <> new.last_seen / 3600))"
	" BEGIN UPDATE client_hours SET clients = clients - 1 WHERE old.last_result IS 0"
	" AND app_id = old.app_id AND kms_id = ifnull(old.kms_id, x'') AND hour = old.last_seen / 3600;"
	" INSERT INTO client_hours SELECT new.app_id, ifnull(new.kms_id, x''), new.last_seen / 3600, 1"
	" WHERE new.last_result IS 0 ON CONFLICT DO UPDATE SET clients = clients + 1; END;"
	"CREATE TRIGGER client_hours_delete AFTER DELETE ON clients WHEN old.last_result IS 0"
	" BEGIN UPDATE client_hours SET clients = clients - 1 WHERE app_id = old.app_id"
	" AND kms_id = ifnull(old.kms_id, x'') AND hour = old.last_seen / 3600; END;"
	/* and the records a stop could not write in time, as they were queued
	 * (no index, no trigger: saving them is quick); the next start writes
	 * them first (sqlite_queue.c) */
	"CREATE TABLE queued_records (cmid BLOB, app_id BLOB, kms_id BLOB, sku_id BLOB,"
	" workstation TEXT, address TEXT, license_status INTEGER, protocol_major INTEGER,"
	" protocol_minor INTEGER, time INTEGER, result INTEGER, count INTEGER);",
	/* 5 -> 6: nothing here; PostgreSQL's address index (SQLite has had
	 * clients_address since 4), the versions of the two kept equal */
	"",
	/* 6 -> 7: the writer keeps client_hours itself, once per batch
	 * (sqlite_hours.c): the insert and update triggers cost every upsert
	 * a statement journal. The delete trigger stays, for prune, forget
	 * and any other tool that deletes rows; a tool that inserts or
	 * updates rows itself leaves the statistics of those rows behind
	 * (kmsd.conf(5), store) */
	"DROP TRIGGER client_hours_insert; DROP TRIGGER client_hours_update;",
};

/* How long a connection waits for another one's lock before the call fails
 * (the writer keeps its batch and retries later). */
#define BUSY_WAIT_MS 2000
/* The WAL is truncated back to this after a checkpoint. */
#define WAL_KEEP_BYTES (64 * 1024 * 1024)

/* SQLite's own busy handler sleeps up to 100 ms between tries, so a writer
 * waiting on a pruner that pauses 20 ms between chunks could miss every
 * pause: poll every millisecond instead, for at most the limit in ctx. */
static int busy_wait(void *ctx, int tries)
{
	if (tries >= (int)(intptr_t)ctx)
		return 0;
	struct timespec ms = { 0, 1000000L };
	nanosleep(&ms, NULL);
	return 1;
}

void *sqlite_connect(const char *path, bool read_only, char *err, size_t err_len)
{
	sqlite3 *db = NULL;
	int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_handler(db, busy_wait, (void *)(intptr_t)BUSY_WAIT_MS);
	/* the last connection to close would copy the whole WAL into the
	 * database first, holding up a stop: the writer's checkpoints (and the
	 * next open) do that */
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	/* reading a page proves the file is a database; WAL lets queries run
	 * while the writer commits */
	char *msg = NULL;
	char setup[200];
	snprintf(setup, sizeof setup, read_only ? "PRAGMA schema_version;"
		 : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
		   " PRAGMA journal_size_limit=%d;", WAL_KEEP_BYTES);
	if (sqlite3_exec(db, setup, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, err_len, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* The writer: FULL makes every commit survive an OS crash or power loss
 * (NORMAL only a crash of kmsd); it waits for locks no longer than a batch
 * interval, keeping its batch for a retry rather than holding the queue. */
static void configure(void *conn, const store_options *opt, void *helper)
{
	sqlite3 *db = conn;
	sqlite3_exec(db, opt->sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
		     NULL, NULL, NULL);
	/* the upper levels of the table and its indexes stay in memory: at a
	 * million clients the 2 MiB default made every upsert read pages */
	sqlite3_exec(db, "PRAGMA cache_size=-16384", NULL, NULL, NULL);
	/* SQLite's statement journal (a copy of each page a statement
	 * changes, to undo that statement alone): with the triggers of schema
	 * 6 every upsert kept one, in a file about 9 pwrite() calls per record
	 * and 40 % of the writer's CPU at a million clients (BENCHMARKS.md);
	 * prune's deletes still fire a trigger. It lives for one statement, a
	 * few pages, so memory costs nothing worth counting */
	sqlite3_exec(db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL);
	sqlite3_busy_handler(db, busy_wait, (void *)(intptr_t)STORE_BATCH_MS);
	/* checkpoints on their own thread, so that they never hold up a batch
	 * (sqlite_checkpoint.c) */
	sqlite_checkpointer_attach(helper, db);
}

static bool broken(const char *path)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return false; /* absent or unreadable: nothing to set aside */
	}
	int rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	int code = sqlite3_errcode(db);
	sqlite3_close(db);
	return rc != SQLITE_OK && (code == SQLITE_NOTADB || code == SQLITE_CORRUPT);
}

/* Copy what `old` still reads into `to`; the number of clients, -1 if none. */
static long rescue(sqlite3 *old, const char *to)
{
	sqlite3 *dst = NULL;
	long rows = -1;
	remove(to);
	if (sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK) {
		sqlite3_backup *b = sqlite3_backup_init(dst, "main", old, "main");
		bool ok = b && sqlite3_backup_step(b, -1) == SQLITE_DONE;
		ok = sqlite3_backup_finish(b) == SQLITE_OK && ok;
		sqlite3_stmt *st;
		if (ok && sqlite3_prepare_v2(dst, "SELECT count(*) FROM clients", -1, &st, NULL) ==
				  SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				rows = (long)sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
	}
	sqlite3_close(dst);
	if (rows < 0)
		remove(to);
	return rows;
}

static bool set_aside(void *old, const char *path, char *msg, size_t msg_len)
{
	char stamp[32], aside[560], from[600], to[600], rescued[560];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	snprintf(aside, sizeof aside, "%.511s.broken-%.20s", path, stamp);
	snprintf(rescued, sizeof rescued, "%.511s.rescue", path);
	/* a file renamed over the database: the -wal and -shm beside it are
	 * the old file's, and named as the set-aside file's own, SQLite would
	 * read that -wal into it whenever someone opens it to look */
	int replaced = 0;
	if (old)
		sqlite3_file_control(old, "main", SQLITE_FCNTL_HAS_MOVED, &replaced);
	long rows = old ? rescue(old, rescued) : -1;
	bool moved = rename(path, aside) == 0;
	bool absent = !moved && errno == ENOENT; /* deleted: nothing to set aside */
	for (int i = 0; moved && i < 2; i++) {
		const char *suffix = i ? "-shm" : "-wal";
		snprintf(from, sizeof from, "%.511s%s", path, suffix);
		snprintf(to, sizeof to, "%.540s%s%s", aside, replaced ? ".replaced" : "", suffix);
		rename(from, to); /* absent: nothing to move */
	}
	if (rows >= 0 && (moved || absent))
		moved = rename(rescued, path) == 0;
	if (absent && rows >= 0 && moved) {
		snprintf(msg, msg_len, "client store %s was deleted: the %ld clients kmsd could "
			 "still read are in a new %s", path, rows, path);
		return true;
	}
	if (!moved)
		snprintf(msg, msg_len, "client store %s is not a database; moving it aside failed "
			 "(%s): records stay queued", path, strerror(errno));
	else if (rows >= 0)
		snprintf(msg, msg_len, "client store %s was replaced or damaged: moved aside to %s; "
			 "the %ld clients kmsd could still read are in a new %s", path, aside, rows, path);
	else
		snprintf(msg, msg_len, "client store %s is not a database: moved aside to %s; "
			 "a new, empty store starts", path, aside);
	return moved;
}

static int schema_version(void *conn)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static bool migrate(void *conn, char *err, size_t err_len)
{
	sqlite3 *db = conn;
	char *msg = NULL;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, err_len, "cannot lock the store: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return false;
	}
	int version = schema_version(db);
	if (version < 0 || version > STORE_SCHEMA_VERSION) {
		if (version < 0)
			snprintf(err, err_len, "cannot read the schema version: %s", sqlite3_errmsg(db));
		else
			snprintf(err, err_len, "store schema version %d is newer than this kmsd "
				 "supports (%d)", version, STORE_SCHEMA_VERSION);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return false;
	}
	for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
		char bump[64];
		snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, bump, NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, err_len, "migrating the store from version %d: %s", v,
				 msg ? msg : sqlite3_errmsg(db));
			sqlite3_free(msg);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return false;
		}
	}
	if (!sqlite_activity_schema(db, err, err_len)) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return false;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, err_len, "committing the schema: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return false;
	}
	return true;
}

static void disconnect(void *db)
{
	sqlite3_close(db);
}

static bool lost(void *db)
{
	(void)db;
	return false; /* a file does not go away between calls */
}

const store_backend store_sqlite_backend = {
	.name = "sqlite",
	.shared = false,
	.connect = sqlite_connect,
	.disconnect = disconnect,
	.migrate = migrate,
	.schema_version = schema_version,
	.write_batch = sqlite_write_batch,
	.lost = lost,
	.configure = configure,
	.writer_helper_start = sqlite_checkpointer_start,
	.writer_helper_stop = sqlite_checkpointer_stop,
	.broken = broken,
	.set_aside = set_aside,
	.identity_get = sqlite_identity_get,
	.identity_put = sqlite_identity_put,
	.load_seen = sqlite_load_seen,
	.load_newest = sqlite_load_newest,
	.clients = sqlite_clients,
	.group_stats = sqlite_group_stats,
	.prune = sqlite_prune,
	.arm_budget = sqlite_arm_budget,
	.cancelled = sqlite_cancelled,
	.interrupt = sqlite_interrupt,
	.forget = sqlite_forget,
	.backup = sqlite_backup,
	.save_queued = sqlite_save_queued,
	.load_queued = sqlite_load_queued,
	.forget_queued = sqlite_forget_queued,
	.abort_on = sqlite_abort_on,
};
