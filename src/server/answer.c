#include "server/answer.h"

#include <stdio.h>
#include <string.h>

#include "base/bytes.h"

/* NDR unmarshalling failure: what Windows answers to a stub it cannot read. */
#define RPC_X_BAD_STUB_DATA 0x000006F7u

static void begin(answer_outcome *o)
{
	/* everything but the activation, which only a request fills */
	o->kind = ANSWER_INCOMPLETE;
	o->used = o->written = 0;
	o->close = false;
	o->call_id = 0;
	o->reject = REJECT_KINDS;
	o->what[0] = o->detail[0] = 0;
	o->nak_reason = 0;
	o->fault_status = 0;
	o->unsent = NULL;
	o->unsent_error = RPC_OK;
	o->context_id = 0;
	o->syntax = RPC_SYNTAX_UNKNOWN;
}

static void reject(answer_outcome *o, enum metrics_reject why, const char *what,
		   const char *detail)
{
	o->kind = ANSWER_REJECTED;
	o->reject = why;
	snprintf(o->what, sizeof o->what, "%s", what);
	snprintf(o->detail, sizeof o->detail, "%s", detail ? detail : "");
}

static bool fault(answer_outcome *o, uint8_t *out, size_t cap, uint32_t call_id,
		  uint16_t context_id, uint32_t status)
{
	size_t n;
	if (rpc_fault_encode(call_id, context_id, status, out + o->written, cap - o->written, &n))
		return false;
	o->written += n;
	o->fault_status = status;
	return true;
}

/* Refuse a bind the host cannot accept, say why, and close (C706: the
 * association is not made). */
static void refuse_bind(answer_outcome *o, uint8_t *out, size_t cap, uint32_t call_id,
			rpc_err why, const char *detail)
{
	o->nak_reason = rpc_bind_nak_reason(why);
	char what[48];
	snprintf(what, sizeof what, "bind refused (bind_nak reason %u)", o->nak_reason);
	reject(o, REJECT_MALFORMED_BIND, what, detail);
	size_t n;
	if (rpc_bind_nak_encode(call_id, o->nak_reason, out + o->written, cap - o->written, &n) ==
	    RPC_OK)
		o->written += n;
	o->close = true;
}

/* What Windows does with a PDU it will not take mid-association: a fault
 * for a call it did not run, on context 0, then the connection closes. */
static void fault_and_close(answer_outcome *o, uint8_t *out, size_t cap, uint32_t call_id,
			    uint32_t status, const char *what, const char *detail)
{
	reject(o, REJECT_MALFORMED_REQUEST, what, detail);
	fault(o, out, cap, call_id, 0, status);
	o->close = true;
}

static void on_bind(answer_assoc *a, const answer_host *h, const uint8_t *pdu, size_t len,
		    uint8_t *out, size_t cap, answer_outcome *o)
{
	rpc_bind bind;
	rpc_bind_ack ack;
	rpc_err e = rpc_bind_decode(pdu, len, &bind);
	bool is_bind = pdu[2] == RPC_BIND;
	if (is_bind && a->bound) {
		refuse_bind(o, out, cap, o->call_id, RPC_ERR_PTYPE,
			    "a second bind on the association");
		return;
	}
	if (!is_bind && !a->bound) {
		fault_and_close(o, out, cap, o->call_id, RPC_NCA_PROTO_ERROR,
				"alter_context before any bind", NULL);
		return;
	}
	if (e != RPC_OK) {
		if (is_bind) {
			refuse_bind(o, out, cap, o->call_id, e, rpc_strerror(e));
			return;
		}
		fault_and_close(o, out, cap, o->call_id, RPC_NCA_PROTO_ERROR,
				"malformed alter_context", rpc_strerror(e));
		return;
	}
	rpc_bind_negotiate(&bind, &h->settings->rpc, &a->contexts, &ack);
	if (is_bind) {
		if (bind.assoc_group_id)
			a->assoc_group = bind.assoc_group_id;
		snprintf(ack.secondary_address, sizeof ack.secondary_address, "%s", a->port);
	}
	ack.assoc_group_id = a->assoc_group;

	o->kind = ANSWER_BOUND;
	size_t n;
	e = rpc_bind_ack_encode(&ack, out, cap, &n);
	if (e != RPC_OK) {
		o->unsent = "bind_ack";
		o->unsent_error = e;
		o->close = true;
		return;
	}
	o->written += n;
	a->bound = true;
}

