/* Warnings that can repeat as fast as a client can make them (refused
 * connections, rejected PDUs, descriptors running out) are written at most
 * LOG_THROTTLE_LINES times per LOG_THROTTLE_SECONDS per kind; the next line
 * written says how many like it were left out. Whatever a flood does, the
 * log grows by a few lines per period per kind of warning, and a handful
 * of events (a test, a single bad client) are all logged. */
#ifndef KMSD_BASE_LOG_THROTTLE_H
#define KMSD_BASE_LOG_THROTTLE_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/log.h"

#define LOG_THROTTLE_SECONDS 10
#define LOG_THROTTLE_LINES 10

/* One per kind of warning, zero-initialised (static or in a struct). */
typedef struct log_throttle {
	atomic_llong period;          /* monotonic second the period began */
	atomic_uint lines;            /* written in this period */
	atomic_ulong left_out;        /* not written since the last line */
} log_throttle;

/* Log the line if this kind's period has passed, else count it. */
void log_throttled(log_throttle *t, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
