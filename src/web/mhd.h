/* libmicrohttpd, loaded when the web side is switched on.
 *
 * Debian's libmicrohttpd brings GnuTLS and its dependencies, which cost a
 * host that never serves HTTP megabytes of resident memory at start. So
 * kmsd does not link it: web_open loads it with dlopen and the web layer
 * calls it through this table, with the library's own header for types
 * and constants. */
#ifndef KMSD_WEB_MHD_H
#define KMSD_WEB_MHD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#define MHD_SONAME "libmicrohttpd.so.12"

typedef struct mhd_api {
	struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port,
					   MHD_AcceptPolicyCallback apc, void *apc_cls,
					   MHD_AccessHandlerCallback dh, void *dh_cls, ...);
	void (*stop_daemon)(struct MHD_Daemon *daemon);
	int (*get_connection_values)(struct MHD_Connection *connection, enum MHD_ValueKind kind,
				     MHD_KeyValueIterator iterator, void *iterator_cls);
	const char *(*lookup_connection_value)(struct MHD_Connection *connection,
					       enum MHD_ValueKind kind, const char *key);
	char *(*basic_auth_get_username_password)(struct MHD_Connection *connection,
						  char **password);
	void (*free)(void *ptr);
	struct MHD_Response *(*create_response_from_buffer)(size_t size, void *buffer,
							    enum MHD_ResponseMemoryMode mode);
	enum MHD_Result (*add_response_header)(struct MHD_Response *response, const char *header,
					       const char *content);
	enum MHD_Result (*queue_response)(struct MHD_Connection *connection,
					  unsigned int status_code, struct MHD_Response *response);
	void (*destroy_response)(struct MHD_Response *response);
	const union MHD_ConnectionInfo *(*get_connection_info)(struct MHD_Connection *connection,
							      enum MHD_ConnectionInfoType type, ...);
} mhd_api;

/* Load the library once (thread-safe); NULL with the reason in err. */
const mhd_api *mhd_load(char *err, size_t err_len);

#endif
