#include "server/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool secret_value_ok(const char *value, char *why, size_t why_len)
{
	size_t prefix = strlen(SECRET_CREDENTIAL);
	if (strncmp(value, SECRET_CREDENTIAL, prefix) == 0) {
		const char *name = value + prefix;
		if (*name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
			return true;
		snprintf(why, why_len, "\"%s\": a credential name is one file name", value);
		return false;
	}
	if (value[0] == '/')
		return true;
	snprintf(why, why_len, "\"%s\" is not an absolute path or credential:NAME", value);
	return false;
}

bool secret_path(const char *setting, const char *value, char *path, size_t cap, char *err,
		 size_t err_len)
{
	size_t prefix = strlen(SECRET_CREDENTIAL);
	if (strncmp(value, SECRET_CREDENTIAL, prefix) != 0) {
		snprintf(path, cap, "%s", value);
		return strlen(value) < cap;
	}
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	if (!dir || dir[0] != '/') {
		snprintf(err, err_len, "%s %s: no $CREDENTIALS_DIRECTORY (the unit's LoadCredential= "
			 "gives it)", setting, value);
		return false;
	}
	int n = snprintf(path, cap, "%s/%s", dir, value + prefix);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, err_len, "%s %s: path too long", setting, value);
		return false;
	}
	return true;
}

/* Opened without following a link and without blocking on a FIFO. */
static int open_checked(const char *setting, const char *value, uid_t reader, char *err,
			size_t err_len)
{
	char path[512];
	if (!secret_path(setting, value, path, sizeof path, err, err_len))
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, err_len, "%s %s: %s", setting, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	const char *wrong = NULL;
	if (!S_ISREG(st.st_mode))
		wrong = "not a regular file";
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		wrong = "group or others may read or write it: chmod 600 it";
	else if (reader != 0 && st.st_uid != reader)
		wrong = "not owned by the user kmsd reads it as: chown it";
	if (wrong) {
		snprintf(err, err_len, "%s %s: %s (mode %04o, owner uid %u, read as uid %u)", setting,
			 path, wrong, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
			 (unsigned)reader);
		close(fd);
		return -1;
	}
	return fd;
}

bool secret_check(const char *setting, const char *value, uid_t reader, char *err,
		  size_t err_len)
{
	int fd = open_checked(setting, value, reader, err, err_len);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool secret_read(const char *setting, const char *value, char *out, size_t cap, char *err,
		 size_t err_len)
{
	int fd = open_checked(setting, value, geteuid(), err, err_len);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, err_len, "%s %s: %s", setting, value, strerror(errno));
		return false;
	}
	out[n] = 0;
	out[strcspn(out, "\r\n")] = 0;
	return true;
}
