/* The generated product table: every SKU resolves to a group and a usable
 * CSVLK, lookups work and reject unknown ids, the traps in the data file
 * were handled. */
#include <string.h>

#include "check.h"
#include "kms/products.h"

static const kms_products *t = &kms_product_table;

static const kms_group *group_of(const char *id)
{
	kms_guid g;
	return guid_parse(id, &g) ? kms_group_find(t, &g) : NULL;
}

static bool csvlk_usable(const kms_csvlk *c)
{
	if (c->group_id == 0 || c->min_key_id > c->max_key_id)
		return false;
	for (size_t i = 0; i < t->n_epid_builds; i++)
		if (kms_csvlk_allows_build(t, c, &t->builds[t->epid_builds[i]]))
			return true;
	return false;
}

TEST(products_table_sizes)
{
	CHECK_EQ(t->n_apps, 3);
	CHECK(t->n_groups >= 30);
	CHECK(t->n_skus >= 250);
	CHECK(t->n_csvlks >= 40);
	CHECK(t->n_builds >= 30);
}

TEST(products_every_sku_resolves_to_group_and_usable_csvlk)
{
	for (size_t i = 0; i < t->n_skus; i++) {
		const kms_sku *s = kms_sku_find(t, &t->skus[i].id);
		CHECK(s == &t->skus[i]);
		CHECK(s->group < t->n_groups);
		const kms_group *g = &t->groups[s->group];
		CHECK(g->csvlk < t->n_csvlks);
		CHECK(csvlk_usable(&t->csvlks[g->csvlk]));
		CHECK(s->gvlk == NULL || strlen(s->gvlk) == 29);
	}
}

TEST(products_every_group_has_usable_csvlk_that_activates_it_when_listed)
{
	for (size_t i = 0; i < t->n_groups; i++) {
		const kms_group *g = &t->groups[i];
		CHECK(g == kms_group_find(t, &g->id));
		CHECK(g->csvlk != KMS_NO_INDEX);
		const kms_csvlk *c = &t->csvlks[g->csvlk];
		CHECK(csvlk_usable(c));
		/* if any CSVLK lists the group, the chosen one does */
		bool listed = false;
		for (size_t k = 0; k < t->n_csvlks; k++)
			listed |= kms_csvlk_activates(t, &t->csvlks[k], g);
		if (listed)
			CHECK(kms_csvlk_activates(t, c, g));
		CHECK(g->n_policy == 5 || g->n_policy == 25);
		CHECK(g->protocol >= 4 && g->protocol <= 6);
		CHECK(g->app < t->n_apps);
	}
}

TEST(products_recorded_products)
{
	kms_guid id;
	CHECK(guid_parse("73111121-5638-40f6-bc11-f1d7b0d64300", &id));
	const kms_sku *s = kms_sku_find(t, &id);
	CHECK(s != NULL);
	CHECK_STR(s->name, "Windows 10/11 Enterprise");
	CHECK_STR(s->gvlk, "NPPR9-FWDCX-D2C8J-H872K-2YT43");
	const kms_group *g = &t->groups[s->group];
	CHECK(g == group_of("58e2134f-8e11-4d17-9cb2-91069c151148"));
	CHECK_EQ(g->n_policy, 25);
	CHECK_EQ(g->protocol, 6);
	CHECK_STR(t->apps[g->app].name, "Windows");

	CHECK(guid_parse("6f327760-8c5c-417c-9b61-836a98287e0c", &id));
	s = kms_sku_find(t, &id);
	CHECK(s != NULL);
	g = &t->groups[s->group];
	CHECK(g == group_of("e85af946-2e25-47b7-83e1-bebcebeac611"));
	CHECK_EQ(g->n_policy, 5);
	CHECK_EQ(g->protocol, 4);
	CHECK(guid_parse("59a52881-a989-479d-af46-f275c6370663", &id));
	CHECK(&t->apps[g->app] == kms_app_find(t, &id));
}

