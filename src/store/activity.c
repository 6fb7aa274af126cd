/* The activity log's public calls (activity.h), handed to the backend. */
#include <stdio.h>
#include <string.h>

#include "store/activity_private.h"

#define DAY 86400
#define DEFAULT_RETENTION (30 * DAY)

static bool pg(const store *s)
{
	return s->be == &store_pg_backend;
}

bool store_client_get(store *s, const kms_guid *cmid, store_client_fn fn, void *ctx,
		      size_t *found)
{
	*found = 0;
	if (!store_usable(s))
		return false;
	return pg(s) ? pg_client_get(s, cmid, fn, ctx, found) : sqlite_client_get(s, cmid, fn, ctx, found);
}

bool store_activity_recent(store *s, const kms_guid *cmid, size_t limit, store_activity_fn fn,
			   void *ctx)
{
	if (!store_usable(s))
		return false;
	return pg(s) ? pg_activity_recent(s, cmid, limit, fn, ctx)
		     : sqlite_activity_recent(s, cmid, limit, fn, ctx);
}

bool store_activity_buckets(store *s, int64_t since, int64_t width, store_bucket_fn fn,
			    void *ctx)
{
	if (width <= 0 || !store_usable(s))
		return false;
	return pg(s) ? pg_activity_buckets(s, since, width, fn, ctx)
		     : sqlite_activity_buckets(s, since, width, fn, ctx);
}

bool store_activity_answers(store *s, int64_t since, store_answer_fn fn, void *ctx)
{
	if (!store_usable(s))
		return false;
	return pg(s) ? pg_activity_answers(s, since, fn, ctx) : sqlite_activity_answers(s, since, fn, ctx);
}

bool store_activity_oldest(store *s, int64_t *time)
{
	*time = 0;
	if (!store_usable(s))
		return false;
	return pg(s) ? pg_activity_oldest(s, time) : sqlite_activity_oldest(s, time);
}

void store_activity_trim(store *s, void *writer_db, int64_t now)
{
	if (now < s->activity_trimmed_at + STORE_ACTIVITY_TRIM_S)
		return;
	s->activity_trimmed_at = now;
	/* with a shared database every host trims: the same cut-off if they
	 * agree on the retention, the shortest wins if not */
	int64_t keep = s->opt.activity_retention ? s->opt.activity_retention : DEFAULT_RETENTION;
	char why[256] = "";
	long n = pg(s) ? pg_activity_trim(writer_db, now - keep, STORE_ACTIVITY_MAX, why, sizeof why)
		       : sqlite_activity_trim(writer_db, now - keep, STORE_ACTIVITY_MAX);
	if (n < 0 && s->opt.log) {
		char line[320];
		snprintf(line, sizeof line, "client store: cannot trim the activity log %s", why);
		s->opt.log(s->opt.log_ctx, true, line);
	}
}

long store_activity_prune(store *s, int64_t before)
{
	if (pg(s))
		return pg_activity_trim(s->db, before, STORE_ACTIVITY_MAX, s->error, sizeof s->error);
	return sqlite_activity_trim(s->db, before, STORE_ACTIVITY_MAX);
}
