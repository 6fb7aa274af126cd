/* The product data parser (see product_data.h). Reads into the file's
 * own item lists first, then links, chooses each group's host key and
 * builds the kms_products arrays products.h describes. */
#include "kms/product_data.h"

#include <errno.h>
#include <setjmp.h>
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


/* Everything one read needs: no state outlives it but the result. */
typedef struct parse {
	win_build builds[MAX_BUILDS];
	csvlk_item csvlks[MAX_CSVLKS];
	app_item apps[MAX_APPS];
	kms_item groups[MAX_GROUPS];
	sku_item skus[MAX_SKUS];
	/* Activate links: read as GUIDs, resolved to group indices once every
	 * KmsItem is known (CsvlkItems come before AppItems in the file). */
	kms_guid activate_ids[MAX_ACTIVATES];
	unsigned activates[MAX_ACTIVATES];
	unsigned epid_builds[MAX_EPID_BUILDS];
	unsigned n_builds, n_csvlks, n_apps, n_groups, n_skus, n_activates, n_epid_builds;
	unsigned n_warnings;
	kms_product_warn_fn warn;
	void *warn_ctx;
	jmp_buf fail;
	char error[256];
} parse;

__attribute__((format(printf, 2, 3))) static void warn(parse *P, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	P->n_warnings++;
	if (P->warn)
		P->warn(P->warn_ctx, line);
}

__attribute__((format(printf, 2, 3), noreturn)) static void die(parse *P, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(P->error, sizeof P->error, fmt, ap);
	va_end(ap);
	longjmp(P->fail, 1);
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
static char *attr_text(parse *P, const xmlNode *n, const char *name)
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
			die(P, "out of memory");
		return value;
	}
	return NULL;
}

/* The readers below return NULL on success, or what is wrong with the
 * attribute ("missing", "empty", "invalid") for a warning to quote. */

