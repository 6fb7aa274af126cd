/* The SQLite client store: writes, queries, migrations, bad files. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/store_uri.h"
#include "store/store.h"

/* What a store logged; its writer thread adds to it while the test reads. */
typedef struct store_log {
	pthread_mutex_t lock;
	int errors, infos;
	char text[4096];
} store_log;

static void keep_log(void *ctx, bool error, const char *message)
{
	store_log *l = ctx;
	pthread_mutex_lock(&l->lock);
	if (error)
		l->errors++;
	else
		l->infos++;
	size_t used = strlen(l->text);
	snprintf(l->text + used, sizeof l->text - used, "%s\n", message);
	pthread_mutex_unlock(&l->lock);
}

/* Wait until the store has logged `needle`: a loaded machine may take
 * longer than any fixed sleep to get there. */
static bool logged(store_log *l, const char *needle, int seconds)
{
	for (int i = 0; i <= seconds * 20; i++) {
		pthread_mutex_lock(&l->lock);
		bool found = strstr(l->text, needle) != NULL;
		pthread_mutex_unlock(&l->lock);
		if (found)
			return true;
		usleep(50000);
	}
	return false;
}

/* A test's database file, in the directory the runner removes after it,
 * and what the store logged. */
typedef struct temp_store {
	char path[4200], spec[4300], err[300];
	store_log log;
} temp_store;

static bool temp_store_make(temp_store *t)
{
	char dir[4096];
	if (!test_temp_dir(dir, sizeof dir))
		return false;
	snprintf(t->path, sizeof t->path, "%s/clients.db", dir);
	snprintf(t->spec, sizeof t->spec, "sqlite:%s", t->path);
	t->err[0] = '\0';
	memset(&t->log, 0, sizeof t->log);
	pthread_mutex_init(&t->log.lock, NULL);
	return true;
}

/* A new store in a new file, open for writing; NULL with t->err when not. */
static store *temp_store_open(temp_store *t)
{
	return temp_store_make(t) ? store_open(t->spec, false, t->err, sizeof t->err) : NULL;
}

/* The same, as the daemon opens it: what it logs kept in t->log. */
static store *temp_store_open_logged(temp_store *t)
{
	store_options opt = { .log = keep_log, .log_ctx = &t->log };
	return temp_store_make(t) ? store_open_with(t->spec, &opt, t->err, sizeof t->err) : NULL;
}

/* A new store's file, its schema made by the store, open as a plain SQLite
 * database for the test to shape; NULL if not. */
