/* The dashboard: pools against their thresholds, activations over time,
 * products, recent activations, errors and the host's identity, all
 * rendered on the server (charts are inline SVG). */
#include <stdio.h>
#include <time.h>

#include "kms/kms.h"
#include "kms/products.h"
#include "web/web_private.h"

#define CHART_H 110

static void pools_section(buf *b, web *w, const web_identity *id, int64_t now)
{
	buf_puts(b, "<section><h2>Clients counted per pool</h2>");
	for (size_t i = 0; i < KMS_N_POOLS; i++) {
		unsigned th[8];
		size_t n = web_pool_thresholds(i, th, 8);
		uint32_t clients = web_pool_clients(w, i, now);
		unsigned top = n ? th[n - 1] : 25;
		unsigned pct = clients >= top ? 100 : clients * 100 / top;
		buf_printf(b, "<div class=\"pool\"><div><b>%s</b> <span class=\"big\" id=\"pool-%s-clients\">"
			   "%u</span> <span class=\"muted\">machines in %lld days</span></div>",
			   kms_pools[i].label, kms_pools[i].word, clients,
			   (long long)(id->count_window / 86400));
		/* the bar spans 0..the highest threshold; dashed lines mark each one */
		buf_printf(b, "<svg viewBox=\"0 0 100 6\" preserveAspectRatio=\"none\" role=\"img\" "
			   "aria-label=\"%u of %u\"><rect class=\"bg\" width=\"100\" height=\"6\"/><rect class=\"b\" width=\"%u\" height=\"6\"/>", clients,
			   top, pct);
		for (size_t t = 0; t < n; t++)
			buf_printf(b, "<line class=\"th\" x1=\"%u\" y1=\"0\" x2=\"%u\" y2=\"6\"/>",
				   th[t] * 100 / top, th[t] * 100 / top);
		buf_puts(b, "</svg>");
		for (size_t t = 0; t < n; t++) {
			bool reached = clients >= th[t];
			const char *who = i == 0 ? (th[t] >= 25 ? "client OS" : "server OS") : "Office";
			if (reached)
				buf_printf(b, "<div class=\"ok\">&#x2713; %s N=%u: reached</div>", who,
					   th[t]);
			else
				buf_printf(b, "<div class=\"bad\">&#x2717; %s N=%u: %u more needed</div>", who,
					   th[t], th[t] - clients);
		}
		buf_puts(b, "</div>");
	}
	if (!id->count_real)
		buf_puts(b, "<p class=\"muted\">count = always: the host answers every client as if "
			 "its threshold were reached; the numbers above are the machines really seen.</p>");
	buf_puts(b, "</section>\n");
}

/* A bar chart of `n` values. The bars are SVG stretched to the card; the
 * labels are HTML under them (one per `n / n_labels` bars), so they keep
 * their size at any width. */
static void bar_chart(buf *b, const char *id, const char *title, const uint64_t *v, size_t n,
		      char (*labels)[8], size_t n_labels)
{
	uint64_t max = 1, sum = 0;
	for (size_t i = 0; i < n; i++) {
		max = v[i] > max ? v[i] : max;
		sum += v[i];
	}
	buf_printf(b, "<div class=\"chart-head\"><h2>%s</h2><span class=\"small muted\">"
		   "<span id=\"%s-sum\">%llu</span> in all, highest bar %llu</span></div>", title, id,
		   (unsigned long long)sum, (unsigned long long)max);
	buf_printf(b, "<svg class=\"bars\" id=\"%s\" viewBox=\"0 0 %zu %d\" preserveAspectRatio=\"none\" "
		   "role=\"img\" aria-label=\"%s: %llu in all\">", id, n * 10, CHART_H, title,
		   (unsigned long long)sum);
	for (size_t i = 0; i < n; i++) {
		unsigned hgt = (unsigned)(v[i] * (CHART_H - 4) / max);
		if (v[i])
			buf_printf(b, "<rect class=\"b\" x=\"%zu\" y=\"%u\" width=\"8\" height=\"%u\">"
				   "<title>%s: %llu</title></rect>", i * 10 + 1, CHART_H - hgt, hgt,
				   labels[i], (unsigned long long)v[i]);
	}
	buf_printf(b, "</svg><div class=\"axis axis%zu\">", n_labels);
	for (size_t i = 0; i < n; i += n / n_labels)
		buf_printf(b, "<span>%s</span>", labels[i]);
	buf_puts(b, "</div>");
}

