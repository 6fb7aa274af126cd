/* The dashboard: pools against their thresholds, activations over time,
 * products, recent activations, errors and the host's identity, all
 * rendered on the server (charts are inline SVG). */
#include <stdio.h>

#include "kms/kms.h"
#include "kms/products.h"
#include "web/web_private.h"

#define CHART_W 1000
#define CHART_H 110

static const char *hresult_meaning(uint32_t code)
{
	switch (code) {
	case KMS_HR_NOT_LICENSED: return "product not served by this host";
	case KMS_HR_TIME_OUT_OF_RANGE: return "client clock too far from the host's";
	case KMS_HR_INVALID_DATA: return "malformed request";
	default: return "refused";
	}
}

static void pools_section(buf *b, web *w, const web_identity *id, int64_t now)
{
	buf_puts(b, "<section><h2>Clients counted per pool</h2>");
	for (size_t i = 0; i < 3; i++) {
		unsigned th[8];
		size_t n = web_pool_thresholds(i, th, 8);
		uint32_t clients = web_pool_clients(w, i, now);
		unsigned top = n ? th[n - 1] : 25;
		unsigned pct = clients >= top ? 100 : clients * 100 / top;
		buf_printf(b, "<div class=\"pool\"><div><b>%s</b> <span class=\"big\" id=\"pool-%s-clients\">"
			   "%u</span> <span class=\"muted\">machines in %lld days</span></div>",
			   web_pools[i].label, web_pools[i].key, clients,
			   (long long)(id->count_window / 86400));
		/* the bar spans 0..the highest threshold; dashed lines mark each one */
		buf_printf(b, "<svg viewBox=\"0 0 100 6\" preserveAspectRatio=\"none\" role=\"img\" "
			   "aria-label=\"%u of %u\"><rect class=\"l\" width=\"100\" height=\"6\" "
			   "fill=\"#dcdcde\"/><rect class=\"b\" width=\"%u\" height=\"6\"/>", clients,
			   top, pct);
		for (size_t t = 0; t < n; t++)
			buf_printf(b, "<line class=\"th\" x1=\"%u\" y1=\"0\" x2=\"%u\" y2=\"6\"/>",
				   th[t] * 100 / top, th[t] * 100 / top);
		buf_puts(b, "</svg>");
		for (size_t t = 0; t < n; t++) {
			bool reached = clients >= th[t];
			const char *who = i == 0 ? (th[t] >= 25 ? "client OS" : "server OS") : "Office";
			if (reached)
				buf_printf(b, "<div class=\"ok\">%s N=%u: reached</div>", who, th[t]);
			else
				buf_printf(b, "<div class=\"bad\">%s N=%u: %u more needed</div>", who,
					   th[t], th[t] - clients);
		}
		buf_puts(b, "</div>");
	}
	if (!id->count_real)
		buf_puts(b, "<p class=\"muted\">count = always: the host answers every client as if "
			 "its threshold were reached; the numbers above are the machines really seen.</p>");
	buf_puts(b, "</section>\n");
}

/* A bar chart of `n` values; labels every `label_every` bars. */
static void bar_chart(buf *b, const char *title, const uint64_t *v, size_t n,
		      const char *const *labels, size_t label_every)
{
	uint64_t max = 1;
	for (size_t i = 0; i < n; i++)
		max = v[i] > max ? v[i] : max;
	double bw = (double)CHART_W / (double)n;
	buf_printf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", CHART_W, CHART_H + 16);
	buf_html(b, title);
	buf_printf(b, "\"><line class=\"l\" x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", CHART_H,
		   CHART_W, CHART_H);
	for (size_t i = 0; i < n; i++) {
		double h = (double)v[i] * (CHART_H - 12) / (double)max;
		if (v[i])
			buf_printf(b, "<rect class=\"b\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
				   "<title>%s: %llu</title></rect>", (double)i * bw + 0.5,
				   CHART_H - h, bw > 2 ? bw - 1 : bw, h, labels[i],
				   (unsigned long long)v[i]);
		if (i % label_every == 0)
			buf_printf(b, "<text class=\"t\" x=\"%.1f\" y=\"%d\">%s</text>", (double)i * bw,
				   CHART_H + 12, labels[i]);
	}
	buf_printf(b, "<text class=\"t\" x=\"2\" y=\"10\">max %llu</text></svg>",
		   (unsigned long long)max);
}

