#include "base/guid.h"

#include <stdio.h>
#include <string.h>

/* Text position of each wire byte: Data1..Data3 are reversed on the wire. */
static const uint8_t text_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool guid_parse(const char *text, kms_guid *out)
{
	size_t len = strlen(text);
	if (len == 38 && text[0] == '{' && text[37] == '}') {
		text++;
		len -= 2;
	}
	if (len != 36)
		return false;

	uint8_t plain[16];
	size_t n = 0;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return false;
			continue;
		}
		int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		plain[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	for (size_t i = 0; i < 16; i++)
		out->b[i] = plain[text_order[i]];
	return true;
}

void guid_format(const kms_guid *g, char *buf)
{
	uint8_t p[16];
	for (size_t i = 0; i < 16; i++)
		p[text_order[i]] = g->b[i];
	snprintf(buf, GUID_TEXT_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10],
		 p[11], p[12], p[13], p[14], p[15]);
}

int guid_cmp(const kms_guid *a, const kms_guid *b)
{
	return memcmp(a->b, b->b, sizeof a->b);
}

bool guid_is_zero(const kms_guid *g)
{
	static const kms_guid zero;
	return guid_cmp(g, &zero) == 0;
}
