/* Store specs: which kind of store a spec names, and how to show one
 * without its password. */
#include <stdio.h>
#include <string.h>

#include "store/store.h"

bool store_spec_shared(const char *spec)
{
	return strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0;
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
