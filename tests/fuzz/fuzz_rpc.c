/* libFuzzer target: the host's view of a byte stream from a client.
 * Frames PDUs and feeds each to the decoder the host would use, then
 * negotiates binds and encodes the answers, as server/conn.c does. */
#include <stddef.h>
#include <stdint.h>

#include "rpc/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rpc_contexts contexts = { 0 };
	rpc_host_options opt = { .ndr64 = true, .btfn = (size & 1) != 0 };
	uint8_t out[RPC_MAX_PDU * 2];
	size_t off = 0, len, n;

	while (off < size && rpc_frame(data + off, size - off, &len) == RPC_OK) {
		const uint8_t *pdu = data + off;
		rpc_header h;
		if (rpc_header_decode(pdu, len, &h) == RPC_OK) {
			if (h.ptype == RPC_BIND || h.ptype == RPC_ALTER_CONTEXT) {
				rpc_bind b;
				rpc_bind_ack ack;
				if (rpc_bind_decode(pdu, len, &b) == RPC_OK) {
					rpc_bind_negotiate(&b, &opt, &contexts, &ack);
					rpc_bind_ack_encode(&ack, out, sizeof out, &n);
				}
			} else if (h.ptype == RPC_REQUEST) {
				rpc_request r;
				const uint8_t *msg;
				size_t msg_len;
				if (rpc_request_decode(pdu, len, &r) == RPC_OK) {
					rpc_syntax_kind s = rpc_contexts_syntax(&contexts, r.context_id);
					if (rpc_stub_decode(s, r.stub, r.stub_len, &msg, &msg_len) == RPC_OK)
						rpc_response_encode(h.call_id, r.context_id, s, msg, msg_len, 0,
								    out, sizeof out, &n);
				}
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
