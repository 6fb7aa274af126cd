#include "store/store_uri.h"

#include "store/store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool bad(char *why, size_t why_len, const char *spec, const char *what)
{
	snprintf(why, why_len, "\"%s\": %s", spec, what);
	return false;
}

/* URI characters, with %XX escapes well formed. */
static bool uri_text(const char *s, size_t n, const char *also)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return false;
			i += 2;
		} else if (!isalnum(c) && !strchr("-._~!$'()*+,;", c) && !strchr(also, c)) {
			return false;
		}
	}
	return true;
}

static bool check_pg(const char *spec, const char *rest, char *why, size_t why_len)
{
	size_t auth_len = strcspn(rest, "/?");
	const char *auth = rest, *at = memchr(auth, '@', auth_len);
	if (at && !uri_text(auth, (size_t)(at - auth), ":"))
		return bad(why, why_len, spec, "the user part has characters to percent-encode");
	const char *host = at ? at + 1 : auth;
	size_t host_len = auth_len - (size_t)(host - auth);
	const char *port = NULL;
	if (host_len && host[0] == '[') {
		const char *close = memchr(host, ']', host_len);
		if (!close)
			return bad(why, why_len, spec, "unterminated [IPv6] host");
		if ((size_t)(close - host) + 1 < host_len) {
			if (close[1] != ':')
				return bad(why, why_len, spec, "text after the [IPv6] host");
			port = close + 2;
		}
	} else {
		const char *colon = memchr(host, ':', host_len);
		if (colon)
			port = colon + 1;
		if (!uri_text(host, colon ? (size_t)(colon - host) : host_len, ","))
			return bad(why, why_len, spec, "the host has characters to percent-encode");
	}
	if (port) {
		size_t n = (size_t)(host + host_len - port);
		char digits[8] = "";
		bool ok = n > 0 && n < sizeof digits;
		for (size_t i = 0; ok && i < n; i++)
			ok = isdigit((unsigned char)port[i]);
		if (ok)
			memcpy(digits, port, n);
		long value = ok ? strtol(digits, NULL, 10) : 0;
		if (value < 1 || value > 65535)
			return bad(why, why_len, spec, "the port is not a number from 1 to 65535");
	}
	const char *path = rest + auth_len;
	if (*path == '/') {
		size_t n = strcspn(path + 1, "?");
		if (!uri_text(path + 1, n, ""))
			return bad(why, why_len, spec, "the database name has characters to percent-encode");
		path += 1 + n;
	}
	if (*path == '?') {
		const char *q = path + 1;
		while (*q) {
			size_t n = strcspn(q, "&");
			const char *eq = memchr(q, '=', n);
			if (!eq || eq == q || !uri_text(q, (size_t)(eq - q), "") ||
			    !uri_text(eq + 1, n - (size_t)(eq + 1 - q), "/:@?="))
				return bad(why, why_len, spec, "a query parameter is not KEY=VALUE");
			q += n + (q[n] == '&');
		}
	}
	return true;
}

bool store_uri_check(const char *spec, char *why, size_t why_len)
{
	const char *file = store_spec_file(spec);
	if (store_spec_kind(spec) == STORE_KIND_NONE)
		return true;
	if (file) {
		if (file[0] != '/')
			return bad(why, why_len, spec, "sqlite: needs an absolute path");
		if (spec[strlen(spec) - 1] == '/')
			return bad(why, why_len, spec, "sqlite: names a directory, not a file");
		return true;
	}
	if (strncmp(spec, "postgresql://", 13) == 0)
		return check_pg(spec, spec + 13, why, why_len);
	if (strncmp(spec, "postgres://", 11) == 0)
		return check_pg(spec, spec + 11, why, why_len);
	return bad(why, why_len, spec, "not none, sqlite:/PATH or postgresql://...");
}

bool store_uri_with_password(const char *spec, const char *password, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s%spassword=", spec, strchr(spec, '?') ? "&" : "?");
	if (n < 0 || (size_t)n >= cap)
		return false;
	size_t at = (size_t)n;
	for (const unsigned char *p = (const unsigned char *)password; *p; p++) {
		if (at + 4 > cap)
			return false;
		if (isalnum(*p) || strchr("-._~", *p))
			out[at++] = (char)*p;
		else
			at += (size_t)snprintf(out + at, cap - at, "%%%02X", *p);
	}
	out[at] = 0;
	return true;
}
