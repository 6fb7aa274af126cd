/* The store's spec handling and a shared (PostgreSQL) store whose server
 * cannot be reached: it opens for the daemon, queues, logs the outage once
 * and reports what it could not write at stop. The integration tests
 * (test_store_pg.py) cover a real server. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "store/store.h"
#include "store/store_private.h"

TEST(store_spec_kinds_and_display_hide_passwords)
{
	CHECK(store_spec_shared("postgresql://h/db"));
	CHECK(store_spec_shared("postgres://h/db"));
	CHECK(!store_spec_shared("sqlite:/var/lib/kmsd/clients.db"));
	CHECK(!store_spec_shared("postgresql:/h"));
	char out[200];
	store_spec_display("postgresql://kms:s3cret@db.example.com:5432/kmsd", out, sizeof out);
	CHECK_STR(out, "postgresql://kms:***@db.example.com:5432/kmsd");
	store_spec_display("postgres://db/kmsd?user=kms&password=s3cret&sslmode=require", out,
			   sizeof out);
	CHECK_STR(out, "postgres://db/kmsd?user=kms&password=***&sslmode=require");
	store_spec_display("postgresql://kms@db/kmsd", out, sizeof out);
	CHECK_STR(out, "postgresql://kms@db/kmsd");
	store_spec_display("/var/lib/kmsd/clients.db", out, sizeof out);
	CHECK_STR(out, "/var/lib/kmsd/clients.db");
}

TEST(store_utf8_clean_replaces_what_is_not_utf8)
{
	char out[32];
	store_utf8_clean(out, sizeof out, "PC-\xc3\xa9t\xc3\xa9");
	CHECK_STR(out, "PC-\xc3\xa9t\xc3\xa9");
	store_utf8_clean(out, sizeof out, "a\xff" "b\xc3" "c\xed\xa0\x80" "d\xe0\x80\x80");
	CHECK_STR(out, "a?b?c???d???");
	store_utf8_clean(out, 4, "ab\xc3\xa9");
	CHECK_STR(out, "ab?"); /* a character that does not fit is not cut in half */
}

typedef struct log_lines {
	int errors, infos;
	char last[400];
} log_lines;

static void collect_log(void *ctx, bool error, const char *message)
{
	log_lines *l = ctx;
	if (error)
		l->errors++;
	else
		l->infos++;
	snprintf(l->last, sizeof l->last, "%s", message);
}

TEST(store_shared_unreachable_at_start_still_opens_and_queues)
{
	char err[400];
	/* port 1 on loopback: refused at once */
	const char *spec = "postgresql://kmsd:pw@127.0.0.1:1/kmsd";
	CHECK(store_open(spec, true, err, sizeof err) == NULL);
	CHECK(strstr(err, "postgresql://kmsd:***@127.0.0.1:1/kmsd: ") == err);

	log_lines l = { 0 };
	store_options opt = { .log = collect_log, .log_ctx = &l };
	store *s = store_open_with(spec, &opt, err, sizeof err);
	CHECK(s != NULL);
	CHECK_EQ(l.errors, 1);
	CHECK(strstr(l.last, "client store unreachable") != NULL);
	store_record r;
	memset(&r, 0, sizeof r);
	for (int i = 0; i < 3; i++) {
		r.cmid.b[0] = (uint8_t)i;
		CHECK(store_submit(s, &r));
	}
	CHECK(!store_flush(s)); /* returns, saying it could not write */
	/* identity set while away: remembered, and written once it is back */
	char value[32];
	CHECK(!store_identity_get(s, "epid-seed", value, sizeof value));
	CHECK(!store_identity_set(s, "epid-seed", "0123456789abcdef"));
	CHECK(store_identity_get(s, "epid-seed", value, sizeof value));
	CHECK_STR(value, "0123456789abcdef");
	CHECK(store_follow(s, 86400, NULL, NULL));
	store_writer_stats ws;
	store_writer_stats_get(s, &ws);
	CHECK_EQ(ws.queue_depth, 3);
	CHECK_EQ(ws.written, 0);
	store_close(s);
	CHECK_EQ(l.errors, 2); /* the outage once, and the loss at stop */
	CHECK(strstr(l.last, "3 queued records lost at stop") != NULL);
}
