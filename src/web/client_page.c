/* One client: /clients/{cmid} and /api/v1/clients/{cmid}. Every field the
 * store holds for the machine (one row per application it asked for) and
 * its recent requests from the activity log, with the full address. */
#include <stdio.h>

#include "kms/products.h"
#include "store/activity.h"
#include "web/web_private.h"

#define CLIENT_REQUESTS 50

typedef struct client_rows {
	store_client rows[KMS_N_POOLS + 1]; /* one per pool, and one unknown application */
	size_t n;
} client_rows;

static bool keep_row(void *ctx, const store_client *c)
{
	client_rows *cr = ctx;
	if (cr->n < sizeof cr->rows / sizeof cr->rows[0])
		cr->rows[cr->n++] = *c;
	return true;
}

typedef struct request_rows {
	store_activity rows[CLIENT_REQUESTS];
	size_t n;
} request_rows;

static bool keep_request(void *ctx, const store_activity *a)
{
	request_rows *rr = ctx;
	if (rr->n == CLIENT_REQUESTS)
		return false;
	rr->rows[rr->n++] = *a;
	return true;
}

/* One machine, as both its page and its JSON show it. */
typedef struct client_view {
	client_rows cr;
	request_rows rr;
	bool have_requests;             /* false: its requests could not be read */
	char id[GUID_TEXT_LEN];         /* the machine id, as text */
} client_view;

/* The rows and requests of one machine, or an error answer (400, 404, 503). */
static bool load(web *w, const web_request *r, const char *text, client_view *v,
		 web_reply *out)
{
	kms_guid cmid;
	v->cr.n = v->rr.n = 0;
	v->have_requests = false;
	if (!web_no_params(r, out))
		return false;
	if (!guid_parse(text, &cmid)) {
		web_json_error(out, 400, "cmid", "not a machine id (a GUID such as "
			       "3f2504e0-4f89-11d3-9a0c-0305e82c3301)");
		return false;
	}
	if (!web_store_or_503(w, out))
		return false;
	size_t found = 0;
	pthread_mutex_lock(&w->store_lock);
	bool ok = store_client_get(w->store, &cmid, keep_row, &v->cr, &found);
	v->have_requests = ok && store_activity_recent(w->store, &cmid, CLIENT_REQUESTS,
						       keep_request, &v->rr);
	char message[360];
	snprintf(message, sizeof message, "store query failed: %s", store_error(w->store));
	pthread_mutex_unlock(&w->store_lock);
	if (!ok) {
		web_json_error(out, 500, NULL, message);
		return false;
	}
	if (!found) {
		web_json_error(out, 404, "cmid", "no client with this machine id in the store");
		return false;
	}
	guid_format(&v->cr.rows[0].cmid, v->id);
	return true;
}

static const char *product_name(const kms_guid *sku_id, const kms_guid *kms_id)
{
	const kms_sku *sku = kms_sku_find(&kms_product_table, sku_id);
	const kms_group *g = kms_group_find(&kms_product_table, kms_id);
	return sku ? sku->name : g ? g->name : "unknown";
}

static void row_html(buf *b, const store_client *c)
{
	const kms_group *g = kms_group_find(&kms_product_table, &c->kms_id);
	size_t pool = web_pool_of(&c->app_id);
	char kms_id[GUID_TEXT_LEN], sku_id[GUID_TEXT_LEN], app_id[GUID_TEXT_LEN];
	guid_format(&c->kms_id, kms_id);
	guid_format(&c->sku_id, sku_id);
	guid_format(&c->app_id, app_id);
	buf_printf(b, "<section class=\"two\"><h2>%s</h2><table class=\"kv\">",
		   pool < KMS_N_POOLS ? kms_pools[pool].label : "Other application");
	buf_puts(b, "<tr><th>Product</th><td>");
	buf_html(b, product_name(&c->sku_id, &c->kms_id));
	buf_printf(b, " <code class=\"small\">%s</code></td></tr><tr><th>Product group</th><td>", sku_id);
	buf_html(b, g ? g->name : "unknown");
	buf_printf(b, " <code class=\"small\">%s</code></td></tr>", kms_id);
	buf_printf(b, "<tr><th>Application</th><td><code>%s</code></td></tr>", app_id);
	buf_puts(b, "<tr><th>Address</th><td>");
	buf_html(b, c->address);
	buf_printf(b, "</td></tr><tr><th>Protocol</th><td>%u.%u</td></tr><tr><th>License status</th>"
		   "<td>%u</td></tr><tr><th>Requests</th><td>%llu</td></tr><tr><th>First seen</th><td>",
		   c->protocol_major, c->protocol_minor, c->license_status,
		   (unsigned long long)c->requests);
	web_time_cell(b, c->first_seen);
	buf_puts(b, "</td></tr><tr><th>Last seen</th><td>");
	web_time_cell(b, c->last_seen);
	buf_puts(b, "</td></tr><tr><th>Last answer</th><td>");
	web_answer_text(b, c->last_result, c->last_count, g ? g->n_policy : 0);
	buf_puts(b, "</td></tr></table></section>\n");
}

