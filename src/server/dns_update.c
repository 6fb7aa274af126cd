/* RFC 2136 updates and the SOA lookup, with ldns doing all DNS encoding,
 * decoding and TSIG signing. */
#include "server/dns_update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <ldns/ldns.h>

/* One attempt of 2 s, then one more: a dead server costs the publisher
 * thread 4 s at most, and kmsd's stop waits no longer than that. */
#define TIMEOUT_SECONDS 2
#define RETRIES 2

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

static ldns_resolver *resolver_for(const dns_endpoint *ep)
{
	ldns_resolver *r = ldns_resolver_new();
	if (!r)
		return NULL;
	ldns_rdf *addr = ldns_rdf_new_frm_str(strchr(ep->address, ':') ? LDNS_RDF_TYPE_AAAA
									 : LDNS_RDF_TYPE_A, ep->address);
	if (!addr || ldns_resolver_push_nameserver(r, addr) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(addr);
		ldns_resolver_deep_free(r);
		return NULL;
	}
	ldns_rdf_deep_free(addr);
	ldns_resolver_set_port(r, ep->port);
	ldns_resolver_set_timeout(r, (struct timeval){ .tv_sec = TIMEOUT_SECONDS });
	ldns_resolver_set_retry(r, RETRIES);
	ldns_resolver_set_retrans(r, 0);
	ldns_resolver_set_recursive(r, false);
	if (ep->key_name[0]) {
		/* ldns wants the names in their absolute form */
		char name[DNS_NAME_MAX + 1], algorithm[sizeof ep->key_algorithm + 1];
		snprintf(name, sizeof name, "%s.", ep->key_name);
		snprintf(algorithm, sizeof algorithm, "%s.", ep->key_algorithm);
		ldns_resolver_set_tsig_keyname(r, name);
		ldns_resolver_set_tsig_algorithm(r, algorithm);
		ldns_resolver_set_tsig_keydata(r, ep->key_secret);
	}
	return r;
}

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
		case TSIG_BADKEY: detail = " (TSIG key rejected: the server does not know it)"; break;
		case TSIG_BADSIG: detail = " (TSIG key rejected: wrong secret)"; break;
		case TSIG_BADTIME: detail = " (TSIG rejected: the clocks differ)"; break;
		default: break;
		}
	}
	if (!*detail && rcode == LDNS_RCODE_REFUSED)
		detail = " (the server's policy does not allow this update)";
	snprintf(out, len, "%s%s", name ? name->name : "unknown rcode", detail);
}

bool dns_update_srv(const dns_endpoint *ep, const dns_srv *srv, bool add, char *err,
		    size_t err_len)
{
	const char *verb = add ? "update" : "removal";
	ldns_resolver *r = resolver_for(ep);
	ldns_pkt *p = r ? update_packet(srv, add) : NULL;
	ldns_pkt *answer = NULL;
	bool ok = false;
	if (!p) {
		snprintf(err, err_len, "%s of _vlmcs._tcp.%s: cannot build the update", verb, srv->zone);
		goto done;
	}
	if (ep->key_name[0] && ldns_update_pkt_tsig_add(p, r) != LDNS_STATUS_OK) {
		snprintf(err, err_len, "%s of _vlmcs._tcp.%s: cannot sign with TSIG key %s", verb,
			 srv->zone, ep->key_name);
		goto done;
	}
	ldns_status st = ldns_resolver_send_pkt(&answer, r, p);
	if (answer && ldns_pkt_get_rcode(answer) != LDNS_RCODE_NOERROR) {
		char why[160];
		describe_refusal(answer, why, sizeof why);
		snprintf(err, err_len, "%s of _vlmcs._tcp.%s refused by %s: %s", verb, srv->zone,
			 ep->text, why);
	} else if (st == LDNS_STATUS_CRYPTO_TSIG_BOGUS) {
		snprintf(err, err_len, "%s of _vlmcs._tcp.%s: the answer of %s fails TSIG "
			 "verification", verb, srv->zone, ep->text);
	} else if (st != LDNS_STATUS_OK || !answer) {
		snprintf(err, err_len, "%s of _vlmcs._tcp.%s: no answer from %s: %s", verb, srv->zone,
			 ep->text, ldns_get_errorstr_by_id(st));
	} else {
		ok = true;
	}
done:
	ldns_pkt_free(answer);
	ldns_pkt_free(p);
	ldns_resolver_deep_free(r);
	return ok;
}

bool dns_zone_primary(const char *zone, char *name, size_t name_len, char *err, size_t err_len)
{
	ldns_resolver *r = NULL;
	ldns_rdf *zone_rdf = ldns_dname_new_frm_str(zone), *mname = NULL;
	bool ok = false;
	if (!zone_rdf || ldns_resolver_new_frm_file(&r, NULL) != LDNS_STATUS_OK) {
		snprintf(err, err_len, "cannot read the system's resolver configuration");
		goto done;
	}
	ldns_resolver_set_timeout(r, (struct timeval){ .tv_sec = TIMEOUT_SECONDS });
	ldns_resolver_set_retry(r, RETRIES);
	if (ldns_update_soa_mname(zone_rdf, r, LDNS_RR_CLASS_IN, &mname) != LDNS_STATUS_OK ||
	    !mname) {
		snprintf(err, err_len, "no SOA record for %s: set dns-server", zone);
		goto done;
	}
	char *text = ldns_rdf2str(mname);
	size_t n = text ? strlen(text) : 0;
	if (n > 1 && text[n - 1] == '.')
		text[--n] = 0;
	ok = n > 0 && n < name_len;
	if (ok)
		memcpy(name, text, n + 1);
	else
		snprintf(err, err_len, "the SOA of %s names no usable primary server", zone);
	free(text);
done:
	ldns_rdf_deep_free(mname);
	ldns_rdf_deep_free(zone_rdf);
	ldns_resolver_deep_free(r);
	return ok;
}
