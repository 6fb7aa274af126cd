/* The generated product table: every SKU resolves to a group and a CSVLK
 * that can build an ePID for it, lookups work and reject unknown ids, and
 * each trap in the data file was handled on purpose. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "kms/match.h"
#include "kms/products.h"
#include "vectors.h"

/* the table in use (kmsc --product-data may replace the built-in one) */
#define TABLE (&kms_product_table)

static const kms_group *group_of(const char *id)
{
	kms_guid g;
	return guid_parse(id, &g) ? kms_group_find(TABLE, &g) : NULL;
}

static const kms_csvlk *csvlk_of(const char *id)
{
	kms_guid g;
	return guid_parse(id, &g) ? kms_csvlk_find(TABLE, &g) : NULL;
}

static const kms_sku *sku_of(const char *id)
{
	kms_guid g;
	return guid_parse(id, &g) ? kms_sku_find(TABLE, &g) : NULL;
}

static const kms_app *app_of(const char *id)
{
	kms_guid g;
	return guid_parse(id, &g) ? kms_app_find(TABLE, &g) : NULL;
}

/* What the ePID generator needs from a key: a group id, a key id range
 * and at least one host build the key may live on. */
static bool csvlk_usable(const kms_csvlk *c)
{
	if (c->group_id == 0 || c->group_id > 99999 || c->min_key_id > c->max_key_id)
		return false;
	for (size_t i = 0; i < TABLE->n_epid_builds; i++)
		if (kms_csvlk_allows_build(TABLE, c, &TABLE->builds[TABLE->epid_builds[i]]))
			return true;
	return false;
}

static bool production_key(const kms_csvlk *c)
{
	return !c->lab && !c->preview;
}

static bool listed_by_any_csvlk(const kms_group *g)
{
	for (size_t k = 0; k < TABLE->n_csvlks; k++)
		if (kms_csvlk_activates(TABLE, &TABLE->csvlks[k], g))
			return true;
	return false;
}

TEST(products_table_sizes)
{
	/* the data file has 3 AppItems, 33 KmsItems, 257 SkuItems, 30
	 * WinBuilds, all valid, and 47 CsvlkItems of which 5 are broken */
	CHECK_EQ(TABLE->n_apps, 3);
	CHECK_EQ(TABLE->n_groups, 33);
	CHECK_EQ(TABLE->n_skus, 257);
	CHECK_EQ(TABLE->n_csvlks, 42);
	CHECK_EQ(TABLE->n_builds, 30);
}

TEST(products_every_sku_resolves_to_group_and_usable_csvlk)
{
	for (size_t i = 0; i < TABLE->n_skus; i++) {
		const kms_sku *s = kms_sku_find(TABLE, &TABLE->skus[i].id);
		CHECK(s == &TABLE->skus[i]);
		CHECK(s->name && *s->name);
		CHECK(s->group < TABLE->n_groups);
		const kms_group *g = &TABLE->groups[s->group];
		CHECK(g->csvlk < TABLE->n_csvlks);
		const kms_csvlk *c = &TABLE->csvlks[g->csvlk];
		CHECK(csvlk_usable(c));
		/* the key activates the SKU's group, or nothing lists the group */
		CHECK(kms_csvlk_activates(TABLE, c, g) || !listed_by_any_csvlk(g));
		CHECK(s->gvlk == NULL || strlen(s->gvlk) == 29);
	}
}

TEST(products_every_group_has_usable_csvlk)
{
	for (size_t i = 0; i < TABLE->n_groups; i++) {
		const kms_group *g = &TABLE->groups[i];
		CHECK(g == kms_group_find(TABLE, &g->id));
		CHECK(g->csvlk != KMS_NO_INDEX);
		CHECK(g->csvlk < TABLE->n_csvlks);
		const kms_csvlk *c = &TABLE->csvlks[g->csvlk];
		CHECK(csvlk_usable(c));
		CHECK(g->n_policy == 5 || g->n_policy == 25);
		CHECK(g->protocol >= 4 && g->protocol <= 6);
		CHECK(g->app < TABLE->n_apps);
		if (!listed_by_any_csvlk(g)) {
			CHECK(g->csvlk == TABLE->apps[g->app].default_csvlk);
			continue;
		}
		/* the chosen key lists the group and no listing key beats it:
		 * production before lab/preview, then the newest */
		CHECK(kms_csvlk_activates(TABLE, c, g));
		for (size_t k = 0; k < TABLE->n_csvlks; k++) {
			const kms_csvlk *other = &TABLE->csvlks[k];
			if (!kms_csvlk_activates(TABLE, other, g))
				continue;
			CHECK(production_key(c) || !production_key(other));
			if (production_key(c) == production_key(other))
				CHECK(other->release_date <= c->release_date);
		}
	}
}

