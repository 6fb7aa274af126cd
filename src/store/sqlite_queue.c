/* The SQLite backend's side of a quick stop: the batch in flight ends when
 * the stop asks (rolled back, its records stay queued), and the queue
 * table holds the records a stop could not write within its time, saved as they were queued in one transaction into a table
 * without index or trigger (far quicker than the upserts), and given back
 * to the writer at the next start, which writes them before anything else
 * and only then deletes them (a crash in between writes some twice, never
 * loses one). */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "store/sqlite_private.h"

static void text_of(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void guid_of(sqlite3_stmt *st, int col, kms_guid *g)
{
	memset(g, 0, sizeof *g);
	if (sqlite3_column_bytes(st, col) == 16)
		memcpy(g->b, sqlite3_column_blob(st, col), 16);
}

bool sqlite_save_queued(void *conn, const store_record *const *r, size_t n, int64_t upto,
			char *err, size_t err_len)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st = NULL;
	/* the writer's last transaction: copying the WAL into the database is
	 * for the next start, not for the stop to wait on */
	sqlite3_exec(db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL);
	/* numbered as sqlite_bind_record binds a record, the protocol's two
	 * numbers added as ?12 and ?13 (its text, ?8, is not kept here) */
	bool ok = sqlite3_prepare_v2(db, "INSERT INTO queued_records VALUES (?1, ?2, ?3, ?4, ?5,"
				     " ?6, ?7, ?12, ?13, ?9, ?10, ?11)", -1, &st, NULL) == SQLITE_OK &&
		  sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
	/* the ring holds what is left of the ones loaded at start: saved
	 * again, in their place */
	if (ok && upto > 0)
		ok = sqlite_forget_queued(db, upto, err, err_len);
	for (size_t i = 0; ok && i < n; i++) {
		const store_record *q = r[i];
		sqlite_bind_record(st, q);
		sqlite3_bind_int(st, 12, q->protocol_major);
		sqlite3_bind_int(st, 13, q->protocol_minor);
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	ok = ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
	if (!ok) {
		snprintf(err, err_len, "%s", sqlite3_errmsg(db));
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_finalize(st);
	return ok;
}

long sqlite_load_queued(void *conn, store_record *out, size_t max, int64_t *upto, char *err,
			size_t err_len)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT rowid, * FROM queued_records ORDER BY rowid LIMIT ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, err_len, "%s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, (int64_t)max);
	long n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_record *r = &out[n++];
		memset(r, 0, sizeof *r);
		*upto = sqlite3_column_int64(st, 0);
		guid_of(st, 1, &r->cmid);
		guid_of(st, 2, &r->app_id);
		guid_of(st, 3, &r->kms_id);
		guid_of(st, 4, &r->sku_id);
		text_of(st, 5, r->workstation, sizeof r->workstation);
		text_of(st, 6, r->address, sizeof r->address);
		r->license_status = (uint32_t)sqlite3_column_int64(st, 7);
		r->protocol_major = (uint16_t)sqlite3_column_int(st, 8);
		r->protocol_minor = (uint16_t)sqlite3_column_int(st, 9);
		r->time = sqlite3_column_int64(st, 10);
		r->result = (uint32_t)sqlite3_column_int64(st, 11);
		r->count = (uint32_t)sqlite3_column_int64(st, 12);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, err_len, "%s", sqlite3_errmsg(db));
		return -1;
	}
	return n;
}

bool sqlite_forget_queued(void *conn, int64_t upto, char *err, size_t err_len)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st;
	bool ok = sqlite3_prepare_v2(db, "DELETE FROM queued_records WHERE rowid <= ?1", -1, &st,
				     NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_int64(st, 1, upto);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	if (!ok)
		snprintf(err, err_len, "%s", sqlite3_errmsg(db));
	return ok;
}

/* Called every 1000 steps of the writer's statements: non-zero interrupts. */
static int stop_asked(void *flag)
{
	return atomic_load((_Atomic bool *)flag);
}

void sqlite_abort_on(void *db, _Atomic bool *flag)
{
	sqlite3_progress_handler(db, 1000, stop_asked, flag);
}
