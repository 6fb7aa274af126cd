/* The activity log's public calls (activity.h), handed to the backend that
 * keeps one. The PostgreSQL backend does not keep it yet: its calls fail
 * with a message and the pages fall back to this process's counters. */
#include <stdio.h>
#include <string.h>

#include "store/activity_private.h"

#define DAY 86400
#define DEFAULT_RETENTION (30 * DAY)

static bool kept(store *s)
{
	if (s->be == &store_sqlite_backend)
		return true;
	snprintf(s->error, sizeof s->error, "the %s store keeps no activity log", s->be->name);
	return false;
}

bool store_client_get(store *s, const kms_guid *cmid, store_client_fn fn, void *ctx,
		      size_t *found)
{
	*found = 0;
	return kept(s) && store_usable(s) && sqlite_client_get(s, cmid, fn, ctx, found);
}

bool store_activity_recent(store *s, const kms_guid *cmid, size_t limit, store_activity_fn fn,
			   void *ctx)
{
	return kept(s) && store_usable(s) && sqlite_activity_recent(s, cmid, limit, fn, ctx);
}

bool store_activity_buckets(store *s, int64_t since, int64_t width, store_bucket_fn fn,
			    void *ctx)
{
	return width > 0 && kept(s) && store_usable(s) &&
	       sqlite_activity_buckets(s, since, width, fn, ctx);
}

bool store_activity_answers(store *s, int64_t since, store_answer_fn fn, void *ctx)
{
	return kept(s) && store_usable(s) && sqlite_activity_answers(s, since, fn, ctx);
}

bool store_activity_oldest(store *s, int64_t *time)
{
	*time = 0;
	return kept(s) && store_usable(s) && sqlite_activity_oldest(s, time);
}

void store_activity_trim(store *s, void *writer_db, int64_t now)
{
	if (s->be != &store_sqlite_backend || now < s->activity_trimmed_at + STORE_ACTIVITY_TRIM_S)
		return;
	s->activity_trimmed_at = now;
	int64_t keep = s->opt.activity_retention ? s->opt.activity_retention : DEFAULT_RETENTION;
	if (sqlite_activity_trim(writer_db, now - keep, STORE_ACTIVITY_MAX) < 0 && s->opt.log)
		s->opt.log(s->opt.log_ctx, true, "client store: cannot trim the activity log");
}

long store_activity_prune(store *s, int64_t before)
{
	if (s->be != &store_sqlite_backend)
		return 0;
	return sqlite_activity_trim(s->db, before, STORE_ACTIVITY_MAX);
}
