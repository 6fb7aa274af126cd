#include "dns/dns_publish.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns_update.h"
#include "base/log.h"

#define BACKOFF_FIRST 5
#define BACKOFF_MAX 600
#define DEFAULT_KMS_PORT 1688

/* What the configuration asks for, as the thread needs it. */
typedef struct wanted {
	dns_publish_config cfg;
	uint16_t port;                    /* dns-port or the first listen port */
	char secret[DNS_SECRET_MAX];
} wanted;

/* The record this host has in DNS, and where it put it. */
typedef struct published {
	bool active;
	dns_srv srv;
	dns_endpoint ep;
} published;

struct dns_publisher {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	wanted next;                      /* under lock */
	bool changed, stopping;           /* under lock */
	bool thread_started;              /* main thread only */
	pthread_t thread;
};

static uint16_t first_listen_port(const kmsd_config *cfg)
{
	if (cfg->n_listen == 0)
		return DEFAULT_KMS_PORT;
	const struct sockaddr_storage *a = &cfg->listen[0].addr;
	return ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
					      : ((const struct sockaddr_in *)a)->sin_port);
}

static bool prepare(const kmsd_config *cfg, wanted *w, char *err, size_t err_len)
{
	const dns_publish_config *c = &cfg->dns;
	memset(w, 0, sizeof *w);
	w->cfg = *c;
	w->port = c->port ? c->port : first_listen_port(cfg);
	if (!c->enabled)
		return true;
	if (!c->zone[0]) {
		snprintf(err, err_len, "dns-publish = on needs dns-zone (the DNS domain whose "
			 "clients should find this host)");
		return false;
	}
	if (!c->tsig_name[0] != !c->tsig_secret_file[0]) {
		snprintf(err, err_len, "dns-tsig-name and dns-tsig-secret-file go together");
		return false;
	}
	return !c->tsig_secret_file[0] ||
	       dns_secret_load(c->tsig_secret_file, w->secret, sizeof w->secret, err, err_len);
}

bool dns_publish_check(const kmsd_config *cfg, char *err, size_t err_len)
{
	wanted w;
	bool ok = prepare(cfg, &w, err, err_len);
	explicit_bzero(&w, sizeof w);
	return ok;
}

/* The record and the server for what is wanted; the lookups may block,
 * which is why only the thread calls this. */
static bool resolve(const wanted *w, dns_srv *srv, dns_endpoint *ep, char *err, size_t err_len)
{
	memset(srv, 0, sizeof *srv);
	memset(ep, 0, sizeof *ep);
	snprintf(srv->zone, sizeof srv->zone, "%s", w->cfg.zone);
	srv->ttl = w->cfg.ttl;
	srv->priority = w->cfg.priority;
	srv->weight = w->cfg.weight;
	srv->port = w->port;
	if (w->cfg.host[0])
		snprintf(srv->target, sizeof srv->target, "%s", w->cfg.host);
	else if (!dns_local_fqdn(srv->target, sizeof srv->target, err, err_len))
		return false;
	char server[sizeof w->cfg.server];
	if (w->cfg.server[0])
		snprintf(server, sizeof server, "%s", w->cfg.server);
	else if (!dns_zone_primary(w->cfg.zone, server, sizeof server, err, err_len))
		return false;
	if (!dns_endpoint_resolve(server, ep, err, err_len))
		return false;
	if (w->cfg.tsig_name[0]) {
		snprintf(ep->key_name, sizeof ep->key_name, "%s", w->cfg.tsig_name);
		snprintf(ep->key_algorithm, sizeof ep->key_algorithm, "%s", w->cfg.tsig_algorithm);
		snprintf(ep->key_secret, sizeof ep->key_secret, "%s", w->secret);
	}
	return true;
}

static void describe(const dns_srv *s, char *out, size_t len)
{
	snprintf(out, len, "_vlmcs._tcp.%s. %u IN SRV %u %u %u %s.", s->zone, s->ttl, s->priority,
		 s->weight, s->port, s->target);
}

/* Same owner and rdata: one record, whatever its TTL. */
static bool same_record(const dns_srv *a, const dns_srv *b)
{
	dns_srv x = *a;
	x.ttl = b->ttl;
	return dns_srv_equal(&x, b);
}

/* Delete this host's record; a failure is logged and the record
 * forgotten, since retrying a server that went away would block the new
 * record forever. */
static void withdraw(published *pub)
{
	char what[2 * DNS_NAME_MAX + 64], err[512];
	describe(&pub->srv, what, sizeof what);
	if (dns_update_srv(&pub->ep, &pub->srv, false, err, sizeof err))
		log_info("dns-publish: removed %s from %s", what, pub->ep.text);
	else
		log_warning("dns-publish: %s; %s stays in DNS", err, what);
	explicit_bzero(&pub->ep, sizeof pub->ep);
	pub->active = false;
}

