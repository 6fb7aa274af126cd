#include "web/mhd.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static mhd_api api;
static char load_error[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* dlsym returns a data pointer; POSIX guarantees it converts to the
 * function pointer it names, C does not, hence the memcpy. */
static bool resolve(void *lib, const char *name, void *slot, size_t size)
{
	void *sym = dlsym(lib, name);
	if (!sym) {
		snprintf(load_error, sizeof load_error, "%s: no symbol %s", MHD_SONAME, name);
		return false;
	}
	memcpy(slot, &sym, size);
	return true;
}

#define RESOLVE(field, symbol) resolve(lib, symbol, &api.field, sizeof api.field)

static void load(void)
{
	/* never closed: its threads may run until the process ends */
	void *lib = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(load_error, sizeof load_error,
			 "web = yes needs %s (Debian package libmicrohttpd12): %s", MHD_SONAME,
			 dlerror());
		return;
	}
	if (RESOLVE(start_daemon, "MHD_start_daemon") && RESOLVE(stop_daemon, "MHD_stop_daemon") &&
	    RESOLVE(get_connection_values, "MHD_get_connection_values") &&
	    RESOLVE(lookup_connection_value, "MHD_lookup_connection_value") &&
	    RESOLVE(basic_auth_get_username_password, "MHD_basic_auth_get_username_password") &&
	    RESOLVE(free, "MHD_free") &&
	    RESOLVE(create_response_from_buffer, "MHD_create_response_from_buffer") &&
	    RESOLVE(add_response_header, "MHD_add_response_header") &&
	    RESOLVE(queue_response, "MHD_queue_response") &&
	    RESOLVE(get_connection_info, "MHD_get_connection_info") &&
	    RESOLVE(destroy_response, "MHD_destroy_response"))
		return;
	memset(&api, 0, sizeof api); /* all or nothing */
}

const mhd_api *mhd_load(char *err, size_t err_len)
{
	pthread_once(&once, load);
	if (!api.destroy_response) {
		snprintf(err, err_len, "%s", load_error);
		return NULL;
	}
	return &api;
}
