/* The SQLite backend's reads: identity values, the
 * client list and per-group statistics for administrators, and pruning. */
#include <stdio.h>
#include <string.h>
#include <time.h>

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

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
	snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* The sort orders: ORDER BY, and the condition for the rows after a cursor
 * (the same keys, compared as one row value, so an index serves both). */
typedef struct sort_order {
	const char *name, *order_by, *after;
} sort_order;

static const sort_order orders[] = {
	{ "last_seen", "last_seen DESC, cmid DESC, app_id DESC",
	  "(last_seen, cmid, app_id) < (:c_seen, :c_cmid, :c_app)" },
	{ "workstation", "workstation COLLATE NOCASE, cmid, app_id",
	  "(workstation COLLATE NOCASE, cmid, app_id) > (:c_ws, :c_cmid, :c_app)" },
	{ "requests", "requests DESC, last_seen DESC, cmid DESC, app_id DESC",
	  "(requests, last_seen, cmid, app_id) < (:c_req, :c_seen, :c_cmid, :c_app)" },
};

static const sort_order *order_of(const char *name)
{
	for (size_t i = 0; name && i < sizeof orders / sizeof orders[0]; i++)
		if (strcmp(name, orders[i].name) == 0)
			return &orders[i];
	return &orders[0];
}

/* The conditions of the filters given, and only those: a catch-all
 * "(? IS NULL OR ...)" would keep SQLite from choosing an index. */
static bool where_of(const store_query *q, bool with_cursor, bool walk, char *out, size_t len)
{
	int at = snprintf(out, len, " WHERE 1");
	if (q->kms_id)
		at += snprintf(out + at, len - (size_t)at, " AND kms_id = :kms");
	if (q->app_id)
		at += snprintf(out + at, len - (size_t)at, " AND app_id = :app");
	if (q->since > 0)
		at += snprintf(out + at, len - (size_t)at, " AND last_seen >= :since");
	/* walking the sort's index: the unary + keeps the prefix indexes out */
	if (q->search)
		at += snprintf(out + at, len - (size_t)at, " AND (%sworkstation LIKE :pat ESCAPE '\\'"
			       " OR %saddress LIKE :pat ESCAPE '\\')", walk ? "+" : "", walk ? "+" : "");
	if (with_cursor && q->after)
		at += snprintf(out + at, len - (size_t)at, " AND %s", order_of(q->order)->after);
	/* the last answer (only literals; false if it does not fit) */
	return at < (int)len && store_answer_sql(q, false, out + at, len - (size_t)at);
}

static void bind_named_blob(sqlite3_stmt *st, const char *name, const kms_guid *g)
{
	int i = sqlite3_bind_parameter_index(st, name);
	if (i)
		sqlite3_bind_blob(st, i, g->b, 16, SQLITE_TRANSIENT);
}

static void bind_named_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(st, name);
	if (i)
		sqlite3_bind_int64(st, i, v);
}

static void bind_named_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(st, name);
	if (i)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* A prefix for LIKE: its own % _ and \ match themselves. */
static void like_prefix(const char *search, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = search; *p && o + 3 < len; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	out[o++] = '%';
	out[o] = '\0';
}

static void bind_query(sqlite3_stmt *st, const store_query *q)
{
	if (q->kms_id)
		bind_named_blob(st, ":kms", q->kms_id);
	if (q->app_id)
		bind_named_blob(st, ":app", q->app_id);
	bind_named_int(st, ":since", q->since);
	if (q->search) {
		char pat[2 * 256 + 2];
		like_prefix(q->search, pat, sizeof pat);
		bind_named_text(st, ":pat", pat);
	}
	if (q->after) {
		bind_named_int(st, ":c_seen", q->after->last_seen);
		bind_named_int(st, ":c_req", (int64_t)q->after->requests);
		bind_named_text(st, ":c_ws", q->after->workstation);
		bind_named_blob(st, ":c_cmid", &q->after->cmid);
		bind_named_blob(st, ":c_app", &q->after->app_id);
	}
}

static const char client_columns[] =
	"cmid, app_id, kms_id, sku_id, workstation, address, license_status, protocol,"
	" first_seen, last_seen, requests, last_result, last_count";

