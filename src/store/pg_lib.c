/* libpq, loaded when a PostgreSQL store is opened rather than linked:
 * its dependencies (Kerberos, LDAP, GnuTLS, ...) cost a host about 1 MiB
 * of memory at start, which a host with an SQLite store should not pay.
 * The header still gives the types; calls go through pq_api. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define PG_API_NO_MACROS
#include "store/pg_private.h"

pg_api_table pq_api;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

#define BIND(name) (*(void **)&pq_api.name = dlsym(lib, "PQ" #name)) != NULL

static void load(void)
{
	void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(load_error, sizeof load_error, "PostgreSQL stores need libpq: %s", dlerror());
		return;
	}
	bool ok = BIND(getvalue) &&
		  BIND(clear) &&
		  BIND(ntuples) &&
		  BIND(status) &&
		  BIND(resultStatus) &&
		  BIND(exec) &&
		  BIND(finish) &&
		  BIND(errorMessage) &&
		  BIND(resultErrorField) &&
		  BIND(setNoticeProcessor) &&
		  BIND(setClientEncoding) &&
		  BIND(sendQueryParams) &&
		  BIND(sendQueryPrepared) &&
		  BIND(prepare) &&
		  BIND(resultErrorMessage) &&
		  BIND(pipelineSync) &&
		  BIND(pipelineStatus) &&
		  BIND(getResult) &&
		  BIND(exitPipelineMode) &&
		  BIND(execParams) &&
		  BIND(enterPipelineMode) &&
		  BIND(connectdbParams) &&
		  BIND(cmdTuples) &&
		  BIND(getCancel) &&
		  BIND(cancel) &&
		  BIND(freeCancel) &&
		  BIND(execPrepared);
	if (!ok)
		snprintf(load_error, sizeof load_error, "libpq.so.5 is too old (libpq 14 or later "
			 "has pipeline mode): %s", dlerror());
}

bool pg_api_load(char *err, size_t err_len)
{
	pthread_once(&once, load);
	if (load_error[0])
		snprintf(err, err_len, "%s", load_error);
	return !load_error[0];
}
