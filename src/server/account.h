/* Accounting for what the answerer did (answer.h), in one step per PDU:
 * the log line, the metrics, the store record. The answer is decided
 * before any of them runs, and none of them changes it. */
#ifndef KMSD_SERVER_ACCOUNT_H
#define KMSD_SERVER_ACCOUNT_H

#include <stdint.h>

#include "server/answer.h"
#include "server/server.h"

/* Account for one outcome of the client at `peer` ("address:port");
 * `latency_ns`: from the whole PDU to its answer built. Never waits for
 * the disk (the store queues). */
void account_outcome(server *srv, const char *peer, const answer_outcome *o,
		     uint64_t latency_ns);

#endif
