/* kmsc activate internals: one connection to a host and what each request
 * on it earned, shared by the flow (activate.c), the wire work
 * (exchange.c) and the output (report.c). */
#ifndef KMSD_CLIENT_ACTIVATE_H
#define KMSD_CLIENT_ACTIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"
#include "kms/kms.h"
#include "rpc/rpc.h"

typedef struct activate_options {
	const kms_sku *sku;
	int version;                  /* 0: the product's own */
	rpc_client_options rpc;
	kms_guid cmid;
	bool fixed_cmid;
	kms_guid app_id, kms_id;      /* sent instead of the product's when set */
	bool fixed_app_id, fixed_kms_id;
	char workstation[128];
	long n_policy;                /* -1: the product's */
	int64_t time;                 /* 0: now */
	uint32_t license_status;
	int count;
	int stub_padding;             /* bytes after the message in the stub, as py-kms sends */
	int timeout_ms;
	bool json, verbose;
	const char *domain, *dns_server;
} activate_options;

typedef struct session {
	int fd;
	char host[256], port[8];
	char address[64];             /* connect here when set (from DNS), else to host */
	uint16_t context;             /* the accepted KMS context */
	rpc_syntax_kind syntax;
	uint32_t call_id;
} session;

/* How one request ended, from best to worst; each maps to an exit code. */
enum outcome {
	OUTCOME_VALID,                /* every check passed */
	OUTCOME_INVALID,              /* an answer came, a check failed */
	OUTCOME_REFUSED,              /* an HRESULT instead of an answer */
	OUTCOME_FAULT,                /* an RPC fault PDU */
	OUTCOME_PROTOCOL,             /* an answer that is not a well-formed PDU for the request */
	OUTCOME_NETWORK,              /* no answer at all */
};

typedef struct exchange {
	int number;                   /* 1-based on the connection */
	kms_request sent;
	enum outcome outcome;
	uint32_t status;              /* HRESULT or fault status */
	char error[256];              /* what went wrong below the KMS layer */
	bool answered;                /* a KMS message came and got verified */
	bool fell_back;               /* the host dropped NDR64: resent over NDR32 */
	kms_err verify_err;
	kms_response got;
	kms_verdict verdict;
} exchange;

int outcome_exit_code(enum outcome o);

/* Connect and bind; on success the session has its context and syntax.
 * Returns an exit code with a message in err. */
int session_open(session *s, const activate_options *o, char *err, size_t err_len);

/* Build, send and judge one request on an open session. */
void exchange_run(const activate_options *o, session *s, exchange *x);

void report_text(const activate_options *o, const session *s, const exchange *x);
void report_json(const activate_options *o, const session *s, const exchange *x);
void report_json_no_session(const session *s, int exit_code, const char *error);

void hexdump(const char *what, const uint8_t *p, size_t n);

#endif
