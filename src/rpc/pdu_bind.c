/* bind / alter_context and their acknowledgements, both sides. */
#include "rpc/rpc.h"

#include <stdio.h>

#include "base/bytes.h"
#include "rpc/pdu_private.h"

#define BIND_FIXED 12          /* max_xmit, max_recv, assoc_group, n_contexts + pad */
#define SYNTAX_LEN 20          /* UUID + u32 version */
#define RESULT_LEN 24

static void syntax_read(const uint8_t *p, rpc_syntax *s)
{
	memcpy(s->uuid.b, p, 16);
	s->version = le32_get(p + 16);
}

static void syntax_write(uint8_t *p, const rpc_syntax *s)
{
	memcpy(p, s->uuid.b, 16);
	le32_put(p + 16, s->version);
}

rpc_err rpc_bind_decode(const uint8_t *pdu, size_t len, rpc_bind *out)
{
	rpc_err e = rpc_header_decode(pdu, len, &out->hdr);
	if (e != RPC_OK)
		return e;
	if (out->hdr.ptype != RPC_BIND && out->hdr.ptype != RPC_ALTER_CONTEXT)
		return RPC_ERR_PTYPE;
	if (len < RPC_HEADER_LEN + BIND_FIXED)
		return RPC_ERR_SHORT;
	const uint8_t *p = pdu + RPC_HEADER_LEN;
	out->max_xmit_frag = le16_get(p);
	out->max_recv_frag = le16_get(p + 2);
	out->assoc_group_id = le32_get(p + 4);
	out->n_contexts = p[8];
	if (out->n_contexts == 0)
		return RPC_ERR_CONTEXTS;
	if (out->n_contexts > RPC_MAX_CONTEXTS)
		return RPC_ERR_LIMIT;

	size_t off = RPC_HEADER_LEN + BIND_FIXED;
	for (int i = 0; i < out->n_contexts; i++) {
		rpc_context_elem *c = &out->contexts[i];
		if (len - off < 4 + SYNTAX_LEN)
			return RPC_ERR_SHORT;
		c->context_id = le16_get(pdu + off);
		c->n_transfer = pdu[off + 2];
		if (c->n_transfer == 0)
			return RPC_ERR_CONTEXTS;
		if (c->n_transfer > RPC_MAX_TRANSFER)
			return RPC_ERR_LIMIT;
		syntax_read(pdu + off + 4, &c->abstract);
		off += 4 + SYNTAX_LEN;
		if ((len - off) / SYNTAX_LEN < c->n_transfer)
			return RPC_ERR_SHORT;
		for (int t = 0; t < c->n_transfer; t++, off += SYNTAX_LEN)
			syntax_read(pdu + off, &c->transfer[t]);
	}
	return off == len ? RPC_OK : RPC_ERR_TRAILING;
}

static bool offers(const rpc_context_elem *c, rpc_syntax_kind kind, uint16_t *features)
{
	for (int t = 0; t < c->n_transfer; t++)
		if (rpc_syntax_classify(&c->transfer[t], features) == kind)
			return true;
	return false;
}

static bool is_kms_interface(const rpc_syntax *s)
{
	return guid_cmp(&s->uuid, &rpc_kms_interface.uuid) == 0 &&
	       s->version == rpc_kms_interface.version;
}

static void contexts_record(rpc_contexts *ctx, uint16_t id, rpc_syntax_kind syntax)
{
	for (int i = 0; i < ctx->n; i++) {
		if (ctx->e[i].id == id) {
			ctx->e[i].syntax = (uint8_t)syntax;
			return;
		}
	}
	if (ctx->n < RPC_MAX_CONTEXTS) {
		ctx->e[ctx->n].id = id;
		ctx->e[ctx->n].syntax = (uint8_t)syntax;
		ctx->n++;
	}
}

rpc_syntax_kind rpc_contexts_syntax(const rpc_contexts *ctx, uint16_t context_id)
{
	for (int i = 0; i < ctx->n; i++)
		if (ctx->e[i].id == context_id)
			return (rpc_syntax_kind)ctx->e[i].syntax;
	return RPC_SYNTAX_UNKNOWN;
}

uint16_t rpc_frag_negotiate(uint16_t client_offer)
{
	uint16_t v = client_offer < RPC_MAX_PDU ? client_offer : RPC_MAX_PDU;
	return v > RPC_MIN_FRAG ? v : RPC_MIN_FRAG;
}

