/* Talking to the operating system around the server: systemd readiness,
 * privilege drop, daemonising, the pidfile, opening files safely. */
#ifndef KMSD_SERVER_SYSTEM_H
#define KMSD_SERVER_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* sd_notify(3) protocol, without libsystemd: one datagram to $NOTIFY_SOCKET.
 * A no-op when not started by systemd. */
void system_notify(const char *state);

/* setgid/setgroups/setuid to user (and group, default the user's). Keeps
 * nothing of root. Returns false with a message on failure. */
bool system_drop_privileges(const char *user, const char *group, char *err, size_t err_len);

/* As root, before dropping privileges: make sure the store's directory
 * exists and that `user` owns it and the database files, so the daemon can
 * write its store (and SQLite its journal files) afterwards. */
bool system_prepare_state(const char *db_path, const char *user, char *err, size_t err_len);

/* Fork into the background, detach from the terminal. */
bool system_daemonize(char *err, size_t err_len);

/* Written before the privilege drop, so never through a symbolic or hard
 * link: created with O_EXCL|O_NOFOLLOW, or an old plain file reused. */
bool system_write_pidfile(const char *path, char *err, size_t err_len);

/* Open a file to read (configuration, secrets, tokens): a descriptor on a
 * regular file (or /dev/null, an empty one), or -1 with "PATH: why" in
 * err. Never blocks: a FIFO or another device is refused at once instead
 * of waiting for a writer. follow_link
 * false refuses a symbolic link as the last component too. *st is the
 * file's status (mode, owner) for further checks. */
int system_open_regular(const char *path, bool follow_link, struct stat *st, char *err,
			size_t err_len);

/* A seed that is stable for this machine (from /etc/machine-id, else the
 * host name), so generated ePIDs survive restarts but differ per host. */
unsigned long long system_host_seed(void);

#endif