#define DEEP_OFFSET 1000

/* The SQL of a page of clients (also what the planner test explains). A
 * search that matches fewer than STORE_SEARCH_COUNT_MAX rows collects its
 * matches through the two prefix indexes and sorts them (the unary + on
 * the sort keeps the planner from walking the sort's index over every row
 * instead, which it prefers for a LIMIT); one that matches more walks the
 * sort's index and filters as it goes, reading about limit x rows /
 * matches rows rather than sorting every match. */
bool sqlite_clients_sql(const store_query *q, bool walk, char *sql, size_t len)
{
	char where[7000];
	if (!where_of(q, true, walk, where, sizeof where))
		return false;
	const char *order = order_of(q->order)->order_by;
	const char *keep = q->search && !walk ? "+" : "";
	if (q->offset >= DEEP_OFFSET) {
		/* a deep page: skip over the index's keys alone (it covers them),
		 * then read only the rows of the page */
		snprintf(sql, len, "SELECT %s FROM clients WHERE (cmid, app_id) IN (SELECT cmid,"
			 " app_id FROM clients%s ORDER BY %s%s LIMIT :limit OFFSET :offset)"
			 " ORDER BY %s", client_columns, where, keep, order, order);
		return true;
	}
	snprintf(sql, len, "SELECT %s FROM clients%s ORDER BY %s%s LIMIT :limit OFFSET :offset",
		 client_columns, where, keep, order);
	return true;
}

/* The rows of the filters (not of the page after a cursor), up to cap (0:
 * all), through the indexes of the filters. */
static bool count_clients(store *s, const store_query *q, const char *where, size_t cap,
			  size_t *n)
{
	char sql[8192];
	sqlite3_stmt *st;
	if (cap)
		snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT 1 FROM clients%s"
			 " LIMIT :count_max)", where);
	else
		snprintf(sql, sizeof sql, "SELECT count(*) FROM clients%s", where);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(s, "counting clients");
	bind_query(st, q);
	bind_named_int(st, ":count_max", (int64_t)cap);
	int rc = sqlite3_step(st);
	*n = rc == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || fail(s, "counting clients");
}

static void read_client(sqlite3_stmt *st, store_client *c)
{
	memset(c, 0, sizeof *c);
	sqlite_column_guid(st, 0, &c->cmid);
	sqlite_column_guid(st, 1, &c->app_id);
	sqlite_column_guid(st, 2, &c->kms_id);
	sqlite_column_guid(st, 3, &c->sku_id);
	copy_text(c->workstation, sizeof c->workstation, sqlite3_column_text(st, 4));
	copy_text(c->address, sizeof c->address, sqlite3_column_text(st, 5));
	c->license_status = (uint32_t)sqlite3_column_int64(st, 6);
	store_protocol_parse((const char *)sqlite3_column_text(st, 7), &c->protocol_major,
			     &c->protocol_minor);
	c->first_seen = sqlite3_column_int64(st, 8);
	c->last_seen = sqlite3_column_int64(st, 9);
	c->requests = (uint64_t)sqlite3_column_int64(st, 10);
	c->last_result = (uint32_t)sqlite3_column_int64(st, 11);
	c->last_count = (uint32_t)sqlite3_column_int64(st, 12);
}

