/* The PostgreSQL backend's writes: a batch in one transaction, with text
 * made valid UTF-8 first, which PostgreSQL insists on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/client_updates.h"
#include "store/pg_private.h"

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

/* A batch is two statements whatever its size: every request into the
 * activity log, and one upsert of each client it holds, its rows passed
 * as arrays (unnest). One statement per record, even prepared and
 * pipelined, cost the server a round of executor start-up per record, and
 * a loaded host dropped records at 1M rows. */
static const char activity_sql[] =
	"INSERT INTO activity (time, cmid, app_id, kms_id, sku_id, workstation, address,"
	" license_status, protocol, result, count)"
	" SELECT u.t, decode(u.c, 'hex'), decode(u.a, 'hex'), decode(u.k, 'hex'), decode(u.s, 'hex'),"
	" u.w, u.ad, u.st, u.p, u.r, u.n FROM unnest($1::bigint[], $2::text[], $3::text[],"
	" $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::bigint[],"
	" $11::bigint[]) AS u(t, c, a, k, s, w, ad, st, p, r, n)";

/* One row per client of the batch (an upsert may not touch a row twice),
 * merged as the records one after another would have left it; greatest()
 * skips NULL, the counted_seen of a client none of whose requests was
 * answered. */
static const char clients_sql[] =
	"INSERT INTO clients AS c (cmid, app_id, kms_id, sku_id, workstation, address,"
	" license_status, protocol, first_seen, last_seen, requests, last_result, last_count,"
	" stored_at, counted_seen)"
	" SELECT decode(u.c, 'hex'), decode(u.a, 'hex'), decode(u.k, 'hex'), decode(u.s, 'hex'),"
	" u.w, u.ad, u.st, u.p, u.f, u.l, u.n, u.r, u.cnt, extract(epoch FROM now())::bigint, u.cs"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
	" $7::bigint[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[],"
	" $13::bigint[], $14::bigint[]) AS u(c, a, k, s, w, ad, st, p, f, l, n, r, cnt, cs)"
	" ON CONFLICT (cmid, app_id) DO UPDATE SET kms_id = excluded.kms_id,"
	" sku_id = excluded.sku_id, workstation = excluded.workstation, address = excluded.address,"
	" license_status = excluded.license_status, protocol = excluded.protocol,"
	" last_seen = greatest(c.last_seen, excluded.last_seen),"
	" requests = c.requests + excluded.requests, last_result = excluded.last_result,"
	" last_count = excluded.last_count, stored_at = excluded.stored_at,"
	" counted_seen = greatest(c.counted_seen, excluded.counted_seen)";

#define ACTIVITY_NAME "kmsd_activity"
#define CLIENTS_NAME "kmsd_clients"
#define ACTIVITY_COLS 11
#define CLIENTS_COLS 14

/* The batch's statements are prepared once per connection: parsing and
 * planning them per batch would be wasted work. */
static bool prepare_batch(pg_conn *pc, char *err, size_t err_len)
{
	if (pc->upsert_prepared)
		return true;
	PGresult *r = PQprepare(pc->c, ACTIVITY_NAME, activity_sql, ACTIVITY_COLS, NULL);
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(ok ? r : NULL);
	if (ok) {
		r = PQprepare(pc->c, CLIENTS_NAME, clients_sql, CLIENTS_COLS, NULL);
		ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	}
	if (!ok)
		pg_note_failure(pc, r, err, err_len);
	PQclear(r);
	pc->upsert_prepared = ok;
	return ok;
}

/* One column of the batch as a PostgreSQL array literal. */
typedef struct column {
	char *text;
	size_t len, cap;
	bool failed;
} column;

static void put(column *c, const char *bytes, size_t n)
{
	if (c->failed)
		return;
	if (c->len + n + 2 > c->cap) {
		size_t cap = (c->len + n + 2) * 2;
		char *t = realloc(c->text, cap < 4096 ? 4096 : cap);
		if (!t) {
			c->failed = true;
			return;
		}
		c->text = t;
		c->cap = cap < 4096 ? 4096 : cap;
	}
	memcpy(c->text + c->len, bytes, n);
	c->len += n;
	c->text[c->len] = '\0';
}

static void put_sep(column *c)
{
	put(c, c->len ? "," : "{", 1);
}

/* An element as is: numbers, hex, NULL. */
static void put_plain(column *c, const char *v)
{
	put_sep(c);
	put(c, v, strlen(v));
}

static void put_int(column *c, long long v)
{
	char t[24];
	snprintf(t, sizeof t, "%lld", v);
	put_plain(c, t);
}

static void put_guid(column *c, const kms_guid *g)
{
	char t[PG_GUID_TEXT];
	pg_guid_param(g, t);
	put_plain(c, t + 2); /* hex, without "\x": decode(..., 'hex') in the SQL */
}

/* Text, quoted, with " and \ escaped, made valid UTF-8 first. */
static void put_text(column *c, const char *v, size_t cap)
{
	char clean[256];
	store_utf8_clean(clean, cap < sizeof clean ? cap : sizeof clean, v);
	put_sep(c);
	put(c, "\"", 1);
	for (const char *p = clean; *p; p++) {
		if (*p == '"' || *p == '\\')
			put(c, "\\", 1);
		put(c, p, 1);
	}
	put(c, "\"", 1);
}

