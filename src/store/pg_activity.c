/* The PostgreSQL backend's activity log (see activity.h): every host of a
 * shared database writes its requests there, so each host's dashboard
 * shows the whole fleet's activity. The rows are inserted by the client
 * upsert itself (pg_write.c), in the same statement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/activity_private.h"
#include "store/pg_private.h"

bool pg_activity_schema(void *db, char *err, size_t err_len)
{
	return pg_exec(db, "CREATE TABLE IF NOT EXISTS activity ("
		       " id bigserial PRIMARY KEY, time bigint NOT NULL, cmid bytea NOT NULL,"
		       " app_id bytea, kms_id bytea, sku_id bytea, workstation text, address text,"
		       " license_status bigint, protocol text, result bigint, count bigint);"
		       "CREATE INDEX IF NOT EXISTS activity_time ON activity (time);"
		       "CREATE INDEX IF NOT EXISTS activity_cmid ON activity (cmid, time);",
		       err, err_len);
}

long pg_activity_trim(void *db, int64_t before, long keep, char *err, size_t err_len)
{
	char t[24], k[24];
	snprintf(t, sizeof t, "%lld", (long long)before);
	snprintf(k, sizeof k, "%ld", keep);
	const char *const params[] = { t, k };
	PGresult *r = pg_run(db, "DELETE FROM activity WHERE time < $1::bigint OR id <="
			     " (SELECT max(id) FROM activity) - $2::bigint", 2, params, err, err_len);
	if (!r)
		return -1;
	long n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

static bool fail(store *s, const char *what, const char *why)
{
	snprintf(s->error, sizeof s->error, "%s: %.250s", what, why);
	return false;
}

bool pg_client_get(store *s, const kms_guid *cmid, store_client_fn fn, void *ctx, size_t *found)
{
	char id[PG_GUID_TEXT], why[256];
	pg_guid_param(cmid, id);
	const char *const params[] = { id };
	PGresult *r = pg_run(s->db, "SELECT encode(cmid, 'hex'), encode(app_id, 'hex'),"
			     " encode(kms_id, 'hex'), encode(sku_id, 'hex'), workstation, address,"
			     " license_status, protocol, first_seen, last_seen, requests, last_result,"
			     " last_count FROM clients WHERE cmid = $1::bytea ORDER BY last_seen DESC",
			     1, params, why, sizeof why);
	if (!r)
		return fail(s, "reading a client", why);
	*found = (size_t)PQntuples(r);
	for (int i = 0; i < PQntuples(r); i++) {
		store_client c;
		memset(&c, 0, sizeof c);
		pg_guid_value(PQgetvalue(r, i, 0), &c.cmid);
		pg_guid_value(PQgetvalue(r, i, 1), &c.app_id);
		pg_guid_value(PQgetvalue(r, i, 2), &c.kms_id);
		pg_guid_value(PQgetvalue(r, i, 3), &c.sku_id);
		snprintf(c.workstation, sizeof c.workstation, "%s", PQgetvalue(r, i, 4));
		snprintf(c.address, sizeof c.address, "%s", PQgetvalue(r, i, 5));
		c.license_status = (uint32_t)strtoul(PQgetvalue(r, i, 6), NULL, 10);
		store_protocol_parse(PQgetvalue(r, i, 7), &c.protocol_major, &c.protocol_minor);
		c.first_seen = strtoll(PQgetvalue(r, i, 8), NULL, 10);
		c.last_seen = strtoll(PQgetvalue(r, i, 9), NULL, 10);
		c.requests = strtoull(PQgetvalue(r, i, 10), NULL, 10);
		c.last_result = (uint32_t)strtoul(PQgetvalue(r, i, 11), NULL, 10);
		c.last_count = (uint32_t)strtoul(PQgetvalue(r, i, 12), NULL, 10);
		if (!fn(ctx, &c))
			break;
	}
	PQclear(r);
	return true;
}

bool pg_activity_recent(store *s, const kms_guid *cmid, size_t limit, store_activity_fn fn,
			void *ctx)
{
	char id[PG_GUID_TEXT], n[24], why[256];
	if (cmid)
		pg_guid_param(cmid, id);
	snprintf(n, sizeof n, "%zu", limit);
	const char *const params[] = { cmid ? id : NULL, n };
	PGresult *r = pg_run(s->db, "SELECT time, encode(cmid, 'hex'), encode(app_id, 'hex'),"
			     " encode(kms_id, 'hex'), encode(sku_id, 'hex'), workstation, address,"
			     " license_status, protocol, result, count FROM activity"
			     " WHERE $1::bytea IS NULL OR cmid = $1::bytea"
			     " ORDER BY time DESC, id DESC LIMIT $2::bigint", 2, params, why, sizeof why);
	if (!r)
		return fail(s, "reading activity", why);
	for (int i = 0; i < PQntuples(r); i++) {
		store_activity a;
		memset(&a, 0, sizeof a);
		a.time = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		pg_guid_value(PQgetvalue(r, i, 1), &a.cmid);
		pg_guid_value(PQgetvalue(r, i, 2), &a.app_id);
		pg_guid_value(PQgetvalue(r, i, 3), &a.kms_id);
		pg_guid_value(PQgetvalue(r, i, 4), &a.sku_id);
		snprintf(a.workstation, sizeof a.workstation, "%s", PQgetvalue(r, i, 5));
		snprintf(a.address, sizeof a.address, "%s", PQgetvalue(r, i, 6));
		a.license_status = (uint32_t)strtoul(PQgetvalue(r, i, 7), NULL, 10);
		store_protocol_parse(PQgetvalue(r, i, 8), &a.protocol_major, &a.protocol_minor);
		a.result = (uint32_t)strtoul(PQgetvalue(r, i, 9), NULL, 10);
		a.count = (uint32_t)strtoul(PQgetvalue(r, i, 10), NULL, 10);
		if (!fn(ctx, &a))
			break;
	}
	PQclear(r);
	return true;
}

bool pg_activity_buckets(store *s, int64_t since, int64_t width, store_bucket_fn fn, void *ctx)
{
	char t[24], w[24], why[256];
	snprintf(t, sizeof t, "%lld", (long long)since);
	snprintf(w, sizeof w, "%lld", (long long)width);
	const char *const params[] = { t, w };
	PGresult *r = pg_run(s->db, "SELECT time / $2::bigint, count(*) FROM activity"
			     " WHERE time >= $1::bigint GROUP BY 1 ORDER BY 1", 2, params, why,
			     sizeof why);
	if (!r)
		return fail(s, "counting activity", why);
	for (int i = 0; i < PQntuples(r); i++)
		if (!fn(ctx, strtoll(PQgetvalue(r, i, 0), NULL, 10),
			strtoull(PQgetvalue(r, i, 1), NULL, 10)))
			break;
	PQclear(r);
	return true;
}

bool pg_activity_answers(store *s, int64_t since, store_answer_fn fn, void *ctx)
{
	char t[24], why[256];
	snprintf(t, sizeof t, "%lld", (long long)since);
	const char *const params[] = { t };
	PGresult *r = pg_run(s->db, "SELECT encode(kms_id, 'hex'), result, CASE WHEN result = 0"
			     " THEN count ELSE 0 END, count(*) FROM activity WHERE time >= $1::bigint"
			     " GROUP BY 1, 2, 3", 1, params, why, sizeof why);
	if (!r)
		return fail(s, "counting activity", why);
	for (int i = 0; i < PQntuples(r); i++) {
		kms_guid kms_id;
		pg_guid_value(PQgetvalue(r, i, 0), &kms_id);
		if (!fn(ctx, &kms_id, (uint32_t)strtoul(PQgetvalue(r, i, 1), NULL, 10),
			(uint32_t)strtoul(PQgetvalue(r, i, 2), NULL, 10),
			strtoull(PQgetvalue(r, i, 3), NULL, 10)))
			break;
	}
	PQclear(r);
	return true;
}

bool pg_activity_oldest(store *s, int64_t *time)
{
	char why[256];
	PGresult *r = pg_run(s->db, "SELECT coalesce(min(time), 0) FROM activity", 0, NULL, why,
			     sizeof why);
	if (!r)
		return fail(s, "reading activity", why);
	*time = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return true;
}
