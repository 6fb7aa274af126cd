#include "server/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/config_setting.h"
#include "server/config_values.h"
#include "server/system.h"

#define MAX_FILE (256 * 1024)

/* Each row's default goes through the parser, as a file's line would: a
 * default is valid kmsd.conf text by construction. */
void config_defaults(kmsd_config *cfg)
{
	memset(cfg, 0, sizeof *cfg); /* listen_origin, web_listen_origin: CONFIG_DEFAULT */
	for (size_t i = 0; i < config_n_settings; i++) {
		const config_setting *row = &config_settings[i];
		char values[128], why[WHY_LEN], *save = NULL;
		if (!row->def || strlen(row->def) >= sizeof values)
			continue;
		memcpy(values, row->def, strlen(row->def) + 1);
		/* a list's default values are separated by spaces */
		const char *sep = row->flags & SETTING_LIST ? " " : "";
		for (char *one = strtok_r(values, sep, &save); one; one = strtok_r(NULL, sep, &save))
			(void)setting_apply(row, cfg, one, CONFIG_DEFAULT, why);
	}
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

/* Apply one setting. `origin` says where it came from, for the address
 * lists a new source replaces. */
static bool apply(kmsd_config *cfg, const char *key, const char *v, enum config_origin origin,
		  char *why)
{
	const config_setting *row = config_setting_find(key);
	if (!row) {
		snprintf(why, WHY_LEN, "unknown setting (see kmsd.conf(5))");
		return false;
	}
	return setting_apply(row, cfg, v, origin, why);
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
	const config_setting *row = config_setting_find(key);
	return row && (row->flags & SETTING_LIST);
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

static bool setting_differs(const config_setting *row, const kmsd_config *a, const kmsd_config *b)
{
	if (row->type == SETTING_TEXT) /* what follows the text's end is not its value */
		return strcmp(SETTING_CFIELD(row, a), SETTING_CFIELD(row, b)) != 0;
	return memcmp(SETTING_CFIELD(row, a), SETTING_CFIELD(row, b), row->size) != 0;
}

size_t config_restart_changes(const kmsd_config *running, const kmsd_config *next, char *names,
			      size_t cap)
{
	size_t n = 0, at = 0;
	names[0] = 0;
	for (size_t i = 0; i < config_n_settings; i++) {
		const config_setting *row = &config_settings[i];
		if (row->reload != AT_RESTART || !setting_differs(row, running, next))
			continue;
		int w = snprintf(names + at, cap - at, "%s%s", n ? ", " : "", row->name);
		if (w > 0 && (size_t)w < cap - at)
			at += (size_t)w;
		n++;
	}
	return n;
}

void config_dump(const kmsd_config *cfg, FILE *out)
{
	for (size_t i = 0; i < config_n_settings; i++)
		setting_dump_row(&config_settings[i], cfg, out);
}
