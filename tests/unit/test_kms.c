/* Round trips through our client and host for every protocol version and
 * transfer syntax, and each response field corrupted in turn. */
#include <stdio.h>
#include <string.h>

#include "base/bytes.h"
#include "check.h"
#include "crypto/crypto.h"
#include "kms/keys.h"
#include "kms/kms.h"
#include "rpc/rpc.h"

static const char *const test_epid = "03612-00206-568-381813-03-1033-17763.0000-2652018";

static void make_request(kms_request *r, uint16_t major)
{
	memset(r, 0, sizeof *r);
	r->major = major;
	r->license_status = 2;
	r->binding_expiration = 43200;
	guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &r->app_id);
	guid_parse("73111121-5638-40f6-bc11-f1d7b0d64300", &r->sku_id);
	guid_parse("58e2134f-8e11-4d17-9cb2-91069c151148", &r->kms_id);
	test_seeded_bytes(r->cmid.b, sizeof r->cmid.b); /* any client id must round-trip */
	r->n_policy = 25;
	r->client_time = kms_filetime_from_unix(1790000000);
	kms_utf8_to_utf16("round-trip.example.org", r->workstation, KMS_WORKSTATION_UNITS);
}

/* Client request -> host answer -> bytes the client receives. */
static bool host_answers(uint16_t major, kms_client_secret *cs, uint8_t *out, size_t *len)
{
	kms_request req, got;
	kms_request_secret hs;
	uint8_t iv[16], msg[KMS_V5_REQUEST_LEN], random[KMS_RANDOM_LEN];
	size_t msg_len;
	make_request(&req, major);
	test_seeded_bytes(iv, sizeof iv);
	test_seeded_bytes(random, sizeof random);
	if (kms_request_encode(&req, iv, msg, sizeof msg, &msg_len, cs) != KMS_OK ||
	    kms_request_decode(msg, msg_len, &got, &hs) != KMS_OK)
		return false;
	if (memcmp(&got, &req, sizeof req) != 0)
		return false;
	kms_answer a = { .epid = test_epid, .count = 50, .activation_interval = 120,
			 .renewal_interval = 10080, .hwid = { 1, 2, 3, 4, 5, 6, 7, 8 } };
	return kms_response_encode(&got, &hs, &a, random, out, KMS_MAX_RESPONSE_LEN, len) == KMS_OK;
}

TEST(kms_round_trip_every_version_and_syntax)
{
	for (uint16_t major = 4; major <= 6; major++) {
		for (int s = 0; s < 2; s++) {
			rpc_syntax_kind syntax = s ? RPC_SYNTAX_NDR64 : RPC_SYNTAX_NDR32;
			kms_request req, got;
			kms_request_secret hs;
			kms_client_secret cs;
			uint8_t iv[16], msg[KMS_V5_REQUEST_LEN], pdu[1024], random[KMS_RANDOM_LEN];
			size_t msg_len, pdu_len;
			make_request(&req, major);
			test_seeded_bytes(iv, sizeof iv);
			test_seeded_bytes(random, sizeof random);
			CHECK_EQ(kms_request_encode(&req, iv, msg, sizeof msg, &msg_len, &cs), KMS_OK);
			CHECK_EQ(rpc_request_encode(7, 1, 0, syntax, msg, msg_len, pdu, sizeof pdu, &pdu_len),
				 RPC_OK);

			/* host */
			rpc_request r;
			const uint8_t *stub_msg;
			size_t stub_len;
			CHECK_EQ(rpc_request_decode(pdu, pdu_len, &r), RPC_OK);
			CHECK_EQ(rpc_stub_decode(syntax, r.stub, r.stub_len, &stub_msg, &stub_len), RPC_OK);
			CHECK_EQ(kms_request_decode(stub_msg, stub_len, &got, &hs), KMS_OK);
			CHECK(memcmp(&got, &req, sizeof req) == 0);
			uint8_t answer[1024], kms_out[KMS_MAX_RESPONSE_LEN];
			size_t kms_len, answer_len;
			kms_answer a = { .epid = test_epid, .count = 50, .activation_interval = 120,
					 .renewal_interval = 10080 };
			CHECK_EQ(kms_response_encode(&got, &hs, &a, random, kms_out, sizeof kms_out,
						     &kms_len), KMS_OK);
			CHECK_EQ(rpc_response_encode(r.hdr.call_id, r.context_id, syntax, kms_out, kms_len, 0,
						     answer, sizeof answer, &answer_len), RPC_OK);

			/* client */
			rpc_response resp;
			const uint8_t *rmsg;
			size_t rlen;
			uint32_t status;
			CHECK_EQ(rpc_response_decode(answer, answer_len, syntax, &resp, &rmsg, &rlen, &status),
				 RPC_OK);
			CHECK_EQ(status, 0);
			kms_response kr;
			kms_verdict v;
			CHECK_EQ(kms_response_verify(&cs, rmsg, rlen, &kr, &v), KMS_OK);
			CHECK_EQ(v.failed, 0);
			CHECK_EQ(kr.count, 50);
			char epid[80];
			kms_utf16_to_utf8(kr.epid, KMS_EPID_MAX_UNITS, epid, sizeof epid);
			CHECK_STR(epid, test_epid);
		}
	}
}

