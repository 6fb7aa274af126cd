/* The RPC codec over the recorded streams, split anyhow, and over every
 * kind of damage: each gives an error code, none reads out of bounds
 * (the suite also runs under ASan+UBSan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "check.h"
#include "rpc/rpc.h"
#include "vectors.h"

/* Reassemble a stream fed in chunks of the given sizes, as a connection
 * does: returns the number of PDUs framed, -1 on a framing error. */
static int reassemble(const uint8_t *data, size_t len, const size_t *chunks, size_t n_chunks,
		      size_t *offsets)
{
	uint8_t buf[2 * RPC_MAX_PDU];
	size_t have = 0, fed = 0, consumed = 0;
	int pdus = 0;
	for (size_t c = 0; fed < len; c++) {
		size_t step = chunks[c % n_chunks];
		if (step > len - fed)
			step = len - fed;
		memcpy(buf + have, data + fed, step);
		have += step;
		fed += step;
		size_t pdu_len;
		rpc_err e;
		while ((e = rpc_frame(buf, have, &pdu_len)) == RPC_OK) {
			offsets[pdus++] = consumed;
			consumed += pdu_len;
			memmove(buf, buf + pdu_len, have - pdu_len);
			have -= pdu_len;
		}
		if (e != RPC_ERR_SHORT)
			return -1;
	}
	return have ? -1 : pdus;
}

TEST(rpc_streams_split_anywhere_frame_identically)
{
	char names[MAX_VECTORS][96];
	int n = vector_list(names, MAX_VECTORS);
	CHECK(n > 0);
	srand(1688);
	for (int i = 0; i < n; i++) {
		for (int side = 0; side < 2; side++) {
			char file[128];
			size_t len;
			snprintf(file, sizeof file, "%.95s.%s.bin", names[i], side ? "s2c" : "c2s");
			uint8_t *data = test_read_vector(file, &len);
			CHECK(data != NULL);
			size_t whole[1] = { len }, bytes[1] = { 1 }, random_sizes[16];
			for (int k = 0; k < 16; k++)
				random_sizes[k] = 1 + (size_t)rand() % 97;
			size_t a[16], b[16], c[16];
			int pa = reassemble(data, len, whole, 1, a);
			int pb = reassemble(data, len, bytes, 1, b);
			int pc = reassemble(data, len, random_sizes, 16, c);
			CHECK(pa >= 2);
			CHECK_EQ(pa, pb);
			CHECK_EQ(pa, pc);
			CHECK(memcmp(a, b, sizeof a[0] * (size_t)pa) == 0);
			CHECK(memcmp(a, c, sizeof a[0] * (size_t)pa) == 0);
			free(data);
		}
	}
}

/* The host's answer to each recorded bind matches the recorded one, with
 * our host set up as the recording host was: NDR64 on when it accepted
 * NDR64 (vlmcsd does so only for host builds that use NDR64), BTFN on when
 * it acknowledged BTFN. */
static rpc_host_options recorded_options(const conversation *c)
{
	rpc_host_options opt = { 0 };
	size_t len;
	rpc_bind_ack ack;
	if (rpc_frame(c->s2c, c->s2c_len, &len) == RPC_OK &&
	    rpc_bind_ack_decode(c->s2c, len, &ack) == RPC_OK) {
		for (int r = 0; r < ack.n_results; r++) {
			opt.ndr64 |= ack.results[r].result == RPC_RESULT_ACCEPT &&
				     rpc_syntax_classify(&ack.results[r].transfer, NULL) == RPC_SYNTAX_NDR64;
			opt.btfn |= ack.results[r].result == RPC_RESULT_NEGOTIATE_ACK;
		}
	}
	return opt;
}

