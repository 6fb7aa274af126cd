/* kms-hostloop: answer the same request N times with the host's code, for
 * counting instructions per activation under callgrind:
 *
 *   valgrind --tool=callgrind kms-hostloop VERSION N
 *
 * The difference between two runs with different N, divided by the
 * difference in N, is the cost of one answer (decrypt or MAC check, the
 * decision, response build and encryption, HMAC) without start-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "kms/kms.h"
#include "server/host.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: kms-hostloop 4|5|6 N\n");
		return 2;
	}
	int version = atoi(argv[1]);
	long n = atol(argv[2]);
	kms_request req;
	memset(&req, 0, sizeof req);
	req.major = (uint16_t)version;
	guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &req.app_id);
	guid_parse("73111121-5638-40f6-bc11-f1d7b0d64300", &req.sku_id);
	guid_parse("58e2134f-8e11-4d17-9cb2-91069c151148", &req.kms_id);
	guid_parse("0a1b2c3d-4e5f-4607-8899-aabbccddeeff", &req.cmid);
	req.n_policy = 25;
	req.client_time = kms_filetime_from_unix(1795000000);
	uint8_t iv[16] = { 1, 2, 3 }, msg[KMS_V5_REQUEST_LEN], out[KMS_MAX_RESPONSE_LEN];
	size_t len;
	kms_client_secret cs;
	if (kms_request_encode(&req, iv, msg, sizeof msg, &len, &cs) != KMS_OK)
		return 1;

	host_settings s;
	memset(&s, 0, sizeof s);
	kms_policy_defaults(&s.policy);
	s.activation_interval = 120;
	s.renewal_interval = 10080;
	if (!host_generate_epids(&s, 42, 0, true, 1033, 1795000000))
		return 1;
	client_count *counter = client_count_new(&kms_product_table, 30 * 86400, 2000);
	size_t answered = 0;
	uint8_t random[KMS_RANDOM_LEN];
	for (long i = 0; i < n; i++) {
		host_activation act;
		if (!random_bytes(random, sizeof random))
			return 1;
		answered += host_answer(&s, counter, msg, len, 1795000000, random, out, sizeof out,
					&act) > 0;
	}
	printf("%zu answers\n", answered);
	client_count_free(counter);
	host_settings_free(&s);
	return answered == (size_t)n ? 0 : 1;
}
