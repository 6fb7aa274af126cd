/* The PostgreSQL backend's writes: a batch in one transaction, with text
 * made valid UTF-8 first, which PostgreSQL insists on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_private.h"

/* the request goes to the activity log in the same statement */
static const char upsert_sql[] =
	"WITH logged AS (INSERT INTO activity (time, cmid, app_id, kms_id, sku_id, workstation,"
	" address, license_status, protocol, result, count)"
	" VALUES ($9, $1, $2, $3, $4, $5, $6, $7, $8, $10, $11))"
	" INSERT INTO clients AS c (cmid, app_id, kms_id, sku_id, workstation, address,"
	" license_status, protocol, first_seen, last_seen, requests, last_result, last_count,"
	" stored_at, counted_seen)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1, $10, $11,"
	" extract(epoch FROM now())::bigint, CASE WHEN $10::bigint = 0 THEN $9::bigint END)"
	" ON CONFLICT (cmid, app_id) DO UPDATE SET kms_id = excluded.kms_id,"
	" sku_id = excluded.sku_id, workstation = excluded.workstation, address = excluded.address,"
	" license_status = excluded.license_status, protocol = excluded.protocol,"
	" last_seen = greatest(c.last_seen, excluded.last_seen), requests = c.requests + 1,"
	" last_result = excluded.last_result, last_count = excluded.last_count,"
	" stored_at = excluded.stored_at,"
	" counted_seen = CASE WHEN excluded.last_result = 0"
	" THEN greatest(c.counted_seen, excluded.counted_seen) ELSE c.counted_seen END";

void store_utf8_clean(char *dst, size_t cap, const char *src)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)src;
	while (*p && o + 1 < cap) {
		int n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 2
			: (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 4 : 0;
		bool ok = n > 0 && o + (size_t)n < cap;
		for (int i = 1; ok && i < n; i++)
			ok = (p[i] & 0xc0) == 0x80;
		/* overlong three-byte forms and UTF-16 surrogates are not UTF-8 */
		if (ok && n == 3)
			ok = !(p[0] == 0xe0 && p[1] < 0xa0) && !(p[0] == 0xed && p[1] >= 0xa0);
		if (ok && n == 4)
			ok = !(p[0] == 0xf0 && p[1] < 0x90) && !(p[0] == 0xf4 && p[1] >= 0x90);
		if (!ok) {
			dst[o++] = '?';
			p++;
			continue;
		}
		memcpy(dst + o, p, (size_t)n);
		o += (size_t)n;
		p += n;
	}
	dst[o] = '\0';
}

#define UPSERT_NAME "kmsd_upsert"

/* Queue one upsert on the connection (libpq copies the parameters). */
static bool send_one(pg_conn *pc, const store_record *r)
{
	char cmid[PG_GUID_TEXT], app[PG_GUID_TEXT], kms[PG_GUID_TEXT], sku[PG_GUID_TEXT];
	char workstation[sizeof r->workstation], address[sizeof r->address];
	char status[16], protocol[16], seen[24], result[16], count[16];
	pg_guid_param(&r->cmid, cmid);
	pg_guid_param(&r->app_id, app);
	pg_guid_param(&r->kms_id, kms);
	pg_guid_param(&r->sku_id, sku);
	store_utf8_clean(workstation, sizeof workstation, r->workstation);
	store_utf8_clean(address, sizeof address, r->address);
	snprintf(status, sizeof status, "%u", r->license_status);
	snprintf(protocol, sizeof protocol, "%u.%u", r->protocol_major, r->protocol_minor);
	snprintf(seen, sizeof seen, "%lld", (long long)r->time);
	snprintf(result, sizeof result, "%u", r->result);
	snprintf(count, sizeof count, "%u", r->count);
	const char *const params[] = { cmid, app, kms, sku, workstation, address, status,
				       protocol, seen, result, count };
	return PQsendQueryPrepared(pc->c, UPSERT_NAME, 11, params, NULL, NULL, 0) == 1;
}

/* The upsert is prepared once per connection: parsing and planning it for
 * every record cost the server more than running it, and the writer fell
 * behind a few thousand new clients a second. */
static bool prepare_upsert(pg_conn *pc, char *err, size_t err_len)
{
	if (pc->upsert_prepared)
		return true;
	PGresult *r = PQprepare(pc->c, UPSERT_NAME, upsert_sql, 11, NULL);
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		pg_note_failure(pc, r, err, err_len);
	PQclear(r);
	pc->upsert_prepared = ok;
	return ok;
}

/* Upserts travel in a pipeline, PIPE_CHUNK at a time: one round trip per
 * chunk rather than per record (a host answers thousands a second), and
 * chunks small enough that the server's answers never fill the socket
 * buffers while we are still sending. */
#define PIPE_CHUNK 256

static bool send_chunk(pg_conn *pc, const store_record *r, size_t n, char *err, size_t err_len)
{
	bool ok = true;
	for (size_t i = 0; ok && i < n; i++)
		ok = send_one(pc, &r[i]);
	if (!ok || PQpipelineSync(pc->c) != 1) {
		pg_note_failure(pc, NULL, err, err_len);
		pc->broken = true; /* results may be missing: start over */
		return false;
	}
	/* each query's results end with a NULL; then the sync's own result */
	size_t ends = 0;
	for (;;) {
		PGresult *res = PQgetResult(pc->c);
		if (!res) {
			if (++ends > n || PQstatus(pc->c) != CONNECTION_OK) {
				pc->broken = true; /* the sync never came */
				return false;
			}
			continue;
		}
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_FATAL_ERROR && ok) {
			pg_note_failure(pc, res, err, err_len);
			ok = false;
		}
		PQclear(res);
		if (st == PGRES_PIPELINE_SYNC)
			return ok;
	}
}

enum store_write pg_write_batch(void *db, const store_record *batch, size_t n, char *err,
				size_t err_len)
{
	pg_conn *pc = db;
	bool ok = prepare_upsert(pc, err, err_len) && pg_exec(pc, "BEGIN", err, err_len);
	if (ok && PQenterPipelineMode(pc->c) != 1) {
		pg_note_failure(pc, NULL, err, err_len);
		ok = false;
	}
	for (size_t i = 0; ok && i < n; i += PIPE_CHUNK)
		ok = send_chunk(pc, batch + i, n - i < PIPE_CHUNK ? n - i : PIPE_CHUNK, err, err_len);
	if (PQpipelineStatus(pc->c) != PQ_PIPELINE_OFF && PQexitPipelineMode(pc->c) != 1)
		pc->broken = true;
	if (ok)
		ok = pg_exec(pc, "COMMIT", err, err_len);
	else if (!pc->broken)
		PQclear(PQexec(pc->c, "ROLLBACK"));
	if (ok)
		return STORE_WRITTEN;
	/* data exceptions (22) and constraint violations (23) are a record's
	 * own; anything else (a full disk, a read-only server, a lock timeout,
	 * a serialization failure) passes */
	if (pc->broken)
		return STORE_LOST;
	return strncmp(pc->state, "22", 2) == 0 || strncmp(pc->state, "23", 2) == 0 ? STORE_REFUSED
										    : STORE_RETRY;
}
