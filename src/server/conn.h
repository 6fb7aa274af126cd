/* One client connection: its buffers and association, and the feeding of
 * the PDUs it sends to the answerer (answer.h). */
#ifndef KMSD_SERVER_CONN_H
#define KMSD_SERVER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/rpc.h"
#include "server/answer.h"
#include "server/server.h"

/* One whole PDU fits the input behind the stub of a call being collected
 * from fragments (kept at its start); the output holds a few answers, then
 * the connection stops being read until the client takes them. */
#define CONN_IN_CAP (RPC_MAX_CALL_STUB + RPC_MAX_PDU)
#define CONN_OUT_CAP RPC_MAX_PDU
/* room an answer to one PDU may need in the output buffer */
#define CONN_ANSWER_ROOM 1024

typedef struct conn {
	enum source_kind kind;        /* SOURCE_CONN; first member */
	int fd;                       /* -1 once closed (freed after the event batch) */
	peer_ref from;                /* its address's and prefix's entries */
	char peer[64];                /* "address:port" for logs */
	answer_assoc assoc;           /* contexts, a call in fragments, ... */
	size_t held;                  /* that call's stub, at the start of the input */
	uint8_t *buf;                 /* CONN_IN_CAP + CONN_OUT_CAP, NULL while idle */
	size_t in_len;
	size_t out_off, out_len;
	unsigned requests;
	int64_t last_active;          /* monotonic seconds */
	int64_t partial_since;        /* when the unfinished PDU in the input began */
	bool close_after_flush;
	bool writing;                 /* EPOLLOUT armed, input paused */
	struct conn *older, *newer;   /* worker's idle order */
} conn;

static inline uint8_t *conn_in(conn *c)
{
	return c->buf;
}

static inline uint8_t *conn_out(conn *c)
{
	return c->buf + CONN_IN_CAP;
}

enum conn_verdict {
	CONN_KEEP,                    /* go on */
	CONN_CLOSE,                   /* close now (after sending what is queued) */
};

/* Answer the complete PDUs in the input buffer while the output buffer
 * has room, appending the answers, and account for each. */
enum conn_verdict conn_process(conn *c, server *srv, const snapshot *s);

#endif
