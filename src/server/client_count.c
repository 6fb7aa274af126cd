#include "server/client_count.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Windows, Office 2010, Office 2013+ in the data file, with room for a few
 * more applications in a product-data file; plus the bucket of unknowns */
#define MAX_POOLS 8

typedef struct entry {
	kms_guid cmid;
	int64_t last_seen;
	struct entry *hash_next;
	struct entry *older, *newer;  /* last-seen order */
} entry;

typedef struct pool {
	kms_guid app;
	size_t capacity;              /* 2 x the highest N of the pool */
	pthread_mutex_t lock;
	entry **buckets;
	size_t n_buckets;             /* power of two */
	size_t n_entries;
	entry *oldest, *newest;
} pool;

/* The pools are fixed when the counter is made, so finding one takes no
 * lock and no request can add one; pools[n_pools] is the bucket every
 * unknown application id shares. */
struct client_count {
	pool pools[MAX_POOLS + 1];
	int n_pools;
	_Atomic int64_t window; /* set by a reload while workers count */
};

static void pool_init(pool *p, const kms_guid *app, size_t capacity)
{
	if (app)
		p->app = *app;
	p->capacity = capacity ? capacity : 1;
	pthread_mutex_init(&p->lock, NULL);
}

client_count *client_count_new(const kms_products *t, int64_t window_seconds,
			       size_t other_capacity)
{
	client_count *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	atomic_init(&c->window, window_seconds);
	for (size_t i = 0; i < t->n_apps && c->n_pools < MAX_POOLS; i++, c->n_pools++)
		pool_init(&c->pools[c->n_pools], &t->apps[i].id, kms_app_max_count(t, &t->apps[i]));
	pool_init(&c->pools[c->n_pools], NULL, other_capacity);
	return c;
}

size_t client_count_capacity(const client_count *c)
{
	size_t most = 0;
	for (int i = 0; i <= c->n_pools; i++)
		most = c->pools[i].capacity > most ? c->pools[i].capacity : most;
	return most;
}

void client_count_set_window(client_count *c, int64_t window_seconds)
{
	atomic_store_explicit(&c->window, window_seconds, memory_order_relaxed);
}

void client_count_free(client_count *c)
{
	if (!c)
		return;
	for (int i = 0; i <= c->n_pools; i++) {
		pool *p = &c->pools[i];
		for (entry *e = p->oldest, *next; e; e = next) {
			next = e->newer;
			free(e);
		}
		free(p->buckets);
		pthread_mutex_destroy(&p->lock);
	}
	free(c);
}

static size_t bucket_of(const pool *p, const kms_guid *cmid)
{
	/* CMIDs are random GUIDs: their bytes are already well mixed */
	uint64_t h;
	memcpy(&h, cmid->b + 8, sizeof h);
	return (size_t)(h ^ (h >> 29)) & (p->n_buckets - 1);
}

static pool *find_pool(client_count *c, const kms_guid *app)
{
	for (int i = 0; i < c->n_pools; i++)
		if (guid_cmp(&c->pools[i].app, app) == 0)
			return &c->pools[i];
	return &c->pools[c->n_pools];
}

static void unlink_order(pool *p, entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		p->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		p->newest = e->older;
	e->older = e->newer = NULL;
}

static void append_newest(pool *p, entry *e)
{
	e->older = p->newest;
	e->newer = NULL;
	if (p->newest)
		p->newest->newer = e;
	else
		p->oldest = e;
	p->newest = e;
}

static void remove_from_hash(pool *p, entry *e)
{
	entry **slot = &p->buckets[bucket_of(p, &e->cmid)];
	while (*slot != e)
		slot = &(*slot)->hash_next;
	*slot = e->hash_next;
}

static void expire(pool *p, int64_t cutoff, size_t capacity)
{
	/* unlink_order moves p->oldest on before the entry is freed */
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
	while (p->oldest && (p->oldest->last_seen < cutoff || p->n_entries > capacity)) {
		entry *e = p->oldest;
		unlink_order(p, e);
		remove_from_hash(p, e);
		free(e);
		p->n_entries--;
	}
}

static int grow(pool *p)
{
	size_t n = p->n_buckets ? p->n_buckets * 2 : 1024;
	entry **b = calloc(n, sizeof(entry *));
	if (!b)
		return -1;
	entry **old = p->buckets;
	size_t old_n = p->n_buckets;
	p->buckets = b;
	p->n_buckets = n;
	for (size_t i = 0; i < old_n; i++) {
		for (entry *e = old[i], *next; e; e = next) {
			next = e->hash_next;
			size_t k = bucket_of(p, &e->cmid);
			e->hash_next = b[k];
			b[k] = e;
		}
	}
	free(old);
	return 0;
}

uint32_t client_count_observe(client_count *c, const kms_guid *app, const kms_guid *cmid,
			      int64_t now)
{
	pool *p = find_pool(c, app);
	pthread_mutex_lock(&p->lock);
	expire(p, now - atomic_load_explicit(&c->window, memory_order_relaxed), p->capacity);
	if (p->n_entries >= p->n_buckets && grow(p) < 0) {
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	entry *e = p->buckets[bucket_of(p, cmid)];
	while (e && guid_cmp(&e->cmid, cmid) != 0)
		e = e->hash_next;
	if (e) {
		unlink_order(p, e);
	} else if ((e = calloc(1, sizeof *e))) {
		e->cmid = *cmid;
		size_t k = bucket_of(p, cmid);
		e->hash_next = p->buckets[k];
		p->buckets[k] = e;
		p->n_entries++;
	} else {
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	/* keep last-seen order even if the clock stepped back */
	e->last_seen = p->newest && p->newest->last_seen > now ? p->newest->last_seen : now;
	append_newest(p, e);
	expire(p, now - atomic_load_explicit(&c->window, memory_order_relaxed), p->capacity);
	uint32_t n = (uint32_t)p->n_entries;
	pthread_mutex_unlock(&p->lock);
	return n;
}

uint32_t client_count_get(client_count *c, const kms_guid *app, int64_t now)
{
	pool *p = find_pool(c, app);
	pthread_mutex_lock(&p->lock);
	expire(p, now - atomic_load_explicit(&c->window, memory_order_relaxed), p->capacity);
	uint32_t n = (uint32_t)p->n_entries;
	pthread_mutex_unlock(&p->lock);
	return n;
}

bool client_count_forget(client_count *c, const kms_guid *cmid)
{
	bool found = false;
	for (int i = 0; i <= c->n_pools; i++) {
		pool *p = &c->pools[i];
		pthread_mutex_lock(&p->lock);
		entry *e = p->n_buckets ? p->buckets[bucket_of(p, cmid)] : NULL;
		while (e && guid_cmp(&e->cmid, cmid) != 0)
			e = e->hash_next;
		if (e) {
			unlink_order(p, e);
			remove_from_hash(p, e);
			free(e);
			p->n_entries--;
			found = true;
		}
		pthread_mutex_unlock(&p->lock);
	}
	return found;
}

void client_count_clear(client_count *c)
{
	for (int i = 0; i <= c->n_pools; i++) {
		pool *p = &c->pools[i];
		pthread_mutex_lock(&p->lock);
		for (entry *e = p->oldest, *next; e; e = next) {
			next = e->newer;
			free(e);
		}
		p->oldest = p->newest = NULL;
		p->n_entries = 0;
		if (p->n_buckets)
			memset(p->buckets, 0, p->n_buckets * sizeof(entry *));
		pthread_mutex_unlock(&p->lock);
	}
}
