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
	for (int i = 0; i < n; i++) {
		for (int side = 0; side < 2; side++) {
			char file[128];
			size_t len;
			snprintf(file, sizeof file, "%.95s.%s.bin", names[i], side ? "s2c" : "c2s");
			uint8_t *data = test_read_vector(file, &len);
			CHECK(data != NULL);
			size_t whole[1] = { len }, bytes[1] = { 1 }, random_sizes[16];
			for (int k = 0; k < 16; k++)
				random_sizes[k] = 1 + (size_t)test_seeded_below(97);
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
			/* the multiplex bit echoed in bind_ack only, sizes as recorded */
			CHECK_EQ(ours.hdr.flags, theirs.hdr.flags);
			CHECK_EQ(ours.max_xmit_frag, theirs.max_xmit_frag);
			CHECK_EQ(ours.max_recv_frag, theirs.max_recv_frag);
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
	CHECK_EQ(rpc_contexts_syntax(&ctx, 0), RPC_SYNTAX_UNKNOWN); /* rejected: faulted */
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
	p[3] = 0x01; /* first fragment only: the caller judges fragments */
	CHECK_EQ(rpc_header_decode(p, len, &h), RPC_OK);
	CHECK_EQ(h.flags, 0x01);
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
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_ERR_LIMIT);
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
	CHECK_EQ(rpc_bind_decode(p, len, &b), RPC_ERR_LIMIT);
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
	le32_put(stub + 4, 4); /* bytes after the message are ignored */
	CHECK_EQ(rpc_stub_decode(RPC_SYNTAX_NDR32, stub, 24, &msg, &msg_len), RPC_OK);
	CHECK_EQ(msg_len, 4);
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
	for (int e = RPC_OK; e <= RPC_ERR_LAST_; e++)
		CHECK(strcmp(rpc_strerror((rpc_err)e), "unknown error") != 0);
	CHECK_STR(rpc_strerror((rpc_err)999), "unknown error");
}

/* ---- issue 16: DCE/RPC as Windows speaks it ---- */

/* py-kms pads its stub with 4 + (((~len & 3) + 1) & 3) bytes; any 0..7
 * trailing bytes decode to the declared message, in both syntaxes. */
TEST(rpc_trailing_stub_bytes_are_ignored)
{
	uint8_t msg[260], pdu[512];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)i;
	for (int s = 0; s < 2; s++) {
		rpc_syntax_kind syntax = s ? RPC_SYNTAX_NDR64 : RPC_SYNTAX_NDR32;
		for (size_t pad = 0; pad < 8; pad++) {
			size_t len;
			CHECK_EQ(rpc_request_encode_padded(2, 0, 0, syntax, msg, sizeof msg, pad, pdu,
							   sizeof pdu, &len), RPC_OK);
			CHECK_EQ(len, 24 + (s ? 16 : 8) + sizeof msg + pad);
			rpc_request r;
			const uint8_t *m;
			size_t mlen;
			CHECK_EQ(rpc_request_decode(pdu, len, &r), RPC_OK);
			CHECK_EQ(rpc_stub_decode(syntax, r.stub, r.stub_len, &m, &mlen), RPC_OK);
			CHECK_EQ(mlen, sizeof msg);
			CHECK_MEM(m, msg, sizeof msg);
		}
	}
}

/* The plain encoder ends the stub at the message (vlmcsd takes at most
 * 24 + 260 bytes after the header of an NDR64 request). */
TEST(rpc_request_stub_has_no_padding)
{
	uint8_t msg[260] = { 0 }, pdu[512];
	size_t len;
	CHECK_EQ(rpc_request_encode(2, 1, 0, RPC_SYNTAX_NDR64, msg, sizeof msg, pdu, sizeof pdu, &len),
		 RPC_OK);
	CHECK_EQ(len - RPC_HEADER_LEN, 24 + 260);
	CHECK_EQ(le32_get(pdu + 16), 16 + 260); /* alloc_hint: the stub */
	CHECK_EQ(rpc_request_encode(2, 0, 0, RPC_SYNTAX_NDR32, msg, 252, pdu, sizeof pdu, &len),
		 RPC_OK);
	CHECK_EQ(len, 24 + 8 + 252);
}

static void bind_for(uint8_t flags, uint16_t xmit, uint16_t recv, rpc_bind *b)
{
	uint8_t pdu[512];
	size_t len;
	rpc_client_options copt = { .ndr32 = true };
	rpc_bind_encode(RPC_BIND, 5, &copt, pdu, sizeof pdu, &len);
	pdu[3] = flags;
	le16_put(pdu + 16, xmit);
	le16_put(pdu + 18, recv);
	rpc_bind_decode(pdu, len, b);
}

