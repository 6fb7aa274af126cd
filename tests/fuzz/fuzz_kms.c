/* libFuzzer target: KMS message decoding on both sides. The input is taken
 * as a request (host side, every version) and as a response to a fixed
 * client secret of each version (client side). */
#include <string.h>

#include "kms/kms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kms_request req;
	kms_request_secret rs;
	if (kms_request_decode(data, size, &req, &rs) == KMS_OK) {
		uint8_t out[KMS_MAX_RESPONSE_LEN], random[KMS_RANDOM_LEN] = { 1 };
		size_t n;
		kms_answer a = { .epid = "03612-00206-568-381813-03-1033-17763.0000-2652018",
				 .count = 50 };
		kms_response_encode(&req, &rs, &a, random, out, sizeof out, &n);
	}
	for (uint16_t major = 4; major <= 6; major++) {
		kms_client_secret cs;
		memset(&cs, 0x5a, sizeof cs);
		cs.major = major;
		cs.minor = 0;
		kms_response resp;
		kms_verdict v;
		kms_response_verify(&cs, data, size, &resp, &v);
	}
	return 0;
}
