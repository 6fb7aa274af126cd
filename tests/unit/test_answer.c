/* The host's answerer: every recorded client stream answered as the
 * recording host answered it, and each kind of outcome, with what the
 * log, the metrics and the store are told. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answerer.h"
#include "base/bytes.h"
#include "check.h"
#include "crypto/crypto.h"
#include "kms/keys.h"
#include "kms/kms.h"
#include "kms/products.h"
#include "kms/response_layout.h"
#include "server/client_count.h"
#include "vectors.h"

static const uint8_t test_hwid[KMS_HWID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const char *const test_epid = "03612-00206-568-381813-03-1033-17763.0000-2652018";
static const uint8_t test_random[KMS_RANDOM_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

/* The random bytes a recorded V5/V6 answer was built with, read back from
 * its plaintext: the V6 IV is its first block, R is RandomXoredIVs xor the
 * request's decrypted IV. */
static void recorded_random(const conversation *c, size_t epid_size, uint8_t r[KMS_RANDOM_LEN])
{
	uint8_t msg[KMS_MAX_RESPONSE_LEN];
	static const uint8_t zero[16];
	memset(r, 0, KMS_RANDOM_LEN);
	if (c->client.major == 4 || c->response_len > sizeof msg)
		return;
	memcpy(msg, c->response_msg, c->response_len);
	const aes_key *key = kms_version_key(c->client.major);
	uint8_t iv[16];
	uint8_t *plain = msg + (c->client.major == 5 ? 20 : 4);
	memcpy(iv, c->client.major == 5 ? msg + 4 : zero, 16);
	aes_cbc_decrypt(key, iv, plain, c->response_len - (size_t)(plain - msg));
	uint8_t *base = plain;
	if (c->client.major == 6) {
		memcpy(r + 16, plain, 16);
		base += 16;
	}
	const uint8_t *xored = base + RESPONSE_HEAD_LEN + epid_size + RESPONSE_TAIL_LEN;
	for (int i = 0; i < 16; i++)
		r[i] = xored[i] ^ c->secret.decrypted_iv[i];
}

static bool hex_hwid(const char *text, uint8_t hwid[KMS_HWID_LEN])
{
	for (int i = 0; i < KMS_HWID_LEN; i++) {
		char pair[3] = { text[2 * i], text[2 * i] ? text[2 * i + 1] : 0, 0 };
		char *end;
		unsigned long v = strtoul(pair, &end, 16);
		if (end != pair + 2)
			return false;
		hwid[i] = (uint8_t)v;
	}
	return true;
}

/* The assoc group and secondary address the recording host chose, so
 * its bind_ack can be compared byte for byte; true if it took NDR64. */
static bool recorded_assoc(const conversation *c, answer_assoc *a)
{
	rpc_bind_ack ack;
	size_t len, off = 0;
	bool ndr64 = false;
	fixture_assoc(a);
	while (off < c->s2c_len && rpc_frame(c->s2c + off, c->s2c_len - off, &len) == RPC_OK) {
		if (rpc_bind_ack_decode(c->s2c + off, len, &ack) == RPC_OK) {
			if (off == 0) {
				a->assoc_group = ack.assoc_group_id;
				size_t n = strnlen(ack.secondary_address, sizeof a->port - 1);
				memcpy(a->port, ack.secondary_address, n);
				a->port[n] = 0;
			}
			for (int r = 0; r < ack.n_results; r++)
				ndr64 |= ack.results[r].result == RPC_RESULT_ACCEPT &&
					 rpc_syntax_classify(&ack.results[r].transfer, NULL) ==
						 RPC_SYNTAX_NDR64;
		}
		off += len;
	}
	return ndr64;
}

static bool has_alter_context(const conversation *c)
{
	size_t off = 0, len;
	while (off < c->c2s_len && rpc_frame(c->c2s + off, c->c2s_len - off, &len) == RPC_OK) {
		if (c->c2s[off + 2] == RPC_ALTER_CONTEXT)
			return true;
		off += len;
	}
	return false;
}

