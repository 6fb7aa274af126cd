/* The store's shared state and the backend interface (private to src/store).
 *
 * store.c dispatches the public calls to a backend, writer.c owns the ring
 * and the writer thread, sync.c follows what other hosts write. A backend
 * (sqlite_*.c, pg_*.c) only turns calls into SQL on one connection. */
#ifndef KMSD_STORE_STORE_PRIVATE_H
#define KMSD_STORE_STORE_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "store/store.h"

#define STORE_SCHEMA_VERSION 7
#define STORE_IDENTITY_MAX 64     /* the ePID seed and one ePID per CSVLK */

/* How a batch went. Only WRITTEN takes it out of the ring:
 * - REFUSED: a record in it is refused for what it holds (a constraint, a
 *   type): the writer retries record by record and drops only the refused
 *   ones, counted and logged;
 * - BUSY: another connection holds the lock (a prune between chunks):
 *   kept, retried at the next cycle;
 * - RETRY: disk full, a lock held for long, any other error: kept, retried
 *   with growing backoff on the same connection;
 * - LOST: the connection is gone: kept, retried after reconnecting;
 * - BROKEN: the file is no longer a database (garbage, corrupt, replaced):
 *   kept, retried after the writer sets the file aside (store_broken). */
enum store_write {
	STORE_WRITTEN, STORE_REFUSED, STORE_BUSY, STORE_RETRY, STORE_LOST, STORE_BROKEN
};

typedef struct store_backend {
	const char *name;
	/* several hosts can share it: kmsd follows the rows others write, and
	 * an unreachable database at start is an outage, not an error */
	bool shared;
	/* NULL, or whether the backend's library can be used at all */
	bool (*available)(char *err, size_t err_len);
	void *(*connect)(const char *target, bool read_only, char *err, size_t err_len);
	void (*disconnect)(void *db);
	/* bring the schema to STORE_SCHEMA_VERSION, atomically */
	bool (*migrate)(void *db, char *err, size_t err_len);
	int (*schema_version)(void *db);
	enum store_write (*write_batch)(void *db, const store_record *r, size_t n, char *err,
					size_t err_len);
	/* shared backends: rows written at or after `stored_since` (the
	 * database's clock), and the database's time now in *db_now */
	bool (*changed)(void *db, int64_t stored_since, int64_t *db_now, store_seen_fn fn,
			void *ctx, char *err, size_t err_len);
	/* true if a failed call on this connection means it is gone */
	bool (*lost)(void *db);
	/* NULL, or settings of the writer's connection (synchronous); helper
	 * is what writer_helper_start returned */
	void (*configure)(void *db, const store_options *opt, void *helper);
	/* NULL, or work beside the writer for as long as it runs (SQLite:
	 * its checkpoints); NULL from start is no helper */
	void *(*writer_helper_start)(const char *target, const store_options *opt);
	void (*writer_helper_stop)(void *helper);
	/* NULL, or whether the file at target exists but is not a usable
	 * database (garbage, corrupt): what may be set aside */
	bool (*broken)(const char *target);
	/* move a broken file (and its journals) aside, rescuing what the old
	 * connection `old` (NULL: none) can still read into a new file in its
	 * place; says what it did in msg */
	bool (*set_aside)(void *old, const char *target, char *msg, size_t msg_len);

	/* on a given connection */
	/* 1 found, 0 absent, -1 error */
	int (*identity_get)(void *db, const char *name, char *value, size_t len, char *err,
			    size_t err_len);
	/* replace: overwrite; else keep a value already there */
	bool (*identity_put)(void *db, const char *name, const char *value, bool replace,
			     char *err, size_t err_len);
	bool (*load_seen)(void *db, int64_t since, store_seen_fn fn, void *ctx, char *err,
			  size_t err_len);
	/* NULL, or load_seen of only the newest `per_app` of each application,
	 * still called oldest first */
	bool (*load_newest)(void *db, int64_t since, size_t per_app, store_seen_fn fn, void *ctx,
			    char *err, size_t err_len);
	/* the public queries, on the opener's connection s->db */
	bool (*clients)(store *s, const store_query *q, store_client_fn fn, void *ctx,
			size_t *total);
	bool (*group_stats)(store *s, int64_t since, store_stat_fn fn, void *ctx);
	/* NULL, or fold the changes to the hourly counters into them (on the
	 * writer's connection, every STORE_FOLD_S) */
	bool (*fold_hours)(void *db, char *err, size_t err_len);
	/* NULL, or keep records a stop cannot write in time, in one quick
	 * transaction, for the next start (replacing those up to `upto` that
	 * were loaded back and not written yet); load_queued gives back up to
	 * max of them, oldest first, and in *upto where they end, for
	 * forget_queued once they are written (-1: error, with err) */
	bool (*save_queued)(void *db, const store_record *const *r, size_t n, int64_t upto,
			    char *err, size_t err_len);
	long (*load_queued)(void *db, store_record *out, size_t max, int64_t *upto, char *err,
			    size_t err_len);
	bool (*forget_queued)(void *db, int64_t upto, char *err, size_t err_len);
	/* NULL, or make the batch running on this writer connection fail (as
	 * busy: kept and retried) once *flag is set, so a stop never waits
	 * for a long batch */
	void (*abort_on)(void *db, _Atomic bool *flag);
	/* NULL, or arm the time limit of the next query on s->db (budget_ms,
	 * query_deadline) */
	void (*arm_budget)(store *s);
	/* whether the last failure on s->db was a cancellation */
	bool (*cancelled)(store *s);
	void (*interrupt)(store *s);
	long (*prune)(store *s, int64_t before);
	long (*forget)(store *s, const store_forget_filter *f);
	/* NULL, or store_backup on s->db */
	bool (*backup)(store *s, const char *to);
} store_backend;

