/* libFuzzer target: the host's view of a byte stream from a client.
 * Frames PDUs and feeds each to the decoder the host would use, as
 * server/conn.c does: binds negotiated (fragment sizes included) or
 * refused with a bind_nak, requests collected from their fragments and
 * answered, answers split to the negotiated transmit size. */
#include <stddef.h>
#include <stdint.h>

#include "rpc/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_request(const uint8_t *pdu, size_t len, rpc_contexts *contexts,
		       rpc_call_assembly *call, uint8_t *store, size_t split_at)
{
	static uint8_t out[RPC_MAX_PDU * 2], frags[RPC_MAX_PDU * 4];
	rpc_request r;
	const uint8_t *stub, *msg;
	size_t stub_len, msg_len, n, m;
	if (rpc_request_decode(pdu, len, &r) != RPC_OK)
		return;
	if (rpc_fragment_add(call, &r, store, RPC_MAX_CALL_STUB, &stub, &stub_len) != RPC_OK)
		return;
	rpc_syntax_kind s = rpc_contexts_syntax(contexts, stub == r.stub ? r.context_id
									: call->context_id);
	if (rpc_stub_decode(s, stub, stub_len, &msg, &msg_len) != RPC_OK)
		return;
	if (rpc_response_encode(r.hdr.call_id, r.context_id, s, msg, msg_len, 0, out, sizeof out,
				&n) == RPC_OK)
		rpc_fragment_split(out, n, split_at, frags, sizeof frags, &m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t store[RPC_MAX_CALL_STUB];
	rpc_contexts contexts = { 0 };
	rpc_call_assembly call = { 0 };
	rpc_host_options opt = { .ndr64 = true, .btfn = (size & 1) != 0 };
	/* small transmit sizes too, so splitting is exercised */
	size_t split_at = 32 + (size % 97) * 8;
	uint8_t out[RPC_MAX_PDU * 2];
	size_t off = 0, len, n;

	while (off < size) {
		rpc_err e = rpc_frame(data + off, size - off, &len);
		if (e != RPC_OK) {
			/* what the host still answers: a bind it will not take */
			if (e == RPC_ERR_SHORT || size - off < 3 || data[off + 2] != RPC_BIND ||
			    rpc_frame_length(data + off, size - off, &len) != RPC_OK)
				break;
			rpc_bind_nak_encode(1, rpc_bind_nak_reason(e), out, sizeof out, &n);
			off += len;
			continue;
		}
		const uint8_t *pdu = data + off;
		rpc_header h;
		if (rpc_header_decode(pdu, len, &h) == RPC_OK) {
			if (h.ptype == RPC_BIND || h.ptype == RPC_ALTER_CONTEXT) {
				rpc_bind b;
				rpc_bind_ack ack;
				e = rpc_bind_decode(pdu, len, &b);
				if (e == RPC_OK) {
					rpc_bind_negotiate(&b, &opt, &contexts, &ack);
					rpc_bind_ack_encode(&ack, out, sizeof out, &n);
				} else {
					rpc_bind_nak_encode(h.call_id, rpc_bind_nak_reason(e), out,
							    sizeof out, &n);
				}
			} else if (h.ptype == RPC_REQUEST) {
				on_request(pdu, len, &contexts, &call, store, split_at);
			} else if (h.ptype == RPC_ORPHANED) {
				call.active = false;
			} else {
				/* the client side's decoders see the same bytes */
				rpc_bind_ack ack;
				rpc_response resp;
				const uint8_t *msg;
				size_t msg_len;
				uint32_t status;
				rpc_bind_ack_decode(pdu, len, &ack);
				rpc_response_decode(pdu, len, RPC_SYNTAX_NDR32, &resp, &msg, &msg_len, &status);
				rpc_response_decode(pdu, len, RPC_SYNTAX_NDR64, &resp, &msg, &msg_len, &status);
			}
		}
		off += len;
	}
	return 0;
}
