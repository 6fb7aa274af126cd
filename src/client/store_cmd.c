/* kmsc clients, stats, prune, forget and backup: what the host's client
 * store knows. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/escape.h"
#include "client/client.h"
#include "kms/kms.h"
#include "kms/match.h"
#include "store/store.h"

#define DEFAULT_DB "/var/lib/kmsd/clients.db"
#define DAY 86400

/* "30d", "12h", "90m", "45s", a date "YYYY-MM-DD", or Unix seconds:
 * durations count back from now. */
static bool parse_since(const char *text, int64_t *out)
{
	struct tm tm = { 0 };
	char *end = strptime(text, "%Y-%m-%d", &tm);
	if (end && !*end) {
		*out = (int64_t)timegm(&tm);
		return true;
	}
	long long n = strtoll(text, &end, 10);
	if (end == text || n < 0)
		return false;
	int64_t unit = *end == 'd' ? DAY : *end == 'h' ? 3600 : *end == 'm' ? 60 : *end == 's' ? 1 : 0;
	if (unit && !end[1]) {
		*out = (int64_t)time(NULL) - n * unit;
		return true;
	}
	if (!*end) {
		*out = n;
		return true;
	}
	return false;
}

static void format_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *group_name(const kms_guid *id)
{
	const kms_group *g = kms_group_find(&kms_product_table, id);
	return g ? g->name : "unknown product";
}

static const char *app_name(const kms_guid *id)
{
	const kms_app *a = kms_app_find(&kms_product_table, id);
	return a ? a->name : "unknown application";
}

/* --db takes a path, sqlite:PATH, or a PostgreSQL URI as kmsd.conf's store */
static store *open_db(const char *path, bool read_only)
{
	char spec[600], err[400];
	if (store_spec_kind(path) == STORE_KIND_SHARED || store_spec_kind(path) == STORE_KIND_SQLITE)
		snprintf(spec, sizeof spec, "%s", path);
	else
		snprintf(spec, sizeof spec, "sqlite:%s", path);
	store *s = store_open(spec, read_only, err, sizeof err);
	if (!s)
		fprintf(stderr, "kmsc: %s\n", err);
	return s;
}

enum format { TEXT, JSON, CSV };

typedef struct listing {
	enum format format;
	size_t rows;
} listing;

