/* SHA-256 from libcrypto, and HMAC-SHA256 built on it (RFC 2104).
 *
 * OpenSSL 3's one-shot SHA256() and HMAC() fetch an algorithm object and
 * allocate on every call; the request path must not allocate and runs
 * these several times per activation, so we use the low-level SHA-256
 * context, which lives on the stack. OpenSSL marks it deprecated but keeps
 * it in all 3.x releases. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "crypto/crypto.h"

#include <string.h>

#include <openssl/sha.h>

#define SHA256_BLOCK 64

bool sha256(const void *data, size_t len, uint8_t out[32])
{
	SHA256_CTX c;
	return SHA256_Init(&c) && SHA256_Update(&c, data, len) && SHA256_Final(out, &c);
}

bool hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
		 uint8_t out[32])
{
	uint8_t k[SHA256_BLOCK] = { 0 }, pad[SHA256_BLOCK], inner[32];
	SHA256_CTX c;

	if (key_len > SHA256_BLOCK) {
		if (!sha256(key, key_len, k))
			return false;
	} else {
		memcpy(k, key, key_len);
	}

	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	if (!SHA256_Init(&c) || !SHA256_Update(&c, pad, sizeof pad) ||
	    !SHA256_Update(&c, data, len) || !SHA256_Final(inner, &c))
		return false;

	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	return SHA256_Init(&c) && SHA256_Update(&c, pad, sizeof pad) &&
	       SHA256_Update(&c, inner, sizeof inner) && SHA256_Final(out, &c);
}
