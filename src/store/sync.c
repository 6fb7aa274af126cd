/* Following a shared database: every host writes its own clients, and each
 * needs everyone's to count. A thread with its own connection polls every
 * STORE_SYNC_MS for rows written since its previous poll, by the database's
 * clock (stored_at), so neither clock skew between hosts nor a host that
 * writes a backlog late after an outage hides a client. The first poll, and
 * the first after every reconnection, loads every client of the window. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "store/store_private.h"

/* A poll reads back from before the previous one's start: a batch written
 * in a transaction that began earlier commits a little later. */
#define SYNC_MARGIN_S 3

typedef struct follower {
	store *s;
	void *db;
	bool loaded;                  /* the window is in memory */
	int64_t since;                /* stored_at of the next poll */
	bool error_logged;
} follower;

static void poll_once(follower *f)
{
	store *s = f->s;
	char why[300];
	if (!f->db) {
		f->db = s->be->connect(s->target, true, why, sizeof why);
		if (!f->db) {
			store_health(s, false, why);
			return;
		}
		f->loaded = false;
	}
	/* the writer creates the schema of a database that was away at start */
	if (s->be->schema_version(f->db) != STORE_SCHEMA_VERSION) {
		if (s->be->lost(f->db)) {
			s->be->disconnect(f->db);
			f->db = NULL;
		}
		return;
	}
	int64_t db_now = 0;
	bool ok = s->be->changed(f->db, f->loaded ? f->since : 0, &db_now,
				 f->loaded ? s->seen : NULL, s->seen_ctx, why, sizeof why);
	if (ok && !f->loaded) {
		/* stored_at says nothing of the window: the first load is by
		 * last_seen, like the one at start */
		ok = store_load_window(s, f->db, (int64_t)time(NULL) - s->window, s->seen,
				       s->seen_ctx, why, sizeof why);
	}
	if (ok) {
		f->loaded = true;
		f->since = db_now - SYNC_MARGIN_S;
		f->error_logged = false;
		return;
	}
	if (s->be->lost(f->db)) {
		store_health(s, false, why);
		s->be->disconnect(f->db);
		f->db = NULL;
	} else if (!f->error_logged && s->opt.log) {
		/* not an outage, but worth one line until it goes away */
		char line[400];
		snprintf(line, sizeof line, "client store: following other hosts failed: %s", why);
		s->opt.log(s->opt.log_ctx, true, line);
		f->error_logged = true;
	}
}

static void *sync_main(void *arg)
{
	store *s = arg;
	follower f = { .s = s };
	pthread_mutex_lock(&s->sync_lock);
	while (!s->sync_stop) {
		pthread_mutex_unlock(&s->sync_lock);
		poll_once(&f);
		pthread_mutex_lock(&s->sync_lock);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += STORE_SYNC_MS % 1000 * 1000000L;
		until.tv_sec += STORE_SYNC_MS / 1000 + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (!s->sync_stop &&
		       pthread_cond_timedwait(&s->sync_wake, &s->sync_lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->sync_lock);
	if (f.db)
		s->be->disconnect(f.db);
	return NULL;
}

bool store_follow(store *s, int64_t window, store_seen_fn fn, void *ctx)
{
	if (!s->be->shared || s->read_only || s->sync_running || !fn)
		return true;
	s->window = window;
	s->seen = fn;
	s->seen_ctx = ctx;
	pthread_mutex_init(&s->sync_lock, NULL);
	pthread_cond_init(&s->sync_wake, NULL);
	if (pthread_create(&s->sync, NULL, sync_main, s) != 0) {
		snprintf(s->error, sizeof s->error, "cannot start following the shared store");
		return false;
	}
	s->sync_running = true;
	return true;
}

void store_sync_stop(store *s)
{
	if (!s->sync_running)
		return;
	pthread_mutex_lock(&s->sync_lock);
	s->sync_stop = true;
	pthread_cond_signal(&s->sync_wake);
	pthread_mutex_unlock(&s->sync_lock);
	pthread_join(s->sync, NULL);
	s->sync_running = false;
	pthread_cond_destroy(&s->sync_wake);
	pthread_mutex_destroy(&s->sync_lock);
}
