#include "web/params.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kms/match.h"
#include "kms/products.h"

/* "VALUE" REASON, quoting at most a short prefix of what was sent; or
 * just REASON when value is NULL. */
static bool fail(web_param_error *err, const char *name, const char *value, const char *reason)
{
	snprintf(err->parameter, sizeof err->parameter, "%.31s", name);
	if (value)
		snprintf(err->message, sizeof err->message, "\"%.40s%s\" %s", value,
			 strlen(value) > 40 ? "..." : "", reason);
	else
		snprintf(err->message, sizeof err->message, "%s", reason);
	return false;
}

void web_clients_params_init(web_clients_params *p)
{
	memset(p, 0, sizeof p[0]);
	p->sort = "last_seen";
	p->limit = WEB_PAGE_DEFAULT;
}

static bool parse_count(const char *v, unsigned long long max, unsigned long long *out)
{
	if (!*v || strlen(v) > 12)
		return false;
	for (const char *c = v; *c; c++)
		if (!isdigit((unsigned char)*c))
			return false;
	*out = strtoull(v, NULL, 10);
	return *out <= max;
}

bool web_parse_since(const char *v, int64_t now, int64_t *out)
{
	unsigned long long n;
	if (parse_count(v, 4102444800ull, &n)) {  /* up to 2100-01-01 */
		*out = (int64_t)n;
		return true;
	}
	size_t len = strlen(v);
	if (len >= 2 && len <= 6) {
		char unit = v[len - 1];
		char digits[8];
		memcpy(digits, v, len - 1);
		digits[len - 1] = 0;
		int64_t scale = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
		if (scale && parse_count(digits, 3660, &n)) {
			*out = now - (int64_t)n * scale;
			return true;
		}
	}
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = NULL;
	if (len == 10)
		end = strptime(v, "%Y-%m-%d", &tm);
	else if (len == 20 && v[19] == 'Z')
		end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end || tm.tm_year < 70 || tm.tm_year > 199)
		return false;
	*out = (int64_t)timegm(&tm);
	return true;
}

bool web_parse_minutes(const char *v, int *out)
{
	unsigned long long n;
	if (!parse_count(v, 1440, &n) || n == 0)
		return false;
	*out = (int)n;
	return true;
}

/* product=: a KMS id, a pool name, or words naming one product group
 * (kms/match.h, the rule kmsd.conf's serve uses too). */
static bool parse_product(web_clients_params *p, const char *v, web_param_error *err)
{
	if (kms_pool_id(v, &p->app_id)) {
		p->has_app = true;
		return true;
	}
	kms_guid id;
	if (guid_parse(v, &id)) {
		p->kms_id = id;
		p->has_kms_id = true;
		return true;
	}
	size_t matched;
	const kms_group *found = kms_group_select(&kms_product_table, v, &matched);
	if (!found && matched)
		return fail(err, "product", v, "matches more than one product group equally well");
	if (!found)
		return fail(err, "product", v, "is not windows, office2010, office2013, a KMS id or "
			    "the words of a product group or product");
	p->kms_id = found->id;
	p->has_kms_id = true;
	return true;
}

