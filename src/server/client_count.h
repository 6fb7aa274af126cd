/* Real client counting: distinct CMIDs seen in a sliding window, per
 * application pool (Windows client and server together; Office 2010 and
 * Office 2013+ apart), as a Microsoft host counts.
 *
 * In memory, thread-safe (one lock per pool), exact: entries are kept in
 * last-seen order so expiry pops from the front. Time is passed in, so
 * tests drive the clock. */
#ifndef KMSD_SERVER_CLIENT_COUNT_H
#define KMSD_SERVER_CLIENT_COUNT_H

#include <stddef.h>
#include <stdint.h>

#include "base/guid.h"

typedef struct client_count client_count;

/* `capacity` bounds each pool: beyond it the longest-unseen machine is
 * forgotten. A host reports at most 2 x N and N is at most max-n-policy, so
 * a capacity of 2 x max-n-policy keeps every answer exact while random
 * CMIDs from a hostile client cannot grow memory without bound. */
client_count *client_count_new(int64_t window_seconds, size_t capacity);
void client_count_free(client_count *c);
void client_count_set_window(client_count *c, int64_t window_seconds);

/* Record that `cmid` of pool `app` was seen at `now` (Unix seconds) and
 * return the number of distinct clients of that pool in the window,
 * this one included. Returns 0 only if memory runs out. */
uint32_t client_count_observe(client_count *c, const kms_guid *app, const kms_guid *cmid,
			      int64_t now);

/* Distinct clients of a pool in the window at `now`, without recording. */
uint32_t client_count_get(client_count *c, const kms_guid *app, int64_t now);

#endif
