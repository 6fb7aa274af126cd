/* /clients.csv: the clients page's filter as a spreadsheet, every matching
 * row (up to CSV_MAX), RFC 4180 quoting. A field that a spreadsheet would
 * run as a formula (=, +, -, @ first) gets a leading apostrophe: names
 * and addresses come from the clients. */
#include <stdio.h>

#include "kms/products.h"
#include "web/web_private.h"

#define CSV_MAX 100000

void web_csv_field(buf *b, const char *v, bool last)
{
	bool formula = v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' ||
		       v[0] == '\r';
	if (formula || strpbrk(v, ",\"\r\n")) {
		buf_puts(b, formula ? "\"'" : "\"");
		for (const char *c = v; *c; c++)
			buf_add(b, *c == '"' ? "\"\"" : c, *c == '"' ? 2 : 1);
		buf_puts(b, "\"");
	} else {
		buf_puts(b, v);
	}
	buf_puts(b, last ? "\r\n" : ",");
}

static bool csv_row(void *ctx, const store_client *c)
{
	buf *b = ctx;
	const kms_products *t = &kms_product_table;
	const kms_sku *sku = kms_sku_find(t, &c->sku_id);
	const kms_group *g = kms_group_find(t, &c->kms_id);
	size_t pool = web_pool_of(&c->app_id);
	char cmid[GUID_TEXT_LEN], host[64], first[32], last[32], text[32];
	guid_format(&c->cmid, cmid);
	web_address_host(c->address, host);
	web_format_time(c->first_seen, first);
	web_format_time(c->last_seen, last);
	web_csv_field(b, cmid, false);
	web_csv_field(b, c->workstation, false);
	web_csv_field(b, host, false);
	web_csv_field(b, web_pool_key(pool), false);
	web_csv_field(b, g ? g->name : "unknown", false);
	web_csv_field(b, sku ? sku->name : "unknown", false);
	snprintf(text, sizeof text, "%u.%u", c->protocol_major, c->protocol_minor);
	web_csv_field(b, text, false);
	web_csv_field(b, first, false);
	web_csv_field(b, last, false);
	snprintf(text, sizeof text, "%llu", (unsigned long long)c->requests);
	web_csv_field(b, text, false);
	web_csv_field(b, metrics_result_names[web_answer_kind(c->last_result, c->last_count,
								g ? g->n_policy : 0)], false);
	snprintf(text, sizeof text, "0x%08X", c->last_result);
	web_csv_field(b, text, false);
	snprintf(text, sizeof text, "%u", c->last_count);
	web_csv_field(b, text, true);
	return !buf_failed(b);
}

void web_clients_csv(web *w, const web_request *r, web_reply *out)
{
	web_clients_params p;
	if (!web_read_clients_params(r, &p, out))
		return;
	if (!web_store_or_503(w, out))
		return;
	/* the whole filter, not the page on screen */
	store_query q = web_store_query(&p);
	q.limit = CSV_MAX;
	q.offset = 0;
	buf *b = &out->body;
	buf_puts(b, "cmid,workstation,address,pool,product_group,product,protocol,first_seen,"
		 "last_seen,requests,answer,last_result,last_count\r\n");
	pthread_mutex_lock(&w->store_lock);
	bool ok = store_clients(w->store, &q, csv_row, b, NULL);
	char message[360];
	snprintf(message, sizeof message, "store query failed: %s", store_error(w->store));
	pthread_mutex_unlock(&w->store_lock);
	if (!ok) {
		web_json_error(out, 500, NULL, message);
		return;
	}
	out->content_type = "text/csv; charset=utf-8";
	out->disposition = "attachment; filename=\"kmsd-clients.csv\"";
}
