/* What each client address and each prefix (/24 IPv4, /64 IPv6) holds:
 * its open connections and its rate-limit tokens, so the host can cap
 * connections per address and per prefix and limit new ones per second.
 *
 * One table shared by the workers under a mutex, used at accept and close
 * only. Keys are exact (address bytes, or prefix bytes, with their kind);
 * the set an entry lives in comes from SipHash under a random key per
 * process, so nobody can choose addresses that share a set, and an entry is
 * only taken over by another key once it holds no connection (and, while
 * the table has room, no unspent rate limit either). */
#ifndef KMSD_SERVER_PEERS_H
#define KMSD_SERVER_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/siphash.h"

#define PEER_NONE UINT32_MAX

/* Entry indexes; stable while connections are attached to them. */
typedef struct peer_ref {
	uint32_t address, prefix;
} peer_ref;

typedef struct peers peers;

/* Room for at least min_entries keys. */
peers *peers_new(size_t min_entries, const uint8_t key[SIPHASH_KEY_LEN]);
void peers_free(peers *t);

void peers_lock(peers *t);
void peers_unlock(peers *t);

/* The rest is called with the lock held. */

/* The entries of peer's address and prefix, made if need be. A peer that
 * is not IPv4 or IPv6 gets PEER_NONE for both (and true). False when the
 * table has no entry to give (every candidate holds connections). */
bool peers_find(peers *t, const struct sockaddr_storage *peer, double now, peer_ref *out);
/* Token bucket, burst = one second's worth: true if the address may open
 * one more connection at `now` (seconds). */
bool peers_take_token(peers *t, uint32_t address, double per_second, double now);
/* Connections attached to an entry (0 for PEER_NONE). */
unsigned peers_connections(const peers *t, uint32_t index);
void peers_attach(peers *t, peer_ref r);
void peers_detach(peers *t, peer_ref r);

#endif
