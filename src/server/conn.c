/* What a host does with each PDU a client sends (docs/protocol.md §1):
 * binds are negotiated, requests are answered or refused, anything
 * malformed gets a fault or closes the connection, and each case gets a
 * log line saying what was wrong. */
#include "server/conn.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/bytes.h"
#include "base/escape.h"
#include "kms/products.h"
#include "base/log.h"
#include "base/log_throttle.h"

/* NDR unmarshalling failure: what Windows answers to a stub it cannot read. */
#define RPC_X_BAD_STUB_DATA 0x000006F7u

static int64_t wall_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* A client can send bad PDUs as fast as it likes: their warnings are
 * throttled per kind (log_throttle.h), the metrics count every one. */
static log_throttle rejected_lines[REJECT_KINDS], invalid_request_lines;

static void rejected(server *srv, conn *c, enum metrics_reject why, const char *what,
		     const char *detail)
{
	atomic_fetch_add_explicit(&srv->rejected_pdus, 1, memory_order_relaxed);
	metrics_reject(srv->metrics, why);
	log_throttled(&rejected_lines[why], LOG_LEVEL_WARNING, "rejected PDU from %s: %s%s%s",
		      c->peer, what, detail ? ": " : "", detail ? detail : "");
}

static bool queue_fault(conn *c, uint32_t call_id, uint16_t context_id, uint32_t status)
{
	size_t n;
	uint8_t *out = conn_out(c) + c->out_len;
	if (rpc_fault_encode(call_id, context_id, status, out, CONN_OUT_CAP - c->out_len, &n))
		return false;
	c->out_len += n;
	return true;
}

/* Text from the client goes into a log line printable and bounded. */
static void escape_text(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < cap; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '"')
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
	}
	out[o] = 0;
}

/* Refuse a bind the host cannot accept, say why, and close (C706: the
 * association is not made). */
static enum conn_verdict refuse_bind(conn *c, server *srv, uint32_t call_id, rpc_err why,
				     const char *detail)
{
	uint16_t reason = rpc_bind_nak_reason(why);
	char text[160];
	escape_text(detail, text, sizeof text);
	char what[48];
	snprintf(what, sizeof what, "bind refused (bind_nak reason %u)", reason);
	rejected(srv, c, REJECT_MALFORMED_BIND, what, text);
	size_t n;
	if (rpc_bind_nak_encode(call_id, reason, conn_out(c) + c->out_len,
				CONN_OUT_CAP - c->out_len, &n) == RPC_OK)
		c->out_len += n;
	return CONN_CLOSE;
}

/* What Windows does with a PDU it will not take mid-association: a fault
 * for a call it did not run, on context 0, then the connection closes. */
static enum conn_verdict fault_and_close(conn *c, server *srv, uint32_t call_id,
					 uint32_t status, const char *what, const char *detail)
{
	rejected(srv, c, REJECT_MALFORMED_REQUEST, what, detail);
	queue_fault(c, call_id, 0, status);
	return CONN_CLOSE;
}

static enum conn_verdict on_bind(conn *c, server *srv, const snapshot *s, const uint8_t *pdu,
				 size_t len)
{
	rpc_bind bind;
	rpc_bind_ack ack;
	rpc_err e = rpc_bind_decode(pdu, len, &bind);
	bool is_bind = pdu[2] == RPC_BIND;
	if (is_bind && c->bound)
		return refuse_bind(c, srv, le32_get(pdu + 12), RPC_ERR_PTYPE,
				   "a second bind on the association");
	if (!is_bind && !c->bound)
		return fault_and_close(c, srv, le32_get(pdu + 12), RPC_NCA_PROTO_ERROR,
				       "alter_context before any bind", NULL);
	if (e != RPC_OK) {
		if (is_bind)
			return refuse_bind(c, srv, le32_get(pdu + 12), e, rpc_strerror(e));
		return fault_and_close(c, srv, le32_get(pdu + 12), RPC_NCA_PROTO_ERROR,
				       "malformed alter_context", rpc_strerror(e));
	}
	rpc_bind_negotiate(&bind, &s->host.rpc, &c->contexts, &ack);
	if (is_bind) {
		if (bind.assoc_group_id)
			c->assoc_group = bind.assoc_group_id;
		snprintf(ack.secondary_address, sizeof ack.secondary_address, "%s", c->port);
	}
	ack.assoc_group_id = c->assoc_group;

	size_t n;
	e = rpc_bind_ack_encode(&ack, conn_out(c) + c->out_len, CONN_OUT_CAP - c->out_len, &n);
	if (e != RPC_OK) {
		log_error("cannot encode bind_ack for %s: %s", c->peer, rpc_strerror(e));
		return CONN_CLOSE;
	}
	c->out_len += n;
	c->bound = true;
	return CONN_KEEP;
}

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

