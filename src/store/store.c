/* The store's public calls: choose the backend from the spec, open, close,
 * and hand each query to the backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/activity_private.h"
#include "store/store_private.h"

void store_health(store *s, bool ok, const char *why)
{
	pthread_mutex_lock(&s->health_lock);
	bool changed = s->down == ok;
	s->down = !ok;
	pthread_mutex_unlock(&s->health_lock);
	if (!changed || !s->opt.log)
		return;
	char line[512];
	if (ok)
		snprintf(line, sizeof line, "client store reachable again; queued writes follow");
	else
		snprintf(line, sizeof line, "client store unreachable (%s); activations go on, writes "
			 "queue (up to %d) and kmsd reconnects", why, STORE_QUEUE_MAX);
	s->opt.log(s->opt.log_ctx, !ok, line);
}

static store *open_store(const char *spec, bool read_only, const store_options *opt, char *err,
			 size_t err_len)
{
	const store_backend *be;
	const char *target = spec;
	const char *file = store_spec_file(spec);
	if (file && file[0]) {
		be = &store_sqlite_backend;
		target = file;
	} else if (store_spec_kind(spec) == STORE_KIND_SHARED) {
		be = &store_pg_backend;
	} else {
		snprintf(err, err_len, "\"%s\" is not sqlite:/PATH or postgresql://...", spec);
		return NULL;
	}
	store *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	s->be = be;
	snprintf(s->target, sizeof s->target, "%s", target);
	s->read_only = read_only;
	if (opt)
		s->opt = *opt;
	/* the daemon's store: a tool writing (kmsc prune) leaves the records
	 * a stop saved to the daemon, so no two processes write them */
	s->takes_saved = opt != NULL;
	pthread_mutex_init(&s->health_lock, NULL);
	pthread_mutex_init(&s->db_lock, NULL);
	pthread_mutex_init(&s->identity_lock, NULL);
	char why[300];
	if (be->available && !be->available(why, sizeof why))
		goto fail; /* not an outage: nothing to wait for */
	s->db = be->connect(s->target, read_only, why, sizeof why);
	if (!read_only && opt && opt->broken == STORE_BROKEN_MOVE_ASIDE && be->broken &&
	    (!s->db || !be->migrate(s->db, why, sizeof why)) && be->broken(s->target)) {
		/* garbage or corrupt at start: set it aside rather than not start
		 * (a restart loop) or serve without a store */
		if (s->db)
			be->disconnect(s->db);
		char msg[1400];
		bool moved = be->set_aside(NULL, s->target, msg, sizeof msg);
		if (opt->log)
			opt->log(opt->log_ctx, true, msg);
		s->db = moved ? be->connect(s->target, read_only, why, sizeof why) : NULL;
	}
	if (!s->db) {
		/* a shared database may be down when kmsd starts (store_open_with):
		 * it still serves; tools get the error */
		if (!be->shared || !opt)
			goto fail;
		snprintf(s->error, sizeof s->error, "%s", why);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		s->db_retry_at = now.tv_sec + 2;
		if (read_only)
			return s; /* the writer's side logs the outage */
		store_health(s, false, why);
	} else if (read_only) {
		int v = be->schema_version(s->db);
		if (v != STORE_SCHEMA_VERSION) {
			snprintf(why, sizeof why, "schema version %d, this tool reads %d%s", v,
				 STORE_SCHEMA_VERSION,
				 v < STORE_SCHEMA_VERSION ? " (start kmsd once to migrate it)" : "");
			goto fail;
		}
		return s;
	} else if (!be->migrate(s->db, why, sizeof why)) {
		goto fail;
	}
	if (!store_writer_start(s, why, sizeof why))
		goto fail;
	return s;
fail:;
	char shown[512];
	store_spec_display(be == &store_sqlite_backend ? s->target : spec, shown, sizeof shown);
	snprintf(err, err_len, "%s: %s", shown, why);
	if (s->db)
		be->disconnect(s->db);
	pthread_mutex_destroy(&s->health_lock);
	pthread_mutex_destroy(&s->db_lock);
	pthread_mutex_destroy(&s->identity_lock);
	free(s);
	return NULL;
}

store *store_open(const char *spec, bool read_only, char *err, size_t err_len)
{
	return open_store(spec, read_only, NULL, err, err_len);
}

store *store_open_with(const char *spec, const store_options *opt, char *err, size_t err_len)
{
	return open_store(spec, opt->read_only, opt, err, err_len);
}

bool store_backup(store *s, const char *to)
{
	if (!s->be->backup) {
		snprintf(s->error, sizeof s->error, "a %s store is not copied by kmsd's tools: "
			 "back it up with the database's own (pg_dump)", s->be->name);
		return false;
	}
	return store_usable(s) && s->be->backup(s, to);
}

void store_follow_writer(store *reader, const store *writer)
{
	reader->follows = writer;
}

void store_stop_writing(store *s)
{
	store_sync_stop(s);
	if (s->writer_running)
		store_writer_stop(s);
}

void store_close(store *s)
{
	if (!s)
		return;
	store_stop_writing(s);
	if (s->db)
		s->be->disconnect(s->db);
	pthread_mutex_destroy(&s->health_lock);
	pthread_mutex_destroy(&s->db_lock);
	pthread_mutex_destroy(&s->identity_lock);
	free(s);
}

