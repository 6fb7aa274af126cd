/* Who may talk to the host: CIDR allow and deny lists, checked when a
 * connection is accepted, before it costs anything else (the per-address
 * limits are in peers.h). */
#ifndef KMSD_SERVER_ACCESS_H
#define KMSD_SERVER_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct cidr {
	uint8_t family;               /* AF_INET or AF_INET6 */
	uint8_t bits;
	uint8_t addr[16];
} cidr;

/* "192.0.2.0/24", "2001:db8::/32", or a single address. */
bool cidr_parse(const char *text, cidr *out);
void cidr_format(const cidr *c, char *out, size_t len);
/* IPv4-mapped IPv6 peers match IPv4 entries. */
bool cidr_match(const cidr *c, const struct sockaddr_storage *peer);

/* Deny wins; with an allow list, only listed peers get in. */
bool access_permitted(const cidr *allow, size_t n_allow, const cidr *deny, size_t n_deny,
		      const struct sockaddr_storage *peer);

/* The peer's address bytes and family (AF_INET or AF_INET6; IPv4-mapped
 * IPv6 as IPv4), or 0 for other families. */
int access_peer_address(const struct sockaddr_storage *peer, const uint8_t **bytes);

#endif
