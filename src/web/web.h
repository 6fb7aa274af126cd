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

/* New identity (and inline token) for the pages, at start and on reload. */
void web_update(web *w, const kmsd_config *cfg, const snapshot *s);

/* A reload of the web side is decided before anything of the reload is
 * applied, and applied whole: listeners and token change together, so a
 * reload never leaves a listener with less protection than its
 * configuration asks. */
typedef struct web_plan {
	bool restart;                 /* listeners change (or web turns on or off) */
	char token[128];              /* the token when the listeners stay */
} web_plan;

/* Can `next` be applied to the running web (NULL: none)? Reads a new
 * token file and test-binds new addresses; false, with why, refuses the
 * reload. */
bool web_plan_reload(web *running, const kmsd_config *next, web_plan *plan, char *err,
		     size_t err_len);

/* Apply a plan: the same listeners with the new token, or the old ones
 * closed and the new ones served. Returns the web now running (NULL when
 * off, or, logged, when the new listeners could not be started after all). */
web *web_apply_reload(web *running, server *srv, const kmsd_config *next, const snapshot *s,
		      const web_plan *plan, const char *version);

void web_stop(web *w);

#endif
