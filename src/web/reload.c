/* The web side on reload: listeners and token change together or not at
 * all. The running listeners were bound (and the token file read) before
 * the privilege drop; what a reload opens anew is opened as kmsd's user,
 * so it is tried first and a failure refuses the reload whole. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "web/web_private.h"

static bool same_address(const config_listen *a, const config_listen *b)
{
	return a->addr_len == b->addr_len && memcmp(&a->addr, &b->addr, a->addr_len) == 0;
}

static bool same_listeners(const web *w, const kmsd_config *next)
{
	if (w->n_fds != next->n_web_listen)
		return false;
	for (size_t i = 0; i < w->n_fds; i++)
		if (!same_address(&w->listen[i], &next->web_listen[i]))
			return false;
	return true;
}

static bool served_now(const web *w, const config_listen *a)
{
	for (size_t i = 0; w && i < w->n_fds; i++)
		if (same_address(&w->listen[i], a))
			return true;
	return false;
}

/* Could this address be bound now? (One served now will be, once closed.) */
static bool can_bind(const config_listen *a, char *err, size_t err_len)
{
	int fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (a->addr.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	}
	bool ok = fd >= 0 && bind(fd, (const struct sockaddr *)&a->addr, a->addr_len) == 0;
	if (!ok)
		snprintf(err, err_len, "web-listen %s: %s", a->text, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ok;
}

bool web_plan_reload(web *running, const kmsd_config *next, web_plan *plan, char *err,
		     size_t err_len)
{
	memset(plan, 0, sizeof *plan);
	if (!next->web) {
		plan->restart = running != NULL;
		return true;
	}
	plan->restart = !running || !same_listeners(running, next);
	if (next->web_token_file[0]) {
		/* the same file: keep what was read (as root, at start) */
		if (running && strcmp(running->token_file, next->web_token_file) == 0) {
			pthread_mutex_lock(&running->lock);
			memcpy(plan->token, running->token, sizeof plan->token);
			pthread_mutex_unlock(&running->lock);
		} else if (!web_read_token_file(next->web_token_file, plan->token,
						sizeof plan->token, err, err_len)) {
			return false;
		}
	} else {
		snprintf(plan->token, sizeof plan->token, "%s", next->web_token);
	}
	for (size_t i = 0; plan->restart && i < next->n_web_listen; i++)
		if (!served_now(running, &next->web_listen[i]) &&
		    !can_bind(&next->web_listen[i], err, err_len))
			return false;
	return true;
}

web *web_apply_reload(web *running, server *srv, const kmsd_config *next, const snapshot *s,
		      const web_plan *plan, const char *version)
{
	if (!plan->restart) {
		if (!running)
			return NULL;
		pthread_mutex_lock(&running->lock);
		memcpy(running->token, plan->token, sizeof running->token);
		snprintf(running->token_file, sizeof running->token_file, "%s", next->web_token_file);
		pthread_mutex_unlock(&running->lock);
		web_deadline_set(running->deadline, next->web_timeout);
		web_update(running, next, s);
		return running;
	}
	if (running) {
		web_stop(running); /* closes its listeners and their connections */
		log_info("web: old listeners closed");
	}
	if (!next->web)
		return NULL;
	char err[256];
	web *w = web_open_with_token(next, plan->token, err, sizeof err);
	if (w) {
		web_update(w, next, s);
		if (!web_start(w, srv, next, version, err, sizeof err)) {
			web_stop(w);
			w = NULL;
		}
	}
	if (!w)
		log_error("web: the web side is off until the next reload: %s", err);
	return w;
}
