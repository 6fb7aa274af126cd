/* Protocol keys (docs/protocol.md §4) and the V6 HMAC key derivation. */
#include "kms/keys.h"

#include <pthread.h>
#include <stddef.h>

#include "base/bytes.h"

static const uint8_t v4_key[20] = {
	0x05, 0x3D, 0x83, 0x07, 0xF9, 0xE5, 0xF0, 0x88, 0xEB, 0x5E,
	0xA6, 0x68, 0x6C, 0xF0, 0x37, 0xC7, 0xE4, 0xEF, 0xD2, 0xD6,
};
static const uint8_t v5_key[16] = {
	0xCD, 0x7E, 0x79, 0x6F, 0x2A, 0xB2, 0x5D, 0xCB,
	0x55, 0xFF, 0xC8, 0xEF, 0x83, 0x64, 0xC4, 0x70,
};
static const uint8_t v6_key[16] = {
	0xA9, 0x4A, 0x41, 0x95, 0xE2, 0x01, 0x43, 0x2D,
	0x9B, 0xCB, 0x46, 0x04, 0x05, 0xD8, 0x4A, 0x21,
};

/* Written once under pthread_once, read-only afterwards. */
static aes_key expanded[3];
static pthread_once_t expanded_once = PTHREAD_ONCE_INIT;

static void expand_keys(void)
{
	aes_key_init(&expanded[0], v4_key, sizeof v4_key);
	aes_key_init(&expanded[1], v5_key, sizeof v5_key);
	aes_key_init_kms_v6(&expanded[2], v6_key);
}

const aes_key *kms_version_key(uint16_t major)
{
	if (major < 4 || major > 6)
		return NULL;
	pthread_once(&expanded_once, expand_keys);
	return &expanded[major - 4];
}

/* The time slot changes every 0x22816889BD * 100 ns (about 4.1 hours); a
 * client accepts the slot before and after its own to tolerate skew. */
#define SLOT_LENGTH 0x00000022816889BDull
#define SLOT_FACTOR 0x000000208CBAB5EDull
#define SLOT_OFFSET 0x3156CD5AC628477Aull

bool kms_v6_hmac_key(uint64_t client_time, int tolerance, uint8_t key[16])
{
	uint64_t slot = client_time / SLOT_LENGTH * SLOT_FACTOR + SLOT_OFFSET +
			(uint64_t)(int64_t)tolerance * SLOT_LENGTH;
	uint8_t slot_le[8], digest[32];
	le64_put(slot_le, slot);
	if (!sha256(slot_le, sizeof slot_le, digest))
		return false;
	for (int i = 0; i < 16; i++)
		key[i] = digest[16 + i];
	return true;
}
