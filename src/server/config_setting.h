/* One row per kmsd.conf setting (private to config*.c and dns_config.c).
 *
 * The table in config_table.c is the only list of settings: parsing, the
 * defaults, `kmsd -t -v` (config_dump), `kmsd -S` (config_list_settings)
 * and the tests that hold the sample file and the man page to it all read
 * it, so a new setting is one row plus the code that uses its field. The
 * types cover most settings; a row whose value is odd names its own parser
 * and dump. */
#ifndef KMSD_SERVER_CONFIG_SETTING_H
#define KMSD_SERVER_CONFIG_SETTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "server/config.h"

typedef enum setting_type {
	SETTING_BOOL,      /* yes/no (on/off, true/false, 1/0) */
	SETTING_INTEGER,   /* a whole number in [min, max] */
	SETTING_DURATION,  /* a number with unit s/m/h/d, in [min, max] seconds */
	SETTING_ENUM,      /* one of `words` */
	SETTING_TEXT,      /* at most size - 1 characters */
	SETTING_ADDRESSES, /* a list of ADDR:PORT (see config_values.h) */
	SETTING_SPECIAL,   /* its own parse and dump */
} setting_type;

/* When a changed value takes effect. */
typedef enum setting_reload {
	AT_SIGHUP,  /* applied by a reload */
	AT_RESTART, /* read once at start: a reload keeps the running value */
} setting_reload;

enum {
	SETTING_LIST = 1,      /* repeatable: lines add up, the same line twice is a warning */
	SETTING_HIDE_ZERO = 2, /* the dump leaves it out while it is 0 (unset) */
};

typedef struct setting_word {
	const char *word;
	int value;
} setting_word;

typedef struct config_setting config_setting;

/* A special value: stores into cfg; `origin` is where the line came from. */
typedef bool setting_parse(const config_setting *row, kmsd_config *cfg, const char *v,
			   enum config_origin origin, char *why);
typedef void setting_dump(const config_setting *row, const kmsd_config *cfg, FILE *out);
/* A text value that needs more than a length check: checks (and may
 * normalise) v into out (cap bytes). */
typedef bool setting_text(const char *v, char *out, size_t cap, char *why);
/* A further check of an integer value's text. */
typedef bool setting_check(const char *v, char *why);

/* Where an address list keeps its count and origin, beside its items. */
typedef struct setting_addresses {
	size_t count_offset, origin_offset, max;
	unsigned default_port;
} setting_addresses;

struct config_setting {
	const char *name;
	setting_type type;
	size_t offset, size;        /* the field in kmsd_config */
	long long min, max;         /* integer bounds; durations: seconds */
	int64_t bare_unit;          /* durations: seconds a number without unit means */
	int64_t stored_unit;        /* durations: seconds one unit of the field holds (1 or 60) */
	const setting_word *words;  /* enum words; for a bool, the dump's (no, yes) */
	size_t n_words;
	const char *words_text;     /* enum: the words as an error lists them, if not all */
	const char *def;            /* the default as kmsd.conf text; a list's values
				     * separated by spaces; NULL: none (zero, empty) */
	unsigned flags;             /* SETTING_LIST, SETTING_HIDE_ZERO */
	setting_reload reload;
	setting_text *text;         /* SETTING_TEXT: instead of a plain copy */
	setting_check *check;       /* SETTING_INTEGER: after the bounds */
	setting_parse *parse;       /* SETTING_SPECIAL */
	setting_dump *dump;         /* SETTING_SPECIAL; TEXT shown otherwise than as set */
	const void *aux;            /* ADDRESSES: a setting_addresses; SPECIAL: its own */
	const char *help;           /* one line, for kmsd -S */
};

extern const config_setting config_settings[];
extern const size_t config_n_settings;

/* The row of a setting, NULL if there is none. */
const config_setting *config_setting_find(const char *name);

/* Parse v as the row's type and store it in cfg; false with a reason in
 * why (WHY_LEN bytes). */
bool setting_apply(const config_setting *row, kmsd_config *cfg, const char *v,
		   enum config_origin origin, char *why);

/* The row's value in cfg as kmsd.conf lines (none for an unset value). */
void setting_dump_row(const config_setting *row, const kmsd_config *cfg, FILE *out);

/* The field of a row in cfg. */
#define SETTING_FIELD(row, cfg) ((char *)(cfg) + (row)->offset)
#define SETTING_CFIELD(row, cfg) ((const char *)(cfg) + (row)->offset)

/* Shorthands for rows: the field's place and size, and each type's shape. */
#define SETTING_AT(field) .offset = offsetof(kmsd_config, field), \
	.size = sizeof(((kmsd_config *)0)->field)
#define BOOL_ROW(key, field) .name = key, .type = SETTING_BOOL, SETTING_AT(field)
#define INT_ROW(key, field, lo, hi) .name = key, .type = SETTING_INTEGER, SETTING_AT(field), \
	.min = lo, .max = hi
#define DURATION_ROW(key, field, bare, stored, lo, hi) .name = key, .type = SETTING_DURATION, \
	SETTING_AT(field), .bare_unit = bare, .stored_unit = stored, .min = lo, .max = hi
#define ENUM_ROW(key, field, list) .name = key, .type = SETTING_ENUM, SETTING_AT(field), \
	.words = list, .n_words = sizeof list / sizeof list[0]
#define TEXT_ROW(key, field) .name = key, .type = SETTING_TEXT, SETTING_AT(field)

#endif
