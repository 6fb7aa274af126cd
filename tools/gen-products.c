/* gen-products: KmsDataBase.xml -> products.gen.c (see src/kms/products.h).
 *
 *   gen-products KmsDataBase.xml OUT.c
 *
 * The data file is public and hand-maintained, and some of its entries are
 * incomplete or contradictory. An emulator once broke a whole product
 * family because one bad entry made its ePID generator fail, so every entry
 * is validated here: unusable ones are skipped with a warning on stderr,
 * and every KMS counted id is given a CSVLK from which an ePID can be built.
 * The tool fails only when the file cannot be parsed or a table the host
 * cannot work without ends up empty.
 *
 * The file opens with a large commented-out example KmsData element; a real
 * XML parser is used so that comments can never be mistaken for data. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "base/guid.h"

/* Generous bounds for a file that has ~300 SKUs; indices must fit the
 * uint16_t links of products.h, whose UINT16_MAX means "none". */
#define MAX_APPS 32
#define MAX_GROUPS 512
#define MAX_SKUS 4096
#define MAX_CSVLKS 512
#define MAX_BUILDS 256
#define MAX_ACTIVATES 4096
#define MAX_EPID_BUILDS 32 /* kms_csvlk.invalid_builds is a 32-bit mask */
#define NONE 0xFFFFu

/* ePID fields are fixed-width decimal: PPPPP-GGGGG-KKKKKKKKK */
#define MAX_PLATFORM_ID 99999ul
#define MAX_GROUP_ID 99999ul
#define MAX_KEY_ID 999999999ul

typedef struct win_build {
	unsigned long number, platform_id;
	long long release;
	char *name;
	bool use_for_epid, may_be_server, ndr64;
} win_build;

typedef struct csvlk_item {
	kms_guid id;
	char *name;
	unsigned long group_id, min_key_id, max_key_id;
	long long release;
	bool lab, preview, has_vlmcsd_index;
	unsigned long vlmcsd_index;
	uint32_t invalid_builds;
	unsigned first_activate, n_activate;
} csvlk_item;

typedef struct app_item {
	kms_guid id;
	char *name;
	unsigned long min_active_clients, vlmcsd_index;
	bool has_vlmcsd_index;
	unsigned default_csvlk;
} app_item;

typedef struct kms_item {
	kms_guid id;
	char *name;
	unsigned app, n_policy, protocol, csvlk;
	bool retail, preview;
} kms_item;

typedef struct sku_item {
	kms_guid id;
	char *name, *gvlk;
	unsigned group;
	bool generated_gvlk;
} sku_item;

static win_build builds[MAX_BUILDS];
static csvlk_item csvlks[MAX_CSVLKS];
static app_item apps[MAX_APPS];
static kms_item groups[MAX_GROUPS];
static sku_item skus[MAX_SKUS];
/* Activate links: read as GUIDs, resolved to group indices once every
 * KmsItem is known (CsvlkItems come before AppItems in the file). */
static kms_guid activate_ids[MAX_ACTIVATES];
static unsigned activates[MAX_ACTIVATES];
static unsigned epid_builds[MAX_EPID_BUILDS];
static unsigned n_builds, n_csvlks, n_apps, n_groups, n_skus, n_activates, n_epid_builds;
static unsigned n_warnings;

__attribute__((format(printf, 1, 2))) static void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("gen-products: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	n_warnings++;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("gen-products: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ---- reading attributes ---- */

static bool is_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcasecmp((const char *)n->name, name) == 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* An attribute's value with surrounding blanks removed, or NULL when the
 * attribute is absent. Names match without regard to case: the file
 * spells DefaultKmsProtocol both ways. */
static char *attr_text(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (strcasecmp((const char *)a->name, name) != 0)
			continue;
		xmlChar *raw = xmlNodeGetContent((const xmlNode *)a);
		const char *s = raw ? (const char *)raw : "";
		while (is_blank(*s))
			s++;
		size_t len = strlen(s);
		while (len && is_blank(s[len - 1]))
			len--;
		char *value = strndup(s, len);
		xmlFree(raw);
		if (!value)
			die("out of memory");
		return value;
	}
	return NULL;
}

/* The readers below return NULL on success, or what is wrong with the
 * attribute ("missing", "empty", "invalid") for a warning to quote. */