static void activity_section(buf *b, const metrics *m, int64_t now)
{
	uint64_t minutes[60], hours[24] = { 0 };
	char mlabel[60][8], hlabel[24][8];
	const char *mp[60], *hp[24];
	int64_t this_minute = now / 60;
	for (int i = 0; i < 60; i++) {
		int64_t mi = this_minute - 59 + i;
		minutes[i] = metrics_minute(m, mi);
		snprintf(mlabel[i], sizeof mlabel[i], "%02d:%02d", (int)(mi / 60 % 24), (int)(mi % 60));
		mp[i] = mlabel[i];
	}
	int64_t this_hour = now / 3600;
	for (int i = 0; i < 24; i++) {
		int64_t h = this_hour - 23 + i;
		for (int64_t mi = h * 60; mi < h * 60 + 60; mi++)
			hours[i] += metrics_minute(m, mi);
		snprintf(hlabel[i], sizeof hlabel[i], "%02d h", (int)(h % 24));
		hp[i] = hlabel[i];
	}
	uint64_t total[RESULT_KINDS] = { 0 };
	for (size_t s = 0; s <= METRICS_GROUPS; s++) {
		uint64_t k[RESULT_KINDS];
		metrics_group_results(m, s, k);
		for (size_t r = 0; r < RESULT_KINDS; r++)
			total[r] += k[r];
	}
	buf_printf(b, "<section class=\"wide\"><h2>Activations (UTC)</h2><p>Since start: "
		   "<span class=\"big\" id=\"activations-total\">%llu</span> answered &mdash; "
		   "<span class=\"ok\" id=\"activations-activated\">%llu</span> activated, "
		   "<span id=\"activations-below\">%llu</span> below threshold, "
		   "<span class=\"bad\" id=\"activations-refused\">%llu</span> refused, "
		   "<span class=\"bad\" id=\"activations-invalid\">%llu</span> invalid</p>",
		   (unsigned long long)total[0] + total[1] + total[2] + total[3],
		   (unsigned long long)total[RESULT_ACTIVATED],
		   (unsigned long long)total[RESULT_BELOW_THRESHOLD],
		   (unsigned long long)total[RESULT_REFUSED], (unsigned long long)total[RESULT_INVALID]);
	buf_puts(b, "<h2>Last hour, per minute</h2>");
	bar_chart(b, "activations per minute, last hour", minutes, 60, mp, 10);
	buf_puts(b, "<h2>Last day, per hour</h2>");
	bar_chart(b, "activations per hour, last day", hours, 24, hp, 3);
	buf_puts(b, "</section>\n");
}

static void products_section(buf *b, const metrics *m)
{
	const kms_products *t = &kms_product_table;
	buf_puts(b, "<section><h2>Products seen since start</h2><div class=\"scroll\"><table>"
		 "<tr><th>Product group</th><th class=\"n\">Activated</th><th class=\"n\">Below</th>"
		 "<th class=\"n\">Refused</th></tr>");
	size_t shown = 0;
	for (size_t s = 0; s <= METRICS_GROUPS; s++) {
		uint64_t k[RESULT_KINDS];
		metrics_group_results(m, s, k);
		if (!(k[0] + k[1] + k[2]))
			continue;
		buf_puts(b, "<tr><td>");
		buf_html(b, s < t->n_groups ? t->groups[s].name : "unknown product");
		buf_printf(b, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">%llu"
			   "</td></tr>", (unsigned long long)k[0], (unsigned long long)k[1],
			   (unsigned long long)k[2]);
		shown++;
	}
	if (!shown)
		buf_puts(b, "<tr><td colspan=\"4\" class=\"muted\">none yet</td></tr>");
	buf_puts(b, "</table></div></section>\n");
}

