#include "server/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "kms/products.h"
#include "server/config_values.h"
#include "server/secret_file.h"
#include "server/system.h"
#include "store/store.h"

#define MAX_FILE (256 * 1024)
#define MINUTE 60
#define DAY 86400

void config_defaults(kmsd_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	char why[WHY_LEN];
	value_listen("0.0.0.0:1688", cfg, why);
	value_listen("[::]:1688", cfg, why);
	cfg->listen_origin = CONFIG_DEFAULT;
	cfg->hwid_auto = true;
	cfg->lcid = 1033;
	cfg->activation_interval = 120;
	cfg->renewal_interval = 10080;
	cfg->count_window = 30 * DAY;
	cfg->activity_retention = 30 * DAY;
	cfg->scope = KMS_SERVE_ALL;
	cfg->max_time_skew = 4 * 3600;
	cfg->max_n_policy = 1000;
	cfg->ndr64 = cfg->btfn = true;
	cfg->max_connections = 10000;
	/* far above what a real client (or a NAT of many) needs, far below
	 * what lets one address or network take the host's connections */
	cfg->rate_limit = 100;
	cfg->max_per_address = 64;
	cfg->max_per_prefix = 1024;
	cfg->idle_timeout = 30;
	cfg->max_requests = 0; /* unlimited: idle-timeout and the buffers bound a client */
	snprintf(cfg->log_target, sizeof cfg->log_target, "stderr");
	cfg->log_level = 2; /* info */
	cfg->log_facility = LOG_DAEMON;
	snprintf(cfg->store, sizeof cfg->store, "sqlite:/var/lib/kmsd/clients.db");
	value_address("127.0.0.1:8688", 8688, cfg->web_listen, &cfg->n_web_listen,
		      CONFIG_MAX_WEB_LISTEN, "web-listen", why);
	cfg->web_listen_origin = CONFIG_DEFAULT;
	cfg->web_timeout = 20;
	dns_config_defaults(&cfg->dns);
}

void config_free(kmsd_config *cfg)
{
	(void)cfg;
}

