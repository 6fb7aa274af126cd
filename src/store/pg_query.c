/* The PostgreSQL backend's reads for administrators (the client list,
 * per-group statistics), pruning, and the host identity values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_private.h"

static bool fail(store *s, const char *what, const char *why)
{
	snprintf(s->error, sizeof s->error, "%s: %.250s", what, why);
	return false;
}

int pg_identity_get(void *db, const char *name, char *value, size_t len, char *err,
		    size_t err_len)
{
	const char *const params[] = { name };
	PGresult *r = pg_run(db, "SELECT value FROM identity WHERE name = $1", 1, params, err,
			     err_len);
	if (!r)
		return -1;
	int found = PQntuples(r) == 1 && strlen(PQgetvalue(r, 0, 0)) < len;
	if (found)
		memcpy(value, PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)) + 1);
	PQclear(r);
	return found;
}

bool pg_identity_put(void *db, const char *name, const char *value, bool replace, char *err,
		     size_t err_len)
{
	const char *const params[] = { name, value };
	PGresult *r = pg_run(db, replace ? "INSERT INTO identity (name, value) VALUES ($1, $2)"
					   " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
					 : "INSERT INTO identity (name, value) VALUES ($1, $2)"
					   " ON CONFLICT (name) DO NOTHING",
			     2, params, err, err_len);
	PQclear(r);
	return r != NULL;
}

static void fill_client(PGresult *r, int i, store_client *c)
{
	memset(c, 0, sizeof *c);
	pg_guid_value(PQgetvalue(r, i, 0), &c->cmid);
	pg_guid_value(PQgetvalue(r, i, 1), &c->app_id);
	pg_guid_value(PQgetvalue(r, i, 2), &c->kms_id);
	pg_guid_value(PQgetvalue(r, i, 3), &c->sku_id);
	snprintf(c->workstation, sizeof c->workstation, "%s", PQgetvalue(r, i, 4));
	snprintf(c->address, sizeof c->address, "%s", PQgetvalue(r, i, 5));
	c->license_status = (uint32_t)strtoul(PQgetvalue(r, i, 6), NULL, 10);
	store_protocol_parse(PQgetvalue(r, i, 7), &c->protocol_major, &c->protocol_minor);
	c->first_seen = strtoll(PQgetvalue(r, i, 8), NULL, 10);
	c->last_seen = strtoll(PQgetvalue(r, i, 9), NULL, 10);
	c->requests = strtoull(PQgetvalue(r, i, 10), NULL, 10);
	c->last_result = (uint32_t)strtoul(PQgetvalue(r, i, 11), NULL, 10);
	c->last_count = (uint32_t)strtoul(PQgetvalue(r, i, 12), NULL, 10);
}

/* A statement being built: its text and the parameters it uses, numbered
 * as they are added (PostgreSQL wants a type for every one it is given). */
typedef struct sql_build {
	char text[8192];
	int at;
	const char *params[12];
	int n;
} sql_build;

static void add_text(sql_build *b, const char *text)
{
	if (b->at >= (int)sizeof b->text - 1)
		return; /* full: pg_clients refuses it */
	b->at += snprintf(b->text + b->at, sizeof b->text - (size_t)b->at, "%s", text);
}

/* Append `before` $N::type `after` with value as parameter N. */
static void add_param(sql_build *b, const char *before, const char *value, const char *type)
{
	if (b->at >= (int)sizeof b->text - 1 || b->n >= (int)(sizeof b->params / sizeof b->params[0]))
		return;
	b->params[b->n++] = value;
	b->at += snprintf(b->text + b->at, sizeof b->text - (size_t)b->at, "%s$%d::%s", before,
			  b->n, type);
}

typedef struct query_values {
	char kms[PG_GUID_TEXT], app[PG_GUID_TEXT], since[24], pat[520];
	char c_seen[24], c_req[24], c_cmid[PG_GUID_TEXT], c_app[PG_GUID_TEXT];
} query_values;

