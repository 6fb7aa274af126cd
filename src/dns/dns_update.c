/* RFC 2136 updates and the SOA lookup, with ldns doing all DNS encoding,
 * decoding and TSIG signing. */
#include "dns/dns_update.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <ldns/ldns.h>

/* A dead server costs the publisher thread 3 s per exchange at most, and
 * kmsd's stop waits no longer than that; the publisher retries later. The
 * SOA lookup tries each of the system's resolvers once. */
#define TIMEOUT_SECONDS 3
#define RETRIES 1
#define TSIG_FUDGE 300 /* seconds of clock difference allowed, RFC 8945's advice */
#define TSIG_MAC_RDF 3

/* TSIG error codes (RFC 8945 section 5.3.2) in a refusal's TSIG record. */
#define TSIG_BADSIG 16
#define TSIG_BADKEY 17
#define TSIG_BADTIME 18
#define TSIG_ERROR_RDF 5

bool dns_srv_equal(const dns_srv *a, const dns_srv *b)
{
	return strcasecmp(a->zone, b->zone) == 0 && a->ttl == b->ttl &&
	       a->priority == b->priority && a->weight == b->weight && a->port == b->port &&
	       strcasecmp(a->target, b->target) == 0;
}

/* The server's address as a socket address, for ldns_tcp_send. */
static bool server_address(const dns_endpoint *ep, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ep->address, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(ep->port);
		*len = sizeof *a4;
		return true;
	}
	if (inet_pton(AF_INET6, ep->address, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(ep->port);
		*len = sizeof *a6;
		return true;
	}
	return false;
}

/* The record from its text form: zone and target passed dns_name_check,
 * so the text holds nothing but the record. */
static ldns_rr *srv_rr(const dns_srv *srv, bool add)
{
	char text[2 * DNS_NAME_MAX + 64];
	ldns_rr *rr = NULL;
	snprintf(text, sizeof text, "_vlmcs._tcp.%s. %u IN SRV %u %u %u %s.", srv->zone, srv->ttl,
		 srv->priority, srv->weight, srv->port, srv->target);
	if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK)
		return NULL;
	if (!add) {
		/* RFC 2136 2.5.4: class NONE, TTL 0 and the rdata delete this one
		 * record; ANY would delete every host's records */
		ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
		ldns_rr_set_ttl(rr, 0);
	}
	return rr;
}

static ldns_pkt *update_packet(const dns_srv *srv, bool add)
{
	ldns_rr *rr = srv_rr(srv, add);
	ldns_rr_list *updates = ldns_rr_list_new();
	ldns_rdf *zone = ldns_dname_new_frm_str(srv->zone);
	ldns_pkt *p = NULL;
	if (rr && updates && zone && ldns_rr_list_push_rr(updates, rr)) {
		rr = NULL; /* the list owns it */
		p = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, NULL, updates, NULL);
		if (p)
			zone = NULL; /* the packet owns it */
	}
	if (p)
		ldns_pkt_set_rd(p, false); /* ldns sets it; an update has no use for it */
	ldns_rr_free(rr);
	ldns_rr_list_deep_free(updates);
	ldns_rdf_deep_free(zone);
	return p;
}

/* Why the server said no, with the TSIG error when there is one: the
 * usual mistake is the key, and the rcode alone (NOTAUTH) hides that. */
static void describe_refusal(const ldns_pkt *answer, char *out, size_t len)
{
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(answer);
	ldns_lookup_table *name = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
	const char *detail = "";
	ldns_rr *tsig = ldns_pkt_tsig(answer);
	if (tsig && ldns_rr_rd_count(tsig) > TSIG_ERROR_RDF) {
		switch (ldns_rdf2native_int16(ldns_rr_rdf(tsig, TSIG_ERROR_RDF))) {
		case TSIG_BADKEY:
			detail = " (TSIG key rejected: the server does not know it)";
			break;
		case TSIG_BADSIG:
			detail = " (TSIG key rejected: wrong secret)";
			break;
		case TSIG_BADTIME:
			detail = " (TSIG rejected: the clocks differ)";
			break;
		default:
			break;
		}
	}
	if (!*detail && rcode == LDNS_RCODE_REFUSED)
		detail = " (the server's policy does not allow this update)";
	snprintf(out, len, "%s%s", name ? name->name : "unknown rcode", detail);
}

/* Sign (when there is a key), send over TCP, read the answer and check
 * its signature ourselves: ldns_resolver_send_pkt drops an answer whose
 * TSIG does not verify, and a refusal of our key (BADKEY, BADSIG) is
 * unsigned by design, so we would lose the reason. TCP because an update
 * is rare and small, and no answer can be spoofed into it. */
