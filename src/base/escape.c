#include "base/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), 0 if it is not one. */
static size_t utf8_sequence(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : (p[0] & 0xf0) == 0xe0 ? 3
		 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
	if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	/* the C1 controls U+0080..U+009F are terminal controls too */
	if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
		return 0;
	return n;
}

size_t text_escape(char *out, size_t cap, const char *in)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;
	if (!cap)
		return 0;
	while (*p) {
		char piece[5];
		size_t len, used;
		size_t seq = utf8_sequence(p);
		if (*p == '\\' || *p == '"') {
			piece[0] = '\\', piece[1] = (char)*p, len = 2, used = 1;
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			piece[0] = '\\', piece[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
			len = 2, used = 1;
		} else if (seq == 1 && *p >= 0x20 && *p != 0x7f) {
			piece[0] = (char)*p, len = 1, used = 1;
		} else if (seq > 1) {
			memcpy(piece, p, seq), len = seq, used = seq;
		} else {
			piece[0] = '\\', piece[1] = 'x', piece[2] = hex[*p >> 4], piece[3] = hex[*p & 15];
			len = 4, used = 1;
		}
		if (o + len >= cap)
			break;
		memcpy(out + o, piece, len);
		o += len;
		p += used;
	}
	out[o] = '\0';
	return o;
}
