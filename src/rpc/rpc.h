/* DCE/RPC connection-oriented PDUs, as KMS uses them over TCP.
 *
 * A pure codec: functions read and write caller-supplied byte buffers,
 * never allocate, never do I/O and keep no state beyond what the caller
 * passes in (the per-connection rpc_contexts table). Every length is checked
 * before it is used; malformed input yields a named rpc_err.
 *
 * Host side:  rpc_frame() -> rpc_header_decode() -> by ptype:
 *               bind/alter_context: rpc_bind_decode(), rpc_bind_negotiate(),
 *                                   rpc_bind_ack_encode()
 *               request:            rpc_request_decode(), rpc_contexts_syntax(),
 *                                   rpc_stub_decode(), then
 *                                   rpc_response_encode() or rpc_fault_encode()
 * Client side: rpc_bind_encode(), rpc_bind_ack_decode(), rpc_request_encode(),
 *              rpc_response_decode(). */
#ifndef KMSD_RPC_RPC_H
#define KMSD_RPC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guid.h"

#define RPC_HEADER_LEN 16
/* KMS PDUs are well under 1 KiB; anything above this is refused. */
#define RPC_MAX_PDU 4096
#define RPC_MAX_CONTEXTS 8     /* context elements accepted in one bind */
#define RPC_MAX_TRANSFER 4     /* transfer syntaxes accepted per element */

enum rpc_ptype {
	RPC_REQUEST = 0,
	RPC_RESPONSE = 2,
	RPC_FAULT = 3,
	RPC_BIND = 11,
	RPC_BIND_ACK = 12,
	RPC_BIND_NAK = 13,
	RPC_ALTER_CONTEXT = 14,
	RPC_ALTER_CONTEXT_RESP = 15,
};

#define RPC_PFC_FIRST_FRAG 0x01
#define RPC_PFC_LAST_FRAG 0x02

/* Fault status codes a host sends. */
#define RPC_NCA_OP_RNG_ERROR 0x1C010002u /* unknown opnum */
#define RPC_NCA_UNK_IF 0x1C010003u       /* unknown context / interface */
#define RPC_NCA_PROTO_ERROR 0x1C01000Bu  /* malformed PDU */

/* bind_ack per-context result codes and reasons */
#define RPC_RESULT_ACCEPT 0
#define RPC_RESULT_PROVIDER_REJECT 2
#define RPC_RESULT_NEGOTIATE_ACK 3
#define RPC_REASON_ABSTRACT_UNSUPPORTED 1
#define RPC_REASON_TRANSFER_UNSUPPORTED 2

typedef enum rpc_err {
	RPC_OK = 0,
	RPC_ERR_SHORT,          /* not enough bytes yet (stream) / body shorter than its fields */
	RPC_ERR_VERSION,        /* rpc_vers not 5.0 */
	RPC_ERR_FRAG_LENGTH,    /* frag_length below the header or above RPC_MAX_PDU */
	RPC_ERR_AUTH,           /* auth_length not zero */
	RPC_ERR_DREP,           /* not little-endian/ASCII/IEEE */
	RPC_ERR_FRAGMENTED,     /* first+last fragment flags not both set */
	RPC_ERR_PTYPE,          /* a PDU type this codec does not take here */
	RPC_ERR_CONTEXTS,       /* no context elements, too many, or an element with no syntax */
	RPC_ERR_TRAILING,       /* bytes after the last field the PDU declares */
	RPC_ERR_STUB,           /* NDR stub lengths inconsistent with each other or the PDU */
	RPC_ERR_NO_SPACE,       /* output buffer too small */
	RPC_ERR_BIND_REJECTED,  /* client: the host accepted no KMS context */
	RPC_ERR_FAULT,          /* client: the host answered with a fault PDU */
	RPC_ERR_CALL_ID,        /* client: the answer's call_id is not the request's */
} rpc_err;

const char *rpc_strerror(rpc_err e);

typedef struct rpc_header {
	uint8_t ptype;
	uint8_t flags;
	uint16_t frag_length;
	uint16_t auth_length;
	uint32_t call_id;
} rpc_header;