/* Decrypt a V5/V6 response, let `mutate` change the plaintext, encrypt it
 * again: a host that got a field wrong, with the crypto itself right. */
typedef void (*mutation)(uint8_t *plain, size_t len);

static void reencrypt(uint16_t major, uint8_t *msg, size_t len, mutation mutate)
{
	const aes_key *key = kms_version_key(major);
	static const uint8_t zero[16];
	if (major == 5) {
		uint8_t iv[16];
		memcpy(iv, msg + 4, 16);
		aes_cbc_decrypt(key, iv, msg + 20, len - 20);
		mutate(msg + 20, len - 20);
		aes_cbc_encrypt(key, iv, msg + 20, len - 20);
	} else {
		aes_cbc_decrypt(key, zero, msg + 4, len - 4);
		mutate(msg + 4, len - 4);
		aes_cbc_encrypt(key, zero, msg + 4, len - 4);
	}
}

/* offsets in the V6 plaintext with the 49-unit test ePID */
#define V6_BASE 16
#define V6_EPID_SIZE (V6_BASE + 4)
#define V6_EPID (V6_BASE + 8)
#define V6_CMID (V6_EPID + 100)
#define V6_TIME (V6_CMID + 16)
#define V6_HASH (V6_TIME + 8 + 12 + 16)
#define V6_XORED (V6_HASH + 32 + 8)
#define V6_HMAC (V6_XORED + 16)

static void flip_inner_version(uint8_t *p, size_t n) { (void)n; p[V6_BASE + 2] ^= 1; }
static void flip_cmid(uint8_t *p, size_t n) { (void)n; p[V6_CMID] ^= 1; }
static void flip_time(uint8_t *p, size_t n) { (void)n; p[V6_TIME] ^= 1; }
static void flip_hash(uint8_t *p, size_t n) { (void)n; p[V6_HASH] ^= 1; }
static void flip_xored(uint8_t *p, size_t n) { (void)n; p[V6_XORED] ^= 1; }
static void flip_hmac(uint8_t *p, size_t n) { (void)n; p[V6_HMAC] ^= 1; }
static void flip_padding(uint8_t *p, size_t n) { p[n - 1] ^= 0x20; }
static void epid_no_nul(uint8_t *p, size_t n) { (void)n; p[V6_EPID + 98] = 'x'; }
static void epid_odd_size(uint8_t *p, size_t n) { (void)n; p[V6_EPID_SIZE] = 99; }

static uint32_t failed_after(mutation m, kms_client_secret *cs)
{
	uint8_t msg[KMS_MAX_RESPONSE_LEN];
	size_t len;
	if (!host_answers(6, cs, msg, &len))
		return 0xffffffff;
	reencrypt(6, msg, len, m);
	kms_response r;
	kms_verdict v;
	kms_response_verify(cs, msg, len, &r, &v);
	return v.failed;
}

TEST(kms_v6_each_corrupted_field_fails_its_check)
{
	kms_client_secret cs;
	static const struct {
		mutation m;
		enum kms_check check;
	} cases[] = {
		{ flip_inner_version, KMS_CHECK_VERSION }, { flip_cmid, KMS_CHECK_CMID },
		{ flip_time, KMS_CHECK_TIME },             { flip_hash, KMS_CHECK_HASH },
		{ flip_xored, KMS_CHECK_XORED_IVS },       { flip_hmac, KMS_CHECK_HMAC },
		{ flip_padding, KMS_CHECK_PADDING },       { epid_no_nul, KMS_CHECK_EPID },
		{ epid_odd_size, KMS_CHECK_EPID },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t failed = failed_after(cases[i].m, &cs);
		if (!(failed & (1u << cases[i].check)))
			printf("  case %zu: failed 0x%x, wanted %s\n", i, failed,
			       kms_check_name(cases[i].check));
		CHECK(failed & (1u << cases[i].check));
	}
}

