/* What the host has done since it started, for /metrics, the JSON API and
 * the dashboard.
 *
 * Workers update it on the request path, so updates are relaxed atomic
 * adds on fixed arrays (no allocation, no lock) except the short list of
 * recent activations, which takes a mutex for one small copy. Readers (the
 * web thread) see each counter exactly but not all counters at one
 * instant, which Prometheus and a dashboard tolerate. */
#ifndef KMSD_SERVER_METRICS_H
#define KMSD_SERVER_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guid.h"

/* What the host answered, seen from the client's side. */
enum metrics_result {
	RESULT_ACTIVATED,          /* a response whose count reaches the client's N */
	RESULT_BELOW_THRESHOLD,    /* a response; the client waits for more machines */
	RESULT_REFUSED,            /* an HRESULT: policy, time, unknown product... */
	RESULT_INVALID,            /* the request did not decode (0x8007000D) */
	RESULT_KINDS
};

/* Why a PDU was rejected (a fault or a close). */
enum metrics_reject {
	REJECT_BAD_HEADER,
	REJECT_MALFORMED_BIND,
	REJECT_MALFORMED_REQUEST,
	REJECT_UNKNOWN_CONTEXT,
	REJECT_UNKNOWN_OPERATION,
	REJECT_BAD_STUB,
	REJECT_UNEXPECTED_TYPE,
	REJECT_SLOW_PDU,
	REJECT_KINDS
};

/* Why a connection was refused or closed by the host. */
enum metrics_conn_event {
	CONN_ACCEPTED,
	CONN_REFUSED_ACCESS,       /* allow/deny lists */
	CONN_REFUSED_RATE,         /* rate-limit */
	CONN_REFUSED_LIMIT,        /* max-connections */
	CONN_CLOSED_IDLE,          /* idle-timeout */
	CONN_REFUSED_PER_ADDRESS,  /* max-connections-per-address */
	CONN_REFUSED_PER_PREFIX,   /* max-connections-per-prefix */
	CONN_EVICTED,              /* closed to make room for a lighter address */
	CONN_NO_DESCRIPTOR,        /* accept failed: out of file descriptors */
	CONN_EVENT_KINDS
};

#define METRICS_GROUPS 64          /* product groups tracked; one more for unknown */
#define METRICS_VERSIONS 4         /* V4, V5, V6, anything else */
#define METRICS_HRESULTS 8         /* distinct refusal codes tracked */
#define METRICS_LATENCY_BUCKETS 11 /* plus +Inf */
#define METRICS_MINUTES 1440       /* activations per minute over a day */
#define METRICS_RECENT 32

extern const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS]; /* seconds */
extern const char *const metrics_result_names[RESULT_KINDS];
extern const char *const metrics_reject_names[REJECT_KINDS];
extern const char *const metrics_conn_event_names[CONN_EVENT_KINDS];

typedef struct metrics_activation {
	int64_t time;                    /* Unix seconds */
	char address[64];
	char workstation[64];
	uint16_t group, sku;             /* product table indices, or KMS_NO_INDEX */
	uint16_t major, minor;
	uint32_t status;                 /* 0 or the HRESULT answered */
	uint32_t count, n_policy;
	enum metrics_result result;
} metrics_activation;

typedef struct metrics {
	int64_t started;                 /* Unix seconds */
	atomic_ullong activations[METRICS_GROUPS + 1][METRICS_VERSIONS][RESULT_KINDS];
	atomic_uint hresult_codes[METRICS_HRESULTS];
	atomic_ullong hresult_counts[METRICS_HRESULTS];
	atomic_ullong rejects[REJECT_KINDS];
	atomic_ullong conn_events[CONN_EVENT_KINDS];
	atomic_ullong latency[METRICS_LATENCY_BUCKETS + 1];
	atomic_ullong latency_ns_sum;
	/* (minute since the epoch << 32) | activations in that minute */
	atomic_ullong per_minute[METRICS_MINUTES];

	pthread_mutex_t recent_lock;
	metrics_activation recent[METRICS_RECENT];
	size_t recent_next, recent_count;
} metrics;

metrics *metrics_new(int64_t now);
void metrics_free(metrics *m);

/* One answered request; `latency_ns` from whole PDU to response built. */
void metrics_record(metrics *m, const metrics_activation *a, uint64_t latency_ns);
void metrics_reject(metrics *m, enum metrics_reject why);
void metrics_conn_event(metrics *m, enum metrics_conn_event what);

/* The index used for a product group in activations[]: its table index,
 * or METRICS_GROUPS for unknown ones. */
size_t metrics_group_slot(uint16_t group);

/* A product group slot's answers by result, summed over protocol versions. */
void metrics_group_results(const metrics *m, size_t slot, uint64_t out[RESULT_KINDS]);

/* Answers by result over every product group and version. */
void metrics_results_total(const metrics *m, uint64_t out[RESULT_KINDS]);

/* PDUs the answerer rejected (a slow PDU, closed before it was whole, is
 * not one). */
uint64_t metrics_rejected_pdus(const metrics *m);

/* Activations in the minute `minute` (Unix seconds / 60), if still kept. */
uint64_t metrics_minute(const metrics *m, int64_t minute);

/* Copy up to `max` recent activations, newest first; returns how many. */
size_t metrics_recent(metrics *m, metrics_activation *out, size_t max);

#endif