static const char *attr_number(const xmlNode *n, const char *name, unsigned long max,
			       unsigned long *out)
{
	char *text = attr_text(n, name);
	const char *problem = NULL;
	if (!text) {
		problem = "missing";
	} else if (!*text) {
		problem = "empty";
	} else {
		char *end;
		errno = 0;
		unsigned long v = strtoul(text, &end, 10);
		if (errno || *end || text[0] < '0' || text[0] > '9' || v > max)
			problem = "invalid";
		else
			*out = v;
	}
	free(text);
	return problem;
}

static const char *attr_guid(const xmlNode *n, const char *name, kms_guid *out)
{
	char *text = attr_text(n, name);
	const char *problem = NULL;
	if (!text)
		problem = "missing";
	else if (!*text)
		problem = "empty";
	else if (!guid_parse(text, out) || guid_is_zero(out))
		problem = "invalid";
	free(text);
	return problem;
}

/* Absent means false; anything but true/false (any case) or 1/0 is
 * reported and read as false, the safe side for IsLab and the like. */
static bool attr_bool(const xmlNode *n, const char *name, const char *who)
{
	char *text = attr_text(n, name);
	bool value = false;
	if (text && (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0))
		value = true;
	else if (text && *text && strcasecmp(text, "false") != 0 && strcmp(text, "0") != 0)
		warn("%s: %s=\"%s\" is not a boolean, read as false", who, name, text);
	free(text);
	return value;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool valid_date(const struct tm *tm)
{
	static const int month_days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (tm->tm_year < 1970 || tm->tm_mon < 1 || tm->tm_mon > 12 || tm->tm_mday < 1)
		return false;
	int days = month_days[tm->tm_mon - 1] + (tm->tm_mon == 2 && leap_year(tm->tm_year));
	return tm->tm_mday <= days && tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec < 61;
}

/* "2009-10-22T00:00:00Z" (or just the date) -> seconds since the epoch.
 * Absent or empty is 0, "unknown", which ranks oldest; garbage is
 * reported and also read as unknown. */
static long long attr_date(const xmlNode *n, const char *who)
{
	char *text = attr_text(n, "ReleaseDate");
	if (!text || !*text) {
		free(text);
		return 0;
	}
	struct tm tm = { 0 };
	int used = 0;
	int fields = sscanf(text, "%4d-%2d-%2d%nT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
			    &tm.tm_mday, &used, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used);
	/* "%n" stores where the date or the whole time stamp ended */
	bool ok = (fields == 3 || fields == 6) && text[used] == 0;
	long long seconds = 0;
	if (ok && valid_date(&tm)) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		seconds = (long long)timegm(&tm);
	} else {
		warn("%s: ReleaseDate \"%s\" is not a date, treated as unknown", who, text);
	}
	free(text);
	return seconds;
}

/* InvalidWinBuild="[0,1,2]": positions in the ordered list of ePID builds.
 * Absent, empty or "[]" is none. Returns false when the text is malformed. */
static bool attr_build_mask(const xmlNode *n, const char *who, uint32_t *mask)
{
	char *text = attr_text(n, "InvalidWinBuild");
	*mask = 0;
	if (!text || !*text) {
		free(text);
		return true;
	}
	const char *p = text;
	bool ok = *p++ == '[';
	while (*p == ' ')
		p++;
	while (ok && *p != ']') {
		if (*p < '0' || *p > '9') {
			ok = false;
			break;
		}
		char *end;
		unsigned long position = strtoul(p, &end, 10);
		p = end;
		if (position < n_epid_builds)
			*mask |= 1u << position;
		else
			warn("%s: InvalidWinBuild position %lu is past the %u ePID builds, ignored",
			     who, position, n_epid_builds);
		while (*p == ' ')
			p++;
		if (*p == ',') {
			p++;
			while (*p == ' ')
				p++;
			ok = *p != ']';
		} else {
			ok = *p == ']';
		}
	}
	ok = ok && p[1] == 0;
	free(text);
	return ok;
}

/* The DisplayName, or the Id's text when it has none, so that every entry
 * can be named in warnings and by `kmsc products`. */
