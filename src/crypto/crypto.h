/* Cryptography for the KMS protocol.
 *
 * The block cipher is our own Rijndael (128-bit block) because KMS needs two
 * things no library offers: a 160-bit key with 11 rounds (V4) and a patched
 * AES-128 key schedule (V6). SHA-256 and HMAC-SHA256 come from OpenSSL's
 * libcrypto; random bytes from getrandom(2). Where the CPU has AES
 * instructions (x86 AES-NI) the rounds run on them, with the same round
 * keys; elsewhere on 32-bit tables.
 *
 * Key schedules are computed once into an aes_key and then only read, so
 * one key may be shared by every thread. Nothing here allocates. */
#ifndef KMSD_CRYPTO_CRYPTO_H
#define KMSD_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AES_BLOCK 16
#define AES_MAX_ROUNDS 14

typedef struct aes_key {
	uint32_t enc[4 * (AES_MAX_ROUNDS + 1)]; /* round keys, big-endian words */
	uint32_t dec[4 * (AES_MAX_ROUNDS + 1)]; /* for the equivalent inverse cipher */
	/* the same keys in byte order, for the CPU's AES instructions */
	uint8_t enc_bytes[AES_BLOCK * (AES_MAX_ROUNDS + 1)];
	uint8_t dec_bytes[AES_BLOCK * (AES_MAX_ROUNDS + 1)];
	int rounds;
	/* set by the init functions when the CPU has AES instructions; the
	 * tables serve otherwise (clearing it forces them, for tests) */
	bool hw;
} aes_key;

/* Expand a Rijndael key of 16, 20, 24 or 32 bytes (rounds = words + 6).
 * Returns false for any other length. */
bool aes_key_init(aes_key *k, const uint8_t *key, size_t key_len);

/* The round keys KMS V6 uses: the AES-128 expansion with the first byte of
 * round keys 4, 6 and 8 XORed with 0x73, 0x09 and 0xE4. */
void aes_key_init_kms_v6(aes_key *k, const uint8_t key[16]);

void aes_encrypt_block(const aes_key *k, const uint8_t in[AES_BLOCK], uint8_t out[AES_BLOCK]);
void aes_decrypt_block(const aes_key *k, const uint8_t in[AES_BLOCK], uint8_t out[AES_BLOCK]);

/* CBC over whole blocks, in place. `iv` is read, not updated. len must be a
 * multiple of AES_BLOCK (callers pad first). */
void aes_cbc_encrypt(const aes_key *k, const uint8_t iv[AES_BLOCK], uint8_t *buf, size_t len);
void aes_cbc_decrypt(const aes_key *k, const uint8_t iv[AES_BLOCK], uint8_t *buf, size_t len);

/* PKCS#7: append 1..16 bytes of value n so that len becomes a multiple of
 * the block. Returns the new length, or 0 if it would exceed cap. */
size_t pkcs7_pad(uint8_t *buf, size_t len, size_t cap);

/* Length of the data before valid PKCS#7 padding, or -1 when the padding is
 * malformed (zero, above 16, longer than the data, or not all equal). */
long pkcs7_unpadded_len(const uint8_t *buf, size_t len);

/* The KMS V4 MAC: CBC-MAC with a zero IV over msg || 0x80 || zeros to the
 * next block boundary; the MAC is the last cipher block. */
void kms_v4_mac(const aes_key *k, const uint8_t *msg, size_t len, uint8_t mac[AES_BLOCK]);

/* SHA-256 and HMAC-SHA256 (libcrypto). Return false only if libcrypto fails. */
bool sha256(const void *data, size_t len, uint8_t out[32]);
bool hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
		 uint8_t out[32]);

/* Fill buf with cryptographically secure random bytes (getrandom(2)).
 * Returns false if the kernel cannot provide them. */
bool random_bytes(void *buf, size_t len);

#endif