extern const store_backend store_sqlite_backend;
extern const store_backend store_pg_backend;

struct store {
	const store_backend *be;
	char target[512];             /* the path or the connection URI */
	bool read_only;
	void *db;                     /* the opener's connection: queries, identity */
	/* bumped by the writer each time it set a broken file aside and put
	 * a new one in its place; db is on the file of db_file */
	_Atomic unsigned file_generation;
	unsigned db_file;
	const store *follows;         /* store_follow_writer: whose generation */
	int64_t db_retry_at;          /* monotonic seconds: no reconnecting before */
	char error[300];
	store_options opt;
	int budget_ms;                /* per query on db; 0: none */
	int64_t query_deadline_ns;    /* monotonic, of the query running */
	bool timed_out;
	_Atomic bool stopping;        /* store_interrupt: every query fails from now on */
	/* held while db is replaced, and by store_interrupt, which comes from
	 * another thread than the one querying (and reconnecting) on db */
	pthread_mutex_t db_lock;

	/* identity values as last read or set: a shared database may be away
	 * (identity.c) */
	pthread_mutex_t identity_lock;
	struct store_identity {
		char name[96], value[96];
		bool pending;         /* set while away: written once it is back */
	} identity[STORE_IDENTITY_MAX];
	size_t n_identity;

	/* reachability, for the log: one line when lost, one when back */
	pthread_mutex_t health_lock;
	bool down;

	/* the writer: a ring of records, drained by one thread */
	void *writer_db;
	void *writer_helper;            /* be->writer_helper_start's */
	pthread_t writer;
	bool writer_running;
	pthread_mutex_t lock;
	pthread_cond_t wake, committed_cond;
	store_record *ring;
	size_t head, count;
	uint64_t submitted, committed;  /* record sequence numbers, for flush */
	bool stop;
	bool writer_down;               /* flush does not wait through an outage */
	store_writer_stats stats;
	/* dropped since the writer's last log line about drops, by cause */
	uint64_t unlogged_full, unlogged_refused;
	int64_t activity_trimmed_at;    /* activity.c: the writer's last trim */
	int64_t hours_folded_at;        /* store.c: the writer's last fold_hours */
	bool fold_failing;              /* the last one failed (logged once) */
	struct timespec stop_at;        /* monotonic: when the stop began */
	_Atomic bool abort_batch;       /* the stop: end the batch in flight */
	/* records saved by the last stop, loaded back into the ring: written
	 * once none is left in it; they end at queued_upto */
	size_t prepended;               /* of them still at the head of the ring */
	bool saved_due;                 /* the first load is still to come */
	bool takes_saved;               /* opened by the daemon: loads them */
	int64_t queued_upto;
	bool queued_more;               /* more saved than one load took */

	/* the follower (sync.c): rows other hosts wrote */
	pthread_t sync;
	bool sync_running, sync_stop;
	pthread_mutex_t sync_lock;
	pthread_cond_t sync_wake;
	int64_t window;
	store_seen_fn seen;
	void *seen_ctx;
	size_t seen_per_app;          /* store_limit_seen; 0: every client */
};

/* Rows gathered by a backend's load_newest (seen_rows.c). */
typedef struct seen_row {
	kms_guid app, cmid;
	int64_t seen;
} seen_row;
typedef struct seen_rows {
	seen_row *rows;
	size_t n, cap;
} seen_rows;
/* Past this many application ids (clients sending made-up ones), one
 * query per application would cost more than reading the window. */
#define SEEN_NEWEST_APPS_MAX 64
/* The newest rows are held to be merged (40 bytes each): past this many
 * (a max-n-policy of 100,000 makes pools of 200,000), reading the window
 * whole costs less memory. */
#define SEEN_NEWEST_ROWS_MAX 262144
bool seen_rows_add(seen_rows *l, const kms_guid *app, const kms_guid *cmid, int64_t seen);
/* To fn, oldest first. */
void seen_rows_feed(seen_rows *l, store_seen_fn fn, void *ctx);
void seen_rows_free(seen_rows *l);

/* The clients seen since `since` on db, as few as store_limit_seen allows. */
bool store_load_window(store *s, void *db, int64_t since, store_seen_fn fn, void *ctx,
		       char *err, size_t err_len);

/* The opener's connection, reconnected if a shared database dropped it. */
bool store_usable(store *s);

/* Report a connection that works or failed; logs only the transitions. */
void store_health(store *s, bool ok, const char *why);
/* After a written batch: fold the counters' changes if the backend keeps
 * them apart and STORE_FOLD_S has passed (the writer's thread). */
#define STORE_FOLD_S 2
void store_fold_hours(store *s, void *writer_db, int64_t now);

/* Write identity values set while the database was away (without
 * replacing what another host wrote meanwhile). */
void store_identity_flush(store *s, void *db);

bool store_writer_start(store *s, char *err, size_t err_len);
void store_writer_stop(store *s);
void store_sync_stop(store *s);

/* The answer= filter of a client query as " AND ..." (answer_filter.c);
 * false if it does not fit in cap. */
bool store_answer_sql(const store_query *q, bool postgres, char *out, size_t cap);

/* "6.0" as stored in the protocol column; 0.0 for anything else. */
void store_protocol_parse(const char *text, uint16_t *major, uint16_t *minor);

/* Replace bytes that are not UTF-8 with '?' (databases that check text
 * would refuse a whole batch over one odd workstation name). */
void store_utf8_clean(char *dst, size_t cap, const char *src);

#endif
