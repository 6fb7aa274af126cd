/* The SQLite backend's functions (private to src/store). */
#ifndef KMSD_STORE_SQLITE_PRIVATE_H
#define KMSD_STORE_SQLITE_PRIVATE_H

#include <sqlite3.h>

#include <string.h>

#include "store/client_updates.h"
#include "store/store_private.h"

/* A GUID column: 16 bytes, or all zero for NULL or any other length. */
static inline void sqlite_column_guid(sqlite3_stmt *st, int col, kms_guid *g)
{
	memset(g, 0, sizeof *g);
	if (sqlite3_column_bytes(st, col) == 16)
		memcpy(g->b, sqlite3_column_blob(st, col), 16);
}

void *sqlite_connect(const char *path, bool read_only, char *err, size_t err_len);
/* A record's fields as ?1 cmid, ?2 app_id, ?3 kms_id, ?4 sku_id,
 * ?5 workstation, ?6 address, ?7 license_status, ?8 protocol, ?9 time,
 * ?10 result, ?11 count (after resetting st): every statement that stores
 * a record numbers its parameters so. */
void sqlite_bind_record(sqlite3_stmt *st, const store_record *r);
enum store_write sqlite_write_batch(void *db, const store_record *r, size_t n, char *err,
				    size_t err_len);
int sqlite_identity_get(void *db, const char *name, char *value, size_t len, char *err,
			size_t err_len);
bool sqlite_identity_put(void *db, const char *name, const char *value, bool replace,
			 char *err, size_t err_len);
bool sqlite_load_seen(void *db, int64_t since, store_seen_fn fn, void *ctx, char *err,
		      size_t err_len);
bool sqlite_load_newest(void *db, int64_t since, size_t per_app, store_seen_fn fn, void *ctx,
			char *err, size_t err_len);
bool sqlite_clients(store *s, const store_query *q, store_client_fn fn, void *ctx,
		    size_t *total);
bool sqlite_group_stats(store *s, int64_t since, store_stat_fn fn, void *ctx);
long sqlite_prune(store *s, int64_t before);
void sqlite_arm_budget(store *s);
bool sqlite_cancelled(store *s);
void sqlite_interrupt(store *s);
bool sqlite_clients_sql(const store_query *q, bool walk, char *sql, size_t len);
long sqlite_forget(store *s, const store_forget_filter *f);
bool sqlite_backup(store *s, const char *to);
bool sqlite_save_queued(void *db, const store_record *const *r, size_t n, int64_t upto,
			char *err, size_t err_len);
long sqlite_load_queued(void *db, store_record *out, size_t max, int64_t *upto, char *err,
			size_t err_len);
bool sqlite_forget_queued(void *db, int64_t upto, char *err, size_t err_len);
void sqlite_abort_on(void *db, _Atomic bool *flag);

/* sqlite_hours.c: the hourly counters a batch changes, within the batch's
 * transaction: before each client's upsert, then applied before COMMIT.
 * The read of the old row before the upsert also tells whether the row
 * exists and keeps its workstation name (*same_name), so the upsert can
 * leave that column alone. */
typedef struct sqlite_hours sqlite_hours;
sqlite_hours *sqlite_hours_begin(sqlite3 *db);
bool sqlite_hours_before(sqlite_hours *h, const client_update *c, bool *same_name);
bool sqlite_hours_apply(sqlite_hours *h);
void sqlite_hours_end(sqlite_hours *h);

/* sqlite_checkpoint.c: the writer's checkpoints on a thread of their own */
typedef struct sqlite_checkpointer sqlite_checkpointer;
void *sqlite_checkpointer_start(const char *target, const store_options *opt);
void sqlite_checkpointer_stop(void *helper);
/* the writer's connection notes the WAL's size after each commit (NULL:
 * SQLite's own checkpoints stay); called right after the writer connects,
 * it also notes which file the writer is on */
void sqlite_checkpointer_attach(sqlite_checkpointer *c, sqlite3 *db);
/* checkpoints run by the thread, by the writer when it fell behind, and
 * not run because the path was no longer the writer's file (NULL: not
 * wanted) */
void sqlite_checkpointer_counts(sqlite_checkpointer *c, unsigned long *runs,
				unsigned long *inline_runs, unsigned long *refused);

#endif
