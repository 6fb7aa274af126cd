/* The client store: every client a host has seen, and the host's identity.
 *
 * An interface, so the server never sees SQL. Two backends: SQLite
 * ("sqlite:/path", one host) and PostgreSQL ("postgresql://..." or
 * "postgres://...", a libpq URI; several hosts share one database).
 * Writes from the event loops only enqueue (store_submit never blocks on
 * I/O); one writer thread drains the queue in batched transactions, a batch
 * every STORE_BATCH_MS / 4. Queries (for kmsc and the web API) open their
 * own connection. */
#ifndef KMSD_STORE_STORE_H
#define KMSD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/guid.h"

/* The batch interval: every client whose response was sent more than this
 * long before kmsd dies (even by kill -9) is in the store. The writer
 * starts a batch every STORE_BATCH_MS / 4 and commits it well within the
 * other half. */
#define STORE_BATCH_MS 250
#define STORE_QUEUE_MAX 65536        /* records waiting (22 MiB); beyond, new ones are dropped */
/* A shared database is polled this often for clients other hosts recorded. */
#define STORE_SYNC_MS 1000
/* Reconnecting to an unreachable database waits 0.25 s, then twice as long
 * each time up to this. */
#define STORE_RETRY_MAX_MS 4000

typedef struct store store;

/* One request as the host answered it. */
typedef struct store_record {
	kms_guid cmid;
	kms_guid app_id;                 /* the pool: the group's application */
	kms_guid kms_id;
	kms_guid sku_id;
	char workstation[192];           /* UTF-8 */
	char address[64];                /* client address:port */
	uint32_t license_status;
	uint16_t protocol_major, protocol_minor;
	int64_t time;                    /* Unix seconds */
	uint32_t result;                 /* 0 activated/answered, else the HRESULT */
	uint32_t count;                  /* CurrentCount answered */
	int64_t queued_ns;               /* set by store_submit: monotonic */
} store_record;

/* What a client row holds (keyed by CMID + application). */
typedef struct store_client {
	kms_guid cmid, app_id, kms_id, sku_id;
	char workstation[192];
	char address[64];
	uint32_t license_status;
	uint16_t protocol_major, protocol_minor;
	int64_t first_seen, last_seen;
	uint64_t requests;
	uint32_t last_result;
	uint32_t last_count;
} store_client;

/* Open (creating and migrating the schema) a store: "sqlite:/path" or a
 * PostgreSQL URI. Starts the writer thread unless read_only. NULL with a
 * message on error: a corrupt, locked or newer-schema database is a clear
 * error, never a crash. */
store *store_open(const char *spec, bool read_only, char *err, size_t err_len);

/* What the daemon adds: where the store's own log lines go (it logs an
 * outage of a shared database once, and once when it is back). */
/* What the daemon does with a store file that is not a database (garbage,
 * corrupt) at start or while it runs. */
enum store_broken {
	STORE_BROKEN_MOVE_ASIDE,         /* rename it PATH.broken-TIME, start a new one */
	STORE_BROKEN_RUN_WITHOUT,        /* keep it; serve without a store (at start) */
	STORE_BROKEN_EXIT,               /* refuse to start */
};

typedef struct store_options {
	void (*log)(void *ctx, bool error, const char *message);
	void *log_ctx;
	bool read_only;                  /* queries only (the web side) */
	bool sync_full;                  /* SQLite synchronous=FULL: commits survive power loss */
	enum store_broken broken;
	int64_t activity_retention;      /* seconds of activity log kept; 0: 30 days (activity.h) */
} store_options;

/* store_open for the daemon. With a shared database that cannot be
 * reached, it still opens: writes queue in the ring while the writer
 * reconnects, and calls that need the database fail until it is back
 * (each reconnects, at most every 2 s). */
store *store_open_with(const char *spec, const store_options *opt, char *err, size_t err_len);
/* A second handle on the daemon's store (the web's) follows the writer's
 * file: once the writer has set a broken or replaced file aside, its next
 * query reconnects to the new one. The writer's store outlives it. */
void store_follow_writer(store *reader, const store *writer);

