/* Helpers for tests over the recorded conversations in tests/vectors. */
#ifndef KMSD_TESTS_VECTORS_H
#define KMSD_TESTS_VECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms/kms.h"
#include "rpc/rpc.h"

#define MAX_VECTORS 64

/* Names (without .c2s.bin) of the conversation vectors, sorted; the lone
 * Windows bind capture is left out. Returns the count. */
int vector_list(char names[][96], int max);

/* A conversation split into what a test needs. */
typedef struct conversation {
	uint8_t *c2s, *s2c;
	size_t c2s_len, s2c_len;
	const uint8_t *request_msg;       /* KMS request inside the client's request PDU */
	size_t request_len;
	rpc_syntax_kind syntax;
	const uint8_t *response_msg;      /* KMS response inside the host's response PDU */
	size_t response_len;
	kms_request request;
	kms_request_secret secret;
	kms_client_secret client;         /* as the recording client knew it */
} conversation;

/* Load, frame, decode: false (with a test failure recorded) on any error. */
bool conversation_load(const char *name, conversation *c);
void conversation_free(conversation *c);

/* Value of "Label : value" in NAME.txt; the label is matched at the start
 * of a line. Returns false when absent. */
bool vector_txt_field(const char *name, const char *label, char *out, size_t len);

#endif
