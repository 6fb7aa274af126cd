#include "server/account.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/escape.h"
#include "base/log.h"
#include "base/log_throttle.h"
#include "kms/products.h"

/* A client can send bad PDUs as fast as it likes: their warnings are
 * throttled per kind (log_throttle.h), the metrics count every one. */
static log_throttle rejected_lines[REJECT_KINDS], invalid_request_lines;

/* KMS ids answered although the table does not know them (products newer
 * than it): each is logged once, so an administrator learns of it without
 * a line per request. Bounded: past NEW_IDS_MAX ids nothing more is noted. */
#define NEW_IDS_MAX 64
static kms_guid new_ids[NEW_IDS_MAX];
static size_t n_new_ids;
static pthread_mutex_t new_ids_lock = PTHREAD_MUTEX_INITIALIZER;

static bool first_time_new(const kms_guid *id)
{
	bool first = true;
	pthread_mutex_lock(&new_ids_lock);
	for (size_t i = 0; i < n_new_ids && first; i++)
		first = guid_cmp(&new_ids[i], id) != 0;
	if (first && n_new_ids < NEW_IDS_MAX)
		new_ids[n_new_ids++] = *id;
	else
		first = false;
	pthread_mutex_unlock(&new_ids_lock);
	return first;
}

static void log_activation(const char *peer, const host_activation *a)
{
	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	if (a->decode_error != KMS_OK) {
		log_throttled(&invalid_request_lines, LOG_LEVEL_WARNING,
			      "rejected request from %s: %s; answered 0x%08X", peer,
			      kms_strerror(a->decode_error), a->status);
		return;
	}
	char ws[TEXT_ESCAPED_MAX(sizeof a->workstation)], cmid[GUID_TEXT_LEN],
		kms_id[GUID_TEXT_LEN];
	text_escape(ws, sizeof ws, a->workstation);
	guid_format(&a->req.cmid, cmid);
	guid_format(&a->req.kms_id, kms_id);
	const kms_decision *d = &a->decision;
	const char *product = d->sku ? d->sku->name : d->group ? d->group->name : "unknown product";
	/* the group as `serve` spells it, or the KMS id it does not know */
	char group[160];
	if (d->group)
		snprintf(group, sizeof group, "group=\"%s\"", d->group->name);
	else
		snprintf(group, sizeof group, "kms_id=%s", kms_id);
	if (a->status) {
		log_info("refused %s workstation=\"%s\" product=\"%s\" %s v%u.%u cmid=%s: %s; "
			 "answered 0x%08X", peer, ws, product, group, a->req.major, a->req.minor,
			 cmid, d->reason ? d->reason : "refused", a->status);
		return;
	}
	if (d->new_product && first_time_new(&a->req.kms_id))
		log_info("new product: KMS id %s of application %s is not in the product data; "
			   "answered with the application's newest host key (serve = known "
			   "refuses such ids)", kms_id, d->app ? d->app->name : "unknown");
	/* the client activates only once the count reaches its N policy */
	bool enough = a->result == RESULT_ACTIVATED;
	log_info("%s %s workstation=\"%s\" product=\"%s\" %s v%u.%u cmid=%s %scount=%u/%u",
		 enough ? "activated" : "answered", peer, ws, product, group, a->req.major,
		 a->req.minor, cmid, enough ? "" : "below threshold ", a->count, a->req.n_policy);
}

static void count_answer(metrics *mx, const char *peer, const host_activation *a,
			 uint64_t latency_ns)
{
	metrics_activation m;
	memset(&m, 0, sizeof m);
	m.time = a->time;
	snprintf(m.address, sizeof m.address, "%s", peer);
	m.group = a->group;
	m.sku = a->sku;
	m.status = a->status;
	m.result = a->result;
	if (a->decode_error == KMS_OK) {
		kms_utf8_copy(m.workstation, sizeof m.workstation, a->workstation);
		m.major = a->req.major;
		m.minor = a->req.minor;
		m.count = a->count;
		m.n_policy = a->req.n_policy;
	}
	metrics_record(mx, &m, latency_ns);
}

/* Queue the client for the store; never waits for the disk. */
static void record_client(store *st, const char *peer, const host_activation *a)
{
	store_record r;
	memset(&r, 0, sizeof r);
	r.cmid = a->req.cmid;
	r.app_id = a->pool;
	r.kms_id = a->req.kms_id;
	r.sku_id = a->req.sku_id;
	kms_utf8_copy(r.workstation, sizeof r.workstation, a->workstation);
	snprintf(r.address, sizeof r.address, "%s", peer);
	r.license_status = a->req.license_status;
	r.protocol_major = a->req.major;
	r.protocol_minor = a->req.minor;
	r.time = a->time;
	r.result = a->status;
	r.count = a->count;
	store_submit(st, &r);
}

static void account_request(server *srv, const char *peer, const answer_outcome *o,
			    uint64_t latency_ns)
{
	const host_activation *a = &o->act;
	log_activation(peer, a);
	if (srv->store && a->decode_error == KMS_OK)
		record_client(srv->store, peer, a);
	/* an answer that could not be sent was not given */
	if (!o->unsent)
		count_answer(srv->metrics, peer, a, latency_ns);
}

void account_outcome(server *srv, const char *peer, const answer_outcome *o,
		     uint64_t latency_ns)
{
	switch (o->kind) {
	case ANSWER_REQUEST:
		account_request(srv, peer, o, latency_ns);
		break;
	case ANSWER_REJECTED:
		metrics_reject(srv->metrics, o->reject);
		/* what and detail are the host's own words, never the client's */
		log_throttled(&rejected_lines[o->reject], LOG_LEVEL_WARNING,
			      "rejected PDU from %s: %s%s%s", peer, o->what, o->detail[0] ? ": " : "",
			      o->detail);
		break;
	case ANSWER_ORPHANED:
		log_debug("%s orphaned call %u", peer, o->call_id);
		break;
	case ANSWER_CANCELLED:
		log_debug("%s cancels call %u", peer, o->call_id);
		break;
	case ANSWER_INCOMPLETE:
	case ANSWER_BOUND:
	case ANSWER_COLLECTED:
		break;
	}
	if (o->unsent)
		log_error("cannot encode %s for %s: %s", o->unsent, peer,
			  rpc_strerror(o->unsent_error));
}