/* Transfer syntaxes the KMS interface is spoken in. */
typedef enum rpc_syntax_kind {
	RPC_SYNTAX_UNKNOWN = 0,
	RPC_SYNTAX_NDR32,
	RPC_SYNTAX_NDR64,
	RPC_SYNTAX_BTFN,        /* bind-time feature negotiation pseudo-syntax */
} rpc_syntax_kind;

typedef struct rpc_syntax {
	kms_guid uuid;
	uint32_t version;       /* abstract: major | minor << 16; transfer: u32 version */
} rpc_syntax;

extern const rpc_syntax rpc_kms_interface;  /* 51c82175-844e-4750-b0d8-ec255555bc06 v1.0 */
extern const rpc_syntax rpc_ndr32_syntax;
extern const rpc_syntax rpc_ndr64_syntax;

/* Classify a transfer syntax; for BTFN *features gets the requested bits. */
rpc_syntax_kind rpc_syntax_classify(const rpc_syntax *s, uint16_t *features);

typedef struct rpc_context_elem {
	uint16_t context_id;
	uint8_t n_transfer;
	rpc_syntax abstract;
	rpc_syntax transfer[RPC_MAX_TRANSFER];
} rpc_context_elem;

/* bind (11) and alter_context (14) */
typedef struct rpc_bind {
	rpc_header hdr;
	uint16_t max_xmit_frag;
	uint16_t max_recv_frag;
	uint32_t assoc_group_id;
	uint8_t n_contexts;
	rpc_context_elem contexts[RPC_MAX_CONTEXTS];
} rpc_bind;

typedef struct rpc_context_result {
	uint16_t result;
	uint16_t reason;
	rpc_syntax transfer;    /* all zero unless accepted */
} rpc_context_result;

/* bind_ack (12) and alter_context_resp (15), host's answer or client's view */
typedef struct rpc_bind_ack {
	rpc_header hdr;
	uint16_t max_xmit_frag;
	uint16_t max_recv_frag;
	uint32_t assoc_group_id;
	char secondary_address[16]; /* port as ASCII digits; empty for alter_context_resp */
	uint8_t n_results;
	rpc_context_result results[RPC_MAX_CONTEXTS];
} rpc_bind_ack;

/* The KMS contexts a connection has negotiated: context id -> syntax.
 * Zero-initialise one per connection. A context id keeps the syntax it
 * was last proposed with, even if that proposal was rejected, because real
 * clients send requests on such contexts (see the -ndr64 vectors). */
typedef struct rpc_contexts {
	uint8_t n;
	struct {
		uint16_t id;
		uint8_t syntax;  /* rpc_syntax_kind: NDR32 or NDR64 */
	} e[RPC_MAX_CONTEXTS];
} rpc_contexts;

typedef struct rpc_host_options {
	bool ndr64;             /* accept NDR64 when offered */
	bool btfn;              /* answer bind-time feature negotiation */
} rpc_host_options;

typedef struct rpc_request {
	rpc_header hdr;
	uint32_t alloc_hint;
	uint16_t context_id;
	uint16_t opnum;
	const uint8_t *stub;    /* points into the PDU */
	size_t stub_len;
} rpc_request;

typedef struct rpc_response {
	rpc_header hdr;
	uint32_t alloc_hint;
	uint16_t context_id;
	uint8_t cancel_count;
	const uint8_t *stub;    /* points into the PDU */
	size_t stub_len;
	uint32_t fault_status;  /* set when hdr.ptype == RPC_FAULT */
} rpc_response;

/* ---- framing ---------------------------------------------------------- */

/* Look at the start of a byte stream. RPC_OK with *pdu_len set when a whole
 * PDU is there; RPC_ERR_SHORT when more bytes are needed (nothing is wrong
 * yet); any other error when the header can already be seen to be bad
 * (version, drep, frag_length, auth_length), so the caller can close early. */
rpc_err rpc_frame(const uint8_t *buf, size_t len, size_t *pdu_len);

rpc_err rpc_header_decode(const uint8_t *pdu, size_t len, rpc_header *out);