/* The whole call a request PDU belongs to: false with the outcome set when
 * there is none (yet). A call in fragments is collected in stub_store. */
static bool whole_call(answer_assoc *a, const answer_host *h, rpc_request *req,
		       const uint8_t *pdu, size_t len, uint8_t *out, size_t cap, answer_outcome *o)
{
	rpc_err e = rpc_request_decode(pdu, len, req);
	if (e != RPC_OK) {
		reject(o, REJECT_MALFORMED_REQUEST, "malformed request", rpc_strerror(e));
		rpc_header hdr;
		if (rpc_header_decode(pdu, len, &hdr) == RPC_OK)
			fault(o, out, cap, hdr.call_id, 0, RPC_NCA_PROTO_ERROR);
		o->close = true;
		return false;
	}
	if (a->contexts.max_recv && len > a->contexts.max_recv) {
		char detail[64];
		snprintf(detail, sizeof detail, "%zu bytes, %u negotiated", len,
			 a->contexts.max_recv);
		fault_and_close(o, out, cap, req->hdr.call_id, RPC_NCA_PROTO_ERROR,
				"fragment larger than negotiated", detail);
		return false;
	}
	const uint8_t *stub;
	size_t stub_len;
	e = rpc_fragment_add(&a->call, req, h->stub_store, RPC_MAX_CALL_STUB, &stub, &stub_len);
	if (e == RPC_ERR_SHORT) {
		o->kind = ANSWER_COLLECTED;
		return false;
	}
	if (e != RPC_OK) {
		fault_and_close(o, out, cap, req->hdr.call_id,
				e == RPC_ERR_TOO_BIG ? RPC_S_ACCESS_DENIED : RPC_NCA_PROTO_ERROR,
				"broken fragmented request", rpc_strerror(e));
		return false;
	}
	if (stub != req->stub) {
		/* the whole call takes its context and opnum from the first fragment */
		req->context_id = a->call.context_id;
		req->opnum = a->call.opnum;
	}
	req->stub = stub;
	req->stub_len = stub_len;
	return true;
}

/* A fault the association survives (when it fits). */
static void refuse_call(answer_outcome *o, uint8_t *out, size_t cap, const rpc_request *req,
			enum metrics_reject why, const char *what, const char *detail,
			uint32_t status)
{
	reject(o, why, what, detail);
	o->close = !fault(o, out, cap, req->hdr.call_id, req->context_id, status);
}

/* The response PDU(s) to a request, fragmented to the negotiated size. */
static void respond(const answer_assoc *a, const answer_host *h, const rpc_request *req,
		    const uint8_t *msg, size_t msg_len, uint8_t *out, size_t cap,
		    answer_outcome *o)
{
	/* build the KMS response in place inside the response PDU */
	size_t at = rpc_response_msg_offset(o->syntax);
	size_t n = host_answer(h->settings, h->counter, msg, msg_len, h->now, h->random, out + at,
			       cap > at ? cap - at : 0, &o->act);
	o->kind = ANSWER_REQUEST;
	size_t pdu_len;
	rpc_err e = rpc_response_encode(req->hdr.call_id, req->context_id, o->syntax,
					n ? out + at : NULL, n, o->act.status, out, cap, &pdu_len);
	if (e == RPC_OK && a->contexts.max_xmit && pdu_len > a->contexts.max_xmit) {
		uint8_t whole[RPC_MAX_PDU];
		memcpy(whole, out, pdu_len);
		e = rpc_fragment_split(whole, pdu_len, a->contexts.max_xmit, out, cap, &pdu_len);
	}
	if (e != RPC_OK) {
		o->unsent = "response";
		o->unsent_error = e;
		o->close = true;
		return;
	}
	o->written += pdu_len;
}

