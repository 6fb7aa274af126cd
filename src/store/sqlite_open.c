/* The SQLite backend: opening a database and migrating its schema.
 *
 * Migrations run in order from the database's user_version to the current
 * one, each in the same transaction as the version bump, so a database is
 * always at exactly one version. A new database goes through all of them,
 * which keeps every step exercised. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
};

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
	sqlite3_busy_timeout(db, 2000);
	/* reading a page proves the file is a database; WAL lets queries run
	 * while the writer commits */
	char *msg = NULL;
	const char *setup = read_only ? "PRAGMA schema_version;"
				      : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
					"PRAGMA foreign_keys=ON;";
	if (sqlite3_exec(db, setup, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, err_len, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		sqlite3_close(db);
		return NULL;
	}
	return db;
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
	.identity_get = sqlite_identity_get,
	.identity_put = sqlite_identity_put,
	.load_seen = sqlite_load_seen,
	.clients = sqlite_clients,
	.group_stats = sqlite_group_stats,
	.prune = sqlite_prune,
	.forget = sqlite_forget,
};
