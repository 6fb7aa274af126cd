/* gen-products: KmsDataBase.xml -> products.gen.c (see src/kms/products.h).
 *
 *   gen-products KmsDataBase.xml OUT.c
 *
 * The data file is public and hand-maintained, and some of its entries are
 * incomplete or contradictory. An emulator once broke a whole product
 * family because one bad entry made its ePID generator fail, so every entry
 * is validated here: unusable ones are skipped with a warning, and every
 * KMS id is guaranteed a CSVLK whose ePID can be built. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "base/guid.h"

#define MAX_APPS 16
#define MAX_GROUPS 256
#define MAX_SKUS 2048
#define MAX_CSVLKS 256
#define MAX_BUILDS 128
#define MAX_ACTIVATES 1024
#define NO_INDEX 0xFFFF

typedef struct app {
	kms_guid id;
	char *name;
	unsigned min_active, vlmcsd_index, default_csvlk;
} app;

typedef struct group {
	kms_guid id;
	char *name;
	unsigned app, n_policy, protocol, csvlk;
	bool retail, preview;
} group;

typedef struct sku {
	kms_guid id;
	char *name, *gvlk;
	unsigned group;
	bool generated;
} sku;

typedef struct csvlk {
	kms_guid id;
	char *name;
	unsigned long group_id, min_key, max_key;
	long long release;
	bool lab, preview, has_vlmcsd_index;
	unsigned vlmcsd_index, first_activate, n_activate;
	uint32_t invalid_builds;
} csvlk;

typedef struct build {
	unsigned long number, platform;
	long long release;
	char *name;
	bool epid, server, ndr64;
} build;

static app apps[MAX_APPS];
static group groups[MAX_GROUPS];
static sku skus[MAX_SKUS];
static csvlk csvlks[MAX_CSVLKS];
static build builds[MAX_BUILDS];
static unsigned activates[MAX_ACTIVATES];
static kms_guid activate_ids[MAX_ACTIVATES]; /* as read, before linking */
static unsigned n_apps, n_groups, n_skus, n_csvlks, n_builds, n_activates, warnings;

static void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("gen-products: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	warnings++;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("gen-products: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static bool named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* An attribute's value, matching the name without regard to case (the
 * file spells DefaultKmsProtocol two ways). NULL when absent. */
static char *attr(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (strcasecmp((const char *)a->name, name) == 0) {
			xmlChar *v = xmlNodeGetContent((const xmlNode *)a);
			char *s = strdup((const char *)v);
			xmlFree(v);
			return s;
		}
	}
	return NULL;
}

static bool attr_bool(const xmlNode *n, const char *name)
{
	char *v = attr(n, name);
	bool yes = v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
	free(v);
	return yes;
}

static bool parse_ulong(const char *s, unsigned long *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || *s == '-')
		return false;
	*out = v;
	return true;
}

static bool attr_ulong(const xmlNode *n, const char *name, unsigned long *out)
{
	char *v = attr(n, name);
	bool ok = parse_ulong(v, out);
	free(v);
	return ok;
}

static bool attr_guid(const xmlNode *n, kms_guid *out)
{
	char *v = attr(n, "Id");
	bool ok = v && guid_parse(v, out);
	free(v);
	return ok;
}

