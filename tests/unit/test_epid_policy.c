/* ePID generation and shape; the activation decision; client counting. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "kms/epid.h"
#include "kms/policy.h"
#include "kms/products.h"
#include "server/client_count.h"

#define NOW 1795000000 /* 2026-11-18 */

TEST(epid_documented_example_parses)
{
	kms_epid_fields f;
	CHECK(kms_epid_parse("03612-00206-568-381813-03-1033-17763.0000-2652018", &f));
	CHECK_EQ(f.platform_id, 3612);
	CHECK_EQ(f.group_id, 206);
	CHECK_EQ(f.key_id, 568381813);
	CHECK_EQ(f.lcid, 1033);
	CHECK_EQ(f.build, 17763);
	CHECK_EQ(f.day_of_year, 265);
	CHECK_EQ(f.year, 2018);
	CHECK(kms_epid_parse("55041-00206-553-078527-03-1091-6002.0000-1162026", &f));
	CHECK_EQ(f.build, 6002);
}

TEST(epid_malformed_shapes_are_rejected)
{
	static const char *const bad[] = {
		"",
		"03612-00206-568-381813-03-1033-17763.0000-265201",    /* short date */
		"03612-00206-568-381813-04-1033-17763.0000-2652018",   /* not channel 03 */
		"3612-00206-568-381813-03-1033-17763.0000-2652018",    /* 4-digit platform */
		"03612-00206-568-381813-03-1033-17763.0001-2652018",
		"03612-00206-568-381813-03-1033-17763.0000-0002018",   /* day 0 */
		"03612-00206-568-381813-03-1033-17763.0000-3672018",   /* day 367 */
		"03612-00206-568-381813-03-1033-17763.0000-2652018x",
		"03612_00206-568-381813-03-1033-17763.0000-2652018",
	};
	kms_epid_fields f;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(!kms_epid_parse(bad[i], &f));
}

/* Every group's CSVLK yields a well-formed ePID whose fields agree with
 * the CSVLK and an allowed build, dated between release and now. */
TEST(epid_generated_for_every_group_has_documented_shape)
{
	const kms_products *t = &kms_product_table;
	for (size_t i = 0; i < t->n_groups; i++) {
		const kms_csvlk *c = &t->csvlks[t->groups[i].csvlk];
		for (uint64_t r = 0; r < 20; r++) {
			char epid[KMS_EPID_TEXT_MAX];
			kms_epid_fields f;
			CHECK(kms_epid_generate(t, c, 0, 1033, NOW, r * 0x9E3779B97F4A7C15ull, epid));
			CHECK(kms_epid_parse(epid, &f));
			CHECK_EQ(f.group_id, c->group_id);
			CHECK(f.key_id >= c->min_key_id && f.key_id <= c->max_key_id);
			const kms_build *b = kms_build_find(t, f.build);
			CHECK(b != NULL);
			CHECK(kms_csvlk_allows_build(t, c, b));
			CHECK_EQ(f.platform_id, b->platform_id);
			CHECK_EQ(f.lcid, 1033);
			CHECK(f.year >= 2006 && f.year <= 2026);
		}
	}
}

TEST(epid_generation_is_deterministic_and_honours_build)
{
	const kms_products *t = &kms_product_table;
	kms_guid id;
	CHECK(guid_parse("58e2134f-8e11-4d17-9cb2-91069c151148", &id));
	const kms_group *g = kms_group_find(t, &id);
	CHECK(g != NULL);
	const kms_csvlk *c = &t->csvlks[g->csvlk];
	char a[KMS_EPID_TEXT_MAX], b[KMS_EPID_TEXT_MAX];
	CHECK(kms_epid_generate(t, c, 0, 1033, NOW, 42, a));
	CHECK(kms_epid_generate(t, c, 0, 1033, NOW, 42, b));
	CHECK_STR(a, b);
	CHECK(kms_epid_generate(t, c, 26100, 2052, NOW, 42, a));
	kms_epid_fields f;
	CHECK(kms_epid_parse(a, &f));
	CHECK_EQ(f.build, 26100);
	CHECK_EQ(f.lcid, 2052);
	/* a build the key may not live on, or an unknown one */
	CHECK(!kms_epid_generate(t, c, 6002, 1033, NOW, 42, a));
	CHECK(!kms_epid_generate(t, c, 12345, 1033, NOW, 42, a));
}