static void on_request(answer_assoc *a, const answer_host *h, const uint8_t *pdu, size_t len,
		       uint8_t *out, size_t cap, answer_outcome *o)
{
	rpc_request req;
	if (!whole_call(a, h, &req, pdu, len, out, cap, o))
		return;
	o->call_id = req.hdr.call_id;
	o->context_id = req.context_id;
	o->syntax = rpc_contexts_syntax(&a->contexts, req.context_id);
	char detail[48];
	if (o->syntax == RPC_SYNTAX_UNKNOWN) {
		snprintf(detail, sizeof detail, "context id %u is not an accepted one",
			 req.context_id);
		refuse_call(o, out, cap, &req, REJECT_UNKNOWN_CONTEXT, "unknown context",
			    detail, RPC_NCA_UNK_IF);
		return;
	}
	if (req.opnum != 0) {
		snprintf(detail, sizeof detail, "opnum %u", req.opnum);
		refuse_call(o, out, cap, &req, REJECT_UNKNOWN_OPERATION, "unknown operation",
			    detail, RPC_NCA_OP_RNG_ERROR);
		return;
	}
	const uint8_t *msg;
	size_t msg_len;
	rpc_err e = rpc_stub_decode(o->syntax, req.stub, req.stub_len, &msg, &msg_len);
	if (e != RPC_OK) {
		refuse_call(o, out, cap, &req, REJECT_BAD_STUB, "bad stub data",
			    rpc_strerror(e), RPC_X_BAD_STUB_DATA);
		return;
	}
	respond(a, h, &req, msg, msg_len, out, cap, o);
}

/* A PDU whose header rpc_frame refused: a bind still gets its bind_nak
 * once it is whole; anything else closes the association, as the stream
 * cannot be resynchronised. */
static void unframed(const uint8_t *pdu, size_t avail, rpc_err e, uint8_t *out, size_t cap,
		     answer_outcome *o)
{
	bool nak_worthy = e == RPC_ERR_VERSION || e == RPC_ERR_DREP || e == RPC_ERR_AUTH;
	if (nak_worthy && avail < 3)
		return;
	if (nak_worthy && pdu[2] == RPC_BIND) {
		size_t pdu_len;
		rpc_err f = rpc_frame_length(pdu, avail, &pdu_len);
		if (f == RPC_ERR_SHORT)
			return;
		if (f == RPC_OK) {
			/* in the byte order the client declared */
			o->call_id = (pdu[4] & 0xF0) ? le32_get(pdu + 12)
				: (uint32_t)pdu[12] << 24 | (uint32_t)pdu[13] << 16 |
				  (uint32_t)pdu[14] << 8 | pdu[15];
			o->used = pdu_len;
			refuse_bind(o, out, cap, o->call_id, e, rpc_strerror(e));
			return;
		}
	}
	reject(o, REJECT_BAD_HEADER, "bad PDU header", rpc_strerror(e));
	o->close = true;
}

void answer_pdu(answer_assoc *a, const answer_host *h, const uint8_t *in, size_t avail,
		uint8_t *out, size_t cap, answer_outcome *o)
{
	begin(o);
	size_t len;
	rpc_err e = rpc_frame(in, avail, &len);
	if (e == RPC_ERR_SHORT)
		return;
	if (e != RPC_OK) {
		unframed(in, avail, e, out, cap, o);
		return;
	}
	o->used = len;
	o->call_id = le32_get(in + 12);
	switch (in[2]) {
	case RPC_BIND:
	case RPC_ALTER_CONTEXT:
		on_bind(a, h, in, len, out, cap, o);
		return;
	case RPC_REQUEST:
		on_request(a, h, in, len, out, cap, o);
		return;
	case RPC_ORPHANED:
		/* the client gave up a call: drop what was collected of it and
		 * keep the association (BTFN keep-connection-on-orphan; Windows
		 * ignores these PDUs) */
		if (a->call.active && a->call.call_id == o->call_id)
			a->call.active = false;
		o->kind = ANSWER_ORPHANED;
		return;
	case RPC_CO_CANCEL:
		/* calls run to completion as soon as they are whole: there is
		 * nothing to cancel, and Windows ignores these too */
		o->kind = ANSWER_CANCELLED;
		return;
	default: {
		char detail[32];
		snprintf(detail, sizeof detail, "type %u", in[2]);
		reject(o, REJECT_UNEXPECTED_TYPE, "unexpected PDU type", detail);
		o->close = true;
	}
	}
}
