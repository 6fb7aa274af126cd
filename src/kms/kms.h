/* KMS request and response messages, versions 4, 5 and 6.
 *
 * Host side:   kms_request_decode() -> (kms_decide(), see policy.h) ->
 *              kms_response_encode()
 * Client side: kms_request_encode() -> kms_response_verify()
 *
 * Pure functions on byte buffers: the caller supplies every random byte, so
 * tests are deterministic and the codec does no I/O and no allocation.
 * Layouts and checks follow docs/protocol.md §2 to §4. */
#ifndef KMSD_KMS_KMS_H
#define KMSD_KMS_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guid.h"

#define KMS_REQUEST_BASE_LEN 236
#define KMS_V4_REQUEST_LEN 252        /* base + MAC */
#define KMS_V5_REQUEST_LEN 260        /* version + IV + encrypted(base + 4 bytes padding) */
#define KMS_WORKSTATION_UNITS 64
#define KMS_EPID_MAX_UNITS 64         /* including the NUL */
#define KMS_HWID_LEN 8
/* the largest response: V6 with a 64-unit ePID, padded */
#define KMS_MAX_RESPONSE_LEN 304
#define KMS_RANDOM_LEN 32             /* random bytes a response needs: R, then the V6 IV */

/* HRESULTs a host answers with when it refuses. */
#define KMS_HR_INVALID_DATA 0x8007000Du     /* malformed request, bad N policy */
#define KMS_HR_NOT_LICENSED 0xC004F042u     /* product not served by this host */
#define KMS_HR_TIME_OUT_OF_RANGE 0xC004F06Cu
#define KMS_HR_COUNT_TOO_LOW 0xC004F038u    /* a client's own verdict, for messages */

typedef enum kms_err {
	KMS_OK = 0,
	KMS_ERR_SHORT,          /* shorter than the version field */
	KMS_ERR_VERSION,        /* major version not 4, 5 or 6 */
	KMS_ERR_SIZE,           /* size wrong for the version */
	KMS_ERR_MAC,            /* V4 MAC does not match */
	KMS_ERR_PADDING,        /* V5/V6 padding malformed after decryption */
	KMS_ERR_EPID,           /* ePID empty, too long or not NUL-terminated */
	KMS_ERR_NO_SPACE,       /* output buffer too small */
	KMS_ERR_VERIFY,         /* client: a check failed, see kms_verdict */
	KMS_ERR_CRYPTO,         /* libcrypto failed */
} kms_err;

const char *kms_strerror(kms_err e);

typedef struct kms_request {
	uint16_t minor;
	uint16_t major;
	uint32_t vm_info;
	uint32_t license_status;
	uint32_t binding_expiration;  /* minutes */
	kms_guid app_id;
	kms_guid sku_id;
	kms_guid kms_id;
	kms_guid cmid;
	uint32_t n_policy;
	uint64_t client_time;         /* FILETIME */
	kms_guid previous_cmid;
	uint16_t workstation[KMS_WORKSTATION_UNITS];
} kms_request;

/* What the host keeps from decoding a request to answer it. */
typedef struct kms_request_secret {
	uint16_t major, minor;
	uint8_t iv[16];               /* V5/V6: the IV as sent */
	uint8_t decrypted_iv[16];     /* V5/V6: the IV block decrypted under the version key */
} kms_request_secret;

/* The activation and renewal intervals Microsoft's host can be set to
 * (slmgr /sai, /sri): 15 minutes to 30 days. */
#define KMS_INTERVAL_MIN 15u
#define KMS_INTERVAL_MAX 43200u
static inline bool kms_interval_valid(uint32_t minutes)
{
	return minutes >= KMS_INTERVAL_MIN && minutes <= KMS_INTERVAL_MAX;
}

/* What the host answers. */
typedef struct kms_answer {
	const char *epid;             /* ASCII, at most KMS_EPID_MAX_UNITS - 1 characters */
	uint32_t count;
	uint32_t activation_interval; /* minutes */
	uint32_t renewal_interval;    /* minutes */
	uint8_t hwid[KMS_HWID_LEN];
} kms_answer;

