/* kmsc products and kmsc gvlk: the product table for administrators. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client.h"
#include "kms/match.h"
#include "kms/pools.h"

/* the table in use (kmsc --product-data may replace the built-in one) */
#define TABLE (&kms_product_table)

const kms_group *sku_group(const kms_sku *s)
{
	return &TABLE->groups[s->group];
}

const kms_app *sku_app(const kms_sku *s)
{
	return &TABLE->apps[sku_group(s)->app];
}

#define SHOWN_MAX 64

const kms_sku *product_select(const char *text)
{
	kms_guid id;
	char *end;
	unsigned long n = strtoul(text, &end, 10);
	if (*text && !*end) {
		if (n >= 1 && n <= TABLE->n_skus)
			return &TABLE->skus[n - 1];
		fprintf(stderr, "kmsc: no product number %s (1 to %zu, see kmsc products)\n", text,
			TABLE->n_skus);
		return NULL;
	}
	if (guid_parse(text, &id)) {
		const kms_sku *s = kms_sku_find(TABLE, &id);
		if (!s)
			fprintf(stderr, "kmsc: no SKU with id %s\n", text);
		return s;
	}
	for (size_t i = 0; i < TABLE->n_skus; i++)
		if (strcasecmp(TABLE->skus[i].name, text) == 0)
			return &TABLE->skus[i];
	const kms_sku *found[SHOWN_MAX];
	size_t count = kms_skus_named(TABLE, text, found, SHOWN_MAX);
	if (count == 1 || (count > 1 && kms_name_rank(found[0]->name, text) <
					   kms_name_rank(found[1]->name, text)))
		return found[0];
	if (count == 0) {
		fprintf(stderr, "kmsc: no product matches \"%s\" (see kmsc products)\n", text);
		return NULL;
	}
	fprintf(stderr, "kmsc: \"%s\" matches %zu products; be more precise or use the number:\n",
		text, count);
	for (size_t i = 0; i < count && i < SHOWN_MAX; i++)
		fprintf(stderr, "  %4zu  %s\n", (size_t)(found[i] - TABLE->skus) + 1, found[i]->name);
	return NULL;
}

/* Editions people look for first: not N, not preview, usable with KMS. */
static int edition_order(const kms_sku *s)
{
	return (kms_name_rank(s->name, "N") >= 0 ? 1 : 0) +
	       (TABLE->groups[s->group].preview || kms_name_rank(s->name, "Preview") >= 0 ? 2 : 0) +
	       (kms_sku_kms_capable(TABLE, s) ? 0 : 4);
}

/* kmsc products --groups: each product group as serve names it, with its
 * SKUs, the plain editions first, so a group's name says what it holds. */
static int list_groups(const char *filter)
{
	int shown = 0;
	for (size_t g = 0; g < TABLE->n_groups; g++) {
		const kms_group *grp = &TABLE->groups[g];
		bool any = !filter || kms_name_rank(grp->name, filter) >= 0;
		for (size_t i = 0; i < TABLE->n_skus && !any; i++)
			any = TABLE->skus[i].group == g && kms_sku_listed(TABLE, &TABLE->skus[i], filter);
		if (!any)
			continue;
		printf("%s%s (%s, N %u%s%s)\n", shown++ ? "\n" : "", grp->name,
		       TABLE->apps[grp->app].name, grp->n_policy, grp->retail ? ", retail" : "",
		       grp->preview ? ", preview" : "");
		for (int order = 0; order < 8; order++)
			for (size_t i = 0; i < TABLE->n_skus; i++)
				if (TABLE->skus[i].group == g && edition_order(&TABLE->skus[i]) == order)
					printf("  %4zu  %s\n", i + 1, TABLE->skus[i].name);
	}
	if (!shown)
		fprintf(stderr, "kmsc: no product group matches \"%s\"\n", filter);
	return shown ? EXIT_VALID : EXIT_CHECKS;
}

static const char products_usage[] =
	"usage: kmsc products [--json | --groups] [FILTER]\n"
	"List the products kmsd knows: number, SKU, application, KMS product group,\n"
	"the client count the group needs (N policy) and its KMS protocol version.\n"
	"FILTER keeps the rows whose SKU or group name has every word of it (any\n"
	"case; 10 and 11 match 10/11), e.g. \"Windows 11 Pro\" or \"Office 2021\".\n"
	"--groups lists the product groups instead (the names serve takes), each\n"
	"with its SKUs, the editions that are not N or preview first.\n";

