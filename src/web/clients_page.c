/* The clients page: search, filter by pool or product, sort and page
 * through the store with plain links and a GET form. */
#include <stdio.h>

#include "kms/products.h"
#include "web/web_private.h"

typedef struct rows {
	buf *b;
	size_t n;
} rows;

static bool client_row(void *ctx, const store_client *c)
{
	rows *r = ctx;
	buf *b = r->b;
	char cmid[GUID_TEXT_LEN], host[64];
	guid_format(&c->cmid, cmid);
	web_address_host(c->address, host);
	const kms_sku *sku = kms_sku_find(&kms_product_table, &c->sku_id);
	const kms_group *g = kms_group_find(&kms_product_table, &c->kms_id);
	buf_printf(b, "<tr><td class=\"long\" data-label=\"Workstation\"><a href=\"/clients/%s\">", cmid);
	buf_html(b, c->workstation[0] ? c->workstation : "(no name)");
	buf_puts(b, "</a></td><td data-label=\"Address\">");
	buf_html(b, host);
	buf_puts(b, "</td><td data-label=\"Product\">");
	buf_html(b, sku ? sku->name : g ? g->name : "unknown");
	buf_printf(b, "</td><td data-label=\"Protocol\">%u.%u</td><td class=\"n\" data-label=\"Requests\">"
		   "%llu</td><td class=\"t\" data-label=\"Last seen\">", c->protocol_major,
		   c->protocol_minor, (unsigned long long)c->requests);
	web_time_cell(b, c->last_seen);
	buf_puts(b, "</td><td class=\"t\" data-label=\"First seen\">");
	web_time_cell(b, c->first_seen);
	buf_puts(b, "</td><td data-label=\"Last answer\">");
	web_answer_text(b, c->last_result, c->last_count, g ? g->n_policy : 0);
	buf_printf(b, "</td><td data-label=\"CMID\"><code class=\"small\">%s</code></td></tr>\n", cmid);
	r->n++;
	return !buf_failed(b);
}

/* The filters of a link: search, pool or group, last answer. */
static void filters(buf *b, const web_clients_params *p, const char *product)
{
	if (p->search[0]) {
		buf_puts(b, "&amp;q=");
		buf_url(b, p->search);
	}
	if (product[0]) {
		buf_puts(b, "&amp;product=");
		buf_url(b, product);
	}
	if (p->result)
		buf_printf(b, "&amp;result=%s", p->result);
}

/* A link to this page with the same filters and a different sort/page. */
static void page_link(buf *b, const web_clients_params *p, const char *product, const char *sort,
		      size_t page)
{
	buf_printf(b, "/clients?sort=%s&amp;page=%zu&amp;limit=%zu", sort, page, p->limit);
	filters(b, p, product);
}

typedef struct product_walk {
	char value[80];
} product_walk;

static bool find_product(void *ctx, const char *name, const char *value)
{
	if (strcmp(name, "product") == 0)
		snprintf(((product_walk *)ctx)->value, sizeof((product_walk *)ctx)->value, "%s", value);
	return true;
}

static void search_form(buf *b, const web_clients_params *p, const char *product)
{
	const kms_products *t = &kms_product_table;
	buf_puts(b, "<form method=\"get\" action=\"/clients\"><input type=\"search\" name=\"q\" "
		 "placeholder=\"workstation or address\" maxlength=\"64\" aria-label=\"search\" "
		 "value=\"");
	buf_html(b, p->search);
	buf_puts(b, "\"><select name=\"product\" aria-label=\"pool or product group\">"
		 "<option value=\"\">all pools and groups</option><optgroup label=\"Pools\">");
	for (size_t i = 0; i < KMS_N_POOLS; i++)
		buf_printf(b, "<option value=\"%s\"%s>%s</option>", kms_pools[i].word,
			   strcmp(product, kms_pools[i].word) == 0 ? " selected" : "", kms_pools[i].label);
	buf_puts(b, "</optgroup><optgroup label=\"Product groups\">");
	for (size_t g = 0; g < t->n_groups; g++) {
		char id[GUID_TEXT_LEN];
		guid_format(&t->groups[g].id, id);
		buf_printf(b, "<option value=\"%s\"%s>", id,
			   strcasecmp(product, id) == 0 ? " selected" : "");
		buf_html(b, t->groups[g].name);
		buf_puts(b, "</option>");
	}
	buf_puts(b, "</optgroup></select><select name=\"result\" aria-label=\"last answer\">"
		 "<option value=\"\">any answer</option>");
	static const char *const kinds[][2] = { { "activated", "activated" },
						{ "below_threshold", "below threshold" },
						{ "refused", "refused" } };
	for (size_t i = 0; i < 3; i++)
		buf_printf(b, "<option value=\"%s\"%s>%s</option>", kinds[i][0],
			   p->result && strcmp(p->result, kinds[i][0]) == 0 ? " selected" : "",
			   kinds[i][1]);
	/* a select as well as the column links: a phone shows no column heads */
	static const char *const sorts[][2] = { { "last_seen", "newest first" },
						{ "workstation", "by workstation" },
						{ "requests", "most requests first" } };
	buf_puts(b, "</select><select name=\"sort\" aria-label=\"sort\">");
	for (size_t i = 0; i < 3; i++)
		buf_printf(b, "<option value=\"%s\"%s>%s</option>", sorts[i][0],
			   strcmp(p->sort, sorts[i][0]) == 0 ? " selected" : "", sorts[i][1]);
	buf_printf(b, "</select><button type=\"submit\">Filter</button> <a class=\"csv\" id=\"csv\" "
		   "href=\"/clients.csv?sort=%s", p->sort);
	filters(b, p, product);
	buf_puts(b, "\">Download CSV</a></form>\n");
}

