#include "web/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b)
{
	memset(b, 0, sizeof *b);
}

void buf_free(buf *b)
{
	free(b->data);
	buf_init(b);
}

char *buf_take(buf *b, size_t *len)
{
	buf_add(b, "", 0); /* makes sure data exists and is terminated */
	char *d = b->failed ? NULL : b->data;
	if (len)
		*len = b->len;
	if (!d)
		free(b->data);
	buf_init(b);
	return d;
}

bool buf_failed(const buf *b)
{
	return b->failed;
}

static bool reserve(buf *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	char *d = realloc(b->data, cap);
	if (!d)
		goto fail;
	b->data = d;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

void buf_add(buf *b, const char *text, size_t len)
{
	if (!reserve(b, len))
		return;
	memcpy(b->data + b->len, text, len);
	b->len += len;
	b->data[b->len] = 0;
}

void buf_puts(buf *b, const char *text)
{
	buf_add(b, text, strlen(text));
}

void buf_printf(buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof small) {
		buf_add(b, small, (size_t)n);
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void buf_html(buf *b, const char *text)
{
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;"); break;
		default: buf_add(b, p, 1);
		}
	}
}

/* Length of the valid UTF-8 sequence at p, 0 if it is not one. */
static size_t utf8_length(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (n == 0 || (n == 2 && p[0] < 0xC2) || (n == 4 && p[0] > 0xF4))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	/* overlong three-byte forms and UTF-16 surrogates */
	if (n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
		return 0;
	if (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
		return 0;
	return n;
}

void buf_json_string(buf *b, const char *text)
{
	buf_puts(b, "\"");
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		if (*p == '"' || *p == '\\') {
			buf_printf(b, "\\%c", *p);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			buf_printf(b, "\\u%04x", *p);
			p++;
		} else if (*p == '<') {
			/* so a JSON body can never close a <script> it is put in */
			buf_puts(b, "\\u003c");
			p++;
		} else {
			size_t n = utf8_length(p);
			if (n == 0) {
				buf_puts(b, "\\ufffd");
				p++;
			} else {
				buf_add(b, (const char *)p, n);
				p += n;
			}
		}
	}
	buf_puts(b, "\"");
}

void buf_label(buf *b, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_puts(b, "\\n");
		else
			buf_add(b, p, 1);
	}
}

void buf_url(buf *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			buf_add(b, (const char *)p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			buf_add(b, e, 3);
		}
	}
}