int cmd_products(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' }, { "groups", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	bool json = false, groups = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "jgh", longopts, NULL)) != -1) {
		if (opt == 'j')
			json = true;
		else if (opt == 'g')
			groups = true;
		else {
			fputs(products_usage, opt == 'h' ? stdout : stderr);
			return opt == 'h' ? EXIT_VALID : EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fputs(products_usage, stderr);
		return EXIT_USAGE;
	}
	const char *filter = optind < argc ? argv[optind] : NULL;
	if (groups)
		return list_groups(filter);
	int shown = 0;
	if (json)
		printf("[");
	else
		printf("%4s  %-52s %-10s %-44s %3s %s\n", "#", "product", "app", "KMS group", "N",
		       "protocol");
	for (size_t i = 0; i < TABLE->n_skus; i++) {
		const kms_sku *s = &TABLE->skus[i];
		if (filter && !kms_sku_listed(TABLE, s, filter))
			continue;
		const kms_group *g = sku_group(s);
		char sku_id[GUID_TEXT_LEN], group_id[GUID_TEXT_LEN];
		guid_format(&s->id, sku_id);
		guid_format(&g->id, group_id);
		if (json) {
			printf("%s\n  {\"number\": %zu, \"name\": ", shown ? "," : "", i + 1);
			json_string(stdout, s->name);
			printf(", \"sku_id\": \"%s\", \"application\": ", sku_id);
			json_string(stdout, sku_app(s)->name);
			printf(", \"kms_id\": \"%s\", \"kms_group\": ", group_id);
			json_string(stdout, g->name);
			printf(", \"n_policy\": %u, \"protocol\": %u, \"gvlk\": ", g->n_policy, g->protocol);
			if (s->gvlk)
				json_string(stdout, s->gvlk);
			else
				printf("null");
			printf(", \"retail\": %s, \"preview\": %s}", g->retail ? "true" : "false",
			       g->preview ? "true" : "false");
		} else {
			printf("%4zu  %-52.52s %-10.10s %-44.44s %3u %u.0\n", i + 1, s->name,
			       sku_app(s)->name, g->name, g->n_policy, g->protocol);
		}
		shown++;
	}
	if (json)
		printf("\n]\n");
	if (!shown) {
		fprintf(stderr, "kmsc: no product matches \"%s\"\n", filter);
		return EXIT_CHECKS;
	}
	return EXIT_VALID;
}

/* Office 2010 -> Office14, 2013 -> Office15, later -> Office16. */
static const char *office_folder(const kms_sku *s)
{
	kms_guid office2010;
	if (kms_pool_id("office2010", &office2010) && guid_cmp(&sku_app(s)->id, &office2010) == 0)
		return "Office14";
	char id[GUID_TEXT_LEN];
	guid_format(&sku_group(s)->id, id);
	if (strcmp(id, "e6a6f1bf-9d40-40c3-aa9f-c77ba21578c0") == 0 ||
	    strcmp(id, "aa4c7968-b9da-4680-92b6-acb25e2f866c") == 0)
		return "Office15";
	return "Office16";
}

static bool is_office(const kms_sku *s)
{
	return strncmp(sku_app(s)->name, "Office", 6) == 0;
}

static const char gvlk_usage[] =
	"usage: kmsc gvlk [--host HOST[:PORT]] [--json] PRODUCT\n"
	"Print the product's GVLK (the public volume key that makes it a KMS client)\n"
	"and the commands that install it and point the client at a KMS host.\n"
	"PRODUCT is words of its name (\"Windows 11 Pro\", \"Office 2021\": a bare\n"
	"Office year is Professional Plus), a number from kmsc products or a SKU id;\n"
	"other editions the words match are listed below. Editions that cannot use\n"
	"KMS (Home, retail-only) get a note instead of commands, and exit status 1.\n";