static void log_activation(const conn *c, const host_activation *a)
{
	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	if (a->decode_error != KMS_OK) {
		log_throttled(&invalid_request_lines, LOG_LEVEL_WARNING,
			      "rejected request from %s: %s; answered 0x%08X", c->peer,
			      kms_strerror(a->decode_error), a->status);
		return;
	}
	char raw[200], ws[TEXT_ESCAPED_MAX(sizeof raw)], cmid[GUID_TEXT_LEN], kms_id[GUID_TEXT_LEN];
	kms_utf16_to_utf8(a->req.workstation, KMS_WORKSTATION_UNITS, raw, sizeof raw);
	text_escape(ws, sizeof ws, raw);
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
			 "answered 0x%08X", c->peer, ws, product, group, a->req.major, a->req.minor,
			 cmid, d->reason ? d->reason : "refused", a->status);
		return;
	}
	if (d->new_product && first_time_new(&a->req.kms_id))
		log_info("new product: KMS id %s of application %s is not in the product data; "
			   "answered with the application's newest host key (serve = known "
			   "refuses such ids)", kms_id, d->app ? d->app->name : "unknown");
	/* the client activates only once the count reaches its N policy */
	bool enough = d->count >= a->req.n_policy;
	log_info("%s %s workstation=\"%s\" product=\"%s\" %s v%u.%u cmid=%s %scount=%u/%u",
		 enough ? "activated" : "answered", c->peer, ws, product, group, a->req.major,
		 a->req.minor, cmid, enough ? "" : "below threshold ", d->count, a->req.n_policy);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void count_answer(server *srv, const conn *c, const kms_products *t,
			 const host_activation *a, bool answered, int64_t now, uint64_t started_ns)
{
	metrics_activation m;
	memset(&m, 0, sizeof m);
	m.time = now;
	snprintf(m.address, sizeof m.address, "%s", c->peer);
	m.group = a->decision.group ? (uint16_t)(a->decision.group - t->groups)
				    : KMS_NO_INDEX;
	m.sku = a->decision.sku ? (uint16_t)(a->decision.sku - t->skus) : KMS_NO_INDEX;
	m.status = a->status;
	if (a->decode_error != KMS_OK) {
		m.result = RESULT_INVALID;
	} else {
		kms_utf16_to_utf8(a->req.workstation, KMS_WORKSTATION_UNITS, m.workstation,
				  sizeof m.workstation);
		m.major = a->req.major;
		m.minor = a->req.minor;
		m.count = answered ? a->decision.count : 0;
		m.n_policy = a->req.n_policy;
		m.result = !answered ? RESULT_REFUSED
			 : m.count >= m.n_policy ? RESULT_ACTIVATED : RESULT_BELOW_THRESHOLD;
	}
	metrics_record(srv->metrics, &m, monotonic_ns() - started_ns);
}

/* Queue the client for the store; never waits for the disk. */
static void record_client(server *srv, const conn *c, const kms_products *t,
			  const host_activation *a, uint32_t count)
{
	store_record r;
	memset(&r, 0, sizeof r);
	r.cmid = a->req.cmid;
	r.app_id = *host_pool(t, &a->req);
	r.kms_id = a->req.kms_id;
	r.sku_id = a->req.sku_id;
	kms_utf16_to_utf8(a->req.workstation, KMS_WORKSTATION_UNITS, r.workstation,
			  sizeof r.workstation);
	snprintf(r.address, sizeof r.address, "%s", c->peer);
	r.license_status = a->req.license_status;
	r.protocol_major = a->req.major;
	r.protocol_minor = a->req.minor;
	r.time = wall_clock();
	r.result = a->status;
	r.count = count;
	store_submit(srv->store, &r);
}