static void put_protocol(column *c, const store_record *r)
{
	char t[16];
	snprintf(t, sizeof t, "%u.%u", r->protocol_major, r->protocol_minor);
	put_plain(c, t);
}

static bool columns_end(column *cols, int n)
{
	bool ok = true;
	for (int i = 0; i < n; i++) {
		put(&cols[i], cols[i].len ? "}" : "{}", cols[i].len ? 1 : 2);
		ok = ok && !cols[i].failed;
	}
	return ok;
}

static void columns_free(column *cols, int n)
{
	for (int i = 0; i < n; i++)
		free(cols[i].text);
}

static void activity_columns(const store_record *batch, size_t n, column *cols)
{
	for (size_t i = 0; i < n; i++) {
		const store_record *r = &batch[i];
		put_int(&cols[0], (long long)r->time);
		put_guid(&cols[1], &r->cmid);
		put_guid(&cols[2], &r->app_id);
		put_guid(&cols[3], &r->kms_id);
		put_guid(&cols[4], &r->sku_id);
		put_text(&cols[5], r->workstation, sizeof r->workstation);
		put_text(&cols[6], r->address, sizeof r->address);
		put_int(&cols[7], r->license_status);
		put_protocol(&cols[8], r);
		put_int(&cols[9], r->result);
		put_int(&cols[10], r->count);
	}
}

/* Clients by key: two hosts upserting the same clients then lock them in
 * the same order. */
static int by_key(const void *a, const void *b)
{
	const store_record *x = ((const client_update *)a)->last;
	const store_record *y = ((const client_update *)b)->last;
	int c = guid_cmp(&x->cmid, &y->cmid);
	return c ? c : guid_cmp(&x->app_id, &y->app_id);
}

/* The clients of the batch in key order, each folded from its records
 * (client_updates.h): the last one's values, its first time as first_seen,
 * the latest time, how many requests, the latest answered time
 * (counted_seen). */
static bool client_columns(const store_record *batch, size_t n, column *cols)
{
	client_updates u;
	if (!client_updates_init(&u, n))
		return false;
	size_t rows = client_updates_fold(&u, batch, n);
	qsort(u.updates, rows, sizeof *u.updates, by_key);
	for (size_t i = 0; i < rows; i++) {
		const client_update *c = &u.updates[i];
		const store_record *last = c->last;
		put_guid(&cols[0], &last->cmid);
		put_guid(&cols[1], &last->app_id);
		put_guid(&cols[2], &last->kms_id);
		put_guid(&cols[3], &last->sku_id);
		put_text(&cols[4], last->workstation, sizeof last->workstation);
		put_text(&cols[5], last->address, sizeof last->address);
		put_int(&cols[6], last->license_status);
		put_protocol(&cols[7], last);
		put_int(&cols[8], (long long)c->first_time);
		put_int(&cols[9], (long long)c->last_time);
		put_int(&cols[10], (long long)c->requests);
		put_int(&cols[11], last->result);
		put_int(&cols[12], last->count);
		if (c->counted_time < 0)
			put_plain(&cols[13], "NULL");
		else
			put_int(&cols[13], (long long)c->counted_time);
	}
	client_updates_free(&u);
	return true;
}

static bool run_columns(pg_conn *pc, const char *name, column *cols, int n_cols, char *err,
			size_t err_len)
{
	const char *params[CLIENTS_COLS];
	for (int i = 0; i < n_cols; i++)
		params[i] = cols[i].text;
	PGresult *r = PQexecPrepared(pc->c, name, n_cols, params, NULL, NULL, 0);
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		pg_note_failure(pc, r, err, err_len);
	PQclear(r);
	return ok;
}

enum store_write pg_write_batch(void *db, const store_record *batch, size_t n, char *err,
				size_t err_len)
{
	pg_conn *pc = db;
	column act[ACTIVITY_COLS] = { 0 }, cli[CLIENTS_COLS] = { 0 };
	activity_columns(batch, n, act);
	bool built = client_columns(batch, n, cli) && columns_end(act, ACTIVITY_COLS) &&
		     columns_end(cli, CLIENTS_COLS);
	bool ok = built && prepare_batch(pc, err, err_len) && pg_exec(pc, "BEGIN", err, err_len);
	bool begun = ok;
	ok = ok && run_columns(pc, ACTIVITY_NAME, act, ACTIVITY_COLS, err, err_len) &&
	     run_columns(pc, CLIENTS_NAME, cli, CLIENTS_COLS, err, err_len) &&
	     pg_exec(pc, "COMMIT", err, err_len);
	columns_free(act, ACTIVITY_COLS);
	columns_free(cli, CLIENTS_COLS);
	if (ok)
		return STORE_WRITTEN;
	if (!built) {
		snprintf(err, err_len, "out of memory");
		return STORE_RETRY;
	}
	if (begun && !pc->broken)
		PQclear(PQexec(pc->c, "ROLLBACK"));
	/* data exceptions (22) and constraint violations (23) are a record's
	 * own; anything else (a full disk, a read-only server, a lock timeout,
	 * a serialization failure) passes */
	if (pc->broken)
		return STORE_LOST;
	return strncmp(pc->state, "22", 2) == 0 || strncmp(pc->state, "23", 2) == 0 ? STORE_REFUSED
										    : STORE_RETRY;
}