TEST(products_every_csvlk_is_valid)
{
	for (size_t i = 0; i < TABLE->n_csvlks; i++) {
		const kms_csvlk *c = &TABLE->csvlks[i];
		CHECK(c == kms_csvlk_find(TABLE, &c->id));
		CHECK(!guid_is_zero(&c->id));
		CHECK(c->name && *c->name);
		CHECK(csvlk_usable(c));
		CHECK((size_t)c->first_activate + c->n_activate <= TABLE->n_activates);
		for (size_t k = 0; k < c->n_activate; k++)
			CHECK(TABLE->activates[c->first_activate + k] < TABLE->n_groups);
		for (size_t k = 0; k < i; k++)
			CHECK(guid_cmp(&c->id, &TABLE->csvlks[k].id) != 0);
	}
}

TEST(products_app_default_csvlks)
{
	/* the CSVLK with each AppItem's VlmcsdIndex: 0, 1 and 5 */
	const kms_app *a = app_of("55c92734-d682-4d71-983e-d6ec3f16059f");
	CHECK(a != NULL);
	CHECK_STR(a->name, "Windows");
	CHECK_EQ(a->min_active_clients, 50);
	CHECK(&TABLE->csvlks[a->default_csvlk] == csvlk_of("84e331f6-4279-48c4-ab10-b75139181351"));
	a = app_of("59a52881-a989-479d-af46-f275c6370663");
	CHECK(a != NULL);
	CHECK_EQ(a->min_active_clients, 10);
	CHECK(&TABLE->csvlks[a->default_csvlk] == csvlk_of("bfe7a195-4f8f-4f0b-a622-cf13c7d16864"));
	a = app_of("0ff1ce15-a989-479d-af46-f275c6370663");
	CHECK(a != NULL);
	CHECK(&TABLE->csvlks[a->default_csvlk] == csvlk_of("70512334-47b4-44db-a233-be5ea33b914c"));
	for (size_t i = 0; i < TABLE->n_apps; i++) {
		CHECK(TABLE->apps[i].default_csvlk < TABLE->n_csvlks);
		CHECK(&TABLE->apps[i] == kms_app_find(TABLE, &TABLE->apps[i].id));
	}
}

TEST(products_recorded_products)
{
	const kms_sku *s = sku_of("73111121-5638-40f6-bc11-f1d7b0d64300");
	CHECK(s != NULL);
	CHECK_STR(s->name, "Windows 10/11 Enterprise");
	CHECK_STR(s->gvlk, "NPPR9-FWDCX-D2C8J-H872K-2YT43");
	const kms_group *g = &TABLE->groups[s->group];
	CHECK(g == group_of("58e2134f-8e11-4d17-9cb2-91069c151148"));
	CHECK_EQ(g->n_policy, 25);
	CHECK_EQ(g->protocol, 6);
	CHECK(&TABLE->apps[g->app] == app_of("55c92734-d682-4d71-983e-d6ec3f16059f"));
	/* newest production key listing Windows 10/11 2015 (Volume) */
	CHECK_STR(TABLE->csvlks[g->csvlk].name, "Windows 10 2019");

	s = sku_of("6f327760-8c5c-417c-9b61-836a98287e0c");
	CHECK(s != NULL);
	CHECK_STR(s->name, "Office Professional Plus 2010");
	g = &TABLE->groups[s->group];
	CHECK(g == group_of("e85af946-2e25-47b7-83e1-bebcebeac611"));
	CHECK_EQ(g->n_policy, 5);
	CHECK_EQ(g->protocol, 4);
	CHECK(&TABLE->apps[g->app] == app_of("59a52881-a989-479d-af46-f275c6370663"));
	CHECK_STR(TABLE->csvlks[g->csvlk].name, "Office 2010 VL");
	CHECK_EQ(TABLE->csvlks[g->csvlk].group_id, 96);
}

