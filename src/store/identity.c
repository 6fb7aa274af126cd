/* Host identity values (the ePID seed, the ePIDs) with a memory of their
 * own: the values read or set are kept, so a configuration reload while a
 * shared database is away keeps the same ePIDs, and values set while it is
 * away are written when the writer reconnects. Those late writes never
 * replace a value: if another host wrote one meanwhile, its value wins
 * from this host's next start on. */
#include <stdio.h>
#include <string.h>

#include "store/store_private.h"

static struct store_identity *find(store *s, const char *name)
{
	for (size_t i = 0; i < s->n_identity; i++)
		if (strcmp(s->identity[i].name, name) == 0)
			return &s->identity[i];
	return NULL;
}

static void remember(store *s, const char *name, const char *value, bool pending)
{
	if (strlen(name) >= sizeof s->identity[0].name || strlen(value) >= sizeof s->identity[0].value)
		return;
	pthread_mutex_lock(&s->identity_lock);
	struct store_identity *e = find(s, name);
	if (!e && s->n_identity < STORE_IDENTITY_MAX)
		e = &s->identity[s->n_identity++];
	if (e) {
		snprintf(e->name, sizeof e->name, "%s", name);
		snprintf(e->value, sizeof e->value, "%s", value);
		e->pending = pending;
	}
	pthread_mutex_unlock(&s->identity_lock);
}

static bool recall(store *s, const char *name, char *value, size_t len, bool pending_only)
{
	pthread_mutex_lock(&s->identity_lock);
	const struct store_identity *e = find(s, name);
	bool found = e && (e->pending || !pending_only) && strlen(e->value) < len;
	if (found)
		memcpy(value, e->value, strlen(e->value) + 1);
	pthread_mutex_unlock(&s->identity_lock);
	return found;
}

bool store_identity_get(store *s, const char *name, char *value, size_t len)
{
	int found = store_usable(s)
			    ? s->be->identity_get(s->db, name, value, len, s->error, sizeof s->error)
			    : -1;
	if (found > 0)
		remember(s, name, value, false);
	/* absent: only a value set while the database was away is better;
	 * unreachable: the last known value */
	return found > 0 || recall(s, name, value, len, found == 0);
}

bool store_identity_set(store *s, const char *name, const char *value)
{
	bool ok = store_usable(s) &&
		  s->be->identity_put(s->db, name, value, true, s->error, sizeof s->error);
	remember(s, name, value, !ok && s->be->shared);
	return ok;
}

void store_identity_flush(store *s, void *db)
{
	char why[300];
	pthread_mutex_lock(&s->identity_lock);
	for (size_t i = 0; i < s->n_identity; i++) {
		struct store_identity *e = &s->identity[i];
		if (e->pending && s->be->identity_put(db, e->name, e->value, false, why, sizeof why))
			e->pending = false;
	}
	pthread_mutex_unlock(&s->identity_lock);
}