TEST(rpc_bind_answers_match_recordings)
{
	char names[MAX_VECTORS][96];
	int n = vector_list(names, MAX_VECTORS);
	for (int i = 0; i < n; i++) {
		conversation c;
		CHECK(conversation_load(names[i], &c));
		rpc_host_options opt = recorded_options(&c);
		size_t co = 0, so = 0, clen, slen;
		rpc_contexts ctx = { 0 };
		while (co < c.c2s_len && rpc_frame(c.c2s + co, c.c2s_len - co, &clen) == RPC_OK &&
		       c.c2s[co + 2] != RPC_REQUEST) {
			CHECK_EQ(rpc_frame(c.s2c + so, c.s2c_len - so, &slen), RPC_OK);
			rpc_bind b;
			rpc_bind_ack ours, theirs;
			CHECK_EQ(rpc_bind_decode(c.c2s + co, clen, &b), RPC_OK);
			rpc_bind_negotiate(&b, &opt, &ctx, &ours);
			CHECK_EQ(rpc_bind_ack_decode(c.s2c + so, slen, &theirs), RPC_OK);
			CHECK_EQ(ours.hdr.ptype, theirs.hdr.ptype);
			CHECK_EQ(ours.n_results, theirs.n_results);
			for (int r = 0; r < ours.n_results; r++) {
				CHECK_EQ(ours.results[r].result, theirs.results[r].result);
				CHECK_EQ(ours.results[r].reason, theirs.results[r].reason);
				CHECK(memcmp(&ours.results[r].transfer, &theirs.results[r].transfer,
					     sizeof(rpc_syntax)) == 0);
			}
			/* and our encoding of it decodes back the same */
			uint8_t out[512];
			size_t out_len;
			rpc_bind_ack back;
			snprintf(ours.secondary_address, sizeof ours.secondary_address, "1688");
			CHECK_EQ(rpc_bind_ack_encode(&ours, out, sizeof out, &out_len), RPC_OK);
			CHECK_EQ(out_len % 4, 0);
			CHECK_EQ(rpc_bind_ack_decode(out, out_len, &back), RPC_OK);
			CHECK_EQ(back.n_results, ours.n_results);
			CHECK_STR(back.secondary_address,
				  ours.hdr.ptype == RPC_BIND_ACK ? "1688" : "");
			co += clen;
			so += slen;
		}
		conversation_free(&c);
	}
}

TEST(rpc_real_windows_bind)
{
	size_t len, pdu_len;
	uint8_t *data = test_read_vector("windows10-real-bind.c2s.bin", &len);
	CHECK(data != NULL);
	CHECK_EQ(rpc_frame(data, len, &pdu_len), RPC_OK);
	CHECK_EQ(pdu_len, len);
	rpc_bind b;
	CHECK_EQ(rpc_bind_decode(data, len, &b), RPC_OK);
	CHECK_EQ(b.hdr.flags, 0x13);
	CHECK_EQ(b.n_contexts, 3);
	rpc_contexts ctx = { 0 };
	rpc_bind_ack ack;
	rpc_host_options opt = { .ndr64 = true, .btfn = true };
	rpc_bind_negotiate(&b, &opt, &ctx, &ack);
	CHECK_EQ(ack.results[0].result, RPC_RESULT_PROVIDER_REJECT); /* NDR32: NDR64 wins */
	CHECK_EQ(ack.results[1].result, RPC_RESULT_ACCEPT);
	CHECK_EQ(ack.results[2].result, RPC_RESULT_NEGOTIATE_ACK);
	CHECK_EQ(ack.results[2].reason, 3);
	CHECK_EQ(rpc_contexts_syntax(&ctx, 0), RPC_SYNTAX_NDR32);
	CHECK_EQ(rpc_contexts_syntax(&ctx, 1), RPC_SYNTAX_NDR64);
	CHECK_EQ(rpc_contexts_syntax(&ctx, 2), RPC_SYNTAX_UNKNOWN);

	opt.ndr64 = false;
	opt.btfn = false;
	rpc_bind_negotiate(&b, &opt, &ctx, &ack);
	CHECK_EQ(ack.results[0].result, RPC_RESULT_ACCEPT);
	CHECK_EQ(ack.results[1].result, RPC_RESULT_PROVIDER_REJECT);
	CHECK_EQ(ack.results[1].reason, RPC_REASON_TRANSFER_UNSUPPORTED);
	CHECK_EQ(ack.results[2].result, RPC_RESULT_PROVIDER_REJECT);
	free(data);
}