/* Every recorded conversation names an application, SKU and KMS id with
 * its N policy and protocol: the table must agree with what clients sent. */
TEST(products_recorded_vectors_resolve)
{
	char names[MAX_VECTORS][96];
	int n = vector_list(names, MAX_VECTORS);
	CHECK(n >= 10);
	for (int i = 0; i < n; i++) {
		char app[128], sku[128], kms[128], policy[32], version[32];
		CHECK(vector_txt_field(names[i], "Application ID", app, sizeof app));
		CHECK(vector_txt_field(names[i], "SKU ID", sku, sizeof sku));
		CHECK(vector_txt_field(names[i], "KMS ID", kms, sizeof kms));
		CHECK(vector_txt_field(names[i], "N count policy", policy, sizeof policy));
		CHECK(vector_txt_field(names[i], "Protocol version", version, sizeof version));
		app[36] = sku[36] = kms[36] = 0; /* drop the " (name)" */
		const kms_sku *s = sku_of(sku);
		CHECK(s != NULL);
		const kms_group *g = &TABLE->groups[s->group];
		CHECK(g == group_of(kms));
		CHECK(&TABLE->apps[g->app] == app_of(app));
		char expected[32];
		snprintf(expected, sizeof expected, "%u", g->n_policy);
		CHECK_STR(policy, expected);
		snprintf(expected, sizeof expected, "%u.0", g->protocol);
		CHECK_STR(version, expected);
		CHECK(csvlk_usable(&TABLE->csvlks[g->csvlk]));
	}
}

TEST(products_data_file_traps)
{
	/* Office 2024 spells the protocol attribute DefaultKmsprotocol */
	const kms_group *g = group_of("1b4db7eb-4057-5ddf-91e0-36dec72071f5");
	CHECK(g != NULL);
	CHECK_EQ(g->protocol, 6);
	CHECK_EQ(g->n_policy, 5);
	/* Office LTSC 2024 has no ReleaseDate: unknown, yet still usable */
	CHECK_STR(TABLE->csvlks[g->csvlk].name, "Office LTSC 2024");
	CHECK_EQ(TABLE->csvlks[g->csvlk].release_date, 0);
	/* Windows Server 2022's KMS id is listed by no CSVLK: it still gets one */
	g = group_of("b74263e4-0f92-46c6-bcf8-c11d5efe2959");
	CHECK(g != NULL);
	CHECK(csvlk_usable(&TABLE->csvlks[g->csvlk]));
	/* the Office 2013 pre-release group's only CSVLK is empty: skipped */
	g = group_of("aa4c7968-b9da-4680-92b6-acb25e2f866c");
	CHECK(g != NULL);
	CHECK(csvlk_usable(&TABLE->csvlks[g->csvlk]));
	/* Server 2012: the production key with no ReleaseDate beats the lab
	 * key with one */
	g = group_of("8665cb71-468c-4aa3-a337-cb9bc9d5eaac");
	CHECK(g != NULL);
	CHECK(&TABLE->csvlks[g->csvlk] == csvlk_of("7b37c913-252b-46be-ad80-b2b5ceade8af"));
	for (size_t i = 0; i < TABLE->n_csvlks; i++)
		CHECK(TABLE->csvlks[i].group_id != 0);
	/* flags and dates came through */
	CHECK(group_of("e1c51358-fe3e-4203-a4a2-3b6b20c9734e")->retail);
	CHECK(!group_of("58e2134f-8e11-4d17-9cb2-91069c151148")->retail);
	CHECK(group_of("6d5f5270-31ac-433e-b90a-39892923c657")->preview);
	CHECK(csvlk_of("9db83b52-9904-4326-8957-ebe6feedf37c")->lab);
	CHECK(csvlk_of("d521c0fd-1732-4c15-8b98-a41b2a95bbc4")->preview);
	CHECK_EQ(csvlk_of("8fe15d04-fc66-40e6-bf34-942481e06fd8")->release_date, 1256169600);
	CHECK_EQ(csvlk_of("c90d1b4e-8aa8-439e-8b9e-b6d6b6a6d975")->invalid_builds, 0); /* "[]" */
	CHECK_EQ(csvlk_of("22105925-48c3-4ff4-a294-f654bb27e390")->invalid_builds, 0x3);
}