/* What a store spec names: the one place that knows the spellings. */
enum store_kind {
	STORE_KIND_NONE,      /* "none": no store */
	STORE_KIND_SQLITE,    /* "sqlite:PATH": a file of this host's */
	STORE_KIND_SHARED,    /* "postgresql://" or "postgres://": several hosts */
	STORE_KIND_INVALID
};
enum store_kind store_spec_kind(const char *spec);
/* True for "postgresql://" and "postgres://" specs (several hosts may
 * share the store). */
bool store_spec_shared(const char *spec);
/* The file an sqlite: spec names (may be empty), NULL for any other spec. */
const char *store_spec_file(const char *spec);
/* The spec without a password, for log lines. */
void store_spec_display(const char *spec, char *out, size_t len);

/* Flush the queue and close. */
void store_close(store *s);
/* Write what is queued and stop the writer (store_writer_stats_get then
 * gives the final figures, store_close the rest). What is still queued
 * after STORE_STOP_WRITE_MS is saved as it is for the next start, so a stop
 * takes well under a second even with the writer behind. */
#define STORE_STOP_WRITE_MS 300
void store_stop_writing(store *s);

/* Enqueue a record; never blocks on I/O. False when the queue is full (the
 * record is dropped and counted in store_stats_dropped). */
bool store_submit(store *s, const store_record *r);

/* Wait until everything submitted so far is committed. */
bool store_flush(store *s);

/* Writer health for metrics. dropped counts every record that will never
 * be written: the queue was full, a record was refused, or the writer
 * stopped with the database away. errors counts failed attempts (a batch
 * that failed and is retried counts once per attempt). */
typedef struct store_writer_stats {
	uint64_t written, dropped, batches, errors;
	uint64_t retries;                /* attempts that kept their batch for later */
	/* records a stop could not write within STORE_STOP_WRITE_MS, kept in
	 * the store for the next start to write first (SQLite), never lost */
	uint64_t saved;
	size_t queue_depth;
	double last_batch_ms;
	double total_batch_ms;           /* over all batches, for an average */
	double max_batch_ms;             /* the longest batch since start */
	/* the longest a record waited from store_submit to its commit since
	 * start: what the kill -9 promise (STORE_BATCH_MS) is about */
	double max_wait_ms;
} store_writer_stats;
void store_writer_stats_get(store *s, store_writer_stats *out);

/* Host identity: small named values that must survive restarts (the
 * generated ePIDs' seed, the HwId, ...). Values are text. */
bool store_identity_get(store *s, const char *name, char *value, size_t len);
bool store_identity_set(store *s, const char *name, const char *value);

/* Clients answered (counted) at or after `since`, for rebuilding in-memory
 * counts; refused requests are kept as history but count for nothing. */
typedef void (*store_seen_fn)(void *ctx, const kms_guid *app, const kms_guid *cmid,
			      int64_t last_seen);
bool store_load_seen(store *s, int64_t since, store_seen_fn fn, void *ctx);
/* The answered records still queued, seen at or after `since` (what
 * store_load_seen does not read yet); fn runs with the queue locked, so
 * it must only copy. */
void store_queued_seen(store *s, int64_t since, store_seen_fn fn, void *ctx);
/* Both: the queued and the stored, once read whole, to fn oldest first (a
 * record written while being read comes twice). False, with fn never
 * called, when the store cannot be read or memory runs out: a count
 * rebuilt from it is only replaced once everything is in hand. */
bool store_seen_oldest_first(store *s, int64_t since, store_seen_fn fn, void *ctx);

/* The count keeps no more than `per_app` machines of one application (0:
 * no limit): a backend that can then reads only the newest `per_app` of
 * each in store_load_seen and store_follow's first load, so a host starts
 * in the same time and memory at a million clients as at a thousand. */
void store_limit_seen(store *s, size_t per_app);

/* With a shared database, keep calling `fn` (from a thread of the store)
 * with the clients every host records: first all seen in the last
 * `window` seconds, then every STORE_SYNC_MS the rows written since the
 * previous poll. Nothing to do (true) for a backend of one host. */
bool store_follow(store *s, int64_t window, store_seen_fn fn, void *ctx);

/* ---- queries ---------------------------------------------------------- */