TEST(kms_v6_hmac_fails_for_other_fields_too)
{
	/* the HMAC covers the whole answer: a changed CMID breaks it as well */
	kms_client_secret cs;
	uint32_t failed = failed_after(flip_cmid, &cs);
	CHECK(failed & (1u << KMS_CHECK_HMAC));
}

static void echo_request_iv_back(uint8_t *p, size_t n);
static kms_client_secret *iv_secret;
static void echo_request_iv_back(uint8_t *p, size_t n)
{
	(void)n;
	memcpy(p, iv_secret->iv, 16);
}

TEST(kms_v6_iv_equal_to_request_is_flagged)
{
	kms_client_secret cs;
	iv_secret = &cs;
	uint32_t failed = failed_after(echo_request_iv_back, &cs);
	CHECK(failed & (1u << KMS_CHECK_IV));
}

TEST(kms_v6_hmac_tolerates_one_time_slot)
{
	/* a host whose answer was keyed one slot off still passes */
	kms_client_secret cs;
	uint8_t msg[KMS_MAX_RESPONSE_LEN];
	size_t len;
	CHECK(host_answers(6, &cs, msg, &len));
	const aes_key *key = kms_version_key(6);
	static const uint8_t zero[16];
	aes_cbc_decrypt(key, zero, msg + 4, len - 4);
	for (int shift = -2; shift <= 2; shift++) {
		uint8_t hkey[16], digest[32], plain[KMS_MAX_RESPONSE_LEN];
		memcpy(plain, msg + 4, len - 4);
		CHECK(kms_v6_hmac_key(cs.client_time, shift, hkey));
		CHECK(hmac_sha256(hkey, 16, plain, V6_HMAC, digest));
		memcpy(plain + V6_HMAC, digest + 16, 16);
		uint8_t wire[KMS_MAX_RESPONSE_LEN];
		memcpy(wire, msg, 4);
		memcpy(wire + 4, plain, len - 4);
		aes_cbc_encrypt(key, zero, wire + 4, len - 4);
		kms_response r;
		kms_verdict v;
		kms_response_verify(&cs, wire, len, &r, &v);
		bool hmac_ok = !(v.failed & (1u << KMS_CHECK_HMAC));
		CHECK_EQ(hmac_ok, shift >= -1 && shift <= 1);
	}
}

TEST(kms_v5_iv_must_be_echoed)
{
	kms_client_secret cs;
	uint8_t msg[KMS_MAX_RESPONSE_LEN];
	size_t len;
	CHECK(host_answers(5, &cs, msg, &len));
	msg[4] ^= 1;
	kms_response r;
	kms_verdict v;
	CHECK_EQ(kms_response_verify(&cs, msg, len, &r, &v), KMS_ERR_VERIFY);
	CHECK(v.failed & (1u << KMS_CHECK_IV));
}

TEST(kms_v4_mac_and_fields)
{
	kms_client_secret cs;
	uint8_t msg[KMS_MAX_RESPONSE_LEN];
	size_t len;
	kms_response r;
	kms_verdict v;
	CHECK(host_answers(4, &cs, msg, &len));
	CHECK_EQ(len, 160); /* 49-character ePID */
	CHECK_EQ(kms_response_verify(&cs, msg, len, &r, &v), KMS_OK);
	msg[len - 1] ^= 1;
	CHECK_EQ(kms_response_verify(&cs, msg, len, &r, &v), KMS_ERR_VERIFY);
	CHECK_EQ(v.failed, 1u << KMS_CHECK_MAC);
	msg[len - 1] ^= 1;
	msg[0] ^= 1; /* clear version */
	kms_response_verify(&cs, msg, len, &r, &v);
	CHECK(v.failed & (1u << KMS_CHECK_VERSION));
}

TEST(kms_response_size_checks)
{
	for (uint16_t major = 4; major <= 6; major++) {
		kms_client_secret cs;
		uint8_t msg[KMS_MAX_RESPONSE_LEN + 64];
		size_t len;
		kms_response r;
		kms_verdict v;
		CHECK(host_answers(major, &cs, msg, &len));
		/* one block too many */
		memset(msg + len, 0x10, 16);
		CHECK(kms_response_verify(&cs, msg, len + 16, &r, &v) != KMS_OK);
		CHECK(v.failed & ((1u << KMS_CHECK_SIZE) | (1u << KMS_CHECK_PADDING) |
				  (1u << KMS_CHECK_MAC)));
		/* every truncation fails, none crashes */
		for (size_t cut = 0; cut < len; cut++)
			CHECK(kms_response_verify(&cs, msg, cut, &r, &v) != KMS_OK);
	}
}