/* Decode a PDU with every decoder that could see it. */
static void decode_all(const uint8_t *p, size_t len)
{
	rpc_header h;
	rpc_bind b;
	rpc_bind_ack a;
	rpc_request r;
	rpc_response resp;
	const uint8_t *msg;
	size_t msg_len, frame;
	uint32_t status;
	rpc_frame(p, len, &frame);
	rpc_header_decode(p, len, &h);
	rpc_bind_decode(p, len, &b);
	rpc_bind_ack_decode(p, len, &a);
	if (rpc_request_decode(p, len, &r) == RPC_OK) {
		rpc_stub_decode(RPC_SYNTAX_NDR32, r.stub, r.stub_len, &msg, &msg_len);
		rpc_stub_decode(RPC_SYNTAX_NDR64, r.stub, r.stub_len, &msg, &msg_len);
	}
	rpc_response_decode(p, len, RPC_SYNTAX_NDR32, &resp, &msg, &msg_len, &status);
	rpc_response_decode(p, len, RPC_SYNTAX_NDR64, &resp, &msg, &msg_len, &status);
}

TEST(rpc_truncated_and_bit_flipped_pdus_never_crash)
{
	char names[MAX_VECTORS][96];
	int n = vector_list(names, MAX_VECTORS);
	for (int i = 0; i < n; i++) {
		for (int side = 0; side < 2; side++) {
			char file[128];
			size_t len, off = 0, pdu_len;
			snprintf(file, sizeof file, "%.95s.%s.bin", names[i], side ? "s2c" : "c2s");
			uint8_t *data = test_read_vector(file, &len);
			CHECK(data != NULL);
			while (off < len && rpc_frame(data + off, len - off, &pdu_len) == RPC_OK) {
				/* a heap copy of exactly the bytes given, so ASan sees overreads */
				for (size_t cut = 0; cut < pdu_len; cut++) {
					uint8_t *p = malloc(cut ? cut : 1);
					memcpy(p, data + off, cut);
					rpc_header h;
					CHECK(rpc_header_decode(p, cut, &h) != RPC_OK);
					decode_all(p, cut);
					free(p);
				}
				uint8_t *p = malloc(pdu_len);
				for (size_t bit = 0; bit < pdu_len * 8; bit++) {
					memcpy(p, data + off, pdu_len);
					p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
					decode_all(p, pdu_len);
				}
				free(p);
				off += pdu_len;
			}
			free(data);
		}
	}
}

static size_t first_pdu(const char *vector, uint8_t *out)
{
	size_t len, pdu_len;
	uint8_t *data = test_read_vector(vector, &len);
	if (!data || rpc_frame(data, len, &pdu_len) != RPC_OK)
		return 0;
	memcpy(out, data, pdu_len);
	free(data);
	return pdu_len;
}

TEST(rpc_header_errors_are_precise)
{
	uint8_t p[RPC_MAX_PDU];
	size_t len = first_pdu("vlmcsd-win7-ent-v4.c2s.bin", p), frame;
	rpc_header h;
	CHECK(len > 0);
	CHECK_EQ(rpc_header_decode(p, len, &h), RPC_OK);
	p[0] = 4;
	CHECK_EQ(rpc_frame(p, 1, &frame), RPC_ERR_VERSION); /* seen from the first byte */
	p[0] = 5;
	p[1] = 1;
	CHECK_EQ(rpc_header_decode(p, len, &h), RPC_ERR_VERSION);
	p[1] = 0;
	p[4] = 0x00; /* big-endian */
	CHECK_EQ(rpc_frame(p, len, &frame), RPC_ERR_DREP);
	p[4] = 0x10;
	le16_put(p + 10, 1);
	CHECK_EQ(rpc_header_decode(p, len, &h), RPC_ERR_AUTH);
	le16_put(p + 10, 0);
	static const uint16_t bad_lengths[] = { 0, 15, RPC_MAX_PDU + 1, 65535 };
	for (size_t i = 0; i < 4; i++) {
		le16_put(p + 8, bad_lengths[i]);
		CHECK_EQ(rpc_frame(p, len, &frame), RPC_ERR_FRAG_LENGTH);
		CHECK_EQ(rpc_header_decode(p, len, &h), RPC_ERR_FRAG_LENGTH);
	}
	le16_put(p + 8, (uint16_t)len);
	p[3] = 0x01; /* first fragment only */
	CHECK_EQ(rpc_header_decode(p, len, &h), RPC_ERR_FRAGMENTED);
	p[3] = 0x13; /* first, last and concurrent multiplexing, as Windows sends */
	CHECK_EQ(rpc_header_decode(p, len, &h), RPC_OK);
	CHECK_EQ(rpc_header_decode(p, len - 1, &h), RPC_ERR_SHORT);
	CHECK_EQ(rpc_header_decode(p, len + 1, &h), RPC_ERR_TRAILING);
}

