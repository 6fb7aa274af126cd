/* Clients gathered, then handed to the count oldest first: by a backend's
 * load_newest (the newest of each application), and for a reload (those
 * still queued with those stored). The count keeps its machines in
 * last-seen order and takes each arrival as the newest, so the order they
 * arrive in must be the order it would have seen them in: fed queued
 * first, a pool at its cap dropped the newest machines. */
#include <stdio.h>
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

typedef struct gathering {
	seen_rows rows;
	bool failed;
} gathering;

static void gather(void *ctx, const kms_guid *app, const kms_guid *cmid, int64_t seen)
{
	gathering *g = ctx;
	if (!g->failed && !seen_rows_add(&g->rows, app, cmid, seen))
		g->failed = true;
}

bool store_seen_oldest_first(store *s, int64_t since, store_seen_fn fn, void *ctx)
{
	gathering g = { 0 };
	/* queued first: a record written between the two reads is in both
	 * rather than in neither, and a reload never waits for the writer */
	store_queued_seen(s, since, gather, &g);
	bool ok = store_load_seen(s, since, gather, &g);
	if (ok && g.failed) {
		snprintf(s->error, sizeof s->error, "out of memory");
		ok = false;
	}
	if (ok)
		seen_rows_feed(&g.rows, fn, ctx);
	seen_rows_free(&g.rows);
	return ok;
}