void rpc_bind_negotiate(const rpc_bind *bind, const rpc_host_options *opt, rpc_contexts *ctx,
			rpc_bind_ack *ack)
{
	bool is_bind = bind->hdr.ptype == RPC_BIND;
	memset(ack, 0, sizeof *ack);
	ack->hdr.ptype = is_bind ? RPC_BIND_ACK : RPC_ALTER_CONTEXT_RESP;
	ack->hdr.call_id = bind->hdr.call_id;
	/* multiplexing is a property of the association, agreed at bind time:
	 * Windows and vlmcsd echo it in bind_ack only */
	ack->hdr.flags = RPC_PFC_WHOLE | (is_bind ? bind->hdr.flags & RPC_PFC_CONC_MPX : 0);
	/* the host sends what the client can receive and the reverse; an
	 * alter_context's sizes are ignored, the bind's stay */
	if (is_bind || !ctx->max_xmit) {
		ctx->max_xmit = rpc_frag_negotiate(bind->max_recv_frag);
		ctx->max_recv = rpc_frag_negotiate(bind->max_xmit_frag);
	}
	ack->max_xmit_frag = ctx->max_xmit;
	ack->max_recv_frag = ctx->max_recv;
	ack->assoc_group_id = bind->assoc_group_id;
	ack->n_results = bind->n_contexts;

	/* NDR64, when we take it, wins over NDR32 offered anywhere in the PDU */
	bool ndr64_taken = false;
	for (int i = 0; i < bind->n_contexts && opt->ndr64; i++)
		ndr64_taken |= is_kms_interface(&bind->contexts[i].abstract) &&
			       offers(&bind->contexts[i], RPC_SYNTAX_NDR64, NULL);

	for (int i = 0; i < bind->n_contexts; i++) {
		const rpc_context_elem *c = &bind->contexts[i];
		rpc_context_result *r = &ack->results[i];
		uint16_t features = 0;
		r->result = RPC_RESULT_PROVIDER_REJECT;
		r->reason = RPC_REASON_TRANSFER_UNSUPPORTED;

		if (offers(c, RPC_SYNTAX_BTFN, &features)) {
			if (opt->btfn) {
				r->result = RPC_RESULT_NEGOTIATE_ACK;
				r->reason = features & 3;
			}
			continue;
		}
		if (!is_kms_interface(&c->abstract)) {
			r->reason = RPC_REASON_ABSTRACT_UNSUPPORTED;
			continue;
		}
		bool ndr32 = offers(c, RPC_SYNTAX_NDR32, NULL);
		bool ndr64 = offers(c, RPC_SYNTAX_NDR64, NULL);
		if (ndr64 && opt->ndr64) {
			r->result = RPC_RESULT_ACCEPT;
			r->reason = 0;
			r->transfer = rpc_ndr64_syntax;
		} else if (ndr32 && !ndr64_taken) {
			r->result = RPC_RESULT_ACCEPT;
			r->reason = 0;
			r->transfer = rpc_ndr32_syntax;
		}
		/* a rejected proposal leaves the id unusable until accepted */
		contexts_record(ctx, c->context_id,
				r->result == RPC_RESULT_ACCEPT ? rpc_syntax_classify(&r->transfer, NULL)
							       : RPC_SYNTAX_UNKNOWN);
	}
}

rpc_err rpc_bind_ack_encode(const rpc_bind_ack *ack, uint8_t *out, size_t cap, size_t *len)
{
	size_t addr_len = 0;
	if (ack->hdr.ptype == RPC_BIND_ACK && ack->secondary_address[0])
		addr_len = strnlen(ack->secondary_address, sizeof ack->secondary_address - 1) + 1;
	size_t results_at = align_up(RPC_HEADER_LEN + 10 + addr_len, 4);
	size_t total = results_at + 4 + (size_t)ack->n_results * RESULT_LEN;
	if (ack->n_results > RPC_MAX_CONTEXTS)
		return RPC_ERR_CONTEXTS;
	if (cap < total)
		return RPC_ERR_NO_SPACE;

	memset(out, 0, total);
	rpc_header_encode(out, ack->hdr.ptype, ack->hdr.flags ? ack->hdr.flags : RPC_PFC_WHOLE,
			  (uint16_t)total, ack->hdr.call_id);
	uint8_t *p = out + RPC_HEADER_LEN;
	le16_put(p, ack->max_xmit_frag);
	le16_put(p + 2, ack->max_recv_frag);
	le32_put(p + 4, ack->assoc_group_id);
	le16_put(p + 8, (uint16_t)addr_len);
	memcpy(p + 10, ack->secondary_address, addr_len ? addr_len - 1 : 0);
	p = out + results_at;
	p[0] = ack->n_results;
	p += 4;
	for (int i = 0; i < ack->n_results; i++, p += RESULT_LEN) {
		le16_put(p, ack->results[i].result);
		le16_put(p + 2, ack->results[i].reason);
		syntax_write(p + 4, &ack->results[i].transfer);
	}
	*len = total;
	return RPC_OK;
}

