/* Listeners, the libmicrohttpd daemons, routing, the token rule and the
 * headers every answer carries. */
#include "web/web.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "server/secret_file.h"
#include "server/system.h"
#include "web/web_private.h"

#define HTTP_CONNECTIONS 128
#define HTTP_PER_ADDRESS 8        /* a browser opens up to 6 */
#define HTTP_IDLE_TIMEOUT 15      /* seconds without a byte either way; web-timeout caps the total */

bool web_read_token_file(const char *value, char *out, size_t cap, char *err, size_t err_len)
{
	char path[512];
	if (!secret_path("web-token-file", value, path, sizeof path, err, err_len))
		return false;
	struct stat st;
	char why[300];
	int fd = system_open_regular(path, false, &st, why, sizeof why);
	if (fd < 0) {
		snprintf(err, err_len, "web-token-file %s", why);
		return false;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, err_len, "web-token-file %s: readable by others (chmod 600 it)", path);
		close(fd);
		return false;
	}
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	if (n < 0)
		n = 0;
	out[n] = 0;
	out[strcspn(out, "\r\n")] = 0;
	if (strlen(out) < 16) {
		snprintf(err, err_len, "web-token-file %s: the token needs at least 16 characters "
			 "on the first line", path);
		return false;
	}
	return true;
}

web *web_open(const kmsd_config *cfg, char *err, size_t err_len)
{
	return web_open_with_token(cfg, NULL, err, err_len);
}

web *web_open_with_token(const kmsd_config *cfg, const char *token, char *err, size_t err_len)
{
	web *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->store_lock, NULL);
	w->mhd = mhd_load(err, err_len);
	if (!w->mhd)
		goto fail;
	snprintf(w->token, sizeof w->token, "%s", token ? token : cfg->web_token);
	if (!token && cfg->web_token_file[0] &&
	    !web_read_token_file(cfg->web_token_file, w->token, sizeof w->token, err, err_len))
		goto fail;
	snprintf(w->token_file, sizeof w->token_file, "%s", cfg->web_token_file);
	for (size_t i = 0; i < cfg->n_web_listen; i++) {
		const config_listen *a = &cfg->web_listen[i];
		w->listen[i] = *a;
		w->sites[i].w = w;
		w->sites[i].loopback = config_is_loopback(a);
		int fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		if (fd >= 0) {
			w->fds[w->n_fds++] = fd;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
			if (a->addr.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		}
		if (fd < 0 || bind(fd, (const struct sockaddr *)&a->addr, a->addr_len) != 0 ||
		    listen(fd, 64) != 0) {
			snprintf(err, err_len, "web-listen %s: %s", a->text, strerror(errno));
			goto fail;
		}
	}
	return w;
fail:
	web_stop(w);
	return NULL;
}

/* ---- requests ---- */

typedef struct param_walk {
	bool (*fn)(void *ctx, const char *name, const char *value);
	void *ctx;
	bool stopped;
} param_walk;

static enum MHD_Result walk_one(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	(void)kind;
	param_walk *pw = cls;
	if (!pw->fn(pw->ctx, key, value ? value : "")) {
		pw->stopped = true;
		return MHD_NO;
	}
	return MHD_YES;
}

static bool each_param(const web_request *r, bool (*fn)(void *, const char *, const char *),
		       void *ctx)
{
	param_walk pw = { fn, ctx, false };
	r->mhd->get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, walk_one, &pw);
	return !pw.stopped;
}

/* Bearer TOKEN for scripts; Basic with the token as password so a
 * browser can open the dashboard through its own login prompt. */
static bool authorized(const web_site *site, struct MHD_Connection *conn)
{
	web *w = site->w;
	char token[128];
	pthread_mutex_lock(&w->lock);
	memcpy(token, w->token, sizeof token);
	pthread_mutex_unlock(&w->lock);
	/* the configuration check and the reload make a non-loopback listener
	 * without a token impossible; should one exist, it serves nothing */
	if (!token[0])
		return site->loopback;
	size_t len = strlen(token);
	bool ok = false;
	const char *h = w->mhd->lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		ok = strlen(h + 7) == len && CRYPTO_memcmp(h + 7, token, len) == 0;
	} else if (h && strncasecmp(h, "Basic ", 6) == 0) {
		char *password = NULL;
		char *user = w->mhd->basic_auth_get_username_password(conn, &password);
		ok = password && strlen(password) == len && CRYPTO_memcmp(password, token, len) == 0;
		if (user)
			w->mhd->free(user);
		if (password)
			w->mhd->free(password);
	}
	OPENSSL_cleanse(token, sizeof token);
	return ok;
}

static void route(web *w, const web_request *r, web_reply *out)
{
	static const struct {
		const char *path;
		void (*fn)(web *, const web_request *, web_reply *);
	} routes[] = {
		{ "/", web_dashboard },
		{ "/clients", web_clients_page },
		{ "/clients.csv", web_clients_csv },
		{ "/products", web_products_page },
		{ "/api/v1/status", web_api_status },
		{ "/api/v1/clients", web_api_clients },
		{ "/api/v1/products", web_api_products },
		{ "/api/v1/stats", web_api_stats },
		{ "/api/v1/activity", web_api_activity },
		{ "/metrics", web_metrics },
	};
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (strcmp(r->path, routes[i].path) == 0) {
			routes[i].fn(w, r, out);
			return;
		}
	}
	/* one client: the path's last part is its machine id */
	if (strncmp(r->path, "/clients/", 9) == 0) {
		web_client_page(w, r, r->path + 9, out);
		return;
	}
	if (strncmp(r->path, "/api/v1/clients/", 16) == 0) {
		web_api_client(w, r, r->path + 16, out);
		return;
	}
	if (strcmp(r->path, "/kmsd.css") == 0) {
		web_stylesheet(out);
		return;
	}
	web_json_error(out, 404, NULL, "no such page (see /api/v1/status, /metrics or /)");
}

