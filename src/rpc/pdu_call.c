/* request, response and fault PDUs with their NDR32/NDR64 stubs. */
#include "rpc/rpc.h"

#include "base/bytes.h"
#include "rpc/pdu_private.h"

#define CALL_FIXED 8           /* alloc_hint, context id, opnum | cancel count + pad */
#define PFC_OBJECT_UUID 0x80
#define NDR_MAX_COUNT 0x00020000u
#define FAULT_LEN (RPC_HEADER_LEN + CALL_FIXED + 8)

/* Bytes of the length fields before the message, and the stub alignment. */
static size_t request_prefix(rpc_syntax_kind s)
{
	return s == RPC_SYNTAX_NDR64 ? 16 : 8;
}

static size_t response_prefix(rpc_syntax_kind s)
{
	return s == RPC_SYNTAX_NDR64 ? 24 : 12;
}

static size_t stub_alignment(rpc_syntax_kind s)
{
	return s == RPC_SYNTAX_NDR64 ? 8 : 4;
}

static bool known_syntax(rpc_syntax_kind s)
{
	return s == RPC_SYNTAX_NDR32 || s == RPC_SYNTAX_NDR64;
}

static uint64_t ndr_get(rpc_syntax_kind s, const uint8_t *p)
{
	return s == RPC_SYNTAX_NDR64 ? le64_get(p) : le32_get(p);
}

static void ndr_put(rpc_syntax_kind s, uint8_t *p, uint64_t v)
{
	if (s == RPC_SYNTAX_NDR64)
		le64_put(p, v);
	else
		le32_put(p, (uint32_t)v);
}

rpc_err rpc_request_decode(const uint8_t *pdu, size_t len, rpc_request *out)
{
	rpc_err e = rpc_header_decode(pdu, len, &out->hdr);
	if (e != RPC_OK)
		return e;
	if (out->hdr.ptype != RPC_REQUEST)
		return RPC_ERR_PTYPE;
	size_t off = RPC_HEADER_LEN + CALL_FIXED;
	if (out->hdr.flags & PFC_OBJECT_UUID)
		off += 16;
	if (len < off)
		return RPC_ERR_SHORT;
	out->alloc_hint = le32_get(pdu + 16);
	out->context_id = le16_get(pdu + 20);
	out->opnum = le16_get(pdu + 22);
	out->stub = pdu + off;
	out->stub_len = len - off;
	return RPC_OK;
}

rpc_err rpc_stub_decode(rpc_syntax_kind syntax, const uint8_t *stub, size_t len,
			const uint8_t **msg, size_t *msg_len)
{
	if (!known_syntax(syntax))
		return RPC_ERR_STUB;
	size_t prefix = request_prefix(syntax), field = prefix / 2;
	if (len < prefix)
		return RPC_ERR_STUB;
	uint64_t length = ndr_get(syntax, stub), size = ndr_get(syntax, stub + field);
	if (length != size || length > len - prefix)
		return RPC_ERR_STUB;
	*msg = stub + prefix;
	*msg_len = (size_t)length;
	return RPC_OK;
}

size_t rpc_response_msg_offset(rpc_syntax_kind syntax)
{
	return RPC_HEADER_LEN + CALL_FIXED + response_prefix(syntax);
}

rpc_err rpc_response_encode(uint32_t call_id, uint16_t context_id, rpc_syntax_kind syntax,
			    const uint8_t *msg, size_t msg_len, uint32_t status,
			    uint8_t *out, size_t cap, size_t *len)
{
	if (!known_syntax(syntax))
		return RPC_ERR_STUB;
	size_t field = request_prefix(syntax) / 2;
	/* success: length, max, size, message, status; refusal: 0, 0, status */
	size_t head = msg_len ? response_prefix(syntax) : 2 * field;
	size_t stub = align_up(head + msg_len + 4, stub_alignment(syntax));
	size_t total = RPC_HEADER_LEN + CALL_FIXED + stub;
	if (total > cap || total > RPC_MAX_PDU)
		return RPC_ERR_NO_SPACE;

	uint8_t *s = out + RPC_HEADER_LEN + CALL_FIXED;
	if (msg_len)
		memmove(s + head, msg, msg_len);
	rpc_header_encode(out, RPC_RESPONSE, RPC_PFC_WHOLE, (uint16_t)total, call_id);
	le32_put(out + 16, (uint32_t)stub);
	le16_put(out + 20, context_id);
	out[22] = 0;
	out[23] = 0;
	ndr_put(syntax, s, msg_len);
	ndr_put(syntax, s + field, msg_len ? NDR_MAX_COUNT : 0);
	if (msg_len)
		ndr_put(syntax, s + 2 * field, msg_len);
	le32_put(s + head + msg_len, status);
	memset(s + head + msg_len + 4, 0, stub - head - msg_len - 4);
	*len = total;
	return RPC_OK;
}