TEST(kms_request_decode_rejects_bad_input)
{
	kms_request req, got;
	kms_request_secret hs;
	kms_client_secret cs;
	uint8_t iv[16] = { 9 }, msg[KMS_V5_REQUEST_LEN + 16];
	size_t len;

	make_request(&req, 4);
	CHECK_EQ(kms_request_encode(&req, iv, msg, sizeof msg, &len, &cs), KMS_OK);
	CHECK_EQ(kms_request_decode(msg, len, &got, &hs), KMS_OK);
	msg[100] ^= 1;
	CHECK_EQ(kms_request_decode(msg, len, &got, &hs), KMS_ERR_MAC);
	CHECK_EQ(kms_request_decode(msg, len - 1, &got, &hs), KMS_ERR_SIZE);
	CHECK_EQ(kms_request_decode(msg, 3, &got, &hs), KMS_ERR_SHORT);

	for (uint16_t major = 5; major <= 6; major++) {
		make_request(&req, major);
		CHECK_EQ(kms_request_encode(&req, iv, msg, sizeof msg, &len, &cs), KMS_OK);
		CHECK_EQ(kms_request_decode(msg, len, &got, &hs), KMS_OK);
		CHECK_EQ(kms_request_decode(msg, len + 16, &got, &hs), KMS_ERR_SIZE);
		msg[len - 1] ^= 0x40; /* garbles the last block: its padding */
		CHECK_EQ(kms_request_decode(msg, len, &got, &hs), KMS_ERR_PADDING);
	}
	le16_put(msg + 2, 7);
	CHECK_EQ(kms_request_decode(msg, len, &got, &hs), KMS_ERR_VERSION);
	le16_put(msg + 2, 3);
	CHECK_EQ(kms_request_decode(msg, len, &got, &hs), KMS_ERR_VERSION);
	/* a clear version that disagrees with the encrypted one */
	make_request(&req, 6);
	CHECK_EQ(kms_request_encode(&req, iv, msg, sizeof msg, &len, &cs), KMS_OK);
	le16_put(msg + 2, 5);
	CHECK(kms_request_decode(msg, len, &got, &hs) != KMS_OK);
}

TEST(kms_response_encode_rejects_bad_epid_and_small_buffers)
{
	kms_request req;
	kms_request_secret hs = { .major = 6 };
	uint8_t random[KMS_RANDOM_LEN] = { 0 }, out[KMS_MAX_RESPONSE_LEN];
	size_t len;
	make_request(&req, 6);
	kms_answer a = { .epid = "" };
	CHECK_EQ(kms_response_encode(&req, &hs, &a, random, out, sizeof out, &len), KMS_ERR_EPID);
	char long_epid[80];
	memset(long_epid, '1', sizeof long_epid - 1);
	long_epid[79] = 0;
	a.epid = long_epid;
	CHECK_EQ(kms_response_encode(&req, &hs, &a, random, out, sizeof out, &len), KMS_ERR_EPID);
	a.epid = test_epid;
	CHECK_EQ(kms_response_encode(&req, &hs, &a, random, out, 100, &len), KMS_ERR_NO_SPACE);
	/* the longest ePID fits the documented maximum */
	long_epid[63] = 0;
	for (uint16_t major = 4; major <= 6; major++) {
		hs.major = major;
		req.major = major;
		a.epid = long_epid;
		CHECK_EQ(kms_response_encode(&req, &hs, &a, random, out, sizeof out, &len), KMS_OK);
		CHECK(len <= KMS_MAX_RESPONSE_LEN);
	}
}

TEST(kms_text_conversions)
{
	uint16_t units[8];
	char text[32];
	kms_utf8_to_utf16("h\xc3\xa9llo", units, 8);
	CHECK_EQ(units[1], 0xe9);
	kms_utf16_to_utf8(units, 8, text, sizeof text);
	CHECK_STR(text, "h\xc3\xa9llo");
	kms_utf8_to_utf16("abcdefghijkl", units, 8);
	CHECK_EQ(units[7], 0); /* truncated, still terminated */
	CHECK_EQ(kms_unix_from_filetime(kms_filetime_from_unix(1790000000)), 1790000000);
	CHECK_STR(kms_check_name(KMS_CHECK_HMAC), "hmac");
}