/* lower(search) with LIKE's % _ and \ escaped, and a % after it. */
static void like_prefix(const char *search, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = search; *p && o + 3 < len; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
	}
	out[o++] = '%';
	out[o] = '\0';
}

/* Only the conditions of the filters given, so the planner can pick an
 * index; the cursor's condition compares the sort keys as one row. */
static void add_where(sql_build *b, const store_query *q, bool with_cursor, query_values *v)
{
	add_text(b, " WHERE true");
	if (q->kms_id) {
		pg_guid_param(q->kms_id, v->kms);
		add_param(b, " AND kms_id = ", v->kms, "bytea");
	}
	if (q->app_id) {
		pg_guid_param(q->app_id, v->app);
		add_param(b, " AND app_id = ", v->app, "bytea");
	}
	if (q->since > 0) {
		snprintf(v->since, sizeof v->since, "%lld", (long long)q->since);
		add_param(b, " AND last_seen >= ", v->since, "bigint");
	}
	if (q->search) {
		like_prefix(q->search, v->pat, sizeof v->pat);
		add_param(b, " AND (lower(workstation) LIKE ", v->pat, "text");
		char again[40];
		snprintf(again, sizeof again, " OR lower(address) LIKE $%d::text)", b->n);
		add_text(b, again);
	}
	char answer[6144];
	if (store_answer_sql(q, true, answer, sizeof answer))
		add_text(b, answer);
	else
		b->at = (int)sizeof b->text - 1; /* too many groups: refused */
	if (!with_cursor || !q->after)
		return;
	const store_cursor *c = q->after;
	snprintf(v->c_seen, sizeof v->c_seen, "%lld", (long long)c->last_seen);
	snprintf(v->c_req, sizeof v->c_req, "%llu", (unsigned long long)c->requests);
	pg_guid_param(&c->cmid, v->c_cmid);
	pg_guid_param(&c->app_id, v->c_app);
	if (q->order && strcmp(q->order, "workstation") == 0) {
		add_param(b, " AND (lower(workstation), cmid, app_id) > (lower(", c->workstation,
			  "text");
		add_param(b, "), ", v->c_cmid, "bytea");
	} else if (q->order && strcmp(q->order, "requests") == 0) {
		add_param(b, " AND (requests, last_seen, cmid, app_id) < (", v->c_req, "bigint");
		add_param(b, ", ", v->c_seen, "bigint");
		add_param(b, ", ", v->c_cmid, "bytea");
	} else {
		add_param(b, " AND (last_seen, cmid, app_id) < (", v->c_seen, "bigint");
		add_param(b, ", ", v->c_cmid, "bytea");
	}
	add_param(b, ", ", v->c_app, "bytea");
	add_text(b, ")");
}

static const char *order_by(const char *order)
{
	if (order && strcmp(order, "workstation") == 0)
		return " ORDER BY lower(workstation), cmid, app_id";
	if (order && strcmp(order, "requests") == 0)
		return " ORDER BY requests DESC, last_seen DESC, cmid DESC, app_id DESC";
	return " ORDER BY last_seen DESC, cmid DESC, app_id DESC";
}