bool sqlite_clients(store *s, const store_query *q, store_client_fn fn, void *ctx, size_t *total)
{
	char sql[8192], where[7000];
	sqlite3_stmt *st;
	if (!where_of(q, false, false, where, sizeof where)) {
		snprintf(s->error, sizeof s->error, "listing clients: too many product groups");
		return false;
	}
	if (total && !count_clients(s, q, where, q->count_max, total))
		return false;
	bool walk = false;
	if (q->search) {
		size_t matches;
		if (total && (!q->count_max || q->count_max >= STORE_SEARCH_COUNT_MAX))
			matches = *total;
		else if (!count_clients(s, q, where, STORE_SEARCH_COUNT_MAX, &matches))
			return false;
		walk = matches >= STORE_SEARCH_COUNT_MAX;
	}
	if (!sqlite_clients_sql(q, walk, sql, sizeof sql) ||
	    sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return fail(s, "listing clients");
	bind_query(st, q);
	bind_named_int(st, ":limit", q->limit ? (int64_t)q->limit : -1);
	bind_named_int(st, ":offset", (int64_t)q->offset);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_client c;
		read_client(st, &c);
		if (!fn(ctx, &c))
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(s, "listing clients");
	return true;
}

/* The statistics from the hourly counters (client_hours, kept by the
 * writer and the delete trigger): the whole hours after `since` are
 * summed, the rows of since's own hour from :since on are counted from the
 * index, so the answer is exact for any `since` and reads at most one hour
 * of rows. A group's latest answered client is one step back along
 * clients_groups. */
static const char group_stats_sql[] =
	"WITH counted AS ("
	" SELECT app_id, kms_id, clients AS n FROM client_hours WHERE hour > :hour"
	" UNION ALL SELECT app_id, ifnull(kms_id, x''), 1 FROM clients"
	" WHERE last_seen >= :since AND last_seen < (:hour + 1) * 3600 AND last_result = 0),"
	" groups AS (SELECT app_id, kms_id, sum(n) AS n FROM counted GROUP BY app_id, kms_id"
	" HAVING sum(n) > 0)"
	" SELECT app_id, kms_id, n, (SELECT last_seen FROM clients INDEXED BY clients_groups"
	" WHERE app_id = groups.app_id AND kms_id IS nullif(groups.kms_id, x'')"
	" AND last_result = 0 ORDER BY last_seen DESC LIMIT 1)"
	" FROM groups ORDER BY app_id, kms_id";

bool sqlite_group_stats(store *s, int64_t since, store_stat_fn fn, void *ctx)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, group_stats_sql, -1, &st, NULL) != SQLITE_OK)
		return fail(s, "counting clients");
	if (since < 0)
		since = 0;
	bind_named_int(st, ":since", since);
	bind_named_int(st, ":hour", since / 3600);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_group_stat g;
		sqlite_column_guid(st, 0, &g.app_id);
		sqlite_column_guid(st, 1, &g.kms_id);
		g.clients = (uint64_t)sqlite3_column_int64(st, 2);
		g.last_seen = sqlite3_column_int64(st, 3);
		if (!fn(ctx, &g))
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE || fail(s, "counting clients");
}

/* Pruning deletes in chunks, each its own short transaction, with a pause
 * between: the writer (which polls for the lock every millisecond) gets in
 * between two chunks, so a prune of any size never holds it out for more
 * than one chunk, well under a batch interval. */
#define PRUNE_CHUNK 1000
#define PRUNE_PAUSE_MS 20

long sqlite_prune(store *s, int64_t before)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM clients WHERE (cmid, app_id) IN (SELECT cmid,"
			       " app_id FROM clients WHERE last_seen < ?1 LIMIT ?2)", -1, &st,
			       NULL) != SQLITE_OK) {
		fail(s, "pruning");
		return -1;
	}
	long total = 0;
	for (;;) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, before);
		sqlite3_bind_int(st, 2, PRUNE_CHUNK);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fail(s, "pruning");
			sqlite3_finalize(st);
			return -1;
		}
		int n = sqlite3_changes(s->db);
		total += n;
		if (n < PRUNE_CHUNK)
			break;
		struct timespec pause = { 0, PRUNE_PAUSE_MS * 1000000L };
		nanosleep(&pause, NULL);
	}
	sqlite3_finalize(st);
	/* the hours left empty (a small table; the writer re-creates a row) */
	sqlite3_exec(s->db, "DELETE FROM client_hours WHERE clients <= 0", NULL, NULL, NULL);
	return total;
}

/* Called by SQLite every 1000 virtual machine steps of a query: non-zero
 * stops it (SQLITE_INTERRUPT). */
static int over_budget(void *ctx)
{
	const store *s = ctx;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec > s->query_deadline_ns;
}

void sqlite_arm_budget(store *s)
{
	sqlite3_progress_handler(s->db, 1000, over_budget, s);
}

bool sqlite_cancelled(store *s)
{
	return sqlite3_errcode(s->db) == SQLITE_INTERRUPT;
}

void sqlite_interrupt(store *s)
{
	sqlite3_interrupt(s->db);
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
