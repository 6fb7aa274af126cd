#include "server/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "kms/products.h"

/* From a fast loopback answer (tens of microseconds) to a host in trouble. */
const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS] = {
	0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1.0,
};

const char *const metrics_result_names[RESULT_KINDS] = {
	"activated", "below_threshold", "refused", "invalid",
};

const char *const metrics_reject_names[REJECT_KINDS] = {
	"bad_header", "malformed_bind", "malformed_request", "unknown_context",
	"unknown_operation", "bad_stub", "unexpected_type", "slow_pdu",
};

const char *const metrics_conn_event_names[CONN_EVENT_KINDS] = {
	"accepted", "refused_access", "refused_rate_limit", "refused_max_connections",
	"closed_idle", "refused_per_address", "refused_per_prefix", "evicted", "no_descriptor",
};

metrics *metrics_new(int64_t now)
{
	metrics *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->started = now;
	pthread_mutex_init(&m->recent_lock, NULL);
	return m;
}

void metrics_free(metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->recent_lock);
	free(m);
}

size_t metrics_group_slot(uint16_t group)
{
	return group < METRICS_GROUPS ? group : METRICS_GROUPS;
}

static void count_hresult(metrics *m, uint32_t code)
{
	for (size_t i = 0; i < METRICS_HRESULTS; i++) {
		unsigned seen = atomic_load_explicit(&m->hresult_codes[i], memory_order_relaxed);
		if (seen == 0) {
			unsigned expected = 0;
			/* claim the free slot, unless another worker just did */
			if (!atomic_compare_exchange_strong(&m->hresult_codes[i], &expected, code))
				seen = expected;
			else
				seen = code;
		}
		if (seen == code) {
			atomic_fetch_add_explicit(&m->hresult_counts[i], 1, memory_order_relaxed);
			return;
		}
	}
	/* more distinct codes than slots: they still count in activations[] */
}

static void count_minute(metrics *m, int64_t now)
{
	uint64_t minute = (uint64_t)(now / 60);
	atomic_ullong *slot = &m->per_minute[minute % METRICS_MINUTES];
	unsigned long long v = atomic_load_explicit(slot, memory_order_relaxed), next;
	do {
		next = (v >> 32) == minute ? v + 1 : (minute << 32) | 1;
	} while (!atomic_compare_exchange_weak(slot, &v, next));
}

void metrics_record(metrics *m, const metrics_activation *a, uint64_t latency_ns)
{
	size_t version = a->major >= 4 && a->major <= 6 ? a->major - 4u : 3u;
	atomic_fetch_add_explicit(&m->activations[metrics_group_slot(a->group)][version][a->result],
				  1, memory_order_relaxed);
	if (a->status)
		count_hresult(m, a->status);

	size_t bucket = 0;
	while (bucket < METRICS_LATENCY_BUCKETS &&
	       (double)latency_ns > metrics_latency_bounds[bucket] * 1e9)
		bucket++;
	atomic_fetch_add_explicit(&m->latency[bucket], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_ns_sum, latency_ns, memory_order_relaxed);
	count_minute(m, a->time);

	pthread_mutex_lock(&m->recent_lock);
	m->recent[m->recent_next] = *a;
	m->recent_next = (m->recent_next + 1) % METRICS_RECENT;
	if (m->recent_count < METRICS_RECENT)
		m->recent_count++;
	pthread_mutex_unlock(&m->recent_lock);
}

void metrics_reject(metrics *m, enum metrics_reject why)
{
	atomic_fetch_add_explicit(&m->rejects[why], 1, memory_order_relaxed);
}

void metrics_conn_event(metrics *m, enum metrics_conn_event what)
{
	atomic_fetch_add_explicit(&m->conn_events[what], 1, memory_order_relaxed);
}

void metrics_group_results(const metrics *m, size_t slot, uint64_t out[RESULT_KINDS])
{
	for (size_t k = 0; k < RESULT_KINDS; k++) {
		out[k] = 0;
		for (size_t v = 0; v < METRICS_VERSIONS; v++)
			out[k] += atomic_load_explicit(&m->activations[slot][v][k], memory_order_relaxed);
	}
}

void metrics_results_total(const metrics *m, uint64_t out[RESULT_KINDS])
{
	uint64_t slot[RESULT_KINDS];
	memset(out, 0, RESULT_KINDS * sizeof *out);
	for (size_t g = 0; g <= METRICS_GROUPS; g++) {
		metrics_group_results(m, g, slot);
		for (size_t k = 0; k < RESULT_KINDS; k++)
			out[k] += slot[k];
	}
}

uint64_t metrics_rejected_pdus(const metrics *m)
{
	uint64_t n = 0;
	for (size_t k = 0; k < REJECT_KINDS; k++)
		if (k != REJECT_SLOW_PDU)
			n += atomic_load_explicit(&m->rejects[k], memory_order_relaxed);
	return n;
}

uint64_t metrics_minute(const metrics *m, int64_t minute)
{
	unsigned long long v = atomic_load_explicit(&m->per_minute[(uint64_t)minute % METRICS_MINUTES],
						    memory_order_relaxed);
	return (v >> 32) == (uint64_t)minute ? (v & 0xffffffffu) : 0;
}

size_t metrics_recent(metrics *m, metrics_activation *out, size_t max)
{
	pthread_mutex_lock(&m->recent_lock);
	size_t n = m->recent_count < max ? m->recent_count : max;
	for (size_t i = 0; i < n; i++)
		out[i] = m->recent[(m->recent_next + METRICS_RECENT - 1 - i) % METRICS_RECENT];
	pthread_mutex_unlock(&m->recent_lock);
	return n;
}
