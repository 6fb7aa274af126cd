/* What a start needs that can be known without binding a socket: the
 * user and group exist, root is not kept unless allowed, the secret files
 * are there with a safe mode and owner, the store setting is well formed.
 * `kmsd -t` and a real start run the same checks. */
#ifndef KMSD_SERVER_START_CHECK_H
#define KMSD_SERVER_START_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "server/config.h"

/* starting: false for a reload, which keeps the web token it read at start
 * (as root, perhaps) and so does not read its file again. */
bool start_check(const kmsd_config *cfg, bool starting, char *err, size_t err_len);

#endif
