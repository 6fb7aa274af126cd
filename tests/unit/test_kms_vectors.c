/* Known-answer tests: every recorded conversation decodes to the fields
 * its client reported, every recorded host answer passes every client
 * check, and our host's answer to every recorded request does too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "crypto/crypto.h"
#include "kms/kms.h"
#include "kms/products.h"
#include "vectors.h"

static bool guid_field(const char *name, const char *label, kms_guid *g)
{
	char text[160];
	if (!vector_txt_field(name, label, text, sizeof text))
		return false;
	text[36] = 0; /* drop the " (product name)" that follows */
	return guid_parse(text, g);
}

static void format_filetime(uint64_t ft, char *out, size_t len)
{
	time_t t = (time_t)kms_unix_from_filetime(ft);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

TEST(kms_vectors_requests_match_client_reports)
{
	char names[MAX_VECTORS][96];
	int n = vector_list(names, MAX_VECTORS);
	CHECK(n >= 18);
	for (int i = 0; i < n; i++) {
		const char *name = names[i];
		conversation c;
		CHECK(conversation_load(name, &c));
		const kms_request *r = &c.request;
		char text[160], want[160];
		kms_guid g;

		snprintf(text, sizeof text, "%u.%u", r->major, r->minor);
		CHECK(vector_txt_field(name, "Protocol version", want, sizeof want));
		CHECK_STR(text, want);
		CHECK(guid_field(name, "Application ID", &g) && guid_cmp(&g, &r->app_id) == 0);
		CHECK(guid_field(name, "SKU ID", &g) && guid_cmp(&g, &r->sku_id) == 0);
		CHECK(guid_field(name, "KMS ID", &g) && guid_cmp(&g, &r->kms_id) == 0);
		CHECK(guid_field(name, "Client machine ID", &g) && guid_cmp(&g, &r->cmid) == 0);
		CHECK(guid_field(name, "Previous client machine ID", &g) &&
		      guid_cmp(&g, &r->previous_cmid) == 0);
		format_filetime(r->client_time, text, sizeof text);
		CHECK(vector_txt_field(name, "Client request timestamp", want, sizeof want));
		CHECK_STR(text, want);
		kms_utf16_to_utf8(r->workstation, KMS_WORKSTATION_UNITS, text, sizeof text);
		CHECK(vector_txt_field(name, "Workstation name", want, sizeof want));
		CHECK_STR(text, want);
		CHECK(vector_txt_field(name, "N count policy", want, sizeof want));
		CHECK_EQ(r->n_policy, atoi(want));
		CHECK(vector_txt_field(name, "Licensing status", want, sizeof want));
		CHECK_EQ(r->license_status, atoi(want));

		/* the product table knows every recorded product */
		const kms_sku *sku = kms_sku_find(&kms_product_table, &r->sku_id);
		CHECK(sku != NULL);
		CHECK(guid_cmp(&kms_product_table.groups[sku->group].id, &r->kms_id) == 0);
		conversation_free(&c);
	}
}

TEST(kms_vectors_recorded_answers_pass_every_check)
{
	char names[MAX_VECTORS][96];
	int n = vector_list(names, MAX_VECTORS);
	for (int i = 0; i < n; i++) {
		const char *name = names[i];
		conversation c;
		CHECK(conversation_load(name, &c));
		kms_response resp;
		kms_verdict v;
		kms_err e = kms_response_verify(&c.client, c.response_msg, c.response_len, &resp, &v);
		if (e != KMS_OK)
			printf("  %s: %s, failed checks 0x%x\n", name, kms_strerror(e), v.failed);
		CHECK_EQ(e, KMS_OK);
		uint32_t expected = (1u << KMS_CHECK_SIZE) | (1u << KMS_CHECK_VERSION) |
				    (1u << KMS_CHECK_EPID) | (1u << KMS_CHECK_CMID) |
				    (1u << KMS_CHECK_TIME);
		if (c.client.major == 4)
			expected |= 1u << KMS_CHECK_MAC;
		else
			expected |= (1u << KMS_CHECK_PADDING) | (1u << KMS_CHECK_IV) |
				    (1u << KMS_CHECK_HASH);
		if (c.client.major == 6)
			expected |= (1u << KMS_CHECK_XORED_IVS) | (1u << KMS_CHECK_HMAC);
		CHECK_EQ(v.ran, expected);

		char text[160], want[160];
		kms_utf16_to_utf8(resp.epid, KMS_EPID_MAX_UNITS, text, sizeof text);
		CHECK(vector_txt_field(name, "KMS host extended PID", want, sizeof want));
		CHECK_STR(text, want);
		CHECK(vector_txt_field(name, "KMS host current active clients", want, sizeof want));
		CHECK_EQ(resp.count, atoi(want));
		CHECK(vector_txt_field(name, "Renewal interval policy", want, sizeof want));
		CHECK_EQ(resp.renewal_interval, atoi(want));
		CHECK(vector_txt_field(name, "Activation interval policy", want, sizeof want));
		CHECK_EQ(resp.activation_interval, atoi(want));
		CHECK(vector_txt_field(name, "Size of KMS Response", want, sizeof want));
		CHECK_EQ(c.response_len, atoi(want));
		if (c.client.major == 6) {
			CHECK(vector_txt_field(name, "KMS host Hardware ID", want, sizeof want));
			snprintf(text, sizeof text, "%02X%02X%02X%02X%02X%02X%02X%02X", resp.hwid[0],
				 resp.hwid[1], resp.hwid[2], resp.hwid[3], resp.hwid[4], resp.hwid[5],
				 resp.hwid[6], resp.hwid[7]);
			CHECK_STR(text, want);
		}
		conversation_free(&c);
	}
}

TEST(kms_vectors_our_answers_pass_every_check)
{
	char names[MAX_VECTORS][96];
	int n = vector_list(names, MAX_VECTORS);
	for (int i = 0; i < n; i++) {
		conversation c;
		CHECK(conversation_load(names[i], &c));
		kms_answer a = { .epid = "06401-00206-271-298329-03-1033-9600.0000-0452017",
				 .count = 2 * c.request.n_policy, .activation_interval = 120,
				 .renewal_interval = 10080,
				 .hwid = { 0x3A, 0x1C, 0x04, 0x96, 0x00, 0xB6, 0x00, 0x76 } };
		uint8_t random[KMS_RANDOM_LEN], out[KMS_MAX_RESPONSE_LEN];
		size_t len;
		test_seeded_bytes(random, sizeof random);
		CHECK_EQ(kms_response_encode(&c.request, &c.secret, &a, random, out, sizeof out, &len),
			 KMS_OK);
		kms_response resp;
		kms_verdict v;
		CHECK_EQ(kms_response_verify(&c.client, out, len, &resp, &v), KMS_OK);
		CHECK_EQ(resp.count, a.count);
		if (c.client.major == 5)
			CHECK_EQ(len, 212);
		else if (c.client.major == 6)
			CHECK_EQ(len, 260);
		else
			CHECK_EQ(len, 158);
		conversation_free(&c);
	}
}
