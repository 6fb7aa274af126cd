/* The SQLite backend's activity log (see activity.h): its table, the rows
 * a batch adds, trimming, and the reads the web side makes. */
#include <stdio.h>
#include <string.h>

#include "store/activity_private.h"
#include "store/sqlite_private.h"

/* Created beside the versioned schema: a table only kmsd's own pages
 * read, which an older kmsd simply ignores. */
bool sqlite_activity_schema(void *conn, char *err, size_t err_len)
{
	sqlite3 *db = conn;
	char *msg = NULL;
	if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS activity ("
			 " id INTEGER PRIMARY KEY, time INTEGER NOT NULL, cmid BLOB NOT NULL,"
			 " app_id BLOB, kms_id BLOB, sku_id BLOB, workstation TEXT, address TEXT,"
			 " license_status INTEGER, protocol TEXT, result INTEGER, count INTEGER);"
			 "CREATE INDEX IF NOT EXISTS activity_time ON activity (time);"
			 "CREATE INDEX IF NOT EXISTS activity_cmid ON activity (cmid, time);"
			 /* answers per hour, so the totals read a few thousand rows, not
			  * a million */
			 "CREATE TABLE IF NOT EXISTS activity_hours (hour INTEGER NOT NULL,"
			 " kms_id BLOB NOT NULL, result INTEGER NOT NULL, count INTEGER NOT NULL,"
			 " n INTEGER NOT NULL, PRIMARY KEY (hour, kms_id, result, count))"
			 " WITHOUT ROWID;",
			 NULL, NULL, &msg) == SQLITE_OK)
		return true;
	snprintf(err, err_len, "creating the activity table: %s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return false;
}

/* One hour's requests of one product group with one answer and count. */
typedef struct hour_count {
	int64_t hour;
	kms_guid kms_id;
	int64_t result, count;
	int64_t n;
} hour_count;

#define HOUR_KEYS 32 /* a batch spans a second or two: a few keys */

static bool add_hours(sqlite3_stmt *st, const hour_count *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, h[i].hour);
		sqlite3_bind_blob(st, 2, h[i].kms_id.b, 16, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, h[i].result);
		sqlite3_bind_int64(st, 4, h[i].count);
		sqlite3_bind_int64(st, 5, h[i].n);
		if (sqlite3_step(st) != SQLITE_DONE)
			return false;
	}
	return true;
}

/* The batch's requests counted per key first, then one upsert per key
 * rather than one per request (a batch of a thousand requests is a
 * handful of keys). */
static bool count_hours(sqlite3 *db, const store_record *batch, size_t n)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "INSERT INTO activity_hours (hour, kms_id, result, count, n)"
			       " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (hour, kms_id, result, count)"
			       " DO UPDATE SET n = n + excluded.n", -1, &st, NULL) != SQLITE_OK)
		return false;
	hour_count keys[HOUR_KEYS];
	size_t used = 0;
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		const store_record *r = &batch[i];
		/* a refusal's count means nothing: counted as 0 */
		hour_count k = { .hour = r->time / 3600, .kms_id = r->kms_id, .result = r->result,
				 .count = r->result ? 0 : r->count, .n = 1 };
		size_t at = 0;
		while (at < used && (keys[at].hour != k.hour || keys[at].result != k.result ||
				     keys[at].count != k.count ||
				     memcmp(keys[at].kms_id.b, k.kms_id.b, 16) != 0))
			at++;
		if (at < used) {
			keys[at].n++;
			continue;
		}
		if (used == HOUR_KEYS) {
			ok = add_hours(st, keys, used);
			used = 0;
		}
		keys[used++] = k;
	}
	ok = ok && add_hours(st, keys, used);
	sqlite3_finalize(st);
	return ok;
}

bool sqlite_activity_write(void *conn, const store_record *batch, size_t n)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st;
	if (!count_hours(db, batch, n) ||
	    sqlite3_prepare_v2(db, "INSERT INTO activity (time, cmid, app_id, kms_id, sku_id,"
			       " workstation, address, license_status, protocol, result, count)"
			       /* numbered as sqlite_bind_record binds a record */
			       " VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?11)", -1, &st,
			       NULL) != SQLITE_OK)
		return false;
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		sqlite_bind_record(st, &batch[i]);
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return ok;
}

