/* Finding KMS hosts through DNS SRV records (_vlmcs._tcp), with the
 * system resolver library parsing the answer, ordered as RFC 2782 says:
 * lowest priority first; within a priority, a weighted random draw. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client.h"
#include "crypto/crypto.h"

/* Split "ADDR", "ADDR:PORT", "IPv6", "[IPv6]" or "[IPv6]:PORT" (port 53 by
 * default) into a socket address. */
static bool parse_server(const char *server, struct sockaddr_in6 *sa6, struct sockaddr_in *sa4,
			 bool *v6)
{
	char host[64];
	const char *port_text = NULL;
	size_t n;
	if (server[0] == '[') {
		const char *close = strchr(server, ']');
		if (!close || (close[1] && close[1] != ':'))
			return false;
		server++;
		n = (size_t)(close - server);
		port_text = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strchr(server, ':');
		bool bare_v6 = colon && strchr(colon + 1, ':');
		n = colon && !bare_v6 ? (size_t)(colon - server) : strlen(server);
		port_text = colon && !bare_v6 ? colon + 1 : NULL;
	}
	unsigned long port = 53;
	if (port_text) {
		char *end;
		port = strtoul(port_text, &end, 10);
		if (!*port_text || *end || port == 0 || port > 65535)
			return false;
	}
	if (n == 0 || n >= sizeof host)
		return false;
	memcpy(host, server, n);
	host[n] = 0;
	*sa4 = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	*sa6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	*v6 = inet_pton(AF_INET6, host, &sa6->sin6_addr) == 1;
	return *v6 || inet_pton(AF_INET, host, &sa4->sin_addr) == 1;
}

/* Point the resolver at one server, IPv4 or IPv6 with an optional port:
 * for test servers on loopback and for split-horizon setups. glibc keeps
 * an IPv6 server out of line, in _u._ext.nsaddrs with the IPv4 slot's
 * family set to 0, and frees those on res_nclose; the ones res_ninit read
 * from resolv.conf are freed here first. */
static bool use_server(res_state res, const char *server, char *err, size_t err_len)
{
	struct sockaddr_in sa4;
	struct sockaddr_in6 sa6;
	bool v6;
	if (!parse_server(server, &sa6, &sa4, &v6)) {
		snprintf(err, err_len, "\"%s\" is not ADDRESS[:PORT] or [IPv6-ADDRESS]:PORT", server);
		return false;
	}
	for (int i = 0; i < MAXNS; i++) {
		free(res->_u._ext.nsaddrs[i]);
		res->_u._ext.nsaddrs[i] = NULL;
	}
	if (v6) {
		struct sockaddr_in6 *copy = malloc(sizeof *copy);
		if (!copy) {
			snprintf(err, err_len, "out of memory");
			return false;
		}
		*copy = sa6;
		res->_u._ext.nsaddrs[0] = copy;
		memset(&res->nsaddr_list[0], 0, sizeof res->nsaddr_list[0]);
	} else {
		res->nsaddr_list[0] = sa4;
	}
	/* res_nclose frees nsaddrs[0]; the analyzer cannot know that */
	res->nscount = 1; /* NOLINT(clang-analyzer-unix.Malloc) */
	return true;
}

bool default_domain(char *out, size_t len)
{
	struct __res_state res;
	memset(&res, 0, sizeof res);
	if (res_ninit(&res) != 0)
		return false;
	const char *d = res.dnsrch[0] ? res.dnsrch[0] : res.defdname;
	bool ok = d && *d && strlen(d) < len;
	if (ok)
		memcpy(out, d, strlen(d) + 1);
	res_nclose(&res);
	return ok;
}

static uint32_t random_below(uint32_t n)
{
	uint32_t r = 0;
	random_bytes(&r, sizeof r);
	return n ? r % n : 0;
}

static int by_priority(const void *a, const void *b)
{
	const srv_target *x = a, *y = b;
	return (int)x->priority - (int)y->priority;
}

static void swap_targets(srv_target *a, srv_target *b)
{
	srv_target tmp = *a;
	*a = *b;
	*b = tmp;
}

/* RFC 2782 within one priority, t[0..n): the unordered rest is "in any
 * order, except that all those with weight 0 are placed at the beginning";
 * then pick uniformly in 0..sum and take the first whose running sum
 * reaches it. A shuffle makes "any order" random, so hosts that all have
 * weight 0 share the load instead of the first one taking all of it. */
