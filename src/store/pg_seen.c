/* The PostgreSQL backend's reads that build the counts: the clients seen
 * in the window (at start, at a reload, at a follower's first poll), and
 * those written since a time, for hosts following each other.
 *
 * None of them holds the rows in one result: at a million clients one
 * PGresult of the window cost the host 125-276 MiB and seconds. The
 * window is read through a cursor, FETCH_ROWS at a time; and when the
 * count keeps only so many per application, only that many are asked for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_private.h"

#define FETCH_ROWS 4096
#define STR(x) #x
#define XSTR(x) STR(x)

typedef struct seen_feed {
	store_seen_fn fn;
	void *ctx;
} seen_feed;

/* Rows of (app_id hex, cmid hex, seen) to the count. */
static void feed_rows(const seen_feed *f, PGresult *r)
{
	for (int i = 0; i < PQntuples(r); i++) {
		kms_guid app, cmid;
		pg_guid_value(PQgetvalue(r, i, 0), &app);
		pg_guid_value(PQgetvalue(r, i, 1), &cmid);
		f->fn(f->ctx, &app, &cmid, strtoll(PQgetvalue(r, i, 2), NULL, 10));
	}
}

/* Run `select` (parameters $1...) through a cursor in a transaction of its
 * own, and feed every row, FETCH_ROWS at a time. */
static bool stream(pg_conn *pc, const char *select, int n_params, const char *const *params,
		   const seen_feed *f, char *err, size_t err_len)
{
	char sql[1024];
	snprintf(sql, sizeof sql, "DECLARE kmsd_seen NO SCROLL CURSOR FOR %s", select);
	if (!pg_exec(pc, "BEGIN", err, err_len))
		return false;
	PGresult *r = pg_run(pc, sql, n_params, params, err, err_len);
	bool ok = r != NULL;
	PQclear(r);
	while (ok) {
		r = pg_run(pc, "FETCH " XSTR(FETCH_ROWS) " FROM kmsd_seen", 0, NULL, err, err_len);
		if (!r) {
			ok = false;
			break;
		}
		int rows = PQntuples(r);
		feed_rows(f, r);
		PQclear(r);
		if (rows < FETCH_ROWS)
			break;
	}
	if (ok)
		return pg_exec(pc, "COMMIT", err, err_len);
	if (!pc->broken)
		PQclear(PQexec(pc->c, "ROLLBACK"));
	return false;
}

bool pg_changed(void *db, int64_t stored_since, int64_t *db_now, store_seen_fn fn, void *ctx,
		char *err, size_t err_len)
{
	pg_conn *pc = db;
	/* the time first: a row stored while the rows are read is in the next poll */
	PGresult *r = pg_run(pc, "SELECT extract(epoch FROM now())::bigint", 0, NULL, err, err_len);
	if (!r)
		return false;
	*db_now = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (!fn)
		return true;
	char since[24];
	snprintf(since, sizeof since, "%lld", (long long)stored_since);
	const char *const params[] = { since };
	const seen_feed f = { fn, ctx };
	/* a row whose last request was refused brings no machine to count; a
	 * host that writes its backlog after an outage may bring many */
	return stream(pc, "SELECT encode(app_id, 'hex'), encode(cmid, 'hex'), counted_seen"
		      " FROM clients WHERE stored_at >= $1::bigint AND last_result = 0"
		      " AND counted_seen IS NOT NULL ORDER BY counted_seen", 1, params, &f, err,
		      err_len);
}

bool pg_load_seen(void *db, int64_t since, store_seen_fn fn, void *ctx, char *err,
		  size_t err_len)
{
	char text[24];
	snprintf(text, sizeof text, "%lld", (long long)since);
	const char *const params[] = { text };
	const seen_feed f = { fn, ctx };
	return stream(db, "SELECT encode(app_id, 'hex'), encode(cmid, 'hex'), counted_seen"
		      " FROM clients WHERE counted_seen >= $1::bigint ORDER BY counted_seen", 1,
		      params, &f, err, err_len);
}

static bool keep_rows(seen_rows *l, const kms_guid *app, PGresult *r)
{
	for (int i = 0; i < PQntuples(r); i++) {
		kms_guid cmid;
		pg_guid_value(PQgetvalue(r, i, 0), &cmid);
		if (!seen_rows_add(l, app, &cmid, strtoll(PQgetvalue(r, i, 1), NULL, 10)))
			return false;
	}
	return true;
}

/* The application ids in the table, one index probe each (a loose index
 * scan of clients_pool, which PostgreSQL does not do by itself; bytea has
 * no min()). */
static const char apps_sql[] =
	"WITH RECURSIVE apps(a) AS ((SELECT app_id FROM clients ORDER BY app_id LIMIT 1)"
	" UNION ALL SELECT (SELECT app_id FROM clients WHERE app_id > apps.a ORDER BY app_id"
	" LIMIT 1) FROM apps WHERE apps.a IS NOT NULL)"
	" SELECT encode(a, 'hex') FROM apps WHERE a IS NOT NULL LIMIT " XSTR(SEEN_NEWEST_APPS_MAX) " + 1";

/* The newest of one application. counted_seen is never after last_seen,
 * so the condition on last_seen changes no row but lets the planner read a
 * rare application's rows from clients_pool rather than walk the window. */
static const char newest_sql[] =
	"SELECT encode(cmid, 'hex'), counted_seen FROM clients WHERE app_id = $1::bytea"
	" AND last_seen >= $2::bigint AND counted_seen >= $2::bigint"
	" ORDER BY counted_seen DESC LIMIT $3::bigint";

bool pg_load_newest(void *db, int64_t since, size_t per_app, store_seen_fn fn, void *ctx,
		    char *err, size_t err_len)
{
	pg_conn *pc = db;
	PGresult *apps = pg_run(pc, apps_sql, 0, NULL, err, err_len);
	if (!apps)
		return false;
	if (PQntuples(apps) > SEEN_NEWEST_APPS_MAX ||
	    per_app * (size_t)PQntuples(apps) > SEEN_NEWEST_ROWS_MAX) {
		PQclear(apps);
		return pg_load_seen(db, since, fn, ctx, err, err_len);
	}
	char since_text[24], limit[24], app_text[PG_GUID_TEXT];
	snprintf(since_text, sizeof since_text, "%lld", (long long)since);
	snprintf(limit, sizeof limit, "%zu", per_app);
	seen_rows l = { 0 };
	bool ok = true;
	for (int i = 0; ok && i < PQntuples(apps); i++) {
		kms_guid app;
		pg_guid_value(PQgetvalue(apps, i, 0), &app);
		pg_guid_param(&app, app_text);
		const char *const params[] = { app_text, since_text, limit };
		/* planned with the values: a rare application and a common
		 * one are best read through different indexes */
		PGresult *r = pg_run(pc, newest_sql, 3, params, err, err_len);
		ok = r != NULL;
		if (ok && !keep_rows(&l, &app, r)) {
			snprintf(err, err_len, "loading clients: out of memory");
			ok = false;
		}
		PQclear(r);
	}
	PQclear(apps);
	if (ok)
		seen_rows_feed(&l, fn, ctx);
	seen_rows_free(&l);
	return ok;
}
