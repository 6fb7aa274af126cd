/* kmsc: the KMS client and control tool. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "kms/product_data.h"

static const char usage[] =
	"usage: kmsc COMMAND [options]\n"
	"  activate [HOST[:PORT]]   act as a KMS client and check the host's answers\n"
	"  ping [HOST[:PORT]]       bind only (no request): is the host answering?\n"
	"  bench HOST[:PORT]        load the host: activations/s and latency\n"
	"  products [FILTER]        list the products KMS can activate\n"
	"  gvlk PRODUCT             a product's volume key and the client commands\n"
	"  srv-record HOST PORT     the DNS record that lets clients find a host\n"
	"  clients                  the clients in kmsd's store\n"
	"  stats                    clients per product group against the thresholds\n"
	"  prune --older-than AGE   forget clients not seen for AGE\n"
	"  forget                   remove clients by machine id, workstation or product\n"
	"  backup FILE              copy kmsd's SQLite store into FILE while it runs\n"
	"kmsc COMMAND --help describes each; kmsc --version prints the version.\n"
	"kmsc --product-data FILE COMMAND ... uses the products of FILE (a\n"
	"KmsDataBase.xml, as kmsd.conf's product-data) instead of the built-in ones.\n";

static const char srv_usage[] =
	"usage: kmsc srv-record [--domain D] [--ttl T] [--priority P] [--weight W] HOST PORT\n"
	"Print the zone-file line that publishes a KMS host to clients that look\n"
	"for _vlmcs._tcp in their DNS domain (default: this machine's search domain).\n";

int cmd_srv_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' }, { "ttl", required_argument, NULL, 't' },
		{ "priority", required_argument, NULL, 'p' }, { "weight", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	char domain[256] = "";
	unsigned long ttl = 3600, priority = 0, weight = 0, port;
	int opt;
	char *end;
	while ((opt = getopt_long(argc, argv, "d:t:p:w:h", longopts, NULL)) != -1) {
		unsigned long *target = opt == 't' ? &ttl : opt == 'p' ? &priority : &weight;
		switch (opt) {
		case 'd':
			snprintf(domain, sizeof domain, "%s", optarg);
			break;
		case 't':
		case 'p':
		case 'w':
			*target = strtoul(optarg, &end, 10);
			if (*end || *target > (opt == 't' ? 2147483647ul : 65535ul)) {
				fprintf(stderr, "kmsc srv-record: bad value \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(srv_usage, stdout);
			return EXIT_VALID;
		default:
			fputs(srv_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fputs(srv_usage, stderr);
		return EXIT_USAGE;
	}
	const char *host = argv[optind];
	port = strtoul(argv[optind + 1], &end, 10);
	if (*end || port == 0 || port > 65535 || !*host) {
		fprintf(stderr, "kmsc srv-record: bad host or port\n");
		return EXIT_USAGE;
	}
	if (!domain[0] && !default_domain(domain, sizeof domain)) {
		fprintf(stderr, "kmsc srv-record: no search domain configured; give --domain\n");
		return EXIT_USAGE;
	}
	size_t dl = strlen(domain);
	if (domain[dl - 1] == '.')
		domain[dl - 1] = 0;
	printf("_vlmcs._tcp.%s. %lu IN SRV %lu %lu %lu %s%s\n", domain, ttl, priority, weight, port,
	       host, host[strlen(host) - 1] == '.' ? "" : ".");
	return EXIT_VALID;
}

/* kmsc --product-data FILE: the table of FILE for the command that follows. */
static bool use_product_data(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *xml = NULL;
	size_t len = 0, cap = 0;
	while (f) {
		if (len + 65536 + 1 > cap) {
			char *bigger = realloc(xml, cap = cap * 2 + 65536 + 1);
			if (!bigger)
				break;
			xml = bigger;
		}
		size_t n = fread(xml + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (!f || !xml || (f && ferror(f))) {
		fprintf(stderr, "kmsc: cannot read %s\n", path);
		if (f)
			fclose(f);
		free(xml);
		return false;
	}
	fclose(f);
	char err[256];
	kms_product_data *d = kms_product_data_read(xml, len, NULL, NULL, err, sizeof err);
	free(xml);
	if (!d) {
		fprintf(stderr, "kmsc: %s: %s\n", path, err);
		return false;
	}
	kms_products_use(kms_product_data_table(d)); /* kept until kmsc exits */
	return true;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--product-data") == 0) {
		if (!use_product_data(argv[2]))
			return EXIT_USAGE;
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return EXIT_VALID;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("kmsc (kmsd) %s\n", KMSC_VERSION);
		return EXIT_VALID;
	}
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} commands[] = {
		{ "activate", cmd_activate }, { "bench", cmd_bench },
		{ "products", cmd_products }, { "gvlk", cmd_gvlk },
		{ "srv-record", cmd_srv_record }, { "clients", cmd_clients },
		{ "stats", cmd_stats },           { "prune", cmd_prune },
		{ "forget", cmd_forget },          { "backup", cmd_backup },
		{ "ping", cmd_ping },
	};
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(cmd, commands[i].name) == 0) {
			optind = 1;
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "kmsc: unknown command \"%s\"\n", cmd);
	fputs(usage, stderr);
	return EXIT_USAGE;
}
