/* The PostgreSQL backend: connections, statements and the schema.
 *
 * The schema version lives in a table (kmsd_schema) as PostgreSQL has no
 * user_version. Migrations mirror SQLite's, run in one transaction under an
 * advisory lock, so two hosts starting together migrate once. Besides the
 * SQLite columns, clients has stored_at: when the row was last written, by
 * the database's clock, which hosts follow each other by (sync.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/activity_private.h"
#include "store/pg_private.h"

#define SCHEMA_LOCK 0x6b6d7364 /* "kmsd": the advisory lock of migrations */

static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1: the first schema */
	"CREATE TABLE clients ("
	" cmid bytea NOT NULL, app_id bytea NOT NULL, kms_id bytea, sku_id bytea,"
	" workstation text, license_status bigint, protocol text,"
	" seen bigint NOT NULL, requests bigint NOT NULL DEFAULT 1, last_result bigint,"
	" PRIMARY KEY (cmid, app_id));",

	/* 1 -> 2: first and last seen, the address, the count given, when the
	 * row was stored; the host identity table */
	"ALTER TABLE clients RENAME COLUMN seen TO first_seen;"
	"ALTER TABLE clients ADD COLUMN address text, ADD COLUMN last_seen bigint,"
	" ADD COLUMN last_count bigint, ADD COLUMN stored_at bigint NOT NULL DEFAULT 0;"
	"UPDATE clients SET last_seen = first_seen, address = '';"
	"ALTER TABLE clients ALTER COLUMN last_seen SET NOT NULL;"
	"CREATE INDEX clients_pool ON clients (app_id, last_seen);"
	"CREATE INDEX clients_last_seen ON clients (last_seen);"
	"CREATE INDEX clients_stored_at ON clients (stored_at);"
	"CREATE TABLE identity (name text PRIMARY KEY, value text NOT NULL);",

	/* 2 -> 3: when the client was last answered (counted) */
	"ALTER TABLE clients ADD COLUMN counted_seen bigint;"
	"UPDATE clients SET counted_seen = last_seen WHERE last_result = 0;"
	"CREATE INDEX clients_counted ON clients (counted_seen);",
	/* 3 -> 4: indexes for the KMS id filter, the workstation sort and
	 * prefix search (lower(...) with text_pattern_ops), and one covering
	 * the per-group statistics. Fewer than SQLite's: every upsert changes
	 * last_seen, so PostgreSQL writes a new entry in every index of the
	 * table, and more of them made a loaded host drop records */
	"CREATE INDEX clients_kms ON clients (kms_id, last_seen);"
	"CREATE INDEX clients_workstation ON clients (lower(workstation) text_pattern_ops);"
	"CREATE INDEX clients_groups ON clients (app_id, kms_id, last_seen, last_result);",
	/* 4 -> 5: the answered clients per group and hour of last_seen, as in
	 * SQLite, for statistics that read counters instead of every row. Row
	 * triggers only append changes (+1, -1) to client_hour_changes, which
	 * no two transactions ever update, so hosts sharing the database never
	 * wait on each other's counters; each writer folds the changes into
	 * client_hours every few seconds (pg_fold_hours). NULL kms_id is '' */
	"CREATE TABLE client_hours (app_id bytea NOT NULL, kms_id bytea NOT NULL,"
	" hour bigint NOT NULL, clients bigint NOT NULL, PRIMARY KEY (app_id, kms_id, hour));"
	"CREATE TABLE client_hour_changes (app_id bytea NOT NULL, kms_id bytea NOT NULL,"
	" hour bigint NOT NULL, delta integer NOT NULL);"
	"INSERT INTO client_hours SELECT app_id, coalesce(kms_id, ''::bytea), last_seen / 3600,"
	" count(*) FROM clients WHERE last_result = 0 GROUP BY 1, 2, 3;"
	"CREATE OR REPLACE FUNCTION kmsd_client_hours() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN"
	" IF TG_OP <> 'INSERT' AND OLD.last_result = 0 THEN INSERT INTO client_hour_changes"
	" VALUES (OLD.app_id, coalesce(OLD.kms_id, ''::bytea), OLD.last_seen / 3600, -1); END IF;"
	" IF TG_OP <> 'DELETE' AND NEW.last_result = 0 THEN INSERT INTO client_hour_changes"
	" VALUES (NEW.app_id, coalesce(NEW.kms_id, ''::bytea), NEW.last_seen / 3600, 1); END IF;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER client_hours_insert AFTER INSERT ON clients FOR EACH ROW"
	" WHEN (NEW.last_result = 0) EXECUTE PROCEDURE kmsd_client_hours();"
	/* most upserts stay in their hour and group: the WHEN skips them */
	"CREATE TRIGGER client_hours_update AFTER UPDATE ON clients FOR EACH ROW"
	" WHEN ((OLD.last_result = 0) IS DISTINCT FROM (NEW.last_result = 0) OR"
	" (NEW.last_result = 0 AND (OLD.app_id <> NEW.app_id OR OLD.kms_id IS DISTINCT FROM"
	" NEW.kms_id OR OLD.last_seen / 3600 <> NEW.last_seen / 3600)))"
	" EXECUTE PROCEDURE kmsd_client_hours();"
	"CREATE TRIGGER client_hours_delete AFTER DELETE ON clients FOR EACH ROW"
	" WHEN (OLD.last_result = 0) EXECUTE PROCEDURE kmsd_client_hours();",
	/* 5 -> 6: the address's prefix index. A search matches the start of
	 * the workstation or of the address: with only the first indexed, the
	 * OR read the whole table (250-430 ms at 1M clients); with both it is
	 * a BitmapOr of two index scans. Since 4 the writer sends a batch as
	 * arrays and keeps up with ~11,000 new clients/s, so one more index
	 * per upsert no longer makes a loaded host drop records */
	"CREATE INDEX clients_address ON clients (lower(address) text_pattern_ops);",
	/* 6 -> 7: nothing here; SQLite's writer keeps its hourly counters
	 * itself from 7 on (PostgreSQL's triggers append to
	 * client_hour_changes, which costs no statement journal), the
	 * versions of the two kept equal */
	"SELECT 1",
};

