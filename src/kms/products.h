/* The product table: applications, KMS counted ids (product groups), SKUs,
 * host keys (CSVLKs) and host OS builds.
 *
 * The data is generated at build time from the public KmsDataBase.xml by
 * tools/gen-products.c into products.gen.c; this header is the contract
 * between that generated file, the lookups in products.c and the rest of
 * kmsd. All arrays are immutable and live for the whole process.
 *
 * Indices (uint16_t) link the tables, so the data needs no relocations and
 * no pointers between entries. Arrays keep the order of the data file, which
 * is the order `kmsc products` numbers them in; lookups by GUID go through
 * separate index arrays sorted by guid_cmp() and use binary search. */
#ifndef KMSD_KMS_PRODUCTS_H
#define KMSD_KMS_PRODUCTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guid.h"

#define KMS_NO_INDEX UINT16_MAX

/* An application (AppItem): the pool clients are counted in. */
typedef struct kms_app {
	kms_guid id;
	const char *name;
	uint16_t min_active_clients;  /* MinActiveClients */
	uint16_t default_csvlk;       /* the CSVLK with the app's VlmcsdIndex, or KMS_NO_INDEX */
} kms_app;

/* A KMS counted id (KmsItem): what the host licenses and counts. */
typedef struct kms_group {
	kms_guid id;
	const char *name;
	uint16_t app;                 /* index into apps */
	uint8_t n_policy;             /* NCountPolicy: 25 client OS, 5 server/Office */
	uint8_t protocol;             /* DefaultKmsProtocol major: 4, 5 or 6 */
	bool retail;                  /* IsRetail */
	bool preview;                 /* IsPreview */
	uint16_t csvlk;               /* the CSVLK to build this group's ePID from; never KMS_NO_INDEX */
} kms_group;

/* A SKU (SkuItem): an activation id, the exact edition a client runs. */
typedef struct kms_sku {
	kms_guid id;
	const char *name;
	const char *gvlk;             /* NULL when none is published */
	uint16_t group;               /* index into groups */
	bool generated_gvlk;          /* IsGeneratedGvlk */
} kms_sku;

/* A host key (CsvlkItem) that passed validation. */
typedef struct kms_csvlk {
	kms_guid id;
	const char *name;
	uint32_t group_id;            /* GroupId, the ePID's second field */
	uint32_t min_key_id;          /* MinKeyId..MaxKeyId, the ePID's key id range */
	uint32_t max_key_id;
	int64_t release_date;         /* seconds since the Unix epoch; 0 when unknown */
	bool lab;                     /* IsLab */
	bool preview;                 /* IsPreview */
	uint32_t invalid_builds;      /* bit i set: position i of the ePID build list is not allowed */
	uint16_t first_activate;      /* range in kms_products.activates[] */
	uint16_t n_activate;
} kms_csvlk;

/* A host OS build (WinBuild). */
typedef struct kms_build {
	uint32_t build;               /* BuildNumber */
	uint32_t platform_id;         /* PlatformId, the ePID's first field */
	int64_t release_date;         /* seconds since the Unix epoch */
	const char *name;
	bool use_for_epid;            /* UseForEpid: the ordered list InvalidWinBuild indexes */
	bool may_be_server;
	bool ndr64;                   /* UsesNDR64 */
} kms_build;

typedef struct kms_products {
	const kms_app *apps;          size_t n_apps;
	const kms_group *groups;      size_t n_groups;
	const kms_sku *skus;          size_t n_skus;
	const kms_csvlk *csvlks;      size_t n_csvlks;
	const kms_build *builds;      size_t n_builds;
	const uint16_t *activates;    size_t n_activates; /* group indices, see kms_csvlk */
	/* index arrays sorted by the entries' GUIDs (guid_cmp order) */
	const uint16_t *apps_by_id;
	const uint16_t *groups_by_id;
	const uint16_t *skus_by_id;
	const uint16_t *csvlks_by_id;
	/* positions in builds[] of the builds with use_for_epid, in file order:
	 * epid_builds[i] is "position i" for kms_csvlk.invalid_builds */
	const uint16_t *epid_builds;  size_t n_epid_builds;
} kms_products;

/* The table generated from the data file and compiled in. */
extern const kms_products kms_builtin_products;

/* The table in use: the one compiled in until kms_products_use gives
 * another (product-data = PATH, read with kms/product_data.h). A table
 * given must stay valid for the rest of the process: answers in flight
 * and the host's settings may still point into the one it replaces.
 * This pointer is the kms layer's one global besides the cipher keys:
 * written at start and reload, read everywhere. */
const kms_products *kms_products_current(void);
void kms_products_use(const kms_products *t);
#define kms_product_table (*kms_products_current())

/* Lookups by GUID, O(log n). NULL when unknown. */
const kms_app *kms_app_find(const kms_products *t, const kms_guid *id);
const kms_group *kms_group_find(const kms_products *t, const kms_guid *id);
const kms_sku *kms_sku_find(const kms_products *t, const kms_guid *id);
const kms_csvlk *kms_csvlk_find(const kms_products *t, const kms_guid *id);

/* Lookup of a host build by number. NULL when unknown. */
const kms_build *kms_build_find(const kms_products *t, uint32_t build);

/* True when `build` may appear as the host build in an ePID of `c`:
 * a use_for_epid build whose position is not in c->invalid_builds and whose
 * release is not before the CSVLK's. */
bool kms_csvlk_allows_build(const kms_products *t, const kms_csvlk *c, const kms_build *b);

/* The most machines a host counts in an application's pool: twice the
 * highest N policy of its groups (Microsoft's host caches that many), so
 * 50 for Windows and 10 for each Office pool. */
uint32_t kms_app_max_count(const kms_products *t, const kms_app *app);

/* The host key a product newer than the table is answered with: the most
 * recently released non-lab, non-preview CSVLK activating a group of the
 * application (any such CSVLK if all are lab or preview). NULL if none. */
const kms_csvlk *kms_app_newest_csvlk(const kms_products *t, const kms_app *app);

/* True when the CSVLK lists the group among those it activates. */
bool kms_csvlk_activates(const kms_products *t, const kms_csvlk *c, const kms_group *g);

#endif
