/* The hourly counters (client_hours) as the writer's batch changes them.
 *
 * Triggers kept them until schema 7, but a trigger makes SQLite keep a
 * statement journal for every upsert and run a sub-program per row: at a
 * million clients that was a quarter of the writer's CPU (BENCHMARKS.md).
 * The writer now reads a row's old group, hour and answer before its
 * upsert (the same pages the upsert then changes; the same read tells
 * sqlite_write.c whether the workstation name changes), adds the moves up per
 * (group, hour) and applies them once per batch: a batch of thousands of
 * clients is a handful of counter updates. Deletes (prune, forget, any
 * other tool) still go through the delete trigger. */
#include <string.h>

#include "store/sqlite_private.h"

/* One counter's change: the key as the triggers wrote it (a NULL kms_id
 * of a version-1 row is x'', a key column is never NULL). */
typedef struct hour_delta {
	uint8_t app_id[16];
	uint8_t kms_id[16];
	int kms_len;
	int64_t hour;
	int64_t delta;
} hour_delta;

/* A batch spans a second or two and a few groups; renewals move clients
 * out of older hours, so the keys outnumber that, and a full table is
 * applied and starts again (a counter row per client at worst, as the
 * triggers did). */
#define HOUR_DELTAS 64

struct sqlite_hours {
	sqlite3_stmt *old_row, *add, *sub;
	hour_delta keys[HOUR_DELTAS];
	size_t used;
};

/* A counter only ever goes down from a row that counted in it: a missing
 * one stays missing, as the triggers' UPDATE left it. */
static bool change(sqlite_hours *h, const uint8_t *app_id, const void *kms_id, int kms_len,
		   int64_t hour, int64_t delta)
{
	sqlite3_stmt *st = delta > 0 ? h->add : h->sub;
	sqlite3_bind_blob(st, 1, app_id, 16, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, kms_id, kms_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, hour);
	sqlite3_bind_int64(st, 4, delta);
	bool ok = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_reset(st);
	return ok;
}

bool sqlite_hours_apply(sqlite_hours *h)
{
	for (size_t i = 0; i < h->used; i++) {
		const hour_delta *d = &h->keys[i];
		if (d->delta && !change(h, d->app_id, d->kms_id, d->kms_len, d->hour, d->delta))
			return false;
	}
	h->used = 0;
	return true;
}

static bool move(sqlite_hours *h, const uint8_t *app_id, const void *kms_id, int kms_len,
		 int64_t hour, int64_t delta)
{
	static const uint8_t none[16];
	if (!kms_id || kms_len <= 0) {
		kms_id = none;
		kms_len = 0;
	}
	/* not a GUID (kmsd never wrote one there): changed at once, the key
	 * table holds GUIDs */
	if (kms_len > 16)
		return change(h, app_id, kms_id, kms_len, hour, delta);
	for (size_t i = 0; i < h->used; i++) {
		hour_delta *d = &h->keys[i];
		if (d->hour == hour && d->kms_len == kms_len && !memcmp(d->app_id, app_id, 16) &&
		    !memcmp(d->kms_id, kms_id, (size_t)kms_len)) {
			d->delta += delta;
			return true;
		}
	}
	if (h->used == HOUR_DELTAS && !sqlite_hours_apply(h))
		return false;
	hour_delta *d = &h->keys[h->used++];
	memcpy(d->app_id, app_id, 16);
	memset(d->kms_id, 0, sizeof d->kms_id);
	memcpy(d->kms_id, kms_id, (size_t)kms_len);
	d->kms_len = kms_len;
	d->hour = hour;
	d->delta = delta;
	return true;
}

sqlite_hours *sqlite_hours_begin(sqlite3 *db)
{
	sqlite_hours *h = sqlite3_malloc(sizeof *h);
	if (!h)
		return NULL;
	memset(h, 0, sizeof *h);
	if (sqlite3_prepare_v2(db, "SELECT kms_id, last_seen, last_result, workstation IS ?3"
			       " FROM clients WHERE cmid = ?1 AND app_id = ?2", -1, &h->old_row,
			       NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "INSERT INTO client_hours VALUES (?1, ?2, ?3, ?4)"
			       " ON CONFLICT DO UPDATE SET clients = clients + excluded.clients", -1,
			       &h->add, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "UPDATE client_hours SET clients = clients + ?4"
			       " WHERE app_id = ?1 AND kms_id = ?2 AND hour = ?3", -1, &h->sub,
			       NULL) == SQLITE_OK)
		return h;
	sqlite_hours_end(h);
	return NULL;
}

bool sqlite_hours_before(sqlite_hours *h, const client_update *c, bool *same_name)
{
	const store_record *r = c->last;
	sqlite3_stmt *st = h->old_row;
	sqlite3_bind_blob(st, 1, r->cmid.b, 16, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, r->app_id.b, 16, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->workstation, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	*same_name = rc == SQLITE_ROW && sqlite3_column_int(st, 3) == 1;
	/* the row as the upsert will leave it: last_seen only moves forward,
	 * the group and the answer are the newest record's */
	int64_t seen = c->last_time;
	bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
	if (rc == SQLITE_ROW) {
		int64_t old_seen = sqlite3_column_int64(st, 1);
		if (old_seen > seen)
			seen = old_seen;
		if (sqlite3_column_type(st, 2) == SQLITE_INTEGER && sqlite3_column_int64(st, 2) == 0)
			ok = move(h, r->app_id.b, sqlite3_column_blob(st, 0),
				  sqlite3_column_bytes(st, 0), old_seen / 3600, -1);
	}
	/* reset before the upsert: no read stays open on the table it writes */
	sqlite3_reset(st);
	if (ok && r->result == 0)
		ok = move(h, r->app_id.b, r->kms_id.b, 16, seen / 3600, 1);
	return ok;
}

void sqlite_hours_end(sqlite_hours *h)
{
	if (!h)
		return;
	sqlite3_finalize(h->old_row);
	sqlite3_finalize(h->add);
	sqlite3_finalize(h->sub);
	sqlite3_free(h);
}