rpc_err rpc_fault_encode(uint32_t call_id, uint16_t context_id, uint32_t status,
			 uint8_t *out, size_t cap, size_t *len)
{
	if (cap < FAULT_LEN)
		return RPC_ERR_NO_SPACE;
	memset(out, 0, FAULT_LEN);
	rpc_header_encode(out, RPC_FAULT, RPC_PFC_WHOLE | RPC_PFC_DID_NOT_EXECUTE, FAULT_LEN, call_id);
	le16_put(out + 20, context_id);
	le32_put(out + 24, status);
	*len = FAULT_LEN;
	return RPC_OK;
}

rpc_err rpc_fragment_add(rpc_call_assembly *a, const rpc_request *frag, uint8_t *store,
			 size_t cap, const uint8_t **stub, size_t *stub_len)
{
	bool first = frag->hdr.flags & RPC_PFC_FIRST_FRAG, last = frag->hdr.flags & RPC_PFC_LAST_FRAG;
	if (first == a->active || (!first && frag->hdr.call_id != a->call_id)) {
		/* a new call while one is open, or a piece of no open call */
		a->active = false;
		return RPC_ERR_SEQUENCE;
	}
	if (first && last) {
		*stub = frag->stub;
		*stub_len = frag->stub_len;
		return RPC_OK;
	}
	if (first) {
		a->active = true;
		a->call_id = frag->hdr.call_id;
		a->context_id = frag->context_id;
		a->opnum = frag->opnum;
		a->stub_len = 0;
	}
	if (frag->stub_len > cap - a->stub_len) {
		a->active = false;
		return RPC_ERR_TOO_BIG;
	}
	memmove(store + a->stub_len, frag->stub, frag->stub_len);
	a->stub_len += frag->stub_len;
	if (!last)
		return RPC_ERR_SHORT;
	a->active = false;
	*stub = store;
	*stub_len = a->stub_len;
	return RPC_OK;
}

rpc_err rpc_fragment_split(const uint8_t *pdu, size_t len, size_t max_frag, uint8_t *out,
			   size_t cap, size_t *out_len)
{
	size_t head = RPC_HEADER_LEN + CALL_FIXED;
	if (len < head || max_frag < head + 8)
		return RPC_ERR_SHORT;
	if (len <= max_frag) {
		if (cap < len)
			return RPC_ERR_NO_SPACE;
		memmove(out, pdu, len);
		*out_len = len;
		return RPC_OK;
	}
	size_t chunk = (max_frag - head) / 8 * 8, stub = len - head, n = 0;
	size_t pieces = (stub + chunk - 1) / chunk;
	if (cap < len + (pieces - 1) * head)
		return RPC_ERR_NO_SPACE;
	for (size_t done = 0; done < stub; done += chunk) {
		size_t this_len = stub - done < chunk ? stub - done : chunk;
		uint8_t flags = (uint8_t)(pdu[3] & ~RPC_PFC_WHOLE);
		flags |= done == 0 ? RPC_PFC_FIRST_FRAG : 0;
		flags |= done + this_len == stub ? RPC_PFC_LAST_FRAG : 0;
		memcpy(out + n, pdu, head);
		out[n + 3] = flags;
		le16_put(out + n + 8, (uint16_t)(head + this_len));
		le32_put(out + n + 16, (uint32_t)(stub - done)); /* alloc_hint: what is left */
		memcpy(out + n + head, pdu + head + done, this_len);
		n += head + this_len;
	}
	*out_len = n;
	return RPC_OK;
}

