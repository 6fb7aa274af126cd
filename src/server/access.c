#include "server/access.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cidr_parse(const char *text, cidr *out)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	if (n == 0 || n >= sizeof addr)
		return false;
	memcpy(addr, text, n);
	addr[n] = 0;
	memset(out, 0, sizeof *out);
	unsigned max;
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	unsigned long bits = max;
	if (slash) {
		char *end;
		bits = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || bits > max)
			return false;
	}
	out->bits = (uint8_t)bits;
	return true;
}

void cidr_format(const cidr *c, char *out, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	inet_ntop(c->family, c->addr, addr, sizeof addr);
	snprintf(out, len, "%s/%u", addr, c->bits);
}

/* The peer's address bytes and family, IPv4-mapped IPv6 as IPv4. */
static int peer_address(const struct sockaddr_storage *peer, const uint8_t **bytes)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (peer->ss_family == AF_INET) {
		*bytes = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
		return AF_INET;
	}
	if (peer->ss_family == AF_INET6) {
		const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
		if (memcmp(a, mapped, sizeof mapped) == 0) {
			*bytes = a + 12;
			return AF_INET;
		}
		*bytes = a;
		return AF_INET6;
	}
	return 0;
}

bool cidr_match(const cidr *c, const struct sockaddr_storage *peer)
{
	const uint8_t *a = NULL;
	if (peer_address(peer, &a) != c->family || !a)
		return false;
	unsigned full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(a, c->addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		return (a[full] & mask) == (c->addr[full] & mask);
	}
	return true;
}

bool access_permitted(const cidr *allow, size_t n_allow, const cidr *deny, size_t n_deny,
		      const struct sockaddr_storage *peer)
{
	for (size_t i = 0; i < n_deny; i++)
		if (cidr_match(&deny[i], peer))
			return false;
	if (n_allow == 0)
		return true;
	for (size_t i = 0; i < n_allow; i++)
		if (cidr_match(&allow[i], peer))
			return true;
	return false;
}

#define BUCKETS 8192

typedef struct bucket {
	uint8_t addr[16];
	int family;
	double tokens, last;
} bucket;

struct rate_limiter {
	pthread_mutex_t lock;
	bucket b[BUCKETS];
};

rate_limiter *rate_limiter_new(void)
{
	rate_limiter *r = calloc(1, sizeof *r);
	if (r)
		pthread_mutex_init(&r->lock, NULL);
	return r;
}

void rate_limiter_free(rate_limiter *r)
{
	if (r) {
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
}

bool rate_limiter_allow(rate_limiter *r, const struct sockaddr_storage *peer, double per_second,
			double now)
{
	const uint8_t *a = NULL;
	int family = peer_address(peer, &a);
	if (!family || per_second <= 0)
		return true;
	size_t len = family == AF_INET ? 4 : 16;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ a[i]) * 16777619u;

	pthread_mutex_lock(&r->lock);
	bucket *b = &r->b[h % BUCKETS];
	/* a slot taken by another address is simply reused: a collision can
	 * only give that address a fresh bucket, never block anyone else */
	if (b->family != family || memcmp(b->addr, a, len) != 0) {
		memset(b, 0, sizeof *b);
		memcpy(b->addr, a, len);
		b->family = family;
		b->tokens = per_second;
		b->last = now;
	}
	b->tokens += (now - b->last) * per_second;
	if (b->tokens > per_second)
		b->tokens = per_second;
	b->last = now;
	bool ok = b->tokens >= 1;
	if (ok)
		b->tokens -= 1;
	pthread_mutex_unlock(&r->lock);
	return ok;
}
