/* Starting the daemon, serving until a stop signal, and stopping.
 *
 * Start goes in stages (run below), each needing the ones before it:
 * signals blocked before any thread exists; the log; the listeners and the
 * web bound while still root; the background and the pidfile; the store's
 * directory handed to the user; the privilege drop; the store (its writer
 * is a thread); settings, counting and metrics; the DNS publisher; the
 * workers; the web. Whatever stage fails, stop() releases what the stages
 * before it made, so an exit at start leaks nothing. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "crypto/crypto.h"
#include "kmsd/kmsd.h"
#include "server/secret_file.h"
#include "server/settings.h"
#include "server/start_check.h"
#include "server/system.h"
#include "store/store_uri.h"

/* The store setting, with the password of store-password-file (read now,
 * as the user kmsd runs as) added to it. */
static bool store_spec_with_secret(const kmsd_config *cfg, char *spec, size_t cap, char *err,
				   size_t err_len)
{
	if (!cfg->store_password_file[0]) {
		snprintf(spec, cap, "%s", cfg->store);
		return true;
	}
	char password[256];
	if (!secret_read("store-password-file", cfg->store_password_file, password,
			 sizeof password, err, err_len))
		return false;
	bool ok = store_uri_with_password(cfg->store, password, spec, cap);
	explicit_bzero(password, sizeof password);
	if (!ok)
		snprintf(err, err_len, "store-password-file: the store setting and the password are "
			 "too long together");
	return ok;
}

static unsigned long long loaded;

/* The store's own lines: a shared database's outage and its return. */
static void store_log(void *ctx, bool error, const char *message)
{
	(void)ctx;
	if (error)
		log_error("%s", message);
	else
		log_info("%s", message);
}

/* Clients other hosts recorded in a shared store (from the store's thread). */
static void follow_seen(void *ctx, const kms_guid *app, const kms_guid *cmid, int64_t last_seen)
{
	client_count_observe(ctx, app, cmid, last_seen);
}

static void count_seen(void *ctx, const kms_guid *app, const kms_guid *cmid, int64_t last_seen)
{
	server *srv = ctx;
	client_count_observe(srv->counter, app, cmid, last_seen);
	loaded++;
}

/* Signals arrive on a descriptor in the main thread only: blocked before
 * any thread (workers, the store's writer) exists. */
static void block_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, mask, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* A descriptor per connection: allow as many as the hard limit does. */
static void raise_file_limit(void)
{
	struct rlimit files;
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
		files.rlim_cur = files.rlim_max;
		setrlimit(RLIMIT_NOFILE, &files);
	}
}

/* Bound now, as root if need be; served once privileges are dropped. */
static bool bind_listeners(kmsd_daemon *d, const kmsd_config *cfg, char *err, size_t err_len)
{
	int from_systemd = listeners_from_systemd(&d->srv.listeners, err, err_len);
	if (from_systemd < 0) {
		log_error("%s", err);
		return false;
	}
	if (from_systemd > 0)
		log_info("using %d socket(s) from systemd", from_systemd);
	if (!update_listeners(&d->srv, cfg, false) && cfg->listen_failure_stop) {
		log_error("stopping: an address could not be opened (listen-failure = stop)");
		return false;
	}
	if (!d->srv.listeners) {
		log_error("no address to listen on: none of the %zu listen address(es) could be "
			  "opened", cfg->n_listen);
		return false;
	}
	if (cfg->web && !(d->http = web_open(cfg, err, err_len))) {
		log_error("%s", err);
		return false;
	}
	return true;
}

/* The background (unless -f), the pidfile, the store's directory given to
 * the user, then the privilege drop. */