static enum conn_verdict on_request(conn *c, server *srv, const snapshot *s, const uint8_t *pdu,
				    size_t len)
{
	uint64_t started_ns = monotonic_ns();
	rpc_request req;
	rpc_err e = rpc_request_decode(pdu, len, &req);
	if (e != RPC_OK) {
		rejected(srv, c, REJECT_MALFORMED_REQUEST, "malformed request", rpc_strerror(e));
		rpc_header h;
		if (rpc_header_decode(pdu, len, &h) == RPC_OK)
			queue_fault(c, h.call_id, 0, RPC_NCA_PROTO_ERROR);
		return CONN_CLOSE;
	}
	if (c->contexts.max_recv && len > c->contexts.max_recv) {
		char detail[64];
		snprintf(detail, sizeof detail, "%zu bytes, %u negotiated", len,
			 c->contexts.max_recv);
		return fault_and_close(c, srv, req.hdr.call_id, RPC_NCA_PROTO_ERROR,
				       "fragment larger than negotiated", detail);
	}
	/* a call in fragments is collected at the start of the input */
	const uint8_t *stub;
	size_t stub_len;
	e = rpc_fragment_add(&c->call, &req, conn_in(c), RPC_MAX_CALL_STUB, &stub, &stub_len);
	if (e == RPC_ERR_SHORT) {
		c->held = c->call.stub_len;
		return CONN_KEEP;
	}
	c->held = 0;
	if (e != RPC_OK)
		return fault_and_close(c, srv, req.hdr.call_id,
				       e == RPC_ERR_TOO_BIG ? RPC_S_ACCESS_DENIED : RPC_NCA_PROTO_ERROR,
				       "broken fragmented request", rpc_strerror(e));
	if (stub != req.stub) {
		/* the whole call takes its context and opnum from the first fragment */
		req.context_id = c->call.context_id;
		req.opnum = c->call.opnum;
	}
	req.stub = stub;
	req.stub_len = stub_len;

	rpc_syntax_kind syntax = rpc_contexts_syntax(&c->contexts, req.context_id);
	if (syntax == RPC_SYNTAX_UNKNOWN) {
		char detail[48];
		snprintf(detail, sizeof detail, "context id %u is not an accepted one",
			 req.context_id);
		rejected(srv, c, REJECT_UNKNOWN_CONTEXT, "unknown context", detail);
		return queue_fault(c, req.hdr.call_id, req.context_id, RPC_NCA_UNK_IF) ? CONN_KEEP
										      : CONN_CLOSE;
	}
	if (req.opnum != 0) {
		char detail[32];
		snprintf(detail, sizeof detail, "opnum %u", req.opnum);
		rejected(srv, c, REJECT_UNKNOWN_OPERATION, "unknown operation", detail);
		return queue_fault(c, req.hdr.call_id, req.context_id, RPC_NCA_OP_RNG_ERROR)
			       ? CONN_KEEP : CONN_CLOSE;
	}

	const uint8_t *msg;
	size_t msg_len;
	e = rpc_stub_decode(syntax, req.stub, req.stub_len, &msg, &msg_len);
	if (e != RPC_OK) {
		rejected(srv, c, REJECT_BAD_STUB, "bad stub data", rpc_strerror(e));
		return queue_fault(c, req.hdr.call_id, req.context_id, RPC_X_BAD_STUB_DATA)
			       ? CONN_KEEP : CONN_CLOSE;
	}

	/* build the KMS response in place inside the response PDU */
	uint8_t *out = conn_out(c) + c->out_len;
	size_t room = CONN_OUT_CAP - c->out_len;
	size_t at = rpc_response_msg_offset(syntax);
	host_activation act;
	int64_t now = wall_clock();
	size_t n = host_answer(&s->host, srv->counter, msg, msg_len, now, out + at,
			       room > at ? room - at : 0, &act);
	log_activation(c, &act);
	atomic_fetch_add_explicit(n ? &srv->activations : &srv->refusals, 1, memory_order_relaxed);
	if (srv->store && act.decode_error == KMS_OK)
		record_client(srv, c, s->host.table, &act, n ? act.decision.count : 0);

	size_t pdu_len;
	e = rpc_response_encode(req.hdr.call_id, req.context_id, syntax, n ? out + at : NULL, n,
				act.status, out, room, &pdu_len);
	if (e == RPC_OK && c->contexts.max_xmit && pdu_len > c->contexts.max_xmit) {
		uint8_t whole[RPC_MAX_PDU];
		memcpy(whole, out, pdu_len);
		e = rpc_fragment_split(whole, pdu_len, c->contexts.max_xmit, out, room, &pdu_len);
	}
	if (e != RPC_OK) {
		log_error("cannot encode response for %s: %s", c->peer, rpc_strerror(e));
		return CONN_CLOSE;
	}
	c->out_len += pdu_len;
	count_answer(srv, c, s->host.table, &act, n != 0, now, started_ns);

	c->requests++;
	if (s->max_requests && c->requests >= s->max_requests) {
		log_debug("closing %s after %u requests", c->peer, c->requests);
		return CONN_CLOSE;
	}
	return CONN_KEEP;
}