static void order_one_priority(srv_target *t, int n)
{
	for (int i = n - 1; i > 0; i--)
		swap_targets(&t[i], &t[random_below((uint32_t)i + 1)]);
	for (int i = 0; i < n; i++) {
		int zeros = i;
		for (int k = i; k < n; k++)
			if (t[k].weight == 0)
				swap_targets(&t[zeros++], &t[k]);
		uint32_t total = 0;
		for (int k = i; k < n; k++)
			total += t[k].weight;
		uint32_t pick = random_below(total + 1), sum = 0;
		int chosen = i;
		for (int k = i; k < n; k++) {
			sum += t[k].weight;
			if (sum >= pick) {
				chosen = k;
				break;
			}
		}
		swap_targets(&t[i], &t[chosen]);
	}
}

/* Lowest priority first, then the weighted draw inside each priority. */
static void order_by_weight(srv_target *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, by_priority);
	for (int start = 0; start < n;) {
		int end = start;
		while (end < n && t[end].priority == t[start].priority)
			end++;
		order_one_priority(t + start, end - start);
		start = end;
	}
}

/* The address of a target from the same DNS server that named it: the
 * answer's additional section, else an A then AAAA query. Left empty on
 * failure, and the system resolver gets its chance at connect time. */
static bool address_from(const ns_msg *msg, ns_sect section, const char *host, char *out,
			 size_t len)
{
	for (int i = 0; i < ns_msg_count(*msg, section); i++) {
		ns_rr rr;
		if (ns_parserr((ns_msg *)msg, section, i, &rr) < 0 ||
		    strcasecmp(ns_rr_name(rr), host) != 0)
			continue;
		if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4)
			return inet_ntop(AF_INET, ns_rr_rdata(rr), out, (socklen_t)len) != NULL;
		if (ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16)
			return inet_ntop(AF_INET6, ns_rr_rdata(rr), out, (socklen_t)len) != NULL;
	}
	return false;
}

static void resolve_target(res_state res, const ns_msg *srv_answer, srv_target *t)
{
	if (address_from(srv_answer, ns_s_ar, t->host, t->address, sizeof t->address))
		return;
	static const int types[] = { ns_t_a, ns_t_aaaa };
	for (size_t k = 0; k < 2; k++) {
		unsigned char answer[NS_PACKETSZ];
		ns_msg msg;
		int len = res_nquery(res, t->host, ns_c_in, types[k], answer, sizeof answer);
		if (len > 0 && ns_initparse(answer, len, &msg) == 0 &&
		    address_from(&msg, ns_s_an, t->host, t->address, sizeof t->address))
			return;
	}
	t->address[0] = 0;
}

int discover_hosts(const char *domain, const char *dns_server, srv_target *out, int max,
		   char *err, size_t err_len)
{
	struct __res_state res;
	memset(&res, 0, sizeof res);
	if (res_ninit(&res) != 0) {
		snprintf(err, err_len, "cannot initialise the resolver");
		return -1;
	}
	int n = -1;
	char name[300];
	if (dns_server && !use_server(&res, dns_server, err, err_len))
		goto done;
	const char *zone = domain ? domain : res.dnsrch[0] ? res.dnsrch[0] : res.defdname;
	if (!zone || !*zone) {
		snprintf(err, err_len, "no search domain configured; give --domain");
		goto done;
	}
	snprintf(name, sizeof name, "_vlmcs._tcp.%s", zone);

	unsigned char answer[NS_PACKETSZ * 4];
	int len = res_nquery(&res, name, ns_c_in, ns_t_srv, answer, sizeof answer);
	if (len < 0) {
		snprintf(err, err_len, "no SRV record %s", name);
		goto done;
	}
	ns_msg msg;
	if (ns_initparse(answer, len, &msg) < 0) {
		snprintf(err, err_len, "malformed DNS answer for %s", name);
		goto done;
	}
	n = 0;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an) && n < max; i++) {
		ns_rr rr;
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_srv ||
		    ns_rr_rdlen(rr) < 7)
			continue;
		const unsigned char *rd = ns_rr_rdata(rr);
		srv_target *t = &out[n];
		t->priority = ns_get16(rd);
		t->weight = ns_get16(rd + 2);
		snprintf(t->port, sizeof t->port, "%u", ns_get16(rd + 4));
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, t->host, sizeof t->host) < 0)
			continue;
		/* "." means the service is decidedly not available here */
		if (strcmp(t->host, ".") == 0 || !t->host[0])
			continue;
		n++;
	}
	order_by_weight(out, n);
	for (int i = 0; i < n; i++)
		resolve_target(&res, &msg, &out[i]);
	if (n == 0)
		snprintf(err, err_len, "%s has no usable targets", name);
done:
	res_nclose(&res);
	return n;
}