/* Make DNS hold what is wanted: drop a record that no longer is, then add
 * (or refresh) the wanted one. */
static bool converge(const wanted *w, published *pub, char *err, size_t err_len)
{
	dns_srv srv;
	dns_endpoint ep;
	bool ok = !w->cfg.enabled || resolve(w, &srv, &ep, err, err_len);
	if (pub->active && (!w->cfg.enabled || (ok && !same_record(&pub->srv, &srv))))
		withdraw(pub);
	if (!w->cfg.enabled || !ok) {
		explicit_bzero(&ep, sizeof ep);
		return ok;
	}
	ok = dns_update_srv(&ep, &srv, true, err, err_len);
	if (ok) {
		char what[2 * DNS_NAME_MAX + 64];
		describe(&srv, what, sizeof what);
		if (!pub->active || !dns_srv_equal(&pub->srv, &srv))
			log_info("dns-publish: published %s at %s", what, ep.text);
		else
			log_debug("dns-publish: refreshed %s at %s", what, ep.text);
		pub->active = true;
		pub->srv = srv;
		pub->ep = ep;
	}
	explicit_bzero(&ep, sizeof ep);
	return ok;
}

static struct timespec after(unsigned seconds)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += seconds;
	return t;
}

static void *publisher_thread(void *arg)
{
	dns_publisher *p = arg;
	wanted w = { .cfg.enabled = false }; /* replaced before first use: changed is set */
	published pub = { 0 };
	bool failing = false, idle = true;
	unsigned backoff = 0;
	struct timespec due = after(0);
	char err[512];

	for (;;) {
		pthread_mutex_lock(&p->lock);
		int rc = 0;
		while (!p->stopping && !p->changed && rc != ETIMEDOUT)
			rc = idle ? pthread_cond_wait(&p->wake, &p->lock)
				  : pthread_cond_timedwait(&p->wake, &p->lock, &due);
		if (p->stopping) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		if (p->changed) {
			w = p->next;
			p->changed = false;
			failing = false; /* new settings: their first failure is news */
			backoff = 0;
		}
		pthread_mutex_unlock(&p->lock);

		if (converge(&w, &pub, err, sizeof err)) {
			if (failing)
				log_info("dns-publish: working again");
			failing = false;
			backoff = 0;
			idle = !w.cfg.enabled;
			due = after(w.cfg.ttl / 2);
			continue;
		}
		backoff = backoff ? backoff * 2 : BACKOFF_FIRST;
		if (backoff > BACKOFF_MAX)
			backoff = BACKOFF_MAX;
		if (!failing)
			log_warning("dns-publish: %s; retrying, less often as failures go on", err);
		else
			log_debug("dns-publish: %s; next try in %us", err, backoff);
		failing = true;
		idle = false;
		due = after(backoff);
	}
	if (pub.active)
		withdraw(&pub);
	explicit_bzero(&w, sizeof w);
	return NULL;
}

/* Hand settings to the thread, starting it the first time publishing is
 * on. Called from the main thread only. */
static bool hand_over(dns_publisher *p, const wanted *w, char *err, size_t err_len)
{
	pthread_mutex_lock(&p->lock);
	p->next = *w;
	p->changed = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	if (p->thread_started || !w->cfg.enabled)
		return true;
	int rc = pthread_create(&p->thread, NULL, publisher_thread, p);
	if (rc != 0) {
		snprintf(err, err_len, "cannot start the DNS publisher: %s", strerror(rc));
		return false;
	}
	p->thread_started = true;
	return true;
}

dns_publisher *dns_publisher_start(const kmsd_config *cfg, char *err, size_t err_len)
{
	wanted w;
	dns_publisher *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, &attr);
	pthread_condattr_destroy(&attr);
	bool ok = prepare(cfg, &w, err, err_len) && hand_over(p, &w, err, err_len);
	explicit_bzero(&w, sizeof w);
	if (!ok) {
		dns_publisher_stop(p);
		return NULL;
	}
	return p;
}

bool dns_publisher_reload(dns_publisher *p, const kmsd_config *cfg, char *err, size_t err_len)
{
	wanted w;
	bool ok = prepare(cfg, &w, err, err_len) && hand_over(p, &w, err, err_len);
	explicit_bzero(&w, sizeof w);
	return ok;
}

void dns_publisher_stop(dns_publisher *p)
{
	if (!p)
		return;
	if (p->thread_started) {
		pthread_mutex_lock(&p->lock);
		p->stopping = true;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	explicit_bzero(&p->next, sizeof p->next);
	free(p);
}
