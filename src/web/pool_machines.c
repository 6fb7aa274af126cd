/* The machines per pool in the store, for "machines in 30 days" on the
 * dashboard, in /api/v1/status and kmsd_pool_clients: the in-memory count
 * stops at 2 x max-n-policy (all a client is ever told), the store holds
 * them all. Counted every WEB_POOL_REFRESH_S by a thread on the web's
 * store handle (a covering index serves it), so the pages that show it
 * read a number and never wait on the store. */
#include <errno.h>
#include <time.h>

#include "web/web_private.h"

typedef struct pool_sums {
	long long n[KMS_N_POOLS];
} pool_sums;

static bool add_group(void *ctx, const store_group_stat *g)
{
	pool_sums *sums = ctx;
	size_t pool = web_pool_of(&g->app_id);
	if (pool < KMS_N_POOLS)
		sums->n[pool] += (long long)g->clients;
	return true;
}

static void count_once(web *w)
{
	web_identity id;
	web_identity_copy(w, &id);
	pool_sums sums = { { 0, 0, 0 } };
	pthread_mutex_lock(&w->store_lock);
	bool ok = store_group_stats(w->store, (int64_t)time(NULL) - id.count_window, add_group,
				    &sums);
	pthread_mutex_unlock(&w->store_lock);
	for (size_t i = 0; ok && i < KMS_N_POOLS; i++)
		w->pool_machines[i] = sums.n[i];
}

static void *pool_main(void *arg)
{
	web *w = arg;
	pthread_mutex_lock(&w->pool_lock);
	while (!w->pool_stop) {
		pthread_mutex_unlock(&w->pool_lock);
		count_once(w);
		pthread_mutex_lock(&w->pool_lock);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += WEB_POOL_REFRESH_S;
		while (!w->pool_stop &&
		       pthread_cond_timedwait(&w->pool_wake, &w->pool_lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&w->pool_lock);
	return NULL;
}

void web_pool_machines_start(web *w)
{
	for (size_t i = 0; i < KMS_N_POOLS; i++)
		w->pool_machines[i] = -1;
	if (!w->store)
		return;
	pthread_mutex_init(&w->pool_lock, NULL);
	pthread_cond_init(&w->pool_wake, NULL);
	w->pool_running = pthread_create(&w->pool_thread, NULL, pool_main, w) == 0;
}

void web_pool_machines_stop(web *w)
{
	if (!w->pool_running)
		return;
	pthread_mutex_lock(&w->pool_lock);
	w->pool_stop = true;
	pthread_cond_signal(&w->pool_wake);
	pthread_mutex_unlock(&w->pool_lock);
	pthread_join(w->pool_thread, NULL);
	w->pool_running = false;
	pthread_cond_destroy(&w->pool_wake);
	pthread_mutex_destroy(&w->pool_lock);
}
