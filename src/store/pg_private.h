/* The PostgreSQL backend's shared helpers (private to src/store). */
#ifndef KMSD_STORE_PG_PRIVATE_H
#define KMSD_STORE_PG_PRIVATE_H

#include <libpq-fe.h>

#include "store/store_private.h"

/* A connection and whether it has been found broken: libpq does not
 * always say so in PQstatus when the server went away mid-call. */
typedef struct pg_conn {
	PGconn *c;
	bool broken;
} pg_conn;

/* Run one statement with text parameters (NULL entries are SQL NULL); the
 * result when it succeeded, else NULL with the server's message in err. */
PGresult *pg_run(pg_conn *pc, const char *sql, int n_params, const char *const *params, char *err,
		 size_t err_len);
/* Run statements without parameters; false with the message in err. */
bool pg_exec(pg_conn *pc, const char *sql, char *err, size_t err_len);

/* GUIDs travel as text: "\x" and 32 hex digits in, encode(x, 'hex') out. */
#define PG_GUID_TEXT 35
void pg_guid_param(const kms_guid *g, char out[PG_GUID_TEXT]);
void pg_guid_value(const char *hex, kms_guid *g);

enum store_write pg_write_batch(void *db, const store_record *r, size_t n, char *err,
				size_t err_len);
bool pg_changed(void *db, int64_t stored_since, int64_t *db_now, store_seen_fn fn, void *ctx,
		char *err, size_t err_len);
int pg_identity_get(void *db, const char *name, char *value, size_t len, char *err,
		    size_t err_len);
bool pg_identity_put(void *db, const char *name, const char *value, bool replace, char *err,
		     size_t err_len);
bool pg_load_seen(void *db, int64_t since, store_seen_fn fn, void *ctx, char *err,
		  size_t err_len);
bool pg_clients(store *s, const store_query *q, store_client_fn fn, void *ctx, size_t *total);
bool pg_group_stats(store *s, int64_t since, store_stat_fn fn, void *ctx);
long pg_prune(store *s, int64_t before);

#endif