static const char *attr_number(parse *P, const xmlNode *n, const char *name, unsigned long max,
			       unsigned long *out)
{
	char *text = attr_text(P, n, name);
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

static const char *attr_guid(parse *P, const xmlNode *n, const char *name, kms_guid *out)
{
	char *text = attr_text(P, n, name);
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
static bool attr_bool(parse *P, const xmlNode *n, const char *name, const char *who)
{
	char *text = attr_text(P, n, name);
	bool value = false;
	if (text && (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0))
		value = true;
	else if (text && *text && strcasecmp(text, "false") != 0 && strcmp(text, "0") != 0)
		warn(P, "%s: %s=\"%s\" is not a boolean, read as false", who, name, text);
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
static long long attr_date(parse *P, const xmlNode *n, const char *who)
{
	char *text = attr_text(P, n, "ReleaseDate");
	if (!text || !*text) {
		free(text);
		return 0;
	}
	struct tm tm = { 0 };
	int used = 0;
	/* the fields are range-checked by valid_date and %n proves the whole
	 * text matched, so a conversion error cannot go unnoticed */
	// NOLINTNEXTLINE(cert-err34-c)
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
		warn(P, "%s: ReleaseDate \"%s\" is not a date, treated as unknown", who, text);
	}
	free(text);
	return seconds;
}

/* InvalidWinBuild="[0,1,2]": positions in the ordered list of ePID builds.
 * Absent, empty or "[]" is none. Returns false when the text is malformed. */
static bool attr_build_mask(parse *P, const xmlNode *n, const char *who, uint32_t *mask)
{
	char *text = attr_text(P, n, "InvalidWinBuild");
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
		if (position < P->n_epid_builds)
			*mask |= 1u << position;
		else
			warn(P, "%s: InvalidWinBuild position %lu is past the %u ePID builds, ignored",
			     who, position, P->n_epid_builds);
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
static char *display_name(parse *P, const xmlNode *n)
{
	char *name = attr_text(P, n, "DisplayName");
	if (name && *name)
		return name;
	free(name);
	char *id = attr_text(P, n, "Id");
	if (id && *id)
		return id;
	free(id);
	name = strdup("(unnamed)");
	if (!name)
		die(P, "out of memory");
	return name;
}

/* Appends "what field" to the comma-separated problems of one entry. */
static void note(char *list, size_t size, const char *what, const char *field)
{
	size_t used = strlen(list);
	snprintf(list + used, size - used, "%s%s %s", used ? ", " : "", what, field);
}

/* ---- the sections ---- */

/* Each element named `tag` among parent's children (none when parent is
 * NULL), with its display name (the reader keeps or frees it) and the
 * "Tag 'name'" its warnings begin with. */
typedef void entry_reader(parse *P, const xmlNode *n, char *name, const char *who, void *ctx);

static void each_entry(parse *P, const xmlNode *parent, const char *tag, entry_reader *read,
		       void *ctx)
{
	for (const xmlNode *n = parent ? parent->children : NULL; n; n = n->next) {
		if (!is_element(n, tag))
			continue;
		char *name = display_name(P, n);
		char who[200];
		snprintf(who, sizeof who, "%s '%s'", tag, name);
		read(P, n, name, who, ctx);
	}
}

static void read_build(parse *P, const xmlNode *n, char *name, const char *who, void *ctx)
{
	(void)ctx;
	win_build b = { .name = name };
	char problems[200] = "";
	const char *p;
	if ((p = attr_number(P, n, "BuildNumber", UINT32_MAX, &b.number)) || b.number == 0)
		note(problems, sizeof problems, p ? p : "zero", "BuildNumber");
	if ((p = attr_number(P, n, "PlatformId", MAX_PLATFORM_ID, &b.platform_id)))
		note(problems, sizeof problems, p, "PlatformId");
	for (unsigned i = 0; i < P->n_builds && !*problems; i++)
		if (P->builds[i].number == b.number)
			note(problems, sizeof problems, "duplicate", "BuildNumber");
	if (*problems) {
		warn(P, "%s: %s, skipped", who, problems);
		free(name);
		return;
	}
	if (P->n_builds == MAX_BUILDS)
		die(P, "more than %d WinBuild entries", MAX_BUILDS);
	b.release = attr_date(P, n, who);
	b.use_for_epid = attr_bool(P, n, "UseForEpid", who);
	b.may_be_server = attr_bool(P, n, "MayBeServer", who);
	b.ndr64 = attr_bool(P, n, "UsesNDR64", who);
	if (b.use_for_epid) {
		if (P->n_epid_builds < MAX_EPID_BUILDS) {
			P->epid_builds[P->n_epid_builds++] = P->n_builds;
		} else {
			warn(P, "%s: more than %d UseForEpid builds, not used for ePIDs", who,
			     MAX_EPID_BUILDS);
			b.use_for_epid = false;
		}
	}
	P->builds[P->n_builds++] = b;
}

static void read_builds(parse *P, const xmlNode *section)
{
	each_entry(P, section, "WinBuild", read_build, NULL);
}

/* Same rule as kms_csvlk_allows_build() in src/kms/products.c. */
static bool allows_epid_position(parse *P, const csvlk_item *c, unsigned position)
{
	return !(c->invalid_builds & (1u << position)) &&
	       P->builds[P->epid_builds[position]].release >= c->release;
}

/* A key no ePID can be built for would fail the host's answer for every
 * group it were chosen for, so it is not kept at all. */
static bool has_epid_build(parse *P, const csvlk_item *c)
{
	for (unsigned pos = 0; pos < P->n_epid_builds; pos++)
		if (allows_epid_position(P, c, pos))
			return true;
	return false;
}

static int csvlk_index(parse *P, const kms_guid *id)
{
	for (unsigned i = 0; i < P->n_csvlks; i++)
		if (guid_cmp(&P->csvlks[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void read_activates(parse *P, const xmlNode *item, csvlk_item *c, const char *who)
{
	c->first_activate = P->n_activates;
	for (const xmlNode *a = item->children; a; a = a->next) {
		if (!is_element(a, "Activate"))
			continue;
		kms_guid id;
		const char *p = attr_guid(P, a, "KmsItem", &id);
		if (p) {
			warn(P, "%s: Activate with %s KmsItem, ignored", who, p);
			continue;
		}
		bool repeated = false;
		for (unsigned i = c->first_activate; i < P->n_activates; i++)
			repeated |= guid_cmp(&P->activate_ids[i], &id) == 0;
		if (repeated)
			continue;
		if (P->n_activates == MAX_ACTIVATES)
			die(P, "more than %d Activate entries", MAX_ACTIVATES);
		P->activate_ids[P->n_activates++] = id;
	}
	c->n_activate = P->n_activates - c->first_activate;
}

static void read_csvlk(parse *P, const xmlNode *n, char *name, const char *who, void *ctx)
{
	(void)ctx;
	csvlk_item c = { .name = name };
	/* every problem of the entry in one warning, so that a broken
	 * entry can be mended in one go */
	char problems[300] = "";
	const char *p;
	int first;
	if ((p = attr_guid(P, n, "Id", &c.id))) {
		note(problems, sizeof problems, p, "Id");
	} else if ((first = csvlk_index(P, &c.id)) >= 0) {
		/* the first entry with an id is the one kept */
		char kept[250];
		snprintf(kept, sizeof kept, "(kept '%s')", P->csvlks[first].name);
		note(problems, sizeof problems, "duplicate Id", kept);
	}
	if ((p = attr_number(P, n, "GroupId", MAX_GROUP_ID, &c.group_id)) || c.group_id == 0)
		note(problems, sizeof problems, p ? p : "zero", "GroupId");
	bool have_min = !(p = attr_number(P, n, "MinKeyId", MAX_KEY_ID, &c.min_key_id));
	if (!have_min)
		note(problems, sizeof problems, p, "MinKeyId");
	bool have_max = !(p = attr_number(P, n, "MaxKeyId", MAX_KEY_ID, &c.max_key_id));
	if (!have_max)
		note(problems, sizeof problems, p, "MaxKeyId");
	if (have_min && have_max && c.min_key_id > c.max_key_id)
		note(problems, sizeof problems, "MinKeyId above", "MaxKeyId");
	if (!attr_build_mask(P, n, who, &c.invalid_builds))
		note(problems, sizeof problems, "malformed", "InvalidWinBuild");
	if (*problems) {
		warn(P, "%s: %s, skipped", who, problems);
		free(name);
		return;
	}
	c.release = attr_date(P, n, who);
	if (!has_epid_build(P, &c)) {
		warn(P, "%s: InvalidWinBuild and ReleaseDate allow no ePID build, skipped", who);
		free(name);
		return;
	}
	if (P->n_csvlks == MAX_CSVLKS)
		die(P, "more than %d CsvlkItem entries", MAX_CSVLKS);
	c.lab = attr_bool(P, n, "IsLab", who);
	c.preview = attr_bool(P, n, "IsPreview", who);
	c.has_vlmcsd_index = !attr_number(P, n, "VlmcsdIndex", UINT16_MAX, &c.vlmcsd_index);
	read_activates(P, n, &c, who);
	P->csvlks[P->n_csvlks++] = c;
}

static void read_csvlks(parse *P, const xmlNode *section)
{
	each_entry(P, section, "CsvlkItem", read_csvlk, NULL);
}

static int group_index(parse *P, const kms_guid *id)
{
	for (unsigned i = 0; i < P->n_groups; i++)
		if (guid_cmp(&P->groups[i].id, id) == 0)
			return (int)i;
	return -1;
}

static bool sku_known(parse *P, const kms_guid *id)
{
	for (unsigned i = 0; i < P->n_skus; i++)
		if (guid_cmp(&P->skus[i].id, id) == 0)
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

static void read_sku(parse *P, const xmlNode *n, char *name, const char *who, void *ctx)
{
	unsigned group = *(const unsigned *)ctx;
	sku_item s = { .name = name, .group = group };
	const char *p = attr_guid(P, n, "Id", &s.id);
	if (p || sku_known(P, &s.id)) {
		warn(P, "%s: %s Id, skipped", who, p ? p : "duplicate");
		free(name);
		return;
	}
	if (P->n_skus == MAX_SKUS)
		die(P, "more than %d SkuItem entries", MAX_SKUS);
	s.gvlk = attr_text(P, n, "Gvlk");
	if (s.gvlk && !*s.gvlk) {
		free(s.gvlk);
		s.gvlk = NULL;
	} else if (s.gvlk && !gvlk_well_formed(s.gvlk)) {
		warn(P, "%s: malformed Gvlk \"%s\", dropped", who, s.gvlk);
		free(s.gvlk);
		s.gvlk = NULL;
	}
	s.generated_gvlk = attr_bool(P, n, "IsGeneratedGvlk", who);
	P->skus[P->n_skus++] = s;
}

static void read_skus(parse *P, const xmlNode *kms_node, unsigned group)
{
	each_entry(P, kms_node, "SkuItem", read_sku, &group);
}

/* "6.0" or "6" -> 6; absent is 6, the current protocol. */
static unsigned attr_protocol(parse *P, const xmlNode *n, const char *who)
{
	char *text = attr_text(P, n, "DefaultKmsProtocol");
	unsigned protocol = 6;
	if (text) {
		char *end;
		unsigned long major = strtoul(text, &end, 10);
		bool ok = end != text && text[0] >= '0' && text[0] <= '9' &&
			  (*end == 0 || (end[0] == '.' && end[1] >= '0' && end[1] <= '9'));
		if (ok && major >= 4 && major <= 6)
			protocol = (unsigned)major;
		else
			warn(P, "%s: DefaultKmsProtocol \"%s\" is not 4.x, 5.x or 6.x, using 6", who, text);
	}
	free(text);
	return protocol;
}

/* NCountPolicy: 25 when absent, as for client operating systems. */
static unsigned attr_n_policy(parse *P, const xmlNode *n, const char *who)
{
	unsigned long policy = 25;
	const char *p = attr_number(P, n, "NCountPolicy", UINT8_MAX, &policy);
	if (p && strcmp(p, "missing") != 0) {
		warn(P, "%s: %s NCountPolicy, using 25", who, p);
		policy = 25;
	} else if (policy == 0) {
		warn(P, "%s: NCountPolicy 0, using 25", who);
		policy = 25;
	}
	return (unsigned)policy;
}

static void read_group(parse *P, const xmlNode *n, char *name, const char *who, void *ctx)
{
	unsigned app = *(const unsigned *)ctx;
	kms_item g = { .name = name, .app = app, .csvlk = NONE };
	const char *p = attr_guid(P, n, "Id", &g.id);
	if (p || group_index(P, &g.id) >= 0) {
		/* its SKUs would have no group to count in */
		warn(P, "%s: %s Id, skipped with its SKUs", who, p ? p : "duplicate");
		free(name);
		return;
	}
	if (P->n_groups == MAX_GROUPS)
		die(P, "more than %d KmsItem entries", MAX_GROUPS);
	g.n_policy = attr_n_policy(P, n, who);
	g.protocol = attr_protocol(P, n, who);
	g.retail = attr_bool(P, n, "IsRetail", who);
	g.preview = attr_bool(P, n, "IsPreview", who);
	P->groups[P->n_groups] = g;
	read_skus(P, n, P->n_groups++);
}

static void read_groups(parse *P, const xmlNode *app_node, unsigned app)
{
	each_entry(P, app_node, "KmsItem", read_group, &app);
}

static void read_app(parse *P, const xmlNode *n, char *name, const char *who, void *ctx)
{
	(void)ctx;
	app_item a = { .name = name, .default_csvlk = NONE };
	const char *p = attr_guid(P, n, "Id", &a.id);
	for (unsigned i = 0; i < P->n_apps && !p; i++)
		if (guid_cmp(&P->apps[i].id, &a.id) == 0)
			p = "duplicate";
	if (p) {
		warn(P, "%s: %s Id, skipped with its KmsItems", who, p);
		free(name);
		return;
	}
	if (P->n_apps == MAX_APPS)
		die(P, "more than %d AppItem entries", MAX_APPS);
	p = attr_number(P, n, "MinActiveClients", UINT16_MAX, &a.min_active_clients);
	if (p) {
		if (strcmp(p, "missing") != 0)
			warn(P, "%s: %s MinActiveClients, using 0", who, p);
		a.min_active_clients = 0;
	}
	a.has_vlmcsd_index = !attr_number(P, n, "VlmcsdIndex", UINT16_MAX, &a.vlmcsd_index);
	P->apps[P->n_apps] = a;
	read_groups(P, n, P->n_apps++);
}

static void read_apps(parse *P, const xmlNode *section)
{
	each_entry(P, section, "AppItem", read_app, NULL);
}

/* ---- linking and choosing ---- */

/* Activate GUIDs -> group indices; links to unknown KmsItems are dropped. */
static void link_activates(parse *P)
{
	unsigned kept = 0;
	for (unsigned c = 0; c < P->n_csvlks; c++) {
		unsigned first = kept;
		for (unsigned i = 0; i < P->csvlks[c].n_activate; i++) {
			const kms_guid *id = &P->activate_ids[P->csvlks[c].first_activate + i];
			int g = group_index(P, id);
			if (g < 0) {
				char text[GUID_TEXT_LEN];
				guid_format(id, text);
				warn(P, "CsvlkItem '%s': Activate names unknown KmsItem %s, link ignored",
				     P->csvlks[c].name, text);
				continue;
			}
			P->activates[kept++] = (unsigned)g;
		}
		P->csvlks[c].first_activate = first;
		P->csvlks[c].n_activate = kept - first;
	}
	P->n_activates = kept;
}

static bool activates_group(parse *P, const csvlk_item *c, unsigned group)
{
	for (unsigned i = 0; i < c->n_activate; i++)
		if (P->activates[c->first_activate + i] == group)
			return true;
	return false;
}

/* The key a real host is most likely to carry: a production key before a
 * lab or preview one, then the newest (unknown dates rank oldest); ties go
 * to the earlier entry in the file. */
static bool better_host_key(parse *P, unsigned candidate, unsigned current)
{
	if (current == NONE)
		return true;
	const csvlk_item *a = &P->csvlks[candidate], *b = &P->csvlks[current];
	bool a_production = !a->lab && !a->preview, b_production = !b->lab && !b->preview;
	if (a_production != b_production)
		return a_production;
	return a->release > b->release;
}

static void choose_app_defaults(parse *P)
{
	for (unsigned a = 0; a < P->n_apps; a++) {
		app_item *app = &P->apps[a];
		for (unsigned c = 0; c < P->n_csvlks && app->has_vlmcsd_index; c++) {
			const csvlk_item *key = &P->csvlks[c];
			if (key->has_vlmcsd_index && key->vlmcsd_index == app->vlmcsd_index) {
				app->default_csvlk = c;
				break;
			}
		}
		if (app->default_csvlk != NONE)
			continue;
		for (unsigned c = 0; c < P->n_csvlks; c++) {
			bool serves_app = false;
			for (unsigned g = 0; g < P->n_groups && !serves_app; g++)
				serves_app = P->groups[g].app == a && activates_group(P, &P->csvlks[c], g);
			if (serves_app && better_host_key(P, c, app->default_csvlk))
				app->default_csvlk = c;
		}
		if (app->default_csvlk != NONE)
			warn(P, "AppItem '%s': %s, defaulting to '%s'", app->name,
			     app->has_vlmcsd_index ? "no usable CSVLK with its VlmcsdIndex"
						   : "no VlmcsdIndex",
			     P->csvlks[app->default_csvlk].name);
		else
			warn(P, "AppItem '%s': no usable CSVLK activates any of its KmsItems", app->name);
	}
}

static void choose_group_csvlks(parse *P)
{
	unsigned best_overall = NONE;
	for (unsigned c = 0; c < P->n_csvlks; c++)
		if (better_host_key(P, c, best_overall))
			best_overall = c;

	for (unsigned g = 0; g < P->n_groups; g++) {
		kms_item *group = &P->groups[g];
		for (unsigned c = 0; c < P->n_csvlks; c++)
			if (activates_group(P, &P->csvlks[c], g) && better_host_key(P, c, group->csvlk))
				group->csvlk = c;
		if (group->csvlk != NONE)
			continue;
		/* Nothing usable lists it, yet clients of this group exist and
		 * must activate: answer with the key the app's host would have. */
		group->csvlk = P->apps[group->app].default_csvlk;
		if (group->csvlk == NONE)
			group->csvlk = best_overall;
		warn(P, "KmsItem '%s': no usable CSVLK lists it, using '%s'", group->name,
		     P->csvlks[group->csvlk].name);
	}
}


/* ---- the result ---- */

struct kms_product_data {
	kms_products table;
	parse *p;                     /* owns the strings the table points to */
	unsigned warnings;
	kms_app *apps;
	kms_group *groups;
	kms_sku *skus;
	kms_csvlk *csvlks;
	kms_build *builds;
	uint16_t *activates, *epid_builds;
	uint16_t *apps_by_id, *groups_by_id, *skus_by_id, *csvlks_by_id;
};

static const xmlNode *section(const xmlNode *root, const char *name)
{
	for (const xmlNode *n = root->children; n; n = n->next)
		if (is_element(n, name))
			return n;
	return NULL;
}

/* Index arrays sorted by GUID: insertion sort, the tables are small. */
static uint16_t *sorted_index(const void *entries, size_t stride, size_t n)
{
	uint16_t *idx = malloc((n ? n : 1) * sizeof *idx);
	if (!idx)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const kms_guid *g = (const kms_guid *)((const char *)entries + i * stride);
		size_t k = i;
		while (k > 0 && guid_cmp((const kms_guid *)((const char *)entries +
							    idx[k - 1] * stride), g) > 0) {
			idx[k] = idx[k - 1];
			k--;
		}
		idx[k] = (uint16_t)i;
	}
	return idx;
}

static bool build_table(kms_product_data *d)
{
	const parse *P = d->p;
	d->apps = calloc(P->n_apps, sizeof *d->apps);
	d->groups = calloc(P->n_groups, sizeof *d->groups);
	d->skus = calloc(P->n_skus, sizeof *d->skus);
	d->csvlks = calloc(P->n_csvlks, sizeof *d->csvlks);
	d->builds = calloc(P->n_builds, sizeof *d->builds);
	d->activates = calloc(P->n_activates ? P->n_activates : 1, sizeof *d->activates);
	d->epid_builds = calloc(P->n_epid_builds, sizeof *d->epid_builds);
	if (!d->apps || !d->groups || !d->skus || !d->csvlks || !d->builds || !d->activates ||
	    !d->epid_builds)
		return false;
	for (unsigned i = 0; i < P->n_apps; i++)
		d->apps[i] = (kms_app){ .id = P->apps[i].id, .name = P->apps[i].name,
					.min_active_clients = (uint16_t)P->apps[i].min_active_clients,
					.default_csvlk = (uint16_t)P->apps[i].default_csvlk };
	for (unsigned i = 0; i < P->n_groups; i++) {
		const kms_item *g = &P->groups[i];
		d->groups[i] = (kms_group){ .id = g->id, .name = g->name, .app = (uint16_t)g->app,
					    .n_policy = (uint8_t)g->n_policy,
					    .protocol = (uint8_t)g->protocol, .retail = g->retail,
					    .preview = g->preview, .csvlk = (uint16_t)g->csvlk };
	}
	for (unsigned i = 0; i < P->n_skus; i++) {
		const sku_item *s = &P->skus[i];
		d->skus[i] = (kms_sku){ .id = s->id, .name = s->name, .gvlk = s->gvlk,
					.group = (uint16_t)s->group,
					.generated_gvlk = s->generated_gvlk };
	}
	for (unsigned i = 0; i < P->n_csvlks; i++) {
		const csvlk_item *c = &P->csvlks[i];
		d->csvlks[i] = (kms_csvlk){ .id = c->id, .name = c->name,
					    .group_id = (uint32_t)c->group_id,
					    .min_key_id = (uint32_t)c->min_key_id,
					    .max_key_id = (uint32_t)c->max_key_id,
					    .release_date = c->release, .lab = c->lab,
					    .preview = c->preview, .invalid_builds = c->invalid_builds,
					    .first_activate = (uint16_t)c->first_activate,
					    .n_activate = (uint16_t)c->n_activate };
	}
	for (unsigned i = 0; i < P->n_builds; i++) {
		const win_build *b = &P->builds[i];
		d->builds[i] = (kms_build){ .build = (uint32_t)b->number,
					    .platform_id = (uint32_t)b->platform_id,
					    .release_date = b->release, .name = b->name,
					    .use_for_epid = b->use_for_epid,
					    .may_be_server = b->may_be_server, .ndr64 = b->ndr64 };
	}
	for (unsigned i = 0; i < P->n_activates; i++)
		d->activates[i] = (uint16_t)P->activates[i];
	for (unsigned i = 0; i < P->n_epid_builds; i++)
		d->epid_builds[i] = (uint16_t)P->epid_builds[i];
	d->apps_by_id = sorted_index(d->apps, sizeof *d->apps, P->n_apps);
	d->groups_by_id = sorted_index(d->groups, sizeof *d->groups, P->n_groups);
	d->skus_by_id = sorted_index(d->skus, sizeof *d->skus, P->n_skus);
	d->csvlks_by_id = sorted_index(d->csvlks, sizeof *d->csvlks, P->n_csvlks);
	if (!d->apps_by_id || !d->groups_by_id || !d->skus_by_id || !d->csvlks_by_id)
		return false;
	d->table = (kms_products){
		.apps = d->apps, .n_apps = P->n_apps,
		.groups = d->groups, .n_groups = P->n_groups,
		.skus = d->skus, .n_skus = P->n_skus,
		.csvlks = d->csvlks, .n_csvlks = P->n_csvlks,
		.builds = d->builds, .n_builds = P->n_builds,
		.activates = d->activates, .n_activates = P->n_activates,
		.apps_by_id = d->apps_by_id, .groups_by_id = d->groups_by_id,
		.skus_by_id = d->skus_by_id, .csvlks_by_id = d->csvlks_by_id,
		.epid_builds = d->epid_builds, .n_epid_builds = P->n_epid_builds,
	};
	return true;
}

static void free_strings(parse *P)
{
	for (unsigned i = 0; i < P->n_builds; i++)
		free(P->builds[i].name);
	for (unsigned i = 0; i < P->n_csvlks; i++)
		free(P->csvlks[i].name);
	for (unsigned i = 0; i < P->n_apps; i++)
		free(P->apps[i].name);
	for (unsigned i = 0; i < P->n_groups; i++)
		free(P->groups[i].name);
	for (unsigned i = 0; i < P->n_skus; i++) {
		free(P->skus[i].name);
		free(P->skus[i].gvlk);
	}
}

/* The part that may longjmp out: nothing it owns is on its stack. */
static bool read_all(parse *P, xmlDoc *doc)
{
	if (setjmp(P->fail))
		return false;
	const xmlNode *root = xmlDocGetRootElement(doc);
	if (!root || !is_element(root, "KmsData"))
		die(P, "the root element is not KmsData");
	/* builds first: InvalidWinBuild positions refer to their order */
	read_builds(P, section(root, "WinBuilds"));
	read_csvlks(P, section(root, "CsvlkItems"));
	read_apps(P, section(root, "AppItems"));
	if (!P->n_apps || !P->n_groups || !P->n_skus || !P->n_csvlks || !P->n_builds ||
	    !P->n_epid_builds)
		die(P, "a required table is empty (%u apps, %u KMS ids, %u SKUs, %u usable CSVLKs, "
		    "%u builds, %u ePID builds)",
		    P->n_apps, P->n_groups, P->n_skus, P->n_csvlks, P->n_builds, P->n_epid_builds);
	link_activates(P);
	choose_app_defaults(P);
	choose_group_csvlks(P);
	return true;
}

kms_product_data *kms_product_data_read(const char *xml, size_t len, kms_product_warn_fn warn_fn,
					void *ctx, char *err, size_t err_len)
{
	kms_product_data *d = calloc(1, sizeof *d);
	parse *P = d ? calloc(1, sizeof *P) : NULL;
	if (!P) {
		free(d);
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	d->p = P;
	P->warn = warn_fn;
	P->warn_ctx = ctx;
	xmlDoc *doc = len <= INT32_MAX ? xmlReadMemory(xml, (int)len, NULL, NULL,
						       XML_PARSE_NONET | XML_PARSE_NOERROR |
						       XML_PARSE_NOWARNING) : NULL;
	bool ok = doc != NULL;
	if (!ok)
		snprintf(P->error, sizeof P->error, "not well-formed XML");
	else
		ok = read_all(P, doc);
	xmlFreeDoc(doc);
	if (ok && !build_table(d)) {
		snprintf(P->error, sizeof P->error, "out of memory");
		ok = false;
	}
	if (!ok) {
		snprintf(err, err_len, "%s", P->error);
		kms_product_data_free(d);
		return NULL;
	}
	d->warnings = P->n_warnings;
	return d;
}

const kms_products *kms_product_data_table(const kms_product_data *d)
{
	return &d->table;
}

unsigned kms_product_data_warnings(const kms_product_data *d)
{
	return d->warnings;
}

void kms_product_data_free(kms_product_data *d)
{
	if (!d)
		return;
	free_strings(d->p);
	free(d->p);
	free(d->apps);
	free(d->groups);
	free(d->skus);
	free(d->csvlks);
	free(d->builds);
	free(d->activates);
	free(d->epid_builds);
	free(d->apps_by_id);
	free(d->groups_by_id);
	free(d->skus_by_id);
	free(d->csvlks_by_id);
	free(d);
}
