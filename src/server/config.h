/* kmsd.conf: one "key = value" per line, '#' comments, strict.
 *
 * Unknown keys, malformed values and values out of range are errors that
 * name the file and line ("kmsd.conf:12: idle-timeout: ..."). The command
 * line's -o KEY=VALUE goes through the same parser, after the file, so it
 * overrides it; for the repeatable `listen`, the first -l/-o listen
 * replaces the file's list instead of adding to it. A leading UTF-8 byte
 * order mark is skipped. A setting given twice in a file is an error naming
 * both lines, unless it is a list (listen, allow...), where the same line
 * twice is only a warning. Every setting is a row of the table in
 * config_table.c (see config_setting.h). The parser only parses:
 * no I/O beyond reading the file, no exit, no printing. */
#ifndef KMSD_SERVER_CONFIG_H
#define KMSD_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "base/guid.h"
#include "kms/epid.h"
#include "kms/policy.h"
#include "server/access.h"
#include "server/dns_config.h"

#define CONFIG_MAX_LISTEN 32
#define CONFIG_MAX_EPIDS 32
#define CONFIG_MAX_SERVED 64
#define CONFIG_MAX_CIDRS 64
#define CONFIG_MAX_WEB_LISTEN 4

typedef struct config_listen {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char text[80];
} config_listen;

typedef struct config_epid {
	kms_guid id;                  /* an application or a KMS id */
	char epid[KMS_EPID_TEXT_MAX];
} config_epid;

enum config_origin { CONFIG_DEFAULT, CONFIG_FILE, CONFIG_COMMAND_LINE };

typedef struct kmsd_config {
	config_listen listen[CONFIG_MAX_LISTEN];
	size_t n_listen;
	enum config_origin listen_origin;
	bool listen_failure_stop;         /* listen-failure = stop: one address failing stops */
	bool listen_freebind;             /* IP_FREEBIND: bind addresses not up yet */

	config_epid epids[CONFIG_MAX_EPIDS];
	size_t n_epids;
	uint8_t hwid[8];
	bool hwid_auto;                   /* hwid = auto: generated per host and kept */
	uint32_t lcid;
	uint32_t host_build;              /* 0: each key picks an allowed build */
	uint32_t activation_interval;     /* minutes */
	uint32_t renewal_interval;        /* minutes */

	bool count_real;
	int64_t count_window;             /* seconds */
	int64_t activity_retention;       /* seconds of the store's activity log (web history) */
	kms_product_scope scope;
	kms_guid served[CONFIG_MAX_SERVED];
	size_t n_served;
	bool refuse_retail, refuse_preview;
	char product_data[256];           /* a KmsDataBase.xml replacing the built-in table; "" none */
	bool client_time_check;
	int64_t max_time_skew;            /* seconds */
	uint32_t max_n_policy;
	bool ndr64, btfn;

	cidr allow[CONFIG_MAX_CIDRS], deny[CONFIG_MAX_CIDRS];
	size_t n_allow, n_deny;
	unsigned rate_limit;              /* new connections per second per address; 0 = off */

	int max_connections;
	unsigned max_per_address;         /* connections per address; 0 = no cap */
	unsigned max_per_prefix;          /* per /24 or /64; 0 = no cap */
	int idle_timeout;                 /* seconds */
	unsigned max_requests;            /* per connection; 0 = unlimited */
	int threads;                      /* 0 = one per core */

	char log_target[320];             /* stderr | syslog | file:/path */
	int log_level;                    /* enum log_level */
	int log_facility;                 /* syslog(3) facility code (LOG_DAEMON...) */
	char user[64], group[64];
	bool allow_root;
	char pidfile[256];
	bool foreground;
	char store[320];                  /* none | sqlite:/path */
	bool store_sync_full;             /* store-synchronous = full */
	int store_broken;                 /* store-broken: enum store_broken */
	char store_password_file[256];    /* the PostgreSQL password, read at start */

	bool web;                         /* the dashboard, JSON API and /metrics */
	config_listen web_listen[CONFIG_MAX_WEB_LISTEN];
	size_t n_web_listen;
	enum config_origin web_listen_origin;
	char web_token[128];              /* bearer token; empty: none */
	char web_token_file[256];         /* or read from this file at start */
	int web_timeout;                  /* seconds a web connection may live, whatever it does */
	dns_publish_config dns;           /* dns-*: publishing the SRV record */
} kmsd_config;

typedef struct config_error {
	char message[512];                /* "FILE:LINE: key: what is wrong" */
	char warnings[1024];              /* lines of what is odd but accepted */
} config_error;

void config_defaults(kmsd_config *cfg);

/* Read a file. A missing file is an error unless missing_ok (the default
 * path, which a fresh install may not have). */
bool config_load_file(kmsd_config *cfg, const char *path, bool missing_ok, config_error *err);

/* Parse configuration text; `name` is used in error messages. */
bool config_load_buffer(kmsd_config *cfg, const char *name, const char *text, size_t len,
			config_error *err);

/* Apply one "key=value" (or "key = value") from the command line. */
bool config_apply_option(kmsd_config *cfg, const char *key_value, const char *source, int line,
			 config_error *err);

/* Rules across settings, checked once everything is read: a web listener
 * on a non-loopback address needs a token. */
bool config_check(const kmsd_config *cfg, config_error *err);

/* True for 127.0.0.0/8 and ::1. */
bool config_is_loopback(const config_listen *a);

/* The effective configuration, as a valid kmsd.conf. */
void config_dump(const kmsd_config *cfg, FILE *out);

/* The settings a reload does not apply (read once at start) whose value
 * differs between the running configuration and the one read: their
 * names, separated by ", ", in names (cap bytes). Returns how many. */
size_t config_restart_changes(const kmsd_config *running, const kmsd_config *next, char *names,
			      size_t cap);

/* Every setting, one line each: NAME, TYPE, DEFAULT (- for none), when a
 * change takes effect (reload or restart) and a help line, separated by
 * tabs (kmsd -S; the tests hold the sample file and the man page to it). */
void config_list_settings(FILE *out);

/* Nothing is allocated today; kept so callers need not change if it is. */
void config_free(kmsd_config *cfg);

#endif