/* Each warning the generator prints for the real data file is a decision:
 * here is its consequence, so that none of them hides lost data. */
TEST(products_generator_warnings_are_deliberate)
{
	/* "CsvlkItem ...: missing/empty GroupId, MinKeyId, MaxKeyId, skipped" */
	CHECK(csvlk_of("3c006fa7-3b03-45a4-93da-63ddc1bdce11") == NULL); /* Server 2019 Azure */
	CHECK(csvlk_of("c609957a-dc23-48b3-8c6b-31b303479de2") == NULL); /* Server Next */
	CHECK(csvlk_of("b8cf7a60-5668-41b0-addd-6de32e69b0c6") == NULL); /* Vista pre-release */
	/* Office 2013 VL [Pre-Release] has an empty Id: nothing by its name */
	for (size_t i = 0; i < TABLE->n_csvlks; i++)
		CHECK(strstr(TABLE->csvlks[i].name, "Office 2013 VL [") == NULL);
	/* their siblings are all there */
	CHECK(csvlk_of("2e7a9ad1-a849-4b56-babe-17d5a29fe4b4") != NULL);
	CHECK(csvlk_of("9db83b52-9904-4326-8957-ebe6feedf37c") != NULL);
	CHECK(csvlk_of("2e28138a-847f-42bc-9752-61b03fff33cd") != NULL);

	/* "duplicate Id (kept ...)": the first entry with fe27276b- wins */
	const kms_csvlk *c = csvlk_of("fe27276b-a5a9-4b4d-88e3-14271beb79be");
	CHECK(c != NULL);
	CHECK_STR(c->name, "Windows Server 2012 R2 (Microsoft Internal Lab)");
	CHECK_EQ(c->min_key_id, 98500000);

	/* "Activate names unknown KmsItem ..., link ignored": the three Server
	 * 2022 keys name 10a7e9fb-..., which no KmsItem has */
	CHECK(group_of("10a7e9fb-ca8c-5352-88f5-91b8dbe13b22") == NULL);
	CHECK_EQ(csvlk_of("661f7658-7035-4b4c-9f35-010682943ec2")->n_activate, 0);
	CHECK_EQ(csvlk_of("e73aabfa-12bc-4705-b551-2dd076bebc7d")->n_activate, 0);
	CHECK_EQ(csvlk_of("22105925-48c3-4ff4-a294-f654bb27e390")->n_activate, 0);
	/* ...and the pre-release key keeps its other three links */
	CHECK(group_of("5f94a0bb-d5a0-4081-a685-5819418b2fe0") == NULL);
	CHECK_EQ(csvlk_of("d521c0fd-1732-4c15-8b98-a41b2a95bbc4")->n_activate, 3);

	/* "KmsItem ...: no usable CSVLK lists it, using ...": exactly these
	 * five groups, each given its application's default key */
	static const char *const unlisted[] = {
		"b74263e4-0f92-46c6-bcf8-c11d5efe2959", /* Windows Server 2022 */
		"6d5f5270-31ac-433e-b90a-39892923c657", /* Windows Server Next (Preview) */
		"cbdcb1ba-e093-4c81-a463-10775291fdf9", /* Windows 10 ServerRdsh */
		"d27cd636-1962-44e9-8b4f-27b6c23efb85", /* Windows 10 Unknown (Volume) */
		"aa4c7968-b9da-4680-92b6-acb25e2f866c", /* Office 2013 (Pre-release) */
	};
	size_t n_unlisted = 0;
	for (size_t i = 0; i < TABLE->n_groups; i++)
		n_unlisted += !listed_by_any_csvlk(&TABLE->groups[i]);
	CHECK_EQ(n_unlisted, sizeof unlisted / sizeof unlisted[0]);
	for (size_t i = 0; i < sizeof unlisted / sizeof unlisted[0]; i++) {
		const kms_group *g = group_of(unlisted[i]);
		CHECK(g != NULL);
		CHECK(!listed_by_any_csvlk(g));
		CHECK(g->csvlk == TABLE->apps[g->app].default_csvlk);
	}
	CHECK_STR(TABLE->csvlks[group_of(unlisted[0])->csvlk].name, "Windows Server 2025");
	CHECK_STR(TABLE->csvlks[group_of(unlisted[4])->csvlk].name, "Office 2019 VL");
}