TEST(answer_vectors_answered_as_recorded)
{
	char names[MAX_VECTORS][96];
	int n = vector_list(names, MAX_VECTORS);
	CHECK(n >= 18);
	for (int i = 0; i < n; i++) {
		conversation c;
		CHECK(conversation_load(names[i], &c));
		char epid[160], hwid_text[64] = "3A1C049600B60076";
		CHECK(vector_txt_field(names[i], "KMS host extended PID", epid, sizeof epid));
		vector_txt_field(names[i], "KMS host Hardware ID", hwid_text, sizeof hwid_text);
		uint8_t hwid[KMS_HWID_LEN], random[KMS_RANDOM_LEN];
		CHECK(hex_hwid(hwid_text, hwid));
		recorded_random(&c, 2 * (strlen(epid) + 1), random);

		host_settings s;
		CHECK(fixture_host(&s, epid, hwid));
		answer_assoc a;
		s.rpc.ndr64 = recorded_assoc(&c, &a);
		static uint8_t stub[RPC_MAX_CALL_STUB], out[8192];
		answer_host h = { .settings = &s, .now = kms_unix_from_filetime(c.request.client_time),
				  .random = random, .stub_store = stub };
		answer_outcome o[8];
		size_t written, k = feed(&a, &h, c.c2s, c.c2s_len, out, sizeof out, &written, o, 8);
		host_settings_free(&s);
		CHECK(k >= 2);
		const answer_outcome *req = &o[k - 1];
		CHECK_EQ(req->kind, ANSWER_REQUEST);
		CHECK_EQ(req->act.status, 0);
		CHECK_EQ(req->act.count, 2 * c.request.n_policy);
		CHECK_EQ(req->act.result, RESULT_ACTIVATED);
		CHECK_EQ(req->syntax, c.syntax);
		CHECK(!req->close);

		/* the KMS response, byte for byte (the recording hosts' random
		 * bytes given back to ours) */
		rpc_response resp;
		const uint8_t *msg;
		size_t msg_len, pdu_len;
		uint32_t status;
		CHECK_EQ(rpc_frame(out + written - req->written, req->written, &pdu_len), RPC_OK);
		CHECK_EQ(rpc_response_decode(out + written - req->written, pdu_len, c.syntax, &resp,
					     &msg, &msg_len, &status), RPC_OK);
		CHECK_EQ(msg_len, c.response_len);
		CHECK(memcmp(msg, c.response_msg, msg_len) == 0);
		/* the RPC around it too, but for vlmcsd's alter_context_resp,
		 * which carries stray bytes as its secondary address */
		size_t first;
		CHECK_EQ(rpc_frame(out, written, &first), RPC_OK);
		CHECK(first <= c.s2c_len && memcmp(out, c.s2c, first) == 0);
		CHECK(req->written <= c.s2c_len &&
		      memcmp(out + written - req->written, c.s2c + c.s2c_len - req->written,
			     req->written) == 0);
		if (!has_alter_context(&c))
			CHECK(written == c.s2c_len && memcmp(out, c.s2c, written) == 0);

		/* and the client that recorded it accepts ours */
		kms_response kr;
		kms_verdict v;
		CHECK_EQ(kms_response_verify(&c.client, msg, msg_len, &kr, &v), KMS_OK);
		CHECK_EQ(v.failed, 0);
		conversation_free(&c);
	}
}

/* ---- one outcome of each kind ---------------------------------------- */

typedef struct fixture {
	host_settings s;
	answer_assoc a;
	answer_host h;
	uint8_t out[8192];
	size_t out_len;
	answer_outcome o;
} fixture;

static bool fixture_start(fixture *f)
{
	static uint8_t stub[RPC_MAX_CALL_STUB];
	memset(f, 0, sizeof *f);
	fixture_assoc(&f->a);
	f->h = (answer_host){ .settings = &f->s, .now = 1795000000, .random = test_random,
			      .stub_store = stub };
	return fixture_host(&f->s, test_epid, test_hwid);
}

/* One PDU to the answerer; its answer appended to f->out. */
static const answer_outcome *send_pdu(fixture *f, const uint8_t *pdu, size_t len)
{
	answer_pdu(&f->a, &f->h, pdu, len, f->out + f->out_len, sizeof f->out - f->out_len, &f->o);
	f->out_len += f->o.written;
	return &f->o;
}

