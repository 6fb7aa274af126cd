/* Every kmsd.conf setting, in the order `kmsd -t -v` prints them. A new
 * setting is a row here and the code that uses its field; the sample file
 * (contrib/kmsd.conf) and the man page (man/kmsd.conf.5) are held to this
 * table by tests/integration/test_check_config.py through `kmsd -S`. */
#include "server/config_setting.h"

#include <string.h>
#include <syslog.h>

#include "server/config_special.h"
#include "server/dns_config.h"

#define MINUTE 60
#define HOUR 3600
#define DAY 86400

static const setting_word listen_failures[] = { { "warn", 0 }, { "stop", 1 } };
static const setting_word counts[] = { { "real", 1 }, { "always", 0 } };
static const setting_word log_levels[] = {
	{ "error", 0 }, { "warning", 1 }, { "info", 2 }, { "debug", 3 },
};
static const setting_word facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },     { "auth", LOG_AUTH },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};
static const setting_word synchronous[] = { { "normal", 0 }, { "full", 1 } };
static const setting_word store_broken[] = {
	{ "move-aside", 0 }, { "run-without", 1 }, { "exit", 2 },
};
static const setting_word on_off[] = { { "off", 0 }, { "on", 1 } };

static const setting_addresses listen_list = {
	offsetof(kmsd_config, n_listen), offsetof(kmsd_config, listen_origin), CONFIG_MAX_LISTEN,
	1688,
};
static const setting_addresses web_listen_list = {
	offsetof(kmsd_config, n_web_listen), offsetof(kmsd_config, web_listen_origin),
	CONFIG_MAX_WEB_LISTEN, 8688,
};
static const size_t n_allow = offsetof(kmsd_config, n_allow);
static const size_t n_deny = offsetof(kmsd_config, n_deny);

