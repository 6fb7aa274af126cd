/* The JSON API under /api/v1/: stable field names, documented in docs/api.md.
 * Times are ISO 8601 UTC strings, GUIDs lower-case text, HRESULTs
 * "0xC004F042" strings. */
#include <stdio.h>
#include <string.h>

#include "kms/match.h"
#include "kms/products.h"
#include "web/web_private.h"

static void json_key(buf *b, const char *key)
{
	buf_json_string(b, key);
	buf_puts(b, ": ");
}

static void json_guid(buf *b, const char *key, const kms_guid *g)
{
	char text[GUID_TEXT_LEN];
	guid_format(g, text);
	json_key(b, key);
	buf_json_string(b, text);
}

static void json_time(buf *b, const char *key, int64_t t)
{
	char text[32];
	web_format_time(t, text);
	json_key(b, key);
	buf_json_string(b, text);
}

static const char *group_name(const kms_guid *kms_id)
{
	const kms_group *g = kms_group_find(&kms_product_table, kms_id);
	return g ? g->name : "unknown";
}

void web_api_status(web *w, const web_request *r, web_reply *out)
{
	web_identity id;
	if (!web_identity_request(w, r, out, &id))
		return;
	const metrics *m = w->srv->metrics;
	buf *b = &out->body;
	buf_puts(b, "{");
	json_key(b, "version");
	buf_json_string(b, id.version);
	buf_puts(b, ", ");
	json_time(b, "started", m->started);
	buf_printf(b, ", \"uptime_seconds\": %lld, ", (long long)(r->now - m->started));
	json_time(b, "now", r->now);
	buf_printf(b, ", \"count_mode\": \"%s\", \"count_window_days\": %lld",
		   id.count_real ? "real" : "always", (long long)(id.count_window / 86400));
	buf_printf(b, ", \"activation_interval_minutes\": %u, \"renewal_interval_minutes\": %u",
		   id.activation_interval, id.renewal_interval);
	buf_puts(b, ", \"hwid\": \"");
	for (int i = 0; i < 8; i++)
		buf_printf(b, "%02X", id.hwid[i]);
	buf_printf(b, "\", \"lcid\": %u, \"host_build\": %u, \"epids\": {", id.lcid, id.host_build);
	for (size_t i = 0; i < KMS_N_POOLS; i++) {
		buf_puts(b, i ? ", " : "");
		json_key(b, kms_pools[i].word);
		buf_json_string(b, id.epids[i]);
	}
	buf_puts(b, "}, \"epids_by_group\": [");
	const kms_products *pt = &kms_product_table;
	for (size_t g = 0, n = 0; g < id.n_groups; g++) {
		const kms_group *grp = &pt->groups[g];
		if (grp->retail || !id.group_epids[g][0])
			continue;
		size_t pool = web_pool_of(&pt->apps[grp->app].id);
		buf_puts(b, n++ ? ",\n  {" : "\n  {");
		json_guid(b, "kms_id", &grp->id);
		buf_puts(b, ", \"product_group\": ");
		buf_json_string(b, grp->name);
		buf_printf(b, ", \"pool\": \"%s\", \"epid\": ", web_pool_key(pool));
		buf_json_string(b, id.group_epids[g]);
		buf_puts(b, "}");
	}
	buf_puts(b, "], \"listen\": [");
	for (size_t i = 0; i < id.n_listen; i++) {
		buf_puts(b, i ? ", " : "");
		buf_json_string(b, id.listen[i]);
	}
	buf_puts(b, "], \"web_listen\": [");
	for (size_t i = 0; i < id.n_web_listen; i++) {
		buf_puts(b, i ? ", " : "");
		buf_json_string(b, id.web_listen[i]);
	}
	buf_puts(b, "], \"pools\": [");
	for (size_t i = 0; i < KMS_N_POOLS; i++) {
		unsigned th[8];
		size_t n = web_pool_thresholds(i, th, 8);
		uint32_t clients = web_pool_clients(w, i, r->now);
		buf_printf(b, "%s{\"pool\": \"%s\", \"name\": \"%s\", \"app_id\": \"%s\", "
			   "\"clients\": %u, \"thresholds\": [", i ? ", " : "", kms_pools[i].word,
			   kms_pools[i].label, kms_pools[i].id, clients);
		for (size_t t = 0; t < n; t++)
			buf_printf(b, "%s{\"n_policy\": %u, \"reached\": %s}", t ? ", " : "", th[t],
				   clients >= th[t] || !id.count_real ? "true" : "false");
		buf_puts(b, "]}");
	}
	buf_printf(b, "], \"connections_open\": %d, \"store\": {\"backend\": ",
		   atomic_load(&w->srv->n_connections));
	buf_json_string(b, id.store_backend);
	if (w->srv->store) {
		store_writer_stats ws;
		store_writer_stats_get(w->srv->store, &ws);
		buf_printf(b, ", \"queue_depth\": %zu, \"written\": %llu, \"dropped\": %llu, "
			   "\"errors\": %llu, \"last_batch_ms\": %.3f", ws.queue_depth,
			   (unsigned long long)ws.written, (unsigned long long)ws.dropped,
			   (unsigned long long)ws.errors, ws.last_batch_ms);
	}
	buf_puts(b, "}}\n");
}

