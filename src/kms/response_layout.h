/* The response base layout, shared by the host encoder and the client
 * verifier (private to the kms layer). */
#ifndef KMSD_KMS_RESPONSE_LAYOUT_H
#define KMSD_KMS_RESPONSE_LAYOUT_H

/* version, ePID size, then the ePID; after it: CMID, time, count, intervals */
#define RESPONSE_HEAD_LEN 8
#define RESPONSE_TAIL_LEN 36
/* V5 adds RandomXoredIVs and Hash; V6 adds those, HwId, XoredIVs and HMAC */
#define RESPONSE_V5_EXTRA (16 + 32)
#define RESPONSE_V6_EXTRA (16 + 32 + 8 + 16 + 16)

#endif
