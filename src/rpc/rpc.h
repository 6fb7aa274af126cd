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
/* The largest fragment the host sends or takes: what Windows offers over
 * TCP. KMS PDUs are well under 1 KiB. */
#define RPC_MAX_PDU 5840
/* Every peer must take fragments this large (C706 12.6.3.1, MustRecvFragSize),
 * so negotiation never goes below it. */
#define RPC_MIN_FRAG 1432
/* Bound on the stub of one call reassembled from fragments. */
#define RPC_MAX_CALL_STUB 2048
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
	RPC_CO_CANCEL = 18,
	RPC_ORPHANED = 19,
};

#define RPC_PFC_FIRST_FRAG 0x01
#define RPC_PFC_LAST_FRAG 0x02
#define RPC_PFC_CONC_MPX 0x10          /* concurrent multiplexing (bind, bind_ack) */
#define RPC_PFC_DID_NOT_EXECUTE 0x20   /* fault: the call was not run */

/* Fault status codes a host sends. */
#define RPC_NCA_OP_RNG_ERROR 0x1C010002u /* unknown opnum */
#define RPC_NCA_UNK_IF 0x1C010003u       /* unknown context / interface */
#define RPC_NCA_PROTO_ERROR 0x1C01000Bu  /* malformed PDU */
#define RPC_S_ACCESS_DENIED 0x00000005u  /* Windows' fault for an over-long fragmented call */

/* bind_nak provider_reject_reason (C706 12.6.4.8; 8 from MS-RPCE) */
#define RPC_NAK_NOT_SPECIFIED 0
#define RPC_NAK_LOCAL_LIMIT_EXCEEDED 2
#define RPC_NAK_PROTOCOL_VERSION 4
#define RPC_NAK_INVALID_AUTH_TYPE 8

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
	RPC_ERR_FRAGMENTED,     /* client: first+last fragment flags not both set */
	RPC_ERR_PTYPE,          /* a PDU type this codec does not take here */
	RPC_ERR_CONTEXTS,       /* no context elements, too many, or an element with no syntax */
	RPC_ERR_TRAILING,       /* bytes after the last field the PDU declares */
	RPC_ERR_STUB,           /* NDR stub lengths inconsistent with each other or the PDU */
	RPC_ERR_NO_SPACE,       /* output buffer too small */
	RPC_ERR_BIND_REJECTED,  /* client: the host accepted no KMS context */
	RPC_ERR_FAULT,          /* client: the host answered with a fault PDU */
	RPC_ERR_CALL_ID,        /* client: the answer's call_id is not the request's */
	RPC_ERR_LIMIT,          /* more context elements or transfer syntaxes than the host takes */
	RPC_ERR_SEQUENCE,       /* a fragment out of order for its call */
	RPC_ERR_TOO_BIG,        /* a fragment above the negotiated size, or a call above RPC_MAX_CALL_STUB */
} rpc_err;
#define RPC_ERR_LAST_ RPC_ERR_TOO_BIG

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

/* What a connection's bind negotiated: context id -> syntax, and the
 * fragment sizes. Zero-initialise one per connection. A context the host
 * rejected (or rejected when it was last proposed) has no syntax, so
 * requests on it are faulted. */
typedef struct rpc_contexts {
	uint8_t n;
	struct {
		uint16_t id;
		uint8_t syntax;  /* rpc_syntax_kind: NDR32, NDR64, or UNKNOWN when rejected */
	} e[RPC_MAX_CONTEXTS];
	uint16_t max_xmit;       /* largest fragment the host sends; 0 before the bind */
	uint16_t max_recv;       /* largest fragment the host takes; 0 before the bind */
} rpc_contexts;

/* A request arriving in fragments, collected per call (one at a time, as
 * a client that does not multiplex sends them). Zero-initialise. */
typedef struct rpc_call_assembly {
	bool active;             /* a first fragment came, the last not yet */
	uint32_t call_id;
	uint16_t context_id, opnum;
	size_t stub_len;         /* bytes collected so far */
} rpc_call_assembly;

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

