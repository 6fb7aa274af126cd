#include "base/log_throttle.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void log_throttled(log_throttle *t, enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = (long long)ts.tv_sec, period = atomic_load(&t->period);
	/* one thread starts the new period; racing ones just share it */
	if (now >= period + LOG_THROTTLE_SECONDS &&
	    atomic_compare_exchange_strong(&t->period, &period, now))
		atomic_store(&t->lines, 0);
	if (atomic_fetch_add(&t->lines, 1) >= LOG_THROTTLE_LINES) {
		atomic_fetch_add_explicit(&t->left_out, 1, memory_order_relaxed);
		return;
	}
	unsigned long more = atomic_exchange(&t->left_out, 0);
	char line[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (more)
		log_msg(level, "%s (%lu more like it were not logged)", line, more);
	else
		log_msg(level, "%s", line);
}
