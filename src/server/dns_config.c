#include "server/dns_config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/config_values.h"

static const char *const algorithms[] = {
	"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512",
};

bool dns_name_check(const char *v, char *out, size_t cap, char *why, size_t why_len)
{
	size_t n = strlen(v);
	if (n > 1 && v[n - 1] == '.')
		n--;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch == '.') {
			if (label == 0)
				goto bad;
			label = 0;
		} else if (isalnum(ch) || ch == '-' || ch == '_') {
			if (++label > 63)
				goto bad;
		} else {
			goto bad;
		}
	}
	if (label == 0 || n >= cap || n > 253)
		goto bad;
	memcpy(out, v, n);
	out[n] = 0;
	return true;
bad:
	snprintf(why, why_len, "\"%.100s\" is not a DNS name (labels of letters, digits, "
		 "'-' and '_', separated by dots)", v);
	return false;
}

bool dns_split_server(const char *v, char *host, size_t host_len, uint16_t *port)
{
	const char *port_text = NULL;
	size_t n;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (!close || (close[1] && close[1] != ':'))
			return false;
		n = (size_t)(close - v - 1);
		v++;
		port_text = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strchr(v, ':');
		if (colon && strchr(colon + 1, ':'))
			return false; /* a bare IPv6 address: its port would be ambiguous */
		n = colon ? (size_t)(colon - v) : strlen(v);
		port_text = colon ? colon + 1 : NULL;
	}
	if (n == 0 || n >= host_len)
		return false;
	unsigned long p = 53;
	if (port_text) {
		char *end;
		p = strtoul(port_text, &end, 10);
		if (!isdigit((unsigned char)*port_text) || *end || p == 0 || p > 65535)
			return false;
	}
	memcpy(host, v, n);
	host[n] = 0;
	*port = (uint16_t)p;
	return true;
}

bool dns_name_value(const char *v, char *out, size_t cap, char *why)
{
	return dns_name_check(v, out, cap, why, WHY_LEN);
}

bool dns_server_value(const char *v, char *out, size_t cap, char *why)
{
	char host[DNS_NAME_MAX + 8];
	uint16_t port;
	if (strlen(v) >= cap || !dns_split_server(v, host, sizeof host, &port)) {
		snprintf(why, WHY_LEN, "\"%.100s\" is not ADDRESS, ADDRESS:PORT, [IPv6]:PORT or "
			 "NAME[:PORT]", v);
		return false;
	}
	memcpy(out, v, strlen(v) + 1);
	return true;
}

bool dns_algorithm_value(const char *v, char *out, size_t cap, char *why)
{
	for (size_t i = 0; i < sizeof algorithms / sizeof algorithms[0]; i++) {
		if (strcasecmp(v, algorithms[i]) == 0)
			return value_text(algorithms[i], out, cap, why);
	}
	snprintf(why, WHY_LEN, "\"%.40s\" is not hmac-md5, hmac-sha1, hmac-sha224, "
		 "hmac-sha256, hmac-sha384 or hmac-sha512", v);
	return false;
}
