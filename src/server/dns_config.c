#include "server/dns_config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/config_values.h"
#include "server/secret_file.h"

#define DEFAULT_TTL 3600

static const char *const algorithms[] = {
	"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512",
};

void dns_config_defaults(dns_publish_config *c)
{
	memset(c, 0, sizeof *c);
	c->ttl = DEFAULT_TTL;
	snprintf(c->tsig_algorithm, sizeof c->tsig_algorithm, "hmac-sha256");
}

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

static bool value_server(const char *v, char *out, size_t cap, char *why)
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

static bool value_u16(const char *v, long long min, uint16_t *out, char *why)
{
	long long n;
	if (!value_integer(v, min, 65535, &n, why))
		return false;
	*out = (uint16_t)n;
	return true;
}

bool dns_config_apply(dns_publish_config *c, const char *key, const char *v, char *why)
{
	if (strcmp(key, "dns-publish") == 0)
		return value_bool(v, &c->enabled, why);
	if (strcmp(key, "dns-zone") == 0)
		return dns_name_check(v, c->zone, sizeof c->zone, why, WHY_LEN);
	if (strcmp(key, "dns-server") == 0)
		return value_server(v, c->server, sizeof c->server, why);
	if (strcmp(key, "dns-ttl") == 0) {
		int64_t s;
		/* at least 10 s: the record is refreshed every TTL/2 */
		if (!value_duration(v, 1, 10, (int64_t)7 * 86400, &s, why))
			return false;
		c->ttl = (uint32_t)s;
		return true;
	}
	if (strcmp(key, "dns-priority") == 0)
		return value_u16(v, 0, &c->priority, why);
	if (strcmp(key, "dns-weight") == 0)
		return value_u16(v, 0, &c->weight, why);
	if (strcmp(key, "dns-host") == 0)
		return dns_name_check(v, c->host, sizeof c->host, why, WHY_LEN);
	if (strcmp(key, "dns-port") == 0)
		return value_u16(v, 1, &c->port, why);
	if (strcmp(key, "dns-tsig-name") == 0)
		return dns_name_check(v, c->tsig_name, sizeof c->tsig_name, why, WHY_LEN);
	if (strcmp(key, "dns-tsig-algorithm") == 0) {
		for (size_t i = 0; i < sizeof algorithms / sizeof algorithms[0]; i++) {
			if (strcasecmp(v, algorithms[i]) == 0) {
				snprintf(c->tsig_algorithm, sizeof c->tsig_algorithm, "%s", algorithms[i]);
				return true;
			}
		}
		snprintf(why, WHY_LEN, "\"%.40s\" is not hmac-md5, hmac-sha1, hmac-sha224, "
			 "hmac-sha256, hmac-sha384 or hmac-sha512", v);
		return false;
	}
	if (strcmp(key, "dns-tsig-secret-file") == 0) {
		if (!secret_value_ok(v, why, WHY_LEN))
			return false;
		if (strlen(v) >= sizeof c->tsig_secret_file) {
			snprintf(why, WHY_LEN, "\"%.100s\" is longer than %zu characters", v,
				 sizeof c->tsig_secret_file - 1);
			return false;
		}
		memcpy(c->tsig_secret_file, v, strlen(v) + 1);
		return true;
	}
	snprintf(why, WHY_LEN, "unknown setting (see kmsd.conf(5))");
	return false;
}

void dns_config_dump(const dns_publish_config *c, FILE *out)
{
	fprintf(out, "dns-publish = %s\n", c->enabled ? "on" : "off");
	if (c->zone[0])
		fprintf(out, "dns-zone = %s\n", c->zone);
	if (c->server[0])
		fprintf(out, "dns-server = %s\n", c->server);
	fprintf(out, "dns-ttl = %us\ndns-priority = %u\ndns-weight = %u\n", c->ttl, c->priority,
		c->weight);
	if (c->host[0])
		fprintf(out, "dns-host = %s\n", c->host);
	if (c->port)
		fprintf(out, "dns-port = %u\n", c->port);
	if (c->tsig_name[0])
		fprintf(out, "dns-tsig-name = %s\n", c->tsig_name);
	fprintf(out, "dns-tsig-algorithm = %s\n", c->tsig_algorithm);
	if (c->tsig_secret_file[0])
		fprintf(out, "dns-tsig-secret-file = %s\n", c->tsig_secret_file);
}
