/* The activity log's backend functions and the hooks the writer, the
 * migration and prune call (private to src/store). */
#ifndef KMSD_STORE_ACTIVITY_PRIVATE_H
#define KMSD_STORE_ACTIVITY_PRIVATE_H

#include "store/activity.h"
#include "store/store_private.h"

/* Hooks: the writer after a batch (trims once per STORE_ACTIVITY_TRIM_S
 * on its own connection), store_prune (the same age as the clients). */
void store_activity_trim(store *s, void *writer_db, int64_t now);
long store_activity_prune(store *s, int64_t before);

bool sqlite_activity_schema(void *db, char *err, size_t err_len);
/* inside the batch's transaction */
bool sqlite_activity_write(void *db, const store_record *batch, size_t n);
long sqlite_activity_trim(void *db, int64_t before, long keep);
bool sqlite_client_get(store *s, const kms_guid *cmid, store_client_fn fn, void *ctx,
		       size_t *found);
bool sqlite_activity_recent(store *s, const kms_guid *cmid, size_t limit, store_activity_fn fn,
			    void *ctx);
bool sqlite_activity_buckets(store *s, int64_t since, int64_t width, store_bucket_fn fn,
			     void *ctx);
bool sqlite_activity_answers(store *s, int64_t since, store_answer_fn fn, void *ctx);
bool sqlite_activity_oldest(store *s, int64_t *time);

bool pg_activity_schema(void *db, char *err, size_t err_len);
long pg_activity_trim(void *db, int64_t before, long keep, char *err, size_t err_len);
bool pg_client_get(store *s, const kms_guid *cmid, store_client_fn fn, void *ctx, size_t *found);
bool pg_activity_recent(store *s, const kms_guid *cmid, size_t limit, store_activity_fn fn,
			void *ctx);
bool pg_activity_buckets(store *s, int64_t since, int64_t width, store_bucket_fn fn, void *ctx);
bool pg_activity_answers(store *s, int64_t since, store_answer_fn fn, void *ctx);
bool pg_activity_oldest(store *s, int64_t *time);

#endif