/* Frame by frag_length alone (read in the byte order the drep names), for
 * a PDU whose header rpc_frame refuses but that still deserves an answer
 * (a bind with a version or drep the host does not take gets a bind_nak). */
rpc_err rpc_frame_length(const uint8_t *buf, size_t len, size_t *pdu_len);

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

/* C706 12.6.3.1: each side's size is the smaller of what the client
 * offered and RPC_MAX_PDU, never below RPC_MIN_FRAG. */
uint16_t rpc_frag_negotiate(uint16_t client_offer);

/* The provider_reject_reason for a bind rpc_frame or rpc_bind_decode
 * refused with e (what Windows answers for each, see docs/rpc-notes.md). */
uint16_t rpc_bind_nak_reason(rpc_err e);

/* bind_nak: reason, the one protocol version the host speaks (5.0), then
 * padding to 24 bytes as Windows sends it. */
rpc_err rpc_bind_nak_encode(uint32_t call_id, uint16_t reason, uint8_t *out, size_t cap,
			    size_t *len);

/* Add one request fragment to the call being collected in store (cap
 * bytes, may overlap the input behind the fragment). RPC_OK: the call is
 * whole, *stub / *stub_len give its stub (the fragment's own for an
 * unfragmented request, else store). RPC_ERR_SHORT: more fragments to
 * come. RPC_ERR_SEQUENCE: out of order (the collection is dropped);
 * RPC_ERR_TOO_BIG: the call exceeds cap. */
rpc_err rpc_fragment_add(rpc_call_assembly *a, const rpc_request *frag, uint8_t *store,
			 size_t cap, const uint8_t **stub, size_t *stub_len);

/* Split an encoded response (or any request/response PDU) into fragments
 * of at most max_frag bytes, stub chunks a multiple of 8; a PDU that fits
 * is copied as is. out must not overlap pdu. */
rpc_err rpc_fragment_split(const uint8_t *pdu, size_t len, size_t max_frag, uint8_t *out,
			   size_t cap, size_t *out_len);

/* Encode a bind_ack (ack->hdr.ptype RPC_BIND_ACK) or alter_context_resp
 * (RPC_ALTER_CONTEXT_RESP, secondary address sent with length 0). */
rpc_err rpc_bind_ack_encode(const rpc_bind_ack *ack, uint8_t *out, size_t cap, size_t *len);

rpc_err rpc_request_decode(const uint8_t *pdu, size_t len, rpc_request *out);

/* Syntax of a context id on this connection; RPC_SYNTAX_UNKNOWN if never bound. */
rpc_syntax_kind rpc_contexts_syntax(const rpc_contexts *ctx, uint16_t context_id);

/* Find the KMS message inside a request stub (NDR32: u32 length, u32 size;
 * NDR64: u64 length, u64 size); both must agree and fit the stub. Bytes
 * after the message are ignored, as vlmcsd and Windows do (py-kms pads). */
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

/* A fault for a call the host did not run (the only kind it sends):
 * flags first, last and did-not-execute. */
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

/* The stub ends right after the message, as vlmcs and Windows send it
 * (vlmcsd drops an NDR64 request with bytes after a V5/V6 message). */
rpc_err rpc_request_encode(uint32_t call_id, uint16_t context_id, uint16_t opnum,
			   rpc_syntax_kind syntax, const uint8_t *msg, size_t msg_len,
			   uint8_t *out, size_t cap, size_t *len);

/* The same with `padding` zero bytes after the message, as py-kms sends. */
rpc_err rpc_request_encode_padded(uint32_t call_id, uint16_t context_id, uint16_t opnum,
				  rpc_syntax_kind syntax, const uint8_t *msg, size_t msg_len,
				  size_t padding, uint8_t *out, size_t cap, size_t *len);

/* Decode a response or fault PDU. For a response, *msg and *msg_len give the KMS
 * message (empty for the refusal form) and *status the return code; for a
 * fault, RPC_ERR_FAULT with out->fault_status set. */
rpc_err rpc_response_decode(const uint8_t *pdu, size_t len, rpc_syntax_kind syntax,
			    rpc_response *out, const uint8_t **msg, size_t *msg_len,
			    uint32_t *status);

#endif