const config_setting config_settings[] = {
	/* network */
	{ .name = "listen", .type = SETTING_ADDRESSES, SETTING_AT(listen), .aux = &listen_list,
	  .def = "0.0.0.0:1688 [::]:1688", .flags = SETTING_LIST, .reload = AT_SIGHUP,
	  .help = "where to accept clients: ADDR:PORT, [ADDR6]:PORT, ADDR or *:PORT" },
	{ ENUM_ROW("listen-failure", listen_failure_stop, listen_failures), .def = "warn",
	  .reload = AT_SIGHUP, .help = "an address that cannot be opened: warn and go on, or stop" },
	{ BOOL_ROW("listen-freebind", listen_freebind), .def = "no", .reload = AT_SIGHUP,
	  .help = "bind addresses this machine does not have yet (IP_FREEBIND)" },
	/* identity */
	{ .name = "epid", .type = SETTING_SPECIAL, SETTING_AT(epids), .parse = special_epid,
	  .dump = special_epid_dump, .flags = SETTING_LIST, .reload = AT_SIGHUP,
	  .help = "the ePID to answer for a pool (windows, office2010, office2013) or KMS id" },
	{ .name = "hwid", .type = SETTING_SPECIAL, SETTING_AT(hwid), .parse = special_hwid,
	  .dump = special_hwid_dump, .def = "auto", .reload = AT_SIGHUP,
	  .help = "the host's HwId: 16 hex digits, or auto (drawn once, kept in the store)" },
	{ INT_ROW("lcid", lcid, 1, 99999), .def = "1033", .reload = AT_SIGHUP,
	  .help = "language id of generated ePIDs" },
	{ INT_ROW("host-build", host_build, 0, 999999), .check = special_host_build, .def = "0",
	  .reload = AT_SIGHUP, .help = "Windows build of generated ePIDs; 0: one allowed per key" },
	{ DURATION_ROW("activation-interval", activation_interval, MINUTE, MINUTE, 15 * MINUTE,
		       30 * DAY),
	  .def = "120m", .reload = AT_SIGHUP, .help = "retry interval told to clients" },
	{ DURATION_ROW("renewal-interval", renewal_interval, MINUTE, MINUTE, 15 * MINUTE, 30 * DAY),
	  .def = "7d", .reload = AT_SIGHUP, .help = "renewal interval told to clients" },
	/* activation */
	{ ENUM_ROW("count", count_real, counts), .def = "always", .reload = AT_SIGHUP,
	  .help = "client count reported: twice the N policy, or the real distinct machines" },
	{ DURATION_ROW("count-window", count_window, DAY, 1, DAY, 365 * DAY), .def = "30d",
	  .reload = AT_SIGHUP, .help = "how long a machine stays in count = real's count" },
	{ DURATION_ROW("activity-retention", activity_retention, DAY, 1, DAY, 365 * DAY),
	  .def = "30d", .reload = AT_RESTART, .help = "how long the store keeps the activity log" },
	{ .name = "serve", .type = SETTING_SPECIAL, SETTING_AT(served), .parse = special_serve,
	  .dump = special_serve_dump, .def = "all", .flags = SETTING_LIST, .reload = AT_SIGHUP,
	  .help = "products to activate: all, known, unknown, or product groups (repeatable)" },
	{ BOOL_ROW("refuse-retail", refuse_retail), .def = "no", .reload = AT_SIGHUP,
	  .help = "refuse retail product groups" },
	{ BOOL_ROW("refuse-preview", refuse_preview), .def = "no", .reload = AT_SIGHUP,
	  .help = "refuse preview product groups" },
	{ TEXT_ROW("product-data", product_data), .reload = AT_SIGHUP,
	  .help = "a KmsDataBase.xml replacing the built-in products" },
	{ BOOL_ROW("client-time-check", client_time_check), .def = "no", .reload = AT_SIGHUP,
	  .help = "refuse clients whose clock is off by more than max-time-skew" },
	{ DURATION_ROW("max-time-skew", max_time_skew, 1, 1, MINUTE, 30 * DAY), .def = "4h",
	  .reload = AT_SIGHUP, .help = "the clock difference client-time-check allows" },
	{ INT_ROW("max-n-policy", max_n_policy, 1, 100000), .def = "1000", .reload = AT_SIGHUP,
	  .help = "refuse requests asking for more clients" },
	{ BOOL_ROW("ndr64", ndr64), .def = "yes", .reload = AT_SIGHUP,
	  .help = "offer the NDR64 transfer syntax" },
	{ BOOL_ROW("btfn", btfn), .def = "yes", .reload = AT_SIGHUP,
	  .help = "offer bind-time feature negotiation" },
	/* who may connect, and how much */
	{ .name = "allow", .type = SETTING_SPECIAL, SETTING_AT(allow), .aux = &n_allow,
	  .parse = special_cidr, .dump = special_cidr_dump, .flags = SETTING_LIST,
	  .reload = AT_SIGHUP, .help = "networks that may connect; with none, all may" },
	{ .name = "deny", .type = SETTING_SPECIAL, SETTING_AT(deny), .aux = &n_deny,
	  .parse = special_cidr, .dump = special_cidr_dump, .flags = SETTING_LIST,
	  .reload = AT_SIGHUP, .help = "networks that may not connect; wins over allow" },
	{ INT_ROW("rate-limit", rate_limit, 0, 1000000), .def = "100", .reload = AT_SIGHUP,
	  .help = "new connections per second from one address; 0: none" },
	{ INT_ROW("max-connections-per-address", max_per_address, 0, 1000000), .def = "64",
	  .reload = AT_SIGHUP, .help = "connections open at once from one address; 0: no cap" },
	{ INT_ROW("max-connections-per-prefix", max_per_prefix, 0, 1000000), .def = "1024",
	  .reload = AT_SIGHUP, .help = "connections open at once from one /24 or /64; 0: no cap" },
	{ INT_ROW("max-connections", max_connections, 1, 1000000), .def = "10000",
	  .reload = AT_SIGHUP, .help = "connections open at once (tables sized at start)" },
	{ DURATION_ROW("idle-timeout", idle_timeout, 1, 1, 1, DAY), .def = "30s",
	  .reload = AT_SIGHUP, .help = "close a connection silent, or a PDU slow, for this long" },
	{ INT_ROW("max-requests-per-connection", max_requests, 0, 1000000), .def = "0",
	  .reload = AT_SIGHUP, .help = "close a connection after this many requests; 0: never" },
	/* process */
	{ INT_ROW("threads", threads, 0, 256), .def = "0", .reload = AT_RESTART,
	  .help = "worker threads; 0: one per CPU core" },
	{ TEXT_ROW("log", log_target), .text = special_log, .def = "stderr", .reload = AT_SIGHUP,
	  .help = "where the log goes: stderr, syslog or file:/PATH" },
	{ ENUM_ROW("log-level", log_level, log_levels), .def = "info", .reload = AT_SIGHUP,
	  .help = "the least important lines logged" },
	{ ENUM_ROW("log-facility", log_facility, facilities), .def = "daemon",
	  .words_text = "daemon, user, auth or local0...local7", .reload = AT_SIGHUP,
	  .help = "the syslog facility of log = syslog" },
	{ TEXT_ROW("user", user), .reload = AT_RESTART, .help = "the user kmsd runs as" },
	{ TEXT_ROW("group", group), .reload = AT_RESTART,
	  .help = "the group kmsd runs as; default: the user's" },
	{ BOOL_ROW("allow-root", allow_root), .def = "no", .reload = AT_RESTART,
	  .help = "run as root without a user setting" },
	{ TEXT_ROW("pidfile", pidfile), .reload = AT_RESTART, .help = "where to write the pid" },
	{ BOOL_ROW("foreground", foreground), .def = "no", .reload = AT_RESTART,
	  .help = "stay in the foreground (as -f)" },
	/* the client store */
	{ TEXT_ROW("store", store), .text = special_store, .dump = special_store_dump,
	  .def = "sqlite:/var/lib/kmsd/clients.db", .reload = AT_RESTART,
	  .help = "where clients are kept: none, sqlite:/PATH or postgresql://..." },
	{ ENUM_ROW("store-synchronous", store_sync_full, synchronous), .def = "normal",
	  .reload = AT_RESTART, .help = "SQLite synchronous mode: normal or full" },
	{ ENUM_ROW("store-broken", store_broken, store_broken), .def = "move-aside",
	  .reload = AT_RESTART, .help = "what to do with a store that cannot be opened" },
	{ TEXT_ROW("store-password-file", store_password_file), .text = special_secret_path,
	  .reload = AT_RESTART, .help = "the PostgreSQL password: a file or credential:NAME" },
	/* web */
	{ BOOL_ROW("web", web), .def = "no", .reload = AT_SIGHUP,
	  .help = "serve the dashboard, JSON API and /metrics" },
	{ .name = "web-listen", .type = SETTING_ADDRESSES, SETTING_AT(web_listen),
	  .aux = &web_listen_list, .def = "127.0.0.1:8688", .flags = SETTING_LIST,
	  .reload = AT_SIGHUP, .help = "where the web side listens (port 8688 if none)" },
	{ DURATION_ROW("web-timeout", web_timeout, 1, 1, 1, HOUR), .def = "20s",
	  .reload = AT_SIGHUP, .help = "the longest a web connection may live" },
	{ TEXT_ROW("web-token", web_token), .text = special_web_token,
	  .dump = special_web_token_dump, .reload = AT_SIGHUP,
	  .help = "the bearer token web requests need (at least 16 characters)" },
	{ TEXT_ROW("web-token-file", web_token_file), .text = special_secret_path,
	  .reload = AT_SIGHUP, .help = "the bearer token, read from a file or credential:NAME" },
	/* DNS publishing */
	{ BOOL_ROW("dns-publish", dns.enabled), .words = on_off, .n_words = 2, .def = "off",
	  .reload = AT_SIGHUP, .help = "publish the _vlmcs._tcp SRV record by DNS update" },
	{ TEXT_ROW("dns-zone", dns.zone), .text = dns_name_value, .reload = AT_SIGHUP,
	  .help = "the zone to update" },
	{ TEXT_ROW("dns-server", dns.server), .text = dns_server_value, .reload = AT_SIGHUP,
	  .help = "the server to send updates to; default: the zone's primary" },
	{ DURATION_ROW("dns-ttl", dns.ttl, 1, 1, 10, 7 * DAY), .def = "3600s",
	  .reload = AT_SIGHUP, .help = "the record's TTL; it is refreshed every half TTL" },
	{ INT_ROW("dns-priority", dns.priority, 0, 65535), .def = "0", .reload = AT_SIGHUP,
	  .help = "the record's priority" },
	{ INT_ROW("dns-weight", dns.weight, 0, 65535), .def = "0", .reload = AT_SIGHUP,
	  .help = "the record's weight" },
	{ TEXT_ROW("dns-host", dns.host), .text = dns_name_value, .reload = AT_SIGHUP,
	  .help = "the record's target; default: this machine's FQDN" },
	{ INT_ROW("dns-port", dns.port, 1, 65535), .flags = SETTING_HIDE_ZERO, .reload = AT_SIGHUP,
	  .help = "the record's port; default: the first listen port" },
	{ TEXT_ROW("dns-tsig-name", dns.tsig_name), .text = dns_name_value, .reload = AT_SIGHUP,
	  .help = "the TSIG key's name; none: unsigned updates" },
	{ TEXT_ROW("dns-tsig-algorithm", dns.tsig_algorithm), .text = dns_algorithm_value,
	  .def = "hmac-sha256", .reload = AT_SIGHUP, .help = "the TSIG key's algorithm" },
	{ TEXT_ROW("dns-tsig-secret-file", dns.tsig_secret_file), .text = special_secret_path,
	  .reload = AT_SIGHUP, .help = "the TSIG secret (base64): a file or credential:NAME" },
};

const size_t config_n_settings = sizeof config_settings / sizeof config_settings[0];

const config_setting *config_setting_find(const char *name)
{
	for (size_t i = 0; i < config_n_settings; i++)
		if (strcmp(config_settings[i].name, name) == 0)
			return &config_settings[i];
	return NULL;
}
