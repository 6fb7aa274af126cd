/* One DNS dynamic update (RFC 2136) of one SRV record, built, signed with
 * TSIG (RFC 8945) and sent by ldns; private to the dns_* files. Every call
 * blocks for at most a few seconds: only the publisher thread makes them. */
#ifndef KMSD_DNS_DNS_UPDATE_H
#define KMSD_DNS_DNS_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/dns_config.h"

#define DNS_SECRET_MAX 256

/* Where updates go and how they are signed. */
typedef struct dns_endpoint {
	char address[64];                 /* numeric IPv4 or IPv6 */
	uint16_t port;
	char text[80];                    /* "ADDR:PORT" or "[ADDR6]:PORT", for logs */
	char key_name[DNS_NAME_MAX];      /* "" = unsigned */
	char key_algorithm[16];
	char key_secret[DNS_SECRET_MAX];  /* base64 */
} dns_endpoint;

/* One SRV record: _vlmcs._tcp.ZONE TTL IN SRV PRIORITY WEIGHT PORT TARGET */
typedef struct dns_srv {
	char zone[DNS_NAME_MAX];
	uint32_t ttl;
	uint16_t priority, weight, port;
	char target[DNS_NAME_MAX];
} dns_srv;

bool dns_srv_equal(const dns_srv *a, const dns_srv *b);

/* Add the record (prerequisite-free: other hosts' records in the RRset
 * stay), or delete exactly this record (class NONE, same rdata). */
bool dns_update_srv(const dns_endpoint *ep, const dns_srv *rr, bool add, char *err,
		    size_t err_len);

/* The zone's primary server, the MNAME of its SOA, asked of the system's
 * resolvers; then its address. */
bool dns_zone_primary(const char *zone, char *name, size_t name_len, char *err, size_t err_len);

/* NAME, ADDR or either with a port (dns_split_server) to a numeric
 * address and port. */
bool dns_endpoint_resolve(const char *server, dns_endpoint *ep, char *err, size_t err_len);

/* This machine's fully qualified name (the canonical name of its host
 * name). */
bool dns_local_fqdn(char *out, size_t len, char *err, size_t err_len);

/* Read a TSIG secret file: base64 text, refused unless only its owner may
 * read or write it. */
bool dns_secret_load(const char *path, char *secret, size_t cap, char *err, size_t err_len);

#endif
