/* What the dashboard shows of past activity: charts, totals, products and
 * recent activations. From the store's activity table when there is one,
 * so it survives a restart; from this process's counters otherwise. */
#include <stdio.h>
#include <string.h>

#include "kms/products.h"
#include "store/activity.h"
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

typedef struct bucket_fill {
	uint64_t *v;
	size_t n;
	int64_t first;
} bucket_fill;

static bool fill_bucket(void *ctx, int64_t bucket, uint64_t n)
{
	bucket_fill *f = ctx;
	if (bucket >= f->first && bucket < f->first + (int64_t)f->n)
		f->v[bucket - f->first] += n;
	return true;
}

/* The metrics slot of a product group, METRICS_GROUPS when unknown. */
static size_t group_slot(const kms_guid *kms_id, unsigned *n_policy)
{
	const kms_products *t = &kms_product_table;
	const kms_group *g = kms_group_find(t, kms_id);
	*n_policy = g ? g->n_policy : 0;
	return g ? metrics_group_slot((uint16_t)(g - t->groups)) : METRICS_GROUPS;
}

enum metrics_result web_answer_kind(uint32_t result, uint32_t count, unsigned n_policy)
{
	return result ? RESULT_REFUSED : count < n_policy ? RESULT_BELOW_THRESHOLD : RESULT_ACTIVATED;
}

static bool add_answers(void *ctx, const kms_guid *kms_id, uint32_t result, uint32_t count,
			uint64_t n)
{
	web_history *h = ctx;
	unsigned n_policy;
	size_t slot = group_slot(kms_id, &n_policy);
	enum metrics_result k = web_answer_kind(result, count, n_policy);
	h->totals[k] += n;
	h->groups[slot][k] += n;
	return true;
}

static bool add_recent(void *ctx, const store_activity *a)
{
	web_history *h = ctx;
	const kms_products *t = &kms_product_table;
	if (h->n_recent == WEB_RECENT)
		return false;
	metrics_activation *m = &h->recent[h->n_recent++];
	memset(m, 0, sizeof *m);
	m->time = a->time;
	snprintf(m->address, sizeof m->address, "%s", a->address);
	/* cut on a character boundary */
	size_t len = strnlen(a->workstation, sizeof m->workstation - 1);
	while (len && len < strlen(a->workstation) && (a->workstation[len] & 0xC0) == 0x80)
		len--;
	memcpy(m->workstation, a->workstation, len);
	m->workstation[len] = 0;
	const kms_group *g = kms_group_find(t, &a->kms_id);
	const kms_sku *sku = kms_sku_find(t, &a->sku_id);
	m->group = g ? (uint16_t)(g - t->groups) : KMS_NO_INDEX;
	m->sku = sku ? (uint16_t)(sku - t->skus) : KMS_NO_INDEX;
	m->major = a->protocol_major;
	m->minor = a->protocol_minor;
	m->status = a->result;
	m->count = a->count;
	m->n_policy = g ? g->n_policy : 0;
	m->result = web_answer_kind(a->result, a->count, m->n_policy);
	return true;
}

bool web_history_from_store(web *w, int64_t now, web_history *h)
{
	if (!w->store)
		return false;
	bucket_fill minutes = { h->minutes, 60, now / 60 - 59 };
	bucket_fill hours = { h->hours, 24, now / 3600 - 23 };
	pthread_mutex_lock(&w->lock);
	bool ok = store_activity_oldest(w->store, &h->since) &&
		  store_activity_buckets(w->store, minutes.first * 60, 60, fill_bucket, &minutes) &&
		  store_activity_buckets(w->store, hours.first * 3600, 3600, fill_bucket, &hours) &&
		  store_activity_answers(w->store, 0, add_answers, h) &&
		  store_activity_recent(w->store, NULL, WEB_RECENT, add_recent, h);
	pthread_mutex_unlock(&w->lock);
	if (!ok)
		return false;
	h->from_store = true;
	if (!h->since)
		h->since = now;
	/* undecodable requests have no client to store: this process's count */
	uint64_t k[RESULT_KINDS];
	for (size_t s = 0; s <= METRICS_GROUPS; s++) {
		metrics_group_results(w->srv->metrics, s, k);
		h->totals[RESULT_INVALID] += k[RESULT_INVALID];
	}
	return true;
}
