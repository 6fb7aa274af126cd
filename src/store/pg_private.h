/* The PostgreSQL backend's shared helpers (private to src/store). */
#ifndef KMSD_STORE_PG_PRIVATE_H
#define KMSD_STORE_PG_PRIVATE_H

#include <libpq-fe.h>

#include "store/store_private.h"

/* The libpq functions we call, resolved by pg_api_load (pg_lib.c). */
typedef struct pg_api_table {
	__typeof__(PQgetvalue) *getvalue;
	__typeof__(PQclear) *clear;
	__typeof__(PQntuples) *ntuples;
	__typeof__(PQstatus) *status;
	__typeof__(PQresultStatus) *resultStatus;
	__typeof__(PQexec) *exec;
	__typeof__(PQfinish) *finish;
	__typeof__(PQerrorMessage) *errorMessage;
	__typeof__(PQresultErrorField) *resultErrorField;
	__typeof__(PQsetNoticeProcessor) *setNoticeProcessor;
	__typeof__(PQsetClientEncoding) *setClientEncoding;
	__typeof__(PQsendQueryParams) *sendQueryParams;
	__typeof__(PQsendQueryPrepared) *sendQueryPrepared;
	__typeof__(PQprepare) *prepare;
	__typeof__(PQresultErrorMessage) *resultErrorMessage;
	__typeof__(PQpipelineSync) *pipelineSync;
	__typeof__(PQpipelineStatus) *pipelineStatus;
	__typeof__(PQgetResult) *getResult;
	__typeof__(PQexitPipelineMode) *exitPipelineMode;
	__typeof__(PQexecParams) *execParams;
	__typeof__(PQenterPipelineMode) *enterPipelineMode;
	__typeof__(PQconnectdbParams) *connectdbParams;
	__typeof__(PQcmdTuples) *cmdTuples;
	__typeof__(PQgetCancel) *getCancel;
	__typeof__(PQcancel) *cancel;
	__typeof__(PQfreeCancel) *freeCancel;
	__typeof__(PQexecPrepared) *execPrepared;
} pg_api_table;
extern pg_api_table pq_api;

/* Load libpq once; false with why in err if it cannot be. */
bool pg_api_load(char *err, size_t err_len);

#ifndef PG_API_NO_MACROS
#define PQgetvalue (pq_api.getvalue)
#define PQclear (pq_api.clear)
#define PQntuples (pq_api.ntuples)
#define PQstatus (pq_api.status)
#define PQresultStatus (pq_api.resultStatus)
#define PQexec (pq_api.exec)
#define PQfinish (pq_api.finish)
#define PQerrorMessage (pq_api.errorMessage)
#define PQresultErrorField (pq_api.resultErrorField)
#define PQsetNoticeProcessor (pq_api.setNoticeProcessor)
#define PQsetClientEncoding (pq_api.setClientEncoding)
#define PQsendQueryParams (pq_api.sendQueryParams)
#define PQsendQueryPrepared (pq_api.sendQueryPrepared)
#define PQprepare (pq_api.prepare)
#define PQresultErrorMessage (pq_api.resultErrorMessage)
#define PQpipelineSync (pq_api.pipelineSync)
#define PQpipelineStatus (pq_api.pipelineStatus)
#define PQgetResult (pq_api.getResult)
#define PQexitPipelineMode (pq_api.exitPipelineMode)
#define PQexecParams (pq_api.execParams)
#define PQenterPipelineMode (pq_api.enterPipelineMode)
#define PQconnectdbParams (pq_api.connectdbParams)
#define PQcmdTuples (pq_api.cmdTuples)
#define PQgetCancel (pq_api.getCancel)
#define PQcancel (pq_api.cancel)
#define PQfreeCancel (pq_api.freeCancel)
#define PQexecPrepared (pq_api.execPrepared)
#endif

/* A connection and whether it has been found broken: libpq does not
 * always say so in PQstatus when the server went away mid-call. */
typedef struct pg_conn {
	PGconn *c;
	bool broken;
	bool upsert_prepared;       /* the writer's upsert, parsed and planned once */
	char state[6];                /* SQLSTATE of the last failure, "" if none */
	int budget_ms;                /* the statement_timeout set on it */
} pg_conn;

/* Run one statement with text parameters (NULL entries are SQL NULL); the
 * result when it succeeded, else NULL with the server's message in err. */
PGresult *pg_run(pg_conn *pc, const char *sql, int n_params, const char *const *params, char *err,
		 size_t err_len);
/* A failed call: the message in err, and whether the connection is gone. */
void pg_note_failure(pg_conn *pc, const PGresult *r, char *err, size_t err_len);
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
bool pg_load_newest(void *db, int64_t since, size_t per_app, store_seen_fn fn, void *ctx,
		    char *err, size_t err_len);
bool pg_clients(store *s, const store_query *q, store_client_fn fn, void *ctx, size_t *total);
bool pg_group_stats(store *s, int64_t since, store_stat_fn fn, void *ctx);
long pg_prune(store *s, int64_t before);
bool pg_fold_hours(void *db, char *err, size_t err_len);
void pg_arm_budget(store *s);
bool pg_cancelled(store *s);
void pg_interrupt(store *s);
long pg_forget(store *s, const store_forget_filter *f);

#endif