uint16_t rpc_bind_nak_reason(rpc_err e)
{
	switch (e) {
	case RPC_ERR_VERSION: return RPC_NAK_PROTOCOL_VERSION;
	case RPC_ERR_AUTH: return RPC_NAK_INVALID_AUTH_TYPE;
	case RPC_ERR_LIMIT: return RPC_NAK_LOCAL_LIMIT_EXCEEDED;
	default: return RPC_NAK_NOT_SPECIFIED;
	}
}

#define BIND_NAK_LEN 24

rpc_err rpc_bind_nak_encode(uint32_t call_id, uint16_t reason, uint8_t *out, size_t cap,
			    size_t *len)
{
	if (cap < BIND_NAK_LEN)
		return RPC_ERR_NO_SPACE;
	memset(out, 0, BIND_NAK_LEN);
	rpc_header_encode(out, RPC_BIND_NAK, RPC_PFC_WHOLE, BIND_NAK_LEN, call_id);
	le16_put(out + 16, reason);
	out[18] = 1; /* versions supported: one, 5.0 */
	out[19] = 5;
	out[20] = 0;
	*len = BIND_NAK_LEN;
	return RPC_OK;
}

/* ---- client side ---- */

rpc_err rpc_bind_encode(uint8_t ptype, uint32_t call_id, const rpc_client_options *opt,
			uint8_t *out, size_t cap, size_t *len)
{
	static const rpc_syntax btfn = {
		{ { 0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45, 3, 0, 0, 0, 0, 0, 0, 0 } }, 1
	};
	const rpc_syntax *offer[3];
	int n = 0;
	if (opt->ndr32)
		offer[n++] = &rpc_ndr32_syntax;
	if (opt->ndr64)
		offer[n++] = &rpc_ndr64_syntax;
	if (opt->btfn)
		offer[n++] = &btfn;
	if (n == 0 || (ptype != RPC_BIND && ptype != RPC_ALTER_CONTEXT))
		return RPC_ERR_CONTEXTS;
	size_t total = RPC_HEADER_LEN + BIND_FIXED + (size_t)n * (4 + 2 * SYNTAX_LEN);
	if (cap < total)
		return RPC_ERR_NO_SPACE;

	memset(out, 0, total);
	rpc_header_encode(out, ptype, RPC_PFC_WHOLE, (uint16_t)total, call_id);
	uint8_t *p = out + RPC_HEADER_LEN;
	le16_put(p, 5840);
	le16_put(p + 2, 5840);
	p[8] = (uint8_t)n;
	p += BIND_FIXED;
	for (int i = 0; i < n; i++) {
		le16_put(p, (uint16_t)i);
		p[2] = 1;
		syntax_write(p + 4, &rpc_kms_interface);
		syntax_write(p + 4 + SYNTAX_LEN, offer[i]);
		p += 4 + 2 * SYNTAX_LEN;
	}
	*len = total;
	return RPC_OK;
}

rpc_err rpc_bind_ack_decode(const uint8_t *pdu, size_t len, rpc_bind_ack *out)
{
	memset(out, 0, sizeof *out);
	rpc_err e = rpc_header_decode(pdu, len, &out->hdr);
	if (e != RPC_OK)
		return e;
	if ((out->hdr.flags & RPC_PFC_WHOLE) != RPC_PFC_WHOLE)
		return RPC_ERR_FRAGMENTED;
	if (out->hdr.ptype == RPC_BIND_NAK)
		return RPC_ERR_BIND_REJECTED;
	if (out->hdr.ptype != RPC_BIND_ACK && out->hdr.ptype != RPC_ALTER_CONTEXT_RESP)
		return RPC_ERR_PTYPE;
	if (len < RPC_HEADER_LEN + 10)
		return RPC_ERR_SHORT;
	const uint8_t *p = pdu + RPC_HEADER_LEN;
	out->max_xmit_frag = le16_get(p);
	out->max_recv_frag = le16_get(p + 2);
	out->assoc_group_id = le32_get(p + 4);
	size_t addr_len = le16_get(p + 8);
	size_t results_at = align_up(RPC_HEADER_LEN + 10 + addr_len, 4);
	if (results_at + 4 > len)
		return RPC_ERR_SHORT;
	size_t copy = addr_len < sizeof out->secondary_address ? addr_len
							       : sizeof out->secondary_address - 1;
	memcpy(out->secondary_address, p + 10, copy);
	out->secondary_address[copy] = 0;
	out->n_results = pdu[results_at];
	if (out->n_results > RPC_MAX_CONTEXTS)
		return RPC_ERR_CONTEXTS;
	if (len - results_at - 4 < (size_t)out->n_results * RESULT_LEN)
		return RPC_ERR_SHORT;
	const uint8_t *r = pdu + results_at + 4;
	for (int i = 0; i < out->n_results; i++, r += RESULT_LEN) {
		out->results[i].result = le16_get(r);
		out->results[i].reason = le16_get(r + 2);
		syntax_read(r + 4, &out->results[i].transfer);
	}
	return RPC_OK;
}
