/* Issue 17's pure parts: addresses without their port, CSV fields, the
 * result= parameter, the products search rule, and the store's answer
 * filter and activity log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "store/activity.h"
#include "store/store_private.h"
#include "web/web_private.h"

TEST(web_address_without_port)
{
	static const char *const cases[][2] = {
		{ "10.0.0.5:49731", "10.0.0.5" }, { "[::1]:5000", "::1" },
		{ "[2001:db8::7]:61000", "2001:db8::7" }, { "2001:db8::7", "2001:db8::7" },
		{ "pc-01", "pc-01" }, { "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[64];
		web_address_host(cases[i][0], out);
		CHECK_STR(out, cases[i][1]);
	}
}

TEST(web_csv_fields_quoted_and_formulas_defused)
{
	static const char *const cases[][2] = {
		{ "plain", "plain," },
		{ "a,b", "\"a,b\"," },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"," },
		{ "two\nlines", "\"two\nlines\"," },
		{ "=1+1", "\"'=1+1\"," },
		{ "@SUM(A1)", "\"'@SUM(A1)\"," },
		{ "-2", "\"'-2\"," },
		{ "", "," },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		buf b;
		buf_init(&b);
		web_csv_field(&b, cases[i][0], false);
		buf_add(&b, "", 1);
		CHECK_STR(b.data, cases[i][1]);
		buf_free(&b);
	}
	buf b;
	buf_init(&b);
	web_csv_field(&b, "end", true);
	buf_add(&b, "", 1);
	CHECK_STR(b.data, "end\r\n");
	buf_free(&b);
}

TEST(web_result_parameter_is_strict)
{
	web_clients_params p;
	web_param_error err;
	web_clients_params_init(&p);
	CHECK(web_clients_param(&p, "result", "refused", 0, &err));
	CHECK_STR(p.result, "refused");
	CHECK(web_clients_param(&p, "result", "below_threshold", 0, &err));
	CHECK_STR(p.result, "below_threshold");
	CHECK(!web_clients_param(&p, "result", "Activated", 0, &err));
	CHECK_STR(err.parameter, "result");
	store_query q = web_store_query(&p);
	CHECK_EQ(q.answer, STORE_ANSWER_BELOW);
	CHECK(q.n_thresholds > 0);
}

TEST(web_products_search_by_words)
{
	const kms_products *t = &kms_product_table;
	size_t pro = 0, all = 0;
	for (size_t i = 0; i < t->n_skus; i++) {
		all += web_product_matches(&t->skus[i], "");
		if (web_product_matches(&t->skus[i], "  11 PRO windows ")) {
			pro++;
			CHECK(strcasestr(t->skus[i].name, "pro") != NULL);
		}
		/* one word absent everywhere: nothing */
		CHECK(!web_product_matches(&t->skus[i], "windows zzzz"));
	}
	CHECK_EQ(all, t->n_skus);
	CHECK(pro > 0);
}

TEST(store_answer_filter_sql)
{
	store_threshold th[2];
	guid_parse("58e2134f-8e11-4d17-9cb2-91069c151148", &th[0].kms_id);
	th[0].n_policy = 25;
	guid_parse("8449b1fb-f0ea-497a-99ab-66ca96e9a0f5", &th[1].kms_id);
	th[1].n_policy = 5;
	store_query q = { .answer = STORE_ANSWER_ANY, .thresholds = th, .n_thresholds = 2 };
	char sql[512];
	CHECK(store_answer_sql(&q, false, sql, sizeof sql));
	CHECK_STR(sql, "");
	q.answer = STORE_ANSWER_REFUSED;
	CHECK(store_answer_sql(&q, false, sql, sizeof sql));
	CHECK_STR(sql, " AND last_result <> 0");
	q.answer = STORE_ANSWER_ACTIVATED;
	CHECK(store_answer_sql(&q, false, sql, sizeof sql));
	CHECK_STR(sql, " AND last_result = 0 AND last_count >= CASE kms_id"
		  " WHEN x'4f13e258118e174d9cb291069c151148' THEN 25"
		  " WHEN x'fbb14984eaf07a4999ab66ca96e9a0f5' THEN 5 ELSE 0 END");
	q.answer = STORE_ANSWER_BELOW;
	CHECK(store_answer_sql(&q, true, sql, sizeof sql));
	CHECK(strstr(sql, "last_count < CASE kms_id WHEN '\\x4f13e258") != NULL);
	CHECK(!store_answer_sql(&q, true, sql, 40)); /* does not fit: refused, not cut */
}

static bool count_rows(void *ctx, const store_activity *a)
{
	(void)a;
	(*(int *)ctx)++;
	return true;
}

TEST(store_activity_log_written_read_and_pruned)
{
	char dir[4096], spec[4200], err[300];
	CHECK(test_temp_dir(dir, sizeof dir));
	snprintf(spec, sizeof spec, "sqlite:%s/clients.db", dir);
	store *s = store_open(spec, false, err, sizeof err);
	CHECK(s != NULL);
	int64_t now = (int64_t)time(NULL);
	for (int i = 0; i < 5; i++) {
		store_record r;
		memset(&r, 0, sizeof r);
		r.cmid.b[0] = (uint8_t)(i % 2);
		r.time = now - 1000 + i * 100; /* within the retention, which the writer keeps */
		snprintf(r.address, sizeof r.address, "192.0.2.1:%d", 5000 + i);
		CHECK(store_submit(s, &r));
	}
	CHECK(store_flush(s));
	int n = 0;
	kms_guid one;
	memset(&one, 0, sizeof one);
	one.b[0] = 1;
	CHECK(store_activity_recent(s, NULL, 10, count_rows, &n));
	CHECK_EQ(n, 5);
	n = 0;
	CHECK(store_activity_recent(s, &one, 10, count_rows, &n));
	CHECK_EQ(n, 2);
	int64_t oldest;
	CHECK(store_activity_oldest(s, &oldest));
	CHECK_EQ(oldest, now - 1000);
	/* prune takes requests older than the clients' cut-off along */
	CHECK(store_prune(s, now - 750) >= 0);
	n = 0;
	CHECK(store_activity_recent(s, NULL, 10, count_rows, &n));
	CHECK_EQ(n, 2);
	store_close(s);
}
