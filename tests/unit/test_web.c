/* The web layer's pure parts: query parameters and output escaping. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "web/buf.h"
#include "web/params.h"

#define NOW 1795000000 /* 2026-11-18 */

static bool apply(web_clients_params *p, const char *name, const char *value,
		  web_param_error *err)
{
	return web_clients_param(p, name, value, NOW, err);
}

TEST(web_params_defaults_and_values)
{
	web_clients_params p;
	web_param_error err;
	web_clients_params_init(&p);
	CHECK_EQ(p.limit, 50);
	CHECK_STR(p.sort, "last_seen");
	CHECK(apply(&p, "limit", "1000", &err));
	CHECK(apply(&p, "sort", "requests", &err));
	CHECK(apply(&p, "page", "3", &err));
	CHECK(apply(&p, "search", "pc-01", &err));
	CHECK(apply(&p, "product", "office2013", &err));
	web_clients_params_finish(&p);
	CHECK_EQ(p.offset, 2000);
	CHECK_STR(p.sort, "requests");
	CHECK_STR(p.search, "pc-01");
	CHECK(p.has_app && !p.has_kms_id);
	/* a fragment of exactly one group, a GUID, and an exact group name */
	web_clients_params_init(&p);
	CHECK(apply(&p, "product", "2015 (volume)", &err));
	CHECK(p.has_kms_id);
	CHECK(apply(&p, "product", "58e2134f-8e11-4d17-9cb2-91069c151148", &err));
	CHECK(apply(&p, "product", "Windows Server 2025", &err)); /* also a prefix of others */
}

TEST(web_params_errors_name_the_parameter)
{
	static const struct {
		const char *name, *value;
	} bad[] = {
		{ "limit", "0" }, { "limit", "1001" }, { "limit", "" }, { "limit", "1e3" },
		{ "limit", "-5" }, { "offset", "x" }, { "offset", "99999999999999" },
		{ "page", "0" }, { "sort", "cmid" }, { "sort", "" }, { "since", "soon" },
		{ "since", "2026-13-01" }, { "since", "2026-01-01T00:00:00" }, { "since", "99999d" },
		{ "product", "Server 2008" }, { "product", "no such product" },
		{ "search", "01234567890123456789012345678901234567890123456789012345678901234" },
		{ "unknown", "1" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		web_clients_params p;
		web_param_error err;
		web_clients_params_init(&p);
		memset(&err, 0, sizeof err);
		CHECK(!apply(&p, bad[i].name, bad[i].value, &err));
		CHECK_STR(err.parameter, bad[i].name);
		CHECK(err.message[0] != 0);
	}
}

TEST(web_since_forms)
{
	int64_t t;
	CHECK(web_parse_since("1700000000", NOW, &t));
	CHECK_EQ(t, 1700000000);
	CHECK(web_parse_since("7d", NOW, &t));
	CHECK_EQ(t, NOW - 7 * 86400);
	CHECK(web_parse_since("90m", NOW, &t));
	CHECK_EQ(t, NOW - 90 * 60);
	CHECK(web_parse_since("2026-11-01", NOW, &t));
	CHECK_EQ(t, 1793491200);
	CHECK(web_parse_since("2026-11-01T12:00:00Z", NOW, &t));
	CHECK_EQ(t, 1793491200 + 12 * 3600);
	int m;
	CHECK(web_parse_minutes("1440", &m) && m == 1440);
	CHECK(!web_parse_minutes("0", &m) && !web_parse_minutes("1441", &m) &&
	      !web_parse_minutes("", &m));
}

TEST(web_escaping)
{
	buf b;
	buf_init(&b);
	buf_html(&b, "<a href=\"x\">'&'</a>");
	CHECK_STR(b.data, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	buf_free(&b);
	buf_json_string(&b, "a\"b\\c\n\x01</script>\xff\xc3\xa9");
	CHECK_STR(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\\u003c/script>\\ufffd\xc3\xa9\"");
	buf_free(&b);
	buf_label(&b, "a\"b\\c\nd");
	CHECK_STR(b.data, "a\\\"b\\\\c\\nd");
	buf_free(&b);
	buf_url(&b, "a b&c=d/é");
	CHECK_STR(b.data, "a%20b%26c%3Dd%2F%C3%A9");
	size_t len;
	char *text = buf_take(&b, &len);
	CHECK(text != NULL && len == strlen(text));
	free(text);
	/* a long printf grows the buffer */
	buf_printf(&b, "%0500d", 7);
	CHECK_EQ(b.len, 500);
	buf_free(&b);
}
