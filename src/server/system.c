#include "server/system.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

int system_open_regular(const char *path, bool follow_link, struct stat *st, char *err,
			size_t err_len)
{
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow_link ? 0 : O_NOFOLLOW));
	if (fd < 0) {
		int e = errno;
		snprintf(err, err_len, "%s: %s", path,
			 e == ELOOP ? "a symbolic link (refused)" : strerror(e));
		errno = e; /* callers may accept a missing file */
		return -1;
	}
	if (fstat(fd, st) != 0) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* /dev/null reads as an empty file: "-c /dev/null" means no file */
	bool null_device = S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 && minor(st->st_rdev) == 3;
	if (!S_ISREG(st->st_mode) && !null_device) {
		snprintf(err, err_len, "%s: not a regular file (refused)", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* Written as root before the privilege drop: never through a link. A new
 * file is created exclusively; an old one is reused only if it is a plain
 * file of one link (a stale pidfile from a crash). */
bool system_write_pidfile(const char *path, char *err, size_t err_len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	struct stat st;
	const char *why = NULL;
	if (fd < 0 && errno == EEXIST) {
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1))
			why = "not a plain file with one link (refused)";
	}
	if (fd < 0 && errno == ELOOP)
		why = "a symbolic link (refused)";
	char text[32];
	int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
	if (fd < 0 || why || ftruncate(fd, 0) != 0 || write(fd, text, (size_t)n) != n) {
		snprintf(err, err_len, "cannot write pidfile %s: %s", path, why ? why : strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	return close(fd) == 0;
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
	/* a directory of our own is created for the user */
	bool created = mkdir(dir, 0750) == 0;
	if (!created && errno != EEXIST) {
		snprintf(err, err_len, "cannot create %s: %s", dir, strerror(errno));
		return false;
	}
	/* the files are opened without following links and given away by
	 * descriptor: a link planted by the unprivileged user (who owns the
	 * directory) must not make root chown what it points at */
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (dir_fd < 0 || fstat(dir_fd, &st) != 0) {
		snprintf(err, err_len, "cannot open %s: %s", dir, strerror(errno));
		if (dir_fd >= 0)
			close(dir_fd);
		return false;
	}
	if ((created || (st.st_uid == 0 && strncmp(dir, "/var/lib/", 9) == 0)) &&
	    st.st_uid != pw->pw_uid && fchown(dir_fd, pw->pw_uid, pw->pw_gid) != 0) {
		snprintf(err, err_len, "cannot give %s to %s: %s", dir, user, strerror(errno));
		close(dir_fd);
		return false;
	}
	const char *base = strrchr(db_path, '/');
	base = base ? base + 1 : db_path;
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	bool ok = true;
	for (size_t i = 0; i < 3 && ok; i++) {
		char file[600];
		snprintf(file, sizeof file, "%s%s", base, suffixes[i]);
		int fd = openat(dir_fd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 && errno == ENOENT)
			continue; /* SQLite creates it later, as the user */
		const char *why = NULL;
		bool plain = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
			     st.st_nlink == 1;
		if (fd < 0 && errno == ELOOP)
			why = "a symbolic link (refused)";
		else if (fd >= 0 && !plain)
			why = "not a plain file with one link (refused)";
		else if (fd < 0 || (st.st_uid != pw->pw_uid && fchown(fd, pw->pw_uid, pw->pw_gid) != 0))
			why = strerror(errno);
		if (why) {
			snprintf(err, err_len, "cannot give %s%s to %s: %s", db_path, suffixes[i], user,
				 why);
			ok = false;
		}
		if (fd >= 0)
			close(fd);
	}
	close(dir_fd);
	return ok;
}