TEST(products_epid_build_list)
{
	static const uint32_t want[] = { 6002, 7601, 9200, 9600, 14393, 17763, 20348, 26100 };
	CHECK_EQ(TABLE->n_epid_builds, 8);
	for (size_t i = 0; i < 8; i++) {
		CHECK_EQ(TABLE->builds[TABLE->epid_builds[i]].build, want[i]);
		CHECK(TABLE->builds[TABLE->epid_builds[i]].use_for_epid);
	}
	size_t n_use_for_epid = 0;
	for (size_t i = 0; i < TABLE->n_builds; i++)
		n_use_for_epid += TABLE->builds[i].use_for_epid;
	CHECK_EQ(n_use_for_epid, 8);

	const kms_build *b = kms_build_find(TABLE, 9600);
	CHECK(b != NULL);
	CHECK_EQ(b->build, 9600);
	CHECK_EQ(b->platform_id, 6401);
	CHECK_EQ(b->release_date, 1382054400); /* 2013-10-18 */
	CHECK(b->ndr64);
	CHECK(b->may_be_server);
	CHECK(!kms_build_find(TABLE, 6002)->ndr64);
	CHECK(!kms_build_find(TABLE, 10240)->use_for_epid);
	CHECK_EQ(kms_build_find(TABLE, 6002)->platform_id, 55041);
	CHECK(kms_build_find(TABLE, 1) == NULL);
}

TEST(products_csvlk_allows_build)
{
	/* Server 2025: positions 0-2 (6002, 7601, 9200) are invalid, and the
	 * key is newer than every host before 26100 */
	const kms_csvlk *c = csvlk_of("84e331f6-4279-48c4-ab10-b75139181351");
	CHECK(c != NULL);
	CHECK_EQ(c->invalid_builds, 0x7);
	CHECK(!kms_csvlk_allows_build(TABLE, c, kms_build_find(TABLE, 7601)));
	CHECK(!kms_csvlk_allows_build(TABLE, c, kms_build_find(TABLE, 20348)));
	CHECK(kms_csvlk_allows_build(TABLE, c, kms_build_find(TABLE, 26100)));
	/* Office 2010: nothing invalid, but not older than itself */
	c = csvlk_of("bfe7a195-4f8f-4f0b-a622-cf13c7d16864");
	CHECK(c != NULL);
	CHECK(!kms_csvlk_allows_build(TABLE, c, kms_build_find(TABLE, 6002)));
	CHECK(kms_csvlk_allows_build(TABLE, c, kms_build_find(TABLE, 7601)));
	CHECK(kms_csvlk_allows_build(TABLE, c, kms_build_find(TABLE, 26100)));
	/* builds outside the ePID list and unknown builds never are */
	CHECK(!kms_csvlk_allows_build(TABLE, c, kms_build_find(TABLE, 19041)));
	CHECK(!kms_csvlk_allows_build(TABLE, c, kms_build_find(TABLE, 1)));
}

