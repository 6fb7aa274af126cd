/* /api/v1/activity: what the dashboard's charts, totals, products and
 * recent activations show, as JSON (from the store's activity log when it
 * keeps one, so it is the same after a restart). */
#include <stdio.h>

#include "kms/products.h"
#include "web/web_private.h"

static void counts(buf *b, const char *key, int64_t start, const uint64_t *v, size_t n)
{
	char t[32];
	web_format_time(start, t);
	buf_printf(b, ", \"%s\": {\"start\": \"%s\", \"counts\": [", key, t);
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s%llu", i ? ", " : "", (unsigned long long)v[i]);
	buf_puts(b, "]}");
}

static void recent_json(buf *b, const metrics_activation *a, bool first)
{
	const kms_products *t = &kms_product_table;
	char when[32];
	web_format_time(a->time, when);
	buf_printf(b, "%s{\"time\": \"%s\", \"address\": ", first ? "\n  " : ",\n  ", when);
	buf_json_string(b, a->address);
	buf_puts(b, ", \"workstation\": ");
	buf_json_string(b, a->workstation);
	buf_puts(b, ", \"product_group\": ");
	buf_json_string(b, a->group != KMS_NO_INDEX ? t->groups[a->group].name : "unknown");
	buf_puts(b, ", \"product\": ");
	buf_json_string(b, a->sku != KMS_NO_INDEX ? t->skus[a->sku].name : "unknown");
	buf_printf(b, ", \"protocol\": \"%u.%u\", \"result\": \"0x%08X\", \"count\": %u, "
		   "\"answer\": \"%s\"}", a->major, a->minor, a->status, a->count,
		   metrics_result_names[a->result]);
}

void web_api_activity(web *w, const web_request *r, web_reply *out)
{
	if (!web_no_params(r, out))
		return;
	web_history h;
	web_history_load(w, r->now, &h);
	const kms_products *t = &kms_product_table;
	buf *b = &out->body;
	char since[32];
	web_format_time(h.since, since);
	buf_printf(b, "{\"source\": \"%s\", \"since\": \"%s\", \"totals\": {",
		   h.from_store ? "store" : "memory", since);
	for (size_t k = 0; k < RESULT_KINDS; k++)
		buf_printf(b, "%s\"%s\": %llu", k ? ", " : "", metrics_result_names[k],
			   (unsigned long long)h.totals[k]);
	buf_puts(b, "}");
	counts(b, "per_minute", (r->now / 60 - 59) * 60, h.minutes, 60);
	counts(b, "per_hour", (r->now / 3600 - 23) * 3600, h.hours, 24);
	buf_puts(b, ", \"by_product\": [");
	for (size_t s = 0, n = 0; s <= METRICS_GROUPS; s++) {
		const uint64_t *k = h.groups[s];
		if (!(k[0] + k[1] + k[2]))
			continue;
		buf_puts(b, n++ ? ",\n  {" : "\n  {");
		buf_puts(b, "\"product_group\": ");
		buf_json_string(b, s < t->n_groups ? t->groups[s].name : "unknown");
		buf_printf(b, ", \"activated\": %llu, \"below_threshold\": %llu, \"refused\": %llu}",
			   (unsigned long long)k[0], (unsigned long long)k[1], (unsigned long long)k[2]);
	}
	buf_puts(b, "], \"recent\": [");
	for (size_t i = 0; i < h.n_recent; i++)
		recent_json(b, &h.recent[i], i == 0);
	buf_puts(b, h.n_recent ? "\n]}\n" : "]}\n");
}
