/* The host's answer takes its random bytes from the source its settings
 * name, so a test can replay an answer byte for byte. */
#include <string.h>

#include "check.h"
#include "kms/kms.h"
#include "server/host.h"

static uint8_t drawn[KMS_RANDOM_LEN];

/* the test's seeded stream, remembered for the replay */
static bool draw_and_keep(void *buf, size_t len)
{
	test_random(buf, len);
	memcpy(drawn, buf, len < sizeof drawn ? len : sizeof drawn);
	return true;
}

static bool replay(void *buf, size_t len)
{
	memcpy(buf, drawn, len < sizeof drawn ? len : sizeof drawn);
	return true;
}

TEST(host_answer_draws_from_the_settings_random_source)
{
	const int64_t now = 1795000000;
	kms_request req;
	memset(&req, 0, sizeof req);
	req.major = 6;
	req.license_status = 2;
	req.binding_expiration = 43200;
	guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &req.app_id);
	guid_parse("73111121-5638-40f6-bc11-f1d7b0d64300", &req.sku_id);
	guid_parse("58e2134f-8e11-4d17-9cb2-91069c151148", &req.kms_id);
	test_random(req.cmid.b, sizeof req.cmid.b);
	req.n_policy = 25;
	req.client_time = kms_filetime_from_unix(now);
	uint8_t iv[16], msg[KMS_V5_REQUEST_LEN];
	size_t len;
	kms_client_secret cs;
	test_random(iv, sizeof iv);
	CHECK_EQ(kms_request_encode(&req, iv, msg, sizeof msg, &len, &cs), KMS_OK);

	host_settings s;
	memset(&s, 0, sizeof s);
	kms_policy_defaults(&s.policy);
	s.activation_interval = 120;
	s.renewal_interval = 10080;
	CHECK(host_generate_epids(&s, test_random_below(1u << 30), 0, true, 1033, now) != 0);

	uint8_t first[KMS_MAX_RESPONSE_LEN], again[KMS_MAX_RESPONSE_LEN], other[KMS_MAX_RESPONSE_LEN];
	host_activation act;
	s.random = draw_and_keep;
	size_t n = host_answer(&s, NULL, msg, len, now, first, sizeof first, &act);
	s.random = replay;
	size_t n_again = host_answer(&s, NULL, msg, len, now, again, sizeof again, &act);
	s.random = test_random;
	size_t n_other = host_answer(&s, NULL, msg, len, now, other, sizeof other, &act);
	host_settings_free(&s);

	CHECK(n > 0);
	CHECK_EQ(n_again, n);
	CHECK_MEM(again, first, n);             /* the same bytes in, the same answer out */
	CHECK_EQ(n_other, n);
	CHECK(memcmp(other, first, n) != 0);    /* a new draw, a new answer */
	kms_response resp;
	kms_verdict v;
	CHECK_EQ(kms_response_verify(&cs, first, n, &resp, &v), KMS_OK);
}