/* libpq's messages end in a newline and may span lines: one log line. */
static void copy_message(char *err, size_t err_len, const char *msg)
{
	size_t o = 0;
	for (const char *p = msg; *p && o + 1 < err_len; p++) {
		bool blank = *p == '\n' || *p == '\t' || *p == '\r';
		if (blank && (o == 0 || err[o - 1] == ' '))
			continue;
		err[o++] = blank ? ' ' : *p;
	}
	while (o && err[o - 1] == ' ')
		o--;
	err[o] = '\0';
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* notices ("already exists, skipping") are not news */
}

static void *connect_pg(const char *uri, bool read_only, char *err, size_t err_len)
{
	/* defaults first: anything the URI says overrides them. A lost peer
	 * must fail a call within seconds, not TCP's quarter of an hour. */
	static const char *const keys[] = { "connect_timeout", "tcp_user_timeout", "keepalives_idle",
					    "keepalives_interval", "keepalives_count",
					    "application_name", "dbname", NULL };
	const char *values[] = { "5", "10000", "30", "10", "3", "kmsd", uri, NULL };
	pg_conn *pc = calloc(1, sizeof *pc);
	if (!pc) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	pc->c = PQconnectdbParams(keys, values, 1);
	if (!pc->c || PQstatus(pc->c) != CONNECTION_OK) {
		copy_message(err, err_len, pc->c ? PQerrorMessage(pc->c) : "out of memory");
		PQfinish(pc->c);
		free(pc);
		return NULL;
	}
	PQsetNoticeProcessor(pc->c, quiet, NULL);
	bool ok = PQsetClientEncoding(pc->c, "UTF8") == 0;
	if (!ok)
		copy_message(err, err_len, PQerrorMessage(pc->c));
	else if (read_only)
		ok = pg_exec(pc, "SET default_transaction_read_only = on", err, err_len);
	if (!ok) {
		PQfinish(pc->c);
		free(pc);
		return NULL;
	}
	return pc;
}

static void disconnect(void *db)
{
	pg_conn *pc = db;
	PQfinish(pc->c);
	free(pc);
}

static bool lost(void *db)
{
	pg_conn *pc = db;
	return pc->broken || PQstatus(pc->c) != CONNECTION_OK;
}

void pg_note_failure(pg_conn *pc, const PGresult *r, char *err, size_t err_len)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(pc->state, sizeof pc->state, "%s", state ? state : "");
	/* class 08: connection exceptions; 57P0x: the server is shutting down
	 * or restarting */
	if (PQstatus(pc->c) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0)
		pc->broken = true;
	const char *msg = r ? PQresultErrorMessage(r) : "";
	copy_message(err, err_len, *msg ? msg : PQerrorMessage(pc->c));
}

