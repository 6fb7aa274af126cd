/* The SQLite backend's batch: one transaction, one upsert per client of
 * the batch, one activity row per record, the hourly counters it moves. */
#include <stdio.h>

#include "store/activity_private.h"
#include "store/client_updates.h"
#include "store/sqlite_private.h"

/* One row update per client of the batch (client_updates.h): ?12 the
 * first record's time, ?13 the latest, ?14 how many records, ?15 the latest
 * answered one's time or NULL; ?9 (a record's own time) is not used.
 *
 * SQLite moves a row's entry in every index of a column the SET names,
 * even to the same value, and the workstation index is keyed by a name
 * that sits on a random page: a renewal that keeps its name (nearly all
 * of them) leaves the column out, which spares that page. */
#define UPSERT_HEAD                                                                          \
	"INSERT INTO clients (cmid, app_id, kms_id, sku_id, workstation, address, license_status," \
	" protocol, first_seen, last_seen, requests, last_result, last_count, counted_seen)"      \
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?12, ?13, ?14, ?10, ?11, ?15)"                 \
	" ON CONFLICT (cmid, app_id) DO UPDATE SET kms_id = excluded.kms_id,"                   \
	" sku_id = excluded.sku_id,"
#define UPSERT_TAIL                                                                          \
	" address = excluded.address,"                                                          \
	" license_status = excluded.license_status, protocol = excluded.protocol,"              \
	" last_seen = max(last_seen, excluded.last_seen), requests = requests + excluded.requests," \
	" last_result = excluded.last_result, last_count = excluded.last_count,"                \
	" counted_seen = CASE WHEN excluded.counted_seen IS NULL THEN counted_seen"             \
	" ELSE max(coalesce(counted_seen, 0), excluded.counted_seen) END"

static const char upsert_sql[] = UPSERT_HEAD " workstation = excluded.workstation," UPSERT_TAIL;
static const char upsert_same_name_sql[] = UPSERT_HEAD UPSERT_TAIL;

void sqlite_bind_record(sqlite3_stmt *st, const store_record *r)
{
	char protocol[16];
	snprintf(protocol, sizeof protocol, "%u.%u", r->protocol_major, r->protocol_minor);
	sqlite3_reset(st);
	sqlite3_bind_blob(st, 1, r->cmid.b, 16, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, r->app_id.b, 16, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, r->kms_id.b, 16, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, r->sku_id.b, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->workstation, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->address, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, r->license_status);
	sqlite3_bind_text(st, 8, protocol, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, r->time);
	sqlite3_bind_int64(st, 10, r->result);
	sqlite3_bind_int64(st, 11, r->count);
}

static bool write_rows(sqlite3_stmt *const upserts[2], sqlite_hours *hours,
		       const client_update *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const client_update *c = &rows[i];
		bool same_name = false;
		if (!sqlite_hours_before(hours, c, &same_name))
			return false;
		sqlite3_stmt *st = upserts[same_name];
		sqlite_bind_record(st, c->last);
		sqlite3_bind_int64(st, 12, c->first_time);
		sqlite3_bind_int64(st, 13, c->last_time);
		sqlite3_bind_int64(st, 14, c->requests);
		if (c->counted_time >= 0)
			sqlite3_bind_int64(st, 15, c->counted_time);
		else
			sqlite3_bind_null(st, 15);
		if (sqlite3_step(st) != SQLITE_DONE)
			return false;
	}
	return sqlite_hours_apply(hours);
}

/* What a failed statement means for the batch: only a record's own content
 * refuses it; a file that is not a database any more (or was replaced
 * under the connection) is broken; read-only and I/O errors are retried
 * on a new connection, anything else (busy, locked, full) on this one. */
static enum store_write failure(int code)
{
	switch (code & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
		return STORE_REFUSED;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return STORE_BROKEN;
	case SQLITE_READONLY:
		/* a file opened while read-only stays so on this connection:
		 * reconnecting sees it writable again */
		return code == SQLITE_READONLY_DBMOVED ? STORE_BROKEN : STORE_LOST;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return STORE_LOST;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_INTERRUPT: /* a stop ended the batch: it stays queued */
		return STORE_BUSY;
	default:
		return STORE_RETRY;
	}
}

enum store_write sqlite_write_batch(void *conn, const store_record *batch, size_t n, char *err,
				    size_t err_len)
{
	sqlite3 *db = conn;
	sqlite3_stmt *upserts[2] = { NULL, NULL }; /* [the row keeps its workstation name] */
	/* a file renamed over ours or deleted: in WAL mode SQLite would go on
	 * writing to the old file, which nobody will ever read */
	int moved = 0;
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved) {
		snprintf(err, err_len, "the database file was replaced or deleted");
		return STORE_BROKEN;
	}
	client_updates u;
	if (!client_updates_init(&u, n)) {
		snprintf(err, err_len, "out of memory for a batch of %zu records", n);
		return STORE_RETRY;
	}
	size_t rows = client_updates_fold(&u, batch, n);
	/* IMMEDIATE: the write lock is taken (or waited for) up front, never
	 * upgraded from a read in the middle of the batch */
	sqlite_hours *hours = NULL;
	bool ok = sqlite3_prepare_v2(db, upsert_sql, -1, &upserts[0], NULL) == SQLITE_OK &&
		  sqlite3_prepare_v2(db, upsert_same_name_sql, -1, &upserts[1], NULL) == SQLITE_OK &&
		  (hours = sqlite_hours_begin(db)) != NULL &&
		  sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
		  write_rows(upserts, hours, u.updates, rows) && sqlite_activity_write(db, batch, n) &&
		  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
	sqlite_hours_end(hours);
	client_updates_free(&u);
	int code = ok ? SQLITE_OK : sqlite3_extended_errcode(db);
	if (!ok) {
		snprintf(err, err_len, "%s", sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_finalize(upserts[0]);
	sqlite3_finalize(upserts[1]);
	return ok ? STORE_WRITTEN : failure(code);
}
