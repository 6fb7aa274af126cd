/* The SQLite store's statistics come from hourly counters kept by
 * triggers: they must give what a count of the rows gives, for any window,
 * after upserts that move a client to another hour, group or result, after
 * prune and forget, and on a store migrated from version 4. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/store.h"

#define GROUPS_MAX 16

typedef struct group_counts {
	store_group_stat g[GROUPS_MAX];
	int n;
} group_counts;

static bool keep_group(void *ctx, const store_group_stat *g)
{
	group_counts *all = ctx;
	if (all->n < GROUPS_MAX)
		all->g[all->n++] = *g;
	return true;
}

/* What the statistics meant before the counters: a count of the rows. */
static bool count_rows(const char *path, int64_t since, group_counts *out)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	out->n = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT app_id, kms_id, count(*), max(last_seen) FROM clients"
			       " WHERE last_seen >= ?1 AND last_result = 0 GROUP BY app_id, kms_id"
			       " ORDER BY app_id, kms_id", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return false;
	}
	sqlite3_bind_int64(st, 1, since);
	while (sqlite3_step(st) == SQLITE_ROW && out->n < GROUPS_MAX) {
		store_group_stat *g = &out->g[out->n++];
		memset(g, 0, sizeof *g);
		if (sqlite3_column_bytes(st, 0) == 16)
			memcpy(g->app_id.b, sqlite3_column_blob(st, 0), 16);
		if (sqlite3_column_bytes(st, 1) == 16)
			memcpy(g->kms_id.b, sqlite3_column_blob(st, 1), 16);
		g->clients = (uint64_t)sqlite3_column_int64(st, 2);
		g->last_seen = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return true;
}

/* The store's answer equals the rows' for windows starting on, inside
 * and between every hour of the data; the number of windows checked. */
static int same_as_rows(store *s, const char *path)
{
	int checked = 0;
	for (int64_t since = 0; since <= 12 * 3600; since += 1800 + checked % 7) {
		group_counts got = { .n = 0 }, want;
		if (!store_group_stats(s, since, keep_group, &got) || !count_rows(path, since, &want))
			return -1;
		if (got.n != want.n)
			return -1;
		for (int i = 0; i < got.n; i++)
			if (memcmp(&got.g[i].app_id, &want.g[i].app_id, sizeof(kms_guid)) != 0 ||
			    memcmp(&got.g[i].kms_id, &want.g[i].kms_id, sizeof(kms_guid)) != 0 ||
			    got.g[i].clients != want.g[i].clients ||
			    got.g[i].last_seen != want.g[i].last_seen)
				return -1;
		checked++;
	}
	return checked;
}

static store_record client(unsigned n, int64_t t, uint32_t result)
{
	store_record r;
	memset(&r, 0, sizeof r);
	memcpy(r.cmid.b, &n, sizeof n);
	guid_parse(n % 3 ? "55c92734-d682-4d71-983e-d6ec3f16059f"
			 : "0ff1ce15-a989-479d-af46-f275c6370663", &r.app_id);
	guid_parse(n % 5 ? "58e2134f-8e11-4d17-9cb2-91069c151148"
			 : "7fde5219-fbfa-484a-82c9-34d1ad53e856", &r.kms_id);
	snprintf(r.workstation, sizeof r.workstation, "pc-%u", n);
	r.protocol_major = 6;
	r.time = t;
	r.result = result;
	r.count = 50;
	return r;
}

/* A fixed mix of new clients, returning ones (another hour, another
 * group, answered after refused and the reverse) and refusals. */
static void submit_mix(store *s, unsigned round)
{
	uint32_t x = 12345u + round;
	for (unsigned i = 0; i < 600; i++) {
		x = x * 1103515245u + 12345u;
		unsigned n = (x >> 8) % 200;
		int64_t t = (int64_t)((x >> 4) % (12 * 3600));
		uint32_t result = (x >> 20) % 4 == 0 ? 0xC004F042u : 0;
		store_record r = client(n, t, result);
		if ((x >> 24) % 9 == 0) /* the same machine under another group */
			guid_parse("7fde5219-fbfa-484a-82c9-34d1ad53e856", &r.kms_id);
		store_submit(s, &r);
	}
}

static void temp_path(char *path, size_t len, char *spec, size_t spec_len)
{
	char dir[] = "/tmp/kmsd-stats-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	snprintf(path, len, "%s/clients.db", dir);
	snprintf(spec, spec_len, "sqlite:%s", path);
}

