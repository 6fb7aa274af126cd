/* The host's answer to what a client sends, one PDU at a time
 * (docs/protocol.md §1): binds are negotiated, requests answered or
 * refused, anything malformed gets a bind_nak or a fault, or closes the
 * association.
 *
 * A pure step: the association's state, the host's settings and the bytes
 * in; the answer PDUs and one outcome record out. No I/O, no clock, no
 * globals, no allocation, no logging: the caller supplies the time and
 * the random bytes a response needs, sends what was written and accounts
 * for the outcome (account.h). The one side effect is the client count,
 * which is part of deciding the answer (host_answer). */
#ifndef KMSD_SERVER_ANSWER_H
#define KMSD_SERVER_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/rpc.h"
#include "server/client_count.h"
#include "server/host.h"
#include "server/metrics.h"

/* One association: what its binds negotiated, and a fragmented request
 * being collected. Zero-initialise, then set assoc_group and port. */
typedef struct answer_assoc {
	rpc_contexts contexts;
	rpc_call_assembly call;
	bool bound;                   /* a bind was acknowledged */
	uint32_t assoc_group;         /* the host's until a bind names one */
	char port[8];                 /* listening port: bind_ack's secondary address */
} answer_assoc;

/* What the answer may use beyond the association. */
typedef struct answer_host {
	const host_settings *settings;
	client_count *counter;        /* NULL: nothing is counted */
	/* for a request (answer_needs_time) */
	int64_t now;                  /* Unix seconds */
	const uint8_t *random;        /* KMS_RANDOM_LEN fresh bytes, NULL if none */
	/* RPC_MAX_CALL_STUB bytes where the stub of a fragmented call is
	 * collected: may be the start of the caller's input (answer_held) */
	uint8_t *stub_store;
} answer_host;

enum answer_kind {
	ANSWER_INCOMPLETE,            /* the PDU is not whole yet: nothing used */
	ANSWER_BOUND,                 /* bind or alter_context acknowledged */
	ANSWER_REJECTED,              /* bind_nak, fault, or a close: see reject */
	ANSWER_COLLECTED,             /* a fragment of a call, kept for its last one */
	ANSWER_REQUEST,               /* a KMS request answered, or refused: see act */
	ANSWER_ORPHANED,              /* the client gave up a call */
	ANSWER_CANCELLED,             /* co_cancel: nothing to cancel */
};

/* What happened to one PDU: all the log line, the metrics and the store
 * need, once. */
typedef struct answer_outcome {
	enum answer_kind kind;
	size_t used;                  /* input bytes taken (the PDU's length) */
	size_t written;               /* output bytes appended */
	bool close;                   /* close once `written` is sent */
	uint32_t call_id;
	/* ANSWER_REJECTED */
	enum metrics_reject reject;
	char what[48];                /* e.g. "unknown context" */
	char detail[64];              /* more of it, or "" */
	uint16_t nak_reason;          /* the bind_nak's reason, if one was sent */
	uint32_t fault_status;        /* the fault's status, if one was sent */
	/* an answer the host could not encode (the association closes):
	 * which, and why */
	const char *unsent;           /* "bind_ack", "response" or NULL */
	rpc_err unsent_error;
	/* ANSWER_REQUEST */
	uint16_t context_id;
	rpc_syntax_kind syntax;
	host_activation act;
} answer_outcome;

/* Answer the PDU at the start of in[avail], appending at most cap bytes
 * to out. Never fails: everything is in the outcome. */
void answer_pdu(answer_assoc *a, const answer_host *h, const uint8_t *in, size_t avail,
		uint8_t *out, size_t cap, answer_outcome *o);

/* Whether answering the PDU at in[avail] may need answer_host's time and
 * random bytes (a request): a caller may skip reading them for others. */
static inline bool answer_needs_time(const uint8_t *in, size_t avail)
{
	return avail > 2 && in[2] == RPC_REQUEST;
}

/* Bytes of a fragmented call held in stub_store: a caller that keeps them
 * at the start of its input buffer frames PDUs after them. */
static inline size_t answer_held(const answer_assoc *a)
{
	return a->call.active ? a->call.stub_len : 0;
}

#endif
