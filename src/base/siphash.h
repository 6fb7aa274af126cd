/* SipHash-2-4 (Aumasson and Bernstein): a keyed hash for tables whose keys
 * come from the network, so nobody without the key can make them collide. */
#ifndef KMSD_BASE_SIPHASH_H
#define KMSD_BASE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len);

#endif