/* ---- clients ---- */

typedef struct clients_walk {
	web_clients_params *p;
	int64_t now;
	web_param_error err;
} clients_walk;

static bool clients_param(void *ctx, const char *name, const char *value)
{
	clients_walk *cw = ctx;
	return web_clients_param(cw->p, name, value, cw->now, &cw->err);
}

bool web_read_clients_params(const web_request *r, web_clients_params *p, web_reply *out)
{
	web_clients_params_init(p);
	clients_walk cw = { p, r->now, { "", "" } };
	if (!r->each_param(r, clients_param, &cw)) {
		web_json_error(out, 400, cw.err.parameter, cw.err.message);
		return false;
	}
	web_clients_params_finish(p);
	return true;
}

/* The page being written, and its last row (the next page's cursor). */
typedef struct client_rows {
	buf b;
	size_t n;
	store_cursor last;
} client_rows;

static bool client_json(void *ctx, const store_client *c)
{
	client_rows *rows = ctx;
	rows->n++;
	store_cursor_of(c, &rows->last);
	return web_client_json(&rows->b, c);
}

bool web_client_json(void *ctx, const store_client *c)
{
	buf *b = ctx;
	size_t pool = web_pool_of(&c->app_id);
	const kms_sku *sku = kms_sku_find(&kms_product_table, &c->sku_id);
	buf_puts(b, b->data[b->len - 1] == '[' ? "\n  {" : ",\n  {");
	json_guid(b, "cmid", &c->cmid);
	buf_puts(b, ", \"workstation\": ");
	buf_json_string(b, c->workstation);
	buf_puts(b, ", \"address\": ");
	buf_json_string(b, c->address);
	buf_printf(b, ", \"pool\": \"%s\", ", web_pool_key(pool));
	json_guid(b, "app_id", &c->app_id);
	buf_puts(b, ", ");
	json_guid(b, "kms_id", &c->kms_id);
	buf_puts(b, ", \"product_group\": ");
	buf_json_string(b, group_name(&c->kms_id));
	buf_puts(b, ", ");
	json_guid(b, "sku_id", &c->sku_id);
	buf_puts(b, ", \"product\": ");
	buf_json_string(b, sku ? sku->name : "unknown");
	buf_printf(b, ", \"license_status\": %u, \"protocol\": \"%u.%u\", ", c->license_status,
		   c->protocol_major, c->protocol_minor);
	json_time(b, "first_seen", c->first_seen);
	buf_puts(b, ", ");
	json_time(b, "last_seen", c->last_seen);
	buf_printf(b, ", \"requests\": %llu, \"last_result\": \"0x%08X\", \"last_count\": %u}",
		   (unsigned long long)c->requests, c->last_result, c->last_count);
	return !buf_failed(b);
}

void web_api_clients(web *w, const web_request *r, web_reply *out)
{
	web_clients_params p;
	if (!web_read_clients_params(r, &p, out))
		return;
	if (!web_store_or_503(w, out))
		return;
	if (p.has_cursor && strcmp(p.cursor_sort, p.sort) != 0) {
		char message[120];
		snprintf(message, sizeof message, "the cursor is for sort=%s", p.cursor_sort);
		web_json_error(out, 400, "cursor", message);
		return;
	}
	store_query q = web_store_query(&p);
	client_rows rows = { .n = 0 };
	buf_init(&rows.b);
	buf_puts(&rows.b, "[");
	size_t total = 0;
	pthread_mutex_lock(&w->store_lock);
	bool ok = store_clients(w->store, &q, client_json, &rows, &total);
	if (!ok) {
		char message[300];
		snprintf(message, sizeof message, "store query failed: %s%s", store_error(w->store),
			 store_timed_out(w->store) ? "; narrow it with since=, product= or search="
						   : "");
		bool busy = store_timed_out(w->store);
		pthread_mutex_unlock(&w->store_lock);
		buf_free(&rows.b);
		web_json_error(out, busy ? 503 : 500, NULL, message);
		return;
	}
	pthread_mutex_unlock(&w->store_lock);
	buf_printf(&out->body, "{\"total\": %zu, \"total_estimated\": %s, \"offset\": %zu, "
		   "\"limit\": %zu, \"sort\": \"%s\", \"next_cursor\": ", total,
		   total >= q.count_max ? "true" : "false", p.offset, p.limit, p.sort);
	if (rows.n == p.limit) {
		char cursor[WEB_CURSOR_MAX];
		web_cursor_format(p.sort, &rows.last, cursor, sizeof cursor);
		buf_printf(&out->body, "\"%s\"", cursor);
	} else {
		buf_puts(&out->body, "null");
	}
	buf_puts(&out->body, ", \"clients\": ");
	buf_add(&out->body, rows.b.data, rows.b.len);
	buf_puts(&out->body, rows.b.len > 1 ? "\n]}\n" : "]}\n");
	if (buf_failed(&rows.b))
		out->body.failed = true;
	buf_free(&rows.b);
}