static void print_commands(const kms_sku *s, const char *host, const char *port, bool host_given)
{
	if (!host_given)
		printf("(kms.example.com stands for your KMS host; or give --host)\n");
	bool v6 = strchr(host, ':') != NULL;
	if (is_office(s)) {
		const char *dir = office_folder(s);
		const char *ospp = "cscript \"C:\\Program Files\\Microsoft Office\\";
		printf("%s%s\\ospp.vbs\" /inpkey:%s\n", ospp, dir, s->gvlk);
		printf("%s%s\\ospp.vbs\" /sethst:%s\n", ospp, dir, host);
		printf("%s%s\\ospp.vbs\" /setprt:%s\n", ospp, dir, port);
		printf("%s%s\\ospp.vbs\" /act\n", ospp, dir);
	} else {
		printf("slmgr /ipk %s\n", s->gvlk);
		printf(v6 ? "slmgr /skms [%s]:%s\n" : "slmgr /skms %s:%s\n", host, port);
		printf("slmgr /ato\n");
	}
}

/* Why an edition cannot be a KMS client, or NULL when it can. */
static const char *no_kms_reason(const kms_sku *s)
{
	if (!s->gvlk)
		return "no GVLK is published for this product";
	if (sku_group(s)->retail)
		return "this edition cannot use KMS (a retail or Home edition: Microsoft's KMS "
		       "hosts refuse it); upgrade to a volume edition such as Pro or Enterprise";
	return NULL;
}

static void json_sku(const kms_sku *s)
{
	char id[GUID_TEXT_LEN];
	guid_format(&s->id, id);
	printf("{\"number\": %zu, \"name\": ", (size_t)(s - TABLE->skus) + 1);
	json_string(stdout, s->name);
	printf(", \"sku_id\": \"%s\", \"kms_group\": ", id);
	json_string(stdout, sku_group(s)->name);
	printf(", \"gvlk\": ");
	if (s->gvlk)
		json_string(stdout, s->gvlk);
	else
		printf("null");
	const char *why = no_kms_reason(s);
	printf(", \"kms\": %s, \"note\": ", why ? "false" : "true");
	if (why)
		json_string(stdout, why);
	else
		printf("null");
	printf("}");
}

int cmd_gvlk(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },       { 0 }
	};
	const char *host_arg = NULL;
	bool json = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "H:jh", longopts, NULL)) != -1) {
		if (opt == 'H') {
			host_arg = optarg;
		} else if (opt == 'j') {
			json = true;
		} else {
			fputs(gvlk_usage, opt == 'h' ? stdout : stderr);
			return opt == 'h' ? EXIT_VALID : EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fputs(gvlk_usage, stderr);
		return EXIT_USAGE;
	}
	const kms_sku *s = product_select(argv[optind]);
	if (!s)
		return EXIT_USAGE;
	char host[256] = "kms.example.com", port[8] = KMS_PORT;
	if (host_arg && !split_host_port(host_arg, host, sizeof host, port, sizeof port)) {
		fprintf(stderr, "kmsc: \"%s\" is not HOST[:PORT]\n", host_arg);
		return EXIT_USAGE;
	}
	/* the other editions the same words name, best first */
	const kms_sku *others[SHOWN_MAX];
	size_t n_others = kms_skus_named(TABLE, argv[optind], others, SHOWN_MAX);
	if (n_others > SHOWN_MAX)
		n_others = SHOWN_MAX;
	const char *why = no_kms_reason(s);
	if (json) {
		printf("{\"product\": ");
		json_sku(s);
		printf(", \"others\": [");
		for (size_t i = 0, k = 0; i < n_others; i++) {
			if (others[i] == s)
				continue;
			printf("%s", k++ ? ", " : "");
			json_sku(others[i]);
		}
		printf("]}\n");
		return why ? EXIT_CHECKS : EXIT_VALID;
	}
	printf("%s\n", s->name);
	if (why) {
		if (s->gvlk)
			printf("GVLK: %s\n", s->gvlk);
		printf("Note: %s\n", why);
	} else {
		printf("GVLK: %s\n\n", s->gvlk);
		print_commands(s, host, port, host_arg != NULL);
	}
	bool heading = false;
	for (size_t i = 0; i < n_others; i++) {
		if (others[i] == s)
			continue;
		if (!heading)
			printf("\nOther editions these words match (kmsc gvlk NUMBER):\n");
		heading = true;
		printf("  %4zu  %-48s %s\n", (size_t)(others[i] - TABLE->skus) + 1, others[i]->name,
		       no_kms_reason(others[i]) ? "(no KMS)" : others[i]->gvlk);
	}
	return why ? EXIT_CHECKS : EXIT_VALID;
}