void web_clients_page(web *w, const web_request *r, web_reply *out)
{
	web_clients_params p;
	if (!web_read_clients_params(r, &p, out))
		return;
	product_walk pw = { "" };
	r->each_param(r, find_product, &pw);
	buf *b = &out->body;
	out->content_type = "text/html; charset=utf-8";
	web_page_begin(b, w, "Clients", "clients", 30);
	buf_puts(b, "<section class=\"wide\"><h2>Clients</h2>");
	search_form(b, &p, pw.value);
	if (!w->store) {
		buf_puts(b, "<p class=\"muted\">The client store is off (store = none), so there is "
			 "no client history to show.</p></section>");
		web_page_end(b);
		return;
	}
	store_query q = web_store_query(&p);
	static const struct {
		const char *sort, *label;
	} heads[] = { { "workstation", "Workstation" }, { NULL, "Address" }, { NULL, "Product" },
		      { NULL, "Protocol" }, { "requests", "Requests" }, { "last_seen", "Last seen" },
		      { NULL, "First seen" }, { NULL, "Last answer" }, { NULL, "CMID" } };
	buf_puts(b, "<table id=\"clients\" class=\"stack early\"><tr class=\"head\">");
	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
		const char *cls = strcmp(heads[i].label, "Requests") == 0 ? " class=\"n\"" : "";
		if (!heads[i].sort) {
			buf_printf(b, "<th%s>%s</th>", cls, heads[i].label);
			continue;
		}
		buf_printf(b, "<th%s><a href=\"", cls);
		page_link(b, &p, pw.value, heads[i].sort, 1);
		buf_printf(b, "\">%s%s</a></th>", heads[i].label,
			   strcmp(p.sort, heads[i].sort) == 0 ? " &darr;" : "");
	}
	buf_puts(b, "</tr>\n");
	rows rs = { b, 0 };
	size_t total = 0;
	pthread_mutex_lock(&w->store_lock);
	bool ok = store_clients(w->store, &q, client_row, &rs, &total);
	bool timed_out = !ok && store_timed_out(w->store);
	pthread_mutex_unlock(&w->store_lock);
	web_empty_row(b, rs.n, 9, "no clients match");
	buf_puts(b, "</table>");
	if (timed_out)
		buf_puts(b, "<p class=\"bad\">The store query took too long and was cancelled; "
			 "narrow it (a search, a product or a shorter time).</p>");
	else if (!ok)
		buf_puts(b, "<p class=\"bad\">The store query failed; see the kmsd log.</p>");
	size_t page = p.offset / p.limit + 1, pages = total ? (total + p.limit - 1) / p.limit : 1;
	bool at_least = q.count_max && total >= q.count_max;
	buf_printf(b, "<nav class=\"pages\">%s<span id=\"clients-total\">%zu</span> clients &middot; "
		   "page %zu of %s%zu", at_least ? "at least " : "", total, page,
		   at_least ? "at least " : "", pages);
	if (page > 1) {
		buf_puts(b, " <a rel=\"prev\" href=\"");
		page_link(b, &p, pw.value, p.sort, page - 1);
		buf_puts(b, "\">&larr; previous</a>");
	}
	if (page < pages) {
		buf_puts(b, " <a rel=\"next\" href=\"");
		page_link(b, &p, pw.value, p.sort, page + 1);
		buf_puts(b, "\">next &rarr;</a>");
	}
	buf_puts(b, "</nav></section>\n");
	web_page_end(b);
}
