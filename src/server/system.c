#include "server/system.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void system_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	if (len >= sizeof sa.sun_path)
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0; /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	socklen_t sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	ssize_t r = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, sa_len);
	(void)r;
	close(fd);
}

bool system_drop_privileges(const char *user, const char *group, char *err, size_t err_len)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, err_len, "unknown user \"%s\"", user);
		return false;
	}
	gid_t gid = pw->pw_gid;
	if (group && *group) {
		struct group *gr = getgrnam(group);
		if (!gr) {
			snprintf(err, err_len, "unknown group \"%s\"", group);
			return false;
		}
		gid = gr->gr_gid;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		snprintf(err, err_len, "cannot switch to user %s: %s", user, strerror(errno));
		return false;
	}
	/* make sure there is no way back */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, err_len, "privileges could be regained after dropping them");
		return false;
	}
	return true;
}

bool system_daemonize(char *err, size_t err_len)
{
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, err_len, "fork: %s", strerror(errno));
		return false;
	}
	if (pid > 0)
		_exit(0);
	setsid();
	pid = fork();
	if (pid < 0) {
		snprintf(err, err_len, "fork: %s", strerror(errno));
		return false;
	}
	if (pid > 0)
		_exit(0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (chdir("/") < 0) {
		snprintf(err, err_len, "chdir /: %s", strerror(errno));
		return false;
	}
	return true;
}

bool system_write_pidfile(const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "we");
	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		snprintf(err, err_len, "cannot write pidfile %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

unsigned long long system_host_seed(void)
{
	char id[256] = "";
	FILE *f = fopen("/etc/machine-id", "re");
	if (!f || !fgets(id, sizeof id, f))
		gethostname(id, sizeof id - 1);
	if (f)
		fclose(f);
	unsigned long long h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (const char *p = id; *p && *p != '\n'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return h;
}

bool system_prepare_state(const char *db_path, const char *user, char *err, size_t err_len)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, err_len, "unknown user \"%s\"", user);
		return false;
	}
	char dir[512];
	snprintf(dir, sizeof dir, "%s", db_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, "%s", slash ? "/" : ".");
	struct stat st;
	if (stat(dir, &st) < 0) {
		/* a directory of our own: create it for the user */
		if (mkdir(dir, 0750) < 0 || chown(dir, pw->pw_uid, pw->pw_gid) < 0) {
			snprintf(err, err_len, "cannot create %s: %s", dir, strerror(errno));
			return false;
		}
	} else if (st.st_uid == 0 && strcmp(dir, "/") != 0 && strcmp(dir, "/tmp") != 0 &&
		   strncmp(dir, "/var/lib/", 9) == 0 && chown(dir, pw->pw_uid, pw->pw_gid) < 0) {
		snprintf(err, err_len, "cannot give %s to %s: %s", dir, user, strerror(errno));
		return false;
	}
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		char file[600];
		snprintf(file, sizeof file, "%s%s", db_path, suffixes[i]);
		if (stat(file, &st) == 0 && st.st_uid != pw->pw_uid &&
		    chown(file, pw->pw_uid, pw->pw_gid) < 0) {
			snprintf(err, err_len, "cannot give %s to %s: %s", file, user, strerror(errno));
			return false;
		}
	}
	return true;
}