static ldns_status exchange(const dns_endpoint *ep, ldns_pkt *p, ldns_pkt **answer,
			    bool *verified)
{
	struct sockaddr_storage to;
	socklen_t to_len;
	ldns_buffer *query = ldns_buffer_new(LDNS_MIN_BUFLEN);
	uint8_t *wire = NULL;
	size_t wire_len = 0;
	ldns_status st = LDNS_STATUS_MEM_ERR;
	*verified = false;
	if (!query || !server_address(ep, &to, &to_len))
		goto done;
	ldns_pkt_set_random_id(p);
	if (ep->key_name[0]) {
		char name[DNS_NAME_MAX + 1], algorithm[sizeof ep->key_algorithm + 1];
		snprintf(name, sizeof name, "%s.", ep->key_name);
		snprintf(algorithm, sizeof algorithm, "%s.", ep->key_algorithm);
		st = ldns_pkt_tsig_sign(p, name, ep->key_secret, TSIG_FUDGE, algorithm, NULL);
		if (st != LDNS_STATUS_OK)
			goto done;
	}
	st = ldns_pkt2buffer_wire(query, p);
	if (st == LDNS_STATUS_OK)
		st = ldns_tcp_send(&wire, query, &to, to_len,
				   (struct timeval){ .tv_sec = TIMEOUT_SECONDS }, &wire_len);
	if (st == LDNS_STATUS_OK)
		st = ldns_wire2pkt(answer, wire, wire_len);
	if (st == LDNS_STATUS_OK && ldns_pkt_id(*answer) != ldns_pkt_id(p))
		st = LDNS_STATUS_ERR;
	if (st == LDNS_STATUS_OK && ep->key_name[0] && ldns_pkt_tsig(*answer)) {
		char name[DNS_NAME_MAX + 1];
		snprintf(name, sizeof name, "%s.", ep->key_name);
		*verified = ldns_pkt_tsig_verify(*answer, wire, wire_len, name, ep->key_secret,
						 ldns_rr_rdf(ldns_pkt_tsig(p), TSIG_MAC_RDF));
	}
done:
	free(wire);
	ldns_buffer_free(query);
	return st;
}

bool dns_update_srv(const dns_endpoint *ep, const dns_srv *srv, bool add, char *err,
		    size_t err_len)
{
	const char *verb = add ? "update" : "removal";
	ldns_pkt *p = update_packet(srv, add), *answer = NULL;
	bool verified, ok = false;
	if (!p) {
		snprintf(err, err_len, "%s of _vlmcs._tcp.%s: cannot build the update", verb, srv->zone);
		return false;
	}
	ldns_status st = exchange(ep, p, &answer, &verified);
	if (st != LDNS_STATUS_OK || !answer) {
		snprintf(err, err_len, "%s of _vlmcs._tcp.%s: no answer from %s: %s", verb, srv->zone,
			 ep->text, ldns_get_errorstr_by_id(st));
	} else if (ldns_pkt_get_rcode(answer) != LDNS_RCODE_NOERROR) {
		char why[160];
		describe_refusal(answer, why, sizeof why);
		snprintf(err, err_len, "%s of _vlmcs._tcp.%s refused by %s: %s", verb, srv->zone,
			 ep->text, why);
	} else if (ep->key_name[0] && !verified) {
		/* the server must sign its answer with our key (RFC 8945 5.3) */
		snprintf(err, err_len, "%s of _vlmcs._tcp.%s: the answer of %s is not signed with "
			 "key %s", verb, srv->zone, ep->text, ep->key_name);
	} else {
		ok = true;
	}
	ldns_pkt_free(answer);
	ldns_pkt_free(p);
	return ok;
}

/* The MNAME of the zone's SOA. Not ldns_update_soa_mname, which leaks the
 * record it reads (ldns 1.8.3). */
static char *soa_mname(ldns_resolver *r, const ldns_rdf *zone)
{
	ldns_pkt *answer = ldns_resolver_query(r, zone, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_rr_list *soa = answer ? ldns_pkt_rr_list_by_type(answer, LDNS_RR_TYPE_SOA,
							      LDNS_SECTION_ANSWER)
				   : NULL;
	char *text = NULL;
	if (soa && ldns_rr_list_rr_count(soa) > 0 && ldns_rr_rd_count(ldns_rr_list_rr(soa, 0)) > 0)
		text = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(soa, 0), 0));
	ldns_rr_list_deep_free(soa);
	ldns_pkt_free(answer);
	return text;
}

bool dns_zone_primary(const char *zone, char *name, size_t name_len, char *err, size_t err_len)
{
	ldns_resolver *r = NULL;
	ldns_rdf *zone_rdf = ldns_dname_new_frm_str(zone);
	char *text = NULL;
	bool ok = false;
	if (!zone_rdf || ldns_resolver_new_frm_file(&r, NULL) != LDNS_STATUS_OK) {
		snprintf(err, err_len, "cannot read the system's resolver configuration");
		goto done;
	}
	ldns_resolver_set_timeout(r, (struct timeval){ .tv_sec = TIMEOUT_SECONDS });
	ldns_resolver_set_retry(r, RETRIES);
	text = soa_mname(r, zone_rdf);
	if (!text) {
		snprintf(err, err_len, "no SOA record for %s: set dns-server", zone);
		goto done;
	}
	size_t n = strlen(text);
	if (n > 1 && text[n - 1] == '.')
		text[--n] = 0;
	ok = n > 0 && n < name_len;
	if (ok)
		memcpy(name, text, n + 1);
	else
		snprintf(err, err_len, "the SOA of %s names no usable primary server", zone);
done:
	free(text);
	ldns_rdf_deep_free(zone_rdf);
	ldns_resolver_deep_free(r);
	return ok;
}