long sqlite_activity_trim(void *conn, int64_t before, long keep)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st;
	/* whole hours: the totals may keep up to an hour more than the log */
	if (sqlite3_prepare_v2(db, "DELETE FROM activity_hours WHERE hour < ?1 / 3600", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	int hours_rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (hours_rc != SQLITE_DONE)
		return -1;
	/* ids grow with time: the newest `keep` rows are the highest ids */
	if (sqlite3_prepare_v2(db, "DELETE FROM activity WHERE time < ?1 OR id <="
			       " (SELECT max(id) FROM activity) - ?2", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int64(st, 2, keep);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? (long)sqlite3_changes(db) : -1;
}

static bool fail(store *s, const char *what)
{
	snprintf(s->error, sizeof s->error, "%s: %s", what, sqlite3_errmsg(s->db));
	return false;
}

static void column_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

bool sqlite_client_get(store *s, const kms_guid *cmid, store_client_fn fn, void *ctx,
		       size_t *found)
{
	sqlite3_stmt *st;
	*found = 0;
	if (sqlite3_prepare_v2(s->db, "SELECT cmid, app_id, kms_id, sku_id, workstation, address,"
			       " license_status, protocol, first_seen, last_seen, requests,"
			       " last_result, last_count FROM clients WHERE cmid = ?1"
			       " ORDER BY last_seen DESC", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "reading a client");
	sqlite3_bind_blob(st, 1, cmid->b, 16, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_client c;
		memset(&c, 0, sizeof c);
		sqlite_column_guid(st, 0, &c.cmid);
		sqlite_column_guid(st, 1, &c.app_id);
		sqlite_column_guid(st, 2, &c.kms_id);
		sqlite_column_guid(st, 3, &c.sku_id);
		column_text(st, 4, c.workstation, sizeof c.workstation);
		column_text(st, 5, c.address, sizeof c.address);
		c.license_status = (uint32_t)sqlite3_column_int64(st, 6);
		store_protocol_parse((const char *)sqlite3_column_text(st, 7), &c.protocol_major,
				     &c.protocol_minor);
		c.first_seen = sqlite3_column_int64(st, 8);
		c.last_seen = sqlite3_column_int64(st, 9);
		c.requests = (uint64_t)sqlite3_column_int64(st, 10);
		c.last_result = (uint32_t)sqlite3_column_int64(st, 11);
		c.last_count = (uint32_t)sqlite3_column_int64(st, 12);
		(*found)++;
		if (!fn(ctx, &c))
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE || fail(s, "reading a client");
}

bool sqlite_activity_recent(store *s, const kms_guid *cmid, size_t limit, store_activity_fn fn,
			    void *ctx)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT time, cmid, app_id, kms_id, sku_id, workstation,"
			       " address, license_status, protocol, result, count FROM activity"
			       " WHERE ?1 IS NULL OR cmid = ?1 ORDER BY time DESC, id DESC LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(s, "reading activity");
	if (cmid)
		sqlite3_bind_blob(st, 1, cmid->b, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_activity a;
		memset(&a, 0, sizeof a);
		a.time = sqlite3_column_int64(st, 0);
		sqlite_column_guid(st, 1, &a.cmid);
		sqlite_column_guid(st, 2, &a.app_id);
		sqlite_column_guid(st, 3, &a.kms_id);
		sqlite_column_guid(st, 4, &a.sku_id);
		column_text(st, 5, a.workstation, sizeof a.workstation);
		column_text(st, 6, a.address, sizeof a.address);
		a.license_status = (uint32_t)sqlite3_column_int64(st, 7);
		store_protocol_parse((const char *)sqlite3_column_text(st, 8), &a.protocol_major,
				     &a.protocol_minor);
		a.result = (uint32_t)sqlite3_column_int64(st, 9);
		a.count = (uint32_t)sqlite3_column_int64(st, 10);
		if (!fn(ctx, &a))
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE || fail(s, "reading activity");
}

bool sqlite_activity_buckets(store *s, int64_t since, int64_t width, store_bucket_fn fn,
			     void *ctx)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT time / ?2, count(*) FROM activity WHERE time >= ?1"
			       " GROUP BY 1 ORDER BY 1", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "counting activity");
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, width);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (!fn(ctx, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1)))
			break;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE || fail(s, "counting activity");
}

bool sqlite_activity_answers(store *s, int64_t since, store_answer_fn fn, void *ctx)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT kms_id, result, count, sum(n) FROM activity_hours"
			       " WHERE hour >= ?1 / 3600 GROUP BY 1, 2, 3", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "counting activity");
	sqlite3_bind_int64(st, 1, since);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		kms_guid kms_id;
		sqlite_column_guid(st, 0, &kms_id);
		if (!fn(ctx, &kms_id, (uint32_t)sqlite3_column_int64(st, 1),
			(uint32_t)sqlite3_column_int64(st, 2), (uint64_t)sqlite3_column_int64(st, 3)))
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE || fail(s, "counting activity");
}

bool sqlite_activity_oldest(store *s, int64_t *time)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT min(time) FROM activity", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "reading activity");
	*time = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return true;
}