static char *display_name(const xmlNode *n)
{
	char *name = attr_text(n, "DisplayName");
	if (name && *name)
		return name;
	free(name);
	char *id = attr_text(n, "Id");
	if (id && *id)
		return id;
	free(id);
	name = strdup("(unnamed)");
	if (!name)
		die("out of memory");
	return name;
}

/* Appends "what field" to the comma-separated problems of one entry. */
static void note(char *list, size_t size, const char *what, const char *field)
{
	size_t used = strlen(list);
	snprintf(list + used, size - used, "%s%s %s", used ? ", " : "", what, field);
}

/* ---- the sections ---- */

static void read_builds(const xmlNode *section)
{
	for (const xmlNode *n = section ? section->children : NULL; n; n = n->next) {
		if (!is_element(n, "WinBuild"))
			continue;
		char *name = display_name(n);
		char who[200];
		snprintf(who, sizeof who, "WinBuild '%s'", name);
		win_build b = { .name = name };
		char problems[200] = "";
		const char *p;
		if ((p = attr_number(n, "BuildNumber", UINT32_MAX, &b.number)) || b.number == 0)
			note(problems, sizeof problems, p ? p : "zero", "BuildNumber");
		if ((p = attr_number(n, "PlatformId", MAX_PLATFORM_ID, &b.platform_id)))
			note(problems, sizeof problems, p, "PlatformId");
		for (unsigned i = 0; i < n_builds && !*problems; i++)
			if (builds[i].number == b.number)
				note(problems, sizeof problems, "duplicate", "BuildNumber");
		if (*problems) {
			warn("%s: %s, skipped", who, problems);
			free(name);
			continue;
		}
		if (n_builds == MAX_BUILDS)
			die("more than %d WinBuild entries", MAX_BUILDS);
		b.release = attr_date(n, who);
		b.use_for_epid = attr_bool(n, "UseForEpid", who);
		b.may_be_server = attr_bool(n, "MayBeServer", who);
		b.ndr64 = attr_bool(n, "UsesNDR64", who);
		if (b.use_for_epid) {
			if (n_epid_builds < MAX_EPID_BUILDS) {
				epid_builds[n_epid_builds++] = n_builds;
			} else {
				warn("%s: more than %d UseForEpid builds, not used for ePIDs", who,
				     MAX_EPID_BUILDS);
				b.use_for_epid = false;
			}
		}
		builds[n_builds++] = b;
	}
}

/* Same rule as kms_csvlk_allows_build() in src/kms/products.c. */
static bool allows_epid_position(const csvlk_item *c, unsigned position)
{
	return !(c->invalid_builds & (1u << position)) &&
	       builds[epid_builds[position]].release >= c->release;
}

/* A key no ePID can be built for would fail the host's answer for every
 * group it were chosen for, so it is not kept at all. */
static bool has_epid_build(const csvlk_item *c)
{
	for (unsigned pos = 0; pos < n_epid_builds; pos++)
		if (allows_epid_position(c, pos))
			return true;
	return false;
}

