/* /metrics in the Prometheus text exposition format (version 0.0.4). */
#include <stdio.h>
#include <string.h>

#include "kms/products.h"
#include "web/web_private.h"

static void family(buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void activations(buf *b, const metrics *m)
{
	const kms_products *t = &kms_product_table;
	static const char *const versions[METRICS_VERSIONS] = { "4", "5", "6", "other" };
	family(b, "kmsd_activations_total", "counter",
	       "KMS requests answered, by product group, protocol version and result.");
	for (size_t slot = 0; slot <= METRICS_GROUPS; slot++) {
		bool known = slot < t->n_groups;
		char kms_id[GUID_TEXT_LEN] = "";
		size_t pool = 3;
		if (known) {
			guid_format(&t->groups[slot].id, kms_id);
			pool = web_pool_of(&t->apps[t->groups[slot].app].id);
		}
		for (size_t v = 0; v < METRICS_VERSIONS; v++) {
			for (size_t k = 0; k < RESULT_KINDS; k++) {
				unsigned long long n = atomic_load_explicit(&m->activations[slot][v][k],
									    memory_order_relaxed);
				if (!n)
					continue;
				buf_puts(b, "kmsd_activations_total{product_group=\"");
				buf_label(b, known ? t->groups[slot].name : "unknown");
				buf_printf(b, "\",kms_id=\"%s\",pool=\"%s\",version=\"%s\",result=\"%s\"} %llu\n",
					   kms_id, web_pool_key(pool), versions[v],
					   metrics_result_names[k], n);
			}
		}
	}
	family(b, "kmsd_refusals_total", "counter", "KMS requests refused, by the HRESULT answered.");
	for (size_t i = 0; i < METRICS_HRESULTS; i++) {
		unsigned code = atomic_load(&m->hresult_codes[i]);
		if (code)
			buf_printf(b, "kmsd_refusals_total{hresult=\"0x%08X\"} %llu\n", code,
				   (unsigned long long)atomic_load(&m->hresult_counts[i]));
	}
}

static void latency(buf *b, const metrics *m)
{
	family(b, "kmsd_request_duration_seconds", "histogram",
	       "Time from a whole request PDU to its response, in the host.");
	unsigned long long cumulative = 0;
	for (size_t i = 0; i <= METRICS_LATENCY_BUCKETS; i++) {
		cumulative += atomic_load_explicit(&m->latency[i], memory_order_relaxed);
		if (i < METRICS_LATENCY_BUCKETS)
			buf_printf(b, "kmsd_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				   metrics_latency_bounds[i], cumulative);
		else
			buf_printf(b, "kmsd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				   cumulative);
	}
	buf_printf(b, "kmsd_request_duration_seconds_sum %.9f\n",
		   (double)atomic_load(&m->latency_ns_sum) / 1e9);
	buf_printf(b, "kmsd_request_duration_seconds_count %llu\n", cumulative);
}

static void connections(buf *b, web *w, const metrics *m)
{
	family(b, "kmsd_connections_open", "gauge", "KMS client connections open now.");
	buf_printf(b, "kmsd_connections_open %d\n", atomic_load(&w->srv->n_connections));
	family(b, "kmsd_connections_total", "counter",
	       "KMS client connections accepted, refused or closed by the host, by event.");
	for (size_t k = 0; k < CONN_EVENT_KINDS; k++)
		buf_printf(b, "kmsd_connections_total{event=\"%s\"} %llu\n",
			   metrics_conn_event_names[k], (unsigned long long)atomic_load(&m->conn_events[k]));
	family(b, "kmsd_rejected_pdus_total", "counter",
	       "PDUs answered with a fault or a close, by what was wrong.");
	for (size_t k = 0; k < REJECT_KINDS; k++)
		buf_printf(b, "kmsd_rejected_pdus_total{reason=\"%s\"} %llu\n", metrics_reject_names[k],
			   (unsigned long long)atomic_load(&m->rejects[k]));
}

static void pools(buf *b, web *w, int64_t now)
{
	family(b, "kmsd_pool_clients", "gauge",
	       "Distinct client machines seen in the count window, by pool.");
	for (size_t i = 0; i < KMS_N_POOLS; i++)
		buf_printf(b, "kmsd_pool_clients{pool=\"%s\"} %u\n", kms_pools[i].word,
			   web_pool_clients(w, i, now));
}

/* A gauge of one value, kept in milliseconds, shown in seconds. */
static void seconds_gauge(buf *b, const char *name, const char *help, double ms)
{
	family(b, name, "gauge", help);
	buf_printf(b, "%s %.6f\n", name, ms / 1e3);
}

static void store_metrics(buf *b, web *w)
{
	if (!w->srv->store)
		return;
	store_writer_stats ws;
	store_writer_stats_get(w->srv->store, &ws);
	family(b, "kmsd_store_queue_depth", "gauge", "Client records waiting for the store writer.");
	buf_printf(b, "kmsd_store_queue_depth %zu\n", ws.queue_depth);
	seconds_gauge(b, "kmsd_store_last_batch_seconds",
		      "How long the store writer's last batch took to commit.", ws.last_batch_ms);
	family(b, "kmsd_store_batch_seconds", "summary",
	       "Time the store writer spent committing batches.");
	buf_printf(b, "kmsd_store_batch_seconds_sum %.6f\n", ws.total_batch_ms / 1e3);
	buf_printf(b, "kmsd_store_batch_seconds_count %llu\n", (unsigned long long)ws.batches);
	seconds_gauge(b, "kmsd_store_batch_max_seconds",
		      "The longest batch the store writer committed since start.", ws.max_batch_ms);
	seconds_gauge(b, "kmsd_store_wait_max_seconds",
		      "The longest a client record waited from the answer to its commit since start.",
		      ws.max_wait_ms);
	family(b, "kmsd_store_records_total", "counter", "Client records by what became of them.");
	buf_printf(b, "kmsd_store_records_total{outcome=\"written\"} %llu\n",
		   (unsigned long long)ws.written);
	buf_printf(b, "kmsd_store_records_total{outcome=\"dropped\"} %llu\n",
		   (unsigned long long)ws.dropped);
	family(b, "kmsd_store_errors_total", "counter", "Store batches that failed to commit.");
	buf_printf(b, "kmsd_store_errors_total %llu\n", (unsigned long long)ws.errors);
}

void web_metrics(web *w, const web_request *r, web_reply *out)
{
	web_identity id;
	if (!web_identity_request(w, r, out, &id))
		return;
	const metrics *m = w->srv->metrics;
	buf *b = &out->body;
	out->content_type = "text/plain; version=0.0.4; charset=utf-8";
	family(b, "kmsd_build_info", "gauge", "The running kmsd version.");
	buf_puts(b, "kmsd_build_info{version=\"");
	buf_label(b, id.version);
	buf_printf(b, "\",count_mode=\"%s\"} 1\n", id.count_real ? "real" : "always");
	family(b, "kmsd_start_time_seconds", "gauge", "When kmsd started, in Unix seconds.");
	buf_printf(b, "kmsd_start_time_seconds %lld\n", (long long)m->started);
	activations(b, m);
	latency(b, m);
	connections(b, w, m);
	pools(b, w, r->now);
	store_metrics(b, w);
}