static void windows_request(kms_request *r, const char *kms_id, uint32_t n)
{
	memset(r, 0, sizeof *r);
	r->major = 6;
	guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &r->app_id);
	guid_parse(kms_id, &r->kms_id);
	r->n_policy = n;
	r->client_time = kms_filetime_from_unix(NOW);
}

#define WIN10 "58e2134f-8e11-4d17-9cb2-91069c151148"
#define WIN10_RETAIL "e1c51358-fe3e-4203-a4a2-3b6b20c9734e"
#define UNKNOWN_ID "01234567-89ab-cdef-0123-456789abcdef"

TEST(policy_counts_always_and_real)
{
	kms_policy p;
	kms_request r;
	kms_policy_defaults(&p);
	windows_request(&r, WIN10, 25);
	kms_decision d = kms_decide(&kms_product_table, &p, &r, 0, NOW);
	CHECK_EQ(d.hresult, 0);
	CHECK_EQ(d.count, 50);
	CHECK(d.group != NULL);
	CHECK_STR(d.app->name, "Windows");

	p.count_mode = KMS_COUNT_REAL;
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 1, NOW).count, 1);
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 25, NOW).count, 25);
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 400, NOW).count, 50); /* the pool's cap */
	/* the cap is the pool's (2 x its highest N), not 2 x the request's N:
	 * a Windows Server client in a pool of 13 machines is told 13 */
	r.n_policy = 5;
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 13, NOW).count, 13);
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 60, NOW).count, 50);
	/* an Office pool holds at most 10 */
	guid_parse("0ff1ce15-a989-479d-af46-f275c6370663", &r.app_id);
	guid_parse("617d9eb1-ef36-4f82-86e0-a65ae07b96c6", &r.kms_id); /* Office 2019 */
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 13, NOW).count, 10);
	/* always mode still reports exactly 2 x N */
	p.count_mode = KMS_COUNT_ALWAYS;
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 13, NOW).count, 10);
}

TEST(policy_product_scope)
{
	kms_policy p;
	kms_request r;
	kms_policy_defaults(&p);
	/* a KMS id newer than the table, of a known application: answered by
	 * default with the application's newest host key */
	windows_request(&r, UNKNOWN_ID, 25);
	kms_decision d = kms_decide(&kms_product_table, &p, &r, 0, NOW);
	CHECK_EQ(d.hresult, 0);
	CHECK(d.new_product);
	CHECK(d.group == NULL);
	CHECK_STR(d.app->name, "Windows");
	const kms_csvlk *newest = kms_csvlk_for(&kms_product_table, &d);
	CHECK(newest != NULL && !newest->lab && !newest->preview);
	kms_guid win10;
	guid_parse(WIN10, &win10);
	const kms_group *g = kms_group_find(&kms_product_table, &win10);
	CHECK(newest->release_date >= kms_product_table.csvlks[g->csvlk].release_date);
	/* serve = known: only the table's products, as Microsoft's host */
	p.scope = KMS_SERVE_KNOWN;
	d = kms_decide(&kms_product_table, &p, &r, 0, NOW);
	CHECK_EQ(d.hresult, 0xC004F042u);
	CHECK(strstr(d.reason, "serve = known") != NULL);
	/* an unknown application is refused by default */
	p.scope = KMS_SERVE_ALL;
	guid_parse(UNKNOWN_ID, &r.app_id);
	d = kms_decide(&kms_product_table, &p, &r, 0, NOW);
	CHECK_EQ(d.hresult, 0xC004F042u);
	CHECK(strstr(d.reason, "serve = unknown") != NULL);

	p.scope = KMS_SERVE_ANY;
	d = kms_decide(&kms_product_table, &p, &r, 0, NOW);
	CHECK_EQ(d.hresult, 0);
	CHECK(kms_csvlk_for(&kms_product_table, &d) != NULL); /* falls back to Windows' key */

	kms_guid listed;
	guid_parse("617d9eb1-ef36-4f82-86e0-a65ae07b96c6", &listed); /* Office 2019 */
	p.scope = KMS_SERVE_LISTED;
	p.listed = &listed;
	p.n_listed = 1;
	windows_request(&r, WIN10, 25);
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 0, NOW).hresult, 0xC004F042u);
	guid_parse("617d9eb1-ef36-4f82-86e0-a65ae07b96c6", &r.kms_id);
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 0, NOW).hresult, 0);

	kms_policy_defaults(&p);
	p.refuse_retail = true;
	windows_request(&r, WIN10_RETAIL, 25);
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 0, NOW).hresult, 0xC004F042u);
	p.refuse_retail = false;
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 0, NOW).hresult, 0);
}

