/* GUIDs in the Microsoft wire layout.
 *
 * A kms_guid holds the 16 bytes exactly as they travel: Data1 (u32), Data2
 * and Data3 (u16) little-endian, then Data4's 8 bytes as written. Keeping
 * the wire form means codecs copy bytes and comparisons are memcmp; only
 * text conversion knows about the mixed endianness. */
#ifndef KMSD_BASE_GUID_H
#define KMSD_BASE_GUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kms_guid {
	uint8_t b[16];
} kms_guid;

/* Text form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" plus NUL. */
#define GUID_TEXT_LEN 37

/* Parse the text form, with or without surrounding braces, any case.
 * Returns false (and leaves *out unspecified) on anything else. */
bool guid_parse(const char *text, kms_guid *out);

/* Write the lower-case text form into buf (at least GUID_TEXT_LEN bytes). */
void guid_format(const kms_guid *g, char *buf);

int guid_cmp(const kms_guid *a, const kms_guid *b);
bool guid_is_zero(const kms_guid *g);

#endif
