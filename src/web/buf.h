/* A growing text buffer for HTTP bodies, with the escaping each output
 * format needs. Every write after an allocation failure is ignored and
 * buf_failed() says so, so callers check once at the end. */
#ifndef KMSD_WEB_BUF_H
#define KMSD_WEB_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct buf {
	char *data;
	size_t len, cap;
	bool failed;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
/* Hand the text (NUL-terminated) to the caller; the buffer is empty after. */
char *buf_take(buf *b, size_t *len);
bool buf_failed(const buf *b);

void buf_add(buf *b, const char *text, size_t len);
void buf_puts(buf *b, const char *text);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Text escaped for HTML element content and attribute values. */
void buf_html(buf *b, const char *text);
/* A JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD. */
void buf_json_string(buf *b, const char *text);
/* A Prometheus label value (backslash, quote and newline escaped). */
void buf_label(buf *b, const char *text);
/* A URL query component, percent-encoded. */
void buf_url(buf *b, const char *text);

#endif