/* ---- client side ---- */

rpc_err rpc_request_encode(uint32_t call_id, uint16_t context_id, uint16_t opnum,
			   rpc_syntax_kind syntax, const uint8_t *msg, size_t msg_len,
			   uint8_t *out, size_t cap, size_t *len)
{
	return rpc_request_encode_padded(call_id, context_id, opnum, syntax, msg, msg_len, 0, out,
					 cap, len);
}

rpc_err rpc_request_encode_padded(uint32_t call_id, uint16_t context_id, uint16_t opnum,
				  rpc_syntax_kind syntax, const uint8_t *msg, size_t msg_len,
				  size_t padding, uint8_t *out, size_t cap, size_t *len)
{
	if (!known_syntax(syntax))
		return RPC_ERR_STUB;
	size_t prefix = request_prefix(syntax);
	if (padding > RPC_MAX_PDU || msg_len > RPC_MAX_PDU)
		return RPC_ERR_NO_SPACE;
	size_t stub = prefix + msg_len + padding;
	size_t total = RPC_HEADER_LEN + CALL_FIXED + stub;
	if (total > cap || total > RPC_MAX_PDU)
		return RPC_ERR_NO_SPACE;
	memset(out, 0, total);
	rpc_header_encode(out, RPC_REQUEST, RPC_PFC_WHOLE, (uint16_t)total, call_id);
	le32_put(out + 16, (uint32_t)stub);
	le16_put(out + 20, context_id);
	le16_put(out + 22, opnum);
	uint8_t *s = out + RPC_HEADER_LEN + CALL_FIXED;
	ndr_put(syntax, s, msg_len);
	ndr_put(syntax, s + prefix / 2, msg_len);
	memcpy(s + prefix, msg, msg_len);
	*len = total;
	return RPC_OK;
}

rpc_err rpc_response_decode(const uint8_t *pdu, size_t len, rpc_syntax_kind syntax,
			    rpc_response *out, const uint8_t **msg, size_t *msg_len,
			    uint32_t *status)
{
	memset(out, 0, sizeof *out);
	*msg = NULL;
	*msg_len = 0;
	*status = 0;
	rpc_err e = rpc_header_decode(pdu, len, &out->hdr);
	if (e != RPC_OK)
		return e;
	if (out->hdr.ptype != RPC_RESPONSE && out->hdr.ptype != RPC_FAULT)
		return RPC_ERR_PTYPE;
	if ((out->hdr.flags & RPC_PFC_WHOLE) != RPC_PFC_WHOLE)
		return RPC_ERR_FRAGMENTED;
	if (len < RPC_HEADER_LEN + CALL_FIXED)
		return RPC_ERR_SHORT;
	out->alloc_hint = le32_get(pdu + 16);
	out->context_id = le16_get(pdu + 20);
	out->cancel_count = pdu[22];
	out->stub = pdu + RPC_HEADER_LEN + CALL_FIXED;
	out->stub_len = len - RPC_HEADER_LEN - CALL_FIXED;
	if (out->hdr.ptype == RPC_FAULT) {
		if (out->stub_len < 4)
			return RPC_ERR_SHORT;
		out->fault_status = le32_get(out->stub);
		*status = out->fault_status;
		return RPC_ERR_FAULT;
	}
	if (!known_syntax(syntax))
		return RPC_ERR_STUB;

	const uint8_t *s = out->stub;
	size_t n = out->stub_len, field = request_prefix(syntax) / 2;
	if (n < 2 * field + 4)
		return RPC_ERR_STUB;
	uint64_t length = ndr_get(syntax, s);
	if (length == 0) {
		*status = le32_get(s + 2 * field);
		return RPC_OK;
	}
	size_t head = response_prefix(syntax);
	if (n < head || ndr_get(syntax, s + 2 * field) != length || length > n - head ||
	    n - head - length < 4)
		return RPC_ERR_STUB;
	*msg = s + head;
	*msg_len = (size_t)length;
	*status = le32_get(s + head + length);
	return RPC_OK;
}