TEST(policy_n_policy_bound_and_time_check)
{
	kms_policy p;
	kms_request r;
	kms_policy_defaults(&p);
	windows_request(&r, WIN10, 1001);
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 0, NOW).hresult, 0x8007000Du);
	r.n_policy = 1000;
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 0, NOW).hresult, 0);

	r.n_policy = 25;
	r.client_time = kms_filetime_from_unix(NOW + 5 * 3600);
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 0, NOW).hresult, 0); /* check off */
	p.check_client_time = true;
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 0, NOW).hresult, 0xC004F06Cu);
	r.client_time = kms_filetime_from_unix(NOW - 5 * 3600);
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 0, NOW).hresult, 0xC004F06Cu);
	r.client_time = kms_filetime_from_unix(NOW - 3 * 3600);
	CHECK_EQ(kms_decide(&kms_product_table, &p, &r, 0, NOW).hresult, 0);
}

static kms_guid cmid_n(unsigned n)
{
	kms_guid g = { { 0 } };
	memcpy(g.b + 8, &n, sizeof n);
	g.b[0] = (uint8_t)n;
	return g;
}

TEST(client_count_distinct_per_pool_with_window)
{
	kms_guid windows, office;
	guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &windows);
	guid_parse("0ff1ce15-a989-479d-af46-f275c6370663", &office);
	client_count *c = client_count_new(&kms_product_table, 30 * 86400, 100);
	CHECK(c != NULL);
	for (unsigned i = 1; i <= 40; i++) {
		kms_guid id = cmid_n(i);
		CHECK_EQ(client_count_observe(c, &windows, &id, NOW + i), i);
	}
	kms_guid again = cmid_n(7);
	CHECK_EQ(client_count_observe(c, &windows, &again, NOW + 41), 40); /* repeat: no rise */
	kms_guid first_office = cmid_n(1);
	CHECK_EQ(client_count_observe(c, &office, &first_office, NOW + 42), 1);
	/* 30 days later all but the repeated client and the office pool are gone */
	CHECK_EQ(client_count_get(c, &windows, NOW + 41 + 30 * 86400), 1);
	CHECK_EQ(client_count_get(c, &windows, NOW + 42 + 30 * 86400), 0);
	client_count_free(c);
}

TEST(client_count_capacity_is_per_pool)
{
	kms_guid windows, office;
	guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &windows);
	guid_parse("0ff1ce15-a989-479d-af46-f275c6370663", &office);
	client_count *c = client_count_new(&kms_product_table, 30 * 86400, 2000);
	for (unsigned i = 1; i <= 10000; i++) {
		kms_guid id = cmid_n(i);
		CHECK_EQ(client_count_observe(c, &windows, &id, NOW + i), i < 50 ? i : 50);
		CHECK_EQ(client_count_observe(c, &office, &id, NOW + i), i < 10 ? i : 10);
	}
	/* a machine seen lately is still known: seeing it again adds nothing */
	kms_guid recent = cmid_n(9990);
	CHECK_EQ(client_count_observe(c, &windows, &recent, NOW + 10001), 50);
	/* what a store needs to load per application: the largest pool */
	CHECK_EQ(client_count_capacity(c), 2000);
	client_count_free(c);
	c = client_count_new(&kms_product_table, 30 * 86400, 5);
	CHECK_EQ(client_count_capacity(c), 50);
	client_count_free(c);
}