static void activity_section(buf *b, const web_history *h, int64_t now)
{
	uint64_t hours[24];
	char mlabel[60][8], hlabel[24][8];
	/* labels in the host's zone, as the rest of the page */
	for (int i = 0; i < 60; i++) {
		time_t t = (time_t)((now / 60 - 59 + i) * 60);
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(mlabel[i], sizeof mlabel[i], "%H:%M", &tm);
	}
	for (int i = 0; i < 24; i++) {
		time_t t = (time_t)((now / 3600 - 23 + i) * 3600);
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(hlabel[i], sizeof hlabel[i], "%H h", &tm);
		hours[i] = h->hours[i];
	}
	const uint64_t *k = h->totals;
	char since[48];
	web_format_local(h->since, since);
	buf_printf(b, "<section class=\"wide\"><h2>Activations</h2><p>%s <span class=\"t\">%s</span>: "
		   "<span class=\"big\" id=\"activations-total\">%llu</span> answered &mdash; "
		   "<span class=\"ok\">&#x2713; <span id=\"activations-activated\">%llu</span> "
		   "activated</span>, <span class=\"warn\">&#x25D4; <span id=\"activations-below\">"
		   "%llu</span> below threshold</span>, <span class=\"bad\">&#x2717; "
		   "<span id=\"activations-refused\">%llu</span> refused</span>, "
		   "<span class=\"bad\">&#x2717; <span id=\"activations-invalid\">%llu</span> "
		   "invalid</span></p><p class=\"small muted\" id=\"history-source\">%s</p>"
		   "<div class=\"charts\"><div>",
		   h->from_store ? "Since" : "Since start,", since,
		   (unsigned long long)k[0] + k[1] + k[2] + k[3], (unsigned long long)k[0],
		   (unsigned long long)k[1], (unsigned long long)k[2], (unsigned long long)k[3],
		   h->from_store ? "From the store's activity log (kept for activity-retention; "
				   "with a shared store, every host's requests); invalid requests "
				   "are counted since this process started."
				 : "From this process's memory: no store, so it starts again at a restart.");
	bar_chart(b, "chart-minutes", "Last hour, per minute", h->minutes, 60, mlabel, 6);
	buf_puts(b, "</div><div>");
	bar_chart(b, "chart-hours", "Last day, per hour", hours, 24, hlabel, 8);
	buf_puts(b, "</div></div></section>\n");
}

static void products_section(buf *b, const web_history *h)
{
	const kms_products *t = &kms_product_table;
	buf_puts(b, "<section class=\"two\"><h2>Products</h2><table class=\"stack\" id=\"products\">"
		 "<tr class=\"head\"><th>Product group</th><th class=\"n\">Activated</th>"
		 "<th class=\"n\">Below threshold</th><th class=\"n\">Refused</th></tr>");
	size_t shown = 0;
	for (size_t s = 0; s <= METRICS_GROUPS; s++) {
		const uint64_t *k = h->groups[s];
		if (!(k[0] + k[1] + k[2]))
			continue;
		buf_puts(b, "<tr><td data-label=\"Product group\">");
		buf_html(b, s < t->n_groups ? t->groups[s].name : "unknown product");
		buf_printf(b, "</td><td class=\"n\" data-label=\"Activated\">%llu</td>"
			   "<td class=\"n\" data-label=\"Below threshold\">%llu</td>"
			   "<td class=\"n\" data-label=\"Refused\">%llu</td></tr>",
			   (unsigned long long)k[0], (unsigned long long)k[1], (unsigned long long)k[2]);
		shown++;
	}
	web_empty_row(b, shown, 4, "none yet");
	buf_puts(b, "</table></section>\n");
}

