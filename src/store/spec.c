/* Store specs: which kind of store a spec names, and how to show one
 * without its password. */
#include <stdio.h>
#include <string.h>

#include "store/store.h"

#define SQLITE_PREFIX "sqlite:"

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool store_spec_shared(const char *spec)
{
	return has_prefix(spec, "postgresql://") || has_prefix(spec, "postgres://");
}

const char *store_spec_file(const char *spec)
{
	return has_prefix(spec, SQLITE_PREFIX) ? spec + strlen(SQLITE_PREFIX) : NULL;
}

enum store_kind store_spec_kind(const char *spec)
{
	if (strcmp(spec, "none") == 0)
		return STORE_KIND_NONE;
	if (store_spec_file(spec))
		return STORE_KIND_SQLITE;
	if (store_spec_shared(spec))
		return STORE_KIND_SHARED;
	return STORE_KIND_INVALID;
}

/* Copies spec with passwords ("user:PASSWORD@" and "password=PASSWORD")
 * shown as "***". */
void store_spec_display(const char *spec, char *out, size_t len)
{
	const char *auth = strstr(spec, "://");
	const char *at = auth ? strchr(auth + 3, '@') : NULL;
	const char *colon = at ? memchr(auth + 3, ':', (size_t)(at - auth - 3)) : NULL;
	size_t o = 0;
	const char *p = spec;
	while (*p && o + 16 < len) { /* room for "password=***" */
		const char *skip_to = NULL;
		if (store_spec_shared(spec) && p == colon) {
			out[o++] = *p++;
			skip_to = at;
		} else if (strncmp(p, "password=", 9) == 0) {
			memcpy(out + o, p, 9);
			o += 9;
			p += 9;
			skip_to = p + strcspn(p, "&");
		}
		if (skip_to) {
			memcpy(out + o, "***", 3);
			o += 3;
			p = skip_to;
			continue;
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
}