static void csv_field(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static bool print_client(void *ctx, const store_client *c)
{
	listing *l = ctx;
	char cmid[GUID_TEXT_LEN], kms[GUID_TEXT_LEN], sku[GUID_TEXT_LEN], first[32], last[32];
	guid_format(&c->cmid, cmid);
	guid_format(&c->kms_id, kms);
	guid_format(&c->sku_id, sku);
	format_time(c->first_seen, first, sizeof first);
	format_time(c->last_seen, last, sizeof last);
	const kms_sku *s = kms_sku_find(&kms_product_table, &c->sku_id);
	const char *product = s ? s->name : group_name(&c->kms_id);
	if (l->format == JSON) {
		printf("%s\n  {\"cmid\": \"%s\", \"workstation\": ", l->rows ? "," : "", cmid);
		json_string(stdout, c->workstation);
		printf(", \"address\": ");
		json_string(stdout, c->address);
		printf(", \"product\": ");
		json_string(stdout, product);
		printf(", \"application\": ");
		json_string(stdout, app_name(&c->app_id));
		printf(", \"sku_id\": \"%s\", \"kms_id\": \"%s\", \"protocol\": \"%u.%u\", "
		       "\"license_status\": %u, \"first_seen\": \"%s\", \"last_seen\": \"%s\", "
		       "\"requests\": %llu, \"last_result\": \"0x%08X\", \"last_count\": %u}",
		       sku, kms, c->protocol_major, c->protocol_minor, c->license_status, first, last,
		       (unsigned long long)c->requests, c->last_result, c->last_count);
	} else if (l->format == CSV) {
		printf("%s,", cmid);
		csv_field(c->workstation);
		putchar(',');
		csv_field(c->address);
		putchar(',');
		csv_field(product);
		printf(",%s,%s,%u.%u,%u,%s,%s,%llu,0x%08X,%u\n", sku, kms, c->protocol_major,
		       c->protocol_minor, c->license_status, first, last,
		       (unsigned long long)c->requests, c->last_result, c->last_count);
	} else {
		/* names come from clients: no control character reaches the terminal */
		char ws[TEXT_ESCAPED_MAX(sizeof c->workstation)];
		text_escape(ws, sizeof ws, c->workstation);
		printf("%-19s %-24.24s %-22.22s %-36.36s %8llu  %s\n", last, ws,
		       c->address, product, (unsigned long long)c->requests,
		       c->last_result ? "refused" : "answered");
	}
	l->rows++;
	return true;
}

/* --product: the words of one product group (kms/match.h) or a KMS id. */
static bool group_arg(const char *text, kms_guid *out)
{
	size_t n;
	const kms_group *g = kms_group_select(&kms_product_table, text, &n);
	if (g) {
		*out = g->id;
		return true;
	}
	if (guid_parse(text, out))
		return true; /* a KMS id the table lacks: a new product */
	fprintf(stderr, "kmsc: \"%s\" %s (see kmsc products)\n", text,
		n ? "matches several product groups equally well" : "names no product group");
	return false;
}

static const char clients_usage[] =
	"usage: kmsc clients [--db STORE] [--product P] [--since T] [--search TEXT]\n"
	"                    [--limit N] [--json|--csv]\n"
	"List the clients in kmsd's store (default " DEFAULT_DB "), newest first.\n"
	"STORE is an SQLite file or a postgresql:// URI, as kmsd.conf's store.\n"
	"--product takes a product group name fragment or KMS id; --since a date\n"
	"(YYYY-MM-DD) or an age such as 30d or 12h; --search the start of the\n"
	"workstation name or of the address, any case.\n";

int cmd_clients(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },      { "product", required_argument, NULL, 'p' },
		{ "since", required_argument, NULL, 's' },   { "search", required_argument, NULL, 'S' },
		{ "limit", required_argument, NULL, 'l' },   { "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },           { "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *db = DEFAULT_DB;
	store_query q = { 0 };
	kms_guid kms_id;
	listing l = { TEXT, 0 };
	int opt;
	while ((opt = getopt_long(argc, argv, "d:p:s:S:l:jch", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': db = optarg; break;
		case 'p':
			if (!group_arg(optarg, &kms_id))
				return EXIT_USAGE;
			q.kms_id = &kms_id;
			break;
		case 's':
			if (!parse_since(optarg, &q.since)) {
				fprintf(stderr, "kmsc: \"%s\" is not a date or an age like 30d\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S': q.search = optarg; break;
		case 'l': q.limit = strtoul(optarg, NULL, 10); break;
		case 'j': l.format = JSON; break;
		case 'c': l.format = CSV; break;
		case 'h': fputs(clients_usage, stdout); return EXIT_VALID;
		default: fputs(clients_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(clients_usage, stderr);
		return EXIT_USAGE;
	}
	store *s = open_db(db, true);
	if (!s)
		return EXIT_NETWORK;
	if (l.format == JSON)
		printf("[");
	else if (l.format == CSV)
		printf("cmid,workstation,address,product,sku_id,kms_id,protocol,license_status,"
		       "first_seen,last_seen,requests,last_result,last_count\n");
	else
		printf("%-19s %-24s %-22s %-36s %8s  %s\n", "last seen (UTC)", "workstation", "address",
		       "product", "requests", "last answer");
	size_t total = 0;
	/* a broad search is counted no further than a page costs */
	if (q.search)
		q.count_max = STORE_SEARCH_COUNT_MAX;
	bool ok = store_clients(s, &q, print_client, &l, &total);
	if (l.format == JSON)
		printf("\n]\n");
	else if (l.format == TEXT)
		printf("%zu of %s%zu clients\n", l.rows,
		       q.count_max && total >= q.count_max ? "at least " : "", total);
	if (!ok)
		fprintf(stderr, "kmsc: %s\n", store_error(s));
	store_close(s);
	return ok ? EXIT_VALID : EXIT_NETWORK;
}

#define MAX_STAT_ROWS 256

typedef struct stats_rows {
	store_group_stat row[MAX_STAT_ROWS];
	int n;
} stats_rows;

static bool collect(void *ctx, const store_group_stat *g)
{
	stats_rows *rows = ctx;
	if (rows->n < MAX_STAT_ROWS)
		rows->row[rows->n++] = *g;
	return true;
}

static const char stats_usage[] =
	"usage: kmsc stats [--db STORE] [--window 30d] [--json]\n"
	"Per product group: clients seen in the window, the pool they count in,\n"
	"the group's threshold (N policy) and whether the pool has reached it,\n"
	"as a host counting for real decides activation.\n";

int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' }, { "window", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },     { "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *db = DEFAULT_DB;
	int64_t since = (int64_t)time(NULL) - 30 * DAY;
	bool json = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "d:w:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': db = optarg; break;
		case 'w':
			if (!parse_since(optarg, &since)) {
				fprintf(stderr, "kmsc: \"%s\" is not an age like 30d\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j': json = true; break;
		case 'h': fputs(stats_usage, stdout); return EXIT_VALID;
		default: fputs(stats_usage, stderr); return EXIT_USAGE;
		}
	}
	store *s = open_db(db, true);
	if (!s)
		return EXIT_NETWORK;
	static stats_rows rows;
	bool ok = store_group_stats(s, since, collect, &rows);
	/* a pool counts the distinct machines of all its groups together */
	const store_group_stat *all = rows.row;
	uint64_t pool_total[MAX_STAT_ROWS] = { 0 };
	for (int i = 0; i < rows.n; i++)
		for (int k = 0; k < rows.n; k++)
			if (guid_cmp(&all[i].app_id, &all[k].app_id) == 0)
				pool_total[i] += all[k].clients;
	if (json)
		printf("[");
	else
		printf("%-44s %-12s %8s %8s %4s  %s\n", "product group", "pool", "clients", "in pool", "N",
		       "activating");
	for (int i = 0; i < rows.n; i++) {
		const kms_group *g = kms_group_find(&kms_product_table, &all[i].kms_id);
		unsigned n = g ? g->n_policy : 25;
		bool activating = pool_total[i] >= n;
		char id[GUID_TEXT_LEN];
		guid_format(&all[i].kms_id, id);
		if (json) {
			printf("%s\n  {\"kms_id\": \"%s\", \"group\": ", i ? "," : "", id);
			json_string(stdout, group_name(&all[i].kms_id));
			printf(", \"pool\": ");
			json_string(stdout, app_name(&all[i].app_id));
			printf(", \"clients\": %llu, \"pool_clients\": %llu, \"threshold\": %u, "
			       "\"activating\": %s}", (unsigned long long)all[i].clients,
			       (unsigned long long)pool_total[i], n, activating ? "true" : "false");
		} else {
			printf("%-44.44s %-12.12s %8llu %8llu %4u  %s\n", group_name(&all[i].kms_id),
			       app_name(&all[i].app_id), (unsigned long long)all[i].clients,
			       (unsigned long long)pool_total[i], n, activating ? "yes" : "no");
		}
	}
	if (json)
		printf("\n]\n");
	if (!ok)
		fprintf(stderr, "kmsc: %s\n", store_error(s));
	store_close(s);
	return ok ? EXIT_VALID : EXIT_NETWORK;
}

static const char forget_usage[] =
	"usage: kmsc forget [--db STORE] [--cmid GUID] [--workstation PATTERN]\n"
	"                   [--product P] [--bench]\n"
	"Remove clients from kmsd's store: those matching every condition given\n"
	"(at least one). PATTERN matches the whole workstation name, any case,\n"
	"with * and ?; --product takes the words of a product group or KMS id;\n"
	"--bench is --workstation 'bench-*.kmsc.example' (kmsc bench's machines).\n"
	"A running kmsd drops them from its count at its next reload (SIGHUP,\n"
	"systemctl reload kmsd).\n";

int cmd_forget(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },   { "cmid", required_argument, NULL, 'C' },
		{ "workstation", required_argument, NULL, 'W' },
		{ "product", required_argument, NULL, 'p' }, { "bench", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },       { 0 }
	};
	const char *db = DEFAULT_DB;
	store_forget_filter f = { 0 };
	kms_guid cmid, kms_id;
	int opt;
	while ((opt = getopt_long(argc, argv, "d:C:W:p:bh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': db = optarg ? optarg : db; break;
		case 'C':
			if (!guid_parse(optarg, &cmid)) {
				fprintf(stderr, "kmsc: \"%s\" is not a GUID\n", optarg);
				return EXIT_USAGE;
			}
			f.cmid = &cmid;
			break;
		case 'W': f.workstation = optarg; break;
		case 'b': f.workstation = "bench-*.kmsc.example"; break;
		case 'p':
			if (!group_arg(optarg, &kms_id))
				return EXIT_USAGE;
			f.kms_id = &kms_id;
			break;
		case 'h': fputs(forget_usage, stdout); return EXIT_VALID;
		default: fputs(forget_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc || (!f.cmid && !f.workstation && !f.kms_id)) {
		fputs(forget_usage, stderr);
		return EXIT_USAGE;
	}
	store *s = open_db(db, false);
	if (!s)
		return EXIT_NETWORK;
	long n = store_forget(s, &f);
	if (n < 0)
		fprintf(stderr, "kmsc: %s\n", store_error(s));
	else
		printf("forgot %ld clients; reload kmsd to drop them from its count\n", n);
	store_close(s);
	return n < 0 ? EXIT_NETWORK : EXIT_VALID;
}

static const char prune_usage[] =
	"usage: kmsc prune [--db STORE] --older-than AGE\n"
	"Delete clients not seen for AGE (e.g. 180d) from kmsd's store.\n";

int cmd_prune(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' }, { "older-than", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },     { 0 }
	};
	const char *db = DEFAULT_DB;
	int64_t before = -1;
	int opt;
	while ((opt = getopt_long(argc, argv, "d:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': db = optarg; break;
		case 'o':
			if (!parse_since(optarg, &before)) {
				fprintf(stderr, "kmsc: \"%s\" is not an age like 180d\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': fputs(prune_usage, stdout); return EXIT_VALID;
		default: fputs(prune_usage, stderr); return EXIT_USAGE;
		}
	}
	if (before < 0 || optind != argc) {
		fputs(prune_usage, stderr);
		return EXIT_USAGE;
	}
	store *s = open_db(db, false);
	if (!s)
		return EXIT_NETWORK;
	long n = store_prune(s, before);
	if (n < 0)
		fprintf(stderr, "kmsc: %s\n", store_error(s));
	else
		printf("pruned %ld clients\n", n);
	store_close(s);
	return n < 0 ? EXIT_NETWORK : EXIT_VALID;
}

static const char backup_usage[] =
	"usage: kmsc backup [--db STORE] FILE\n"
	"Copy kmsd's SQLite store into FILE, a new file (mode 0600), while kmsd\n"
	"runs: one consistent moment, a database of its own with no -wal beside\n"
	"it. Restore it with kmsd stopped, the store's -wal and -shm removed.\n";

int cmd_backup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *db = DEFAULT_DB;
	int opt;
	while ((opt = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': db = optarg; break;
		case 'h': fputs(backup_usage, stdout); return EXIT_VALID;
		default: fputs(backup_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(backup_usage, stderr);
		return EXIT_USAGE;
	}
	if (store_spec_kind(db) == STORE_KIND_SHARED) {
		fprintf(stderr, "kmsc: backup copies an SQLite store; back a PostgreSQL one up with "
				"pg_dump\n");
		return EXIT_USAGE;
	}
	const char *to = argv[optind];
	store *s = open_db(db, true);
	if (!s)
		return EXIT_NETWORK;
	bool ok = store_backup(s, to);
	if (ok)
		printf("copied the store into %s\n", to);
	else
		fprintf(stderr, "kmsc: %s\n", store_error(s));
	store_close(s);
	return ok ? EXIT_VALID : EXIT_NETWORK;
}
