/* What each type of row in the settings table means: how its text is
 * parsed into the field, how the field is shown again, how it is
 * described by `kmsd -S`. */
#include "server/config_setting.h"

#include <string.h>

#include "server/config_values.h"

/* Integer fields are bool, uint16_t, int/unsigned or int64_t; the table
 * gives the field's size, and every bound is at least 0. */
static void store_number(const config_setting *row, kmsd_config *cfg, int64_t n)
{
	char *field = SETTING_FIELD(row, cfg);
	bool b = n != 0;
	uint16_t u16 = (uint16_t)n;
	int32_t i32 = (int32_t)n;
	switch (row->size) {
	case 1: memcpy(field, &b, 1); break;
	case 2: memcpy(field, &u16, 2); break;
	case 4: memcpy(field, &i32, 4); break;
	default: memcpy(field, &n, 8); break;
	}
}

static int64_t load_number(const config_setting *row, const kmsd_config *cfg)
{
	const char *field = SETTING_CFIELD(row, cfg);
	bool b;
	uint16_t u16;
	int32_t i32;
	int64_t n;
	switch (row->size) {
	case 1: memcpy(&b, field, 1); return b;
	case 2: memcpy(&u16, field, 2); return u16;
	case 4: memcpy(&i32, field, 4); return i32;
	default: memcpy(&n, field, 8); return n;
	}
}

/* "a, b or c" */
static void list_words(const config_setting *row, char *out, size_t cap)
{
	size_t at = 0;
	out[0] = 0;
	for (size_t i = 0; i < row->n_words && at < cap; i++) {
		const char *sep = i == 0 ? "" : i + 1 == row->n_words ? " or " : ", ";
		int n = snprintf(out + at, cap - at, "%s%s", sep, row->words[i].word);
		at += n > 0 ? (size_t)n : 0;
	}
}

static bool apply_enum(const config_setting *row, kmsd_config *cfg, const char *v, char *why)
{
	for (size_t i = 0; i < row->n_words; i++) {
		if (strcmp(v, row->words[i].word) == 0) {
			store_number(row, cfg, row->words[i].value);
			return true;
		}
	}
	char words[80];
	list_words(row, words, sizeof words);
	snprintf(why, WHY_LEN, "\"%.100s\" is not %.80s", v, row->words_text ? row->words_text : words);
	return false;
}

static bool apply_addresses(const config_setting *row, kmsd_config *cfg, const char *v,
			    enum config_origin origin, char *why)
{
	const setting_addresses *list = row->aux;
	enum config_origin *from = (enum config_origin *)(void *)((char *)cfg + list->origin_offset);
	size_t *count = (size_t *)(void *)((char *)cfg + list->count_offset);
	if (*from != origin) {
		/* the first address from a new source replaces the list */
		*count = 0;
		*from = origin;
	}
	return value_address(v, list->default_port, (config_listen *)(void *)SETTING_FIELD(row, cfg),
			     count, list->max, row->name, why);
}

bool setting_apply(const config_setting *row, kmsd_config *cfg, const char *v,
		   enum config_origin origin, char *why)
{
	long long n;
	int64_t s;
	bool b;
	switch (row->type) {
	case SETTING_BOOL:
		if (!value_bool(v, &b, why))
			return false;
		store_number(row, cfg, b);
		return true;
	case SETTING_INTEGER:
		if (!value_integer(v, row->min, row->max, &n, why) || (row->check && !row->check(v, why)))
			return false;
		store_number(row, cfg, n);
		return true;
	case SETTING_DURATION:
		if (!value_duration(v, row->bare_unit, row->min, row->max, &s, why))
			return false;
		store_number(row, cfg, s / row->stored_unit);
		return true;
	case SETTING_ENUM:
		return apply_enum(row, cfg, v, why);
	case SETTING_TEXT:
		return (row->text ? row->text : value_text)(v, SETTING_FIELD(row, cfg), row->size, why);
	case SETTING_ADDRESSES:
		return apply_addresses(row, cfg, v, origin, why);
	case SETTING_SPECIAL:
		return row->parse(row, cfg, v, origin, why);
	}
	return false;
}