static bool leave_root(kmsd_daemon *d, const command_line *cl, const kmsd_config *cfg,
		       char *err, size_t err_len)
{
	if (!cl->foreground) {
		bool to_stderr = strcmp(cfg->log_target, "stderr") == 0;
		if (to_stderr)
			log_info("going to the background: log = stderr goes to syslog from now on "
				 "(set log = file:/PATH to choose, or run with -f)");
		if (!system_daemonize(err, err_len)) {
			log_error("%s", err);
			return false;
		}
		/* stderr is /dev/null now: lines written there would be lost */
		log_daemonized();
		if (to_stderr && !open_log(cfg, err, err_len)) {
			log_error("%s", err);
			return false;
		}
	}
	if (cfg->pidfile[0]) {
		if (!system_write_pidfile(cfg->pidfile, err, err_len)) {
			log_error("%s", err);
			return false;
		}
		d->pidfile_written = true;
	}
	const char *store_file = store_spec_file(cfg->store);
	if (store_file && geteuid() == 0 && cfg->user[0] &&
	    !system_prepare_state(store_file, cfg->user, err, err_len)) {
		log_error("%s", err);
		return false;
	}
	/* not root: start_check found it is that user already */
	if (cfg->user[0] && geteuid() == 0) {
		if (!system_drop_privileges(cfg->user, cfg->group, err, err_len)) {
			log_error("%s", err);
			return false;
		}
		log_info("running as user %s", cfg->user);
	}
	return true;
}

/* The store's writer is a thread: opened after daemonising. */
static bool open_store(kmsd_daemon *d, const kmsd_config *cfg, char *err, size_t err_len)
{
	if (store_spec_kind(cfg->store) == STORE_KIND_NONE)
		return true;
	store_options so = { .log = store_log, .activity_retention = cfg->activity_retention,
			     .sync_full = cfg->store_sync_full,
			     .broken = (enum store_broken)cfg->store_broken };
	char spec[sizeof cfg->store + 512];
	if (!store_spec_with_secret(cfg, spec, sizeof spec, err, err_len)) {
		log_error("%s", err);
		return false;
	}
	d->srv.store = store_open_with(spec, &so, err, err_len);
	explicit_bzero(spec, sizeof spec);
	if (!d->srv.store && so.broken == STORE_BROKEN_EXIT) {
		log_error("cannot open the client store: %s", err);
		return false;
	}
	/* activation goes on without the store: better than a restart loop */
	if (!d->srv.store)
		log_error("cannot open the client store: %s; SERVING WITHOUT A STORE: no "
			  "client is recorded and counts start from zero (store-broken = "
			  "exit refuses to start instead)", err);
	return true;
}

/* Settings, the count (from the store), the connection table, metrics. */
static bool build_host(kmsd_daemon *d, const kmsd_config *cfg, char *err, size_t err_len)
{
	server *srv = &d->srv;
	snapshot *s = calloc(1, sizeof *s);
	if (!s || !settings_build(cfg, time(NULL), srv->store, s, err, err_len)) {
		log_error("%s", s ? err : "out of memory");
		free(s);
		return false;
	}
	atomic_store(&srv->settings, s);
	srv->counter = client_count_new(&kms_product_table, cfg->count_window,
					2 * (size_t)cfg->max_n_policy);
	/* a random key per process: nobody can pick addresses that share a
	 * set in the table (room for four entries per allowed connection) */
	uint8_t peers_key[SIPHASH_KEY_LEN];
	if (!random_bytes(peers_key, sizeof peers_key)) {
		log_error("cannot get random bytes for the connection table");
		return false;
	}
	srv->peers = peers_new(4 * (size_t)cfg->max_connections, peers_key);
	srv->metrics = metrics_new(time(NULL));
	if (!srv->counter || !srv->metrics || !srv->peers) {
		log_error("cannot start: out of memory");
		return false;
	}
	if (srv->store) {
		loaded = 0;
		/* the count keeps no more: a shared store reads no more at start */
		size_t per_app = client_count_capacity(srv->counter);
		store_limit_seen(srv->store, per_app);
		if (!store_load_seen(srv->store, time(NULL) - cfg->count_window, count_seen, srv))
			log_warning("cannot load clients from the store: %s", store_error(srv->store));
		const char *file = store_spec_file(cfg->store);
		char shown[sizeof cfg->store];
		store_spec_display(file ? file : cfg->store, shown, sizeof shown);
		log_info("client store %s: %s%llu clients seen in the last %lld days", shown,
			 loaded >= per_app ? "at least " : "", loaded,
			 (long long)(cfg->count_window / 86400));
		/* several hosts on one database: count the others' clients too */
		if (!store_follow(srv->store, cfg->count_window, follow_seen, srv->counter))
			log_warning("%s", store_error(srv->store));
	}
	return true;
}

