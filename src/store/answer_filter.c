/* The last-answer filter of the client list as an SQL condition both
 * backends append to their WHERE clause. Activated or below threshold
 * depends on each group's N, which the caller gives; the condition holds
 * only GUID literals and numbers, never caller text. */
#include <stdio.h>

#include "store/store_private.h"

static void add(char *out, size_t cap, size_t *len, const char *text)
{
	int n = snprintf(out + *len, *len < cap ? cap - *len : 0, "%s", text);
	*len += n > 0 ? (size_t)n : 0;
}

bool store_answer_sql(const store_query *q, bool postgres, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = 0;
	if (q->answer == STORE_ANSWER_ANY)
		return true;
	if (q->answer == STORE_ANSWER_REFUSED) {
		add(out, cap, &len, " AND last_result <> 0");
		return len < cap;
	}
	add(out, cap, &len, " AND last_result = 0 AND last_count ");
	add(out, cap, &len, q->answer == STORE_ANSWER_ACTIVATED ? ">=" : "<");
	add(out, cap, &len, " CASE kms_id");
	for (size_t i = 0; i < q->n_thresholds; i++) {
		char hex[33], when[96];
		for (int b = 0; b < 16; b++)
			snprintf(hex + 2 * b, 3, "%02x", q->thresholds[i].kms_id.b[b]);
		snprintf(when, sizeof when, postgres ? " WHEN '\\x%s'::bytea THEN %u" : " WHEN x'%s' THEN %u",
			 hex, q->thresholds[i].n_policy);
		add(out, cap, &len, when);
	}
	add(out, cap, &len, " ELSE 0 END");
	return len < cap;
}