TEST(products_data_file_traps)
{
	/* Office 2024 spells the protocol attribute DefaultKmsprotocol */
	const kms_group *g = group_of("1b4db7eb-4057-5ddf-91e0-36dec72071f5");
	CHECK(g != NULL);
	CHECK_EQ(g->protocol, 6);
	/* Windows Server 2022's KMS id is listed by no CSVLK: it still gets one */
	g = group_of("b74263e4-0f92-46c6-bcf8-c11d5efe2959");
	CHECK(g != NULL);
	CHECK(csvlk_usable(&t->csvlks[g->csvlk]));
	/* the Office 2013 pre-release group's only CSVLK is empty: skipped */
	g = group_of("aa4c7968-b9da-4680-92b6-acb25e2f866c");
	CHECK(g != NULL);
	CHECK(csvlk_usable(&t->csvlks[g->csvlk]));
	for (size_t i = 0; i < t->n_csvlks; i++) {
		CHECK(t->csvlks[i].group_id != 0);
		CHECK(!guid_is_zero(&t->csvlks[i].id));
		for (size_t k = 0; k < i; k++)
			CHECK(guid_cmp(&t->csvlks[i].id, &t->csvlks[k].id) != 0);
	}
	/* retail and preview flags came through */
	CHECK(group_of("e1c51358-fe3e-4203-a4a2-3b6b20c9734e")->retail);
	CHECK(group_of("6d5f5270-31ac-433e-b90a-39892923c657")->preview);
}

TEST(products_epid_build_list)
{
	static const uint32_t want[] = { 6002, 7601, 9200, 9600, 14393, 17763, 20348, 26100 };
	CHECK_EQ(t->n_epid_builds, 8);
	for (size_t i = 0; i < 8; i++)
		CHECK_EQ(t->builds[t->epid_builds[i]].build, want[i]);
	const kms_build *b = kms_build_find(t, 9600);
	CHECK(b != NULL);
	CHECK_EQ(b->platform_id, 6401);
	CHECK(b->ndr64);
	CHECK(!kms_build_find(t, 6002)->ndr64);
	CHECK(kms_build_find(t, 1) == NULL);
	/* Server 2025's key may not live on 6002, 7601 or 9200 */
	kms_guid id;
	CHECK(guid_parse("84e331f6-4279-48c4-ab10-b75139181351", &id));
	const kms_csvlk *c = kms_csvlk_find(t, &id);
	CHECK(c != NULL);
	CHECK(!kms_csvlk_allows_build(t, c, kms_build_find(t, 7601)));
	CHECK(kms_csvlk_allows_build(t, c, kms_build_find(t, 26100)));
}

TEST(products_index_arrays_sorted_and_unknown_ids)
{
	for (size_t i = 1; i < t->n_skus; i++)
		CHECK(guid_cmp(&t->skus[t->skus_by_id[i - 1]].id, &t->skus[t->skus_by_id[i]].id) < 0);
	for (size_t i = 1; i < t->n_groups; i++)
		CHECK(guid_cmp(&t->groups[t->groups_by_id[i - 1]].id,
			       &t->groups[t->groups_by_id[i]].id) < 0);
	for (size_t i = 1; i < t->n_csvlks; i++)
		CHECK(guid_cmp(&t->csvlks[t->csvlks_by_id[i - 1]].id,
			       &t->csvlks[t->csvlks_by_id[i]].id) < 0);
	kms_guid unknown;
	CHECK(guid_parse("01234567-89ab-cdef-0123-456789abcdef", &unknown));
	CHECK(kms_sku_find(t, &unknown) == NULL);
	CHECK(kms_group_find(t, &unknown) == NULL);
	CHECK(kms_app_find(t, &unknown) == NULL);
	CHECK(kms_csvlk_find(t, &unknown) == NULL);
	kms_guid zero = { { 0 } }, ones;
	memset(ones.b, 0xff, 16);
	CHECK(kms_sku_find(t, &zero) == NULL);
	CHECK(kms_sku_find(t, &ones) == NULL);
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