TEST(products_csvlk_activates)
{
	const kms_csvlk *c = csvlk_of("90da7373-1c51-430b-bf26-c97e9c5cdc31"); /* Windows 10 2019 */
	CHECK(c != NULL);
	CHECK_EQ(c->n_activate, 4);
	CHECK(kms_csvlk_activates(TABLE, c, group_of("58e2134f-8e11-4d17-9cb2-91069c151148")));
	CHECK(kms_csvlk_activates(TABLE, c, group_of("7fde5219-fbfa-484a-82c9-34d1ad53e856")));
	CHECK(!kms_csvlk_activates(TABLE, c, group_of("969fe3c0-a3ec-491a-9f25-423605deb365")));
	CHECK(!kms_csvlk_activates(TABLE, c, group_of("e85af946-2e25-47b7-83e1-bebcebeac611")));
	CHECK(!kms_csvlk_activates(TABLE, c, NULL));
}

TEST(products_index_arrays_sorted_and_unknown_ids)
{
	for (size_t i = 1; i < TABLE->n_apps; i++)
		CHECK(guid_cmp(&TABLE->apps[TABLE->apps_by_id[i - 1]].id,
			       &TABLE->apps[TABLE->apps_by_id[i]].id) < 0);
	for (size_t i = 1; i < TABLE->n_skus; i++)
		CHECK(guid_cmp(&TABLE->skus[TABLE->skus_by_id[i - 1]].id,
			       &TABLE->skus[TABLE->skus_by_id[i]].id) < 0);
	for (size_t i = 1; i < TABLE->n_groups; i++)
		CHECK(guid_cmp(&TABLE->groups[TABLE->groups_by_id[i - 1]].id,
			       &TABLE->groups[TABLE->groups_by_id[i]].id) < 0);
	for (size_t i = 1; i < TABLE->n_csvlks; i++)
		CHECK(guid_cmp(&TABLE->csvlks[TABLE->csvlks_by_id[i - 1]].id,
			       &TABLE->csvlks[TABLE->csvlks_by_id[i]].id) < 0);
	/* wire-order sort: Data1 is little-endian, so 0ff1ce15- (bytes
	 * 15 ce f1 0f) sorts before 55c92734- (34 27 c9 55) */
	CHECK(&TABLE->apps[TABLE->apps_by_id[0]] == app_of("0ff1ce15-a989-479d-af46-f275c6370663"));

	kms_guid unknown;
	CHECK(guid_parse("01234567-89ab-cdef-0123-456789abcdef", &unknown));
	CHECK(kms_sku_find(TABLE, &unknown) == NULL);
	CHECK(kms_group_find(TABLE, &unknown) == NULL);
	CHECK(kms_app_find(TABLE, &unknown) == NULL);
	CHECK(kms_csvlk_find(TABLE, &unknown) == NULL);
	kms_guid zero = { { 0 } }, ones;
	memset(ones.b, 0xff, 16);
	CHECK(kms_sku_find(TABLE, &zero) == NULL);
	CHECK(kms_sku_find(TABLE, &ones) == NULL);
	CHECK(kms_group_find(TABLE, &ones) == NULL);
	/* a KMS id is not a SKU id, nor the other way round */
	CHECK(sku_of("58e2134f-8e11-4d17-9cb2-91069c151148") == NULL);
	CHECK(group_of("73111121-5638-40f6-bc11-f1d7b0d64300") == NULL);
	/* an empty table finds nothing */
	kms_products empty = { 0 };
	CHECK(kms_sku_find(&empty, &unknown) == NULL);
	CHECK(kms_build_find(&empty, 9600) == NULL);
}

TEST(guid_text_round_trip)
{
	kms_guid g;
	char text[GUID_TEXT_LEN];
	CHECK(guid_parse("{55C92734-D682-4D71-983E-D6EC3F16059F}", &g));
	CHECK_EQ(g.b[0], 0x34); /* Data1 little-endian on the wire */
	CHECK_EQ(g.b[8], 0x98); /* Data4 as written */
	guid_format(&g, text);
	CHECK_STR(text, "55c92734-d682-4d71-983e-d6ec3f16059f");
	CHECK(!guid_parse("55c92734-d682-4d71-983e-d6ec3f16059", &g));
	CHECK(!guid_parse("55c92734xd682-4d71-983e-d6ec3f16059f", &g));
	CHECK(!guid_parse("55c92734-d682-4d71-983e-d6ec3f16059g", &g));
	CHECK(!guid_parse("{55c92734-d682-4d71-983e-d6ec3f16059f", &g));
}