PGresult *pg_run(pg_conn *pc, const char *sql, int n_params, const char *const *params, char *err,
		 size_t err_len)
{
	PGresult *r = PQexecParams(pc->c, sql, n_params, NULL, params, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	pg_note_failure(pc, r, err, err_len);
	PQclear(r);
	return NULL;
}

bool pg_exec(pg_conn *pc, const char *sql, char *err, size_t err_len)
{
	PGresult *r = PQexec(pc->c, sql);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		pg_note_failure(pc, r, err, err_len);
	PQclear(r);
	return ok;
}

void pg_guid_param(const kms_guid *g, char out[PG_GUID_TEXT])
{
	static const char hex[] = "0123456789abcdef";
	out[0] = '\\';
	out[1] = 'x';
	for (int i = 0; i < 16; i++) {
		out[2 + 2 * i] = hex[g->b[i] >> 4];
		out[3 + 2 * i] = hex[g->b[i] & 15];
	}
	out[34] = '\0';
}

void pg_guid_value(const char *text, kms_guid *g)
{
	memset(g, 0, sizeof *g);
	if (strlen(text) != 32)
		return;
	uint8_t b[16] = { 0 };
	for (int i = 0; i < 32; i++) {
		char ch = text[i];
		int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
		if (v < 0)
			return; /* encode(x, 'hex') writes lower case only */
		b[i / 2] = (uint8_t)(i % 2 ? b[i / 2] | v : v << 4);
	}
	memcpy(g->b, b, sizeof b);
}

static int schema_version(void *db)
{
	char err[200];
	pg_conn *pc = db;
	PGresult *r = PQexec(pc->c, "SELECT coalesce(max(version), 0) FROM kmsd_schema");
	int v = -1;
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
	} else {
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(pc->state, sizeof pc->state, "%s", state ? state : "");
		if (state && strcmp(state, "42P01") == 0)
			v = 0; /* no table yet: a new database */
		else
			pg_note_failure(pc, r, err, sizeof err);
	}
	PQclear(r);
	return v;
}

static bool migrate(void *db, char *err, size_t err_len)
{
	pg_conn *pc = db;
	char sql[128];
	snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%d);", SCHEMA_LOCK);
	if (!pg_exec(pc, sql, err, err_len) ||
	    !pg_exec(pc, "CREATE TABLE IF NOT EXISTS kmsd_schema (version integer NOT NULL)", err,
		     err_len))
		goto fail;
	int version = schema_version(pc);
	if (version < 0 || version > STORE_SCHEMA_VERSION) {
		if (version < 0)
			snprintf(err, err_len, "cannot read the schema version");
		else
			snprintf(err, err_len, "store schema version %d is newer than this kmsd "
				 "supports (%d)", version, STORE_SCHEMA_VERSION);
		goto fail;
	}
	for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
		char why[256];
		if (!pg_exec(pc, migrations[v], why, sizeof why)) {
			snprintf(err, err_len, "migrating the store from version %d: %s", v, why);
			goto fail;
		}
	}
	if (!pg_activity_schema(pc, err, err_len))
		goto fail;
	snprintf(sql, sizeof sql, "DELETE FROM kmsd_schema; INSERT INTO kmsd_schema VALUES (%d);"
		 " COMMIT", STORE_SCHEMA_VERSION);
	if (version < STORE_SCHEMA_VERSION)
		return pg_exec(pc, sql, err, err_len);
	return pg_exec(pc, "COMMIT", err, err_len);
fail:
	PQclear(PQexec(pc->c, "ROLLBACK"));
	return false;
}

const store_backend store_pg_backend = {
	.name = "postgresql",
	.shared = true,
	.available = pg_api_load,
	.connect = connect_pg,
	.disconnect = disconnect,
	.migrate = migrate,
	.schema_version = schema_version,
	.write_batch = pg_write_batch,
	.changed = pg_changed,
	.lost = lost,
	.identity_get = pg_identity_get,
	.identity_put = pg_identity_put,
	.load_seen = pg_load_seen,
	.load_newest = pg_load_newest,
	.clients = pg_clients,
	.group_stats = pg_group_stats,
	.prune = pg_prune,
	.fold_hours = pg_fold_hours,
	.arm_budget = pg_arm_budget,
	.cancelled = pg_cancelled,
	.interrupt = pg_interrupt,
	.forget = pg_forget,
};
