/* CBC mode, PKCS#7 padding and the KMS V4 CBC-MAC. */
#include "crypto/crypto.h"

#include <string.h>

static void xor_block(uint8_t *dst, const uint8_t *src)
{
	for (int i = 0; i < AES_BLOCK; i++)
		dst[i] ^= src[i];
}

void aes_cbc_encrypt(const aes_key *k, const uint8_t iv[AES_BLOCK], uint8_t *buf, size_t len)
{
	const uint8_t *prev = iv;
	for (size_t off = 0; off + AES_BLOCK <= len; off += AES_BLOCK) {
		xor_block(buf + off, prev);
		aes_encrypt_block(k, buf + off, buf + off);
		prev = buf + off;
	}
}

void aes_cbc_decrypt(const aes_key *k, const uint8_t iv[AES_BLOCK], uint8_t *buf, size_t len)
{
	uint8_t prev[AES_BLOCK], cipher[AES_BLOCK];
	memcpy(prev, iv, AES_BLOCK);
	for (size_t off = 0; off + AES_BLOCK <= len; off += AES_BLOCK) {
		memcpy(cipher, buf + off, AES_BLOCK);
		aes_decrypt_block(k, buf + off, buf + off);
		xor_block(buf + off, prev);
		memcpy(prev, cipher, AES_BLOCK);
	}
}

size_t pkcs7_pad(uint8_t *buf, size_t len, size_t cap)
{
	size_t n = AES_BLOCK - len % AES_BLOCK;
	if (len + n > cap)
		return 0;
	memset(buf + len, (int)n, n);
	return len + n;
}

long pkcs7_unpadded_len(const uint8_t *buf, size_t len)
{
	if (len == 0 || len % AES_BLOCK != 0)
		return -1;
	uint8_t n = buf[len - 1];
	if (n == 0 || n > AES_BLOCK)
		return -1;
	for (size_t i = len - n; i < len; i++)
		if (buf[i] != n)
			return -1;
	return (long)(len - n);
}

void kms_v4_mac(const aes_key *k, const uint8_t *msg, size_t len, uint8_t mac[AES_BLOCK])
{
	uint8_t block[AES_BLOCK] = { 0 };
	size_t off = 0;

	memset(mac, 0, AES_BLOCK);
	for (; off + AES_BLOCK <= len; off += AES_BLOCK) {
		memcpy(block, msg + off, AES_BLOCK);
		xor_block(mac, block);
		aes_encrypt_block(k, mac, mac);
	}
	/* the tail, then the 0x80 marker, always in a final block of its own
	 * when the message fills whole blocks */
	memset(block, 0, AES_BLOCK);
	memcpy(block, msg + off, len - off);
	block[len - off] = 0x80;
	xor_block(mac, block);
	aes_encrypt_block(k, mac, mac);
}