static void security_headers(const mhd_api *mhd, struct MHD_Response *resp)
{
	mhd->add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; style-src 'self'; img-src 'self' data:; "
				"form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
	mhd->add_response_header(resp, "X-Content-Type-Options", "nosniff");
	mhd->add_response_header(resp, "X-Frame-Options", "DENY");
	mhd->add_response_header(resp, "Referrer-Policy", "no-referrer");
	mhd->add_response_header(resp, "Cache-Control", "no-store");
	mhd->add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	const web_site *site = cls;
	web *w = site->w;
	web_reply out = { 200, "application/json", NULL, { 0 } };
	buf_init(&out.body);
	const char *allow = NULL;

	/* read-only: a request with a body is refused before it is read */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		web_json_error(&out, 405, NULL, "read-only: only GET and HEAD are served");
		allow = "GET, HEAD";
		*upload_data_size = 0;
	} else if (!authorized(site, conn)) {
		web_json_error(&out, 401, NULL, "a bearer token is required (Authorization: "
			       "Bearer TOKEN)");
	} else {
		web_request r = { url, (int64_t)time(NULL), each_param, conn, w->mhd };
		route(w, &r, &out);
	}
	(void)con_cls;

	size_t len;
	char *body = buf_take(&out.body, &len);
	const mhd_api *mhd = w->mhd;
	struct MHD_Response *resp;
	if (!body) {
		static char oom[] = "{\"error\": \"out of memory\"}\n";
		out.status = 500;
		out.content_type = "application/json";
		resp = mhd->create_response_from_buffer(strlen(oom), oom, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = mhd->create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	}
	if (!resp)
		return MHD_NO;
	mhd->add_response_header(resp, "Content-Type", out.content_type);
	security_headers(mhd, resp);
	if (allow)
		mhd->add_response_header(resp, "Allow", allow);
	if (out.disposition && out.status == 200)
		mhd->add_response_header(resp, "Content-Disposition", out.disposition);
	if (out.status == 401)
		mhd->add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"kmsd\", Basic realm=\"kmsd\"");
	enum MHD_Result rc = mhd->queue_response(conn, out.status, resp);
	mhd->destroy_response(resp);
	log_debug("web: %s %s -> %u", method, url, out.status);
	return rc;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[256];
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\n")] = 0;
	log_debug("web: %s", line);
}

bool web_start(web *w, server *srv, const kmsd_config *cfg, const char *version, char *err,
	       size_t err_len)
{
	w->srv = srv;
	snprintf(w->id.version, sizeof w->id.version, "%s", version);
	if (store_spec_kind(cfg->store) != STORE_KIND_NONE) {
		char serr[256];
		/* a shared database may be away now: queries reconnect later */
		store_options so = { .read_only = true };
		w->store = store_open_with(cfg->store, &so, serr, sizeof serr);
		if (!w->store)
			log_warning("web: the clients page and API are off: cannot open the store: %s",
				    serr);
		else
			store_set_query_budget(w->store, WEB_QUERY_MS);
		if (w->store && srv->store)
			store_follow_writer(w->store, srv->store);
	}
	web_pool_machines_start(w);
	w->deadline = web_deadline_start(w->mhd, cfg->web_timeout);
	if (!w->deadline) {
		snprintf(err, err_len, "web: cannot start the request deadline thread");
		return false;
	}
	unsigned idle = cfg->web_timeout < HTTP_IDLE_TIMEOUT ? (unsigned)cfg->web_timeout
							    : HTTP_IDLE_TIMEOUT;
	for (size_t i = 0; i < w->n_fds; i++) {
		w->daemons[i] = w->mhd->start_daemon(
			MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, answer,
			&w->sites[i],
			MHD_OPTION_LISTEN_SOCKET, w->fds[i],
			/* a slow store query on one thread, /metrics on another */
			MHD_OPTION_THREAD_POOL_SIZE, (unsigned)WEB_THREADS,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS,
			MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_ADDRESS,
			MHD_OPTION_CONNECTION_TIMEOUT, idle,
			MHD_OPTION_NOTIFY_CONNECTION, web_deadline_notify, w->deadline,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			MHD_OPTION_END);
		if (!w->daemons[i]) {
			snprintf(err, err_len, "web-listen %s: cannot start the HTTP server",
				 cfg->web_listen[i].text);
			return false;
		}
		w->fds[i] = -1; /* the daemon owns it now */
		log_info("web: dashboard, API and metrics on http://%s/", cfg->web_listen[i].text);
	}
	return true;
}

void web_stop(web *w)
{
	if (!w)
		return;
	/* a query running now must not hold up the stop */
	if (w->store)
		store_interrupt(w->store);
	web_pool_machines_stop(w);
	for (size_t i = 0; i < w->n_fds; i++) {
		if (w->daemons[i] && w->mhd)
			w->mhd->stop_daemon(w->daemons[i]);
		if (w->fds[i] >= 0)
			close(w->fds[i]);
	}
	web_deadline_stop(w->deadline); /* no daemon notifies it any more */
	if (w->store)
		store_close(w->store);
	OPENSSL_cleanse(w->token, sizeof w->token);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->store_lock);
	free(w);
}
