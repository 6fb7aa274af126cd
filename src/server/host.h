/* Answering KMS requests: decode, decide, pick the ePID, encode.
 *
 * host_settings is an immutable snapshot built from the configuration; a
 * reload builds a new one and swaps it in, so workers never see a half
 * updated policy. */
#ifndef KMSD_SERVER_HOST_H
#define KMSD_SERVER_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms/epid.h"
#include "kms/kms.h"
#include "kms/policy.h"
#include "rpc/rpc.h"
#include "server/client_count.h"

#define HOST_MAX_LISTED 64
#define HOST_MAX_EPID_OVERRIDES 32

typedef struct host_epid_override {
	kms_guid id;                  /* an application or a KMS id */
	char epid[KMS_EPID_TEXT_MAX];
} host_epid_override;

typedef struct host_settings {
	const kms_products *table;     /* the product table these settings were made for */
	kms_policy policy;
	kms_guid listed[HOST_MAX_LISTED];
	uint32_t activation_interval;  /* minutes */
	uint32_t renewal_interval;     /* minutes */
	uint8_t hwid[KMS_HWID_LEN];
	rpc_host_options rpc;
	host_epid_override overrides[HOST_MAX_EPID_OVERRIDES];
	size_t n_overrides;
	uint32_t build;                /* the host OS build every ePID carries */
	/* generated ePIDs, one per CSVLK of the product table */
	char (*epids)[KMS_EPID_TEXT_MAX];
} host_settings;

/* Generate the per-CSVLK ePIDs from a host seed, so they are stable for a
 * host across restarts without being the same on every host. Every ePID
 * the host can answer with carries one build (kms_host_build): `build`,
 * or with 0 one drawn from the seed among those every served key allows
 * and that match `ndr64`. Returns that build, 0 on allocation failure or
 * when no build fits. */
uint32_t host_generate_epids(host_settings *s, uint64_t seed, uint32_t build, bool ndr64,
			     uint32_t lcid, int64_t now);
void host_settings_free(host_settings *s);

/* What happened to one request, for the log line and the store. */
typedef struct host_activation {
	kms_request req;
	kms_err decode_error;          /* KMS_OK when the request decoded */
	kms_decision decision;
	uint32_t status;               /* 0 or the HRESULT answered */
	const char *epid;
} host_activation;

/* Answer one KMS message. Returns the response length written to out, or
 * 0 for a refusal with act->status set to the HRESULT to answer with. */
size_t host_answer(const host_settings *s, client_count *counter, const uint8_t *msg,
		   size_t len, int64_t now, uint8_t *out, size_t cap, host_activation *act);

/* The application pool a request counts in: its product group's
 * application, which a real host uses even if the client's app id field
 * disagrees; the request's own app id for unknown groups (the counter puts
 * every unknown application in one bounded bucket). */
const kms_guid *host_pool(const kms_products *t, const kms_request *req);

/* The ePID answered for a decision (for display and the store too). */
const char *host_epid_for(const host_settings *s, const kms_decision *d);

#endif
