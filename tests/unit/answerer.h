/* The host's answerer (server/answer.h) for unit tests: a fixture host
 * and a byte stream fed through it the way a connection does. */
#ifndef KMSD_TESTS_ANSWERER_H
#define KMSD_TESTS_ANSWERER_H

#include <stddef.h>
#include <stdint.h>

#include "server/answer.h"

/* Settings that answer every product of the table with one ePID and
 * HwId, counting `always`, NDR64 and BTFN accepted; free with
 * host_settings_free. False on allocation failure. */
bool fixture_host(host_settings *s, const char *epid, const uint8_t hwid[KMS_HWID_LEN]);

/* A fresh association on port 1688 with host's assoc group 0x10001. */
void fixture_assoc(answer_assoc *a);

/* Feed in[len] PDU after PDU, appending the answers to out[cap] until
 * the answerer closes or the bytes run out; up to max outcomes are kept
 * in outcomes[] (each request's random bytes: `random`). Returns the
 * number of outcomes, *written the bytes appended. */
size_t feed(answer_assoc *a, const answer_host *h, const uint8_t *in, size_t len, uint8_t *out,
	    size_t cap, size_t *written, answer_outcome *outcomes, size_t max);

/* What a client makes of a response PDU: true if it answers with a KMS
 * response that passes every check the client runs, read into *kr. */
bool client_accepts(const uint8_t *pdu, size_t len, rpc_syntax_kind syntax,
		    const kms_client_secret *cs, kms_response *kr);

#endif