/* ---- host side -------------------------------------------------------- */

rpc_err rpc_bind_decode(const uint8_t *pdu, size_t len, rpc_bind *out);

/* Decide the answer to a bind or alter_context and record KMS contexts in
 * *ctx. Per element: KMS interface with NDR64 offered and opt->ndr64: accept
 * NDR64; with NDR32 offered and NDR64 not accepted in this PDU: accept NDR32;
 * otherwise provider rejection, reason 2; BTFN with opt->btfn: negotiate ack
 * with reason = bits & 3, else reason 2 rejection; other interfaces: reason 1.
 * ack->secondary_address is left for the caller. */
void rpc_bind_negotiate(const rpc_bind *bind, const rpc_host_options *opt,
			rpc_contexts *ctx, rpc_bind_ack *ack);

/* Encode a bind_ack (ack->hdr.ptype RPC_BIND_ACK) or alter_context_resp
 * (RPC_ALTER_CONTEXT_RESP, secondary address sent with length 0). */
rpc_err rpc_bind_ack_encode(const rpc_bind_ack *ack, uint8_t *out, size_t cap, size_t *len);

rpc_err rpc_request_decode(const uint8_t *pdu, size_t len, rpc_request *out);

/* Syntax of a context id on this connection; RPC_SYNTAX_UNKNOWN if never bound. */
rpc_syntax_kind rpc_contexts_syntax(const rpc_contexts *ctx, uint16_t context_id);

/* Find the KMS message inside a request stub (NDR32: u32 length, u32 size;
 * NDR64: u64 length, u64 size); both must agree and fit the stub. */
rpc_err rpc_stub_decode(rpc_syntax_kind syntax, const uint8_t *stub, size_t len,
			const uint8_t **msg, size_t *msg_len);

/* Where a response's KMS message starts inside the PDU for a syntax, so a
 * caller can build the message in place and then call rpc_response_encode
 * with msg pointing there (the message is then not copied). */
size_t rpc_response_msg_offset(rpc_syntax_kind syntax);

/* Encode a response PDU. msg_len 0 (msg may be NULL) encodes the refusal
 * form: length 0, max 0, no size_is, then `status` as return code. */
rpc_err rpc_response_encode(uint32_t call_id, uint16_t context_id, rpc_syntax_kind syntax,
			    const uint8_t *msg, size_t msg_len, uint32_t status,
			    uint8_t *out, size_t cap, size_t *len);

rpc_err rpc_fault_encode(uint32_t call_id, uint16_t context_id, uint32_t status,
			 uint8_t *out, size_t cap, size_t *len);

/* ---- client side ------------------------------------------------------ */

typedef struct rpc_client_options {
	bool ndr32;             /* offer NDR32 */
	bool ndr64;             /* offer NDR64 */
	bool btfn;              /* offer BTFN (feature bits 3) */
} rpc_client_options;

/* A bind (or alter_context with ptype RPC_ALTER_CONTEXT) offering the KMS
 * interface once per enabled syntax, in the order NDR32, NDR64, BTFN, with
 * context ids 0, 1, 2... as Windows does. */
rpc_err rpc_bind_encode(uint8_t ptype, uint32_t call_id, const rpc_client_options *opt,
			uint8_t *out, size_t cap, size_t *len);

rpc_err rpc_bind_ack_decode(const uint8_t *pdu, size_t len, rpc_bind_ack *out);

rpc_err rpc_request_encode(uint32_t call_id, uint16_t context_id, uint16_t opnum,
			   rpc_syntax_kind syntax, const uint8_t *msg, size_t msg_len,
			   uint8_t *out, size_t cap, size_t *len);

/* Decode a response or fault PDU. For a response, *msg and *msg_len give the KMS
 * message (empty for the refusal form) and *status the return code; for a
 * fault, RPC_ERR_FAULT with out->fault_status set. */
rpc_err rpc_response_decode(const uint8_t *pdu, size_t len, rpc_syntax_kind syntax,
			    rpc_response *out, const uint8_t **msg, size_t *msg_len,
			    uint32_t *status);

#endif
