/* The products page: every product of the table with its group, N,
 * protocol and GVLK, the client commands to use it with this host, and
 * whether this host serves its group. Searchable by words. */
#include <ctype.h>
#include <stdio.h>

#include "kms/products.h"
#include "web/web_private.h"

/* Every word of the query in the product's or its group's name,
 * case-insensitive (not the application's: "Office 2013+" names every
 * Office year). The one matching rule of this
 * page: to be replaced by the product layer's own when it has one. */
bool web_product_matches(const kms_sku *s, const char *query)
{
	const kms_products *t = &kms_product_table;
	const kms_group *g = &t->groups[s->group];
	const char *p = query;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (!n)
			break;
		char word[WEB_SEARCH_MAX + 1];
		snprintf(word, sizeof word, "%.*s", (int)n, p);
		if (!strcasestr(s->name, word) && !strcasestr(g->name, word))
			return false;
		p += n;
	}
	return true;
}

typedef struct products_query {
	char q[WEB_SEARCH_MAX + 1];
	web_param_error err;
} products_query;

static bool products_param(void *ctx, const char *name, const char *value)
{
	products_query *pq = ctx;
	snprintf(pq->err.parameter, sizeof pq->err.parameter, "%.31s", name);
	if (strcmp(name, "q") != 0) {
		snprintf(pq->err.message, sizeof pq->err.message, "unknown parameter (expected q)");
		return false;
	}
	if (strlen(value) > WEB_SEARCH_MAX) {
		snprintf(pq->err.message, sizeof pq->err.message, "q longer than %d characters",
			 WEB_SEARCH_MAX);
		return false;
	}
	snprintf(pq->q, sizeof pq->q, "%s", value);
	return true;
}

/* The host clients should be given: the name this page was asked by (the
 * KMS port is the first listener's), else a placeholder. */
static void kms_host(const web_request *r, const web_identity *id, char out[128])
{
	const char *h = r->mhd ? r->mhd->lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host")
			       : NULL;
	char name[96] = "kms.example.com";
	if (h && *h && strlen(h) < sizeof name && strspn(h, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen(h)) {
		snprintf(name, sizeof name, "%s", h);
		/* drop the web port */
		char *colon = strrchr(name, ':');
		if (colon && (name[0] != '[' || colon > strchr(name, ']')))
			*colon = 0;
	}
	const char *port = id->n_listen ? strrchr(id->listen[0], ':') : NULL;
	snprintf(out, 128, "%s%s", name, port && strcmp(port, ":1688") != 0 ? port : "");
}

static void commands(buf *b, const kms_sku *s, const char *host)
{
	const kms_products *t = &kms_product_table;
	const kms_group *g = &t->groups[s->group];
	size_t pool = web_pool_of(&t->apps[g->app].id);
	if (!s->gvlk) {
		buf_puts(b, "<span class=\"muted\">no published GVLK</span>");
		return;
	}
	buf_puts(b, "<details><summary>commands</summary><pre>");
	if (pool == 0) {
		buf_puts(b, "slmgr /ipk ");
		buf_html(b, s->gvlk);
		buf_puts(b, "\nslmgr /skms ");
		buf_html(b, host);
		buf_puts(b, "\nslmgr /ato");
	} else {
		/* Office 2010 is Office14, 2013 Office15, later ones Office16 */
		const char *dir = pool == 1 ? "Office14" : strstr(g->name, "2013") ? "Office15"
										  : "Office16";
		char ospp[96];
		snprintf(ospp, sizeof ospp, "cscript \"C:\\Program Files\\Microsoft Office\\%s\\ospp.vbs\"",
			 dir);
		char name[128];
		snprintf(name, sizeof name, "%s", host);
		const char *port = "1688";
		char *colon = strrchr(name, ':');
		if (colon && (name[0] != '[' || colon > strchr(name, ']'))) {
			*colon = 0;
			port = colon + 1;
		}
		buf_html(b, ospp);
		buf_puts(b, " /inpkey:");
		buf_html(b, s->gvlk);
		buf_puts(b, "\n");
		buf_html(b, ospp);
		buf_puts(b, " /sethst:");
		buf_html(b, name);
		buf_puts(b, "\n");
		buf_html(b, ospp);
		buf_puts(b, " /setprt:");
		buf_html(b, port);
		buf_puts(b, "\n");
		buf_html(b, ospp);
		buf_puts(b, " /act");
	}
	buf_puts(b, "</pre></details>");
}

void web_products_page(web *w, const web_request *r, web_reply *out)
{
	products_query pq = { "", { "", "" } };
	if (!r->each_param(r, products_param, &pq)) {
		web_json_error(out, 400, pq.err.parameter, pq.err.message);
		return;
	}
	web_identity id;
	web_identity_copy(w, &id);
	char host[128];
	kms_host(r, &id, host);
	const kms_products *t = &kms_product_table;
	buf *b = &out->body;
	out->content_type = "text/html; charset=utf-8";
	web_page_begin(b, w, "Products", "products", 0);
	buf_puts(b, "<section class=\"wide\"><h2>Products and their volume keys</h2>"
		 "<form method=\"get\" action=\"/products\"><input type=\"search\" name=\"q\" "
		 "placeholder=\"words, e.g. office 2021 pro\" maxlength=\"64\" value=\"");
	buf_html(b, pq.q);
	buf_puts(b, "\"><button type=\"submit\">Search</button></form>"
		 "<table class=\"stack early\" id=\"products\"><tr class=\"head\"><th>#</th><th>Product</th>"
		 "<th>Product group</th><th class=\"n\">N</th><th class=\"n\">Protocol</th>"
		 "<th>GVLK</th><th>This host</th><th>Client commands</th></tr>\n");
	size_t shown = 0;
	for (size_t i = 0; i < t->n_skus; i++) {
		const kms_sku *s = &t->skus[i];
		if (!web_product_matches(s, pq.q))
			continue;
		const kms_group *g = &t->groups[s->group];
		bool served = s->group < id.n_groups && id.group_served[s->group];
		buf_printf(b, "<tr><td class=\"n\" data-label=\"#\">%zu</td><td data-label=\"Product\">",
			   i + 1);
		buf_html(b, s->name);
		buf_puts(b, "</td><td data-label=\"Product group\">");
		buf_html(b, g->name);
		buf_printf(b, "</td><td class=\"n\" data-label=\"N\">%u</td><td class=\"n\" "
			   "data-label=\"Protocol\">%u</td><td data-label=\"GVLK\"><code class=\"key\">", g->n_policy,
			   g->protocol);
		buf_html(b, s->gvlk ? s->gvlk : "none");
		buf_printf(b, "</code></td><td data-label=\"This host\">%s</td><td data-label=\"Client "
			   "commands\">", served ? "<mark class=\"serve\">&#x2713; served</mark>"
						 : "<span class=\"muted\">&#x2717; not served</span>");
		commands(b, s, host);
		buf_puts(b, "</td></tr>\n");
		shown++;
	}
	web_empty_row(b, shown, 8, "no product matches");
	buf_printf(b, "</table><p><span id=\"products-shown\">%zu</span> of %zu products</p>"
		   "</section>\n", shown, t->n_skus);
	web_page_end(b);
}