TEST(rpc_bind_body_errors)
{
	uint8_t p[RPC_MAX_PDU];
	size_t len = first_pdu("vlmcsd-win7-ent-v4.c2s.bin", p);
	rpc_bind b;
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_OK);
	p[24] = 0;
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_ERR_CONTEXTS);
	p[24] = RPC_MAX_CONTEXTS + 1;
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_ERR_CONTEXTS);
	p[24] = 3;
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_OK);
	CHECK_EQ(b.n_contexts, 3);
	p[24] = 4; /* more elements than the PDU holds */
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_ERR_SHORT);
	p[24] = 2; /* fewer: the third is left over */
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_ERR_TRAILING);
	p[24] = 3;
	p[28 + 2] = 0; /* an element with no transfer syntax */
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_ERR_CONTEXTS);
	p[28 + 2] = RPC_MAX_TRANSFER + 1;
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_ERR_CONTEXTS);
	p[28 + 2] = 1;
	p[2] = RPC_REQUEST;
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_ERR_PTYPE);
}

TEST(rpc_stub_errors)
{
	uint8_t stub[64] = { 0 };
	const uint8_t *msg;
	size_t msg_len;
	le32_put(stub, 16);
	le32_put(stub + 4, 16);
	CHECK_EQ(rpc_stub_decode(RPC_SYNTAX_NDR32, stub, 24, &msg, &msg_len), RPC_OK);
	CHECK_EQ(msg_len, 16);
	le32_put(stub + 4, 17); /* length != size_is */
	CHECK_EQ(rpc_stub_decode(RPC_SYNTAX_NDR32, stub, 24, &msg, &msg_len), RPC_ERR_STUB);
	le32_put(stub, 40);
	le32_put(stub + 4, 40); /* longer than the stub */
	CHECK_EQ(rpc_stub_decode(RPC_SYNTAX_NDR32, stub, 24, &msg, &msg_len), RPC_ERR_STUB);
	le32_put(stub, 0xFFFFFFF0u);
	le32_put(stub + 4, 0xFFFFFFF0u);
	CHECK_EQ(rpc_stub_decode(RPC_SYNTAX_NDR32, stub, 24, &msg, &msg_len), RPC_ERR_STUB);
	le32_put(stub, 4);
	le32_put(stub + 4, 4); /* far more bytes follow than padding */
	CHECK_EQ(rpc_stub_decode(RPC_SYNTAX_NDR32, stub, 24, &msg, &msg_len), RPC_ERR_TRAILING);
	CHECK_EQ(rpc_stub_decode(RPC_SYNTAX_NDR32, stub, 7, &msg, &msg_len), RPC_ERR_STUB);
	CHECK_EQ(rpc_stub_decode(RPC_SYNTAX_UNKNOWN, stub, 24, &msg, &msg_len), RPC_ERR_STUB);
	memset(stub, 0, sizeof stub);
	le64_put(stub, 8);
	le64_put(stub + 8, 8);
	CHECK_EQ(rpc_stub_decode(RPC_SYNTAX_NDR64, stub, 24, &msg, &msg_len), RPC_OK);
	le64_put(stub + 8, 1ull << 40);
	CHECK_EQ(rpc_stub_decode(RPC_SYNTAX_NDR64, stub, 24, &msg, &msg_len), RPC_ERR_STUB);
}