static void recent_section(buf *b, const web_history *h)
{
	const kms_products *t = &kms_product_table;
	buf_puts(b, "<section class=\"wide\"><h2>Recent activations</h2>"
		 "<table id=\"recent\" class=\"stack\"><tr class=\"head\"><th>Time</th><th>Client</th>"
		 "<th>Workstation</th><th>Product</th><th>Protocol</th><th>Answer</th></tr>");
	for (size_t i = 0; i < h->n_recent; i++) {
		const metrics_activation *a = &h->recent[i];
		char host[64];
		web_address_host(a->address, host);
		buf_puts(b, "<tr><td class=\"t\" data-label=\"Time\">");
		web_time_cell(b, a->time);
		buf_puts(b, "</td><td data-label=\"Client\">");
		buf_html(b, host);
		buf_puts(b, "</td><td class=\"long\" data-label=\"Workstation\">");
		buf_html(b, a->workstation);
		buf_puts(b, "</td><td data-label=\"Product\">");
		buf_html(b, a->sku != KMS_NO_INDEX ? t->skus[a->sku].name
			 : a->group != KMS_NO_INDEX ? t->groups[a->group].name : "unknown");
		buf_printf(b, "</td><td data-label=\"Protocol\">%u.%u</td><td data-label=\"Answer\">",
			   a->major, a->minor);
		if (a->result == RESULT_INVALID)
			buf_puts(b, "<span class=\"bad\">&#x2717; invalid request</span>");
		else
			web_answer_text(b, a->result == RESULT_REFUSED ? a->status : 0, a->count,
					a->n_policy);
		buf_puts(b, "</td></tr>");
	}
	web_empty_row(b, h->n_recent, 6, "none yet");
	buf_puts(b, "</table></section>\n");
}

static void errors_section(buf *b, const metrics *m)
{
	buf_puts(b, "<section><h2>Errors by kind</h2><table id=\"errors\">");
	size_t shown = 0;
	for (size_t i = 0; i < METRICS_HRESULTS; i++) {
		unsigned code = atomic_load(&m->hresult_codes[i]);
		if (!code)
			continue;
		buf_printf(b, "<tr><td>refused 0x%08X: %s</td><td class=\"n\">%llu</td></tr>", code,
			   web_hresult_meaning(code), (unsigned long long)atomic_load(&m->hresult_counts[i]));
		shown++;
	}
	for (size_t k = 0; k < REJECT_KINDS; k++) {
		unsigned long long n = atomic_load(&m->rejects[k]);
		if (n) {
			buf_printf(b, "<tr><td>rejected PDU: %s</td><td class=\"n\" id=\"reject-%s\">%llu"
				   "</td></tr>", metrics_reject_names[k], metrics_reject_names[k], n);
			shown++;
		}
	}
	for (size_t k = CONN_REFUSED_ACCESS; k < CONN_EVENT_KINDS; k++) {
		unsigned long long n = atomic_load(&m->conn_events[k]);
		if (n) {
			buf_printf(b, "<tr><td>connection %s</td><td class=\"n\">%llu</td></tr>",
				   metrics_conn_event_names[k], n);
			shown++;
		}
	}
	if (!shown)
		buf_puts(b, "<tr><td class=\"muted\">&#x2713; no errors</td></tr>");
	buf_puts(b, "</table></section>\n");
}

/* The ePID each served product group's clients receive (host_epid_for),
 * folded away: there is one per host key, so a few dozen. */
