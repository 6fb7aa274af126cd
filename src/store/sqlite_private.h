/* The SQLite backend's shared state (private to src/store). */
#ifndef KMSD_STORE_SQLITE_PRIVATE_H
#define KMSD_STORE_SQLITE_PRIVATE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_SCHEMA_VERSION 2

struct store {
	char path[512];
	bool read_only;
	sqlite3 *db;                  /* the opener's connection: queries, identity */
	char error[300];

	/* the writer: a ring of records, drained by one thread */
	sqlite3 *writer_db;
	pthread_t writer;
	bool writer_running;
	pthread_mutex_t lock;
	pthread_cond_t wake, committed_cond;
	store_record *ring;
	size_t head, count;
	uint64_t submitted, committed;  /* record sequence numbers, for flush */
	bool stop;
	store_writer_stats stats;
};

/* Open a connection with the settings every connection gets. */
sqlite3 *store_connect(const char *path, bool read_only, char *err, size_t err_len);
/* Bring the schema to the current version (in one transaction). */
bool store_migrate(sqlite3 *db, char *err, size_t err_len);
/* Schema version of an open database, -1 on error. */
int store_schema_version(sqlite3 *db);

bool store_writer_start(store *s, char *err, size_t err_len);
void store_writer_stop(store *s);

#endif