static void recent_section(buf *b, metrics *m)
{
	const kms_products *t = &kms_product_table;
	metrics_activation recent[METRICS_RECENT];
	size_t n = metrics_recent(m, recent, METRICS_RECENT);
	buf_puts(b, "<section class=\"wide\"><h2>Recent activations</h2><div class=\"scroll\">"
		 "<table id=\"recent\"><tr><th>Time (UTC)</th><th>Client</th><th>Workstation</th>"
		 "<th>Product</th><th>V</th><th>Result</th></tr>");
	for (size_t i = 0; i < n; i++) {
		const metrics_activation *a = &recent[i];
		char when[32];
		web_format_time(a->time, when);
		buf_printf(b, "<tr><td>%s</td><td>", when);
		buf_html(b, a->address);
		buf_puts(b, "</td><td>");
		buf_html(b, a->workstation);
		buf_puts(b, "</td><td>");
		buf_html(b, a->sku != KMS_NO_INDEX ? t->skus[a->sku].name
			 : a->group != KMS_NO_INDEX ? t->groups[a->group].name : "unknown");
		buf_printf(b, "</td><td>%u.%u</td><td>", a->major, a->minor);
		if (a->result == RESULT_ACTIVATED || a->result == RESULT_BELOW_THRESHOLD)
			buf_printf(b, "<span class=\"%s\">count %u / N %u</span>",
				   a->result == RESULT_ACTIVATED ? "ok" : "muted", a->count, a->n_policy);
		else
			buf_printf(b, "<span class=\"bad\">0x%08X %s</span>", a->status,
				   hresult_meaning(a->status));
		buf_puts(b, "</td></tr>");
	}
	if (!n)
		buf_puts(b, "<tr><td colspan=\"6\" class=\"muted\">none yet</td></tr>");
	buf_puts(b, "</table></div></section>\n");
}

static void errors_section(buf *b, const metrics *m)
{
	buf_puts(b, "<section><h2>Errors by kind</h2><table>");
	size_t shown = 0;
	for (size_t i = 0; i < METRICS_HRESULTS; i++) {
		unsigned code = atomic_load(&m->hresult_codes[i]);
		if (!code)
			continue;
		buf_printf(b, "<tr><td>refused 0x%08X: %s</td><td class=\"n\">%llu</td></tr>", code,
			   hresult_meaning(code), (unsigned long long)atomic_load(&m->hresult_counts[i]));
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
		buf_puts(b, "<tr><td class=\"muted\">no errors</td></tr>");
	buf_puts(b, "</table></section>\n");
}

static void identity_section(buf *b, web *w, const web_identity *id, int64_t now)
{
	int64_t up = now - w->srv->metrics->started;
	buf_printf(b, "<section><h2>Host</h2><div class=\"scroll\"><table class=\"kv\">"
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
	for (size_t i = 0; i < 3; i++) {
		buf_printf(b, "<tr><th>ePID %s</th><td><code>", web_pools[i].label);
		buf_html(b, id->epids[i]);
		buf_puts(b, "</code></td></tr>");
	}
	buf_printf(b, "<tr><th>Intervals</th><td>activation %u min, renewal %u min</td></tr>"
		   "<tr><th>Store</th><td>%s</td></tr><tr><th>Connections</th><td>%d open</td></tr>"
		   "</table></div></section>\n", id->activation_interval, id->renewal_interval,
		   id->store_backend, atomic_load(&w->srv->n_connections));
}

void web_dashboard(web *w, const web_request *r, web_reply *out)
{
	if (!web_no_params(r, out))
		return;
	web_identity id;
	web_identity_copy(w, &id);
	buf *b = &out->body;
	out->content_type = "text/html; charset=utf-8";
	web_page_begin(b, w, "Dashboard", "dashboard", 30);
	pools_section(b, w, &id, r->now);
	identity_section(b, w, &id, r->now);
	activity_section(b, w->srv->metrics, r->now);
	products_section(b, w->srv->metrics);
	errors_section(b, w->srv->metrics);
	recent_section(b, w->srv->metrics);
	web_page_end(b);
}
