/* The SQLite backend's reads that build the count: the clients answered
 * in the window, at start and at every reload.
 *
 * The count keeps at most so many machines of one application (2 x the
 * pool's highest N, store_limit_seen): at a million clients, reading the
 * whole window to keep 2,000 of it took a reload over a second. So each
 * application's newest are read on their own, through the index that finds
 * them fastest: a small pool's rows through clients_pool (application,
 * last seen), a big pool's newest through clients_counted, read from its
 * newest end. counted_seen is never after last_seen, so the condition on
 * last_seen changes no row. */
#include <stdio.h>

#include "store/sqlite_private.h"

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
			sqlite_column_guid(st, 0, &app);
			sqlite_column_guid(st, 1, &cmid);
			fn(ctx, &app, &cmid, sqlite3_column_int64(st, 2));
		}
		sqlite3_finalize(st);
	}
	if (rc == SQLITE_DONE)
		return true;
	snprintf(err, err_len, "loading clients: %s", sqlite3_errmsg(db));
	return false;
}

/* The application ids, one index probe each (a loose scan of clients_pool). */
static const char apps_sql[] =
	"WITH RECURSIVE apps(a) AS (SELECT (SELECT min(app_id) FROM clients)"
	" UNION ALL SELECT (SELECT min(app_id) FROM clients WHERE app_id > apps.a)"
	" FROM apps WHERE apps.a IS NOT NULL)"
	" SELECT a FROM apps WHERE a IS NOT NULL LIMIT ?1";

/* How many of an application's rows are in the window, counting no
 * further than ?3: small pools are read whole, sorted in memory. */
static const char probe_sql[] =
	"SELECT count(*) FROM (SELECT 1 FROM clients INDEXED BY clients_pool"
	" WHERE app_id = ?1 AND last_seen >= ?2 LIMIT ?3)";
static const char small_pool_sql[] =
	"SELECT cmid, counted_seen FROM clients INDEXED BY clients_pool"
	" WHERE app_id = ?1 AND last_seen >= ?2 AND counted_seen >= ?2"
	" ORDER BY counted_seen DESC LIMIT ?3";
static const char big_pool_sql[] =
	"SELECT cmid, counted_seen FROM clients INDEXED BY clients_counted"
	" WHERE counted_seen >= ?2 AND app_id = ?1 ORDER BY counted_seen DESC LIMIT ?3";

/* A pool with fewer rows than this many times per_app in the window is
 * read through clients_pool. */
#define SMALL_POOL_FACTOR 4

typedef struct newest_statements {
	sqlite3_stmt *probe, *small, *big;
} newest_statements;

static int64_t step_count(sqlite3_stmt *st)
{
	return sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
}

/* One application's newest per_app into l. */
static bool newest_of(const newest_statements *q, const void *app, int app_len, int64_t since,
		      size_t per_app, seen_rows *l)
{
	sqlite3_reset(q->probe);
	sqlite3_bind_blob(q->probe, 1, app, app_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q->probe, 2, since);
	sqlite3_bind_int64(q->probe, 3, (sqlite3_int64)(SMALL_POOL_FACTOR * per_app));
	int64_t rows = step_count(q->probe);
	if (rows < 0)
		return false;
	sqlite3_stmt *st = rows < (int64_t)(SMALL_POOL_FACTOR * per_app) ? q->small : q->big;
	sqlite3_reset(st);
	sqlite3_bind_blob(st, 1, app, app_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)per_app);
	kms_guid app_id = { 0 };
	if (app_len == 16)
		memcpy(app_id.b, app, 16);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		kms_guid cmid;
		sqlite_column_guid(st, 0, &cmid);
		if (!seen_rows_add(l, &app_id, &cmid, sqlite3_column_int64(st, 1)))
			return false;
	}
	return rc == SQLITE_DONE;
}

bool sqlite_load_newest(void *conn, int64_t since, size_t per_app, store_seen_fn fn, void *ctx,
			char *err, size_t err_len)
{
	sqlite3 *db = conn;
	sqlite3_stmt *apps = NULL;
	newest_statements q = { 0 };
	seen_rows l = { 0 };
	size_t n_apps = 0;
	bool ok = sqlite3_prepare_v2(db, apps_sql, -1, &apps, NULL) == SQLITE_OK &&
		  sqlite3_prepare_v2(db, probe_sql, -1, &q.probe, NULL) == SQLITE_OK &&
		  sqlite3_prepare_v2(db, small_pool_sql, -1, &q.small, NULL) == SQLITE_OK &&
		  sqlite3_prepare_v2(db, big_pool_sql, -1, &q.big, NULL) == SQLITE_OK;
	bool whole_window = false;
	if (ok) {
		sqlite3_bind_int64(apps, 1, SEEN_NEWEST_APPS_MAX + 1);
		int rc;
		while (ok && (rc = sqlite3_step(apps)) == SQLITE_ROW) {
			if (++n_apps > SEEN_NEWEST_APPS_MAX ||
			    n_apps * per_app > SEEN_NEWEST_ROWS_MAX) {
				whole_window = true;
				break;
			}
			ok = newest_of(&q, sqlite3_column_blob(apps, 0), sqlite3_column_bytes(apps, 0),
				       since, per_app, &l);
		}
		ok = ok && (whole_window || rc == SQLITE_DONE);
	}
	if (!ok)
		snprintf(err, err_len, "loading clients: %s", sqlite3_errmsg(db));
	sqlite3_finalize(apps);
	sqlite3_finalize(q.probe);
	sqlite3_finalize(q.small);
	sqlite3_finalize(q.big);
	if (ok && !whole_window)
		seen_rows_feed(&l, fn, ctx);
	seen_rows_free(&l);
	if (ok && whole_window)
		return sqlite_load_seen(conn, since, fn, ctx, err, err_len);
	return ok;
}
