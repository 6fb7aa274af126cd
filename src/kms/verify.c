/* Verifying a host's response the way a client does: decode every field
 * and make every check a real client makes, recording each outcome, so a
 * probe can say exactly what a broken host gets wrong. */
#include "kms/kms.h"

#include <string.h>

#include "base/bytes.h"
#include "kms/keys.h"
#include "kms/response_layout.h"

/* Larger than any valid response; bigger answers fail the size check. */
#define MAX_DECODE 1024

static void record(kms_verdict *v, enum kms_check c, bool ok)
{
	v->ran |= 1u << c;
	if (!ok)
		v->failed |= 1u << c;
}

static size_t padded(size_t n)
{
	return (n / 16 + 1) * 16;
}

static size_t expected_size(uint16_t major, size_t epid_size)
{
	size_t base = RESPONSE_HEAD_LEN + epid_size + RESPONSE_TAIL_LEN;
	if (major == 4)
		return base + 16;
	if (major == 5)
		return 20 + padded(base + RESPONSE_V5_EXTRA);
	return 4 + padded(16 + base + RESPONSE_V6_EXTRA);
}

/* The ePID: declared size even and within bounds, NUL only at the end. */
static bool read_epid(const uint8_t *p, size_t avail, kms_response *r)
{
	uint32_t size = r->epid_size;
	if (size < 2 || size > 2 * KMS_EPID_MAX_UNITS || size % 2 != 0 || size > avail)
		return false;
	size_t units = size / 2;
	bool ok = true;
	for (size_t i = 0; i < units; i++) {
		r->epid[i] = le16_get(p + 2 * i);
		if ((r->epid[i] == 0) != (i == units - 1))
			ok = false;
	}
	if (units < KMS_EPID_MAX_UNITS)
		r->epid[units] = 0;
	return ok;
}

static void check_hash(const kms_client_secret *s, const kms_response *r, kms_verdict *v)
{
	uint8_t random[16], digest[32];
	for (int i = 0; i < 16; i++)
		random[i] = r->random_xored_ivs[i] ^ s->decrypted_iv[i];
	record(v, KMS_CHECK_HASH, sha256(random, 16, digest) && memcmp(digest, r->hash, 32) == 0);
}

static void check_hmac(const kms_response *r, const uint8_t *plain, size_t covered,
		       kms_verdict *v)
{
	bool ok = false;
	for (int tolerance = -1; tolerance <= 1 && !ok; tolerance++) {
		uint8_t key[16], digest[32];
		if (kms_v6_hmac_key(r->client_time, tolerance, key) &&
		    hmac_sha256(key, sizeof key, plain, covered, digest))
			ok = memcmp(digest + 16, r->hmac, 16) == 0;
	}
	record(v, KMS_CHECK_HMAC, ok);
}

