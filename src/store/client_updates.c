/* Folding a batch into one update per (cmid, app_id): see client_updates.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store/client_updates.h"

bool client_updates_init(client_updates *u, size_t max_records)
{
	memset(u, 0, sizeof *u);
	size_t slots = 16;
	while (slots < 2 * max_records) /* at most half full: short probes */
		slots *= 2;
	u->updates = malloc(max_records * sizeof *u->updates);
	u->slots = malloc(slots * sizeof *u->slots);
	if (!u->updates || !u->slots) {
		client_updates_free(u);
		return false;
	}
	u->capacity = max_records;
	u->slot_count = slots;
	return true;
}

void client_updates_free(client_updates *u)
{
	free(u->updates);
	free(u->slots);
	memset(u, 0, sizeof *u);
}

/* FNV-1a over the row's key: CMIDs are random, but the bench's and a
 * script's are not, so every byte counts. */
static uint32_t key_hash(const store_record *r)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ r->cmid.b[i]) * 16777619u;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ r->app_id.b[i]) * 16777619u;
	return h;
}

static bool same_row(const store_record *a, const store_record *b)
{
	return memcmp(a->cmid.b, b->cmid.b, 16) == 0 && memcmp(a->app_id.b, b->app_id.b, 16) == 0;
}

static void start(client_update *c, const store_record *r)
{
	c->last = r;
	c->first_time = r->time;
	c->last_time = r->time;
	c->counted_time = r->result == 0 ? r->time : -1;
	c->requests = 1;
}

/* As the upsert would apply r after what c holds already. */
static void add(client_update *c, const store_record *r)
{
	c->last = r;
	if (r->time > c->last_time)
		c->last_time = r->time;
	if (r->result == 0 && r->time > c->counted_time)
		c->counted_time = r->time;
	c->requests++;
}

size_t client_updates_fold(client_updates *u, const store_record *batch, size_t n)
{
	/* a caller's error, and cutting the batch short would lose records
	 * the writer then takes as written */
	assert(n <= u->capacity);
	memset(u->slots, 0, u->slot_count * sizeof *u->slots);
	size_t count = 0, mask = u->slot_count - 1;
	for (size_t i = 0; i < n; i++) {
		const store_record *r = &batch[i];
		size_t slot = key_hash(r) & mask;
		while (u->slots[slot] && !same_row(u->updates[u->slots[slot] - 1].last, r))
			slot = (slot + 1) & mask;
		if (u->slots[slot]) {
			add(&u->updates[u->slots[slot] - 1], r);
		} else {
			start(&u->updates[count], r);
			u->slots[slot] = (uint32_t)++count;
		}
	}
	return count;
}
