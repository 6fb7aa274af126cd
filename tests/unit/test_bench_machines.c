/* kmsc bench's client machine ids: stable, distinct, and spread over the
 * key space as real clients' random GUIDs are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guid.h"
#include "check.h"
#include "client/client.h"

#define MACHINES 65536

static int guid_order(const void *a, const void *b)
{
	return guid_cmp(a, b);
}

TEST(bench_machine_ids_are_distinct_and_well_formed)
{
	kms_guid *ids = malloc(MACHINES * sizeof *ids);
	CHECK(ids != NULL);
	if (!ids)
		return;
	for (uint64_t m = 0; m < MACHINES; m++) {
		bench_machine_cmid(m, &ids[m]);
		CHECK_EQ(ids[m].b[7] >> 4, 8);     /* version 8 */
		CHECK_EQ(ids[m].b[8] >> 6, 2);     /* the RFC 9562 variant */
	}
	qsort(ids, MACHINES, sizeof *ids, guid_order);
	size_t same = 0;
	for (size_t i = 1; i < MACHINES; i++)
		same += guid_cmp(&ids[i - 1], &ids[i]) == 0;
	CHECK_EQ(same, 0);
	free(ids);
}

/* An index orders ids from their first byte: consecutive machines must
 * land all over it, not side by side. */
TEST(bench_machine_ids_spread_from_their_first_byte)
{
	bool first_byte[256] = { false };
	int seen = 0;
	for (uint64_t m = 1000; m < 1512; m++) {
		kms_guid g;
		bench_machine_cmid(m, &g);
		seen += !first_byte[g.b[0]];
		first_byte[g.b[0]] = true;
	}
	/* 512 random bytes cover about 221 of 256 values */
	CHECK(seen > 190);
}

/* Runs of kmsc bench against one host reuse the same machines, so the id
 * of a number must not change between versions of kmsc. */
TEST(bench_machine_ids_stay_the_same)
{
	kms_guid g;
	bench_machine_cmid(0, &g);
	char text[GUID_TEXT_LEN];
	guid_format(&g, text);
	CHECK_STR(text, "7b1dcdaf-a839-8d20-bee2-deb2b614f280");
}

/* Names: bench-H-N.kmsc.example (what kmsc forget --bench matches), the
 * number readable, consecutive machines spread over the name index. */
TEST(bench_machine_names_carry_the_number_and_spread)
{
	char name[48];
	bench_machine_name(0, name, sizeof name);
	CHECK_STR(name, "bench-e220a8-0.kmsc.example");
	bool first_digit[16] = { false };
	int seen = 0;
	for (uint64_t m = 1000; m < 1064; m++) {
		bench_machine_name(m, name, sizeof name);
		CHECK(strncmp(name, "bench-", 6) == 0);
		char want[32];
		snprintf(want, sizeof want, "-%llu.kmsc.example", (unsigned long long)m);
		CHECK_STR(name + 12, want);
		int d = name[6] <= '9' ? name[6] - '0' : name[6] - 'a' + 10;
		CHECK(d >= 0 && d < 16);
		seen += !first_digit[d];
		first_digit[d] = true;
	}
	/* 64 random hex digits cover about 15.8 of 16 values */
	CHECK(seen >= 13);
}