void setting_dump_row(const config_setting *row, const kmsd_config *cfg, FILE *out)
{
	if (row->dump) {
		row->dump(row, cfg, out);
		return;
	}
	int64_t n = row->type <= SETTING_ENUM ? load_number(row, cfg) : 0;
	switch (row->type) {
	case SETTING_BOOL:
		fprintf(out, "%s = %s\n", row->name,
			row->words ? row->words[n != 0].word : n ? "yes" : "no");
		break;
	case SETTING_INTEGER:
		if (n || !(row->flags & SETTING_HIDE_ZERO))
			fprintf(out, "%s = %lld\n", row->name, (long long)n);
		break;
	case SETTING_DURATION:
		fprintf(out, "%s = %lld%c\n", row->name, (long long)n, row->stored_unit == 60 ? 'm' : 's');
		break;
	case SETTING_ENUM:
		for (size_t i = 0; i < row->n_words; i++)
			if (row->words[i].value == n)
				fprintf(out, "%s = %s\n", row->name, row->words[i].word);
		break;
	case SETTING_TEXT:
		if (*SETTING_CFIELD(row, cfg))
			fprintf(out, "%s = %s\n", row->name, SETTING_CFIELD(row, cfg));
		break;
	case SETTING_ADDRESSES: {
		const setting_addresses *list = row->aux;
		const config_listen *items = (const config_listen *)(const void *)SETTING_CFIELD(row, cfg);
		size_t count = *(const size_t *)(const void *)((const char *)cfg + list->count_offset);
		for (size_t i = 0; i < count; i++)
			fprintf(out, "%s = %s\n", row->name, items[i].text);
		break;
	}
	case SETTING_SPECIAL:
		break;
	}
}

/* 86400 -> "1d", 900 -> "15m": the largest unit that divides it */
static void seconds_text(int64_t s, char *out, size_t cap)
{
	static const struct {
		int64_t seconds;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (s % units[i].seconds == 0 || units[i].seconds == 1) {
			snprintf(out, cap, "%lld%c", (long long)(s / units[i].seconds), units[i].unit);
			return;
		}
	}
}

static void describe_type(const config_setting *row, char *out, size_t cap)
{
	char lo[24], hi[24];
	switch (row->type) {
	case SETTING_BOOL:
		snprintf(out, cap, "bool");
		break;
	case SETTING_INTEGER:
		snprintf(out, cap, "integer %lld..%lld", row->min, row->max);
		break;
	case SETTING_DURATION:
		seconds_text(row->min, lo, sizeof lo);
		seconds_text(row->max, hi, sizeof hi);
		snprintf(out, cap, "duration %s..%s, a bare number in %s", lo, hi,
			 row->bare_unit == 86400 ? "days" : row->bare_unit == 60 ? "minutes" : "seconds");
		break;
	case SETTING_ENUM: {
		size_t at = (size_t)snprintf(out, cap, "enum ");
		for (size_t i = 0; i < row->n_words && at < cap; i++) {
			int n = snprintf(out + at, cap - at, "%s%s", i ? "|" : "", row->words[i].word);
			at += n > 0 ? (size_t)n : 0;
		}
		break;
	}
	case SETTING_TEXT:
		snprintf(out, cap, "text of at most %zu characters", row->size - 1);
		break;
	case SETTING_ADDRESSES:
		snprintf(out, cap, "addresses, at most %zu",
			 ((const setting_addresses *)row->aux)->max);
		break;
	case SETTING_SPECIAL:
		snprintf(out, cap, "special");
		break;
	}
}

void config_list_settings(FILE *out)
{
	for (size_t i = 0; i < config_n_settings; i++) {
		const config_setting *row = &config_settings[i];
		char type[200];
		describe_type(row, type, sizeof type);
		fprintf(out, "%s\t%s%s\t%s\t%s\t%s\n", row->name, type,
			row->flags & SETTING_LIST ? ", repeatable" : "", row->def ? row->def : "-",
			row->reload == AT_SIGHUP ? "reload" : "restart", row->help);
	}
}
