/* The common header, stream framing, syntax identifiers and error names. */
#include "rpc/rpc.h"

#include "base/bytes.h"
#include "rpc/pdu_private.h"

const rpc_syntax rpc_kms_interface = {
	{ { 0x75, 0x21, 0xc8, 0x51, 0x4e, 0x84, 0x50, 0x47,
	    0xb0, 0xd8, 0xec, 0x25, 0x55, 0x55, 0xbc, 0x06 } }, 1
};
const rpc_syntax rpc_ndr32_syntax = {
	{ { 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
	    0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60 } }, 2
};
const rpc_syntax rpc_ndr64_syntax = {
	{ { 0x33, 0x05, 0x71, 0x71, 0xba, 0xbe, 0x37, 0x49,
	    0x83, 0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36 } }, 1
};
/* BTFN: 6cb71c2c-9812-4540-XXXX-000000000000, XXXX = the feature bits */
static const uint8_t btfn_prefix[8] = { 0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45 };

rpc_syntax_kind rpc_syntax_classify(const rpc_syntax *s, uint16_t *features)
{
	if (guid_cmp(&s->uuid, &rpc_ndr32_syntax.uuid) == 0 && s->version == 2)
		return RPC_SYNTAX_NDR32;
	if (guid_cmp(&s->uuid, &rpc_ndr64_syntax.uuid) == 0 && s->version == 1)
		return RPC_SYNTAX_NDR64;
	if (memcmp(s->uuid.b, btfn_prefix, sizeof btfn_prefix) == 0) {
		if (features)
			*features = le16_get(s->uuid.b + 8);
		return RPC_SYNTAX_BTFN;
	}
	return RPC_SYNTAX_UNKNOWN;
}

const char *rpc_strerror(rpc_err e)
{
	switch (e) {
	case RPC_OK: return "ok";
	case RPC_ERR_SHORT: return "PDU shorter than its fields";
	case RPC_ERR_VERSION: return "rpc_vers is not 5.0";
	case RPC_ERR_FRAG_LENGTH: return "frag_length out of range";
	case RPC_ERR_AUTH: return "auth_length is not zero";
	case RPC_ERR_DREP: return "data representation is not little-endian ASCII IEEE";
	case RPC_ERR_FRAGMENTED: return "fragmented PDU (first/last flags not both set)";
	case RPC_ERR_PTYPE: return "unexpected PDU type";
	case RPC_ERR_CONTEXTS: return "bad presentation context list";
	case RPC_ERR_TRAILING: return "bytes after the PDU's last field";
	case RPC_ERR_STUB: return "NDR stub lengths inconsistent";
	case RPC_ERR_NO_SPACE: return "output buffer too small";
	case RPC_ERR_BIND_REJECTED: return "host accepted no KMS context";
	case RPC_ERR_FAULT: return "host answered with a fault";
	case RPC_ERR_CALL_ID: return "answer's call_id differs from the request's";
	case RPC_ERR_LIMIT: return "more presentation contexts than the host takes";
	case RPC_ERR_SEQUENCE: return "fragment out of sequence for its call";
	case RPC_ERR_TOO_BIG: return "fragment or call larger than negotiated";
	}
	return "unknown error";
}

/* What can be judged from the first bytes alone, before the PDU is whole. */
static rpc_err check_prefix(const uint8_t *p, size_t len)
{
	if (len >= 1 && p[0] != 5)
		return RPC_ERR_VERSION;
	if (len >= 2 && p[1] != 0)
		return RPC_ERR_VERSION;
	if (len >= 5 && p[4] != 0x10)
		return RPC_ERR_DREP;
	if (len >= 6 && p[5] != 0)
		return RPC_ERR_DREP;
	if (len >= 10) {
		uint16_t frag = le16_get(p + 8);
		if (frag < RPC_HEADER_LEN || frag > RPC_MAX_PDU)
			return RPC_ERR_FRAG_LENGTH;
	}
	if (len >= 12 && le16_get(p + 10) != 0)
		return RPC_ERR_AUTH;
	return RPC_OK;
}

rpc_err rpc_frame_length(const uint8_t *buf, size_t len, size_t *pdu_len)
{
	if (len < 10)
		return RPC_ERR_SHORT;
	/* drep byte 0, high nibble: 0 big-endian, 1 little-endian integers */
	size_t frag = (buf[4] & 0xF0) ? le16_get(buf + 8) : (size_t)(buf[8] << 8 | buf[9]);
	if (frag < RPC_HEADER_LEN || frag > RPC_MAX_PDU)
		return RPC_ERR_FRAG_LENGTH;
	if (len < frag)
		return RPC_ERR_SHORT;
	*pdu_len = frag;
	return RPC_OK;
}

rpc_err rpc_frame(const uint8_t *buf, size_t len, size_t *pdu_len)
{
	rpc_err e = check_prefix(buf, len);
	if (e != RPC_OK)
		return e;
	if (len < RPC_HEADER_LEN)
		return RPC_ERR_SHORT;
	size_t frag = le16_get(buf + 8);
	if (len < frag)
		return RPC_ERR_SHORT;
	*pdu_len = frag;
	return RPC_OK;
}

rpc_err rpc_header_decode(const uint8_t *pdu, size_t len, rpc_header *h)
{
	if (len < RPC_HEADER_LEN)
		return RPC_ERR_SHORT;
	rpc_err e = check_prefix(pdu, len);
	if (e != RPC_OK)
		return e;
	h->ptype = pdu[2];
	h->flags = pdu[3];
	h->frag_length = le16_get(pdu + 8);
	h->auth_length = le16_get(pdu + 10);
	h->call_id = le32_get(pdu + 12);
	/* the fragment flags are the caller's to judge: requests may come in
	 * pieces, and Windows takes a bind with neither flag set */
	if (h->frag_length != len)
		return h->frag_length > len ? RPC_ERR_SHORT : RPC_ERR_TRAILING;
	return RPC_OK;
}

void rpc_header_encode(uint8_t *p, uint8_t ptype, uint8_t flags, uint16_t frag_length,
		       uint32_t call_id)
{
	p[0] = 5;
	p[1] = 0;
	p[2] = ptype;
	p[3] = flags;
	p[4] = 0x10;
	p[5] = p[6] = p[7] = 0;
	le16_put(p + 8, frag_length);
	le16_put(p + 10, 0);
	le32_put(p + 12, call_id);
}
