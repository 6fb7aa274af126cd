/* The activation decision: what a host answers to a decoded request.
 *
 * A pure function of the request, the policy, the product table, the
 * client count the caller tracked and the time, so every rule can be
 * tested without a network or a store. */
#ifndef KMSD_KMS_POLICY_H
#define KMSD_KMS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms/kms.h"
#include "kms/products.h"

typedef enum kms_count_mode {
	KMS_COUNT_ALWAYS,       /* report 2 x N: what a well-populated host reports */
	KMS_COUNT_REAL,         /* report the distinct clients seen in the pool, at
				 * most 2 x the pool's highest N (kms_app_max_count) */
} kms_count_mode;

typedef enum kms_product_scope {
	KMS_SERVE_ALL,          /* every KMS id in the table, and unknown KMS ids of
				 * a known application (products newer than the
				 * table): `serve = all`, the default */
	KMS_SERVE_KNOWN,        /* only the KMS ids in the table, as Microsoft's
				 * host does: `serve = known` */
	KMS_SERVE_LISTED,       /* only the listed KMS ids */
	KMS_SERVE_ANY,          /* any KMS id of any application: `serve = unknown` */
} kms_product_scope;

typedef struct kms_policy {
	kms_count_mode count_mode;
	kms_product_scope scope;
	const kms_guid *listed;         /* KMS_SERVE_LISTED: the KMS ids served */
	size_t n_listed;
	bool refuse_retail;             /* refuse groups marked retail */
	bool refuse_preview;            /* refuse groups marked preview */
	bool check_client_time;
	int64_t max_time_skew;          /* seconds, for check_client_time */
	uint32_t max_n_policy;          /* requests asking for more are invalid */
} kms_policy;

/* A policy with the defaults: always-enough counting, every product of a
 * known application, no time check, N policy up to 1000. */
void kms_policy_defaults(kms_policy *p);

typedef struct kms_decision {
	uint32_t hresult;               /* 0: answer with a response */
	uint32_t count;                 /* CurrentCount to report */
	const kms_group *group;         /* NULL for an unknown KMS id */
	const kms_app *app;             /* NULL for an unknown application */
	const kms_sku *sku;             /* NULL for an unknown SKU */
	const char *reason;             /* why it was refused, for the log */
	bool new_product;               /* answered a KMS id the table does not have */
} kms_decision;

/* Decide. `pool_count` is, in real counting mode, the number of distinct
 * clients the host has seen in the request's application pool (this one
 * included); it is ignored otherwise. `now` is Unix seconds. Nothing in a
 * refusal depends on the count, so a host may decide with 0 first and
 * count the client only once it is answered (kms_count_to_report). */
kms_decision kms_decide(const kms_products *t, const kms_policy *p, const kms_request *req,
			uint32_t pool_count, int64_t now);

/* The CurrentCount to answer: 2 x N in always mode; in real mode the
 * pool's count, at most kms_app_max_count of the pool (2 x N of the
 * request for an unknown application). */
uint32_t kms_count_to_report(const kms_products *t, const kms_policy *p, const kms_request *req,
			     const kms_app *app, uint32_t pool_count);

/* The CSVLK whose ePID answers a request: the group's, else the newest
 * host key of the application (a product newer than the table), else the
 * first application's (Windows). */
const kms_csvlk *kms_csvlk_for(const kms_products *t, const kms_decision *d);

/* Every CSVLK kms_csvlk_for can answer with (the groups', each
 * application's newest, the fallback), each once, at most `max` in out[];
 * returns how many. */
size_t kms_served_csvlks(const kms_products *t, const kms_csvlk **out, size_t max);

#endif