static sqlite3 *temp_store_schema(temp_store *t)
{
	store *s = temp_store_open(t);
	if (!s)
		return NULL;
	store_close(s);
	sqlite3 *db;
	if (sqlite3_open(t->path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* Another connection holding the write lock until COMMIT; NULL if not. */
static sqlite3 *hold_write_lock(const char *path)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static store_record record(unsigned n, int64_t t)
{
	store_record r;
	memset(&r, 0, sizeof r);
	memcpy(r.cmid.b, &n, sizeof n);
	r.cmid.b[15] = 0x5a;
	guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &r.app_id);
	guid_parse("58e2134f-8e11-4d17-9cb2-91069c151148", &r.kms_id);
	guid_parse("73111121-5638-40f6-bc11-f1d7b0d64300", &r.sku_id);
	snprintf(r.workstation, sizeof r.workstation, "pc-%u.example", n);
	snprintf(r.address, sizeof r.address, "192.0.2.%u:5000", n % 250);
	r.license_status = 2;
	r.protocol_major = 6;
	r.time = t;
	r.count = 50;
	return r;
}

typedef struct collected {
	store_client c[64];
	int n;
} collected;

static bool collect(void *ctx, const store_client *c)
{
	collected *all = ctx;
	if (all->n < 64)
		all->c[all->n++] = *c;
	return true;
}

TEST(store_submit_flush_query_and_upsert)
{
	temp_store t;
	store *s = temp_store_open(&t);
	CHECK(s != NULL);
	store_record r = record(1, 1000);
	CHECK(store_submit(s, &r));
	r.time = 2000;
	r.result = 0xC004F042u;
	snprintf(r.workstation, sizeof r.workstation, "renamed");
	CHECK(store_submit(s, &r));
	store_record other = record(2, 1500);
	CHECK(store_submit(s, &other));
	CHECK(store_flush(s));

	collected all = { .n = 0 };
	size_t total = 0;
	store_query q = { 0 };
	CHECK(store_clients(s, &q, collect, &all, &total));
	CHECK_EQ(total, 2);
	CHECK_EQ(all.n, 2);
	const store_client *c = &all.c[0]; /* newest first */
	CHECK(guid_cmp(&c->cmid, &r.cmid) == 0);
	CHECK_EQ(c->first_seen, 1000);
	CHECK_EQ(c->last_seen, 2000);
	CHECK_EQ(c->requests, 2);
	CHECK_EQ(c->last_result, 0xC004F042u);
	CHECK_STR(c->workstation, "renamed");
	CHECK_STR(c->address, "192.0.2.1:5000");
	CHECK_EQ(c->protocol_major, 6);
	CHECK_EQ(c->last_count, 50);

	/* filters and paging */
	all.n = 0;
	q.since = 1600;
	CHECK(store_clients(s, &q, collect, &all, &total));
	CHECK_EQ(total, 1);
	all.n = 0;
	q = (store_query){ .search = "PC-2", .limit = 10 };
	CHECK(store_clients(s, &q, collect, &all, &total));
	CHECK_EQ(all.n, 1);
	CHECK_STR(all.c[0].workstation, "pc-2.example");
	all.n = 0;
	q = (store_query){ .limit = 1, .offset = 1 };
	CHECK(store_clients(s, &q, collect, &all, &total));
	CHECK_EQ(all.n, 1);
	CHECK_EQ(total, 2);
	store_close(s);

	/* another connection, after close, sees everything */
	store *ro = store_open(t.spec, true, t.err, sizeof t.err);
	CHECK(ro != NULL);
	all.n = 0;
	q = (store_query){ 0 };
	CHECK(store_clients(ro, &q, collect, &all, &total));
	CHECK_EQ(total, 2);
	CHECK(!store_submit(ro, &r)); /* read-only: no writer */
	store_close(ro);
}

typedef struct seen {
	int n;
	int64_t last;
} seen;

static void count_seen(void *ctx, const kms_guid *app, const kms_guid *cmid, int64_t t)
{
	(void)app;
	(void)cmid;
	seen *s = ctx;
	s->n++;
	s->last = t;
}

typedef struct submitter {
	store *s;
	unsigned base;
} submitter;

static void *submit_many(void *arg)
{
	submitter *sub = arg;
	for (unsigned i = 0; i < 5000; i++) {
		store_record r = record(sub->base + i, 10000 + i);
		while (!store_submit(sub->s, &r))
			usleep(1000);
	}
	return NULL;
}

TEST(store_concurrent_submitters_all_land)
{
	temp_store db;
	store *s = temp_store_open(&db);
	CHECK(s != NULL);
	pthread_t t[8];
	submitter subs[8];
	for (int i = 0; i < 8; i++) {
		subs[i] = (submitter){ s, (unsigned)i * 100000u };
		pthread_create(&t[i], NULL, submit_many, &subs[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	CHECK(store_flush(s));
	store_writer_stats ws;
	store_writer_stats_get(s, &ws);
	CHECK_EQ(ws.written, 40000);
	CHECK_EQ(ws.errors, 0);
	seen got = { 0 };
	CHECK(store_load_seen(s, 0, count_seen, &got));
	CHECK_EQ(got.n, 40000);
	got.n = 0;
	CHECK(store_load_seen(s, 14000, count_seen, &got));
	CHECK_EQ(got.n, 8 * 1000);
	store_close(s);
}

TEST(store_rebuilds_counts_from_answered_requests_only)
{
	temp_store t;
	store *s = temp_store_open(&t);
	CHECK(s != NULL);
	store_record answered = record(1, 1000);
	store_record refused = record(2, 1100);
	refused.result = 0xC004F042u;
	store_record later_refused = record(3, 1200);
	CHECK(store_submit(s, &answered) && store_submit(s, &refused) &&
	      store_submit(s, &later_refused));
	later_refused.time = 1300;
	later_refused.result = 0xC004F06Cu; /* answered at 1200, then a bad clock */
	CHECK(store_submit(s, &later_refused));
	CHECK(store_flush(s));
	seen got = { 0 };
	CHECK(store_load_seen(s, 0, count_seen, &got));
	CHECK_EQ(got.n, 2);          /* the refused machine is history only */
	CHECK_EQ(got.last, 1200);    /* counted when it was answered */
	collected all = { .n = 0 };
	size_t total;
	store_query q = { 0 };
	CHECK(store_clients(s, &q, collect, &all, &total));
	CHECK_EQ(total, 3);          /* all three are still listed */
	store_close(s);
}

typedef struct seen_order {
	int64_t t[16];
	int n;
} seen_order;

static void keep_seen_order(void *ctx, const kms_guid *app, const kms_guid *cmid, int64_t t)
{
	(void)app;
	(void)cmid;
	seen_order *o = ctx;
	if (o->n < 16)
		o->t[o->n++] = t;
}

/* A reload rebuilds the count from the queued and the stored records: the
 * count takes each arrival as the newest, so they come oldest first. Fed
 * queued first, a pool at its cap evicted the machines just answered. */
TEST(store_hands_queued_and_stored_clients_over_oldest_first)
{
	temp_store t;
	store *s = temp_store_open(&t);
	CHECK(s != NULL);
	for (unsigned i = 1; i <= 3; i++) {
		store_record r = record(i, 1000 * i);
		CHECK(store_submit(s, &r));
	}
	CHECK(store_flush(s));
	/* the writer cannot write: these stay queued */
	sqlite3 *hold = hold_write_lock(t.path);
	CHECK(hold != NULL);
	store_record newest = record(4, 4000), skewed = record(5, 1500);
	CHECK(store_submit(s, &newest) && store_submit(s, &skewed));
	seen_order o = { .n = 0 };
	CHECK(store_seen_oldest_first(s, 0, keep_seen_order, &o));
	CHECK_EQ(o.n, 5);
	static const int64_t want[] = { 1000, 1500, 2000, 3000, 4000 };
	for (int i = 0; i < 5 && i < o.n; i++)
		CHECK_EQ(o.t[i], want[i]);
	sqlite3_exec(hold, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(hold);
	CHECK(store_flush(s));
	store_close(s);
}

static bool count_stats(void *ctx, const store_group_stat *g)
{
	uint64_t *sum = ctx;
	*sum += g->clients;
	return true;
}

TEST(store_group_stats_prune_and_identity)
{
	temp_store t;
	store *s = temp_store_open(&t);
	CHECK(s != NULL);
	for (unsigned i = 0; i < 10; i++) {
		store_record r = record(i, 100 * i);
		store_submit(s, &r);
	}
	CHECK(store_flush(s));
	uint64_t clients = 0;
	CHECK(store_group_stats(s, 500, count_stats, &clients));
	CHECK_EQ(clients, 5);
	CHECK_EQ(store_prune(s, 300), 3);
	clients = 0;
	CHECK(store_group_stats(s, 0, count_stats, &clients));
	CHECK_EQ(clients, 7);

	char value[64];
	CHECK(!store_identity_get(s, "epid-seed", value, sizeof value));
	CHECK(store_identity_set(s, "epid-seed", "00112233"));
	CHECK(store_identity_set(s, "epid-seed", "44556677"));
	store_close(s);
	s = store_open(t.spec, false, t.err, sizeof t.err);
	CHECK(s != NULL);
	CHECK(store_identity_get(s, "epid-seed", value, sizeof value));
	CHECK_STR(value, "44556677");
	store_close(s);
}

TEST(store_migrates_from_version_1)
{
	temp_store t;
	CHECK(temp_store_make(&t));
	/* a store as the first schema left it, with a client in it */
	sqlite3 *db;
	CHECK(sqlite3_open(t.path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
			   "CREATE TABLE clients (cmid BLOB NOT NULL, app_id BLOB NOT NULL, kms_id BLOB,"
			   " sku_id BLOB, workstation TEXT, license_status INTEGER, protocol TEXT,"
			   " seen INTEGER NOT NULL, requests INTEGER NOT NULL DEFAULT 1, last_result INTEGER,"
			   " PRIMARY KEY (cmid, app_id));"
			   "INSERT INTO clients VALUES (x'00112233445566778899aabbccddeeff',"
			   " x'3427c95582d6714d983ed6ec3f16059f', NULL, NULL, 'old-pc', 1, '6.0', 4242, 7, 0);"
			   "PRAGMA user_version = 1;",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);

	store *s = store_open(t.spec, false, t.err, sizeof t.err);
	CHECK(s != NULL);
	collected all = { .n = 0 };
	size_t total;
	store_query q = { 0 };
	CHECK(store_clients(s, &q, collect, &all, &total));
	CHECK_EQ(all.n, 1);
	CHECK_STR(all.c[0].workstation, "old-pc");
	CHECK_EQ(all.c[0].first_seen, 4242);
	CHECK_EQ(all.c[0].last_seen, 4242);
	CHECK_EQ(all.c[0].requests, 7);
	CHECK(store_identity_set(s, "x", "y")); /* the new table exists */
	store_close(s);

	CHECK(sqlite3_open(t.path, &db) == SQLITE_OK);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_EQ(sqlite3_column_int(st, 0), 7);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

TEST(store_bad_files_give_clear_errors)
{
	temp_store t;
	CHECK(temp_store_make(&t));

	/* newer than we know */
	sqlite3 *db;
	CHECK(sqlite3_open(t.path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA user_version = 9", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(store_open(t.spec, false, t.err, sizeof t.err) == NULL);
	CHECK(strstr(t.err, "schema version 9 is newer") != NULL);

	/* not a database at all */
	FILE *f = fopen(t.path, "w");
	CHECK(f != NULL);
	for (int i = 0; i < 200; i++)
		fputs("this is not an sqlite database, just text. ", f);
	fclose(f);
	char wal[4300];
	snprintf(wal, sizeof wal, "%s-wal", t.path);
	unlink(wal);
	CHECK(store_open(t.spec, false, t.err, sizeof t.err) == NULL);
	CHECK(strstr(t.err, "not a database") != NULL);
	CHECK(store_open(t.spec, true, t.err, sizeof t.err) == NULL);

	/* a directory that does not exist */
	CHECK(store_open("sqlite:/nonexistent/dir/clients.db", false, t.err, sizeof t.err) == NULL);
	CHECK(strstr(t.err, "unable to open") != NULL);
	CHECK(store_open("mysql:x", false, t.err, sizeof t.err) == NULL);
}

TEST(store_locked_file_is_an_error_not_a_hang)
{
	temp_store t;
	CHECK(temp_store_make(&t));
	sqlite3 *db;
	CHECK(sqlite3_open(t.path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "PRAGMA journal_mode=DELETE; CREATE TABLE t(x); BEGIN EXCLUSIVE;"
			       " INSERT INTO t VALUES (1);", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(store_open(t.spec, false, t.err, sizeof t.err) == NULL);
	CHECK(strstr(t.err, "locked") != NULL);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
}

static long long count_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM clients", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

/* Wait until everything queued is written (flush gives up during a failure). */
static bool flushed(store *s, int seconds)
{
	for (int i = 0; i < seconds * 20; i++) {
		if (store_flush(s))
			return true;
		usleep(50000);
	}
	return false;
}

TEST(store_batch_meeting_a_locked_database_is_kept_and_written_later)
{
	temp_store t;
	store *s = temp_store_open_logged(&t);
	CHECK(s != NULL);
	/* another writer holds the lock longer than the writer waits quietly
	 * for a short transaction (4 x 250 ms): until the writer says so */
	sqlite3 *other = hold_write_lock(t.path);
	CHECK(other != NULL);
	for (unsigned i = 0; i < 100; i++) {
		store_record r = record(i, 1000);
		CHECK(store_submit(s, &r));
	}
	CHECK(logged(&t.log, "cannot write 100 records (database is locked); they stay queued", 20));
	store_writer_stats ws;
	store_writer_stats_get(s, &ws);
	CHECK(ws.retries >= 1);
	CHECK_EQ(ws.queue_depth, 100);
	CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(other);
	CHECK(flushed(s, 10));
	store_writer_stats_get(s, &ws);
	CHECK_EQ(ws.written, 100);
	CHECK_EQ(ws.dropped, 0);
	CHECK(logged(&t.log, "client store: writing again after", 10));
	store_close(s);
	CHECK_EQ(count_rows(t.path), 100);
}

TEST(store_overflow_while_locked_is_counted_and_logged_with_the_number)
{
	temp_store t;
	store *s = temp_store_open_logged(&t);
	CHECK(s != NULL);
	sqlite3 *other = hold_write_lock(t.path);
	CHECK(other != NULL);
	unsigned accepted = 0;
	for (unsigned i = 0; i < STORE_QUEUE_MAX + 123; i++) {
		store_record r = record(i, 1000);
		accepted += store_submit(s, &r);
	}
	CHECK_EQ(accepted, STORE_QUEUE_MAX);
	usleep(600000);
	CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(other);
	CHECK(flushed(s, 20));
	store_writer_stats ws;
	store_writer_stats_get(s, &ws);
	CHECK_EQ(ws.dropped, 123);
	CHECK_EQ(ws.written, STORE_QUEUE_MAX);
	store_close(s);
	/* the cause: the lock, or (if the ring filled before the first attempt
	 * failed) a writer slower than the clients */
	CHECK(strstr(t.log.text, "client store: 123 records dropped, the queue (65536) was full") != NULL);
	CHECK_EQ(count_rows(t.path), STORE_QUEUE_MAX);
}

TEST(store_garbage_at_start_is_moved_aside_and_a_new_store_starts)
{
	temp_store t;
	CHECK(temp_store_make(&t));
	FILE *f = fopen(t.path, "w");
	CHECK(f != NULL);
	for (int i = 0; i < 200; i++)
		fputs("this is not an sqlite database, just text. ", f);
	fclose(f);
	store_options opt = { .log = keep_log, .log_ctx = &t.log, .broken = STORE_BROKEN_EXIT };
	CHECK(store_open_with(t.spec, &opt, t.err, sizeof t.err) == NULL); /* kept as it is */
	opt.broken = STORE_BROKEN_MOVE_ASIDE;
	store *s = store_open_with(t.spec, &opt, t.err, sizeof t.err);
	CHECK(s != NULL);
	CHECK(strstr(t.log.text, "is not a database: moved aside to ") != NULL);
	CHECK(strstr(t.log.text, ".broken-") != NULL);
	store_record r = record(7, 1000);
	CHECK(store_submit(s, &r));
	CHECK(store_flush(s));
	store_close(s);
	CHECK_EQ(count_rows(t.path), 1);
}

TEST(store_file_replaced_by_garbage_while_running_keeps_every_record)
{
	temp_store t;
	char garbage[4300];
	store *s = temp_store_open_logged(&t);
	CHECK(s != NULL);
	for (unsigned i = 0; i < 50; i++) {
		store_record r = record(i, 1000);
		CHECK(store_submit(s, &r));
	}
	CHECK(store_flush(s));
	snprintf(garbage, sizeof garbage, "%s.tmp", t.path);
	FILE *f = fopen(garbage, "w");
	CHECK(f != NULL);
	for (int i = 0; i < 200; i++)
		fputs("garbage garbage garbage garbage ", f);
	fclose(f);
	CHECK(rename(garbage, t.path) == 0);
	for (unsigned i = 50; i < 100; i++) {
		store_record r = record(i, 1000);
		CHECK(store_submit(s, &r));
	}
	CHECK(flushed(s, 10));
	store_close(s);
	if (!strstr(t.log.text, "was replaced or damaged: moved aside to "))
		fprintf(stderr, "%s", t.log.text);
	CHECK(strstr(t.log.text, "was replaced or damaged: moved aside to ") != NULL);
	/* the 50 written before: rescued from the open connection; the 50 after: written */
	CHECK_EQ(count_rows(t.path), 100);
}

#include "store/sqlite_private.h"

/* The query plan of a clients query, one line per step. */
static void plan_of(sqlite3 *db, const store_query *q, bool walk, char *out, size_t len)
{
	char sql[1500], explain[1600];
	sqlite_clients_sql(q, walk, sql, sizeof sql);
	snprintf(explain, sizeof explain, "EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *st;
	out[0] = '\0';
	if (sqlite3_prepare_v2(db, explain, -1, &st, NULL) != SQLITE_OK) {
		snprintf(out, len, "cannot prepare: %s", sqlite3_errmsg(db));
		return;
	}
	/* LIKE uses an index only with its pattern known (SQLite prepares the
	 * statement again once it is bound) */
	int pat = sqlite3_bind_parameter_index(st, ":pat");
	if (pat)
		sqlite3_bind_text(st, pat, "pc-12%", -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%s\n", (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
}

TEST(store_query_planner_uses_an_index_for_each_filter_and_sort)
{
	temp_store t;
	sqlite3 *db = temp_store_schema(&t);
	CHECK(db != NULL);
	/* what ANALYZE would find at a million clients: the planner then
	 * weighs indexes as it would in a large store */
	CHECK(sqlite3_exec(db, "ANALYZE; DELETE FROM sqlite_stat1; INSERT INTO sqlite_stat1 VALUES"
			       " ('clients', 'clients_pool', '1000000 333333 2'),"
			       " ('clients', 'clients_last_seen', '1000000 2'),"
			       " ('clients', 'clients_kms', '1000000 50000 2'),"
			       " ('clients', 'clients_workstation', '1000000 3'),"
			       " ('clients', 'clients_address', '1000000 2'),"
			       " ('clients', 'clients_requests', '1000000 100000 2'),"
			       " ('clients', 'clients_groups', '1000000 333333 50000 2'),"
			       " ('clients', 'clients', '1000000 1 1'); ANALYZE sqlite_schema;",
			   NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(sqlite3_open(t.path, &db) == SQLITE_OK);
	kms_guid g;
	guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &g);
	store_cursor after = { .last_seen = 5 };
	static const char *const sorts[] = { "last_seen", "workstation", "requests" };
	for (int sort = 0; sort < 3; sort++) {
		for (int filter = 0; filter < 5; filter++) {
			store_query q = { .order = sorts[sort], .limit = 50 };
			if (filter == 1)
				q.kms_id = &g;
			if (filter == 2)
				q.app_id = &g;
			if (filter == 3)
				q.since = 1000;
			if (filter == 4)
				q.search = "pc-12";
			char plan[2000];
			plan_of(db, &q, false, plan, sizeof plan);
			bool full_scan = strstr(plan, "SCAN clients\n") != NULL;
			if (getenv("KMSD_SHOW_PLANS"))
				fprintf(stderr, "sort %s filter %d:\n%s", sorts[sort], filter, plan);
			if (full_scan)
				fprintf(stderr, "sort %s filter %d:\n%s", sorts[sort], filter, plan);
			CHECK(!full_scan);
			CHECK(strstr(plan, "USING") != NULL);
			if (filter == 4) {
				CHECK(strstr(plan, "INDEX clients_workstation (workstation>? AND "
					      "workstation<?)") != NULL);
				CHECK(strstr(plan, "INDEX clients_address (address>? AND address<?)") !=
				      NULL);
			}
			/* a search matching many rows walks the sort's index, no sorting */
			if (filter == 4) {
				plan_of(db, &q, true, plan, sizeof plan);
				if (strstr(plan, "TEMP B-TREE") || strstr(plan, "SCAN clients\n"))
					fprintf(stderr, "walk, sort %s:\n%s", sorts[sort], plan);
				CHECK(strstr(plan, "TEMP B-TREE") == NULL);
				CHECK(strstr(plan, "SCAN clients\n") == NULL);
				CHECK(strstr(plan, "clients_workstation (workstation>?") == NULL ||
				      strcmp(sorts[sort], "workstation") == 0);
			}
			/* no filter, or the cursor alone: the sort's index, no sorting */
			if (filter == 0) {
				if (strstr(plan, "TEMP B-TREE"))
					fprintf(stderr, "sort %s:\n%s", sorts[sort], plan);
				CHECK(strstr(plan, "TEMP B-TREE") == NULL);
				q.after = &after;
				plan_of(db, &q, false, plan, sizeof plan);
				CHECK(strstr(plan, "TEMP B-TREE") == NULL);
				CHECK(strstr(plan, "SCAN clients\n") == NULL);
				/* a deep page skips over the index's keys alone */
				q.after = NULL;
				q.offset = 50000;
				plan_of(db, &q, false, plan, sizeof plan);
				CHECK(strstr(plan, "USING COVERING INDEX") != NULL);
			}
		}
	}
	sqlite3_close(db);
}

typedef struct page_rows {
	size_t n;
	char cmids[1000][33];
} page_rows;

static bool page_row(void *ctx, const store_client *c)
{
	page_rows *p = ctx;
	if (p->n < 1000) {
		for (int i = 0; i < 16; i++)
			snprintf(p->cmids[p->n] + 2 * i, 3, "%02x", c->cmid.b[i]);
		p->n++;
	}
	return true;
}

/* A search is served by walking the sort's index once it matches
 * STORE_SEARCH_COUNT_MAX rows or more: its pages hold the rows that
 * collecting and sorting every match gives, in the same order. */
TEST(store_broad_search_walks_the_sort_and_finds_the_same_rows)
{
	temp_store t;
	sqlite3 *db = temp_store_schema(&t);
	CHECK(db != NULL);
	/* 30,000 clients, a third of them named ws-1..., with every sort key
	 * spread and tied now and then */
	CHECK(sqlite3_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
			       " WHERE i < 30000) INSERT INTO clients (cmid, app_id, workstation,"
			       " address, first_seen, last_seen, requests, last_result)"
			       " SELECT randomblob(16), zeroblob(16), printf('ws-%d-%d', i % 3, i),"
			       " printf('10.0.%d.%d:1688', i % 251, i % 7), 1, 1000 + i % 997,"
			       " 1 + i % 13, 0 FROM n;", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	store *s = store_open(t.spec, true, t.err, sizeof t.err);
	CHECK(s != NULL);
	static const char *const sorts[] = { "last_seen", "workstation", "requests" };
	static const char *const searches[] = { "ws-1", "WS-", "10.0.1" };
	static page_rows walked, gathered;
	for (int sort = 0; sort < 3; sort++) {
		for (int k = 0; k < 3; k++) {
			for (size_t offset = 0; offset <= 2000; offset += 2000) {
				store_query q = { .order = sorts[sort], .search = searches[k],
						  .limit = 1000, .offset = offset,
						  .count_max = STORE_SEARCH_COUNT_MAX };
				size_t total = 0;
				walked.n = 0;
				CHECK(store_clients(s, &q, page_row, &walked, &total));
				CHECK(total == STORE_SEARCH_COUNT_MAX || k == 2);
				/* the same query with too few matches to walk: a product
				 * group that every row has, counted to exactness */
				sqlite3 *raw;
				CHECK(sqlite3_open_v2(t.path, &raw, SQLITE_OPEN_READONLY, NULL) ==
				      SQLITE_OK);
				char sql[8192];
				CHECK(sqlite_clients_sql(&q, false, sql, sizeof sql));
				sqlite3_stmt *st;
				CHECK(sqlite3_prepare_v2(raw, sql, -1, &st, NULL) == SQLITE_OK);
				char pat[64];
				snprintf(pat, sizeof pat, "%s%%", searches[k]);
				sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":pat"), pat, -1,
						  SQLITE_TRANSIENT);
				sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":limit"), 1000);
				sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":offset"),
						   (sqlite3_int64)offset);
				gathered.n = 0;
				while (sqlite3_step(st) == SQLITE_ROW && gathered.n < 1000) {
					const unsigned char *b = sqlite3_column_blob(st, 0);
					for (int i = 0; i < 16; i++)
						snprintf(gathered.cmids[gathered.n] + 2 * i, 3, "%02x",
							 b[i]);
					gathered.n++;
				}
				sqlite3_finalize(st);
				sqlite3_close(raw);
				CHECK(walked.n == gathered.n);
				CHECK(walked.n > 0);
				for (size_t i = 0; i < walked.n && i < gathered.n; i++)
					CHECK(strcmp(walked.cmids[i], gathered.cmids[i]) == 0);
			}
		}
	}
	store_close(s);
}

static bool count_only(void *ctx, const store_client *c)
{
	(void)c;
	(*(size_t *)ctx)++;
	return true;
}

TEST(store_query_over_its_budget_is_cancelled)
{
	temp_store t;
	sqlite3 *db = temp_store_schema(&t);
	CHECK(db != NULL);
	CHECK(sqlite3_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
			       " WHERE i < 300000) INSERT INTO clients (cmid, app_id, workstation,"
			       " address, first_seen, last_seen) SELECT randomblob(16),"
			       " randomblob(16), 'pc-' || i, '', i, i FROM n", NULL, NULL,
			   NULL) == SQLITE_OK);
	sqlite3_close(db);
	store *s = store_open(t.spec, true, t.err, sizeof t.err);
	CHECK(s != NULL);
	store_set_query_budget(s, 1);
	/* all 300000 rows: far over 1 ms */
	store_query q = { .since = 1, .order = "last_seen", .limit = 0 };
	size_t n = 0, total = 0;
	CHECK(!store_clients(s, &q, count_only, &n, &total));
	CHECK(store_timed_out(s));
	CHECK(strstr(store_error(s), "took longer than 1 ms and was cancelled") != NULL);
	/* within a budget it answers, and the flag clears */
	store_set_query_budget(s, 60000);
	q.limit = 10;
	n = 0;
	CHECK(store_clients(s, &q, count_only, &n, &total));
	CHECK(!store_timed_out(s));
	CHECK_EQ(n, 10);
	CHECK_EQ(total, 300000);
	store_close(s);
}

TEST(store_uri_syntax)
{
	char why[256];
	CHECK(store_uri_check("none", why, sizeof why));
	CHECK(store_uri_check("sqlite:/var/lib/kmsd/clients.db", why, sizeof why));
	CHECK(store_uri_check("postgresql://kmsd:s%40cret@db.example.com:5432/kmsd?sslmode=require",
			      why, sizeof why));
	CHECK(store_uri_check("postgres://[2001:db8::1]:5432/kmsd", why, sizeof why));
	CHECK(store_uri_check("postgresql:///kmsd?host=/run/postgresql", why, sizeof why));
	CHECK(!store_uri_check("sqlite:clients.db", why, sizeof why));
	CHECK(strstr(why, "absolute path") != NULL);
	CHECK(!store_uri_check("postgresql://db:99999/kmsd", why, sizeof why));
	CHECK(strstr(why, "port") != NULL);
	CHECK(!store_uri_check("postgresql://db:5432/kmsd?sslmode", why, sizeof why));
	CHECK(!store_uri_check("postgresql://us er@db/kmsd", why, sizeof why));
	CHECK(!store_uri_check("postgresql://[::1/kmsd", why, sizeof why));
	CHECK(!store_uri_check("postgresql://db/k%4", why, sizeof why));
	char out[256];
	CHECK(store_uri_with_password("postgresql://kmsd@db/kmsd", "p@ss word", out, sizeof out));
	CHECK_STR(out, "postgresql://kmsd@db/kmsd?password=p%40ss%20word");
	CHECK(store_uri_with_password("postgresql://db/kmsd?sslmode=require", "x", out, sizeof out));
	CHECK_STR(out, "postgresql://db/kmsd?sslmode=require&password=x");
	CHECK(store_uri_check(out, why, sizeof why));
}

#include "store/client_updates.h"

/* One machine asking three times in a batch, answered, refused, answered
 * at an earlier second, with another name: one update holding what the
 * three upserts would leave. */
TEST(store_batch_folds_a_machines_records_into_one_update)
{
	store_record batch[5] = { record(1, 100), record(2, 100), record(1, 105), record(1, 103),
				  record(2, 90) };
	batch[2].result = 0xC004F042u;
	snprintf(batch[3].workstation, sizeof batch[3].workstation, "renamed");
	client_updates u;
	CHECK(client_updates_init(&u, 5));
	size_t rows = client_updates_fold(&u, batch, 5);
	CHECK_EQ(rows, 2);
	const client_update *one = &u.updates[0], *two = &u.updates[1];
	CHECK(one->last == &batch[3] && two->last == &batch[4]);
	CHECK_EQ(one->requests, 3);
	CHECK_EQ(one->first_time, 100);
	CHECK_EQ(one->last_time, 105);
	CHECK_EQ(one->counted_time, 103); /* 105 was refused */
	CHECK_EQ(two->first_time, 100);
	CHECK_EQ(two->last_time, 100);
	CHECK_EQ(two->counted_time, 100);
	batch[0].result = 0xC004F042u;
	CHECK_EQ(client_updates_fold(&u, batch, 1), 1);
	CHECK_EQ(u.updates[0].counted_time, -1);
	client_updates_free(&u);
}

/* The first column of sql's first row as text, ?1 bound to blob if given;
 * false when there is no such row or it is NULL. */
static bool query_text(const char *path, const char *sql, const void *blob, int blob_len,
		       char *out, size_t len)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	bool ok = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
		  sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		if (blob)
			sqlite3_bind_blob(st, 1, blob, blob_len, SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0);
		if (ok)
			snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return ok;
}

/* Every column of every row, and the hourly counters, as one string. */
static bool dump_rows(const char *path, char *out, size_t len)
{
	static const char sql[] =
		"SELECT (SELECT group_concat(r, ';') FROM (SELECT quote(cmid) || quote(app_id) ||"
		" quote(kms_id) || quote(sku_id) || quote(workstation) || quote(address) ||"
		" quote(license_status) || quote(protocol) || quote(first_seen) || quote(last_seen) ||"
		" quote(requests) || quote(last_result) || quote(last_count) || quote(counted_seen) AS r"
		" FROM clients ORDER BY cmid, app_id)) || '|' || (SELECT group_concat(h, ';') FROM"
		" (SELECT quote(app_id) || quote(kms_id) || hour || ':' || clients AS h FROM client_hours"
		" WHERE clients <> 0 ORDER BY 1)) || '|' || (SELECT count(*) FROM activity)";
	return query_text(path, sql, NULL, 0, out, len);
}

/* The same records written one per batch and all in one batch (where the
 * backend folds each machine's into one update) leave the same rows, the
 * same hourly counters and the same activity log: machines that ask again
 * in the same batch, across hours, refused then answered and the reverse,
 * renamed, under another group, with a clock that steps back. */
TEST(store_folded_batch_leaves_what_one_record_per_batch_leaves)
{
	temp_store one, all;
	sqlite3 *schema_a = temp_store_schema(&one), *schema_b = temp_store_schema(&all);
	CHECK(schema_a != NULL && schema_b != NULL);
	sqlite3_close(schema_a);
	sqlite3_close(schema_b);
	char err[300];
	void *a = sqlite_connect(one.path, false, err, sizeof err);
	void *b = sqlite_connect(all.path, false, err, sizeof err);
	CHECK(a != NULL && b != NULL);
	static store_record batch[400];
	for (unsigned i = 0; i < 400; i++) {
		store_record *r = &batch[i];
		*r = record((unsigned)test_seeded_below(12), 0);
		r->time = 1000 + (int64_t)test_seeded_below(4 * 3600);
		r->result = test_seeded_below(3) == 0 ? 0xC004F042u : 0;
		if (test_seeded_below(4) == 0)
			snprintf(r->workstation, sizeof r->workstation, "renamed-%u", i);
		if (test_seeded_below(5) == 0)
			guid_parse("7fde5219-fbfa-484a-82c9-34d1ad53e856", &r->kms_id);
		if (test_seeded_below(6) == 0)
			guid_parse("0ff1ce15-a989-479d-af46-f275c6370663", &r->app_id);
		CHECK(sqlite_write_batch(a, r, 1, err, sizeof err) == STORE_WRITTEN);
	}
	/* four batches: the later ones fold into rows that exist already */
	for (unsigned i = 0; i < 400; i += 100)
		CHECK(sqlite_write_batch(b, batch + i, 100, err, sizeof err) == STORE_WRITTEN);
	sqlite3_close(a);
	sqlite3_close(b);
	static char want[65536], got[65536];
	CHECK(dump_rows(one.path, want, sizeof want));
	CHECK(dump_rows(all.path, got, sizeof got));
	CHECK(strlen(want) > 1000);
	CHECK_STR(got, want);
}

static bool workstation_of(const char *path, unsigned n, char *out, size_t len)
{
	store_record r = record(n, 0);
	return query_text(path,
			  "SELECT coalesce(workstation, 'NULL') || '/' || requests"
			  " FROM clients WHERE cmid = ?1",
			  r.cmid.b, 16, out, len);
}

/* A renewal that keeps its workstation name leaves the column (and its
 * index) alone; any change, even of case only, or a name where another
 * tool left none, is written; the indexes stay consistent with the rows. */
TEST(store_renewal_writes_the_name_only_when_it_changes)
{
	temp_store t;
	sqlite3 *db = temp_store_schema(&t);
	CHECK(db != NULL);
	char err[300], got[200];
	void *w = sqlite_connect(t.path, false, err, sizeof err);
	CHECK(w != NULL);
	store_record first[3] = { record(1, 1000), record(2, 1000), record(3, 1000) };
	CHECK(sqlite_write_batch(w, first, 3, err, sizeof err) == STORE_WRITTEN);
	CHECK(sqlite3_exec(db, "UPDATE clients SET workstation = NULL WHERE requests = 1"
			       " AND workstation = 'pc-3.example'", NULL, NULL, NULL) == SQLITE_OK);
	store_record again[3] = { record(1, 2000), record(2, 2000), record(3, 2000) };
	snprintf(again[1].workstation, sizeof again[1].workstation, "PC-2.EXAMPLE");
	CHECK(sqlite_write_batch(w, again, 3, err, sizeof err) == STORE_WRITTEN);
	store_record renamed = record(1, 3000);
	snprintf(renamed.workstation, sizeof renamed.workstation, "renamed");
	CHECK(sqlite_write_batch(w, &renamed, 1, err, sizeof err) == STORE_WRITTEN);
	sqlite3_close(w);
	CHECK(workstation_of(t.path, 1, got, sizeof got));
	CHECK_STR(got, "renamed/3");
	CHECK(workstation_of(t.path, 2, got, sizeof got));
	CHECK_STR(got, "PC-2.EXAMPLE/2");
	CHECK(workstation_of(t.path, 3, got, sizeof got));
	CHECK_STR(got, "pc-3.example/2");
	sqlite3_stmt *st;
	CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}
