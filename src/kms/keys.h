/* The per-version cipher keys (private to the kms layer). */
#ifndef KMSD_KMS_KEYS_H
#define KMSD_KMS_KEYS_H

#include <stdint.h>

#include "crypto/crypto.h"

/* The expanded key for a protocol major version (4, 5 or 6), or NULL.
 * Expanded once, on first use, then shared read-only by all threads. */
const aes_key *kms_version_key(uint16_t major);

/* The V6 HMAC key for a client time, shifted by `tolerance` time slots. */
bool kms_v6_hmac_key(uint64_t client_time, int tolerance, uint8_t key[16]);

#endif