/* "2009-10-22T00:00:00Z" -> Unix seconds; 0 when absent or unparsable. */
static long long attr_date(const xmlNode *n)
{
	char *v = attr(n, "ReleaseDate");
	struct tm tm = { 0 };
	long long t = 0;
	if (v && sscanf(v, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			&tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		t = (long long)timegm(&tm);
	}
	free(v);
	return t;
}

/* InvalidWinBuild="[0,1,2]" -> bits 0, 1 and 2. */
static uint32_t attr_build_mask(const xmlNode *n, const char *who)
{
	char *v = attr(n, "InvalidWinBuild");
	uint32_t mask = 0;
	for (const char *p = v; p && *p; p++) {
		if (*p >= '0' && *p <= '9') {
			unsigned long i = strtoul(p, (char **)&p, 10);
			p--;
			if (i < 32)
				mask |= 1u << i;
			else
				warn("CsvlkItem '%s': InvalidWinBuild position %lu ignored", who, i);
		}
	}
	free(v);
	return mask;
}

static void read_builds(const xmlNode *parent)
{
	for (const xmlNode *n = parent->children; n; n = n->next) {
		if (!named(n, "WinBuild"))
			continue;
		build *b = &builds[n_builds];
		if (!attr_ulong(n, "BuildNumber", &b->number) ||
		    !attr_ulong(n, "PlatformId", &b->platform)) {
			warn("WinBuild without a usable BuildNumber/PlatformId, skipped");
			continue;
		}
		if (n_builds == MAX_BUILDS)
			die("too many WinBuild entries");
		b->release = attr_date(n);
		b->name = attr(n, "DisplayName");
		b->epid = attr_bool(n, "UseForEpid");
		b->server = attr_bool(n, "MayBeServer");
		b->ndr64 = attr_bool(n, "UsesNDR64");
		n_builds++;
	}
}

static int find_csvlk(const kms_guid *id)
{
	for (unsigned i = 0; i < n_csvlks; i++)
		if (guid_cmp(&csvlks[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int find_group(const kms_guid *id)
{
	for (unsigned i = 0; i < n_groups; i++)
		if (guid_cmp(&groups[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void read_csvlks(const xmlNode *parent)
{
	for (const xmlNode *n = parent->children; n; n = n->next) {
		if (!named(n, "CsvlkItem"))
			continue;
		char *name = attr(n, "DisplayName");
		const char *who = name ? name : "?";
		csvlk *c = &csvlks[n_csvlks];
		memset(c, 0, sizeof *c);
		if (!attr_guid(n, &c->id)) {
			warn("CsvlkItem '%s': missing or malformed Id, skipped", who);
		} else if (find_csvlk(&c->id) >= 0) {
			warn("CsvlkItem '%s': duplicate Id, skipped", who);
		} else if (!attr_ulong(n, "GroupId", &c->group_id) || c->group_id == 0 ||
			   c->group_id > 99999) {
			warn("CsvlkItem '%s': empty or invalid GroupId, skipped", who);
		} else if (!attr_ulong(n, "MinKeyId", &c->min_key) ||
			   !attr_ulong(n, "MaxKeyId", &c->max_key) || c->min_key > c->max_key ||
			   c->max_key > 999999999) {
			warn("CsvlkItem '%s': missing or invalid MinKeyId/MaxKeyId, skipped", who);
		} else {
			if (n_csvlks == MAX_CSVLKS)
				die("too many CsvlkItem entries");
			c->name = name;
			name = NULL;
			c->release = attr_date(n);
			c->lab = attr_bool(n, "IsLab");
			c->preview = attr_bool(n, "IsPreview");
			unsigned long idx;
			c->has_vlmcsd_index = attr_ulong(n, "VlmcsdIndex", &idx);
			c->vlmcsd_index = (unsigned)idx;
			c->invalid_builds = attr_build_mask(n, c->name);
			/* Activate links are resolved once the groups are known */
			c->first_activate = n_activates;
			for (const xmlNode *a = n->children; a; a = a->next) {
				if (!named(a, "Activate"))
					continue;
				char *k = attr(a, "KmsItem");
				if (!k || !guid_parse(k, &activate_ids[n_activates]))
					warn("CsvlkItem '%s': malformed Activate KmsItem, ignored", c->name);
				else if (n_activates == MAX_ACTIVATES)
					die("too many Activate entries");
				else
					n_activates++;
				free(k);
			}
			c->n_activate = n_activates - c->first_activate;
			n_csvlks++;
		}
		free(name);
	}
}

static void read_apps(const xmlNode *parent)
{
	for (const xmlNode *n = parent->children; n; n = n->next) {
		if (!named(n, "AppItem"))
			continue;
		char *name = attr(n, "DisplayName");
		app *a = &apps[n_apps];
		unsigned long v = 0;
		if (!attr_guid(n, &a->id)) {
			warn("AppItem '%s': missing or malformed Id, skipped", name ? name : "?");
			free(name);
			continue;
		}
		if (n_apps == MAX_APPS)
			die("too many AppItem entries");
		a->name = name;
		a->min_active = attr_ulong(n, "MinActiveClients", &v) ? (unsigned)v : 0;
		a->vlmcsd_index = attr_ulong(n, "VlmcsdIndex", &v) ? (unsigned)v : NO_INDEX;
		a->default_csvlk = NO_INDEX;
		unsigned app_index = n_apps++;

		for (const xmlNode *k = n->children; k; k = k->next) {
			if (!named(k, "KmsItem"))
				continue;
			char *gname = attr(k, "DisplayName");
			group *g = &groups[n_groups];
			if (!attr_guid(k, &g->id) || find_group(&g->id) >= 0) {
				warn("KmsItem '%s': missing, malformed or duplicate Id, skipped",
				     gname ? gname : "?");
				free(gname);
				continue;
			}
			if (n_groups == MAX_GROUPS)
				die("too many KmsItem entries");
			g->name = gname;
			g->app = app_index;
			g->n_policy = attr_ulong(k, "NCountPolicy", &v) && v > 0 && v <= 255 ? (unsigned)v : 25;
			char *proto = attr(k, "DefaultKmsProtocol");
			g->protocol = proto && proto[0] >= '4' && proto[0] <= '6' ? (unsigned)(proto[0] - '0') : 6;
			free(proto);
			g->retail = attr_bool(k, "IsRetail");
			g->preview = attr_bool(k, "IsPreview");
			g->csvlk = NO_INDEX;
			unsigned group_index = n_groups++;

			for (const xmlNode *s = k->children; s; s = s->next) {
				if (!named(s, "SkuItem"))
					continue;
				sku *u = &skus[n_skus];
				char *sname = attr(s, "DisplayName");
				bool duplicate = false;
				if (attr_guid(s, &u->id))
					for (unsigned i = 0; i < n_skus && !duplicate; i++)
						duplicate = guid_cmp(&skus[i].id, &u->id) == 0;
				else
					duplicate = true;
				if (duplicate || !sname) {
					warn("SkuItem '%s': missing, malformed or duplicate Id, skipped",
					     sname ? sname : "?");
					free(sname);
					continue;
				}
				if (n_skus == MAX_SKUS)
					die("too many SkuItem entries");
				u->name = sname;
				u->gvlk = attr(s, "Gvlk");
				if (u->gvlk && strlen(u->gvlk) != 29) {
					warn("SkuItem '%s': malformed Gvlk, dropped", sname);
					free(u->gvlk);
					u->gvlk = NULL;
				}
				u->group = group_index;
				u->generated = attr_bool(s, "IsGeneratedGvlk");
				n_skus++;
			}
		}
	}
}

/* Turn the Activate GUIDs into group indices, dropping dangling ones. */
static void link_activates(void)
{
	unsigned out = 0;
	for (unsigned c = 0; c < n_csvlks; c++) {
		unsigned first = out;
		for (unsigned i = csvlks[c].first_activate;
		     i < csvlks[c].first_activate + csvlks[c].n_activate; i++) {
			int g = find_group(&activate_ids[i]);
			if (g < 0) {
				char text[GUID_TEXT_LEN];
				guid_format(&activate_ids[i], text);
				warn("CsvlkItem '%s': activates unknown KmsItem %s, link ignored",
				     csvlks[c].name, text);
				continue;
			}
			activates[out++] = (unsigned)g;
		}
		csvlks[c].first_activate = first;
		csvlks[c].n_activate = out - first;
	}
	n_activates = out;
}

/* The position of each UseForEpid build, in file order. */
static unsigned epid_builds[32], n_epid_builds;

static bool allows_build(const csvlk *c, unsigned build_index)
{
	for (unsigned pos = 0; pos < n_epid_builds; pos++)
		if (epid_builds[pos] == build_index)
			return !(c->invalid_builds & (1u << pos)) &&
			       builds[build_index].release >= c->release;
	return false;
}

static bool usable(const csvlk *c)
{
	for (unsigned pos = 0; pos < n_epid_builds; pos++)
		if (allows_build(c, epid_builds[pos]))
			return true;
	return false;
}

static bool activates_group(const csvlk *c, unsigned g)
{
	for (unsigned i = c->first_activate; i < c->first_activate + c->n_activate; i++)
		if (activates[i] == g)
			return true;
	return false;
}

/* Better host key for answering: retail-grade before lab/preview, then
 * the newest (an unknown release date counts as oldest). */
static bool better(const csvlk *a, const csvlk *b)
{
	bool a_plain = !a->lab && !a->preview, b_plain = !b->lab && !b->preview;
	if (a_plain != b_plain)
		return a_plain;
	return a->release > b->release;
}

static void choose_csvlks(void)
{
	for (unsigned i = 0; i < n_builds; i++)
		if (builds[i].epid && n_epid_builds < 32)
			epid_builds[n_epid_builds++] = i;
	if (n_epid_builds == 0)
		die("no WinBuild has UseForEpid=\"true\"");
	for (unsigned c = 0; c < n_csvlks; c++)
		if (!usable(&csvlks[c]))
			warn("CsvlkItem '%s': no ePID build allowed for it", csvlks[c].name);

	for (unsigned a = 0; a < n_apps; a++) {
		for (unsigned c = 0; c < n_csvlks; c++) {
			if (csvlks[c].has_vlmcsd_index && csvlks[c].vlmcsd_index == apps[a].vlmcsd_index &&
			    usable(&csvlks[c])) {
				apps[a].default_csvlk = c;
				break;
			}
		}
		if (apps[a].default_csvlk != NO_INDEX)
			continue;
		/* the data names no usable default: take the best key for the app */
		for (unsigned c = 0; c < n_csvlks; c++) {
			bool serves_app = false;
			for (unsigned g = 0; g < n_groups && !serves_app; g++)
				serves_app = groups[g].app == a && activates_group(&csvlks[c], g);
			if (serves_app && usable(&csvlks[c]) &&
			    (apps[a].default_csvlk == NO_INDEX || better(&csvlks[c], &csvlks[apps[a].default_csvlk])))
				apps[a].default_csvlk = c;
		}
		if (apps[a].default_csvlk == NO_INDEX)
			warn("AppItem '%s': no usable default CSVLK", apps[a].name);
	}

	for (unsigned g = 0; g < n_groups; g++) {
		for (unsigned c = 0; c < n_csvlks; c++)
			if (activates_group(&csvlks[c], g) && usable(&csvlks[c]) &&
			    (groups[g].csvlk == NO_INDEX || better(&csvlks[c], &csvlks[groups[g].csvlk])))
				groups[g].csvlk = c;
		if (groups[g].csvlk == NO_INDEX) {
			groups[g].csvlk = apps[groups[g].app].default_csvlk;
			if (groups[g].csvlk == NO_INDEX)
				die("KmsItem '%s': no usable CSVLK at all", groups[g].name);
			warn("KmsItem '%s': no CSVLK lists it; using its application's default '%s'",
			     groups[g].name, csvlks[groups[g].csvlk].name);
		}
	}
}

/* ---- output ---- */

static void put_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("NULL", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_guid(FILE *f, const kms_guid *g)
{
	fputs("{ { ", f);
	for (int i = 0; i < 16; i++)
		fprintf(f, "0x%02x%s", g->b[i], i < 15 ? ", " : "");
	fputs(" } }", f);
}

static const kms_guid *sort_base;
static size_t sort_stride;

static int by_guid(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	const kms_guid *gx = (const kms_guid *)((const char *)sort_base + x * sort_stride);
	const kms_guid *gy = (const kms_guid *)((const char *)sort_base + y * sort_stride);
	return guid_cmp(gx, gy);
}

static void put_index(FILE *f, const char *name, const void *base, size_t stride, unsigned n)
{
	unsigned *order = calloc(n ? n : 1, sizeof *order);
	if (!order)
		die("out of memory");
	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	sort_base = base;
	sort_stride = stride;
	qsort(order, n, sizeof *order, by_guid);
	fprintf(f, "static const uint16_t %s[] = {", name);
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s%u,", i % 16 ? " " : "\n\t", order[i]);
	fputs("\n};\n\n", f);
	free(order);
}

static void write_table(FILE *f, const char *source)
{
	fprintf(f, "/* Generated by tools/gen-products from %s; do not edit. */\n", source);
	fputs("#include \"kms/products.h\"\n\n", f);

	fputs("static const kms_app apps[] = {\n", f);
	for (unsigned i = 0; i < n_apps; i++) {
		fputs("\t{ ", f);
		put_guid(f, &apps[i].id);
		fputs(", ", f);
		put_string(f, apps[i].name);
		fprintf(f, ", %u, %u },\n", apps[i].min_active, apps[i].default_csvlk);
	}
	fputs("};\n\nstatic const kms_group groups[] = {\n", f);
	for (unsigned i = 0; i < n_groups; i++) {
		const group *g = &groups[i];
		fputs("\t{ ", f);
		put_guid(f, &g->id);
		fputs(", ", f);
		put_string(f, g->name);
		fprintf(f, ", %u, %u, %u, %s, %s, %u },\n", g->app, g->n_policy, g->protocol,
			g->retail ? "true" : "false", g->preview ? "true" : "false", g->csvlk);
	}
	fputs("};\n\nstatic const kms_sku skus[] = {\n", f);
	for (unsigned i = 0; i < n_skus; i++) {
		fputs("\t{ ", f);
		put_guid(f, &skus[i].id);
		fputs(", ", f);
		put_string(f, skus[i].name);
		fputs(", ", f);
		put_string(f, skus[i].gvlk);
		fprintf(f, ", %u, %s },\n", skus[i].group, skus[i].generated ? "true" : "false");
	}
	fputs("};\n\nstatic const kms_csvlk csvlks[] = {\n", f);
	for (unsigned i = 0; i < n_csvlks; i++) {
		const csvlk *c = &csvlks[i];
		fputs("\t{ ", f);
		put_guid(f, &c->id);
		fputs(", ", f);
		put_string(f, c->name);
		fprintf(f, ", %lu, %lu, %lu, %lld, %s, %s, 0x%xu, %u, %u },\n", c->group_id,
			c->min_key, c->max_key, c->release, c->lab ? "true" : "false",
			c->preview ? "true" : "false", c->invalid_builds, c->first_activate,
			c->n_activate);
	}
	fputs("};\n\nstatic const kms_build builds[] = {\n", f);
	for (unsigned i = 0; i < n_builds; i++) {
		const build *b = &builds[i];
		fprintf(f, "\t{ %lu, %lu, %lld, ", b->number, b->platform, b->release);
		put_string(f, b->name);
		fprintf(f, ", %s, %s, %s },\n", b->epid ? "true" : "false",
			b->server ? "true" : "false", b->ndr64 ? "true" : "false");
	}
	fputs("};\n\nstatic const uint16_t activates[] = {", f);
	for (unsigned i = 0; i < n_activates; i++)
		fprintf(f, "%s%u,", i % 16 ? " " : "\n\t", activates[i]);
	fputs("\n};\n\nstatic const uint16_t epid_builds[] = {", f);
	for (unsigned i = 0; i < n_epid_builds; i++)
		fprintf(f, " %u,", epid_builds[i]);
	fputs(" };\n\n", f);

	put_index(f, "apps_by_id", &apps[0].id, sizeof apps[0], n_apps);
	put_index(f, "groups_by_id", &groups[0].id, sizeof groups[0], n_groups);
	put_index(f, "skus_by_id", &skus[0].id, sizeof skus[0], n_skus);
	put_index(f, "csvlks_by_id", &csvlks[0].id, sizeof csvlks[0], n_csvlks);

	fputs("const kms_products kms_product_table = {\n"
	      "\t.apps = apps, .n_apps = sizeof apps / sizeof apps[0],\n"
	      "\t.groups = groups, .n_groups = sizeof groups / sizeof groups[0],\n"
	      "\t.skus = skus, .n_skus = sizeof skus / sizeof skus[0],\n"
	      "\t.csvlks = csvlks, .n_csvlks = sizeof csvlks / sizeof csvlks[0],\n"
	      "\t.builds = builds, .n_builds = sizeof builds / sizeof builds[0],\n"
	      "\t.activates = activates, .n_activates = sizeof activates / sizeof activates[0],\n"
	      "\t.apps_by_id = apps_by_id,\n"
	      "\t.groups_by_id = groups_by_id,\n"
	      "\t.skus_by_id = skus_by_id,\n"
	      "\t.csvlks_by_id = csvlks_by_id,\n"
	      "\t.epid_builds = epid_builds, .n_epid_builds = sizeof epid_builds / sizeof epid_builds[0],\n"
	      "};\n", f);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gen-products KmsDataBase.xml OUT.c\n");
		return 2;
	}
	xmlDoc *doc = xmlReadFile(argv[1], NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	if (!doc)
		die("cannot parse %s", argv[1]);
	const xmlNode *root = xmlDocGetRootElement(doc);
	if (!root || !named(root, "KmsData"))
		die("%s: root element is not KmsData", argv[1]);

	for (const xmlNode *n = root->children; n; n = n->next) {
		if (named(n, "WinBuilds"))
			read_builds(n);
		else if (named(n, "CsvlkItems"))
			read_csvlks(n);
		else if (named(n, "AppItems"))
			read_apps(n);
	}
	if (!n_apps || !n_groups || !n_skus || !n_csvlks || !n_builds)
		die("%s: a required table is empty (apps %u, groups %u, skus %u, csvlks %u, builds %u)",
		    argv[1], n_apps, n_groups, n_skus, n_csvlks, n_builds);
	link_activates();
	choose_csvlks();

	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	const char *base = strrchr(argv[1], '/');
	write_table(f, base ? base + 1 : argv[1]);
	if (fclose(f) != 0 || rename(tmp, argv[2]) != 0)
		die("cannot write %s: %s", argv[2], strerror(errno));
	fprintf(stderr, "gen-products: %u apps, %u groups, %u SKUs, %u CSVLKs, %u builds, %u warnings\n",
		n_apps, n_groups, n_skus, n_csvlks, n_builds, warnings);
	xmlFreeDoc(doc);
	return 0;
}