static const answer_outcome *send_bind(fixture *f, uint8_t ptype, bool ndr64)
{
	uint8_t pdu[512];
	size_t len;
	rpc_client_options opt = { .ndr32 = !ndr64, .ndr64 = ndr64, .btfn = true };
	if (rpc_bind_encode(ptype, 1, &opt, pdu, sizeof pdu, &len) != RPC_OK)
		return NULL;
	return send_pdu(f, pdu, len);
}

static void windows_request(kms_request *r, const char *cmid)
{
	memset(r, 0, sizeof *r);
	r->major = 6;
	r->license_status = 2;
	r->binding_expiration = 43200;
	guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &r->app_id);
	guid_parse("73111121-5638-40f6-bc11-f1d7b0d64300", &r->sku_id);
	guid_parse("58e2134f-8e11-4d17-9cb2-91069c151148", &r->kms_id);
	guid_parse(cmid, &r->cmid);
	r->n_policy = 25;
	r->client_time = kms_filetime_from_unix(1795000000);
	kms_utf8_to_utf16("wks-\u00e9t\u00e9.example", r->workstation, KMS_WORKSTATION_UNITS);
}

/* A request PDU for r on context 0 (NDR32). */
static size_t request_pdu(const kms_request *r, uint16_t context, uint16_t opnum, uint8_t *pdu,
			  size_t cap, kms_client_secret *cs)
{
	uint8_t iv[16] = { 7 }, msg[KMS_V5_REQUEST_LEN];
	size_t msg_len, len;
	if (kms_request_encode(r, iv, msg, sizeof msg, &msg_len, cs) != KMS_OK ||
	    rpc_request_encode(2, context, opnum, RPC_SYNTAX_NDR32, msg, msg_len, pdu, cap, &len) !=
		    RPC_OK)
		return 0;
	return len;
}

TEST(answer_bind_then_request_activates)
{
	fixture f;
	CHECK(fixture_start(&f));
	const answer_outcome *o = send_bind(&f, RPC_BIND, false);
	CHECK(o != NULL);
	CHECK_EQ(o->kind, ANSWER_BOUND);
	CHECK(o->written > 0 && !o->close && f.a.bound);
	rpc_bind_ack ack;
	CHECK_EQ(rpc_bind_ack_decode(f.out, f.out_len, &ack), RPC_OK);
	CHECK_EQ(ack.assoc_group_id, 0x10001);
	CHECK_STR(ack.secondary_address, "1688");

	kms_request r;
	kms_client_secret cs;
	uint8_t pdu[1024];
	windows_request(&r, "0a1b2c3d-4e5f-4607-8899-aabbccddeeff");
	size_t len = request_pdu(&r, 0, 0, pdu, sizeof pdu, &cs);
	CHECK(len > 0);
	size_t before = f.out_len;
	o = send_pdu(&f, pdu, len);
	CHECK_EQ(o->kind, ANSWER_REQUEST);
	CHECK_EQ(o->used, len);
	CHECK(!o->close && !o->unsent);
	const host_activation *act = &o->act;
	CHECK_EQ(act->decode_error, KMS_OK);
	CHECK_EQ(act->status, 0);
	CHECK_EQ(act->result, RESULT_ACTIVATED);
	CHECK_EQ(act->count, 50);
	CHECK(act->random_used);
	CHECK_STR(act->workstation, "wks-\u00e9t\u00e9.example");
	const kms_products *t = kms_products_current();
	CHECK(act->group != KMS_NO_INDEX && act->sku != KMS_NO_INDEX);
	CHECK(guid_cmp(&t->groups[act->group].id, &r.kms_id) == 0);
	CHECK(guid_cmp(&t->skus[act->sku].id, &r.sku_id) == 0);
	CHECK(guid_cmp(&act->pool, &r.app_id) == 0);
	CHECK_STR(act->epid, test_epid);

	kms_response kr;
	CHECK(client_accepts(f.out + before, o->written, RPC_SYNTAX_NDR32, &cs, &kr));
	CHECK_EQ(kr.count, 50);
	host_settings_free(&f.s);
}

