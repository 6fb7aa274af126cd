#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum target { TARGET_STDERR, TARGET_JOURNAL, TARGET_FILE, TARGET_SYSLOG };

/* The log target is process state by nature; it changes only at start and
 * on reload. Workers hold the read lock from choosing the target to the
 * write(2), so a reload can never close a descriptor under them: otherwise
 * a line could land in whatever a worker accepted into the freed number (a
 * client's socket). The level is read on every call without the lock. */
static struct {
	pthread_rwlock_t lock;
	enum target target;
	int fd;
	char path[512];
	_Atomic int level;
	bool daemonized;
} logger = { PTHREAD_RWLOCK_INITIALIZER, TARGET_STDERR, STDERR_FILENO, "", LOG_LEVEL_INFO, false };

static const char *const level_names[] = { "error", "warning", "info", "debug" };
static const int priorities[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/* stderr is the journal when $JOURNAL_STREAM is its "device:inode"
 * (systemd.exec(5)); a redirected stderr keeps plain lines. */
static bool stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	struct stat st;
	if (!stream || fstat(STDERR_FILENO, &st) != 0)
		return false;
	char *colon, *end;
	unsigned long long dev = strtoull(stream, &colon, 10);
	if (colon == stream || *colon != ':')
		return false;
	unsigned long long ino = strtoull(colon + 1, &end, 10);
	if (end == colon + 1 || *end)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_daemonized(void)
{
	pthread_rwlock_wrlock(&logger.lock);
	logger.daemonized = true;
	if (logger.target == TARGET_STDERR || logger.target == TARGET_JOURNAL)
		logger.target = TARGET_SYSLOG;
	pthread_rwlock_unlock(&logger.lock);
}

/* A log file is opened as root before the privilege drop: a link planted
 * in its place (a world-writable log directory, a package's old path)
 * must not make kmsd append to, or create, a file it points at, and a FIFO
 * must not block the start (a device such as /dev/null is fine). Returns the descriptor or -1 with errno set. */
static int open_log_file(const char *path)
{
	/* O_NONBLOCK: a FIFO with no reader fails with ENXIO instead of blocking */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		      0640);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool log_open(const char *target, enum log_level level, int facility, char *err, size_t err_len)
{
	enum target t;
	int fd = STDERR_FILENO;
	const char *path = "";

	pthread_rwlock_rdlock(&logger.lock);
	bool daemonized = logger.daemonized;
	pthread_rwlock_unlock(&logger.lock);
	if (strcmp(target, "stderr") == 0 && !daemonized) {
		t = stderr_is_journal() ? TARGET_JOURNAL : TARGET_STDERR;
	} else if (strcmp(target, "syslog") == 0 || strcmp(target, "stderr") == 0) {
		t = TARGET_SYSLOG;
		closelog();
		openlog("kmsd", LOG_PID | LOG_NDELAY, facility);
	} else if (strncmp(target, "file:", 5) == 0) {
		t = TARGET_FILE;
		path = target + 5;
		fd = open_log_file(path);
		if (fd < 0) {
			snprintf(err, err_len, "cannot open log file %s: %s", path,
				 errno == ELOOP ? "it is a symbolic link"
				 : errno == EINVAL || errno == ENXIO ? "neither a regular file nor a device"
				 : strerror(errno));
			return false;
		}
	} else {
		snprintf(err, err_len, "unknown log target \"%s\"", target);
		return false;
	}

	pthread_rwlock_wrlock(&logger.lock);
	if (logger.target == TARGET_FILE && logger.fd >= 0)
		close(logger.fd);
	logger.target = t;
	logger.fd = fd;
	logger.level = (int)level;
	snprintf(logger.path, sizeof logger.path, "%s", path);
	pthread_rwlock_unlock(&logger.lock);
	return true;
}

void log_reopen(void)
{
	pthread_rwlock_wrlock(&logger.lock);
	if (logger.target == TARGET_FILE) {
		int fd = open_log_file(logger.path);
		if (fd >= 0) {
			close(logger.fd);
			logger.fd = fd;
		}
	}
	pthread_rwlock_unlock(&logger.lock);
}

bool log_enabled(enum log_level level)
{
	return (int)level <= logger.level;
}

/* Ends the formatted text at `len` (cut to fit) with a newline, and writes
 * the line with one write(2): whole lines even with many threads. */
static void write_line(int fd, char *line, size_t size, size_t len)
{
	if (len > size - 2)
		len = size - 2;
	line[len++] = '\n';
	ssize_t ignored = write(fd, line, len);
	(void)ignored;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;

	char line[1024];
	int n = 0;
	va_list ap;
	va_start(ap, fmt);
	pthread_rwlock_rdlock(&logger.lock);
	if (logger.target == TARGET_SYSLOG) {
		vsnprintf(line, sizeof line, fmt, ap);
		syslog(priorities[level], "%s", line);
	} else {
		if (logger.target == TARGET_JOURNAL) {
			/* "<N>" is the priority; the journal adds the time itself */
			n = snprintf(line, sizeof line, "<%d>", priorities[level]);
		} else {
			struct timespec now;
			struct tm tm;
			clock_gettime(CLOCK_REALTIME, &now);
			gmtime_r(&now.tv_sec, &tm);
			n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ",
				     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				     tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000, level_names[level]);
		}
		int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
		write_line(logger.target == TARGET_JOURNAL ? STDERR_FILENO : logger.fd, line,
			   sizeof line, (size_t)n + (m < 0 ? 0 : (size_t)m));
	}
	pthread_rwlock_unlock(&logger.lock);
	va_end(ap);
}