static bool fail(config_error *err, const char *source, int line, const char *key,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static bool fail(config_error *err, const char *source, int line, const char *key,
		 const char *fmt, ...)
{
	char what[WHY_LEN + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (key)
		snprintf(err->message, sizeof err->message, "%s:%d: %s: %s", source, line, key, what);
	else
		snprintf(err->message, sizeof err->message, "%s:%d: %s", source, line, what);
	return false;
}

static bool copy_text(char *dst, size_t cap, const char *v, char *why)
{
	if (strlen(v) >= cap) {
		snprintf(why, WHY_LEN, "value longer than %zu characters", cap - 1);
		return false;
	}
	memcpy(dst, v, strlen(v) + 1);
	return true;
}

static bool set_minutes(uint32_t *dst, const char *v, char *why)
{
	int64_t s;
	if (!value_duration(v, MINUTE, 15 * MINUTE, 30 * DAY, &s, why))
		return false;
	*dst = (uint32_t)(s / MINUTE);
	return true;
}

static const struct {
	const char *name;
	int code;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },     { "auth", LOG_AUTH },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static const char *facility_name(int code)
{
	for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
		if (facilities[i].code == code)
			return facilities[i].name;
	return "daemon";
}

/* Apply one setting. `origin` says where it came from, for listen. */
static bool apply(kmsd_config *cfg, const char *key, const char *v, enum config_origin origin,
		  char *why)
{
	long long n;
	int64_t s;

	if (strcmp(key, "listen") == 0) {
		if (cfg->listen_origin != origin) {
			/* the first listen from a new source replaces the list */
			cfg->n_listen = 0;
			cfg->listen_origin = origin;
		}
		return value_listen(v, cfg, why);
	}
	if (strcmp(key, "listen-failure") == 0) {
		if (strcmp(v, "warn") != 0 && strcmp(v, "stop") != 0) {
			snprintf(why, WHY_LEN, "\"%s\" is not warn or stop", v);
			return false;
		}
		cfg->listen_failure_stop = strcmp(v, "stop") == 0;
		return true;
	}
	if (strcmp(key, "listen-freebind") == 0)
		return value_bool(v, &cfg->listen_freebind, why);
	if (strcmp(key, "epid") == 0) {
		char name[64], epid[128];
		kms_epid_fields f;
		if (sscanf(v, "%63s %127s", name, epid) != 2) {
			snprintf(why, WHY_LEN, "expected \"POOL-OR-KMS-ID EPID\"");
			return false;
		}
		if (cfg->n_epids == CONFIG_MAX_EPIDS) {
			snprintf(why, WHY_LEN, "too many epid lines");
			return false;
		}
		config_epid *e = &cfg->epids[cfg->n_epids];
		if (!value_epid_key(name, &e->id, why))
			return false;
		if (strlen(epid) >= KMS_EPID_TEXT_MAX || !kms_epid_parse(epid, &f)) {
			snprintf(why, WHY_LEN, "\"%.64s\" does not have the ePID shape "
				 "PPPPP-GGGGG-KKK-KKKKKK-03-LLLL-BBBBB.0000-DDDYYYY", epid);
			return false;
		}
		memcpy(e->epid, epid, strlen(epid) + 1);
		cfg->n_epids++;
		return true;
	}
	if (strcmp(key, "hwid") == 0) {
		cfg->hwid_auto = strcmp(v, "auto") == 0;
		return cfg->hwid_auto || value_hwid(v, cfg->hwid, why);
	}
	if (strcmp(key, "lcid") == 0) {
		if (!value_integer(v, 1, 99999, &n, why))
			return false;
		cfg->lcid = (uint32_t)n;
		return true;
	}
	if (strcmp(key, "host-build") == 0) {
		if (!value_integer(v, 0, 999999, &n, why))
			return false;
		const kms_build *b = kms_build_find(&kms_product_table, (uint32_t)n);
		if (n && (!b || !b->use_for_epid)) {
			snprintf(why, WHY_LEN, "%lld is not a KMS host build (use 0 for automatic, or "
				 "6002, 7601, 9200, 9600, 14393, 17763, 20348, 26100)", n);
			return false;
		}
		cfg->host_build = (uint32_t)n;
		return true;
	}
	if (strcmp(key, "activation-interval") == 0)
		return set_minutes(&cfg->activation_interval, v, why);
	if (strcmp(key, "renewal-interval") == 0)
		return set_minutes(&cfg->renewal_interval, v, why);
	if (strcmp(key, "count") == 0) {
		if (strcmp(v, "real") != 0 && strcmp(v, "always") != 0) {
			snprintf(why, WHY_LEN, "\"%s\" is not real or always", v);
			return false;
		}
		cfg->count_real = strcmp(v, "real") == 0;
		return true;
	}
	if (strcmp(key, "count-window") == 0)
		return value_duration(v, DAY, DAY, 365 * DAY, &cfg->count_window, why);
	if (strcmp(key, "activity-retention") == 0)
		return value_duration(v, DAY, DAY, 365 * DAY, &cfg->activity_retention, why);
	if (strcmp(key, "serve") == 0) {
		if (strcmp(v, "all") == 0 || strcmp(v, "known") == 0) {
			cfg->scope = strcmp(v, "all") == 0 ? KMS_SERVE_ALL : KMS_SERVE_KNOWN;
			cfg->n_served = 0;
			return true;
		}
		if (strcmp(v, "unknown") == 0) {
			cfg->scope = KMS_SERVE_ANY;
			cfg->n_served = 0;
			return true;
		}
		if (cfg->n_served == CONFIG_MAX_SERVED) {
			snprintf(why, WHY_LEN, "too many serve lines");
			return false;
		}
		if (!value_group(v, &cfg->served[cfg->n_served], why))
			return false;
		cfg->n_served++;
		cfg->scope = KMS_SERVE_LISTED;
		return true;
	}
	if (strcmp(key, "refuse-retail") == 0)
		return value_bool(v, &cfg->refuse_retail, why);
	if (strcmp(key, "refuse-preview") == 0)
		return value_bool(v, &cfg->refuse_preview, why);
	if (strcmp(key, "product-data") == 0)
		return copy_text(cfg->product_data, sizeof cfg->product_data, v, why);
	if (strcmp(key, "client-time-check") == 0)
		return value_bool(v, &cfg->client_time_check, why);
	if (strcmp(key, "max-time-skew") == 0)
		return value_duration(v, 1, MINUTE, 30 * DAY, &cfg->max_time_skew, why);
	if (strcmp(key, "max-n-policy") == 0) {
		if (!value_integer(v, 1, 100000, &n, why))
			return false;
		cfg->max_n_policy = (uint32_t)n;
		return true;
	}
	if (strcmp(key, "ndr64") == 0)
		return value_bool(v, &cfg->ndr64, why);
	if (strcmp(key, "btfn") == 0)
		return value_bool(v, &cfg->btfn, why);
	if (strcmp(key, "allow") == 0 || strcmp(key, "deny") == 0) {
		bool allow = key[0] == 'a';
		size_t *count = allow ? &cfg->n_allow : &cfg->n_deny;
		if (*count == CONFIG_MAX_CIDRS) {
			snprintf(why, WHY_LEN, "too many %s lines (at most %d)", key, CONFIG_MAX_CIDRS);
			return false;
		}
		if (!cidr_parse(v, allow ? &cfg->allow[*count] : &cfg->deny[*count])) {
			snprintf(why, WHY_LEN, "\"%s\" is not an address or ADDRESS/BITS", v);
			return false;
		}
		(*count)++;
		return true;
	}
	if (strcmp(key, "rate-limit") == 0) {
		if (!value_integer(v, 0, 1000000, &n, why))
			return false;
		cfg->rate_limit = (unsigned)n;
		return true;
	}
	if (strcmp(key, "max-connections") == 0) {
		if (!value_integer(v, 1, 1000000, &n, why))
			return false;
		cfg->max_connections = (int)n;
		return true;
	}
	if (strcmp(key, "max-connections-per-address") == 0 ||
	    strcmp(key, "max-connections-per-prefix") == 0) {
		if (!value_integer(v, 0, 1000000, &n, why))
			return false;
		if (strcmp(key, "max-connections-per-address") == 0)
			cfg->max_per_address = (unsigned)n;
		else
			cfg->max_per_prefix = (unsigned)n;
		return true;
	}
	if (strcmp(key, "idle-timeout") == 0) {
		if (!value_duration(v, 1, 1, DAY, &s, why))
			return false;
		cfg->idle_timeout = (int)s;
		return true;
	}
	if (strcmp(key, "max-requests-per-connection") == 0) {
		if (!value_integer(v, 0, 1000000, &n, why))
			return false;
		cfg->max_requests = (unsigned)n;
		return true;
	}
	if (strcmp(key, "threads") == 0) {
		if (!value_integer(v, 0, 256, &n, why))
			return false;
		cfg->threads = (int)n;
		return true;
	}
	if (strcmp(key, "log") == 0) {
		if (strcmp(v, "stderr") != 0 && strcmp(v, "syslog") != 0 &&
		    strncmp(v, "file:/", 6) != 0) {
			snprintf(why, WHY_LEN, "\"%s\" is not stderr, syslog or file:/ABSOLUTE/PATH", v);
			return false;
		}
		return copy_text(cfg->log_target, sizeof cfg->log_target, v, why);
	}
	if (strcmp(key, "log-level") == 0) {
		static const char *const levels[] = { "error", "warning", "info", "debug" };
		for (int i = 0; i < 4; i++) {
			if (strcmp(v, levels[i]) == 0) {
				cfg->log_level = i;
				return true;
			}
		}
		snprintf(why, WHY_LEN, "\"%s\" is not error, warning, info or debug", v);
		return false;
	}
	if (strcmp(key, "log-facility") == 0) {
		for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++) {
			if (strcmp(v, facilities[i].name) == 0) {
				cfg->log_facility = facilities[i].code;
				return true;
			}
		}
		snprintf(why, WHY_LEN, "\"%s\" is not daemon, user, auth or local0...local7", v);
		return false;
	}
	if (strcmp(key, "user") == 0)
		return copy_text(cfg->user, sizeof cfg->user, v, why);
	if (strcmp(key, "group") == 0)
		return copy_text(cfg->group, sizeof cfg->group, v, why);
	if (strcmp(key, "allow-root") == 0)
		return value_bool(v, &cfg->allow_root, why);
	if (strcmp(key, "pidfile") == 0)
		return copy_text(cfg->pidfile, sizeof cfg->pidfile, v, why);
	if (strcmp(key, "foreground") == 0)
		return value_bool(v, &cfg->foreground, why);
	if (strcmp(key, "store") == 0) {
		if (store_spec_kind(v) == STORE_KIND_INVALID) {
			snprintf(why, WHY_LEN, "\"%s\" is not none, sqlite:/PATH or postgresql://...",
				 v);
			return false;
		}
		return copy_text(cfg->store, sizeof cfg->store, v, why);
	}
	if (strcmp(key, "store-synchronous") == 0) {
		if (strcmp(v, "normal") != 0 && strcmp(v, "full") != 0) {
			snprintf(why, WHY_LEN, "\"%s\" is not normal or full", v);
			return false;
		}
		cfg->store_sync_full = strcmp(v, "full") == 0;
		return true;
	}
	if (strcmp(key, "store-broken") == 0) {
		static const char *const names[] = { "move-aside", "run-without", "exit" };
		for (int i = 0; i < 3; i++) {
			if (strcmp(v, names[i]) == 0) {
				cfg->store_broken = i;
				return true;
			}
		}
		snprintf(why, WHY_LEN, "\"%s\" is not move-aside, run-without or exit", v);
		return false;
	}
	if (strcmp(key, "store-password-file") == 0) {
		if (!secret_value_ok(v, why, WHY_LEN))
			return false;
		return copy_text(cfg->store_password_file, sizeof cfg->store_password_file, v, why);
	}
	if (strcmp(key, "web") == 0)
		return value_bool(v, &cfg->web, why);
	if (strcmp(key, "web-listen") == 0) {
		if (cfg->web_listen_origin != origin) {
			cfg->n_web_listen = 0;
			cfg->web_listen_origin = origin;
		}
		return value_address(v, 8688, cfg->web_listen, &cfg->n_web_listen,
				     CONFIG_MAX_WEB_LISTEN, "web-listen", why);
	}
	if (strcmp(key, "web-token") == 0) {
		if (strlen(v) < 16) {
			snprintf(why, WHY_LEN, "a token needs at least 16 characters");
			return false;
		}
		return copy_text(cfg->web_token, sizeof cfg->web_token, v, why);
	}
	if (strcmp(key, "web-timeout") == 0) {
		if (!value_duration(v, 1, 1, 3600, &s, why))
			return false;
		cfg->web_timeout = (int)s;
		return true;
	}
	if (strcmp(key, "web-token-file") == 0) {
		if (!secret_value_ok(v, why, WHY_LEN))
			return false;
		return copy_text(cfg->web_token_file, sizeof cfg->web_token_file, v, why);
	}
	if (strncmp(key, "dns-", 4) == 0)
		return dns_config_apply(&cfg->dns, key, v, why);
	snprintf(why, WHY_LEN, "unknown setting (see kmsd.conf(5))");
	return false;
}

bool config_is_loopback(const config_listen *a)
{
	if (a->addr.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&a->addr;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->addr;
	return a->addr.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

bool config_check(const kmsd_config *cfg, config_error *err)
{
	if (!cfg->web || cfg->web_token[0] || cfg->web_token_file[0])
		return true;
	for (size_t i = 0; i < cfg->n_web_listen; i++) {
		if (!config_is_loopback(&cfg->web_listen[i])) {
			snprintf(err->message, sizeof err->message,
				 "web-listen %s is not a loopback address: set web-token or "
				 "web-token-file so the dashboard and API need a bearer token",
				 cfg->web_listen[i].text);
			return false;
		}
	}
	return true;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = 0;
	return s;
}

/* What a file said so far, to tell a setting given twice. Only the key's
 * first line and a hash of each list line are kept. */
#define SEEN_MAX 512

typedef struct seen_line {
	char key[40];
	uint64_t value_hash;
	int line;
} seen_line;

typedef struct seen_lines {
	seen_line lines[SEEN_MAX];
	size_t n;
} seen_lines;

static bool is_list_setting(const char *key)
{
	static const char *const lists[] = { "listen", "allow", "deny", "epid", "serve",
					     "web-listen" };
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
		if (strcmp(key, lists[i]) == 0)
			return true;
	return false;
}

static uint64_t text_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static void add_warning(config_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_warning(config_error *err, const char *fmt, ...)
{
	size_t used = strlen(err->warnings);
	if (used + 2 >= sizeof err->warnings)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->warnings + used, sizeof err->warnings - used - 1, fmt, ap);
	va_end(ap);
	used = strlen(err->warnings);
	err->warnings[used] = '\n';
	err->warnings[used + 1] = 0;
}

/* A key given twice: an error for a single setting (which line wins is
 * not what a reader of the file expects), a warning for a list line
 * repeated word for word. */
static bool check_repeat(seen_lines *seen, const char *key, const char *value, const char *source,
			 int number, config_error *err)
{
	if (!seen || strlen(key) >= sizeof seen->lines[0].key)
		return true;
	bool list = is_list_setting(key);
	uint64_t hash = list ? text_hash(value) : 0;
	for (size_t i = 0; i < seen->n; i++) {
		const seen_line *s = &seen->lines[i];
		if (strcmp(s->key, key) != 0 || (list && s->value_hash != hash))
			continue;
		if (!list)
			return fail(err, source, number, key, "also set on line %d; keep one of the two "
				    "lines", s->line);
		add_warning(err, "%s:%d: %s: the same line as line %d (ignored)", source, number, key,
			    s->line);
		return true;
	}
	if (seen->n < SEEN_MAX) {
		seen_line *s = &seen->lines[seen->n++];
		snprintf(s->key, sizeof s->key, "%s", key);
		s->value_hash = hash;
		s->line = number;
	}
	return true;
}

/* Split "key = value" (comments already removed); unquote the value. */
static bool parse_line(char *line, const char *source, int number, enum config_origin origin,
		       kmsd_config *cfg, seen_lines *seen, config_error *err)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return fail(err, source, number, NULL, "expected \"key = value\"");
	*eq = 0;
	char *key = trim(line), *value = trim(eq + 1);
	if (!*key)
		return fail(err, source, number, NULL, "missing setting name before '='");
	size_t n = strlen(value);
	if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
		value[n - 1] = 0;
		value++;
	} else if (value[0] == '"') {
		return fail(err, source, number, key, "unterminated quoted value");
	}
	if (!*value)
		return fail(err, source, number, key, "missing value");
	if (seen) {
		size_t before = strlen(err->warnings);
		if (!check_repeat(seen, key, value, source, number, err))
			return false;
		if (strlen(err->warnings) != before)
			return true; /* a repeated list line: once is enough */
	}
	char why[WHY_LEN];
	if (!apply(cfg, key, value, origin, why))
		return fail(err, source, number, key, "%s", why);
	return true;
}

bool config_load_buffer(kmsd_config *cfg, const char *name, const char *text, size_t len,
			config_error *err)
{
	char line[1024];
	int number = 0;
	size_t at = 0;
	err->warnings[0] = 0;
	seen_lines *seen = calloc(1, sizeof *seen); /* without it, no repeat is noticed */
	/* a file saved by Notepad starts with a UTF-8 byte order mark */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		at = 3;
	bool ok = true;
	while (ok && at < len) {
		size_t end = at;
		while (end < len && text[end] != '\n')
			end++;
		number++;
		size_t n = end - at;
		if (n >= sizeof line) {
			ok = fail(err, name, number, NULL, "line longer than %zu characters",
				  sizeof line - 1);
			break;
		}
		memcpy(line, text + at, n);
		line[n] = 0;
		at = end + 1;
		if (memchr(line, 0, n)) {
			ok = fail(err, name, number, NULL, "NUL byte in the file");
			break;
		}
		/* a comment starts at '#' outside quotes */
		bool quoted = false;
		for (char *p = line; *p; p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '#' && !quoted) {
				*p = 0;
				break;
			}
		}
		char *content = trim(line);
		if (*content)
			ok = parse_line(content, name, number, CONFIG_FILE, cfg, seen, err);
	}
	free(seen);
	return ok;
}