/* A fixture host with an NDR32 association bound, and a request for it. */
static bool start_bound(fixture *f, kms_request *r)
{
	windows_request(r, "0a1b2c3d-4e5f-4607-8899-aabbccddeeff");
	return fixture_start(f) && send_bind(f, RPC_BIND, false) != NULL;
}

TEST(answer_refusals_and_invalid_requests)
{
	fixture f;
	kms_request r;
	kms_client_secret cs;
	uint8_t pdu[1024];
	CHECK(start_bound(&f, &r));
	size_t len = request_pdu(&r, 0, 0, pdu, sizeof pdu, &cs);

	/* a product not served: an HRESULT, nothing counted */
	f.s.policy.scope = KMS_SERVE_LISTED;
	const answer_outcome *o = send_pdu(&f, pdu, len);
	CHECK_EQ(o->kind, ANSWER_REQUEST);
	CHECK_EQ(o->act.status, KMS_HR_NOT_LICENSED);
	CHECK_EQ(o->act.result, RESULT_REFUSED);
	CHECK_EQ(o->act.count, 0);
	CHECK(!o->act.random_used && !o->close);
	CHECK(o->act.group != KMS_NO_INDEX);

	/* no random bytes to build a response with */
	f.s.policy.scope = KMS_SERVE_ALL;
	f.h.random = NULL;
	o = send_pdu(&f, pdu, len);
	CHECK_EQ(o->act.status, KMS_HR_INVALID_DATA);
	CHECK_STR(o->act.decision.reason, "could not build the response");
	CHECK_EQ(o->act.result, RESULT_REFUSED);

	/* a message that does not decode */
	uint8_t junk[64] = { 0 };
	CHECK_EQ(rpc_request_encode(3, 0, 0, RPC_SYNTAX_NDR32, junk, sizeof junk, pdu, sizeof pdu,
				    &len), RPC_OK);
	o = send_pdu(&f, pdu, len);
	CHECK_EQ(o->kind, ANSWER_REQUEST);
	CHECK(o->act.decode_error != KMS_OK);
	CHECK_EQ(o->act.status, KMS_HR_INVALID_DATA);
	CHECK_EQ(o->act.result, RESULT_INVALID);
	CHECK_EQ(o->act.group, KMS_NO_INDEX);
	CHECK_EQ(o->act.sku, KMS_NO_INDEX);
	host_settings_free(&f.s);
}

TEST(answer_counts_only_answered_clients)
{
	fixture f;
	CHECK(fixture_start(&f));
	f.s.policy.count_mode = KMS_COUNT_REAL;
	client_count *counter = client_count_new(kms_products_current(), 30 * 86400, 100);
	CHECK(counter != NULL);
	f.h.counter = counter;
	CHECK(send_bind(&f, RPC_BIND, false) != NULL);
	static const char *const cmids[] = { "00000000-0000-4000-8000-000000000001",
					     "00000000-0000-4000-8000-000000000002" };
	kms_request r;
	kms_client_secret cs;
	uint8_t pdu[1024];
	for (int i = 0; i < 2; i++) {
		windows_request(&r, cmids[i]);
		const answer_outcome *o = send_pdu(&f, pdu, request_pdu(&r, 0, 0, pdu, sizeof pdu, &cs));
		CHECK_EQ(o->act.count, i + 1);
		CHECK_EQ(o->act.result, RESULT_BELOW_THRESHOLD);
	}
	/* a refused client is not counted */
	f.s.policy.scope = KMS_SERVE_LISTED;
	windows_request(&r, "00000000-0000-4000-8000-000000000003");
	send_pdu(&f, pdu, request_pdu(&r, 0, 0, pdu, sizeof pdu, &cs));
	CHECK_EQ(f.o.act.result, RESULT_REFUSED);
	CHECK_EQ(client_count_get(counter, &r.app_id, 1795000000), 2);
	client_count_free(counter);
	host_settings_free(&f.s);
}