/* ---- products ---- */

typedef struct products_walk {
	const char *filter;
	char bad[64];
} products_walk;

static bool products_param(void *ctx, const char *name, const char *value)
{
	products_walk *pw = ctx;
	if (strcmp(name, "filter") == 0 && strlen(value) <= 64) {
		pw->filter = value;
		return true;
	}
	snprintf(pw->bad, sizeof pw->bad, "%s", name);
	return false;
}

void web_api_products(web *w, const web_request *r, web_reply *out)
{
	products_walk pw = { NULL, "" };
	if (!r->each_param(r, products_param, &pw)) {
		web_json_error(out, 400, pw.bad, strcmp(pw.bad, "filter") == 0
			       ? "filter longer than 64 characters"
			       : "unknown parameter (expected filter)");
		return;
	}
	const kms_products *t = &kms_product_table;
	buf *b = &out->body;
	buf_puts(b, "{\"products\": [");
	size_t shown = 0;
	for (size_t i = 0; i < t->n_skus; i++) {
		const kms_sku *s = &t->skus[i];
		const kms_group *g = &t->groups[s->group];
		if (pw.filter && *pw.filter && !kms_sku_listed(t, s, pw.filter))
			continue;
		size_t pool = web_pool_of(&t->apps[g->app].id);
		buf_puts(b, shown++ ? ",\n  {" : "\n  {");
		buf_printf(b, "\"number\": %zu, \"name\": ", i + 1);
		buf_json_string(b, s->name);
		buf_puts(b, ", ");
		json_guid(b, "sku_id", &s->id);
		buf_puts(b, ", \"product_group\": ");
		buf_json_string(b, g->name);
		buf_puts(b, ", ");
		json_guid(b, "kms_id", &g->id);
		buf_printf(b, ", \"pool\": \"%s\", \"n_policy\": %u, \"protocol\": %u, \"gvlk\": ",
			   web_pool_key(pool), g->n_policy, g->protocol);
		if (s->gvlk)
			buf_json_string(b, s->gvlk);
		else
			buf_puts(b, "null");
		uint64_t k[RESULT_KINDS];
		metrics_group_results(w->srv->metrics, metrics_group_slot((uint16_t)s->group), k);
		buf_printf(b, ", \"group_activations\": %llu}",
			   (unsigned long long)k[RESULT_ACTIVATED] + k[RESULT_BELOW_THRESHOLD]);
	}
	buf_printf(b, "%s], \"count\": %zu}\n", shown ? "\n" : "", shown);
}

/* ---- stats ---- */

typedef struct stats_walk {
	int minutes;
	char bad[64];
	const char *why;
} stats_walk;

static bool stats_param(void *ctx, const char *name, const char *value)
{
	stats_walk *sw = ctx;
	snprintf(sw->bad, sizeof sw->bad, "%s", name);
	if (strcmp(name, "minutes") != 0) {
		sw->why = "unknown parameter (expected minutes)";
		return false;
	}
	if (!web_parse_minutes(value, &sw->minutes)) {
		sw->why = "minutes must be a number from 1 to 1440";
		return false;
	}
	return true;
}

typedef struct group_rows {
	buf *b;
	size_t n;
} group_rows;

static bool group_stat_json(void *ctx, const store_group_stat *st)
{
	group_rows *gr = ctx;
	size_t pool = web_pool_of(&st->app_id);
	buf_puts(gr->b, gr->n++ ? ", {" : "{");
	json_guid(gr->b, "kms_id", &st->kms_id);
	buf_puts(gr->b, ", \"product_group\": ");
	buf_json_string(gr->b, group_name(&st->kms_id));
	buf_printf(gr->b, ", \"pool\": \"%s\", \"clients\": %llu, ",
		   web_pool_key(pool), (unsigned long long)st->clients);
	json_time(gr->b, "last_seen", st->last_seen);
	buf_puts(gr->b, "}");
	return true;
}

