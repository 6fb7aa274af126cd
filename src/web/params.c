#include "web/params.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kms/match.h"
#include "kms/products.h"

const web_pool web_pools[3] = {
	{ "windows", "Windows", "55c92734-d682-4d71-983e-d6ec3f16059f" },
	{ "office2010", "Office 2010", "59a52881-a989-479d-af46-f275c6370663" },
	{ "office2013", "Office 2013+", "0ff1ce15-a989-479d-af46-f275c6370663" },
};

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
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(v, web_pools[i].key) == 0) {
			p->has_app = guid_parse(web_pools[i].app_id, &p->app_id);
			return true;
		}
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
		if (!parse_count(v, 1000000000ull, &n))
			return fail(err, name, v, "is not a number from 0 to 1000000000");
		p->offset = (size_t)n;
		return true;
	}
	if (strcmp(name, "page") == 0) {
		if (!parse_count(v, 1000000ull, &n) || n == 0)
			return fail(err, name, v, "is not a page number from 1 to 1000000");
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
	return fail(err, name, name, "is not a parameter here (expected product, since, search, "
		    "result, sort, limit, offset or page)");
}

void web_clients_params_finish(web_clients_params *p)
{
	if (p->page)
		p->offset = (p->page - 1) * p->limit;
}