TEST(rpc_multiplex_flag_echoed_in_bind_ack_only)
{
	rpc_bind b;
	rpc_bind_ack ack;
	rpc_host_options opt = { .ndr64 = true, .btfn = true };
	uint8_t out[512];
	size_t len;
	for (int mpx = 0; mpx < 2; mpx++) {
		rpc_contexts ctx = { 0 };
		bind_for(mpx ? 0x13 : 0x03, 5840, 5840, &b);
		rpc_bind_negotiate(&b, &opt, &ctx, &ack);
		CHECK_EQ(rpc_bind_ack_encode(&ack, out, sizeof out, &len), RPC_OK);
		CHECK_EQ(out[3], mpx ? 0x13 : 0x03);
		b.hdr.ptype = RPC_ALTER_CONTEXT; /* alter_context_resp: 0x03, as Windows and vlmcsd */
		rpc_bind_negotiate(&b, &opt, &ctx, &ack);
		CHECK_EQ(rpc_bind_ack_encode(&ack, out, sizeof out, &len), RPC_OK);
		CHECK_EQ(out[3], 0x03);
	}
	CHECK_EQ(rpc_fault_encode(3, 0, RPC_NCA_UNK_IF, out, sizeof out, &len), RPC_OK);
	CHECK_EQ(out[3], 0x23); /* first, last, did not execute */
}

TEST(rpc_fragment_sizes_negotiated)
{
	static const uint16_t offer[] = { 0, 100, 1431, 1432, 4280, 5840, 5841, 65535 };
	static const uint16_t want[] = { 1432, 1432, 1432, 1432, 4280, 5840, 5840, 5840 };
	for (size_t i = 0; i < sizeof offer / sizeof offer[0]; i++)
		CHECK_EQ(rpc_frag_negotiate(offer[i]), want[i]);
	rpc_bind b;
	rpc_bind_ack ack;
	rpc_contexts ctx = { 0 };
	rpc_host_options opt = { 0 };
	bind_for(0x03, 100, 65535, &b); /* client sends 100, takes 65535 */
	rpc_bind_negotiate(&b, &opt, &ctx, &ack);
	CHECK_EQ(ack.max_xmit_frag, 5840);
	CHECK_EQ(ack.max_recv_frag, 1432);
	CHECK_EQ(ctx.max_xmit, 5840);
	CHECK_EQ(ctx.max_recv, 1432);
	/* an alter_context's sizes are ignored */
	b.hdr.ptype = RPC_ALTER_CONTEXT;
	b.max_xmit_frag = b.max_recv_frag = 3000;
	rpc_bind_negotiate(&b, &opt, &ctx, &ack);
	CHECK_EQ(ack.max_xmit_frag, 5840);
	CHECK_EQ(ack.max_recv_frag, 1432);
}

TEST(rpc_bind_nak_bytes_and_reasons)
{
	uint8_t out[64];
	size_t len;
	static const uint8_t want[24] = { 5, 0, 13, 3, 0x10, 0, 0, 0, 24, 0, 0, 0, 7, 0, 0, 0,
					  4, 0, 1, 5, 0, 0, 0, 0 };
	CHECK_EQ(rpc_bind_nak_encode(7, RPC_NAK_PROTOCOL_VERSION, out, sizeof out, &len), RPC_OK);
	CHECK_EQ(len, 24);
	CHECK_MEM(out, want, 24);
	CHECK_EQ(rpc_bind_nak_encode(7, 0, out, 23, &len), RPC_ERR_NO_SPACE);
	CHECK_EQ(rpc_bind_nak_reason(RPC_ERR_VERSION), 4);
	CHECK_EQ(rpc_bind_nak_reason(RPC_ERR_DREP), 0);
	CHECK_EQ(rpc_bind_nak_reason(RPC_ERR_AUTH), 8);
	CHECK_EQ(rpc_bind_nak_reason(RPC_ERR_CONTEXTS), 0);
	CHECK_EQ(rpc_bind_nak_reason(RPC_ERR_LIMIT), 2);
	/* the client side calls it a rejection */
	rpc_bind_ack ack;
	CHECK_EQ(rpc_bind_ack_decode(want, 24, &ack), RPC_ERR_BIND_REJECTED);
	/* a big-endian PDU is framed by its big-endian frag_length */
	uint8_t be[24] = { 5, 0, 11, 3, 0x00, 0, 0, 0, 0, 24 };
	size_t pdu_len;
	CHECK_EQ(rpc_frame(be, sizeof be, &pdu_len), RPC_ERR_DREP);
	CHECK_EQ(rpc_frame_length(be, sizeof be, &pdu_len), RPC_OK);
	CHECK_EQ(pdu_len, 24);
	CHECK_EQ(rpc_frame_length(be, 9, &pdu_len), RPC_ERR_SHORT);
	be[9] = 8;
	CHECK_EQ(rpc_frame_length(be, sizeof be, &pdu_len), RPC_ERR_FRAG_LENGTH);
}