bool pg_clients(store *s, const store_query *q, store_client_fn fn, void *ctx, size_t *total)
{
	char why[256], limit[24], offset[24], count_max[24];
	query_values v;
	sql_build b;
	if (total) {
		/* the total of the filters, not of the page after a cursor */
		memset(&b, 0, sizeof b);
		add_text(&b, q->count_max ? "SELECT count(*) FROM (SELECT 1 FROM clients"
					  : "SELECT count(*) FROM clients");
		add_where(&b, q, false, &v);
		if (q->count_max) {
			snprintf(count_max, sizeof count_max, "%zu", q->count_max);
			add_param(&b, " LIMIT ", count_max, "bigint");
			add_text(&b, ") n");
		}
		if (b.at >= (int)sizeof b.text - 1)
			return fail(s, "listing clients", "too many product groups");
		PGresult *r = pg_run(s->db, b.text, b.n, b.params, why, sizeof why);
		if (!r)
			return fail(s, "counting clients", why);
		*total = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	memset(&b, 0, sizeof b);
	add_text(&b, "SELECT encode(cmid, 'hex'), encode(app_id, 'hex'), encode(kms_id, 'hex'),"
		     " encode(sku_id, 'hex'), workstation, address, license_status, protocol,"
		     " first_seen, last_seen, requests, last_result, last_count FROM clients");
	add_where(&b, q, true, &v);
	add_text(&b, order_by(q->order));
	snprintf(limit, sizeof limit, "%zu", q->limit);
	snprintf(offset, sizeof offset, "%zu", q->offset);
	add_param(&b, " LIMIT ", q->limit ? limit : NULL, "bigint");
	add_param(&b, " OFFSET ", offset, "bigint");
	if (b.at >= (int)sizeof b.text - 1)
		return fail(s, "listing clients", "too many product groups");
	PGresult *r = pg_run(s->db, b.text, b.n, b.params, why, sizeof why);
	if (!r)
		return fail(s, "listing clients", why);
	for (int i = 0; i < PQntuples(r); i++) {
		store_client c;
		fill_client(r, i, &c);
		if (!fn(ctx, &c))
			break;
	}
	PQclear(r);
	return true;
}

/* The statistics from the hourly counters: client_hours and the changes
 * not folded into it yet for the whole hours after `since`, and the rows of
 * since's own hour from `since` on counted from the index (exact for any
 * `since`, at most one hour of rows). A group's latest answered client is
 * one step back along clients_groups. */
static const char group_stats_sql[] =
	"WITH counted AS ("
	" SELECT app_id, kms_id, clients AS n FROM client_hours WHERE hour > $2::bigint"
	" UNION ALL SELECT app_id, kms_id, delta FROM client_hour_changes WHERE hour > $2::bigint"
	" UNION ALL SELECT app_id, coalesce(kms_id, ''::bytea), 1 FROM clients"
	" WHERE last_seen >= $1::bigint AND last_seen < ($2::bigint + 1) * 3600"
	" AND last_result = 0),"
	" groups AS (SELECT app_id, kms_id, sum(n) AS n FROM counted GROUP BY app_id, kms_id"
	" HAVING sum(n) > 0)"
	" SELECT encode(app_id, 'hex'), encode(kms_id, 'hex'), n, coalesce("
	" (SELECT last_seen FROM clients c WHERE c.app_id = g.app_id AND c.kms_id = g.kms_id"
	" AND c.last_result = 0 ORDER BY c.last_seen DESC LIMIT 1),"
	" (SELECT last_seen FROM clients c WHERE c.app_id = g.app_id AND c.kms_id IS NULL"
	" AND g.kms_id = ''::bytea AND c.last_result = 0 ORDER BY c.last_seen DESC LIMIT 1))"
	" FROM groups g ORDER BY app_id, nullif(kms_id, ''::bytea)";

bool pg_group_stats(store *s, int64_t since, store_stat_fn fn, void *ctx)
{
	char text[24], hour[24], why[256];
	if (since < 0)
		since = 0;
	snprintf(text, sizeof text, "%lld", (long long)since);
	snprintf(hour, sizeof hour, "%lld", (long long)(since / 3600));
	const char *const params[] = { text, hour };
	PGresult *r = pg_run(s->db, group_stats_sql, 2, params, why, sizeof why);
	if (!r)
		return fail(s, "counting clients", why);
	for (int i = 0; i < PQntuples(r); i++) {
		store_group_stat g;
		pg_guid_value(PQgetvalue(r, i, 0), &g.app_id);
		pg_guid_value(PQgetvalue(r, i, 1), &g.kms_id);
		g.clients = strtoull(PQgetvalue(r, i, 2), NULL, 10);
		g.last_seen = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		if (!fn(ctx, &g))
			break;
	}
	PQclear(r);
	return true;
}

/* The changes the triggers appended, folded into the counters in one
 * statement: rows another host folds at the same time are deleted once
 * (the second DELETE skips them), and the counters are locked in key order,
 * so two folds never deadlock. Empty hours go. */
bool pg_fold_hours(void *db, char *err, size_t err_len)
{
	PGresult *r = pg_run(db, "WITH moved AS (DELETE FROM client_hour_changes"
			     " RETURNING app_id, kms_id, hour, delta)"
			     " INSERT INTO client_hours AS h SELECT app_id, kms_id, hour, sum(delta)"
			     " FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
			     " ON CONFLICT (app_id, kms_id, hour)"
			     " DO UPDATE SET clients = h.clients + excluded.clients",
			     0, NULL, err, err_len);
	PQclear(r);
	if (!r)
		return false;
	r = pg_run(db, "DELETE FROM client_hours WHERE clients <= 0", 0, NULL, err, err_len);
	PQclear(r);
	return r != NULL;
}

long pg_prune(store *s, int64_t before)
{
	char text[24], why[256];
	snprintf(text, sizeof text, "%lld", (long long)before);
	const char *const params[] = { text };
	PGresult *r = pg_run(s->db, "DELETE FROM clients WHERE last_seen < $1", 1, params, why,
			     sizeof why);
	if (!r) {
		fail(s, "pruning", why);
		return -1;
	}
	long n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

/* The server enforces the limit (statement_timeout), set once per
 * connection. */
void pg_arm_budget(store *s)
{
	pg_conn *pc = s->db;
	if (pc->budget_ms == s->budget_ms)
		return;
	char sql[64], why[256];
	snprintf(sql, sizeof sql, "SET statement_timeout = %d", s->budget_ms);
	if (pg_exec(pc, sql, why, sizeof why))
		pc->budget_ms = s->budget_ms;
}

bool pg_cancelled(store *s)
{
	const pg_conn *pc = s->db;
	return strcmp(pc->state, "57014") == 0; /* query_canceled */
}

void pg_interrupt(store *s)
{
	pg_conn *pc = s->db;
	PGcancel *c = PQgetCancel(pc->c);
	char why[256];
	if (c) {
		PQcancel(c, why, sizeof why);
		PQfreeCancel(c);
	}
}

/* A forget pattern (* and ?) as a LIKE pattern with \\ escaping. */
static void like_pattern(const char *glob, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = glob; *p && o + 3 < cap; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			out[o++] = '\\', out[o++] = *p;
		else
			out[o++] = *p == '*' ? '%' : *p == '?' ? '_' : *p;
	}
	out[o] = '\0';
}

long pg_forget(store *s, const store_forget_filter *f)
{
	char cmid[PG_GUID_TEXT], kms[PG_GUID_TEXT], like[600], why[256];
	if (f->cmid)
		pg_guid_param(f->cmid, cmid);
	if (f->kms_id)
		pg_guid_param(f->kms_id, kms);
	if (f->workstation)
		like_pattern(f->workstation, like, sizeof like);
	const char *const params[] = { f->cmid ? cmid : NULL, f->workstation ? like : NULL,
				       f->kms_id ? kms : NULL };
	PGresult *r = pg_run(s->db, "DELETE FROM clients WHERE ($1::bytea IS NULL OR cmid = $1::bytea)"
			     " AND ($2::text IS NULL OR lower(workstation) LIKE lower($2::text))"
			     " AND ($3::bytea IS NULL OR kms_id = $3::bytea)", 3, params, why,
			     sizeof why);
	if (!r) {
		fail(s, "forgetting clients", why);
		return -1;
	}
	long n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}
