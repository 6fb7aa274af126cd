#include "server/peers.h"

#include <float.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/access.h"

#define WAYS 8
#define KEY_LEN 17                    /* kind, then up to 16 bytes */

enum key_kind { KEY_IPV4 = 4, KEY_IPV6 = 6, KEY_IPV4_24 = 24, KEY_IPV6_64 = 64 };

typedef struct entry {
	uint8_t key[KEY_LEN];         /* key[0] == 0: free */
	uint32_t connections;
	float tokens;                 /* FLT_MAX: a full bucket, whatever the rate */
	double last;                  /* last token taken, or creation */
} entry;

struct peers {
	pthread_mutex_t lock;
	uint8_t hash_key[SIPHASH_KEY_LEN];
	size_t n_sets;                /* a power of two */
	entry *e;                     /* n_sets * WAYS */
};

peers *peers_new(size_t min_entries, const uint8_t key[SIPHASH_KEY_LEN])
{
	size_t sets = 64;
	while (sets * WAYS < min_entries && sets < ((size_t)1 << 24))
		sets *= 2;
	peers *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->e = calloc(sets * WAYS, sizeof *t->e); /* pages are touched as sets fill */
	if (!t->e) {
		free(t);
		return NULL;
	}
	t->n_sets = sets;
	memcpy(t->hash_key, key, SIPHASH_KEY_LEN);
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void peers_free(peers *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->e);
	free(t);
}

void peers_lock(peers *t)
{
	pthread_mutex_lock(&t->lock);
}

void peers_unlock(peers *t)
{
	pthread_mutex_unlock(&t->lock);
}

/* Find `key`, or give it the best entry of its set: a free one, else one
 * with no connection whose bucket is full again (forgetting it changes
 * nothing), else the one with no connection used longest ago. */
static uint32_t find_key(peers *t, const uint8_t key[KEY_LEN], double now, uint32_t avoid)
{
	size_t set = (size_t)siphash24(t->hash_key, key, KEY_LEN) & (t->n_sets - 1);
	entry *ways = t->e + set * WAYS;
	int best = -1, rank = 0; /* 3 free, 2 forgettable, 1 idle */
	for (int i = 0; i < WAYS; i++) {
		entry *x = &ways[i];
		if (memcmp(x->key, key, KEY_LEN) == 0)
			return (uint32_t)(set * WAYS + (size_t)i);
		if ((uint32_t)(set * WAYS + (size_t)i) == avoid || x->connections)
			continue;
		int r = !x->key[0] ? 3 : now - x->last >= 1.0 ? 2 : 1;
		if (r > rank || (r == rank && r == 1 && x->last < ways[best].last)) {
			best = i;
			rank = r;
		}
	}
	if (best < 0)
		return PEER_NONE;
	entry *x = &ways[best];
	memcpy(x->key, key, KEY_LEN);
	x->connections = 0;
	x->tokens = FLT_MAX;
	x->last = now;
	return (uint32_t)(set * WAYS + (size_t)best);
}

bool peers_find(peers *t, const struct sockaddr_storage *peer, double now, peer_ref *out)
{
	out->address = out->prefix = PEER_NONE;
	const uint8_t *a = NULL;
	int family = access_peer_address(peer, &a);
	if (!family || !a)
		return true;
	uint8_t key[KEY_LEN] = { 0 };
	size_t len = family == AF_INET ? 4 : 16;
	key[0] = family == AF_INET ? KEY_IPV4 : KEY_IPV6;
	memcpy(key + 1, a, len);
	out->address = find_key(t, key, now, PEER_NONE);
	if (out->address == PEER_NONE)
		return false;
	memset(key, 0, sizeof key);
	key[0] = family == AF_INET ? KEY_IPV4_24 : KEY_IPV6_64;
	memcpy(key + 1, a, family == AF_INET ? 3 : 8);
	out->prefix = find_key(t, key, now, out->address);
	if (out->prefix == PEER_NONE) {
		out->address = PEER_NONE;
		return false;
	}
	return true;
}

bool peers_take_token(peers *t, uint32_t address, double per_second, double now)
{
	if (address == PEER_NONE || per_second <= 0)
		return true;
	entry *x = &t->e[address];
	double tokens = x->tokens + (now - x->last) * per_second;
	if (tokens > per_second)
		tokens = per_second;
	x->last = now;
	bool ok = tokens >= 1;
	x->tokens = (float)(ok ? tokens - 1 : tokens);
	return ok;
}

unsigned peers_connections(const peers *t, uint32_t index)
{
	return index == PEER_NONE ? 0 : t->e[index].connections;
}

void peers_attach(peers *t, peer_ref r)
{
	if (r.address != PEER_NONE)
		t->e[r.address].connections++;
	if (r.prefix != PEER_NONE)
		t->e[r.prefix].connections++;
}

void peers_detach(peers *t, peer_ref r)
{
	if (r.address != PEER_NONE && t->e[r.address].connections)
		t->e[r.address].connections--;
	if (r.prefix != PEER_NONE && t->e[r.prefix].connections)
		t->e[r.prefix].connections--;
}
