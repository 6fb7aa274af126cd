/* The three application pools a KMS host counts clients in, by the short
 * names administrators type (kmsd.conf's epid, the web API's pool=).
 * The pools are fixed by the protocol, not by the product data: a
 * product-data file brings groups and SKUs, never a fourth pool. */
#ifndef KMSD_KMS_POOLS_H
#define KMSD_KMS_POOLS_H

#include <stdbool.h>

#include "base/guid.h"

#define KMS_N_POOLS 3

typedef struct kms_pool {
	const char *word;  /* windows, office2010, office2013 */
	const char *label; /* for people: "Windows", "Office 2010", "Office 2013+" */
	const char *id;    /* the application id, in text form */
} kms_pool;

extern const kms_pool kms_pools[KMS_N_POOLS];

/* The pool named by `word` (case-insensitive); NULL when none is. */
const kms_pool *kms_pool_named(const char *word);

/* The application id of the pool `word` names; false when none does. */
bool kms_pool_id(const char *word, kms_guid *out);

#endif
