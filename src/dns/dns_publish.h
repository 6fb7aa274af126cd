/* Publishing this host's _vlmcs._tcp SRV record (dns-publish = on), as a
 * Microsoft KMS host does, so clients find it with no setup of their own.
 *
 * One thread owns every DNS exchange: it adds the record at start and
 * after a reload, re-adds it every TTL/2 (a zone reloaded from a file or
 * a record deleted by hand comes back), retries failures with a backoff
 * of 5 s doubling to 10 min (logged once, and once more on recovery), and
 * deletes exactly its own record when kmsd stops. The event loops and the
 * signal loop never wait on DNS. */
#ifndef KMSD_DNS_DNS_PUBLISH_H
#define KMSD_DNS_DNS_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "server/config.h"

typedef struct dns_publisher dns_publisher;

/* What parsing cannot check: a zone when publishing is on, the TSIG name
 * and secret file given together, the secret file itself. */
bool dns_publish_check(const kmsd_config *cfg, char *err, size_t err_len);

/* Start publishing what cfg says (nothing while dns-publish is off). NULL
 * with a reason in err when the settings fail dns_publish_check. */
dns_publisher *dns_publisher_start(const kmsd_config *cfg, char *err, size_t err_len);

/* Settings from a reload: false, changing nothing, when they are invalid.
 * A changed record replaces the old one (deleted first). */
bool dns_publisher_reload(dns_publisher *p, const kmsd_config *cfg, char *err, size_t err_len);

/* Delete the record this host published, stop the thread and free. */
void dns_publisher_stop(dns_publisher *p);

#endif