/* The threads: DNS publisher, workers, web (its failure is not fatal). */
static bool start_threads(kmsd_daemon *d, const kmsd_config *cfg, char *err, size_t err_len)
{
	d->publisher = dns_publisher_start(cfg, err, err_len);
	if (!d->publisher) {
		log_error("%s", err);
		return false;
	}
	int threads = cfg->threads > 0 ? cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1)
		threads = 1;
	if (!workers_start(&d->srv, threads, err, err_len)) {
		log_error("cannot start: %s", err);
		return false;
	}
	if (d->http) {
		web_update(d->http, cfg, atomic_load(&d->srv.settings));
		if (!web_start(d->http, &d->srv, cfg, KMSD_VERSION, err, err_len)) {
			log_error("%s", err);
			web_stop(d->http);
			d->http = NULL;
		}
	}
	log_info("kmsd %s ready: %d worker(s), count=%s", KMSD_VERSION, threads,
		 cfg->count_real ? "real" : "always");
	return true;
}

/* Until SIGTERM or SIGINT; SIGHUP reloads. */
static void serve(kmsd_daemon *d, const command_line *cl, kmsd_config *cfg)
{
	system_notify("READY=1\nSTATUS=serving KMS activations");
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(d->signals, &si, sizeof si);
		if (n != sizeof si) {
			if (n < 0 && errno == EINTR)
				continue;
			log_error("signal descriptor failed: %s", strerror(errno));
			return;
		}
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading %s", cl->config_path);
			reload(d, cl, cfg);
			continue;
		}
		log_info("%s: stopping", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
		return;
	}
}

/* Everything the stages made, in reverse order; what was not made is
 * NULL, 0 or -1 and skipped. */
static void stop(kmsd_daemon *d, const kmsd_config *cfg, bool served)
{
	server *srv = &d->srv;
	if (served)
		system_notify("STOPPING=1");
	web_stop(d->http);
	workers_stop(srv);
	dns_publisher_stop(d->publisher); /* deletes this host's SRV record */
	while (srv->listeners) {
		listener *l = srv->listeners;
		srv->listeners = l->next;
		listener_close(l);
	}
	if (d->pidfile_written)
		unlink(cfg->pidfile);
	settings_free(atomic_load(&srv->settings));
	peers_free(srv->peers);
	if (srv->store) {
		store_writer_stats ws;
		store_stop_writing(srv->store); /* writes what is queued */
		store_writer_stats_get(srv->store, &ws);
		store_close(srv->store);
		log_info("client store closed: %llu records written, %llu dropped, %llu saved "
			 "for the next start", (unsigned long long)ws.written,
			 (unsigned long long)ws.dropped, (unsigned long long)ws.saved);
	}
	client_count_free(srv->counter); /* after the store: its follower feeds it */
	if (d->signals >= 0)
		close(d->signals);
	if (served) {
		uint64_t answers[RESULT_KINDS];
		metrics_results_total(srv->metrics, answers);
		log_info("stopped: %llu activations, %llu refusals, %llu rejected PDUs",
			 (unsigned long long)(answers[RESULT_ACTIVATED] +
					      answers[RESULT_BELOW_THRESHOLD]),
			 (unsigned long long)(answers[RESULT_REFUSED] + answers[RESULT_INVALID]),
			 (unsigned long long)metrics_rejected_pdus(srv->metrics));
	}
	metrics_free(srv->metrics);
}

int run(const command_line *cl, kmsd_config *cfg, const config_error *warnings)
{
	char err[256];
	kmsd_daemon d;
	memset(&d, 0, sizeof d);
	d.signals = -1;
	sigset_t mask;
	block_signals(&mask);
	if (!open_log(cfg, err, sizeof err)) {
		fprintf(stderr, "kmsd: %s\n", err);
		return 1;
	}
	raise_file_limit();
	log_config_warnings(warnings);
	if (!start_check(cfg, true, err, sizeof err)) {
		log_error("%s", err);
		return 1;
	}
	bool started = bind_listeners(&d, cfg, err, sizeof err) &&
		       leave_root(&d, cl, cfg, err, sizeof err) &&
		       open_store(&d, cfg, err, sizeof err) &&
		       build_host(&d, cfg, err, sizeof err);
	if (started) {
		d.signals = signalfd(-1, &mask, SFD_CLOEXEC);
		if (d.signals < 0)
			log_error("cannot start: %s", strerror(errno));
		started = d.signals >= 0 && start_threads(&d, cfg, err, sizeof err);
	}
	if (started)
		serve(&d, cl, cfg);
	stop(&d, cfg, started);
	return started ? 0 : 1;
}