kms_err kms_response_verify(const kms_client_secret *s, const uint8_t *msg, size_t len,
			    kms_response *r, kms_verdict *v)
{
	memset(r, 0, sizeof *r);
	memset(v, 0, sizeof *v);
	r->size = len;
	if (len < 4)
		return KMS_ERR_SHORT;
	const aes_key *key = kms_version_key(s->major);
	if (!key)
		return KMS_ERR_VERSION;
	bool version_ok = le16_get(msg) == s->minor && le16_get(msg + 2) == s->major;

	/* plaintext: the response base and what follows it */
	static const uint8_t zero_iv[16];
	uint8_t plain[MAX_DECODE];
	const uint8_t *base = plain;
	size_t data_len;

	if (s->major == 4) {
		if (len < RESPONSE_HEAD_LEN + 16 || len > MAX_DECODE) {
			record(v, KMS_CHECK_SIZE, false);
			return KMS_ERR_SIZE;
		}
		memcpy(plain, msg, len);
		memcpy(r->mac, msg + len - 16, 16);
		data_len = len - 16;
	} else {
		size_t start = s->major == 5 ? 20 : 4;
		if (len <= start || (len - start) % 16 != 0 || len - start > MAX_DECODE) {
			record(v, KMS_CHECK_SIZE, false);
			return KMS_ERR_SIZE;
		}
		size_t n = len - start;
		memcpy(plain, msg + start, n);
		if (s->major == 5) {
			memcpy(r->iv, msg + 4, 16);
			aes_cbc_decrypt(key, r->iv, plain, n);
			record(v, KMS_CHECK_IV, memcmp(r->iv, s->iv, 16) == 0);
		} else {
			aes_cbc_decrypt(key, zero_iv, plain, n);
			memcpy(r->iv, plain, 16);
			record(v, KMS_CHECK_IV, memcmp(r->iv, s->iv, 16) != 0);
			base = plain + 16;
		}
		long unpadded = pkcs7_unpadded_len(plain, n);
		record(v, KMS_CHECK_PADDING, unpadded >= 0);
		r->pad_len = unpadded >= 0 ? (uint8_t)(n - (size_t)unpadded) : 0;
		data_len = (unpadded >= 0 ? (size_t)unpadded : n) - (size_t)(base - plain);
		if (unpadded >= 0 && (size_t)unpadded < (size_t)(base - plain))
			data_len = 0;
	}

	if (data_len < RESPONSE_HEAD_LEN) {
		record(v, KMS_CHECK_SIZE, false);
		return KMS_ERR_SIZE;
	}
	r->minor = le16_get(base);
	r->major = le16_get(base + 2);
	record(v, KMS_CHECK_VERSION, version_ok && r->minor == s->minor && r->major == s->major);

	r->epid_size = le32_get(base + 4);
	size_t avail = data_len - RESPONSE_HEAD_LEN;
	bool epid_ok = read_epid(base + RESPONSE_HEAD_LEN, avail, r);
	record(v, KMS_CHECK_EPID, epid_ok);
	if (r->epid_size > avail || avail - r->epid_size < RESPONSE_TAIL_LEN) {
		record(v, KMS_CHECK_SIZE, false);
		return KMS_ERR_VERIFY;
	}
	record(v, KMS_CHECK_SIZE, len == expected_size(s->major, r->epid_size));

	const uint8_t *p = base + RESPONSE_HEAD_LEN + r->epid_size;
	memcpy(r->cmid.b, p, 16);
	r->client_time = le64_get(p + 16);
	r->count = le32_get(p + 24);
	r->activation_interval = le32_get(p + 28);
	r->renewal_interval = le32_get(p + 32);
	p += RESPONSE_TAIL_LEN;
	size_t base_len = (size_t)(p - base);
	record(v, KMS_CHECK_CMID, guid_cmp(&r->cmid, &s->cmid) == 0);
	record(v, KMS_CHECK_TIME, r->client_time == s->client_time);

	if (s->major == 4) {
		uint8_t mac[16];
		kms_v4_mac(key, base, base_len, mac);
		record(v, KMS_CHECK_MAC, base_len + 16 == len && memcmp(mac, r->mac, 16) == 0);
	} else {
		size_t extra = s->major == 5 ? RESPONSE_V5_EXTRA : RESPONSE_V6_EXTRA;
		if (data_len - base_len < extra) {
			record(v, KMS_CHECK_SIZE, false);
			return KMS_ERR_VERIFY;
		}
		memcpy(r->random_xored_ivs, p, 16);
		memcpy(r->hash, p + 16, 32);
		check_hash(s, r, v);
		if (s->major == 6) {
			memcpy(r->hwid, p + 48, 8);
			memcpy(r->xored_ivs, p + 56, 16);
			memcpy(r->hmac, p + 72, 16);
			record(v, KMS_CHECK_XORED_IVS, memcmp(r->xored_ivs, s->decrypted_iv, 16) == 0);
			check_hmac(r, plain, (size_t)(p + 72 - plain), v);
		}
	}
	return v->failed ? KMS_ERR_VERIFY : KMS_OK;
}