/* A request split at every byte of its stub, in 2 and 3 fragments,
 * collects back to the stub it was cut from. */
TEST(rpc_fragments_reassemble_at_every_split)
{
	uint8_t msg[260], whole[512], store[RPC_MAX_CALL_STUB];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i * 7);
	size_t whole_len;
	CHECK_EQ(rpc_request_encode(9, 0, 0, RPC_SYNTAX_NDR32, msg, sizeof msg, whole, sizeof whole,
				    &whole_len), RPC_OK);
	const uint8_t *full = whole + 24;
	size_t full_len = whole_len - 24;
	for (size_t cut = 1; cut < full_len; cut++) {
		for (int three = 0; three < 2; three++) {
			size_t cut2 = three ? cut + (full_len - cut) / 2 : full_len;
			if (three && cut2 == cut)
				continue;
			rpc_call_assembly a = { 0 };
			size_t bounds[4] = { 0, cut, cut2, full_len };
			int pieces = three ? 3 : 2;
			rpc_err e = RPC_ERR_SHORT;
			const uint8_t *stub = NULL;
			size_t stub_len = 0;
			for (int p = 0; p < pieces; p++) {
				size_t from = bounds[p], to = p == pieces - 1 ? full_len : bounds[p + 1];
				rpc_request r = { .hdr = { .ptype = RPC_REQUEST, .call_id = 9 },
						  .stub = full + from, .stub_len = to - from };
				r.hdr.flags = (uint8_t)((p == 0 ? RPC_PFC_FIRST_FRAG : 0) |
						       (p == pieces - 1 ? RPC_PFC_LAST_FRAG : 0));
				e = rpc_fragment_add(&a, &r, store, sizeof store, &stub, &stub_len);
				CHECK_EQ(e, p == pieces - 1 ? RPC_OK : RPC_ERR_SHORT);
			}
			CHECK_EQ(stub_len, full_len);
			CHECK_MEM(stub, full, full_len);
			CHECK(!a.active);
		}
	}
}

TEST(rpc_broken_fragment_sequences)
{
	uint8_t store[64], data[100] = { 0 };
	const uint8_t *stub;
	size_t stub_len;
	rpc_call_assembly a = { 0 };
	rpc_request r = { .hdr = { .ptype = RPC_REQUEST, .call_id = 1 }, .stub = data, .stub_len = 8 };
	r.hdr.flags = RPC_PFC_LAST_FRAG; /* a last fragment of no call */
	CHECK_EQ(rpc_fragment_add(&a, &r, store, sizeof store, &stub, &stub_len), RPC_ERR_SEQUENCE);
	r.hdr.flags = 0; /* a middle one */
	CHECK_EQ(rpc_fragment_add(&a, &r, store, sizeof store, &stub, &stub_len), RPC_ERR_SEQUENCE);
	r.hdr.flags = RPC_PFC_FIRST_FRAG;
	CHECK_EQ(rpc_fragment_add(&a, &r, store, sizeof store, &stub, &stub_len), RPC_ERR_SHORT);
	r.hdr.call_id = 2; /* another call's piece */
	r.hdr.flags = RPC_PFC_LAST_FRAG;
	CHECK_EQ(rpc_fragment_add(&a, &r, store, sizeof store, &stub, &stub_len), RPC_ERR_SEQUENCE);
	CHECK(!a.active);
	r.hdr.flags = RPC_PFC_FIRST_FRAG;
	CHECK_EQ(rpc_fragment_add(&a, &r, store, sizeof store, &stub, &stub_len), RPC_ERR_SHORT);
	r.hdr.flags = RPC_PFC_FIRST_FRAG | RPC_PFC_LAST_FRAG; /* a whole call while one is open */
	CHECK_EQ(rpc_fragment_add(&a, &r, store, sizeof store, &stub, &stub_len), RPC_ERR_SEQUENCE);
	r.hdr.flags = RPC_PFC_FIRST_FRAG;
	CHECK_EQ(rpc_fragment_add(&a, &r, store, sizeof store, &stub, &stub_len), RPC_ERR_SHORT);
	r.hdr.flags = 0;
	r.hdr.call_id = 2;
	r.stub_len = 100; /* over the bound */
	a.call_id = 2;
	CHECK_EQ(rpc_fragment_add(&a, &r, store, sizeof store, &stub, &stub_len), RPC_ERR_TOO_BIG);
	CHECK(!a.active);
}

