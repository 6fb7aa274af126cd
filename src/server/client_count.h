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

#include <stdbool.h>

#include "base/guid.h"
#include "kms/products.h"

typedef struct client_count client_count;

/* One pool per application of `t`, each holding at most 2 x the highest N
 * policy of the application's groups (kms_app_max_count: 50 for Windows,
 * 10 for each Office pool), which is what a Microsoft host caches: beyond
 * it the longest-unseen machine is forgotten. Every application id not in
 * `t` shares one more bucket of `other_capacity` machines, so requests
 * naming random applications can neither add pools nor touch a real one. */
client_count *client_count_new(const kms_products *t, int64_t window_seconds,
			       size_t other_capacity);
void client_count_free(client_count *c);
/* The most machines one pool keeps: more of one application never count. */
size_t client_count_capacity(const client_count *c);
void client_count_set_window(client_count *c, int64_t window_seconds);

/* Record that `cmid` of pool `app` was seen at `now` (Unix seconds) and
 * return the number of distinct clients of that pool in the window,
 * this one included. Returns 0 only if memory runs out. */
uint32_t client_count_observe(client_count *c, const kms_guid *app, const kms_guid *cmid,
			      int64_t now);

/* Distinct clients of a pool in the window at `now`, without recording. */
uint32_t client_count_get(client_count *c, const kms_guid *app, int64_t now);

/* Drop a machine from every pool. True if it was counted. */
bool client_count_forget(client_count *c, const kms_guid *cmid);

/* Forget every machine (before rebuilding from the store at reload, so
 * clients removed with kmsc forget leave the count). */
void client_count_clear(client_count *c);

#endif