static void epid_section(buf *b, const web_identity *id)
{
	const kms_products *t = &kms_product_table;
	size_t n = 0;
	for (size_t g = 0; g < id->n_groups; g++)
		n += !t->groups[g].retail && id->group_epids[g][0];
	buf_printf(b, "<section class=\"two\"><h2>ePIDs clients receive</h2><details><summary>"
		   "%zu product groups and their ePIDs</summary><table class=\"stack\" id=\"epids\">"
		   "<tr class=\"head\"><th>Product group</th><th>Pool</th><th>ePID</th></tr>", n);
	for (size_t g = 0; g < id->n_groups; g++) {
		const kms_group *grp = &t->groups[g];
		if (grp->retail || !id->group_epids[g][0])
			continue;
		size_t pool = web_pool_of(&t->apps[grp->app].id);
		buf_puts(b, "<tr><td data-label=\"Product group\">");
		buf_html(b, grp->name);
		buf_printf(b, "</td><td data-label=\"Pool\">%s</td><td data-label=\"ePID\">"
			   "<code class=\"epid\">", pool < KMS_N_POOLS ? kms_pools[pool].label : "other");
		buf_html(b, id->group_epids[g]);
		buf_puts(b, "</code></td></tr>");
	}
	buf_puts(b, "</table></details></section>\n");
}

static void identity_section(buf *b, web *w, const web_identity *id, int64_t now)
{
	int64_t up = now - w->srv->metrics->started;
	buf_printf(b, "<section class=\"two\"><h2>Host</h2><table class=\"kv\" id=\"host\">"
		   "<tr><th>Version</th><td>%s</td></tr><tr><th>Uptime</th>"
		   "<td id=\"uptime\">%lldd %02lld:%02lld:%02lld</td></tr>",
		   id->version, (long long)(up / 86400), (long long)(up / 3600 % 24),
		   (long long)(up / 60 % 60), (long long)(up % 60));
	buf_puts(b, "<tr><th>Listening</th><td>");
	for (size_t i = 0; i < id->n_listen; i++) {
		buf_puts(b, i ? "<br>" : "");
		buf_html(b, id->listen[i]);
	}
	buf_puts(b, "</td></tr><tr><th>HwId</th><td><code>");
	for (int i = 0; i < 8; i++)
		buf_printf(b, "%02X", id->hwid[i]);
	buf_printf(b, "</code></td></tr><tr><th>LCID</th><td>%u</td></tr>", id->lcid);
	for (size_t i = 0; i < KMS_N_POOLS; i++) {
		buf_printf(b, "<tr><th>ePID %s</th><td><code class=\"epid\" id=\"epid-%s\">",
			   kms_pools[i].label, kms_pools[i].word);
		buf_html(b, id->epids[i]);
		buf_puts(b, "</code> <span class=\"small muted\">most of its groups; each group's "
			 "below</span></td></tr>");
	}
	buf_printf(b, "<tr><th>Intervals</th><td>activation %u min, renewal %u min</td></tr>"
		   "<tr><th>Store</th><td>%s</td></tr><tr><th>Connections</th><td>%d open</td></tr>"
		   "</table></section>\n", id->activation_interval, id->renewal_interval,
		   id->store_backend, atomic_load(&w->srv->n_connections));
}

void web_dashboard(web *w, const web_request *r, web_reply *out)
{
	web_identity id;
	if (!web_identity_request(w, r, out, &id))
		return;
	web_history h;
	web_history_load(w, r->now, &h);
	buf *b = &out->body;
	out->content_type = "text/html; charset=utf-8";
	web_page_begin(b, w, "Dashboard", "dashboard", 30);
	pools_section(b, w, &id, r->now);
	identity_section(b, w, &id, r->now);
	epid_section(b, &id);
	activity_section(b, &h, r->now);
	products_section(b, &h);
	errors_section(b, w->srv->metrics);
	recent_section(b, &h);
	web_page_end(b);
}
