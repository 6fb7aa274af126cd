/* kmsc backup for the SQLite store: VACUUM INTO, which reads one
 * snapshot (kmsd's writer goes on committing meanwhile, since WAL readers
 * never block it) and writes a compact database of its own. A copy of
 * the file with cp could catch a commit half written, and the -wal beside
 * it holds what is not in the file yet; restoring a file next to an old
 * -wal makes SQLite read that -wal into it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/sqlite_private.h"

bool sqlite_backup(store *s, const char *to)
{
	/* created here, so that no one else can read the clients' names and
	 * addresses meanwhile, and never over a file already there (an
	 * existing empty file is what VACUUM INTO accepts) */
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(s->error, sizeof s->error, "cannot create %s: %s", to, strerror(errno));
		return false;
	}
	close(fd);
	sqlite3 *db = s->db;
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL) == SQLITE_OK &&
		  sqlite3_bind_text(st, 1, to, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
		  sqlite3_step(st) == SQLITE_DONE;
	if (!ok)
		snprintf(s->error, sizeof s->error, "copying the store into %s: %s", to,
			 sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (ok) {
		fd = open(to, O_RDONLY | O_CLOEXEC);
		ok = fd >= 0 && fsync(fd) == 0;
		if (!ok)
			snprintf(s->error, sizeof s->error, "syncing %s: %s", to, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (!ok)
		unlink(to);
	return ok;
}
