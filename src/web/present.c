/* How the pages show values to a person: times in the host's zone beside
 * UTC, addresses without the client's ephemeral port, and answers in words
 * and symbols (never colour alone, WCAG 1.4.1). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kms/kms.h"
#include "kms/products.h"
#include "web/web_private.h"

void web_format_local(int64_t t, char out[48])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!localtime_r(&tt, &tm) || !strftime(out, 48, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(out, 48, "%lld", (long long)t);
}

void web_zone(int64_t now, char out[64])
{
	struct tm tm;
	time_t tt = (time_t)now;
	char z[16] = "", off[8] = "";
	if (localtime_r(&tt, &tm)) {
		strftime(z, sizeof z, "%Z", &tm);
		strftime(off, sizeof off, "%z", &tm);
	}
	/* +0100 -> UTC+01:00 */
	if (strlen(off) == 5)
		snprintf(out, 64, "%s, UTC%c%.2s:%.2s", z, off[0], off + 1, off + 3);
	else
		snprintf(out, 64, "%s", z[0] ? z : "UTC");
}

void web_time_cell(buf *b, int64_t t)
{
	char local[48], utc[32];
	web_format_local(t, local);
	web_format_time(t, utc);
	struct tm tm;
	time_t tt = (time_t)t;
	/* a host on UTC would say the same twice */
	bool on_utc = localtime_r(&tt, &tm) && tm.tm_gmtoff == 0 &&
		      (strcmp(tm.tm_zone, "UTC") == 0 || strcmp(tm.tm_zone, "GMT") == 0);
	buf_printf(b, "<time datetime=\"%s\">%s</time>", utc, local);
	if (!on_utc)
		buf_printf(b, "<br><span class=\"muted small\">%s</span>", utc);
}

void web_address_host(const char *address, char out[64])
{
	const char *colon = strrchr(address, ':');
	if (address[0] == '[') {
		const char *end = strchr(address, ']');
		size_t n = end ? (size_t)(end - address - 1) : strlen(address);
		snprintf(out, 64, "%.*s", (int)n, address + 1);
	} else if (colon && colon == strchr(address, ':')) {
		snprintf(out, 64, "%.*s", (int)(colon - address), address);
	} else {
		snprintf(out, 64, "%s", address); /* a bare IPv6 address or no port */
	}
}

void web_answer_text(buf *b, uint32_t hresult, uint32_t count, unsigned n_policy)
{
	if (hresult) {
		buf_printf(b, "<span class=\"bad\">&#x2717; refused 0x%08X</span> %s", hresult,
			   web_hresult_meaning(hresult));
	} else if (n_policy && count < n_policy) {
		buf_printf(b, "<span class=\"warn\">&#x25D4; below threshold</span> "
			   "<span class=\"small\">count %u &lt; N %u</span>", count, n_policy);
	} else {
		buf_puts(b, "<span class=\"ok\">&#x2713; activated</span>");
		if (n_policy)
			buf_printf(b, " <span class=\"small\">count %u &ge; N %u</span>", count,
				   n_policy);
	}
}

const char *web_hresult_meaning(uint32_t code)
{
	switch (code) {
	case KMS_HR_NOT_LICENSED: return "product not served by this host";
	case KMS_HR_TIME_OUT_OF_RANGE: return "client clock too far from the host's";
	case KMS_HR_INVALID_DATA: return "malformed request";
	default: return "refused";
	}
}

unsigned web_n_policy(const kms_guid *kms_id)
{
	const kms_group *g = kms_group_find(&kms_product_table, kms_id);
	return g ? g->n_policy : 0;
}
