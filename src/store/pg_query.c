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

bool pg_clients(store *s, const store_query *q, store_client_fn fn, void *ctx, size_t *total)
{
	static const char columns[] =
		"encode(cmid, 'hex'), encode(app_id, 'hex'), encode(kms_id, 'hex'),"
		" encode(sku_id, 'hex'), workstation, address, license_status, protocol,"
		" first_seen, last_seen, requests, last_result, last_count";
	static const char where[] =
		" WHERE ($1::bytea IS NULL OR kms_id = $1::bytea)"
		" AND ($2::bytea IS NULL OR app_id = $2::bytea) AND last_seen >= $3::bigint"
		" AND ($4::text IS NULL OR strpos(lower(workstation), lower($4::text)) > 0"
		" OR strpos(address, $4::text) > 0)";
	const char *order = "last_seen DESC";
	if (q->order && strcmp(q->order, "workstation") == 0)
		order = "lower(workstation), last_seen DESC";
	else if (q->order && strcmp(q->order, "requests") == 0)
		order = "requests DESC, last_seen DESC";
	char kms[PG_GUID_TEXT], app[PG_GUID_TEXT], since[24], limit[24], offset[24];
	if (q->kms_id)
		pg_guid_param(q->kms_id, kms);
	if (q->app_id)
		pg_guid_param(q->app_id, app);
	snprintf(since, sizeof since, "%lld", (long long)q->since);
	snprintf(limit, sizeof limit, "%zu", q->limit);
	snprintf(offset, sizeof offset, "%zu", q->offset);
	const char *const params[] = { q->kms_id ? kms : NULL, q->app_id ? app : NULL, since,
				       q->search, q->limit ? limit : NULL, offset };
	char sql[8192], why[256], answer[6144];
	if (!store_answer_sql(q, true, answer, sizeof answer))
		return fail(s, "listing clients", "too many product groups");
	snprintf(sql, sizeof sql, "SELECT count(*) FROM clients%s%s", where, answer);
	PGresult *r = pg_run(s->db, sql, 4, params, why, sizeof why);
	if (!r)
		return fail(s, "listing clients", why);
	if (total)
		*total = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);

	snprintf(sql, sizeof sql, "SELECT %s FROM clients%s%s ORDER BY %s LIMIT $5::bigint"
		 " OFFSET $6::bigint", columns, where, answer, order);
	r = pg_run(s->db, sql, 6, params, why, sizeof why);
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

bool pg_group_stats(store *s, int64_t since, store_stat_fn fn, void *ctx)
{
	char text[24], why[256];
	snprintf(text, sizeof text, "%lld", (long long)since);
	const char *const params[] = { text };
	PGresult *r = pg_run(s->db, "SELECT encode(app_id, 'hex'), encode(kms_id, 'hex'),"
			     " count(DISTINCT cmid), max(last_seen) FROM clients"
			     " WHERE last_seen >= $1 AND last_result = 0"
			     " GROUP BY app_id, kms_id ORDER BY app_id, kms_id",
			     1, params, why, sizeof why);
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
