/* libFuzzer target: the host's answerer (server/answer.h) on a byte stream
 * from a client, fed the way server/conn.c feeds it: PDU after PDU into
 * an output with the room a connection leaves, until the answerer closes
 * the association or the bytes run out. Binds, fragments, requests (KMS
 * decoding and the response included), refusals and rejections all run
 * the host's one code path. The client side's decoders read the same
 * input PDUs and the host's answers, and each answer is also split at a
 * small transmit size (a client may negotiate any). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kms/policy.h"
#include "kms/products.h"
#include "rpc/rpc.h"
#include "server/answer.h"
#include "server/conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void client_decoders(const uint8_t *pdu, size_t len)
{
	rpc_bind_ack ack;
	rpc_response resp;
	const uint8_t *msg;
	size_t msg_len;
	uint32_t status;
	rpc_bind_ack_decode(pdu, len, &ack);
	rpc_response_decode(pdu, len, RPC_SYNTAX_NDR32, &resp, &msg, &msg_len, &status);
	rpc_response_decode(pdu, len, RPC_SYNTAX_NDR64, &resp, &msg, &msg_len, &status);
}

/* One host for every input: its ePIDs are drawn once. Counting is off,
 * so one input's answers do not depend on the inputs before it. */
static host_settings *host(void)
{
	static host_settings s;
	static bool made;
	if (!made) {
		kms_policy_defaults(&s.policy);
		s.policy.scope = KMS_SERVE_ANY;
		s.activation_interval = 120;
		s.renewal_interval = 10080;
		s.rpc.ndr64 = true;
		if (!host_generate_epids(&s, 42, 0, true, 1033, 1795000000))
			__builtin_trap();
		made = true;
	}
	return &s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t stub[RPC_MAX_CALL_STUB], out[CONN_OUT_CAP], frags[CONN_OUT_CAP * 4];
	static const uint8_t random[KMS_RANDOM_LEN] = { 1, 2, 3 };
	host_settings *s = host();
	s->rpc.btfn = (size & 1) != 0;
	answer_assoc assoc = { .assoc_group = 0x10001, .port = "1688" };
	answer_host h = { .settings = s, .now = 1795000000, .random = random, .stub_store = stub };
	/* any room a connection may leave, down to the least it answers with */
	size_t cap = CONN_ANSWER_ROOM + size % (CONN_OUT_CAP - CONN_ANSWER_ROOM + 1);
	size_t split_at = 32 + (size % 97) * 8, off = 0, n;

	while (off < size) {
		answer_outcome o;
		answer_pdu(&assoc, &h, data + off, size - off, out, cap, &o);
		if (o.kind == ANSWER_INCOMPLETE)
			break;
		if (o.written > cap || o.used > size - off)
			__builtin_trap();
		client_decoders(data + off, o.used);
		client_decoders(out, o.written);
		if (o.kind == ANSWER_REQUEST && o.written)
			rpc_fragment_split(out, o.written, split_at, frags, sizeof frags, &n);
		if (o.close || !o.used)
			break;
		off += o.used;
	}
	return 0;
}
