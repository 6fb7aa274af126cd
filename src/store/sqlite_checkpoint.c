/* Checkpoints of the SQLite store, off the writer's thread.
 *
 * In WAL mode a commit only appends pages to the WAL; a checkpoint copies
 * them into the database and syncs both files, which takes hundreds of
 * milliseconds on a busy disk. Run inside the writer's commit (SQLite's
 * default, every 1000 pages), it held up the next batch, and with it the
 * 250 ms within which an answered client is in the store: kill -9 under
 * load lost clients answered up to 1.2 s before.
 *
 * Here a commit only notes the WAL's size. Past CKPT_FRAMES pages a thread
 * copies what is committed, on a connection of its own opened for the run
 * (the file may have been set aside and replaced since the last one),
 * while the writer goes on appending: a PASSIVE checkpoint never blocks
 * it. Once everything is copied the writer restarts the WAL at its next
 * commit. Fewer, larger checkpoints also copy a page that many batches
 * wrote once rather than once per 1000 pages, which halved the commit's
 * share of the writer's CPU at a million clients.
 *
 * Should the thread fall behind (a disk slower than the writer), the
 * writer checkpoints inline past CKPT_HARD_FRAMES, as SQLite would, so the
 * WAL stays bounded.
 *
 * The thread's connection must be on the writer's file. A file renamed
 * over the database leaves the old -wal and -shm beside the new one, and
 * SQLite opens any file with a -wal beside it in WAL mode: within one
 * process its locks do not see each other, so that connection believed
 * itself alone, truncated the -shm the writer has mapped (kmsd died of
 * SIGBUS) and would have copied the old file's pages into the new one.
 * The writer notes which file it is on; the thread reads nothing from a
 * file that is not that one, and the writer sets the new one aside at its
 * next batch (sqlite_write.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "store/sqlite_private.h"

#define CKPT_FRAMES 4096        /* 16 MiB of 4 KiB pages */
#define CKPT_HARD_FRAMES 16384  /* 64 MiB, the WAL's journal_size_limit */

struct sqlite_checkpointer {
	char path[512];
	bool full;                   /* store-synchronous = full */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool due, stop;
	bool on_file;                /* the writer's file is known: */
	dev_t dev;                   /* which one it is */
	ino_t ino;
	unsigned long runs, inline_runs, refused;
};

/* db's file is still the one at its path (unknown counts as moved). */
static bool not_moved(sqlite3 *db)
{
	int moved = 1;
	return sqlite3_file_control(db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK &&
	       !moved;
}

/* The file at the path is (dev, ino), and so is db's, unless the path was
 * replaced and put back in between. Neither reads the database. */
static bool on_file(sqlite3 *db, const char *path, dev_t dev, ino_t ino)
{
	struct stat st;
	return not_moved(db) && stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* false: the path is not the writer's file any more */
static bool checkpoint_once(sqlite_checkpointer *c)
{
	pthread_mutex_lock(&c->lock);
	bool known = c->on_file;
	dev_t dev = c->dev;
	ino_t ino = c->ino;
	pthread_mutex_unlock(&c->lock);
	if (!known)
		return false;
	sqlite3 *db = NULL;
	bool same = false;
	if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
		    SQLITE_OK &&
	    (same = on_file(db, c->path, dev, ino))) {
		/* the checkpoint syncs as its connection's level says */
		sqlite3_exec(db, c->full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
			     NULL, NULL, NULL);
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	}
	sqlite3_close(db);
	return same;
}

static void *checkpoint_main(void *arg)
{
	sqlite_checkpointer *c = arg;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->due && !c->stop)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stop)
			break;
		c->due = false;
		pthread_mutex_unlock(&c->lock);
		bool ran = checkpoint_once(c);
		pthread_mutex_lock(&c->lock);
		if (ran)
			c->runs++;
		else
			c->refused++;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* SQLite's WAL hook: called on the writer's thread after each commit with
 * the pages now in the WAL. */
static int committed(void *ctx, sqlite3 *db, const char *name, int frames)
{
	sqlite_checkpointer *c = ctx;
	if (frames >= CKPT_HARD_FRAMES) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->lock);
		c->inline_runs++;
		pthread_mutex_unlock(&c->lock);
	} else if (frames >= CKPT_FRAMES) {
		pthread_mutex_lock(&c->lock);
		c->due = true;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->lock);
	}
	return SQLITE_OK;
}

void *sqlite_checkpointer_start(const char *target, const store_options *opt)
{
	sqlite_checkpointer *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	snprintf(c->path, sizeof c->path, "%s", target);
	c->full = opt->sync_full;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
		/* the writer keeps SQLite's own checkpoints */
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	pthread_setname_np(c->thread, "kmsd-checkpoint");
	return c;
}

void sqlite_checkpointer_stop(void *helper)
{
	sqlite_checkpointer *c = helper;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void sqlite_checkpointer_attach(sqlite_checkpointer *c, sqlite3 *db)
{
	if (!c)
		return;
	/* the path's file, then db's is the same (not moved since) */
	struct stat st;
	bool known = stat(c->path, &st) == 0 && not_moved(db);
	pthread_mutex_lock(&c->lock);
	c->on_file = known;
	c->dev = known ? st.st_dev : 0;
	c->ino = known ? st.st_ino : 0;
	pthread_mutex_unlock(&c->lock);
	sqlite3_wal_hook(db, committed, c);
}

void sqlite_checkpointer_counts(sqlite_checkpointer *c, unsigned long *runs,
				unsigned long *inline_runs, unsigned long *refused)
{
	pthread_mutex_lock(&c->lock);
	*runs = c->runs;
	*inline_runs = c->inline_runs;
	if (refused)
		*refused = c->refused;
	pthread_mutex_unlock(&c->lock);
}
