/* Extended product ids (ePIDs) of the host key, the id a host reports in
 * every response: PPPPP-GGGGG-KKK-KKKKKK-03-LLLL-BBBBB.0000-DDDYYYY
 * (platform id, CSVLK group id, key id 3+6 digits, volume channel 03,
 * LCID, host build, day of year and year the key was installed). */
#ifndef KMSD_KMS_EPID_H
#define KMSD_KMS_EPID_H

#include <stdbool.h>
#include <stdint.h>

#include "kms/kms.h"
#include "kms/products.h"

#define KMS_EPID_TEXT_MAX KMS_EPID_MAX_UNITS /* characters + NUL */

typedef struct kms_epid_fields {
	uint32_t platform_id;
	uint32_t group_id;
	uint32_t key_id;
	uint32_t lcid;
	uint32_t build;
	uint16_t day_of_year;  /* 1..366 */
	uint16_t year;
} kms_epid_fields;

/* Generate an ePID for CSVLK `c`. `build` 0 picks one of the builds the
 * CSVLK allows (by `random`); otherwise it must be allowed, or false is
 * returned. The key id and install date are drawn from `random` within the
 * CSVLK's range and between the later of the key's and build's release
 * dates and `now` (Unix seconds). */
bool kms_epid_generate(const kms_products *t, const kms_csvlk *c, uint32_t build, uint32_t lcid,
		       int64_t now, uint64_t random, char out[KMS_EPID_TEXT_MAX]);

/* The one host OS every ePID of a host carries (docs/protocol.md section 5): a
 * use_for_epid build that every CSVLK in keys[] allows, released by `now`,
 * whose RPC runtime accepts NDR64 when the host does (`ndr64`); a host
 * without NDR64 gets a pre-NDR64 build if every key allows one (none does
 * once a key newer than 2012 is served). Drawn from `random` among those;
 * `build` nonzero must be such a build. NULL when there is none. */
const kms_build *kms_host_build(const kms_products *t, const kms_csvlk *const *keys, size_t n_keys,
				bool ndr64, uint32_t build, int64_t now, uint64_t random);

/* Check the shape of an ePID and split it into fields. */
bool kms_epid_parse(const char *epid, kms_epid_fields *out);

#endif