bool config_load_file(kmsd_config *cfg, const char *path, bool missing_ok, config_error *err)
{
	/* never blocks: a FIFO given as the file is refused, not waited on
	 * (a reload runs with the stop signals blocked) */
	struct stat st;
	char why[256];
	int fd = system_open_regular(path, true, &st, why, sizeof why);
	if (fd < 0 && missing_ok && errno == ENOENT)
		return true;
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	if (!f) {
		snprintf(err->message, sizeof err->message, "%s", why);
		if (fd >= 0)
			close(fd);
		return false;
	}
	char *text = malloc(MAX_FILE + 1);
	size_t len = text ? fread(text, 1, MAX_FILE + 1, f) : 0;
	bool error = ferror(f);
	fclose(f);
	if (!text || error || len > MAX_FILE) {
		snprintf(err->message, sizeof err->message, "%s: %s", path,
			 !text ? "out of memory" : error ? "read error" : "file larger than 256 KiB");
		free(text);
		return false;
	}
	bool ok = config_load_buffer(cfg, path, text, len, err);
	free(text);
	return ok;
}

bool config_apply_option(kmsd_config *cfg, const char *key_value, const char *source, int line,
			 config_error *err)
{
	char copy[1024];
	if (strlen(key_value) >= sizeof copy)
		return fail(err, source, line, NULL, "option too long");
	memcpy(copy, key_value, strlen(key_value) + 1);
	return parse_line(trim(copy), source, line, CONFIG_COMMAND_LINE, cfg, NULL, err);
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

void config_dump(const kmsd_config *cfg, FILE *out)
{
	static const char *const levels[] = { "error", "warning", "info", "debug" };
	for (size_t i = 0; i < cfg->n_listen; i++)
		fprintf(out, "listen = %s\n", cfg->listen[i].text);
	fprintf(out, "listen-failure = %s\nlisten-freebind = %s\n",
		cfg->listen_failure_stop ? "stop" : "warn", yes_no(cfg->listen_freebind));
	for (size_t i = 0; i < cfg->n_epids; i++) {
		char id[GUID_TEXT_LEN];
		guid_format(&cfg->epids[i].id, id);
		fprintf(out, "epid = %s %s\n", id, cfg->epids[i].epid);
	}
	fprintf(out, "hwid = ");
	for (int i = 0; i < 8 && !cfg->hwid_auto; i++)
		fprintf(out, "%02X", cfg->hwid[i]);
	fprintf(out, "%s\nlcid = %u\nhost-build = %u\n", cfg->hwid_auto ? "auto" : "", cfg->lcid,
		cfg->host_build);
	fprintf(out, "activation-interval = %um\nrenewal-interval = %um\n",
		cfg->activation_interval, cfg->renewal_interval);
	fprintf(out, "count = %s\ncount-window = %llds\n", cfg->count_real ? "real" : "always",
		(long long)cfg->count_window);
	fprintf(out, "activity-retention = %llds\n", (long long)cfg->activity_retention);
	if (cfg->scope == KMS_SERVE_ALL)
		fprintf(out, "serve = all\n");
	else if (cfg->scope == KMS_SERVE_KNOWN)
		fprintf(out, "serve = known\n");
	else if (cfg->scope == KMS_SERVE_ANY)
		fprintf(out, "serve = unknown\n");
	for (size_t i = 0; i < cfg->n_served; i++) {
		char id[GUID_TEXT_LEN];
		guid_format(&cfg->served[i], id);
		fprintf(out, "serve = %s\n", id);
	}
	fprintf(out, "refuse-retail = %s\nrefuse-preview = %s\n", yes_no(cfg->refuse_retail),
		yes_no(cfg->refuse_preview));
	if (cfg->product_data[0])
		fprintf(out, "product-data = %s\n", cfg->product_data);
	fprintf(out, "client-time-check = %s\nmax-time-skew = %llds\nmax-n-policy = %u\n",
		yes_no(cfg->client_time_check), (long long)cfg->max_time_skew, cfg->max_n_policy);
	fprintf(out, "ndr64 = %s\nbtfn = %s\n", yes_no(cfg->ndr64), yes_no(cfg->btfn));
	for (size_t i = 0; i < cfg->n_allow; i++) {
		char text[64];
		cidr_format(&cfg->allow[i], text, sizeof text);
		fprintf(out, "allow = %s\n", text);
	}
	for (size_t i = 0; i < cfg->n_deny; i++) {
		char text[64];
		cidr_format(&cfg->deny[i], text, sizeof text);
		fprintf(out, "deny = %s\n", text);
	}
	fprintf(out, "rate-limit = %u\n", cfg->rate_limit);
	fprintf(out, "max-connections-per-address = %u\nmax-connections-per-prefix = %u\n",
		cfg->max_per_address, cfg->max_per_prefix);
	fprintf(out, "max-connections = %d\nidle-timeout = %ds\nmax-requests-per-connection = %u\n",
		cfg->max_connections, cfg->idle_timeout, cfg->max_requests);
	fprintf(out, "threads = %d\nlog = %s\nlog-level = %s\n", cfg->threads, cfg->log_target,
		levels[cfg->log_level & 3]);
	fprintf(out, "log-facility = %s\n", facility_name(cfg->log_facility));
	if (cfg->user[0])
		fprintf(out, "user = %s\n", cfg->user);
	if (cfg->group[0])
		fprintf(out, "group = %s\n", cfg->group);
	fprintf(out, "allow-root = %s\n", yes_no(cfg->allow_root));
	if (cfg->pidfile[0])
		fprintf(out, "pidfile = %s\n", cfg->pidfile);
	char shown[sizeof cfg->store];
	store_spec_display(cfg->store, shown, sizeof shown); /* no password in the output */
	fprintf(out, "foreground = %s\nstore = %s\n", yes_no(cfg->foreground), shown);
	static const char *const broken_names[] = { "move-aside", "run-without", "exit" };
	fprintf(out, "store-synchronous = %s\nstore-broken = %s\n",
		cfg->store_sync_full ? "full" : "normal", broken_names[cfg->store_broken % 3]);
	if (cfg->store_password_file[0])
		fprintf(out, "store-password-file = %s\n", cfg->store_password_file);
	fprintf(out, "web = %s\n", yes_no(cfg->web));
	for (size_t i = 0; i < cfg->n_web_listen; i++)
		fprintf(out, "web-listen = %s\n", cfg->web_listen[i].text);
	fprintf(out, "web-timeout = %ds\n", cfg->web_timeout);
	if (cfg->web_token[0])
		fprintf(out, "# web-token is set (not shown)\n");
	if (cfg->web_token_file[0])
		fprintf(out, "web-token-file = %s\n", cfg->web_token_file);
	dns_config_dump(&cfg->dns, out);
}