/* A PDU whose header rpc_frame refused: a bind still gets its bind_nak
 * once it is whole; anything else closes the connection. Returns the
 * PDU's length, 0 while more bytes are needed, -1 to close silently. */
static long frame_refused(conn *c, server *srv, const uint8_t *pdu, size_t avail, rpc_err e,
			  enum conn_verdict *v)
{
	size_t pdu_len;
	bool nak_worthy = e == RPC_ERR_VERSION || e == RPC_ERR_DREP || e == RPC_ERR_AUTH;
	if (nak_worthy && avail < 3)
		return 0;
	if (nak_worthy && pdu[2] == RPC_BIND) {
		rpc_err f = rpc_frame_length(pdu, avail, &pdu_len);
		if (f == RPC_ERR_SHORT)
			return 0;
		if (f == RPC_OK) {
			uint32_t call_id = (pdu[4] & 0xF0) ? le32_get(pdu + 12)
				: (uint32_t)pdu[12] << 24 | (uint32_t)pdu[13] << 16 |
				  (uint32_t)pdu[14] << 8 | pdu[15];
			*v = refuse_bind(c, srv, call_id, e, rpc_strerror(e));
			return (long)pdu_len;
		}
	}
	/* the stream cannot be resynchronised: say why and close */
	rejected(srv, c, REJECT_BAD_HEADER, "bad PDU header", rpc_strerror(e));
	*v = CONN_CLOSE;
	return -1;
}

enum conn_verdict conn_process(conn *c, server *srv, const snapshot *s)
{
	size_t off = c->held;
	enum conn_verdict v = CONN_KEEP;

	while (v == CONN_KEEP && CONN_OUT_CAP - c->out_len >= CONN_ANSWER_ROOM) {
		const uint8_t *pdu = conn_in(c) + off;
		size_t pdu_len;
		rpc_err e = rpc_frame(pdu, c->in_len - off, &pdu_len);
		if (e == RPC_ERR_SHORT)
			break;
		if (e != RPC_OK) {
			long n = frame_refused(c, srv, pdu, c->in_len - off, e, &v);
			if (n > 0)
				off += (size_t)n;
			break;
		}
		switch (pdu[2]) {
		case RPC_BIND:
		case RPC_ALTER_CONTEXT:
			v = on_bind(c, srv, s, pdu, pdu_len);
			break;
		case RPC_REQUEST:
			v = on_request(c, srv, s, pdu, pdu_len);
			break;
		case RPC_ORPHANED:
			/* the client gave up a call: drop what was collected of it
			 * and keep the connection (BTFN keep-connection-on-orphan;
			 * Windows ignores these PDUs) */
			if (c->call.active && c->call.call_id == le32_get(pdu + 12)) {
				c->call.active = false;
				c->held = 0;
			}
			log_debug("%s orphaned call %u", c->peer, le32_get(pdu + 12));
			break;
		case RPC_CO_CANCEL:
			/* calls run to completion as soon as they are whole: there is
			 * nothing to cancel, and Windows ignores these too */
			log_debug("%s cancels call %u", c->peer, le32_get(pdu + 12));
			break;
		default: {
			char detail[32];
			snprintf(detail, sizeof detail, "type %u", pdu[2]);
			rejected(srv, c, REJECT_UNEXPECTED_TYPE, "unexpected PDU type", detail);
			v = CONN_CLOSE;
		}
		}
		off += pdu_len;
	}
	if (off > c->held) {
		memmove(conn_in(c) + c->held, conn_in(c) + off, c->in_len - off);
		c->in_len -= off - c->held;
	}
	return v;
}
