/* The dns-* settings of kmsd.conf: publishing this host's _vlmcs._tcp SRV
 * record by DNS dynamic update (RFC 2136), optionally signed with TSIG.
 *
 * The settings are rows of config_table.c; this file has what their
 * values need beyond the table's types. Parsing only, like the rest of
 * config*.c: checks that need the whole
 * configuration or the file system (the TSIG secret file) are done by
 * dns_publish_check() when kmsd starts, reloads or runs with -t. */
#ifndef KMSD_SERVER_DNS_CONFIG_H
#define KMSD_SERVER_DNS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DNS_NAME_MAX 254 /* 253 characters of a name without the final dot */

typedef struct dns_publish_config {
	bool enabled;                     /* dns-publish */
	char zone[DNS_NAME_MAX];          /* dns-zone, without the final dot */
	char server[DNS_NAME_MAX + 8];    /* dns-server: "" = the zone's SOA MNAME */
	uint32_t ttl;                     /* dns-ttl, seconds */
	uint16_t priority, weight;        /* dns-priority, dns-weight */
	char host[DNS_NAME_MAX];          /* dns-host: "" = this machine's FQDN */
	uint16_t port;                    /* dns-port: 0 = the first listen port */
	char tsig_name[DNS_NAME_MAX];     /* dns-tsig-name: "" = unsigned updates */
	char tsig_algorithm[16];          /* dns-tsig-algorithm */
	char tsig_secret_file[256];       /* dns-tsig-secret-file */
} dns_publish_config;

/* The dns-* values that need more than the table's types, as the rows
 * of config_table.c name them (setting_text): a DNS name, the server, the
 * TSIG algorithm (stored in its lower-case spelling). */
bool dns_name_value(const char *v, char *out, size_t cap, char *why);
bool dns_server_value(const char *v, char *out, size_t cap, char *why);
bool dns_algorithm_value(const char *v, char *out, size_t cap, char *why);

/* A host or zone name as DNS carries it: labels of 1 to 63 letters,
 * digits, '-' or '_', 253 characters at most. The final dot is dropped,
 * so a name is stored one way only. Names that pass are safe in the text
 * form ldns parses. */
bool dns_name_check(const char *v, char *out, size_t cap, char *why, size_t why_len);

/* HOST, HOST:PORT, ADDR4:PORT or [ADDR6]:PORT into host and port (53 when
 * none is given); false if the text is none of these. */
bool dns_split_server(const char *v, char *host, size_t host_len, uint16_t *port);

#endif
