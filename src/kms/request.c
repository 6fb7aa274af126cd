/* The KMS request: the 236-byte base, V4's MAC, V5/V6's encryption. */
#include "kms/kms.h"

#include <string.h>

#include "base/bytes.h"
#include "kms/keys.h"

enum {
	OFF_VERSION = 0,
	OFF_VM_INFO = 4,
	OFF_LICENSE_STATUS = 8,
	OFF_BINDING_EXPIRATION = 12,
	OFF_APP_ID = 16,
	OFF_SKU_ID = 32,
	OFF_KMS_ID = 48,
	OFF_CMID = 64,
	OFF_N_POLICY = 80,
	OFF_CLIENT_TIME = 84,
	OFF_PREVIOUS_CMID = 92,
	OFF_WORKSTATION = 108,
};

static void base_read(const uint8_t *p, kms_request *r)
{
	memset(r, 0, sizeof *r); /* no stale padding bytes for callers comparing or hashing */
	r->minor = le16_get(p + OFF_VERSION);
	r->major = le16_get(p + OFF_VERSION + 2);
	r->vm_info = le32_get(p + OFF_VM_INFO);
	r->license_status = le32_get(p + OFF_LICENSE_STATUS);
	r->binding_expiration = le32_get(p + OFF_BINDING_EXPIRATION);
	memcpy(r->app_id.b, p + OFF_APP_ID, 16);
	memcpy(r->sku_id.b, p + OFF_SKU_ID, 16);
	memcpy(r->kms_id.b, p + OFF_KMS_ID, 16);
	memcpy(r->cmid.b, p + OFF_CMID, 16);
	r->n_policy = le32_get(p + OFF_N_POLICY);
	r->client_time = le64_get(p + OFF_CLIENT_TIME);
	memcpy(r->previous_cmid.b, p + OFF_PREVIOUS_CMID, 16);
	for (int i = 0; i < KMS_WORKSTATION_UNITS; i++)
		r->workstation[i] = le16_get(p + OFF_WORKSTATION + 2 * i);
	/* a name filling all 64 units has no NUL; keep the last one as one */
	r->workstation[KMS_WORKSTATION_UNITS - 1] = 0;
}

static void base_write(const kms_request *r, uint8_t *p)
{
	le16_put(p + OFF_VERSION, r->minor);
	le16_put(p + OFF_VERSION + 2, r->major);
	le32_put(p + OFF_VM_INFO, r->vm_info);
	le32_put(p + OFF_LICENSE_STATUS, r->license_status);
	le32_put(p + OFF_BINDING_EXPIRATION, r->binding_expiration);
	memcpy(p + OFF_APP_ID, r->app_id.b, 16);
	memcpy(p + OFF_SKU_ID, r->sku_id.b, 16);
	memcpy(p + OFF_KMS_ID, r->kms_id.b, 16);
	memcpy(p + OFF_CMID, r->cmid.b, 16);
	le32_put(p + OFF_N_POLICY, r->n_policy);
	le64_put(p + OFF_CLIENT_TIME, r->client_time);
	memcpy(p + OFF_PREVIOUS_CMID, r->previous_cmid.b, 16);
	for (int i = 0; i < KMS_WORKSTATION_UNITS; i++)
		le16_put(p + OFF_WORKSTATION + 2 * i, r->workstation[i]);
}

kms_err kms_request_decode(const uint8_t *msg, size_t len, kms_request *req,
			   kms_request_secret *secret)
{
	if (len < 4)
		return KMS_ERR_SHORT;
	memset(secret, 0, sizeof *secret);
	secret->minor = le16_get(msg);
	secret->major = le16_get(msg + 2);
	const aes_key *key = kms_version_key(secret->major);
	if (!key)
		return KMS_ERR_VERSION;

	if (secret->major == 4) {
		if (len != KMS_V4_REQUEST_LEN)
			return KMS_ERR_SIZE;
		uint8_t mac[16];
		kms_v4_mac(key, msg, KMS_REQUEST_BASE_LEN, mac);
		if (ct_memcmp(mac, msg + KMS_REQUEST_BASE_LEN, 16) != 0)
			return KMS_ERR_MAC;
		base_read(msg, req);
		return KMS_OK;
	}

	if (len != KMS_V5_REQUEST_LEN)
		return KMS_ERR_SIZE;
	/* Decrypt IV||ciphertext as one stream with a zero IV: block 0 becomes
	 * the "decrypted IV" the response needs, the rest the request base. */
	static const uint8_t zero_iv[16];
	uint8_t plain[KMS_V5_REQUEST_LEN - 4];
	memcpy(plain, msg + 4, sizeof plain);
	memcpy(secret->iv, msg + 4, 16);
	aes_cbc_decrypt(key, zero_iv, plain, sizeof plain);
	memcpy(secret->decrypted_iv, plain, 16);
	if (pkcs7_unpadded_len(plain + 16, sizeof plain - 16) != KMS_REQUEST_BASE_LEN)
		return KMS_ERR_PADDING;
	base_read(plain + 16, req);
	/* the encrypted copy of the version must agree with the clear one */
	if (req->major != secret->major || req->minor != secret->minor)
		return KMS_ERR_VERSION;
	return KMS_OK;
}

kms_err kms_request_encode(const kms_request *req, const uint8_t iv[16], uint8_t *out,
			   size_t cap, size_t *len, kms_client_secret *secret)
{
	const aes_key *key = kms_version_key(req->major);
	if (!key)
		return KMS_ERR_VERSION;

	memset(secret, 0, sizeof *secret);
	secret->major = req->major;
	secret->minor = req->minor;
	secret->cmid = req->cmid;
	secret->client_time = req->client_time;

	if (req->major == 4) {
		if (cap < KMS_V4_REQUEST_LEN)
			return KMS_ERR_NO_SPACE;
		base_write(req, out);
		kms_v4_mac(key, out, KMS_REQUEST_BASE_LEN, out + KMS_REQUEST_BASE_LEN);
		*len = KMS_V4_REQUEST_LEN;
		return KMS_OK;
	}

	if (cap < KMS_V5_REQUEST_LEN)
		return KMS_ERR_NO_SPACE;
	le16_put(out, req->minor);
	le16_put(out + 2, req->major);
	memcpy(out + 4, iv, 16);
	base_write(req, out + 20);
	pkcs7_pad(out + 20, KMS_REQUEST_BASE_LEN, KMS_V5_REQUEST_LEN - 20);
	aes_cbc_encrypt(key, iv, out + 20, KMS_V5_REQUEST_LEN - 20);

	memcpy(secret->iv, iv, 16);
	aes_decrypt_block(key, iv, secret->decrypted_iv);
	*len = KMS_V5_REQUEST_LEN;
	return KMS_OK;
}
