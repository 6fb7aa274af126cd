/* Helpers shared by the PDU codec files (private to the rpc layer). */
#ifndef KMSD_RPC_PDU_PRIVATE_H
#define KMSD_RPC_PDU_PRIVATE_H

#include <stdint.h>
#include <string.h>

#include "rpc/rpc.h"

/* Write a 16-byte common header: version 5.0, the flags, LE drep. */
void rpc_header_encode(uint8_t *p, uint8_t ptype, uint8_t flags, uint16_t frag_length,
		       uint32_t call_id);

#define RPC_PFC_WHOLE (RPC_PFC_FIRST_FRAG | RPC_PFC_LAST_FRAG)

static inline size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

#endif
