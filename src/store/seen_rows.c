/* The newest clients of each application, gathered by a backend's
 * load_newest and handed to the count oldest first across applications:
 * the count keeps its machines in last-seen order, so the order they
 * arrive in is the order it would have seen them in. */
#include <stdlib.h>

#include "store/store_private.h"

bool seen_rows_add(seen_rows *l, const kms_guid *app, const kms_guid *cmid, int64_t seen)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4096;
		seen_row *rows = realloc(l->rows, cap * sizeof *rows);
		if (!rows)
			return false;
		l->rows = rows;
		l->cap = cap;
	}
	l->rows[l->n++] = (seen_row){ *app, *cmid, seen };
	return true;
}

static int by_seen(const void *a, const void *b)
{
	int64_t x = ((const seen_row *)a)->seen, y = ((const seen_row *)b)->seen;
	return (x > y) - (x < y);
}

void seen_rows_feed(seen_rows *l, store_seen_fn fn, void *ctx)
{
	if (l->n)
		qsort(l->rows, l->n, sizeof *l->rows, by_seen);
	for (size_t i = 0; i < l->n; i++)
		fn(ctx, &l->rows[i].app, &l->rows[i].cmid, l->rows[i].seen);
}

void seen_rows_free(seen_rows *l)
{
	free(l->rows);
	l->rows = NULL;
	l->n = l->cap = 0;
}
