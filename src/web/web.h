/* The web side of kmsd: a dashboard, a read-only JSON API and /metrics on
 * their own listeners, served by libmicrohttpd in its own thread so a slow
 * HTTP client or a long store query never touches the KMS event loops.
 *
 * web_open binds (before privileges are dropped, so any port works);
 * web_start serves (after, with its own read-only store connection);
 * web_update copies what the pages show about the host, at start and on
 * every reload. */
#ifndef KMSD_WEB_WEB_H
#define KMSD_WEB_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "server/config.h"
#include "server/server.h"

typedef struct web web;

/* Bind the web-listen addresses and read web-token-file. NULL on error. */
web *web_open(const kmsd_config *cfg, char *err, size_t err_len);

/* Start serving. `srv` must outlive web_stop. */
bool web_start(web *w, server *srv, const kmsd_config *cfg, const char *version, char *err,
	       size_t err_len);

/* New identity and token after a reload (listen addresses need a restart). */
void web_update(web *w, const kmsd_config *cfg, const snapshot *s);

void web_stop(web *w);

#endif
