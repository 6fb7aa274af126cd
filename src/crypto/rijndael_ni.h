/* The AES instructions of x86 CPUs (AES-NI), private to the crypto layer.
 *
 * The instructions do one round with any round key, so they serve every
 * schedule we use (the 160-bit V4 key's 11 rounds, the patched V6
 * schedule) from the round keys rijndael.c computes. */
#ifndef KMSD_CRYPTO_RIJNDAEL_NI_H
#define KMSD_CRYPTO_RIJNDAEL_NI_H

#include "crypto/crypto.h"

/* True when this CPU has the AES instructions and this build can use them. */
bool aesni_available(void);

/* One block with the byte-order round keys of k (enc_bytes or dec_bytes). */
void aesni_encrypt_block(const aes_key *k, const uint8_t in[AES_BLOCK], uint8_t out[AES_BLOCK]);
void aesni_decrypt_block(const aes_key *k, const uint8_t in[AES_BLOCK], uint8_t out[AES_BLOCK]);

#endif
