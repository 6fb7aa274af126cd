#include "server/access.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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

int access_peer_address(const struct sockaddr_storage *peer, const uint8_t **bytes)
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
	if (access_peer_address(peer, &a) != c->family || !a)
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
