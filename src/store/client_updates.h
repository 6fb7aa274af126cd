/* A batch's records folded into one update per client row (private to
 * src/store): a machine that asks again and again within one batch (a
 * retry loop, a script, a benchmark) costs the store one row update, not
 * one per request, and leaves the row exactly as the records applied one
 * by one would. The activity log still gets every record. */
#ifndef KMSD_STORE_CLIENT_UPDATES_H
#define KMSD_STORE_CLIENT_UPDATES_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct client_update {
	const store_record *last;   /* the newest record: the row's other columns */
	int64_t first_time;         /* of the first record: first_seen if the row is new */
	int64_t last_time;          /* the latest time of any record */
	int64_t counted_time;       /* the latest time of an answered record, or -1 */
	uint32_t requests;          /* how many records the row stands for */
} client_update;

/* The scratch space one batch of up to n records needs. */
typedef struct client_updates {
	client_update *updates;
	uint32_t *slots;            /* open addressing: update index + 1, 0 free */
	size_t capacity, slot_count;
} client_updates;

bool client_updates_init(client_updates *u, size_t max_records);
void client_updates_free(client_updates *u);
/* Folds batch[0..n) (n at most max_records) into u->updates, in the order
 * each (cmid, app_id) first appears; returns how many there are. */
size_t client_updates_fold(client_updates *u, const store_record *batch, size_t n);

#endif