static void requests_html(buf *b, const request_rows *rr, bool have)
{
	buf_puts(b, "<section class=\"wide\"><h2>Recent requests</h2>");
	if (!have) {
		buf_puts(b, "<p class=\"muted\">The store's activity log could not be read (a "
			 "database kmsd has not migrated yet, or see the kmsd log).</p></section>\n");
		return;
	}
	buf_puts(b, "<table class=\"stack\" id=\"requests\"><tr class=\"head\"><th>Time</th>"
		 "<th>Address</th><th>Product</th><th>Protocol</th><th>Answer</th></tr>");
	for (size_t i = 0; i < rr->n; i++) {
		const store_activity *a = &rr->rows[i];
		buf_puts(b, "<tr><td class=\"t\" data-label=\"Time\">");
		web_time_cell(b, a->time);
		buf_puts(b, "</td><td data-label=\"Address\">");
		buf_html(b, a->address);
		buf_puts(b, "</td><td data-label=\"Product\">");
		buf_html(b, product_name(&a->sku_id, &a->kms_id));
		buf_printf(b, "</td><td data-label=\"Protocol\">%u.%u</td><td data-label=\"Answer\">",
			   a->protocol_major, a->protocol_minor);
		web_answer_text(b, a->result, a->count, web_n_policy(&a->kms_id));
		buf_puts(b, "</td></tr>");
	}
	web_empty_row(b, rr->n, 5, "none kept");
	buf_puts(b, "</table></section>\n");
}

void web_client_page(web *w, const web_request *r, const char *cmid, web_reply *out)
{
	client_view v;
	if (!load(w, r, cmid, &v, out))
		return;
	buf *b = &out->body;
	out->content_type = "text/html; charset=utf-8";
	const char *name = v.cr.rows[0].workstation;
	web_page_begin(b, w, name[0] ? name : v.id, "clients", 30);
	buf_puts(b, "<section class=\"wide\"><h2 class=\"long\" id=\"workstation\">");
	buf_html(b, name[0] ? name : "(no name)");
	buf_printf(b, "</h2><p>Machine id <code id=\"cmid\">%s</code> &middot; <a href=\"/clients\">"
		   "all clients</a> &middot; <a href=\"/api/v1/clients/%s\">as JSON</a></p></section>\n",
		   v.id, v.id);
	for (size_t i = 0; i < v.cr.n; i++)
		row_html(b, &v.cr.rows[i]);
	requests_html(b, &v.rr, v.have_requests);
	web_page_end(b);
}

static void request_json(buf *b, const store_activity *a, bool first)
{
	const kms_group *g = kms_group_find(&kms_product_table, &a->kms_id);
	char t[32], kms_id[GUID_TEXT_LEN], sku_id[GUID_TEXT_LEN];
	web_format_time(a->time, t);
	guid_format(&a->kms_id, kms_id);
	guid_format(&a->sku_id, sku_id);
	size_t pool = web_pool_of(&a->app_id);
	enum metrics_result k = web_answer_kind(a->result, a->count, g ? g->n_policy : 0);
	buf_printf(b, "%s{\"time\": \"%s\", \"address\": ", first ? "\n    " : ",\n    ", t);
	buf_json_string(b, a->address);
	buf_printf(b, ", \"pool\": \"%s\", \"kms_id\": \"%s\", \"product_group\": ",
		   web_pool_key(pool), kms_id);
	buf_json_string(b, g ? g->name : "unknown");
	buf_printf(b, ", \"sku_id\": \"%s\", \"product\": ", sku_id);
	buf_json_string(b, product_name(&a->sku_id, &a->kms_id));
	buf_printf(b, ", \"protocol\": \"%u.%u\", \"license_status\": %u, \"result\": \"0x%08X\", "
		   "\"count\": %u, \"answer\": \"%s\"}", a->protocol_major, a->protocol_minor,
		   a->license_status, a->result, a->count, metrics_result_names[k]);
}

void web_api_client(web *w, const web_request *r, const char *cmid, web_reply *out)
{
	client_view v;
	if (!load(w, r, cmid, &v, out))
		return;
	buf *b = &out->body;
	buf_printf(b, "{\"cmid\": \"%s\", \"workstation\": ", v.id);
	buf_json_string(b, v.cr.rows[0].workstation);
	buf_puts(b, ", \"entries\": [");
	for (size_t i = 0; i < v.cr.n; i++)
		web_client_json(b, &v.cr.rows[i]);
	buf_puts(b, "\n], \"requests\": ");
	if (!v.have_requests) {
		buf_puts(b, "null}\n");
		return;
	}
	buf_puts(b, "[");
	for (size_t i = 0; i < v.rr.n; i++)
		request_json(b, &v.rr.rows[i], i == 0);
	buf_puts(b, v.rr.n ? "\n]}\n" : "]}\n");
}
