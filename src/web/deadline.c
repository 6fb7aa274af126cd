#include "web/deadline.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "base/log.h"

/* every daemon's connection limit together; beyond, a connection goes
 * untracked (only the inactivity timeout holds it) */
#define TRACKED 1024
#define CHECK_MS 250

typedef struct tracked {
	int fd;                       /* -1: free */
	bool cut;                     /* shut down, waiting for libmicrohttpd to close it */
	int64_t opened_ms;
} tracked;

struct web_deadline {
	const mhd_api *mhd;
	atomic_int seconds;
	pthread_t thread;
	pthread_mutex_t lock;         /* slots and stopping */
	pthread_cond_t wake;
	bool stopping;
	tracked slot[TRACKED];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Shut down what is past its deadline. Under the lock, and libmicrohttpd
 * notifies a close before it closes the descriptor, so a descriptor here
 * is never one reused by something else. */
static void *reaper(void *arg)
{
	web_deadline *d = arg;
	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += CHECK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->wake, &d->lock, &until);
		int64_t cutoff = now_ms() - (int64_t)atomic_load(&d->seconds) * 1000;
		for (size_t i = 0; i < TRACKED; i++) {
			tracked *t = &d->slot[i];
			if (t->fd >= 0 && !t->cut && t->opened_ms <= cutoff) {
				shutdown(t->fd, SHUT_RDWR);
				t->cut = true;
				log_debug("web: closing a connection open for more than %d s",
					  atomic_load(&d->seconds));
			}
		}
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

web_deadline *web_deadline_start(const mhd_api *mhd, int seconds)
{
	web_deadline *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->mhd = mhd;
	atomic_store(&d->seconds, seconds);
	for (size_t i = 0; i < TRACKED; i++)
		d->slot[i].fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->wake, NULL);
	if (pthread_create(&d->thread, NULL, reaper, d) != 0) {
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return NULL;
	}
	return d;
}

void web_deadline_set(web_deadline *d, int seconds)
{
	if (d)
		atomic_store(&d->seconds, seconds);
}

void web_deadline_stop(web_deadline *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void web_deadline_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			 enum MHD_ConnectionNotificationCode code)
{
	web_deadline *d = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
			d->mhd->get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context = NULL;
		if (!info)
			return;
		pthread_mutex_lock(&d->lock);
		for (size_t i = 0; i < TRACKED; i++) {
			if (d->slot[i].fd < 0) {
				d->slot[i] = (tracked){ info->connect_fd, false, now_ms() };
				*socket_context = &d->slot[i];
				break;
			}
		}
		pthread_mutex_unlock(&d->lock);
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
		tracked *t = *socket_context;
		pthread_mutex_lock(&d->lock);
		t->fd = -1;
		t->cut = false;
		pthread_mutex_unlock(&d->lock);
		*socket_context = NULL;
	}
}
