/* The syntax of a store setting, checked before anything connects:
 * none, sqlite:/ABSOLUTE/PATH, or a libpq URI
 * postgresql://[USER[:PASSWORD]@][HOST][:PORT][/DATABASE][?KEY=VALUE&...]. */
#ifndef KMSD_STORE_STORE_URI_H
#define KMSD_STORE_STORE_URI_H

#include <stdbool.h>
#include <stddef.h>

bool store_uri_check(const char *spec, char *why, size_t why_len);

/* spec with "password=VALUE" (percent-encoded) added to its query. */
bool store_uri_with_password(const char *spec, const char *password, char *out, size_t cap);

#endif
