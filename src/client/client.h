/* kmsc internals shared by its subcommands. */
#ifndef KMSD_CLIENT_CLIENT_H
#define KMSD_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kms/products.h"

#define KMSC_VERSION "0.1.0"
#define KMS_PORT "1688"

/* Exit codes scripts can rely on. */
enum kmsc_exit {
	EXIT_VALID = 0,        /* the host's answer passed every check */
	EXIT_CHECKS = 1,       /* an answer came but failed checks (or no GVLK) */
	EXIT_USAGE = 2,
	EXIT_REFUSED = 3,      /* the host answered with an HRESULT or a fault */
	EXIT_NETWORK = 4,      /* no connection, timeout, malformed PDUs */
	EXIT_BELOW = 5,        /* a valid answer, but its count is below the client's N
				* policy: the client would get 0xC004F038, not activate */
};

int cmd_activate(int argc, char **argv);
int cmd_products(int argc, char **argv);
int cmd_gvlk(int argc, char **argv);
int cmd_srv_record(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_clients(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_ping(int argc, char **argv);

/* ---- products (products_cmd.c) ---- */

/* A SKU by number (as `kmsc products` shows), GUID or name fragment.
 * On no or several matches prints why to stderr and returns NULL. */
const kms_sku *product_select(const char *text);
const kms_group *sku_group(const kms_sku *s);
const kms_app *sku_app(const kms_sku *s);

/* ---- network (net.c) ---- */

/* "host", "host:port", "[v6]:port" -> host and port strings. */
bool split_host_port(const char *text, char *host, size_t host_len, char *port, size_t port_len);
/* Connect with a timeout, trying every address; -1 with a message. */
int net_connect(const char *host, const char *port, int timeout_ms, char *err, size_t err_len);
bool net_send(int fd, const uint8_t *buf, size_t len, int timeout_ms);
/* Read one whole PDU (framed by frag_length). Returns its length, 0 if
 * the host closed before sending anything, NET_FAILED on a timeout, a read
 * error or a close inside the PDU, NET_MALFORMED when the header is bad
 * (message in err either way). */
#define NET_FAILED (-1)
#define NET_MALFORMED (-2)
long net_read_pdu(int fd, uint8_t *buf, size_t cap, int timeout_ms, char *err, size_t err_len);

/* ---- DNS SRV discovery (discover.c) ---- */

typedef struct srv_target {
	char host[256];
	char address[64];      /* the target's address as the same DNS server gave it; may be empty */
	char port[8];
	uint16_t priority, weight;
} srv_target;

/* Look up _vlmcs._tcp.DOMAIN (DOMAIN NULL: the resolver's search domain)
 * and order the answers as RFC 2782 says. dns_server "IP[:PORT]" or NULL.
 * Returns the count, -1 with a message. */
int discover_hosts(const char *domain, const char *dns_server, srv_target *out, int max,
		   char *err, size_t err_len);
/* The resolver's default domain, for srv-record; false if none. */
bool default_domain(char *out, size_t len);

/* ---- load (bench.c) ---- */

/* The client machine id kmsc bench sends as machine number `machine`:
 * the same every run, different for every number, spread as random
 * GUIDs are. */
void bench_machine_cmid(uint64_t machine, kms_guid *out);
/* Its workstation name, bench-H-N.kmsc.example: N the number, H six hex
 * digits that spread the names over a store's name index as a fleet's. */
void bench_machine_name(uint64_t machine, char *out, size_t len);

/* ---- output helpers (print.c) ---- */

void json_string(FILE *f, const char *s);
void hex_string(char *out, const uint8_t *p, size_t n);
const char *hresult_text(uint32_t hr);
void format_filetime(uint64_t ft, char *out, size_t len);

#endif