TEST(rpc_responses_split_to_the_transmit_size)
{
	uint8_t msg[300], pdu[512], out[1024];
	memset(msg, 0x5a, sizeof msg);
	size_t len, out_len;
	CHECK_EQ(rpc_response_encode(4, 1, RPC_SYNTAX_NDR64, msg, sizeof msg, 0, pdu, sizeof pdu,
				     &len), RPC_OK);
	CHECK_EQ(rpc_fragment_split(pdu, len, 5840, out, sizeof out, &out_len), RPC_OK);
	CHECK_EQ(out_len, len);
	CHECK_MEM(out, pdu, len);
	CHECK_EQ(rpc_fragment_split(pdu, len, 100, out, sizeof out, &out_len), RPC_OK);
	/* pieces of at most 100 bytes, stubs a multiple of 8 but the last,
	 * which put together are the stub */
	size_t at = 0, stub_at = 0, pieces = 0;
	while (at < out_len) {
		size_t flen = le16_get(out + at + 8);
		CHECK(flen <= 100);
		CHECK_EQ(out[at + 3] & 1, at == 0);
		CHECK_EQ((out[at + 3] & 2) != 0, at + flen == out_len);
		if (at + flen < out_len)
			CHECK_EQ((flen - 24) % 8, 0);
		CHECK_EQ(le32_get(out + at + 16), len - 24 - stub_at);
		CHECK_MEM(out + at + 24, pdu + 24 + stub_at, flen - 24);
		stub_at += flen - 24;
		at += flen;
		pieces++;
	}
	CHECK_EQ(stub_at, len - 24);
	CHECK(pieces > 3);
	CHECK_EQ(rpc_fragment_split(pdu, len, 100, out, len, &out_len), RPC_ERR_NO_SPACE);
}

TEST(rpc_rejected_contexts_have_no_syntax)
{
	rpc_bind b;
	rpc_bind_ack ack;
	rpc_contexts ctx = { 0 };
	rpc_host_options opt = { .ndr64 = true };
	uint8_t pdu[512];
	size_t len;
	rpc_client_options both = { .ndr32 = true, .ndr64 = true };
	CHECK_EQ(rpc_bind_encode(RPC_BIND, 1, &both, pdu, sizeof pdu, &len), RPC_OK);
	CHECK_EQ(rpc_bind_decode(pdu, len, &b), RPC_OK);
	rpc_bind_negotiate(&b, &opt, &ctx, &ack);
	CHECK_EQ(rpc_contexts_syntax(&ctx, 0), RPC_SYNTAX_UNKNOWN);
	CHECK_EQ(rpc_contexts_syntax(&ctx, 1), RPC_SYNTAX_NDR64);
	opt.ndr64 = false; /* the same offer to a host with ndr64 = no */
	rpc_contexts ctx2 = { 0 };
	rpc_bind_negotiate(&b, &opt, &ctx2, &ack);
	CHECK_EQ(rpc_contexts_syntax(&ctx2, 0), RPC_SYNTAX_NDR32);
	CHECK_EQ(rpc_contexts_syntax(&ctx2, 1), RPC_SYNTAX_UNKNOWN);
	/* an alter_context moving context 0 to NDR32 makes it usable */
	rpc_client_options ndr32 = { .ndr32 = true };
	CHECK_EQ(rpc_bind_encode(RPC_ALTER_CONTEXT, 2, &ndr32, pdu, sizeof pdu, &len), RPC_OK);
	CHECK_EQ(rpc_bind_decode(pdu, len, &b), RPC_OK);
	opt.ndr64 = true;
	rpc_bind_negotiate(&b, &opt, &ctx, &ack);
	CHECK_EQ(rpc_contexts_syntax(&ctx, 0), RPC_SYNTAX_NDR32);
}