TEST(answer_rejects_each_kind_of_bad_pdu)
{
	fixture f;
	uint8_t pdu[1024];
	size_t len;
	kms_request r;
	kms_client_secret cs;
	windows_request(&r, "0a1b2c3d-4e5f-4607-8899-aabbccddeeff");

	/* alter_context before any bind: a fault, then close */
	CHECK(fixture_start(&f));
	const answer_outcome *o = send_bind(&f, RPC_ALTER_CONTEXT, false);
	CHECK_EQ(o->kind, ANSWER_REJECTED);
	CHECK_EQ(o->reject, REJECT_MALFORMED_REQUEST);
	CHECK_EQ(o->fault_status, RPC_NCA_PROTO_ERROR);
	CHECK_STR(o->what, "alter_context before any bind");
	CHECK_STR(o->detail, "");
	CHECK(o->close);
	host_settings_free(&f.s);

	/* a second bind: bind_nak, close */
	CHECK(fixture_start(&f));
	CHECK(send_bind(&f, RPC_BIND, false) != NULL);
	o = send_bind(&f, RPC_BIND, false);
	CHECK_EQ(o->kind, ANSWER_REJECTED);
	CHECK_EQ(o->reject, REJECT_MALFORMED_BIND);
	CHECK_EQ(o->nak_reason, rpc_bind_nak_reason(RPC_ERR_PTYPE));
	CHECK_STR(o->detail, "a second bind on the association");
	CHECK(o->close && o->written > 0);
	host_settings_free(&f.s);

	/* a bind of protocol version 4: bind_nak for the whole PDU */
	CHECK(fixture_start(&f));
	rpc_client_options opt = { .ndr32 = true };
	CHECK_EQ(rpc_bind_encode(RPC_BIND, 1, &opt, pdu, sizeof pdu, &len), RPC_OK);
	pdu[0] = 4;
	o = send_pdu(&f, pdu, len);
	CHECK_EQ(o->kind, ANSWER_REJECTED);
	CHECK_EQ(o->reject, REJECT_MALFORMED_BIND);
	CHECK_EQ(o->used, len);
	CHECK_EQ(o->nak_reason, rpc_bind_nak_reason(RPC_ERR_VERSION));
	CHECK(o->close);
	/* ...anything else of version 4: closed without a word */
	pdu[2] = RPC_REQUEST;
	o = send_pdu(&f, pdu, len);
	CHECK_EQ(o->reject, REJECT_BAD_HEADER);
	CHECK(o->close && o->used == 0 && o->written == 0);
	host_settings_free(&f.s);

	/* requests on an unknown context, with an unknown opnum, with a bad
	 * stub: each faulted, the association kept */
	CHECK(fixture_start(&f));
	CHECK(send_bind(&f, RPC_BIND, false) != NULL);
	o = send_pdu(&f, pdu, request_pdu(&r, 7, 0, pdu, sizeof pdu, &cs));
	CHECK_EQ(o->reject, REJECT_UNKNOWN_CONTEXT);
	CHECK_EQ(o->fault_status, RPC_NCA_UNK_IF);
	CHECK_STR(o->detail, "context id 7 is not an accepted one");
	CHECK(!o->close);
	o = send_pdu(&f, pdu, request_pdu(&r, 0, 1, pdu, sizeof pdu, &cs));
	CHECK_EQ(o->reject, REJECT_UNKNOWN_OPERATION);
	CHECK_EQ(o->fault_status, RPC_NCA_OP_RNG_ERROR);
	CHECK(!o->close);
	len = request_pdu(&r, 0, 0, pdu, sizeof pdu, &cs);
	le32_put(pdu + RPC_HEADER_LEN + 8, 0xffff); /* the stub's array count */
	o = send_pdu(&f, pdu, len);
	CHECK_EQ(o->reject, REJECT_BAD_STUB);
	CHECK_EQ(o->fault_status, 0x000006F7);
	CHECK(!o->close);

	/* a PDU type a host never receives: close */
	pdu[2] = RPC_RESPONSE;
	o = send_pdu(&f, pdu, len);
	CHECK_EQ(o->kind, ANSWER_REJECTED);
	CHECK_EQ(o->reject, REJECT_UNEXPECTED_TYPE);
	CHECK_STR(o->detail, "type 2");
	CHECK(o->close);
	host_settings_free(&f.s);
}

