/* Finding products by the words administrators type: the one rule for
 * kmsd.conf's `serve`, kmsc (activate -p, gvlk, products, clients,
 * forget) and the web API.
 *
 * Every word typed must equal, case-insensitively, a word of the name; a
 * name's word made of parts ("10/11", "2021-2024") also matches each part,
 * so "Windows 11 Pro" names "Windows 10/11 Pro". Among the names that
 * match, the best has the fewest words not typed, the words every edition
 * shares ("Windows", "Office", "LTSC", "Professional", "Plus") not
 * counting, so a bare "Office 2021" is Professional Plus; N editions and
 * previews come after the others. Pure functions over the table. */
#ifndef KMSD_KMS_MATCH_H
#define KMSD_KMS_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "kms/products.h"

/* -1 when `words` does not name `name`; else a rank, lower is better. */
int kms_name_rank(const char *name, const char *words);

/* The SKUs `words` names, best first, at most `max` in out[]; returns how
 * many match in all (which may exceed max). */
size_t kms_skus_named(const kms_products *t, const char *words, const kms_sku **out, size_t max);

/* The product groups `words` names, best first: groups whose name matches,
 * else the groups of the SKUs that match. Returns how many match in all. */
size_t kms_groups_named(const kms_products *t, const char *words, const kms_group **out,
			size_t max);

/* One group for `words`: a KMS id in text form, an exact group name, or
 * the single best match. NULL when none matches or several match equally
 * well (*n_matched says how many matched). */
const kms_group *kms_group_select(const kms_products *t, const char *words, size_t *n_matched);

/* True when `words` names the SKU or its group (a listing's filter). */
bool kms_sku_listed(const kms_products *t, const kms_sku *s, const char *words);

/* True for SKUs that cannot use KMS: no GVLK published, a retail group. */
bool kms_sku_kms_capable(const kms_products *t, const kms_sku *s);

#endif