static void remove_store(const char *path)
{
	char more[320];
	for (int i = 0; i < 3; i++) {
		snprintf(more, sizeof more, "%s%s", path, i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(more);
	}
	snprintf(more, sizeof more, "%s", path);
	char *slash = strrchr(more, '/');
	if (slash) {
		*slash = '\0';
		rmdir(more);
	}
}

TEST(store_stats_from_hourly_counters_match_the_rows)
{
	char spec[300], path[300], err[300];
	temp_path(path, sizeof path, spec, sizeof spec);
	store *s = store_open(spec, false, err, sizeof err);
	CHECK(s != NULL);
	for (unsigned round = 0; round < 3; round++) {
		submit_mix(s, round);
		CHECK(store_flush(s));
		CHECK(same_as_rows(s, path) > 10);
	}
	CHECK(store_prune(s, 5 * 3600 + 77) > 0);
	CHECK(same_as_rows(s, path) > 10);
	kms_guid office;
	guid_parse("7fde5219-fbfa-484a-82c9-34d1ad53e856", &office);
	store_forget_filter f = { .kms_id = &office };
	CHECK(store_forget(s, &f) > 0);
	CHECK(same_as_rows(s, path) > 10);
	store_close(s);
	remove_store(path);
}

/* The hourly counters the rows stand for, as kmsd keeps them. */
#define COUNTERS_OF_ROWS \
	"SELECT app_id, ifnull(kms_id, x'') AS kms_id, last_seen / 3600 AS hour," \
	" count(*) AS clients FROM clients WHERE last_result = 0 GROUP BY 1, 2, 3"

/* client_hours holds what the rows say, counter for counter (empty
 * counters aside). */
static bool counters_match_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return false;
	const char *differ =
		"WITH want AS (" COUNTERS_OF_ROWS "),"
		" got AS (SELECT app_id, kms_id, hour, clients FROM client_hours WHERE clients <> 0)"
		" SELECT count(*) FROM (SELECT * FROM want EXCEPT SELECT * FROM got"
		" UNION ALL SELECT * FROM got EXCEPT SELECT * FROM want)";
	bool same = sqlite3_prepare_v2(db, differ, -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return same;
}

/* Renewals over weeks: one batch moves clients out of hundreds of hours,
 * more than the writer adds up at once (sqlite_hours.c). */
TEST(store_counters_stay_true_when_a_batch_moves_clients_across_many_hours)
{
	char spec[300], path[300], err[300];
	temp_path(path, sizeof path, spec, sizeof spec);
	store *s = store_open(spec, false, err, sizeof err);
	CHECK(s != NULL);
	uint32_t x = 777;
	for (unsigned round = 0; round < 4; round++) {
		for (unsigned i = 0; i < 1500; i++) {
			x = x * 1103515245u + 12345u;
			int64_t t = (int64_t)((x >> 4) % (400 * 3600)) + round * 3600;
			uint32_t result = (x >> 20) % 5 == 0 ? 0xC004F042u : 0;
			store_record r = client((x >> 9) % 700, t, result);
			CHECK(store_submit(s, &r));
		}
		CHECK(store_flush(s));
		CHECK(counters_match_rows(path));
		CHECK(same_as_rows(s, path) > 10);
	}
	CHECK(store_prune(s, 200 * 3600) > 0);
	CHECK(counters_match_rows(path));
	store_close(s);
	remove_store(path);
}

/* Machines 0 to n - 1 answered at t, t + 1...: written. */
static bool answered_at(store *s, unsigned n, int64_t t)
{
	for (unsigned i = 0; i < n; i++) {
		store_record r = client(i, t + i, 0);
		if (!store_submit(s, &r))
			return false;
	}
	return store_flush(s);
}

/* A row another tool left with a kms_id that is no GUID (or none): its
 * counter is the one its bytes name, and the writer moves it from there. */
TEST(store_counters_move_rows_whose_group_is_no_guid)
{
	char spec[300], path[300], err[300];
	temp_path(path, sizeof path, spec, sizeof spec);
	store *s = store_open(spec, false, err, sizeof err);
	CHECK(s != NULL);
	CHECK(answered_at(s, 3, 3600));
	store_close(s);
	sqlite3 *db;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE clients SET kms_id = zeroblob(20) WHERE workstation = 'pc-0';"
			       " UPDATE clients SET kms_id = NULL WHERE workstation = 'pc-1';"
			       " DELETE FROM client_hours; INSERT INTO client_hours "
			       COUNTERS_OF_ROWS ";",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(counters_match_rows(path));
	s = store_open(spec, false, err, sizeof err);
	CHECK(s != NULL);
	CHECK(answered_at(s, 3, 9 * 3600));
	CHECK(counters_match_rows(path));
	store_close(s);
	remove_store(path);
}

TEST(store_stats_of_a_store_migrated_from_version_4_match_the_rows)
{
	char spec[300], path[300], err[300];
	temp_path(path, sizeof path, spec, sizeof spec);
	store *s = store_open(spec, false, err, sizeof err);
	CHECK(s != NULL);
	submit_mix(s, 7);
	CHECK(store_flush(s));
	store_close(s);
	/* back to version 4: no counters, rows of every kind, one with the
	 * NULL kms_id a version-1 store left */
	sqlite3 *db;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "DROP TRIGGER client_hours_delete; DROP TABLE client_hours;"
			       " DROP TABLE queued_records;"
			       " UPDATE clients SET kms_id = NULL WHERE cmid = (SELECT min(cmid) FROM"
			       " clients WHERE last_result = 0); PRAGMA user_version = 4;",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	s = store_open(spec, false, err, sizeof err);
	CHECK(s != NULL);
	CHECK(same_as_rows(s, path) > 10);
	submit_mix(s, 8); /* and the writer keeps them true from there */
	CHECK(store_flush(s));
	CHECK(same_as_rows(s, path) > 10);
	store_close(s);
	remove_store(path);
}