TEST(answer_fragments_orphans_and_cancels)
{
	fixture f;
	kms_request r;
	kms_client_secret cs;
	uint8_t pdu[1024], frags[2048];
	CHECK(start_bound(&f, &r));
	size_t len = request_pdu(&r, 0, 0, pdu, sizeof pdu, &cs), flen, at, plen;
	CHECK_EQ(rpc_fragment_split(pdu, len, 200, frags, sizeof frags, &flen), RPC_OK);

	/* half a PDU: nothing yet */
	const answer_outcome *o = send_pdu(&f, frags, 10);
	CHECK_EQ(o->kind, ANSWER_INCOMPLETE);
	CHECK_EQ(o->used, 0);

	/* the first fragment is held, the last completes the call */
	CHECK_EQ(rpc_frame(frags, flen, &plen), RPC_OK);
	o = send_pdu(&f, frags, plen);
	CHECK_EQ(o->kind, ANSWER_COLLECTED);
	CHECK(answer_held(&f.a) > 0 && o->written == 0);
	for (at = plen; at < flen && f.o.kind == ANSWER_COLLECTED; at += plen) {
		CHECK_EQ(rpc_frame(frags + at, flen - at, &plen), RPC_OK);
		send_pdu(&f, frags + at, plen);
	}
	CHECK_EQ(f.o.kind, ANSWER_REQUEST);
	CHECK_EQ(f.o.act.status, 0);
	CHECK_EQ(answer_held(&f.a), 0);

	/* orphaned: what was collected of the call is dropped */
	CHECK_EQ(rpc_frame(frags, flen, &plen), RPC_OK);
	send_pdu(&f, frags, plen);
	CHECK(answer_held(&f.a) > 0);
	uint8_t orphan[16];
	memcpy(orphan, frags, 16);
	orphan[2] = RPC_ORPHANED;
	orphan[3] = RPC_PFC_FIRST_FRAG | RPC_PFC_LAST_FRAG;
	le16_put(orphan + 8, 16);
	o = send_pdu(&f, orphan, 16);
	CHECK_EQ(o->kind, ANSWER_ORPHANED);
	CHECK_EQ(o->call_id, 2);
	CHECK_EQ(answer_held(&f.a), 0);
	CHECK(!o->close);
	orphan[2] = RPC_CO_CANCEL;
	o = send_pdu(&f, orphan, 16);
	CHECK_EQ(o->kind, ANSWER_CANCELLED);
	CHECK(!o->close && o->written == 0);
	host_settings_free(&f.s);
}

/* The workstation is converted once; the metrics (64 bytes) and the store
 * (192) get copies cut exactly where converting into their own buffers
 * would have cut. */
TEST(answer_workstation_copies_cut_as_the_converter_does)
{
	static const char *const names[] = {
		"plain-ascii-name.example.org",
		"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
		"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
		"\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57"
		"\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57"
		"\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57\u6f22\u5b57",
		"a\U0001F600b\U0001F600c\U0001F600d\U0001F600e\U0001F600f\U0001F600g\U0001F600"
		"h\U0001F600i\U0001F600j\U0001F600k\U0001F600l\U0001F600",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		uint16_t units[KMS_WORKSTATION_UNITS];
		char whole[KMS_UTF8_MAX(KMS_WORKSTATION_UNITS)];
		kms_utf8_to_utf16(names[i], units, KMS_WORKSTATION_UNITS);
		kms_utf16_to_utf8(units, KMS_WORKSTATION_UNITS, whole, sizeof whole);
		for (size_t cap = 1; cap <= sizeof whole; cap++) {
			char direct[sizeof whole], copied[sizeof whole];
			size_t a = kms_utf16_to_utf8(units, KMS_WORKSTATION_UNITS, direct, cap);
			size_t b = kms_utf8_copy(copied, cap, whole);
			CHECK_EQ(a, b);
			CHECK_STR(direct, copied);
		}
	}
}
