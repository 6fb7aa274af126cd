/* The activity log: one row per answered request, so a client's history
 * and the dashboard's charts, totals and recent activations survive a
 * restart. Written by the store's batching writer in the same transaction
 * as the client rows, trimmed by the writer to the retention and to
 * STORE_ACTIVITY_MAX rows, and pruned with the clients by store_prune. */
#ifndef KMSD_STORE_ACTIVITY_H
#define KMSD_STORE_ACTIVITY_H

#include "store/store.h"

/* Rows kept at most, whatever the retention (about 250 bytes each). */
#define STORE_ACTIVITY_MAX 1000000
/* The writer trims old rows this often. */
#define STORE_ACTIVITY_TRIM_S 60

/* One request as it was answered (a store_record as stored). */
typedef struct store_activity {
	int64_t time;
	kms_guid cmid, app_id, kms_id, sku_id;
	char workstation[192];
	char address[64];                /* with the client's source port */
	uint32_t license_status;
	uint16_t protocol_major, protocol_minor;
	uint32_t result;                 /* 0 answered, else the HRESULT */
	uint32_t count;
} store_activity;

typedef bool (*store_activity_fn)(void *ctx, const store_activity *a); /* false stops */

/* The client rows of one machine (one per application it asked for);
 * *found says how many. */
bool store_client_get(store *s, const kms_guid *cmid, store_client_fn fn, void *ctx,
		      size_t *found);

/* The newest `limit` requests, of one machine (cmid) or of all (NULL). */
bool store_activity_recent(store *s, const kms_guid *cmid, size_t limit, store_activity_fn fn,
			   void *ctx);

/* Requests at or after `since` counted per `width`-second bucket
 * (bucket = time / width). */
typedef bool (*store_bucket_fn)(void *ctx, int64_t bucket, uint64_t n);
bool store_activity_buckets(store *s, int64_t since, int64_t width, store_bucket_fn fn,
			    void *ctx);

/* Requests in the hours from `since` on per product group, answer and
 * count given (the caller knows each group's N; refusals count as 0). */
typedef bool (*store_answer_fn)(void *ctx, const kms_guid *kms_id, uint32_t result,
				uint32_t count, uint64_t n);
bool store_activity_answers(store *s, int64_t since, store_answer_fn fn, void *ctx);

/* The oldest request kept, 0 when none. */
bool store_activity_oldest(store *s, int64_t *time);

#endif
