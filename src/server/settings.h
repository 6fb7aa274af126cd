/* From a parsed configuration to the snapshot workers answer with:
 * policy, intervals, HwId, RPC options, limits, and the ePIDs (configured,
 * or generated from the host seed). */
#ifndef KMSD_SERVER_SETTINGS_H
#define KMSD_SERVER_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/config.h"
#include "server/server.h"

/* Fill *s (zeroed by the caller) from cfg. `now` dates generated ePIDs.
 * With a store, the ePID seed and each generated ePID are kept in it, so a
 * host keeps its identity across restarts and upgrades of the data file. */
bool settings_build(const kmsd_config *cfg, int64_t now, store *st, snapshot *s, char *err,
		    size_t err_len);

/* Free a snapshot built by settings_build (NULL is fine). */
void settings_free(snapshot *s);

#endif