void store_fold_hours(store *s, void *writer_db, int64_t now)
{
	if (!s->be->fold_hours || now < s->hours_folded_at + STORE_FOLD_S)
		return;
	s->hours_folded_at = now;
	char why[256];
	bool ok = s->be->fold_hours(writer_db, why, sizeof why);
	/* once per failing spell: the idle writer folds every STORE_FOLD_S */
	if (!ok && !s->fold_failing && s->opt.log) {
		char line[320];
		snprintf(line, sizeof line, "client store: cannot fold the hourly counts: %s", why);
		s->opt.log(s->opt.log_ctx, true, line);
	}
	s->fold_failing = !ok;
}

const char *store_error(store *s)
{
	return s->error;
}

/* The opener's connection of a shared database may be missing (down at
 * start) or broken (the server restarted), and a file's may be on one the
 * writer set aside (queries would show it, frozen, and a prune delete from
 * it): connect again once per call. Not before the writer has set it
 * aside: a connection opened on a file renamed over the database, with
 * the old -wal beside it, would take that -wal for its own. */
bool store_usable(store *s)
{
	unsigned file = atomic_load(&(s->follows ? s->follows : s)->file_generation);
	if (s->db && !(s->be->shared && s->be->lost(s->db)) && s->db_file == file)
		return true;
	pthread_mutex_lock(&s->db_lock);
	if (s->db)
		s->be->disconnect(s->db);
	s->db = NULL;
	pthread_mutex_unlock(&s->db_lock);
	/* a host starting with the database away makes ~100 identity calls:
	 * each must not wait for a connection timeout */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < s->db_retry_at)
		return false;
	/* connecting may take long: outside the lock, so an interrupt never waits */
	void *db = s->be->connect(s->target, s->read_only, s->error, sizeof s->error);
	pthread_mutex_lock(&s->db_lock);
	s->db = db;
	s->db_file = file;
	pthread_mutex_unlock(&s->db_lock);
	if (!db)
		s->db_retry_at = now.tv_sec + 2;
	return db != NULL;
}

void store_limit_seen(store *s, size_t per_app)
{
	s->seen_per_app = per_app;
}

bool store_load_window(store *s, void *db, int64_t since, store_seen_fn fn, void *ctx,
		       char *err, size_t err_len)
{
	if (s->seen_per_app && s->be->load_newest)
		return s->be->load_newest(db, since, s->seen_per_app, fn, ctx, err, err_len);
	return s->be->load_seen(db, since, fn, ctx, err, err_len);
}

bool store_load_seen(store *s, int64_t since, store_seen_fn fn, void *ctx)
{
	return store_usable(s) &&
	       store_load_window(s, s->db, since, fn, ctx, s->error, sizeof s->error);
}

static void arm(store *s)
{
	s->timed_out = false;
	if (!s->be->arm_budget || (!s->budget_ms && !s->stopping))
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	s->query_deadline_ns = s->stopping ? 0
					   : (int64_t)now.tv_sec * 1000000000 + now.tv_nsec +
						     (int64_t)s->budget_ms * 1000000;
	s->be->arm_budget(s);
}

/* A failed query: say so plainly if it was over its time. */
static bool query_result(store *s, bool ok)
{
	if (!ok && s->budget_ms && s->be->cancelled && s->be->cancelled(s)) {
		s->timed_out = true;
		snprintf(s->error, sizeof s->error, "the query took longer than %d ms and was "
			 "cancelled", s->budget_ms);
	}
	return ok;
}

bool store_clients(store *s, const store_query *q, store_client_fn fn, void *ctx, size_t *total)
{
	if (!store_usable(s))
		return false;
	arm(s);
	return query_result(s, s->be->clients(s, q, fn, ctx, total));
}

bool store_group_stats(store *s, int64_t since, store_stat_fn fn, void *ctx)
{
	if (!store_usable(s))
		return false;
	arm(s);
	return query_result(s, s->be->group_stats(s, since, fn, ctx));
}

void store_set_query_budget(store *s, int ms)
{
	s->budget_ms = ms;
}

bool store_timed_out(store *s)
{
	return s->timed_out;
}

void store_interrupt(store *s)
{
	s->stopping = true; /* the queries that start after this one too */
	pthread_mutex_lock(&s->db_lock);
	if (s->be->interrupt && s->db)
		s->be->interrupt(s);
	pthread_mutex_unlock(&s->db_lock);
}

long store_prune(store *s, int64_t before)
{
	long n = store_usable(s) ? s->be->prune(s, before) : -1;
	if (n >= 0 && store_activity_prune(s, before) < 0)
		n = -1;
	return n;
}

long store_forget(store *s, const store_forget_filter *f)
{
	if (!f->cmid && !f->workstation && !f->kms_id) {
		snprintf(s->error, sizeof s->error, "forget needs a machine id, a workstation or a product");
		return -1;
	}
	return store_usable(s) ? s->be->forget(s, f) : -1;
}

void store_protocol_parse(const char *text, uint16_t *major, uint16_t *minor)
{
	char *end;
	unsigned long a = strtoul(text ? text : "", &end, 10);
	unsigned long b = *end == '.' ? strtoul(end + 1, &end, 10) : 0;
	bool ok = text && end != text && a <= UINT16_MAX && b <= UINT16_MAX;
	*major = ok ? (uint16_t)a : 0;
	*minor = ok ? (uint16_t)b : 0;
}

void store_cursor_of(const store_client *c, store_cursor *out)
{
	memset(out, 0, sizeof *out);
	out->last_seen = c->last_seen;
	out->requests = c->requests;
	snprintf(out->workstation, sizeof out->workstation, "%s", c->workstation);
	out->cmid = c->cmid;
	out->app_id = c->app_id;
}
