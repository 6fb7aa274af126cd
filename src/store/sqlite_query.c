/* The SQLite backend's reads: identity values, recent clients for counting, the
 * client list and per-group statistics for administrators, and pruning. */
#include <stdio.h>
#include <string.h>

#include "store/sqlite_private.h"

static bool fail(store *s, const char *what)
{
	snprintf(s->error, sizeof s->error, "%s: %s", what, sqlite3_errmsg(s->db));
	return false;
}

int sqlite_identity_get(void *conn, const char *name, char *value, size_t len, char *err,
			size_t err_len)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st;
	int found = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM identity WHERE name = ?1", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(err, err_len, "reading identity: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		found = v && strlen(v) < len;
		if (found)
			memcpy(value, v, strlen(v) + 1);
	}
	sqlite3_finalize(st);
	return found;
}

bool sqlite_identity_put(void *conn, const char *name, const char *value, bool replace,
			 char *err, size_t err_len)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st;
	const char *sql = replace ? "INSERT INTO identity (name, value) VALUES (?1, ?2)"
				    " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
				  : "INSERT INTO identity (name, value) VALUES (?1, ?2)"
				    " ON CONFLICT (name) DO NOTHING";
	bool ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	if (!ok)
		snprintf(err, err_len, "writing identity: %s", sqlite3_errmsg(db));
	return ok;
}

static void column_guid(sqlite3_stmt *st, int col, kms_guid *g)
{
	memset(g, 0, sizeof *g);
	if (sqlite3_column_bytes(st, col) == 16)
		memcpy(g->b, sqlite3_column_blob(st, col), 16);
}

bool sqlite_load_seen(void *conn, int64_t since, store_seen_fn fn, void *ctx, char *err,
		      size_t err_len)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st;
	/* only answered requests count: refused ones stay as history */
	int rc = sqlite3_prepare_v2(db, "SELECT app_id, cmid, counted_seen FROM clients"
				    " WHERE counted_seen >= ?1 ORDER BY counted_seen", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, since);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			kms_guid app, cmid;
			column_guid(st, 0, &app);
			column_guid(st, 1, &cmid);
			fn(ctx, &app, &cmid, sqlite3_column_int64(st, 2));
		}
		sqlite3_finalize(st);
	}
	if (rc == SQLITE_DONE)
		return true;
	snprintf(err, err_len, "loading clients: %s", sqlite3_errmsg(db));
	return false;
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
	snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

bool sqlite_clients(store *s, const store_query *q, store_client_fn fn, void *ctx, size_t *total)
{
	static const char columns[] =
		"cmid, app_id, kms_id, sku_id, workstation, address, license_status, protocol,"
		" first_seen, last_seen, requests, last_result, last_count";
	static const char where[] =
		" WHERE (?1 IS NULL OR kms_id = ?1) AND (?2 IS NULL OR app_id = ?2)"
		" AND last_seen >= ?3 AND (?4 IS NULL OR instr(lower(workstation), lower(?4)) > 0"
		" OR instr(address, ?4) > 0)";
	const char *order = "last_seen DESC";
	if (q->order && strcmp(q->order, "workstation") == 0)
		order = "workstation COLLATE NOCASE, last_seen DESC";
	else if (q->order && strcmp(q->order, "requests") == 0)
		order = "requests DESC, last_seen DESC";
	char sql[8192], answer[6144];
	sqlite3_stmt *st;
	if (!store_answer_sql(q, false, answer, sizeof answer)) {
		snprintf(s->error, sizeof s->error, "listing clients: too many product groups");
		return false;
	}

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			snprintf(sql, sizeof sql, "SELECT count(*) FROM clients%s%s", where, answer);
		else
			snprintf(sql, sizeof sql, "SELECT %s FROM clients%s%s ORDER BY %s LIMIT ?5 OFFSET ?6",
				 columns, where, answer, order);
		if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
			return fail(s, "listing clients");
		if (q->kms_id)
			sqlite3_bind_blob(st, 1, q->kms_id->b, 16, SQLITE_STATIC);
		if (q->app_id)
			sqlite3_bind_blob(st, 2, q->app_id->b, 16, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, q->since);
		if (q->search)
			sqlite3_bind_text(st, 4, q->search, -1, SQLITE_STATIC);
		if (pass == 0) {
			if (sqlite3_step(st) == SQLITE_ROW && total)
				*total = (size_t)sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
			continue;
		}
		sqlite3_bind_int64(st, 5, q->limit ? (sqlite3_int64)q->limit : -1);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)q->offset);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			store_client c;
			memset(&c, 0, sizeof c);
			column_guid(st, 0, &c.cmid);
			column_guid(st, 1, &c.app_id);
			column_guid(st, 2, &c.kms_id);
			column_guid(st, 3, &c.sku_id);
			copy_text(c.workstation, sizeof c.workstation, sqlite3_column_text(st, 4));
			copy_text(c.address, sizeof c.address, sqlite3_column_text(st, 5));
			c.license_status = (uint32_t)sqlite3_column_int64(st, 6);
			store_protocol_parse((const char *)sqlite3_column_text(st, 7),
					     &c.protocol_major, &c.protocol_minor);
			c.first_seen = sqlite3_column_int64(st, 8);
			c.last_seen = sqlite3_column_int64(st, 9);
			c.requests = (uint64_t)sqlite3_column_int64(st, 10);
			c.last_result = (uint32_t)sqlite3_column_int64(st, 11);
			c.last_count = (uint32_t)sqlite3_column_int64(st, 12);
			if (!fn(ctx, &c))
				break;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return fail(s, "listing clients");
	}
	return true;
}

bool sqlite_group_stats(store *s, int64_t since, store_stat_fn fn, void *ctx)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT app_id, kms_id, count(DISTINCT cmid), max(last_seen)"
			       " FROM clients WHERE last_seen >= ?1 AND last_result = 0"
			       " GROUP BY app_id, kms_id"
			       " ORDER BY app_id, kms_id", -1, &st, NULL) != SQLITE_OK)
		return fail(s, "counting clients");
	sqlite3_bind_int64(st, 1, since);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_group_stat g;
		column_guid(st, 0, &g.app_id);
		column_guid(st, 1, &g.kms_id);
		g.clients = (uint64_t)sqlite3_column_int64(st, 2);
		g.last_seen = sqlite3_column_int64(st, 3);
		if (!fn(ctx, &g))
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE || fail(s, "counting clients");
}

long sqlite_prune(store *s, int64_t before)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM clients WHERE last_seen < ?1", -1, &st, NULL) !=
	    SQLITE_OK) {
		fail(s, "pruning");
		return -1;
	}
	sqlite3_bind_int64(st, 1, before);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fail(s, "pruning");
		return -1;
	}
	return (long)sqlite3_changes(s->db);
}

long sqlite_forget(store *s, const store_forget_filter *f)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM clients WHERE (?1 IS NULL OR cmid = ?1)"
			       " AND (?2 IS NULL OR lower(workstation) GLOB lower(?2))"
			       " AND (?3 IS NULL OR kms_id = ?3)", -1, &st, NULL) != SQLITE_OK) {
		fail(s, "forgetting clients");
		return -1;
	}
	if (f->cmid)
		sqlite3_bind_blob(st, 1, f->cmid->b, 16, SQLITE_STATIC);
	if (f->workstation)
		sqlite3_bind_text(st, 2, f->workstation, -1, SQLITE_STATIC);
	if (f->kms_id)
		sqlite3_bind_blob(st, 3, f->kms_id->b, 16, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fail(s, "forgetting clients");
		return -1;
	}
	return (long)sqlite3_changes(s->db);
}
