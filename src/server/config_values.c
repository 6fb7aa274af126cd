#include "server/config_values.h"

#include "kms/match.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kms/pools.h"
#include "kms/products.h"

bool value_bool(const char *v, bool *out, char *why)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	snprintf(why, WHY_LEN, "\"%s\" is not yes or no", v);
	return false;
}

bool value_integer(const char *v, long long min, long long max, long long *out, char *why)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || errno) {
		snprintf(why, WHY_LEN, "\"%s\" is not a whole number", v);
		return false;
	}
	if (n < min || n > max) {
		snprintf(why, WHY_LEN, "%lld is out of range (%lld to %lld)", n, min, max);
		return false;
	}
	*out = n;
	return true;
}

bool value_duration(const char *v, int64_t bare_unit, int64_t min, int64_t max, int64_t *out,
		    char *why)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	int64_t unit = bare_unit;
	if (end != v && *end && !end[1]) {
		switch (*end) {
		case 's': unit = 1; end++; break;
		case 'm': unit = 60; end++; break;
		case 'h': unit = 3600; end++; break;
		case 'd': unit = 86400; end++; break;
		default: break;
		}
	}
	if (end == v || *end || errno || n < 0 || n > INT64_MAX / 86400) {
		snprintf(why, WHY_LEN, "\"%s\" is not a duration (use e.g. 30s, 5m, 2h, 7d)", v);
		return false;
	}
	int64_t seconds = n * unit;
	if (seconds < min || seconds > max) {
		snprintf(why, WHY_LEN, "\"%s\" is out of range (%llds to %llds)", v, (long long)min,
			 (long long)max);
		return false;
	}
	*out = seconds;
	return true;
}

typedef struct address_list {
	config_listen *items;
	size_t *n, max;
	const char *what;
} address_list;

static bool add_listen(address_list *list, int family, const char *host, unsigned port, char *why)
{
	if (*list->n == list->max) {
		snprintf(why, WHY_LEN, "too many %s addresses (at most %zu)", list->what, list->max);
		return false;
	}
	config_listen *l = &list->items[*list->n];
	memset(l, 0, sizeof *l);
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&l->addr;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		l->addr_len = sizeof *a;
		snprintf(l->text, sizeof l->text, "%s:%u", host, port);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&l->addr;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		l->addr_len = sizeof *a;
		snprintf(l->text, sizeof l->text, "[%s]:%u", host, port);
	}
	(*list->n)++;
	return true;
bad:
	snprintf(why, WHY_LEN, "\"%s\" is not a numeric IP%s address", host,
		 family == AF_INET ? "v4" : "v6");
	return false;
}

bool value_address(const char *v, unsigned default_port, config_listen *items, size_t *count,
		   size_t max, const char *what, char *why)
{
	address_list list = { items, count, max, what };
	char host[64];
	unsigned long port = default_port;
	const char *port_text = NULL;
	int family = AF_INET;

	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (!close || (size_t)(close - v - 1) >= sizeof host) {
			snprintf(why, WHY_LEN, "\"%s\": unterminated [IPv6 address]", v);
			return false;
		}
		memcpy(host, v + 1, (size_t)(close - v - 1));
		host[close - v - 1] = 0;
		family = AF_INET6;
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1]) {
			snprintf(why, WHY_LEN, "\"%s\": expected :PORT after ]", v);
			return false;
		}
	} else {
		const char *colon = strchr(v, ':');
		if (colon && strchr(colon + 1, ':')) {
			snprintf(why, WHY_LEN, "\"%s\": write IPv6 addresses in brackets, [::]:1688", v);
			return false;
		}
		size_t n = colon ? (size_t)(colon - v) : strlen(v);
		if (n >= sizeof host || n == 0) {
			snprintf(why, WHY_LEN, "\"%s\" is not an address", v);
			return false;
		}
		memcpy(host, v, n);
		host[n] = 0;
		port_text = colon ? colon + 1 : NULL;
	}
	if (port_text) {
		char *end;
		port = strtoul(port_text, &end, 10);
		if (!*port_text || *end || port == 0 || port > 65535) {
			snprintf(why, WHY_LEN, "\"%s\": port must be 1 to 65535", v);
			return false;
		}
	}
	if (strcmp(host, "*") == 0)
		return add_listen(&list, AF_INET, "0.0.0.0", (unsigned)port, why) &&
		       add_listen(&list, AF_INET6, "::", (unsigned)port, why);
	return add_listen(&list, family, host, (unsigned)port, why);
}

bool value_text(const char *v, char *out, size_t cap, char *why)
{
	if (strlen(v) >= cap) {
		snprintf(why, WHY_LEN, "value longer than %zu characters", cap - 1);
		return false;
	}
	memcpy(out, v, strlen(v) + 1);
	return true;
}

bool value_hwid(const char *v, uint8_t out[8], char *why)
{
	if (strlen(v) != 16)
		goto bad;
	uint8_t hwid[8] = { 0 };
	for (size_t i = 0; i < 16; i++) {
		unsigned char c = (unsigned char)v[i];
		if (!isxdigit(c))
			goto bad;
		unsigned nibble = isdigit(c) ? (unsigned)(c - '0') : (unsigned)(tolower(c) - 'a' + 10);
		hwid[i / 2] = (uint8_t)((hwid[i / 2] << 4) | nibble);
	}
	memcpy(out, hwid, sizeof hwid);
	return true;
bad:
	snprintf(why, WHY_LEN, "\"%s\" is not 16 hexadecimal digits", v);
	return false;
}

bool value_group(const char *v, kms_guid *out, char *why)
{
	const kms_products *t = &kms_product_table;
	/* any KMS id, known or not (a product-data file may bring it) */
	if (guid_parse(v, out))
		return true;
	size_t matched;
	const kms_group *g = kms_group_select(t, v, &matched);
	if (g) {
		*out = g->id;
		return true;
	}
	if (matched == 0) {
		snprintf(why, WHY_LEN, "no product group matches \"%s\" (see kmsc products)", v);
		return false;
	}
	const kms_group *all[8];
	size_t n = kms_groups_named(t, v, all, 8);
	int at = snprintf(why, WHY_LEN, "\"%s\" matches %zu product groups:", v, n);
	for (size_t i = 0; i < n && i < 8 && at > 0 && at < WHY_LEN; i++)
		at += snprintf(why + at, WHY_LEN - (size_t)at, " \"%s\"", all[i]->name);
	return false;
}

bool value_epid_key(const char *v, kms_guid *out, char *why)
{
	if (kms_pool_id(v, out))
		return true;
	/* an application id too: what -t -v prints for a pool reads back */
	if (guid_parse(v, out) &&
	    (kms_group_find(&kms_product_table, out) || kms_app_find(&kms_product_table, out)))
		return true;
	snprintf(why, WHY_LEN,
		 "\"%s\" is not windows, office2010, office2013 or a known KMS id", v);
	return false;
}