TEST(client_count_unknown_applications_share_one_bounded_bucket)
{
	kms_guid windows, office2010, office;
	guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &windows);
	guid_parse("59a52881-a989-479d-af46-f275c6370663", &office2010);
	guid_parse("0ff1ce15-a989-479d-af46-f275c6370663", &office);
	client_count *c = client_count_new(&kms_product_table, 30 * 86400, 20);
	kms_guid m = cmid_n(1);
	client_count_observe(c, &windows, &m, NOW);
	client_count_observe(c, &office, &m, NOW);
	for (unsigned i = 2; i <= 500; i++) {
		kms_guid app = cmid_n(i * 7919), id = cmid_n(i);
		app.b[15] = 0x5a;
		CHECK(client_count_observe(c, &app, &id, NOW + i) <= 20);
	}
	CHECK_EQ(client_count_get(c, &windows, NOW + 501), 1);
	CHECK_EQ(client_count_get(c, &office, NOW + 501), 1);
	CHECK_EQ(client_count_get(c, &office2010, NOW + 501), 0);
	kms_guid other = cmid_n(3);
	other.b[15] = 0x77;
	CHECK_EQ(client_count_get(c, &other, NOW + 501), 20);
	/* Office still counts and reaches its threshold */
	for (unsigned i = 600; i < 605; i++) {
		kms_guid id = cmid_n(i);
		client_count_observe(c, &office, &id, NOW + i);
	}
	CHECK_EQ(client_count_get(c, &office, NOW + 700), 6);
	/* forgetting a machine takes it out of every pool */
	CHECK(client_count_forget(c, &m));
	CHECK_EQ(client_count_get(c, &windows, NOW + 700), 0);
	CHECK_EQ(client_count_get(c, &office, NOW + 700), 5);
	CHECK(!client_count_forget(c, &m));
	client_count_free(c);
}

#include "server/host.h"

/* One host, one OS, over the whole table: every ePID a host can answer
 * with (each group's, each application's for new products) carries the
 * same platform id and build, a build that accepts NDR64 exactly when the
 * host does, with an install date after the key's and the build's release
 * and not in the future. */
TEST(epids_of_one_host_share_one_build_consistent_with_ndr64)
{
	const kms_products *t = &kms_product_table;
	for (int ndr64 = 0; ndr64 <= 1; ndr64++) {
		for (uint64_t seed = 1; seed < 40; seed += 7) {
			host_settings s;
			memset(&s, 0, sizeof s);
			uint32_t build = host_generate_epids(&s, seed, 0, ndr64, 1033, NOW);
			CHECK(build != 0);
			const kms_build *b = kms_build_find(t, build);
			CHECK(b != NULL && (b->ndr64 || !ndr64));
			for (size_t i = 0; i < t->n_groups + t->n_apps; i++) {
				kms_decision d = { 0 };
				if (i < t->n_groups)
					d.group = &t->groups[i];
				else
					d.app = &t->apps[i - t->n_groups];
				const kms_csvlk *c = kms_csvlk_for(t, &d);
				kms_epid_fields f;
				CHECK(kms_epid_parse(host_epid_for(&s, &d), &f));
				CHECK_EQ(f.build, build);
				CHECK_EQ(f.platform_id, b->platform_id % 100000);
				CHECK_EQ(f.group_id, c->group_id % 100000);
				struct tm tm = { .tm_year = f.year - 1900, .tm_mday = f.day_of_year };
				int64_t installed = (int64_t)timegm(&tm);
				CHECK(installed + 86400 > c->release_date);
				CHECK(installed + 86400 > b->release_date);
				CHECK(installed <= NOW);
			}
			host_settings_free(&s);
		}
	}
	/* host-build applies to every group, and one that cannot carry every
	 * key or contradicts ndr64 is refused */
	host_settings s;
	memset(&s, 0, sizeof s);
	uint32_t chosen = host_generate_epids(&s, 5, 0, true, 1033, NOW);
	CHECK_EQ(host_generate_epids(&s, 9, chosen, true, 1033, NOW), chosen);
	for (size_t i = 0; i < t->n_groups; i++) {
		kms_decision d = { .group = &t->groups[i] };
		kms_epid_fields f;
		CHECK(kms_epid_parse(host_epid_for(&s, &d), &f) && f.build == chosen);
	}
	CHECK_EQ(host_generate_epids(&s, 9, 6002, true, 1033, NOW), 0); /* no NDR64 on 2008 */
	CHECK_EQ(host_generate_epids(&s, 9, 9200, true, 1033, NOW), 0); /* no 2022 key on 2012 */
	host_settings_free(&s);
}
