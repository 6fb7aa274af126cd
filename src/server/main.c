/* kmsd: the KMS host daemon.
 *
 * The main thread loads the configuration, binds the listeners, drops
 * privileges, starts one worker loop per core and then only waits for
 * signals: SIGHUP reloads (listeners included), SIGTERM/SIGINT stop after
 * the answers already computed are sent. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "server/config.h"
#include "server/dns_publish.h"
#include "server/log.h"
#include "server/server.h"
#include "server/secret_file.h"
#include "server/settings.h"
#include "server/start_check.h"
#include "server/system.h"
#include "store/store_uri.h"
#include "web/web.h"

#define KMSD_VERSION "0.1.0"
#define DEFAULT_CONFIG "/etc/kmsd.conf"
#define MAX_CLI_OPTIONS 64

static const char usage[] =
	"usage: kmsd [-fthV] [-c FILE] [-l ADDR:PORT]... [-o KEY=VALUE]...\n"
	"  -f             stay in the foreground\n"
	"  -c FILE        configuration file (default " DEFAULT_CONFIG ")\n"
	"  -l ADDR:PORT   listen address, repeatable; replaces the file's list\n"
	"  -o KEY=VALUE   any kmsd.conf setting, repeatable; overrides the file\n"
	"  -t             check the configuration and exit (-t -v also prints it)\n"
	"  -v             with -t, print the effective configuration\n"
	"  -V             print the version\n"
	"  -h             this help\n";

/* What the command line said, kept to re-apply over the file on reload. */
typedef struct command_line {
	const char *config_path;
	bool config_path_given;
	bool foreground;
	bool check_only;
	bool verbose;
	const char *options[MAX_CLI_OPTIONS]; /* "key=value", -l as "listen=..." */
	char *owned[MAX_CLI_OPTIONS];
	int n_options;
} command_line;