TEST(rpc_client_and_host_round_trip)
{
	for (int mask = 1; mask < 8; mask++) {
		rpc_client_options copt = { .ndr32 = mask & 1, .ndr64 = mask & 2, .btfn = mask & 4 };
		uint8_t bind[512], ackbuf[512];
		size_t bind_len, ack_len;
		CHECK_EQ(rpc_bind_encode(RPC_BIND, 1, &copt, bind, sizeof bind, &bind_len), RPC_OK);
		rpc_bind b;
		CHECK_EQ(rpc_bind_decode(bind, bind_len, &b), RPC_OK);
		for (int host = 0; host < 4; host++) {
			rpc_host_options hopt = { .ndr64 = host & 1, .btfn = host & 2 };
			rpc_contexts ctx = { 0 };
			rpc_bind_ack ack, back;
			rpc_bind_negotiate(&b, &hopt, &ctx, &ack);
			snprintf(ack.secondary_address, sizeof ack.secondary_address, "1688");
			ack.assoc_group_id = 0x1234;
			CHECK_EQ(rpc_bind_ack_encode(&ack, ackbuf, sizeof ackbuf, &ack_len), RPC_OK);
			CHECK_EQ(rpc_bind_ack_decode(ackbuf, ack_len, &back), RPC_OK);
			CHECK_EQ(back.assoc_group_id, 0x1234);
			int accepted = 0;
			for (int r = 0; r < back.n_results; r++)
				accepted += back.results[r].result == RPC_RESULT_ACCEPT;
			/* a KMS context is accepted whenever a syntax the host takes is offered */
			bool possible = copt.ndr32 || (copt.ndr64 && hopt.ndr64);
			CHECK_EQ(accepted, possible ? 1 : 0);
		}
	}
	rpc_client_options none = { 0 };
	uint8_t buf[512];
	size_t len;
	CHECK_EQ(rpc_bind_encode(RPC_BIND, 1, &none, buf, sizeof buf, &len), RPC_ERR_CONTEXTS);
	rpc_client_options all = { true, true, true };
	CHECK_EQ(rpc_bind_encode(RPC_BIND, 1, &all, buf, 20, &len), RPC_ERR_NO_SPACE);
}

TEST(rpc_response_forms)
{
	uint8_t msg[158], out[512];
	size_t len;
	memset(msg, 0xab, sizeof msg);
	for (int s = 0; s < 2; s++) {
		rpc_syntax_kind syntax = s ? RPC_SYNTAX_NDR64 : RPC_SYNTAX_NDR32;
		rpc_response r;
		const uint8_t *m;
		size_t mlen;
		uint32_t status;
		CHECK_EQ(rpc_response_encode(9, 1, syntax, msg, sizeof msg, 0, out, sizeof out, &len),
			 RPC_OK);
		CHECK_EQ(len % 4, 0);
		CHECK_EQ(le32_get(out + 16), len - 24); /* alloc_hint: the stub */
		CHECK_EQ(rpc_response_decode(out, len, syntax, &r, &m, &mlen, &status), RPC_OK);
		CHECK_EQ(mlen, sizeof msg);
		CHECK_MEM(m, msg, sizeof msg);
		CHECK_EQ(status, 0);
		CHECK_EQ(r.hdr.call_id, 9);
		/* the refusal form */
		CHECK_EQ(rpc_response_encode(9, 1, syntax, NULL, 0, 0xC004F042u, out, sizeof out, &len),
			 RPC_OK);
		CHECK_EQ(rpc_response_decode(out, len, syntax, &r, &m, &mlen, &status), RPC_OK);
		CHECK_EQ(mlen, 0);
		CHECK_EQ(status, 0xC004F042u);
		CHECK_EQ(rpc_response_encode(9, 1, syntax, msg, sizeof msg, 0, out, 100, &len),
			 RPC_ERR_NO_SPACE);
	}
	/* NDR32 with a 158-byte message: 200 bytes, as recorded hosts send */
	CHECK_EQ(rpc_response_encode(9, 0, RPC_SYNTAX_NDR32, msg, 158, 0, out, sizeof out, &len), RPC_OK);
	CHECK_EQ(len, 200);
	CHECK_EQ(rpc_response_msg_offset(RPC_SYNTAX_NDR32), 36);

	rpc_response r;
	const uint8_t *m;
	size_t mlen;
	uint32_t status;
	CHECK_EQ(rpc_fault_encode(3, 2, RPC_NCA_UNK_IF, out, sizeof out, &len), RPC_OK);
	CHECK_EQ(len, 32);
	CHECK_EQ(rpc_response_decode(out, len, RPC_SYNTAX_NDR32, &r, &m, &mlen, &status),
		 RPC_ERR_FAULT);
	CHECK_EQ(status, RPC_NCA_UNK_IF);
	CHECK_EQ(r.context_id, 2);
	CHECK_EQ(rpc_fault_encode(3, 2, RPC_NCA_UNK_IF, out, 31, &len), RPC_ERR_NO_SPACE);
}

TEST(rpc_every_error_has_a_name)
{
	for (int e = RPC_OK; e <= RPC_ERR_CALL_ID; e++)
		CHECK(strcmp(rpc_strerror((rpc_err)e), "unknown error") != 0);
	CHECK_STR(rpc_strerror((rpc_err)999), "unknown error");
}
