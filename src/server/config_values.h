/* Value parsers for kmsd.conf (private to config*.c). Each returns false
 * and writes a short explanation into `why` when the text is not valid. */
#ifndef KMSD_SERVER_CONFIG_VALUES_H
#define KMSD_SERVER_CONFIG_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/config.h"

#define WHY_LEN 200

bool value_bool(const char *v, bool *out, char *why);
bool value_integer(const char *v, long long min, long long max, long long *out, char *why);
/* A duration: a number with an optional unit s, m, h or d; a bare number is
 * in `bare_unit` seconds. Result in seconds, within [min, max]. */
bool value_duration(const char *v, int64_t bare_unit, int64_t min, int64_t max, int64_t *out,
		    char *why);
/* ADDR:PORT, [ADDR6]:PORT, ADDR, [ADDR6] (default_port) or *:PORT (both
 * families): appends one or two entries to an address list. */
bool value_address(const char *v, unsigned default_port, config_listen *items, size_t *count,
		   size_t max, const char *what, char *why);
/* A copy of v into out, if it fits in cap bytes. */
bool value_text(const char *v, char *out, size_t cap, char *why);
bool value_hwid(const char *v, uint8_t out[8], char *why);
/* A served product: a KMS id GUID or a fragment of a product group name
 * that matches exactly one group. */
bool value_group(const char *v, kms_guid *out, char *why);
/* windows | office2010 | office2013 | an application or KMS id GUID */
bool value_epid_key(const char *v, kms_guid *out, char *why);

#endif