TEST(product_words_match_word_by_word)
{
	CHECK(kms_name_rank("Windows 10/11 Pro", "windows 11 pro") == 0);
	CHECK(kms_name_rank("Windows 10/11 Pro", "Windows 10 Pro") == 0);
	CHECK(kms_name_rank("Windows 10/11 Pro N", "Windows 11 Pro") > 0);
	CHECK(kms_name_rank("Windows 10/11 Professional", "Pro") < 0); /* words, not fragments */
	CHECK(kms_name_rank("Office LTSC Professional Plus 2021", "Office 2021") <
	      kms_name_rank("Office LTSC Standard 2021", "Office 2021"));
	CHECK(kms_name_rank("anything", "") < 0);
	const kms_sku *best[4];
	CHECK(kms_skus_named(TABLE, "Office 2021", best, 4) > 4);
	CHECK_STR(best[0]->name, "Office LTSC Professional Plus 2021");
	size_t n;
	const kms_group *g = kms_group_select(TABLE, "Windows 11 Enterprise", &n);
	CHECK(g != NULL);
	CHECK_STR(g->name, "Windows 10/11 2015 (Volume)");
	CHECK(kms_group_select(TABLE, "Office 2019", &n) != NULL);
	CHECK(kms_group_select(TABLE, "Windows", &n) == NULL && n > 1);
	CHECK(kms_group_select(TABLE, "no such thing", &n) == NULL && n == 0);
}

#include "kms/product_data.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[1 << 21];
	*len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

static void count_warning(void *ctx, const char *message)
{
	(void)message;
	(*(unsigned *)ctx)++;
}

/* The run-time parser is the build-time generator's: the data file read at
 * run time gives the table compiled in, entry for entry. */
TEST(product_data_read_at_run_time_equals_the_built_in_table)
{
	size_t len;
	char *xml = slurp("data/KmsDataBase.xml", &len);
	CHECK(xml != NULL);
	char err[300];
	unsigned warnings = 0;
	kms_product_data *d = kms_product_data_read(xml, len, count_warning, &warnings, err,
						    sizeof err);
	CHECK(d != NULL);
	const kms_products *r = kms_product_data_table(d);
	CHECK_EQ(r->n_apps, TABLE->n_apps);
	CHECK_EQ(r->n_groups, TABLE->n_groups);
	CHECK_EQ(r->n_skus, TABLE->n_skus);
	CHECK_EQ(r->n_csvlks, TABLE->n_csvlks);
	CHECK_EQ(r->n_epid_builds, TABLE->n_epid_builds);
	CHECK_EQ(warnings, kms_product_data_warnings(d));
	CHECK(warnings > 0); /* the file's known broken entries */
	for (size_t i = 0; i < TABLE->n_skus; i++) {
		CHECK(guid_cmp(&r->skus[i].id, &TABLE->skus[i].id) == 0);
		CHECK_STR(r->skus[i].name, TABLE->skus[i].name);
		CHECK_EQ(r->skus[i].group, TABLE->skus[i].group);
	}
	for (size_t i = 0; i < TABLE->n_groups; i++)
		CHECK_EQ(r->groups[i].csvlk, TABLE->groups[i].csvlk);
	CHECK(kms_group_find(r, &TABLE->groups[3].id) == &r->groups[3]);
	kms_product_data_free(d);

	CHECK(kms_product_data_read("<KmsData><AppItems>", 19, NULL, NULL, err, sizeof err) ==
	      NULL);
	CHECK(strstr(err, "XML") != NULL);
	CHECK(kms_product_data_read("<Other/>", 8, NULL, NULL, err, sizeof err) == NULL);
	CHECK(strstr(err, "KmsData") != NULL);
	CHECK(kms_product_data_read("<KmsData/>", 10, NULL, NULL, err, sizeof err) == NULL);
	CHECK(strstr(err, "empty") != NULL);
}