/* Where a page ends, for the next one (keyset paging): the sort keys of its
 * last row. A page after a cursor holds the rows that sort after it, even
 * while rows are being added, so no row is skipped or shown twice. */
typedef struct store_cursor {
	int64_t last_seen;
	uint64_t requests;
	char workstation[192];
	kms_guid cmid, app_id;
} store_cursor;
/* A client's last answer, for filtering (answer_filter.c). */
enum store_answer {
	STORE_ANSWER_ANY,
	STORE_ANSWER_ACTIVATED,          /* answered, count at or above its group's N */
	STORE_ANSWER_BELOW,              /* answered, count below its group's N */
	STORE_ANSWER_REFUSED,            /* an HRESULT */
};

/* A product group's N, which the store does not know. */
typedef struct store_threshold {
	kms_guid kms_id;
	uint32_t n_policy;
} store_threshold;

/* A search matching at least this many clients is served by walking the
 * sort's index (it finds a page of matches in about limit x clients /
 * matches rows) rather than by sorting every match. */
#define STORE_SEARCH_COUNT_MAX 10000

typedef struct store_query {
	const kms_guid *kms_id;          /* NULL: any */
	const kms_guid *app_id;          /* NULL: any */
	int64_t since;                   /* last_seen >= since; 0: any */
	/* workstation or address starting with it, any case (an index serves
	 * it; a substring could not be); NULL: any */
	const char *search;
	/* "last_seen" (default, newest first), "workstation" (A to Z),
	 * "requests" (most first); ties by CMID */
	const char *order;
	size_t limit, offset;            /* limit 0: no limit */
	const store_cursor *after;       /* NULL, or only the rows after this one */
	/* total: count no further than this (0: all); a total equal to it
	 * means "at least". A search's matches are counted at every query,
	 * so callers cap it at STORE_SEARCH_COUNT_MAX: beyond, a count costs
	 * more than the page. */
	size_t count_max;
	enum store_answer answer;        /* STORE_ANSWER_ANY: any */
	const store_threshold *thresholds; /* for answer: each group's N; others count as 0 */
	size_t n_thresholds;
} store_query;

/* The cursor of a row, for store_query.after. */
void store_cursor_of(const store_client *c, store_cursor *out);

typedef bool (*store_client_fn)(void *ctx, const store_client *c); /* false stops */
bool store_clients(store *s, const store_query *q, store_client_fn fn, void *ctx,
		   size_t *total);

/* Distinct clients per (application, KMS id) seen at or after `since`
 * whose last request was answered (a refused group is not activating). */
typedef struct store_group_stat {
	kms_guid app_id, kms_id;
	uint64_t clients;
	int64_t last_seen;
} store_group_stat;
typedef bool (*store_stat_fn)(void *ctx, const store_group_stat *st);
bool store_group_stats(store *s, int64_t since, store_stat_fn fn, void *ctx);

/* Delete clients not seen since `before`; returns how many, -1 on error. */
long store_prune(store *s, int64_t before);

/* A copy of the whole store as of one moment, taken while kmsd goes on
 * writing, into `to`: a new file (mode 0600; one already there is
 * refused), a database of its own with no -wal beside it, synced. A
 * backend without it (PostgreSQL: pg_dump) fails, saying so. */
bool store_backup(store *s, const char *to);

/* Which clients kmsc forget removes: every given condition must hold (at
 * least one must be given). `workstation` is a case-insensitive pattern,
 * `*` any run of characters, `?` one. */
typedef struct store_forget_filter {
	const kms_guid *cmid;
	const char *workstation;
	const kms_guid *kms_id;
} store_forget_filter;
/* Delete the matching clients; returns how many, -1 on error. */
long store_forget(store *s, const store_forget_filter *f);

/* The last error message of a query on this handle. */
const char *store_error(store *s);

/* A time limit for each query on this handle (0: none): a query over it is
 * cancelled and fails, with store_timed_out true. */
void store_set_query_budget(store *s, int ms);
bool store_timed_out(store *s);
/* Cancel the query running on this handle now, from any thread (so a stop
 * never waits for one). */
void store_interrupt(store *s);

#endif
