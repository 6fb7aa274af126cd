/* Names for errors and checks, and text/time conversions. */
#include "kms/kms.h"

#include <string.h>

const char *kms_strerror(kms_err e)
{
	switch (e) {
	case KMS_OK: return "ok";
	case KMS_ERR_SHORT: return "message shorter than its version field";
	case KMS_ERR_VERSION: return "unsupported protocol version";
	case KMS_ERR_SIZE: return "message size wrong for its version";
	case KMS_ERR_MAC: return "V4 MAC does not match";
	case KMS_ERR_PADDING: return "bad padding after decryption";
	case KMS_ERR_EPID: return "ePID empty, too long or not NUL-terminated";
	case KMS_ERR_NO_SPACE: return "output buffer too small";
	case KMS_ERR_VERIFY: return "response failed verification";
	case KMS_ERR_CRYPTO: return "cryptographic library failure";
	}
	return "unknown error";
}

const char *kms_check_name(enum kms_check c)
{
	static const char *const names[KMS_CHECK_COUNT_] = {
		[KMS_CHECK_SIZE] = "size",
		[KMS_CHECK_VERSION] = "version",
		[KMS_CHECK_EPID] = "epid",
		[KMS_CHECK_CMID] = "cmid",
		[KMS_CHECK_TIME] = "time",
		[KMS_CHECK_MAC] = "mac",
		[KMS_CHECK_PADDING] = "padding",
		[KMS_CHECK_IV] = "iv",
		[KMS_CHECK_HASH] = "hash",
		[KMS_CHECK_XORED_IVS] = "xored-ivs",
		[KMS_CHECK_HMAC] = "hmac",
	};
	return (unsigned)c < KMS_CHECK_COUNT_ ? names[c] : "?";
}

/* 100 ns intervals between 1601-01-01 and 1970-01-01 */
#define FILETIME_UNIX_EPOCH 116444736000000000ull

uint64_t kms_filetime_from_unix(int64_t seconds)
{
	return (uint64_t)seconds * 10000000ull + FILETIME_UNIX_EPOCH;
}

int64_t kms_unix_from_filetime(uint64_t filetime)
{
	return ((int64_t)filetime - (int64_t)FILETIME_UNIX_EPOCH) / 10000000;
}

size_t kms_utf16_to_utf8(const uint16_t *units, size_t n_units, char *out, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < n_units && units[i]; i++) {
		uint32_t c = units[i];
		if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n_units && units[i + 1] >= 0xDC00 &&
		    units[i + 1] <= 0xDFFF) {
			c = 0x10000 + ((c - 0xD800) << 10) + (units[i + 1] - 0xDC00);
			i++;
		} else if (c >= 0xD800 && c <= 0xDFFF) {
			c = '?';
		}
		char buf[4];
		size_t k;
		if (c < 0x80) {
			buf[0] = (char)c;
			k = 1;
		} else if (c < 0x800) {
			buf[0] = (char)(0xC0 | c >> 6);
			buf[1] = (char)(0x80 | (c & 0x3F));
			k = 2;
		} else if (c < 0x10000) {
			buf[0] = (char)(0xE0 | c >> 12);
			buf[1] = (char)(0x80 | ((c >> 6) & 0x3F));
			buf[2] = (char)(0x80 | (c & 0x3F));
			k = 3;
		} else {
			buf[0] = (char)(0xF0 | c >> 18);
			buf[1] = (char)(0x80 | ((c >> 12) & 0x3F));
			buf[2] = (char)(0x80 | ((c >> 6) & 0x3F));
			buf[3] = (char)(0x80 | (c & 0x3F));
			k = 4;
		}
		if (n + k >= cap)
			break;
		memcpy(out + n, buf, k);
		n += k;
	}
	out[n] = 0;
	return n;
}

size_t kms_utf8_copy(char *out, size_t cap, const char *utf8)
{
	if (cap == 0)
		return 0;
	size_t n = strlen(utf8);
	if (n >= cap) {
		n = cap - 1;
		/* back to the start of the character that did not fit */
		while (n && ((unsigned char)utf8[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, utf8, n);
	out[n] = 0;
	return n;
}

void kms_utf8_to_utf16(const char *s, uint16_t *units, size_t n_units)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	memset(units, 0, n_units * sizeof *units);
	while (*p && n + 1 < n_units) {
		uint32_t c = *p++;
		int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
		if (more)
			c &= 0x3F >> more;
		else if (c >= 0x80)
			c = '?';
		for (; more > 0 && (*p & 0xC0) == 0x80; more--)
			c = (c << 6) | (*p++ & 0x3F);
		if (more)
			c = '?';
		if (c >= 0x10000) {
			if (n + 2 >= n_units)
				break;
			c -= 0x10000;
			units[n++] = (uint16_t)(0xD800 + (c >> 10));
			units[n++] = (uint16_t)(0xDC00 + (c & 0x3FF));
		} else {
			units[n++] = (uint16_t)c;
		}
	}
}
