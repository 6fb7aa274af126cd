/* A deadline for every web connection: libmicrohttpd's timeout counts
 * inactivity only, so a client sending (or reading) a byte now and then
 * would keep a connection forever. Connections are noted when they open
 * (libmicrohttpd's connection notification) and a thread shuts down the
 * socket of any still open `seconds` later; libmicrohttpd then closes it
 * as it would any connection the client dropped. */
#ifndef KMSD_WEB_DEADLINE_H
#define KMSD_WEB_DEADLINE_H

#include <stdbool.h>

#include "web/mhd.h"

typedef struct web_deadline web_deadline;

web_deadline *web_deadline_start(const mhd_api *mhd, int seconds);
void web_deadline_set(web_deadline *d, int seconds);
/* After every daemon using it has stopped. NULL is fine. */
void web_deadline_stop(web_deadline *d);

/* MHD_OPTION_NOTIFY_CONNECTION's callback; cls is the web_deadline. */
void web_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			 enum MHD_ConnectionNotificationCode code);

#endif