static int parse_command_line(int argc, char **argv, command_line *cl)
{
	int opt;
	cl->config_path = DEFAULT_CONFIG;
	while ((opt = getopt(argc, argv, "fc:l:o:tvVh")) != -1) {
		switch (opt) {
		case 'f':
			cl->foreground = true;
			break;
		case 'c':
			cl->config_path = optarg;
			cl->config_path_given = true;
			break;
		case 'l':
		case 'o':
			if (cl->n_options == MAX_CLI_OPTIONS) {
				fprintf(stderr, "kmsd: too many -l/-o options\n");
				return 2;
			}
			if (opt == 'l') {
				size_t n = strlen(optarg) + sizeof "listen=";
				char *s = malloc(n);
				if (!s)
					return 2;
				snprintf(s, n, "listen=%s", optarg);
				cl->owned[cl->n_options] = s;
				cl->options[cl->n_options++] = s;
			} else {
				cl->options[cl->n_options++] = optarg;
			}
			break;
		case 't':
			cl->check_only = true;
			break;
		case 'v':
			cl->verbose = true;
			break;
		case 'V':
			printf("kmsd %s\n", KMSD_VERSION);
			exit(0);
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	return 0;
}

static void free_command_line(command_line *cl)
{
	for (int i = 0; i < cl->n_options; i++)
		free(cl->owned[i]);
}

/* The file, then the command line over it. */
static bool load_config(const command_line *cl, kmsd_config *cfg, config_error *err)
{
	memset(err, 0, sizeof *err);
	config_defaults(cfg);
	if (!config_load_file(cfg, cl->config_path, !cl->config_path_given, err))
		return false;
	for (int i = 0; i < cl->n_options; i++)
		if (!config_apply_option(cfg, cl->options[i], "-o", i + 1, err))
			return false;
	return config_check(cfg, err);
}

/* The parser's warnings (a list line repeated), one log line each. */
static void log_config_warnings(const config_error *err)
{
	const char *p = err->warnings;
	while (*p) {
		size_t n = strcspn(p, "\n");
		log_warning("%.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static bool same_address(const listener *l, const config_listen *a)
{
	return !l->from_systemd && l->addr_len == a->addr_len &&
	       memcmp(&l->addr, &a->addr, a->addr_len) == 0;
}

/* Open what the configuration lists and is not open yet; close the rest.
 * Sockets from systemd are kept whatever the file says. */
static bool update_listeners(server *srv, const kmsd_config *cfg, bool running)
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

static bool open_log(const kmsd_config *cfg, char *err, size_t err_len)
{
	return log_open(cfg->log_target, (enum log_level)cfg->log_level, cfg->log_facility, err,
			err_len);
}

/* The SRV record publisher (dns-publish), its own thread. */
static dns_publisher *publisher;

typedef struct seen_list {
	struct seen_row {
		kms_guid app, cmid;
		int64_t last_seen;
	} *rows;
	size_t n, cap;
	bool failed;
} seen_list;

static void collect_seen(void *ctx, const kms_guid *app, const kms_guid *cmid, int64_t last_seen)
{
	seen_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4096;
		struct seen_row *rows = realloc(l->rows, cap * sizeof *rows);
		if (!rows) {
			l->failed = true;
			return;
		}
		l->rows = rows;
		l->cap = cap;
	}
	l->rows[l->n++] = (struct seen_row){ *app, *cmid, last_seen };
}

/* Rebuild the count from the store, so clients removed with kmsc forget
 * (or pruned) leave it; those answered meanwhile are counted again. The
 * count is replaced only once the store has been read whole: a database
 * away at reload leaves it as it was. */
static void recount(server *srv, int64_t window)
{
	if (!srv->store || !srv->counter)
		return;
	/* those answered just now, still queued, then the store: a record
	 * written in between is in both (counted once), and a reload never
	 * waits for a writer that is behind */
	seen_list l = { 0 };
	store_queued_seen(srv->store, time(NULL) - window, collect_seen, &l);
	if (!store_load_seen(srv->store, time(NULL) - window, collect_seen, &l) || l.failed) {
		log_warning("reload: cannot reload clients from the store (%s); the count is kept",
			    l.failed ? "out of memory" : store_error(srv->store));
	} else {
		client_count_clear(srv->counter);
		for (size_t i = 0; i < l.n; i++)
			client_count_observe(srv->counter, &l.rows[i].app, &l.rows[i].cmid,
					     l.rows[i].last_seen);
	}
	free(l.rows);
}

static void reload(server *srv, web **http, const command_line *cl, kmsd_config *current)
{
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
	if (strcmp(next.store, current->store) != 0) {
		char shown[sizeof next.store];
		store_spec_display(next.store, shown, sizeof shown);
		log_warning("reload: store changed to %s; restart kmsd to use it", shown);
	}
	if (!s || !settings_build(&next, time(NULL), srv->store, s, err, sizeof err)) {
		log_error("reload failed, keeping the running configuration: %s",
			  s ? err : "out of memory");
		free(s);
		config_free(&next);
		system_notify("READY=1");
		return;
	}
	if (!dns_publisher_reload(publisher, &next, err, sizeof err)) {
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

static int run(const command_line *cl, kmsd_config *cfg, const config_error *warnings)
{
	char err[256];
	server srv;
	memset(&srv, 0, sizeof srv);

	/* signals arrive on a descriptor in the main thread only: block them
	 * before any thread (workers, the store's writer) exists */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!open_log(cfg, err, sizeof err)) {
		fprintf(stderr, "kmsd: %s\n", err);
		return 1;
	}
	/* a descriptor per connection: allow as many as the hard limit does */
	struct rlimit files;
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
		files.rlim_cur = files.rlim_max;
		setrlimit(RLIMIT_NOFILE, &files);
	}
	log_config_warnings(warnings);
	if (!start_check(cfg, true, err, sizeof err)) {
		log_error("%s", err);
		return 1;
	}

	int from_systemd = listeners_from_systemd(&srv.listeners, err, sizeof err);
	if (from_systemd < 0) {
		log_error("%s", err);
		return 1;
	}
	if (from_systemd > 0)
		log_info("using %d socket(s) from systemd", from_systemd);
	if (!update_listeners(&srv, cfg, false) && cfg->listen_failure_stop) {
		log_error("stopping: an address could not be opened (listen-failure = stop)");
		return 1;
	}
	if (!srv.listeners) {
		log_error("no address to listen on: none of the %zu listen address(es) could be "
			  "opened", cfg->n_listen);
		return 1;
	}
	/* bound now, as root if need be; served once privileges are dropped */
	web *http = NULL;
	if (cfg->web && !(http = web_open(cfg, err, sizeof err))) {
		log_error("%s", err);
		return 1;
	}

	if (!cl->foreground) {
		bool to_stderr = strcmp(cfg->log_target, "stderr") == 0;
		if (to_stderr)
			log_info("going to the background: log = stderr goes to syslog from now on "
				 "(set log = file:/PATH to choose, or run with -f)");
		if (!system_daemonize(err, sizeof err)) {
			log_error("%s", err);
			return 1;
		}
		/* stderr is /dev/null now: lines written there would be lost */
		log_daemonized();
		if (to_stderr && !open_log(cfg, err, sizeof err)) {
			log_error("%s", err);
			return 1;
		}
	}
	if (cfg->pidfile[0] && !system_write_pidfile(cfg->pidfile, err, sizeof err)) {
		log_error("%s", err);
		return 1;
	}
	bool use_store = strcmp(cfg->store, "none") != 0;
	if (use_store && geteuid() == 0 && cfg->user[0] && !store_spec_shared(cfg->store) &&
	    !system_prepare_state(cfg->store + 7, cfg->user, err, sizeof err)) {
		log_error("%s", err);
		return 1;
	}
	/* not root: start_check found it is that user already */
	if (cfg->user[0] && geteuid() == 0) {
		if (!system_drop_privileges(cfg->user, cfg->group, err, sizeof err)) {
			log_error("%s", err);
			return 1;
		}
		log_info("running as user %s", cfg->user);
	}

	/* the store's writer is a thread: open it after daemonising */
	if (use_store) {
		store_options so = { .log = store_log, .activity_retention = cfg->activity_retention,
				     .sync_full = cfg->store_sync_full,
				     .broken = (enum store_broken)cfg->store_broken };
		char spec[sizeof cfg->store + 512];
		if (!store_spec_with_secret(cfg, spec, sizeof spec, err, sizeof err)) {
			log_error("%s", err);
			return 1;
		}
		srv.store = store_open_with(spec, &so, err, sizeof err);
		explicit_bzero(spec, sizeof spec);
		if (!srv.store && so.broken == STORE_BROKEN_EXIT) {
			log_error("cannot open the client store: %s", err);
			return 1;
		}
		/* activation goes on without the store: better than a restart loop */
		if (!srv.store)
			log_error("cannot open the client store: %s; SERVING WITHOUT A STORE: no "
				  "client is recorded and counts start from zero (store-broken = "
				  "exit refuses to start instead)", err);
	}
	snapshot *s = calloc(1, sizeof *s);
	if (!s || !settings_build(cfg, time(NULL), srv.store, s, err, sizeof err)) {
		log_error("%s", s ? err : "out of memory");
		return 1;
	}
	atomic_store(&srv.settings, s);
	srv.counter = client_count_new(&kms_product_table, cfg->count_window,
				       2 * (size_t)cfg->max_n_policy);
	/* a random key per process: nobody can pick addresses that share a
	 * set in the table (room for four entries per allowed connection) */
	uint8_t peers_key[SIPHASH_KEY_LEN];
	if (!random_bytes(peers_key, sizeof peers_key)) {
		log_error("cannot get random bytes for the connection table");
		return 1;
	}
	srv.peers = peers_new(4 * (size_t)cfg->max_connections, peers_key);
	srv.metrics = metrics_new(time(NULL));
	if (srv.counter && srv.store) {
		loaded = 0;
		if (!store_load_seen(srv.store, time(NULL) - cfg->count_window, count_seen, &srv))
			log_warning("cannot load clients from the store: %s", store_error(srv.store));
		char shown[sizeof cfg->store];
		store_spec_display(cfg->store + (store_spec_shared(cfg->store) ? 0 : 7), shown,
				   sizeof shown);
		log_info("client store %s: %llu clients seen in the last %lld days", shown, loaded,
			 (long long)(cfg->count_window / 86400));
		/* several hosts on one database: count the others' clients too */
		if (!store_follow(srv.store, cfg->count_window, follow_seen, srv.counter))
			log_warning("%s", store_error(srv.store));
	}

	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	publisher = dns_publisher_start(cfg, err, sizeof err);
	if (!publisher) {
		log_error("%s", err);
		return 1;
	}

	int threads = cfg->threads > 0 ? cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1)
		threads = 1;
	if (!srv.counter || !srv.metrics || !srv.peers || sfd < 0 ||
	    !workers_start(&srv, threads, err, sizeof err)) {
		log_error("cannot start: %s", srv.counter && srv.metrics && srv.peers && sfd >= 0 ? err
										    : strerror(errno));
		return 1;
	}
	if (http) {
		web_update(http, cfg, s);
		if (!web_start(http, &srv, cfg, KMSD_VERSION, err, sizeof err)) {
			log_error("%s", err);
			web_stop(http);
			http = NULL;
		}
	}
	log_info("kmsd %s ready: %d worker(s), count=%s", KMSD_VERSION, threads,
		 cfg->count_real ? "real" : "always");
	system_notify("READY=1\nSTATUS=serving KMS activations");

	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof si);
		if (n != sizeof si) {
			if (n < 0 && errno == EINTR)
				continue;
			log_error("signal descriptor failed: %s", strerror(errno));
			break;
		}
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading %s", cl->config_path);
			reload(&srv, &http, cl, cfg);
			continue;
		}
		log_info("%s: stopping", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
		break;
	}

	system_notify("STOPPING=1");
	web_stop(http);
	workers_stop(&srv);
	dns_publisher_stop(publisher); /* deletes this host's SRV record */
	while (srv.listeners) {
		listener *l = srv.listeners;
		srv.listeners = l->next;
		listener_close(l);
	}
	if (cfg->pidfile[0])
		unlink(cfg->pidfile);
	settings_free(atomic_load(&srv.settings));
	peers_free(srv.peers);
	if (srv.store) {
		store_writer_stats ws;
		store_stop_writing(srv.store); /* writes what is queued */
		store_writer_stats_get(srv.store, &ws);
		store_close(srv.store);
		log_info("client store closed: %llu records written, %llu dropped, %llu saved "
			 "for the next start", (unsigned long long)ws.written,
			 (unsigned long long)ws.dropped, (unsigned long long)ws.saved);
	}
	client_count_free(srv.counter); /* after the store: its follower feeds it */
	close(sfd);
	log_info("stopped: %llu activations, %llu refusals, %llu rejected PDUs",
		 (unsigned long long)srv.activations, (unsigned long long)srv.refusals,
		 (unsigned long long)srv.rejected_pdus);
	metrics_free(srv.metrics);
	return 0;
}

/* kmsd -t: everything a start would check, without starting. */
static int check_config(const command_line *cl, kmsd_config *cfg)
{
	char why[256];
	snapshot s;
	memset(&s, 0, sizeof s);
	if (!settings_build(cfg, time(NULL), NULL, &s, why, sizeof why)) {
		fprintf(stderr, "kmsd: %s\n", why);
		return 1;
	}
	host_settings_free(&s.host);
	if (!start_check(cfg, true, why, sizeof why)) {
		fprintf(stderr, "kmsd: %s\n", why);
		return 1;
	}
	if (!dns_publish_check(cfg, why, sizeof why)) {
		fprintf(stderr, "kmsd: %s\n", why);
		return 1;
	}
	if (cl->verbose)
		config_dump(cfg, stdout);
	printf("kmsd: configuration OK\n");
	return 0;
}

int main(int argc, char **argv)
{
	command_line cl = { 0 };
	kmsd_config cfg;
	config_error err;
	int rc = parse_command_line(argc, argv, &cl);
	bool parsed = rc == 0;
	if (rc == 0 && !load_config(&cl, &cfg, &err)) {
		fprintf(stderr, "kmsd: %s\n", err.message);
		rc = 1;
	} else if (rc == 0 && cl.check_only) {
		for (const char *p = err.warnings; *p;) {
			size_t n = strcspn(p, "\n");
			fprintf(stderr, "kmsd: warning: %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
		rc = check_config(&cl, &cfg);
	} else if (rc == 0) {
		if (cl.foreground)
			cfg.foreground = true;
		cl.foreground = cfg.foreground;
		rc = run(&cl, &cfg, &err);
	}
	if (parsed)
		config_free(&cfg);
	free_command_line(&cl);
	return rc;
}