bool web_clients_param(web_clients_params *p, const char *name, const char *v, int64_t now,
		       web_param_error *err)
{
	unsigned long long n;
	if (strcmp(name, "product") == 0) {
		if (!*v)
			return true;
		return parse_product(p, v, err);
	}
	if (strcmp(name, "since") == 0) {
		if (!*v)
			return true;
		if (!web_parse_since(v, now, &p->since))
			return fail(err, name, v, "is not Unix seconds, YYYY-MM-DD, "
				    "YYYY-MM-DDTHH:MM:SSZ or a duration like 7d, 24h, 90m");
		return true;
	}
	if (strcmp(name, "search") == 0 || strcmp(name, "q") == 0) {
		if (strlen(v) > WEB_SEARCH_MAX)
			return fail(err, name, NULL, "search text longer than 64 characters");
		snprintf(p->search, sizeof p->search, "%s", v);
		return true;
	}
	if (strcmp(name, "sort") == 0) {
		static const char *const orders[] = { "last_seen", "workstation", "requests" };
		for (size_t i = 0; i < 3; i++) {
			if (strcmp(v, orders[i]) == 0) {
				p->sort = orders[i];
				return true;
			}
		}
		return fail(err, name, v, "is not last_seen, workstation or requests");
	}
	if (strcmp(name, "limit") == 0) {
		if (!parse_count(v, WEB_PAGE_MAX, &n) || n == 0)
			return fail(err, name, v, "is not a number from 1 to 1000");
		p->limit = (size_t)n;
		return true;
	}
	if (strcmp(name, "offset") == 0) {
		if (!parse_count(v, WEB_OFFSET_MAX, &n))
			return fail(err, name, v, "is not a number from 0 to 100000 (page further "
				    "with cursor=)");
		p->offset = (size_t)n;
		return true;
	}
	if (strcmp(name, "page") == 0) {
		if (!parse_count(v, WEB_OFFSET_MAX, &n) || n == 0)
			return fail(err, name, v, "is not a page number from 1 to 100000");
		p->page = (size_t)n;
		return true;
	}
	if (strcmp(name, "result") == 0) {
		static const char *const kinds[] = { "activated", "below_threshold", "refused" };
		for (int i = 0; i < 3; i++) {
			if (strcmp(v, kinds[i]) == 0) {
				p->result = kinds[i];
				return true;
			}
		}
		if (!*v)
			return true;
		return fail(err, name, v, "is not activated, below_threshold or refused");
	}
	if (strcmp(name, "cursor") == 0) {
		if (!web_cursor_parse(v, &p->cursor, &p->cursor_sort))
			return fail(err, name, v, "is not a cursor (next_cursor of a previous answer)");
		p->has_cursor = true;
		return true;
	}
	return fail(err, name, name, "is not a parameter here (expected product, since, search, "
		    "result, sort, limit, offset, page or cursor)");
}

void web_clients_params_finish(web_clients_params *p)
{
	if (p->page)
		p->offset = (p->page - 1) * p->limit;
}

static const char *const cursor_sorts[] = { "last_seen", "workstation", "requests" };

void web_cursor_format(const char *sort, const store_cursor *c, char *out, size_t len)
{
	int s = 0;
	while (s < 2 && strcmp(sort, cursor_sorts[s]) != 0)
		s++;
	int at = snprintf(out, len, "%c.%lld.%llu.", "lwr"[s], (long long)c->last_seen,
			  (unsigned long long)c->requests);
	for (int i = 0; i < 16 && at + 3 < (int)len; i++)
		at += snprintf(out + at, len - (size_t)at, "%02x", c->cmid.b[i]);
	for (int i = 0; i < 16 && at + 3 < (int)len; i++)
		at += snprintf(out + at, len - (size_t)at, "%02x", c->app_id.b[i]);
	if (at + 2 < (int)len)
		out[at++] = '.';
	for (const unsigned char *w = (const unsigned char *)c->workstation; *w && at + 3 < (int)len;
	     w++)
		at += snprintf(out + at, len - (size_t)at, "%02x", *w);
	out[at < (int)len ? at : (int)len - 1] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* n bytes from 2n hex digits; false on anything else */
static bool hex_bytes(const char *h, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int a = hex_digit(h[2 * i]), b = a < 0 ? -1 : hex_digit(h[2 * i + 1]);
		if (b < 0)
			return false;
		out[i] = (uint8_t)(a << 4 | b);
	}
	return true;
}

static bool decimal(const char **p, unsigned long long max, unsigned long long *out)
{
	const char *s = *p;
	unsigned long long v = 0;
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s)) {
		if (v > (max - (unsigned long long)(*s - '0')) / 10)
			return false;
		v = v * 10 + (unsigned long long)(*s++ - '0');
	}
	*p = s;
	*out = v;
	return true;
}

bool web_cursor_parse(const char *text, store_cursor *c, const char **sort)
{
	memset(c, 0, sizeof *c);
	const char *kinds = "lwr", *k = text[0] ? strchr(kinds, text[0]) : NULL;
	if (!k || text[1] != '.' || strlen(text) >= WEB_CURSOR_MAX)
		return false;
	*sort = cursor_sorts[k - kinds];
	const char *p = text + 2;
	unsigned long long seen, requests;
	if (!decimal(&p, (unsigned long long)INT64_MAX, &seen) || *p++ != '.' ||
	    !decimal(&p, UINT64_MAX, &requests) || *p++ != '.')
		return false;
	c->last_seen = (int64_t)seen;
	c->requests = requests;
	if (strlen(p) < 65 || !hex_bytes(p, 16, c->cmid.b) || !hex_bytes(p + 32, 16, c->app_id.b) ||
	    p[64] != '.')
		return false;
	p += 65;
	size_t n = strlen(p);
	if (n % 2 || n / 2 >= sizeof c->workstation)
		return false;
	return hex_bytes(p, n / 2, (uint8_t *)c->workstation);
}