static int csvlk_index(const kms_guid *id)
{
	for (unsigned i = 0; i < n_csvlks; i++)
		if (guid_cmp(&csvlks[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void read_activates(const xmlNode *item, csvlk_item *c, const char *who)
{
	c->first_activate = n_activates;
	for (const xmlNode *a = item->children; a; a = a->next) {
		if (!is_element(a, "Activate"))
			continue;
		kms_guid id;
		const char *p = attr_guid(a, "KmsItem", &id);
		if (p) {
			warn("%s: Activate with %s KmsItem, ignored", who, p);
			continue;
		}
		bool repeated = false;
		for (unsigned i = c->first_activate; i < n_activates; i++)
			repeated |= guid_cmp(&activate_ids[i], &id) == 0;
		if (repeated)
			continue;
		if (n_activates == MAX_ACTIVATES)
			die("more than %d Activate entries", MAX_ACTIVATES);
		activate_ids[n_activates++] = id;
	}
	c->n_activate = n_activates - c->first_activate;
}

static void read_csvlks(const xmlNode *section)
{
	for (const xmlNode *n = section ? section->children : NULL; n; n = n->next) {
		if (!is_element(n, "CsvlkItem"))
			continue;
		char *name = display_name(n);
		char who[200];
		snprintf(who, sizeof who, "CsvlkItem '%s'", name);
		csvlk_item c = { .name = name };
		/* every problem of the entry in one warning, so that a broken
		 * entry can be mended in one go */
		char problems[300] = "";
		const char *p;
		int first;
		if ((p = attr_guid(n, "Id", &c.id))) {
			note(problems, sizeof problems, p, "Id");
		} else if ((first = csvlk_index(&c.id)) >= 0) {
			/* the first entry with an id is the one kept */
			char kept[250];
			snprintf(kept, sizeof kept, "(kept '%s')", csvlks[first].name);
			note(problems, sizeof problems, "duplicate Id", kept);
		}
		if ((p = attr_number(n, "GroupId", MAX_GROUP_ID, &c.group_id)) || c.group_id == 0)
			note(problems, sizeof problems, p ? p : "zero", "GroupId");
		bool have_min = !(p = attr_number(n, "MinKeyId", MAX_KEY_ID, &c.min_key_id));
		if (!have_min)
			note(problems, sizeof problems, p, "MinKeyId");
		bool have_max = !(p = attr_number(n, "MaxKeyId", MAX_KEY_ID, &c.max_key_id));
		if (!have_max)
			note(problems, sizeof problems, p, "MaxKeyId");
		if (have_min && have_max && c.min_key_id > c.max_key_id)
			note(problems, sizeof problems, "MinKeyId above", "MaxKeyId");
		if (!attr_build_mask(n, who, &c.invalid_builds))
			note(problems, sizeof problems, "malformed", "InvalidWinBuild");
		if (*problems) {
			warn("%s: %s, skipped", who, problems);
			free(name);
			continue;
		}
		c.release = attr_date(n, who);
		if (!has_epid_build(&c)) {
			warn("%s: InvalidWinBuild and ReleaseDate allow no ePID build, skipped", who);
			free(name);
			continue;
		}
		if (n_csvlks == MAX_CSVLKS)
			die("more than %d CsvlkItem entries", MAX_CSVLKS);
		c.lab = attr_bool(n, "IsLab", who);
		c.preview = attr_bool(n, "IsPreview", who);
		c.has_vlmcsd_index = !attr_number(n, "VlmcsdIndex", UINT16_MAX, &c.vlmcsd_index);
		read_activates(n, &c, who);
		csvlks[n_csvlks++] = c;
	}
}

static int group_index(const kms_guid *id)
{
	for (unsigned i = 0; i < n_groups; i++)
		if (guid_cmp(&groups[i].id, id) == 0)
			return (int)i;
	return -1;
}

static bool sku_known(const kms_guid *id)
{
	for (unsigned i = 0; i < n_skus; i++)
		if (guid_cmp(&skus[i].id, id) == 0)
			return true;
	return false;
}

/* A GVLK is five groups of five characters from the product key alphabet. */
static bool gvlk_well_formed(const char *key)
{
	if (strlen(key) != 29)
		return false;
	for (int i = 0; i < 29; i++) {
		char c = key[i];
		if (i % 6 == 5 ? c != '-' : !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static void read_skus(const xmlNode *kms_node, unsigned group)
{
	for (const xmlNode *n = kms_node->children; n; n = n->next) {
		if (!is_element(n, "SkuItem"))
			continue;
		char *name = display_name(n);
		sku_item s = { .name = name, .group = group };
		const char *p = attr_guid(n, "Id", &s.id);
		if (p || sku_known(&s.id)) {
			warn("SkuItem '%s': %s Id, skipped", name, p ? p : "duplicate");
			free(name);
			continue;
		}
		if (n_skus == MAX_SKUS)
			die("more than %d SkuItem entries", MAX_SKUS);
		s.gvlk = attr_text(n, "Gvlk");
		if (s.gvlk && !*s.gvlk) {
			free(s.gvlk);
			s.gvlk = NULL;
		} else if (s.gvlk && !gvlk_well_formed(s.gvlk)) {
			warn("SkuItem '%s': malformed Gvlk \"%s\", dropped", name, s.gvlk);
			free(s.gvlk);
			s.gvlk = NULL;
		}
		char who[200];
		snprintf(who, sizeof who, "SkuItem '%s'", name);
		s.generated_gvlk = attr_bool(n, "IsGeneratedGvlk", who);
		skus[n_skus++] = s;
	}
}

/* "6.0" or "6" -> 6; absent is 6, the current protocol. */
static unsigned attr_protocol(const xmlNode *n, const char *who)
{
	char *text = attr_text(n, "DefaultKmsProtocol");
	unsigned protocol = 6;
	if (text) {
		char *end;
		unsigned long major = strtoul(text, &end, 10);
		bool ok = end != text && text[0] >= '0' && text[0] <= '9' &&
			  (*end == 0 || (end[0] == '.' && end[1] >= '0' && end[1] <= '9'));
		if (ok && major >= 4 && major <= 6)
			protocol = (unsigned)major;
		else
			warn("%s: DefaultKmsProtocol \"%s\" is not 4.x, 5.x or 6.x, using 6", who, text);
	}
	free(text);
	return protocol;
}

/* NCountPolicy: 25 when absent, as for client operating systems. */
static unsigned attr_n_policy(const xmlNode *n, const char *who)
{
	unsigned long policy = 25;
	const char *p = attr_number(n, "NCountPolicy", UINT8_MAX, &policy);
	if (p && strcmp(p, "missing") != 0) {
		warn("%s: %s NCountPolicy, using 25", who, p);
		policy = 25;
	} else if (policy == 0) {
		warn("%s: NCountPolicy 0, using 25", who);
		policy = 25;
	}
	return (unsigned)policy;
}

static void read_groups(const xmlNode *app_node, unsigned app)
{
	for (const xmlNode *n = app_node->children; n; n = n->next) {
		if (!is_element(n, "KmsItem"))
			continue;
		char *name = display_name(n);
		char who[200];
		snprintf(who, sizeof who, "KmsItem '%s'", name);
		kms_item g = { .name = name, .app = app, .csvlk = NONE };
		const char *p = attr_guid(n, "Id", &g.id);
		if (p || group_index(&g.id) >= 0) {
			/* its SKUs would have no group to count in */
			warn("%s: %s Id, skipped with its SKUs", who, p ? p : "duplicate");
			free(name);
			continue;
		}
		if (n_groups == MAX_GROUPS)
			die("more than %d KmsItem entries", MAX_GROUPS);
		g.n_policy = attr_n_policy(n, who);
		g.protocol = attr_protocol(n, who);
		g.retail = attr_bool(n, "IsRetail", who);
		g.preview = attr_bool(n, "IsPreview", who);
		groups[n_groups] = g;
		read_skus(n, n_groups++);
	}
}

static void read_apps(const xmlNode *section)
{
	for (const xmlNode *n = section ? section->children : NULL; n; n = n->next) {
		if (!is_element(n, "AppItem"))
			continue;
		char *name = display_name(n);
		app_item a = { .name = name, .default_csvlk = NONE };
		const char *p = attr_guid(n, "Id", &a.id);
		for (unsigned i = 0; i < n_apps && !p; i++)
			if (guid_cmp(&apps[i].id, &a.id) == 0)
				p = "duplicate";
		if (p) {
			warn("AppItem '%s': %s Id, skipped with its KmsItems", name, p);
			free(name);
			continue;
		}
		if (n_apps == MAX_APPS)
			die("more than %d AppItem entries", MAX_APPS);
		p = attr_number(n, "MinActiveClients", UINT16_MAX, &a.min_active_clients);
		if (p) {
			if (strcmp(p, "missing") != 0)
				warn("AppItem '%s': %s MinActiveClients, using 0", name, p);
			a.min_active_clients = 0;
		}
		a.has_vlmcsd_index = !attr_number(n, "VlmcsdIndex", UINT16_MAX, &a.vlmcsd_index);
		apps[n_apps] = a;
		read_groups(n, n_apps++);
	}
}

/* ---- linking and choosing ---- */

/* Activate GUIDs -> group indices; links to unknown KmsItems are dropped. */
static void link_activates(void)
{
	unsigned kept = 0;
	for (unsigned c = 0; c < n_csvlks; c++) {
		unsigned first = kept;
		for (unsigned i = 0; i < csvlks[c].n_activate; i++) {
			const kms_guid *id = &activate_ids[csvlks[c].first_activate + i];
			int g = group_index(id);
			if (g < 0) {
				char text[GUID_TEXT_LEN];
				guid_format(id, text);
				warn("CsvlkItem '%s': Activate names unknown KmsItem %s, link ignored",
				     csvlks[c].name, text);
				continue;
			}
			activates[kept++] = (unsigned)g;
		}
		csvlks[c].first_activate = first;
		csvlks[c].n_activate = kept - first;
	}
	n_activates = kept;
}

static bool activates_group(const csvlk_item *c, unsigned group)
{
	for (unsigned i = 0; i < c->n_activate; i++)
		if (activates[c->first_activate + i] == group)
			return true;
	return false;
}

/* The key a real host is most likely to carry: a production key before a
 * lab or preview one, then the newest (unknown dates rank oldest); ties go
 * to the earlier entry in the file. */
static bool better_host_key(unsigned candidate, unsigned current)
{
	if (current == NONE)
		return true;
	const csvlk_item *a = &csvlks[candidate], *b = &csvlks[current];
	bool a_production = !a->lab && !a->preview, b_production = !b->lab && !b->preview;
	if (a_production != b_production)
		return a_production;
	return a->release > b->release;
}

static void choose_app_defaults(void)
{
	for (unsigned a = 0; a < n_apps; a++) {
		app_item *app = &apps[a];
		for (unsigned c = 0; c < n_csvlks && app->has_vlmcsd_index; c++) {
			const csvlk_item *key = &csvlks[c];
			if (key->has_vlmcsd_index && key->vlmcsd_index == app->vlmcsd_index) {
				app->default_csvlk = c;
				break;
			}
		}
		if (app->default_csvlk != NONE)
			continue;
		for (unsigned c = 0; c < n_csvlks; c++) {
			bool serves_app = false;
			for (unsigned g = 0; g < n_groups && !serves_app; g++)
				serves_app = groups[g].app == a && activates_group(&csvlks[c], g);
			if (serves_app && better_host_key(c, app->default_csvlk))
				app->default_csvlk = c;
		}
		if (app->default_csvlk != NONE)
			warn("AppItem '%s': %s, defaulting to '%s'", app->name,
			     app->has_vlmcsd_index ? "no usable CSVLK with its VlmcsdIndex"
						   : "no VlmcsdIndex",
			     csvlks[app->default_csvlk].name);
		else
			warn("AppItem '%s': no usable CSVLK activates any of its KmsItems", app->name);
	}
}

static void choose_group_csvlks(void)
{
	unsigned best_overall = NONE;
	for (unsigned c = 0; c < n_csvlks; c++)
		if (better_host_key(c, best_overall))
			best_overall = c;

	for (unsigned g = 0; g < n_groups; g++) {
		kms_item *group = &groups[g];
		for (unsigned c = 0; c < n_csvlks; c++)
			if (activates_group(&csvlks[c], g) && better_host_key(c, group->csvlk))
				group->csvlk = c;
		if (group->csvlk != NONE)
			continue;
		/* Nothing usable lists it, yet clients of this group exist and
		 * must activate: answer with the key the app's host would have. */
		group->csvlk = apps[group->app].default_csvlk;
		if (group->csvlk == NONE)
			group->csvlk = best_overall;
		warn("KmsItem '%s': no usable CSVLK lists it, using '%s'", group->name,
		     csvlks[group->csvlk].name);
	}
}

/* ---- writing ---- */

static void put_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("NULL", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		/* octal escapes never run into the next character, and "??"
		 * is split so that -std=c11 reads no trigraph */
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f || (*p == '?' && p[1] == '?'))
			fprintf(f, "\\%03o", *p);
		else
			fputc(*p, f);
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

static const char *boolean(bool b)
{
	return b ? "true" : "false";
}

static void put_indices(FILE *f, const char *name, const unsigned *values, unsigned n)
{
	fprintf(f, "static const uint16_t %s[] = {", name);
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s%u,", i % 16 ? " " : "\n\t", values[i]);
	if (n == 0)
		fputs(" 0", f); /* C has no empty initializer; the count stays 0 */
	fputs("\n};\n\n", f);
}

typedef struct keyed_index {
	kms_guid id;
	unsigned index;
} keyed_index;

static int by_guid(const void *a, const void *b)
{
	return guid_cmp(&((const keyed_index *)a)->id, &((const keyed_index *)b)->id);
}

/* The positions of the `n` entries of an array, ordered by their GUIDs;
 * `first_id` is the id of entry 0 and `stride` the size of an entry. */
static void put_sorted_index(FILE *f, const char *name, const kms_guid *first_id, size_t stride,
			     unsigned n)
{
	keyed_index *keys = calloc(n ? n : 1, sizeof *keys);
	unsigned *order = calloc(n ? n : 1, sizeof *order);
	if (!keys || !order)
		die("out of memory");
	for (unsigned i = 0; i < n; i++) {
		const char *entry = (const char *)first_id + i * stride;
		keys[i] = (keyed_index){ *(const kms_guid *)entry, i };
	}
	qsort(keys, n, sizeof *keys, by_guid);
	for (unsigned i = 0; i < n; i++)
		order[i] = keys[i].index;
	put_indices(f, name, order, n);
	free(keys);
	free(order);
}

/* Every entry opens the same way: "\t{ .id = {...}, .name = "..."". */
static void put_entry_start(FILE *f, const kms_guid *id, const char *name)
{
	fputs("\t{ .id = ", f);
	put_guid(f, id);
	fputs(", .name = ", f);
	put_string(f, name);
}

/* Designated initializers, so that a reordered struct in products.h cannot
 * silently shift the data into the wrong fields. */
static void write_table(FILE *f, const char *source)
{
	fprintf(f, "/* Generated by tools/gen-products from %s; do not edit. */\n", source);
	fputs("#include \"kms/products.h\"\n\n", f);

	fputs("static const kms_app apps[] = {\n", f);
	for (unsigned i = 0; i < n_apps; i++) {
		put_entry_start(f, &apps[i].id, apps[i].name);
		fprintf(f, ", .min_active_clients = %lu, .default_csvlk = %u },\n",
			apps[i].min_active_clients, apps[i].default_csvlk);
	}

	fputs("};\n\nstatic const kms_group groups[] = {\n", f);
	for (unsigned i = 0; i < n_groups; i++) {
		const kms_item *g = &groups[i];
		put_entry_start(f, &g->id, g->name);
		fprintf(f, ", .app = %u, .n_policy = %u, .protocol = %u, .retail = %s, "
			   ".preview = %s, .csvlk = %u },\n",
			g->app, g->n_policy, g->protocol, boolean(g->retail), boolean(g->preview),
			g->csvlk);
	}

	fputs("};\n\nstatic const kms_sku skus[] = {\n", f);
	for (unsigned i = 0; i < n_skus; i++) {
		put_entry_start(f, &skus[i].id, skus[i].name);
		fputs(", .gvlk = ", f);
		put_string(f, skus[i].gvlk);
		fprintf(f, ", .group = %u, .generated_gvlk = %s },\n", skus[i].group,
			boolean(skus[i].generated_gvlk));
	}

	fputs("};\n\nstatic const kms_csvlk csvlks[] = {\n", f);
	for (unsigned i = 0; i < n_csvlks; i++) {
		const csvlk_item *c = &csvlks[i];
		put_entry_start(f, &c->id, c->name);
		fprintf(f, ", .group_id = %lu, .min_key_id = %lu, .max_key_id = %lu, "
			   ".release_date = %lld, .lab = %s, .preview = %s, .invalid_builds = 0x%xu, "
			   ".first_activate = %u, .n_activate = %u },\n",
			c->group_id, c->min_key_id, c->max_key_id, c->release, boolean(c->lab),
			boolean(c->preview), (unsigned)c->invalid_builds, c->first_activate,
			c->n_activate);
	}

	fputs("};\n\nstatic const kms_build builds[] = {\n", f);
	for (unsigned i = 0; i < n_builds; i++) {
		const win_build *b = &builds[i];
		fprintf(f, "\t{ .build = %lu, .platform_id = %lu, .release_date = %lld, .name = ",
			b->number, b->platform_id, b->release);
		put_string(f, b->name);
		fprintf(f, ", .use_for_epid = %s, .may_be_server = %s, .ndr64 = %s },\n",
			boolean(b->use_for_epid), boolean(b->may_be_server), boolean(b->ndr64));
	}
	fputs("};\n\n", f);

	put_indices(f, "activates", activates, n_activates);
	put_indices(f, "epid_builds", epid_builds, n_epid_builds);
	put_sorted_index(f, "apps_by_id", &apps[0].id, sizeof apps[0], n_apps);
	put_sorted_index(f, "groups_by_id", &groups[0].id, sizeof groups[0], n_groups);
	put_sorted_index(f, "skus_by_id", &skus[0].id, sizeof skus[0], n_skus);
	put_sorted_index(f, "csvlks_by_id", &csvlks[0].id, sizeof csvlks[0], n_csvlks);

	fprintf(f, "const kms_products kms_product_table = {\n"
		   "\t.apps = apps, .n_apps = %u,\n"
		   "\t.groups = groups, .n_groups = %u,\n"
		   "\t.skus = skus, .n_skus = %u,\n"
		   "\t.csvlks = csvlks, .n_csvlks = %u,\n"
		   "\t.builds = builds, .n_builds = %u,\n"
		   "\t.activates = activates, .n_activates = %u,\n"
		   "\t.apps_by_id = apps_by_id,\n"
		   "\t.groups_by_id = groups_by_id,\n"
		   "\t.skus_by_id = skus_by_id,\n"
		   "\t.csvlks_by_id = csvlks_by_id,\n"
		   "\t.epid_builds = epid_builds, .n_epid_builds = %u,\n"
		   "};\n",
		n_apps, n_groups, n_skus, n_csvlks, n_builds, n_activates, n_epid_builds);
}

/* Writes OUT.c.tmp and renames it over OUT.c, so that an interrupted run
 * never leaves a half-written table for make to take as up to date. */
static void write_output(const char *path, const char *source)
{
	size_t len = strlen(path) + sizeof ".tmp";
	char *tmp = malloc(len);
	if (!tmp)
		die("out of memory");
	snprintf(tmp, len, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die("cannot create %s: %s", tmp, strerror(errno));
	write_table(f, source);
	bool written = fflush(f) == 0 && !ferror(f);
	int saved = errno;
	if (fclose(f) != 0 && written) {
		written = false;
		saved = errno;
	}
	if (!written) {
		unlink(tmp);
		die("cannot write %s: %s", tmp, strerror(saved));
	}
	if (rename(tmp, path) != 0) {
		saved = errno;
		unlink(tmp);
		die("cannot rename %s to %s: %s", tmp, path, strerror(saved));
	}
	free(tmp);
}

static const xmlNode *section(const xmlNode *root, const char *name)
{
	for (const xmlNode *n = root->children; n; n = n->next)
		if (is_element(n, name))
			return n;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gen-products KmsDataBase.xml OUT.c\n");
		return 1;
	}
	xmlDoc *doc = xmlReadFile(argv[1], NULL, XML_PARSE_NONET);
	if (!doc)
		die("cannot parse %s", argv[1]);
	const xmlNode *root = xmlDocGetRootElement(doc);
	if (!root || !is_element(root, "KmsData"))
		die("%s: the root element is not KmsData", argv[1]);

	/* builds first: InvalidWinBuild positions refer to their order */
	read_builds(section(root, "WinBuilds"));
	read_csvlks(section(root, "CsvlkItems"));
	read_apps(section(root, "AppItems"));
	if (!n_apps || !n_groups || !n_skus || !n_csvlks || !n_builds || !n_epid_builds)
		die("%s: a required table is empty (%u apps, %u KMS ids, %u SKUs, %u usable CSVLKs, "
		    "%u builds, %u ePID builds)",
		    argv[1], n_apps, n_groups, n_skus, n_csvlks, n_builds, n_epid_builds);

	link_activates();
	choose_app_defaults();
	choose_group_csvlks();

	const char *slash = strrchr(argv[1], '/');
	write_output(argv[2], slash ? slash + 1 : argv[1]);
	fprintf(stderr, "gen-products: %u apps, %u KMS ids, %u SKUs, %u CSVLKs, %u builds "
			"(%u for ePIDs), %u warnings\n",
		n_apps, n_groups, n_skus, n_csvlks, n_builds, n_epid_builds, n_warnings);
	xmlFreeDoc(doc);
	xmlCleanupParser();
	return 0;
}
