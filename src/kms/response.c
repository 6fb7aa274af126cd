/* Building a host's response (docs/protocol.md §3). */
#include "kms/kms.h"

#include <string.h>

#include "base/bytes.h"
#include "kms/keys.h"
#include "kms/response_layout.h"

/* Write the response base at p; returns its length. */
static size_t base_write(const kms_request *req, const kms_answer *a, size_t epid_chars,
			 uint8_t *p)
{
	size_t epid_size = 2 * (epid_chars + 1);
	le16_put(p, req->minor);
	le16_put(p + 2, req->major);
	le32_put(p + 4, (uint32_t)epid_size);
	uint8_t *q = p + RESPONSE_HEAD_LEN;
	for (size_t i = 0; i <= epid_chars; i++)
		le16_put(q + 2 * i, i < epid_chars ? (uint8_t)a->epid[i] : 0);
	q += epid_size;
	memcpy(q, req->cmid.b, 16);
	le64_put(q + 16, req->client_time);
	le32_put(q + 24, a->count);
	le32_put(q + 28, a->activation_interval);
	le32_put(q + 32, a->renewal_interval);
	return RESPONSE_HEAD_LEN + epid_size + RESPONSE_TAIL_LEN;
}

/* RandomXoredIVs and Hash, common to V5 and V6. */
static bool write_hash_fields(const kms_request_secret *s, const uint8_t r[16], uint8_t *p)
{
	for (int i = 0; i < 16; i++)
		p[i] = r[i] ^ s->decrypted_iv[i];
	return sha256(r, 16, p + 16);
}

kms_err kms_response_encode(const kms_request *req, const kms_request_secret *secret,
			    const kms_answer *answer, const uint8_t random[KMS_RANDOM_LEN],
			    uint8_t *out, size_t cap, size_t *len)
{
	size_t epid_chars = answer->epid ? strlen(answer->epid) : 0;
	if (epid_chars == 0 || epid_chars >= KMS_EPID_MAX_UNITS)
		return KMS_ERR_EPID;
	const aes_key *key = kms_version_key(secret->major);
	if (!key)
		return KMS_ERR_VERSION;

	size_t base_len = RESPONSE_HEAD_LEN + 2 * (epid_chars + 1) + RESPONSE_TAIL_LEN;
	size_t need;
	switch (secret->major) {
	case 4:
		need = base_len + 16;
		break;
	case 5:
		need = 4 + 16 + (base_len + RESPONSE_V5_EXTRA) / 16 * 16 + 16;
		break;
	default:
		need = 4 + (16 + base_len + RESPONSE_V6_EXTRA) / 16 * 16 + 16;
		break;
	}
	if (cap < need)
		return KMS_ERR_NO_SPACE;

	if (secret->major == 4) {
		base_write(req, answer, epid_chars, out);
		kms_v4_mac(key, out, base_len, out + base_len);
		*len = need;
		return KMS_OK;
	}

	le16_put(out, secret->minor);
	le16_put(out + 2, secret->major);

	if (secret->major == 5) {
		/* the IV travels back unchanged and also chains the encryption */
		uint8_t *plain = out + 20;
		memcpy(out + 4, secret->iv, 16);
		base_write(req, answer, epid_chars, plain);
		if (!write_hash_fields(secret, random, plain + base_len))
			return KMS_ERR_CRYPTO;
		size_t n = pkcs7_pad(plain, base_len + RESPONSE_V5_EXTRA, cap - 20);
		aes_cbc_encrypt(key, secret->iv, plain, n);
		*len = 20 + n;
		return KMS_OK;
	}

	/* V6: a fresh IV as the first plaintext block, encrypted with a zero
	 * IV so its cipher block travels where V5 puts the IV. Clients flag
	 * an IV equal to their own as an emulator, so never send one. */
	static const uint8_t zero_iv[16];
	uint8_t *plain = out + 4;
	memcpy(plain, random + 16, 16);
	if (memcmp(plain, secret->iv, 16) == 0)
		plain[0] ^= 1;
	uint8_t *p = plain + 16;
	p += base_write(req, answer, epid_chars, p);
	if (!write_hash_fields(secret, random, p))
		return KMS_ERR_CRYPTO;
	p += 48;
	memcpy(p, answer->hwid, KMS_HWID_LEN);
	p += KMS_HWID_LEN;
	memcpy(p, secret->decrypted_iv, 16);
	p += 16;

	uint8_t hmac_key[16], digest[32];
	if (!kms_v6_hmac_key(req->client_time, 0, hmac_key) ||
	    !hmac_sha256(hmac_key, sizeof hmac_key, plain, (size_t)(p - plain), digest))
		return KMS_ERR_CRYPTO;
	memcpy(p, digest + 16, 16);
	p += 16;

	size_t n = pkcs7_pad(plain, (size_t)(p - plain), cap - 4);
	aes_cbc_encrypt(key, zero_iv, plain, n);
	*len = 4 + n;
	return KMS_OK;
}
