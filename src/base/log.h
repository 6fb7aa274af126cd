/* Logging: one line per event to stderr, a file or syslog.
 *
 * Every line is written with a single write(2) (O_APPEND for files), so
 * lines from different worker threads never interleave. When stderr is
 * systemd's journal stream ($JOURNAL_STREAM names its device and inode),
 * lines carry the sd-daemon "<N>" priority prefix instead of a timestamp
 * (the journal keeps its own). A daemon has no stderr: once
 * log_daemonized() is called, the target "stderr" means syslog. */
#ifndef KMSD_BASE_LOG_H
#define KMSD_BASE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* target: "stderr", "syslog" or "file:/path". Returns false with a message
 * in err when the file cannot be opened; the previous target stays. */
bool log_open(const char *target, enum log_level level, int facility, char *err,
	      size_t err_len);

/* stderr is gone (daemonized): "stderr" logs to syslog from now on. */
void log_daemonized(void);

/* Reopen a log file (after rotation); a no-op for other targets. */
void log_reopen(void);

bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
