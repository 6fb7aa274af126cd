#include "server/config_special.h"

#include <string.h>

#include "kms/epid.h"
#include "kms/products.h"
#include "server/config_values.h"
#include "server/secret_file.h"
#include "store/store.h"

bool special_epid(const config_setting *row, kmsd_config *cfg, const char *v,
		  enum config_origin origin, char *why)
{
	(void)row;
	(void)origin;
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

void special_epid_dump(const config_setting *row, const kmsd_config *cfg, FILE *out)
{
	for (size_t i = 0; i < cfg->n_epids; i++) {
		char id[GUID_TEXT_LEN];
		guid_format(&cfg->epids[i].id, id);
		fprintf(out, "%s = %s %s\n", row->name, id, cfg->epids[i].epid);
	}
}

bool special_hwid(const config_setting *row, kmsd_config *cfg, const char *v,
		  enum config_origin origin, char *why)
{
	(void)row;
	(void)origin;
	cfg->hwid_auto = strcmp(v, "auto") == 0;
	return cfg->hwid_auto || value_hwid(v, cfg->hwid, why);
}

void special_hwid_dump(const config_setting *row, const kmsd_config *cfg, FILE *out)
{
	fprintf(out, "%s = ", row->name);
	for (int i = 0; i < 8 && !cfg->hwid_auto; i++)
		fprintf(out, "%02X", cfg->hwid[i]);
	fprintf(out, "%s\n", cfg->hwid_auto ? "auto" : "");
}

bool special_host_build(const char *v, char *why)
{
	long long n;
	if (!value_integer(v, 0, 999999, &n, why))
		return false;
	const kms_build *b = kms_build_find(&kms_product_table, (uint32_t)n);
	if (n && (!b || !b->use_for_epid)) {
		snprintf(why, WHY_LEN, "%lld is not a KMS host build (use 0 for automatic, or "
			 "6002, 7601, 9200, 9600, 14393, 17763, 20348, 26100)", n);
		return false;
	}
	return true;
}

static const struct {
	const char *word;
	kms_product_scope scope;
} scopes[] = { { "all", KMS_SERVE_ALL }, { "known", KMS_SERVE_KNOWN }, { "unknown", KMS_SERVE_ANY } };

bool special_serve(const config_setting *row, kmsd_config *cfg, const char *v,
		   enum config_origin origin, char *why)
{
	(void)row;
	(void)origin;
	for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
		if (strcmp(v, scopes[i].word) == 0) {
			cfg->scope = scopes[i].scope;
			cfg->n_served = 0;
			return true;
		}
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

void special_serve_dump(const config_setting *row, const kmsd_config *cfg, FILE *out)
{
	for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
		if (cfg->scope == scopes[i].scope)
			fprintf(out, "%s = %s\n", row->name, scopes[i].word);
	for (size_t i = 0; i < cfg->n_served; i++) {
		char id[GUID_TEXT_LEN];
		guid_format(&cfg->served[i], id);
		fprintf(out, "%s = %s\n", row->name, id);
	}
}

/* allow and deny: the row's field is the cidr array, its aux the offset
 * of the count beside it. */
bool special_cidr(const config_setting *row, kmsd_config *cfg, const char *v,
		  enum config_origin origin, char *why)
{
	(void)origin;
	cidr *items = (cidr *)(void *)SETTING_FIELD(row, cfg);
	size_t *count = (size_t *)(void *)((char *)cfg + *(const size_t *)row->aux);
	if (*count == row->size / sizeof *items) {
		snprintf(why, WHY_LEN, "too many %s lines (at most %zu)", row->name,
			 row->size / sizeof *items);
		return false;
	}
	if (!cidr_parse(v, &items[*count])) {
		snprintf(why, WHY_LEN, "\"%s\" is not an address or ADDRESS/BITS", v);
		return false;
	}
	(*count)++;
	return true;
}

void special_cidr_dump(const config_setting *row, const kmsd_config *cfg, FILE *out)
{
	const cidr *items = (const cidr *)(const void *)SETTING_CFIELD(row, cfg);
	size_t count = *(const size_t *)(const void *)((const char *)cfg +
						       *(const size_t *)row->aux);
	for (size_t i = 0; i < count; i++) {
		char text[64];
		cidr_format(&items[i], text, sizeof text);
		fprintf(out, "%s = %s\n", row->name, text);
	}
}

bool special_log(const char *v, char *out, size_t cap, char *why)
{
	if (strcmp(v, "stderr") != 0 && strcmp(v, "syslog") != 0 && strncmp(v, "file:/", 6) != 0) {
		snprintf(why, WHY_LEN, "\"%s\" is not stderr, syslog or file:/ABSOLUTE/PATH", v);
		return false;
	}
	return value_text(v, out, cap, why);
}

bool special_store(const char *v, char *out, size_t cap, char *why)
{
	if (store_spec_kind(v) == STORE_KIND_INVALID) {
		snprintf(why, WHY_LEN, "\"%s\" is not none, sqlite:/PATH or postgresql://...", v);
		return false;
	}
	return value_text(v, out, cap, why);
}

void special_store_dump(const config_setting *row, const kmsd_config *cfg, FILE *out)
{
	char shown[sizeof cfg->store];
	store_spec_display(cfg->store, shown, sizeof shown); /* no password in the output */
	fprintf(out, "%s = %s\n", row->name, shown);
}

bool special_secret_path(const char *v, char *out, size_t cap, char *why)
{
	return secret_value_ok(v, why, WHY_LEN) && value_text(v, out, cap, why);
}

bool special_web_token(const char *v, char *out, size_t cap, char *why)
{
	if (strlen(v) < 16) {
		snprintf(why, WHY_LEN, "a token needs at least 16 characters");
		return false;
	}
	return value_text(v, out, cap, why);
}

void special_web_token_dump(const config_setting *row, const kmsd_config *cfg, FILE *out)
{
	if (cfg->web_token[0])
		fprintf(out, "# %s is set (not shown)\n", row->name);
}
