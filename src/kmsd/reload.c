/* SIGHUP: the configuration file read again and checked whole (the web's
 * listeners and token, the settings snapshot, the DNS record, the log)
 * before anything changes; then the workers switch to the new snapshot,
 * the count is rebuilt from the store and the listeners follow the list. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "kmsd/kmsd.h"
#include "server/settings.h"
#include "server/start_check.h"
#include "server/system.h"

static bool same_address(const listener *l, const config_listen *a)
{
	return !l->from_systemd && l->addr_len == a->addr_len &&
	       memcmp(&l->addr, &a->addr, a->addr_len) == 0;
}

bool update_listeners(server *srv, const kmsd_config *cfg, bool running)
{
	bool ok = true;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		const config_listen *a = &cfg->listen[i];
		bool open_already = false;
		for (listener *l = srv->listeners; l; l = l->next)
			open_already |= same_address(l, a);
		if (open_already)
			continue;
		char err[256];
		listener *l = listener_open((const struct sockaddr *)&a->addr, a->addr_len, a->text,
					    cfg->listen_freebind, err, sizeof err);
		if (!l) {
			if (cfg->listen_failure_stop)
				log_error("%s", err);
			else
				log_warning("%s; going on with the other addresses (listen-failure = warn)",
					    err);
			ok = false;
			continue;
		}
		l->next = srv->listeners;
		srv->listeners = l;
		if (running)
			workers_add_listener(srv, l);
		log_info("listening on %s", l->name);
	}
	for (listener **p = &srv->listeners; *p;) {
		listener *l = *p;
		bool wanted = l->from_systemd;
		for (size_t i = 0; i < cfg->n_listen && !wanted; i++)
			wanted = same_address(l, &cfg->listen[i]);
		if (wanted) {
			p = &l->next;
			continue;
		}
		*p = l->next;
		if (running)
			workers_remove_listener(srv, l);
		log_info("no longer listening on %s", l->name);
		listener_close(l);
	}
	return ok;
}

typedef struct recounting {
	client_count *count;
	bool cleared;
} recounting;

static void recount_one(void *ctx, const kms_guid *app, const kms_guid *cmid, int64_t last_seen)
{
	recounting *r = ctx;
	if (!r->cleared)
		client_count_clear(r->count);
	r->cleared = true;
	client_count_observe(r->count, app, cmid, last_seen);
}

/* Rebuild the count from the store, so clients removed with kmsc forget
 * (or pruned) leave it; those answered meanwhile are counted again. The
 * count is replaced only once the store has been read whole: a database
 * away at reload leaves it as it was. */
static void recount(server *srv, int64_t window)
{
	if (!srv->store || !srv->counter)
		return;
	recounting r = { srv->counter, false };
	if (!store_seen_oldest_first(srv->store, time(NULL) - window, recount_one, &r))
		log_warning("reload: cannot reload clients from the store (%s); the count is kept",
			    store_error(srv->store));
	else if (!r.cleared)
		client_count_clear(srv->counter); /* nobody in the window any more */
}

void reload(kmsd_daemon *d, const command_line *cl, kmsd_config *current)
{
	server *srv = &d->srv;
	web **http = &d->http;
	system_notify("RELOADING=1");
	kmsd_config next;
	config_error cerr;
	char err[256];
	if (!load_config(cl, &next, &cerr) || !start_check(&next, false, cerr.message, sizeof cerr.message)) {
		log_error("reload failed, keeping the running configuration: %s", cerr.message);
		config_free(&next);
		system_notify("READY=1");
		return;
	}
	log_config_warnings(&cerr);
	/* the web's listeners and token change together or not at all:
	 * decided first, so a refusal leaves everything as it was */
	web_plan plan;
	if (!web_plan_reload(*http, &next, &plan, err, sizeof err)) {
		log_error("reload failed, keeping the running configuration: %s", err);
		explicit_bzero(&plan, sizeof plan);
		config_free(&next);
		system_notify("READY=1");
		return;
	}
	snapshot *s = calloc(1, sizeof *s);
	char later[512];
	size_t n_later = config_restart_changes(current, &next, later, sizeof later);
	if (n_later)
		log_warning("reload: %s changed; restart kmsd to use %s", later,
			    n_later == 1 ? "it" : "them");
	if (!s || !settings_build(&next, time(NULL), srv->store, s, err, sizeof err)) {
		log_error("reload failed, keeping the running configuration: %s",
			  s ? err : "out of memory");
		free(s);
		config_free(&next);
		system_notify("READY=1");
		return;
	}
	if (!dns_publisher_reload(d->publisher, &next, err, sizeof err)) {
		log_error("reload failed, keeping the running configuration: %s", err);
		settings_free(s);
		config_free(&next);
		system_notify("READY=1");
		return;
	}
	if (!open_log(&next, err, sizeof err))
		log_error("reload: %s; logging stays as it was", err);
	else
		log_reopen();

	snapshot *old = atomic_exchange(&srv->settings, s);
	client_count_set_window(srv->counter, next.count_window);
	recount(srv, next.count_window);
	workers_sync(srv);
	settings_free(old);
	*http = web_apply_reload(*http, srv, &next, s, &plan, KMSD_VERSION);
	explicit_bzero(&plan, sizeof plan);
	if (!update_listeners(srv, &next, true))
		log_warning("some listen addresses could not be opened (after dropping "
			    "privileges ports below 1024 need a restart)");
	config_free(current);
	*current = next;
	log_info("configuration reloaded");
	system_notify("READY=1");
}
