/* The daemon's composition root (src/kmsd/): what its files share.
 *
 * main.c reads the command line and the configuration; run.c starts the
 * layers in order (listeners and web bound as root, privileges dropped,
 * store, workers, DNS publisher, web), waits for signals and stops them in
 * the reverse order; reload.c applies a new configuration on SIGHUP. */
#ifndef KMSD_KMSD_KMSD_H
#define KMSD_KMSD_KMSD_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/dns_publish.h"
#include "server/config.h"
#include "server/server.h"
#include "web/web.h"

#define KMSD_VERSION "0.1.0"
#define DEFAULT_CONFIG "/etc/kmsd.conf"
#define MAX_CLI_OPTIONS 64

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

/* 0, or the exit status (2) of a command line kmsd cannot run with. */
int command_line_parse(int argc, char **argv, command_line *cl);
void command_line_free(command_line *cl);
/* The file, then the command line over it. */
bool load_config(const command_line *cl, kmsd_config *cfg, config_error *err);
/* The parser's warnings (a list line repeated), one log line each. */
void log_config_warnings(const config_error *err);
bool open_log(const kmsd_config *cfg, char *err, size_t err_len);

/* What the running daemon holds, released by run.c in reverse order. */
typedef struct kmsd_daemon {
	server srv;
	web *http;
	dns_publisher *publisher;   /* the SRV record publisher (dns-publish) */
	int signals;                /* signalfd of SIGHUP, SIGTERM, SIGINT; -1 */
	bool pidfile_written;
} kmsd_daemon;

/* Open what the configuration lists and is not open yet; close the rest.
 * Sockets from systemd are kept whatever the file says. False if an
 * address could not be opened (each is logged). */
bool update_listeners(server *srv, const kmsd_config *cfg, bool running);
/* SIGHUP: the configuration again, applied whole or not at all. */
void reload(kmsd_daemon *d, const command_line *cl, kmsd_config *current);
/* Start, serve until SIGTERM/SIGINT, stop: the exit status. */
int run(const command_line *cl, kmsd_config *cfg, const config_error *warnings);

#endif