void web_api_stats(web *w, const web_request *r, web_reply *out)
{
	stats_walk sw = { 60, "", NULL };
	if (!r->each_param(r, stats_param, &sw)) {
		web_json_error(out, 400, sw.bad, sw.why);
		return;
	}
	metrics *m = w->srv->metrics;
	const kms_products *t = &kms_product_table;
	buf *b = &out->body;
	uint64_t totals[RESULT_KINDS] = { 0 };
	buf_puts(b, "{\"by_product\": [");
	size_t shown = 0;
	for (size_t slot = 0; slot <= METRICS_GROUPS; slot++) {
		uint64_t kinds[RESULT_KINDS], versions[METRICS_VERSIONS] = { 0 }, all = 0;
		for (size_t k = 0; k < RESULT_KINDS; k++) {
			kinds[k] = 0;
			for (size_t v = 0; v < METRICS_VERSIONS; v++) {
				uint64_t n = atomic_load_explicit(&m->activations[slot][v][k],
								  memory_order_relaxed);
				kinds[k] += n;
				versions[v] += n;
			}
			totals[k] += kinds[k];
			all += kinds[k];
		}
		if (!all)
			continue;
		bool known = slot < t->n_groups;
		buf_puts(b, shown++ ? ",\n  {" : "\n  {");
		buf_puts(b, "\"product_group\": ");
		buf_json_string(b, known ? t->groups[slot].name : "unknown");
		if (known) {
			buf_puts(b, ", ");
			json_guid(b, "kms_id", &t->groups[slot].id);
		}
		for (size_t k = 0; k < RESULT_KINDS; k++)
			buf_printf(b, ", \"%s\": %llu", metrics_result_names[k],
				   (unsigned long long)kinds[k]);
		buf_printf(b, ", \"by_version\": {\"4\": %llu, \"5\": %llu, \"6\": %llu, \"other\": %llu}}",
			   (unsigned long long)versions[0], (unsigned long long)versions[1],
			   (unsigned long long)versions[2], (unsigned long long)versions[3]);
	}
	buf_puts(b, shown ? "\n], \"totals\": {" : "], \"totals\": {");
	for (size_t k = 0; k < RESULT_KINDS; k++)
		buf_printf(b, "%s\"%s\": %llu", k ? ", " : "", metrics_result_names[k],
			   (unsigned long long)totals[k]);
	buf_puts(b, "}, \"refusals\": [");
	for (size_t i = 0, n = 0; i < METRICS_HRESULTS; i++) {
		unsigned code = atomic_load(&m->hresult_codes[i]);
		if (code)
			buf_printf(b, "%s{\"hresult\": \"0x%08X\", \"count\": %llu}", n++ ? ", " : "",
				   code, (unsigned long long)atomic_load(&m->hresult_counts[i]));
	}
	buf_puts(b, "], \"rejected_pdus\": {");
	for (size_t k = 0; k < REJECT_KINDS; k++)
		buf_printf(b, "%s\"%s\": %llu", k ? ", " : "", metrics_reject_names[k],
			   (unsigned long long)atomic_load(&m->rejects[k]));
	buf_puts(b, "}, \"connections\": {");
	for (size_t k = 0; k < CONN_EVENT_KINDS; k++)
		buf_printf(b, "%s\"%s\": %llu", k ? ", " : "", metrics_conn_event_names[k],
			   (unsigned long long)atomic_load(&m->conn_events[k]));
	buf_printf(b, "}, \"per_minute\": {\"minutes\": %d, \"start\": ", sw.minutes);
	int64_t last = r->now / 60;
	char start[32];
	web_format_time((last - sw.minutes + 1) * 60, start);
	buf_json_string(b, start);
	buf_puts(b, ", \"activations\": [");
	for (int64_t mi = last - sw.minutes + 1; mi <= last; mi++)
		buf_printf(b, "%s%llu", mi == last - sw.minutes + 1 ? "" : ", ",
			   (unsigned long long)metrics_minute(m, mi));
	buf_puts(b, "]}, \"clients_by_product\": ");
	if (w->store) {
		web_identity id;
		web_identity_copy(w, &id);
		group_rows gr = { b, 0 };
		buf_puts(b, "[");
		pthread_mutex_lock(&w->store_lock);
		store_group_stats(w->store, r->now - id.count_window, group_stat_json, &gr);
		pthread_mutex_unlock(&w->store_lock);
		buf_puts(b, "]");
	} else {
		buf_puts(b, "null");
	}
	buf_puts(b, "}\n");
}
