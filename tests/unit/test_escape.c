/* The one escaping rule for client-supplied text in logs and tables. */
#include <string.h>

#include "base/escape.h"
#include "check.h"

static const char *esc(const char *in)
{
	static char out[TEXT_ESCAPED_MAX(256)];
	text_escape(out, sizeof out, in);
	return out;
}

TEST(escape_controls_quotes_and_backslashes)
{
	CHECK_STR(esc("PC-0042.corp.example"), "PC-0042.corp.example");
	CHECK_STR(esc("a\nb\rc\td"), "a\\nb\\rc\\td");
	CHECK_STR(esc("\x1b[31mred"), "\\x1B[31mred");
	CHECK_STR(esc("say \"hi\" \\o/"), "say \\\"hi\\\" \\\\o/");
	CHECK_STR(esc("\x01\x7f"), "\\x01\\x7F");
}

TEST(escape_keeps_valid_utf8_and_marks_invalid_bytes)
{
	CHECK_STR(esc("B\xc3\xbcro-\xe6\x9d\xb1\xe4\xba\xac-\xf0\x9f\x96\xa5"),
		  "B\xc3\xbcro-\xe6\x9d\xb1\xe4\xba\xac-\xf0\x9f\x96\xa5");
	CHECK_STR(esc("\xff\xfe"), "\\xFF\\xFE");
	CHECK_STR(esc("\xc3("), "\\xC3(");                 /* truncated sequence */
	CHECK_STR(esc("\xc0\xaf"), "\\xC0\\xAF");          /* overlong */
	CHECK_STR(esc("\xed\xa0\x80"), "\\xED\\xA0\\x80"); /* a UTF-16 surrogate */
	CHECK_STR(esc("\xc2\x9b"), "\\xC2\\x9B");          /* C1 CSI, a terminal escape */
}

TEST(escape_cuts_at_a_whole_escape)
{
	char out[5];
	CHECK_EQ(text_escape(out, sizeof out, "ab\ncd"), 4);
	CHECK_STR(out, "ab\\n");
	CHECK_EQ(text_escape(out, 4, "\x1b"), 0);
	CHECK_STR(out, "");
}
