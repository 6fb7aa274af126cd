/* Query parameters of the clients API and page, checked strictly: an
 * unknown name, a malformed value or one out of range is an error that
 * names the parameter and says what would be accepted. Pure functions, so
 * the fuzzer drives them directly. */
#ifndef KMSD_WEB_PARAMS_H
#define KMSD_WEB_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guid.h"
#include "kms/pools.h"
#include "store/store.h"

#define WEB_PAGE_DEFAULT 50
#define WEB_PAGE_MAX 1000
#define WEB_SEARCH_MAX 64
#define WEB_OFFSET_MAX 100000            /* beyond, page with cursor= */
#define WEB_COUNT_MAX 100000             /* total counts no further (marked estimated) */
#define WEB_CURSOR_MAX 512               /* the text of a cursor, with its NUL */

typedef struct web_clients_params {
	bool has_kms_id, has_app;
	kms_guid kms_id, app_id;
	int64_t since;                   /* 0: any */
	char search[WEB_SEARCH_MAX + 1];
	const char *sort;                /* a static string: last_seen, workstation or requests */
	const char *result;              /* NULL, or a static activated, below_threshold, refused */
	size_t limit, offset;
	size_t page;                     /* page= (1-based) rather than offset=; 0: not given */
	bool has_cursor;                 /* cursor=: the rows after this one */
	store_cursor cursor;
	const char *cursor_sort;         /* the sort the cursor was made for */
} web_clients_params;

typedef struct web_param_error {
	char parameter[32];
	char message[200];
} web_param_error;

void web_clients_params_init(web_clients_params *p);

/* Apply one name=value (already URL-decoded). `now` anchors relative
 * times such as since=7d. */
bool web_clients_param(web_clients_params *p, const char *name, const char *value, int64_t now,
		       web_param_error *err);

/* After the last parameter: turn page= into an offset. */
void web_clients_params_finish(web_clients_params *p);

/* The text of a cursor for the row after which the next page starts:
 * SORT.LAST_SEEN.REQUESTS.CMID+APP (hex).WORKSTATION (hex). */
void web_cursor_format(const char *sort, const store_cursor *c, char *out, size_t len);
bool web_cursor_parse(const char *text, store_cursor *c, const char **sort);

/* since=: Unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, or a duration
 * back from now (90m, 24h, 7d). */
bool web_parse_since(const char *value, int64_t now, int64_t *out);

/* minutes= of the stats API: 1..1440. */
bool web_parse_minutes(const char *value, int *out);

#endif