/* A response as the client decoded it: every field, for display and checks. */
typedef struct kms_response {
	uint16_t minor, major;        /* inside the message (the clear copy is checked) */
	uint32_t epid_size;           /* bytes, as declared */
	uint16_t epid[KMS_EPID_MAX_UNITS];
	kms_guid cmid;
	uint64_t client_time;
	uint32_t count;
	uint32_t activation_interval;
	uint32_t renewal_interval;
	uint8_t iv[16];               /* V5: as sent; V6: the decrypted fresh IV */
	uint8_t random_xored_ivs[16];
	uint8_t hash[32];
	uint8_t hwid[KMS_HWID_LEN];
	uint8_t xored_ivs[16];
	uint8_t hmac[16];
	uint8_t mac[16];              /* V4 */
	uint8_t pad_len;
	size_t size;
} kms_response;

/* What the client keeps from building a request to verify the answer. */
typedef struct kms_client_secret {
	uint16_t major, minor;
	uint8_t iv[16];
	uint8_t decrypted_iv[16];
	kms_guid cmid;
	uint64_t client_time;
} kms_client_secret;

/* The checks a client makes on a response, in the order it makes them. */
enum kms_check {
	KMS_CHECK_SIZE,         /* exact size for the ePID length, padding included */
	KMS_CHECK_VERSION,      /* clear and inner versions equal the request's */
	KMS_CHECK_EPID,         /* declared size even, 2..128, ends in NUL, no NUL before */
	KMS_CHECK_CMID,         /* echo */
	KMS_CHECK_TIME,         /* echo */
	KMS_CHECK_MAC,          /* V4 */
	KMS_CHECK_PADDING,      /* V5/V6 PKCS#7 */
	KMS_CHECK_IV,           /* V5: equal to the request's; V6: different from it */
	KMS_CHECK_HASH,         /* SHA-256(RandomXoredIVs ^ decrypted IV) */
	KMS_CHECK_XORED_IVS,    /* V6: equal to the decrypted request IV */
	KMS_CHECK_HMAC,         /* V6, time slot -1, 0 or +1 */
	KMS_CHECK_COUNT_
};

typedef struct kms_verdict {
	uint32_t ran;           /* bit (1 << kms_check) for each check made */
	uint32_t failed;        /* bit for each check that failed */
} kms_verdict;

const char *kms_check_name(enum kms_check c);

/* ---- host ------------------------------------------------------------- */

/* Decode and verify a request (V4: MAC; V5/V6: decrypt, padding). */
kms_err kms_request_decode(const uint8_t *msg, size_t len, kms_request *req,
			   kms_request_secret *secret);

/* Build the response. random: KMS_RANDOM_LEN fresh bytes. Returns
 * KMS_ERR_EPID for an empty or too long ePID. `out` may not overlap msg. */
kms_err kms_response_encode(const kms_request *req, const kms_request_secret *secret,
			    const kms_answer *answer, const uint8_t random[KMS_RANDOM_LEN],
			    uint8_t *out, size_t cap, size_t *len);

/* ---- client ----------------------------------------------------------- */

/* Build a request in req->major's format (V5/V6 encrypted under `iv`). */
kms_err kms_request_encode(const kms_request *req, const uint8_t iv[16], uint8_t *out,
			   size_t cap, size_t *len, kms_client_secret *secret);

/* Decode a response and make every check. KMS_OK only when all pass;
 * KMS_ERR_VERIFY with *verdict telling which failed; other errors when the
 * message could not be decoded at all (fields decoded so far are kept). */
kms_err kms_response_verify(const kms_client_secret *secret, const uint8_t *msg, size_t len,
			    kms_response *resp, kms_verdict *verdict);

/* ---- helpers ---------------------------------------------------------- */

/* FILETIME (100 ns since 1601) <-> Unix seconds. */
uint64_t kms_filetime_from_unix(int64_t seconds);
int64_t kms_unix_from_filetime(uint64_t filetime);

/* UTF-16 workstation/ePID units to UTF-8 (invalid units become '?'),
 * always NUL-terminated; returns the length written. */
size_t kms_utf16_to_utf8(const uint16_t *units, size_t n_units, char *out, size_t cap);
/* The most bytes kms_utf16_to_utf8 writes for n units, NUL included. */
#define KMS_UTF8_MAX(n_units) (3 * (n_units) + 1)
/* Copy kms_utf16_to_utf8's output into a smaller out[cap], cut where that
 * function would have cut with this cap: before the first character that
 * does not fit. Returns the length written. */
size_t kms_utf8_copy(char *out, size_t cap, const char *utf8);
/* UTF-8 to NUL-padded UTF-16 units (at most n_units - 1 characters). */
void kms_utf8_to_utf16(const char *s, uint16_t *units, size_t n_units);

#endif
