/* State shared by the web layer's files (private to src/web). */
#ifndef KMSD_WEB_PRIVATE_H
#define KMSD_WEB_PRIVATE_H

#include <pthread.h>
#include <string.h>
#include <stdint.h>

#include "kms/epid.h"
#include "kms/products.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/server.h"
#include "store/store.h"
#include "web/buf.h"
#include "web/deadline.h"
#include "web/mhd.h"
#include "web/params.h"
#include "web/web.h"

#define WEB_GROUPS_MAX 128

/* What the pages say about the host, copied under a lock on reload. */
typedef struct web_identity {
	char version[32];
	bool count_real;
	int64_t count_window;                 /* seconds */
	uint32_t activation_interval, renewal_interval; /* minutes */
	uint8_t hwid[8];
	uint32_t lcid, host_build;
	char epids[KMS_N_POOLS][KMS_EPID_TEXT_MAX];     /* per pool, as kms_pools: what most of its groups get */
	/* the ePID each product group's clients really receive ("" none) */
	char group_epids[WEB_GROUPS_MAX][KMS_EPID_TEXT_MAX];
	bool group_served[WEB_GROUPS_MAX];   /* kms_decide answers a client of the group */
	size_t n_groups;
	char listen[CONFIG_MAX_LISTEN][80];
	size_t n_listen;
	char web_listen[CONFIG_MAX_WEB_LISTEN][80];
	size_t n_web_listen;
	char store_backend[16];               /* "sqlite", "none": never the path or a password */
} web_identity;

/* One listener: what its HTTP daemon is given as context. */
typedef struct web_site {
	struct web *w;
	bool loopback;                        /* never served without a token otherwise */
} web_site;

struct web {
	server *srv;
	int fds[CONFIG_MAX_WEB_LISTEN];
	size_t n_fds;
	config_listen listen[CONFIG_MAX_WEB_LISTEN]; /* what fds[i] is bound to */
	web_site sites[CONFIG_MAX_WEB_LISTEN];
	char token_file[256];                 /* the file the token was read from, if any */
	struct MHD_Daemon *daemons[CONFIG_MAX_WEB_LISTEN];
	const mhd_api *mhd;                   /* loaded by web_open */
	web_deadline *deadline;               /* web-timeout, for every daemon's connections */

	pthread_mutex_t lock;                 /* identity and token */
	/* the store handle (one connection): queries take turns on it, and
	 * never hold up the token check, /metrics or the status */
	pthread_mutex_t store_lock;
#define WEB_QUERY_MS 3000                     /* a store query over it is cancelled: 503 */
#define WEB_THREADS 4                         /* requests served at once per listener */
	web_identity id;
	char token[128];
	store *store;                         /* read-only; NULL with store = none */

	/* machines per pool in the store over the count window, refreshed by
	 * a thread of its own (pool_machines.c) so no page waits for it; -1
	 * until first counted */
	_Atomic long long pool_machines[KMS_N_POOLS];
	pthread_t pool_thread;
	bool pool_running, pool_stop;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_wake;
};

#define WEB_POOL_REFRESH_S 30                 /* how often pool_machines is counted */
void web_pool_machines_start(web *w);
void web_pool_machines_stop(web *w);

/* web_open with the token already known (NULL: read web-token-file). */
web *web_open_with_token(const kmsd_config *cfg, const char *token, char *err, size_t err_len);

/* Read a token file (private to its owner, 16 characters at least). */
bool web_read_token_file(const char *value, char *out, size_t cap, char *err, size_t err_len);

/* A response under construction. */
typedef struct web_reply {
	unsigned status;
	const char *content_type;
	const char *disposition;              /* Content-Disposition, NULL for none */
	buf body;
} web_reply;

/* One GET: path and a way to walk its query parameters. */
typedef struct web_request {
	const char *path;
	int64_t now;
	/* calls fn(ctx, name, value) per parameter; stops at the first false */
	bool (*each_param)(const struct web_request *r,
			   bool (*fn)(void *ctx, const char *name, const char *value), void *ctx);
	void *conn;
	const mhd_api *mhd;
} web_request;

/* One client row as a JSON object, after "[" or a previous one (api.c). */
bool web_client_json(void *ctx, const store_client *c);

/* Pages and endpoints (each fills reply; status 200 unless they say). */
/* /clients/{cmid} and /api/v1/clients/{cmid}: `cmid` is the path's rest */
void web_client_page(web *w, const web_request *r, const char *cmid, web_reply *out);
void web_api_client(web *w, const web_request *r, const char *cmid, web_reply *out);
void web_dashboard(web *w, const web_request *r, web_reply *out);
void web_clients_page(web *w, const web_request *r, web_reply *out);
void web_clients_csv(web *w, const web_request *r, web_reply *out);
/* One CSV field and its separator (RFC 4180; formulas defused). */
void web_csv_field(buf *b, const char *v, bool last);
void web_products_page(web *w, const web_request *r, web_reply *out);
/* The products page's search rule: every word of `query` in the names. */
bool web_product_matches(const kms_sku *s, const char *query);
void web_stylesheet(web_reply *out);
void web_api_status(web *w, const web_request *r, web_reply *out);
void web_api_clients(web *w, const web_request *r, web_reply *out);
void web_api_products(web *w, const web_request *r, web_reply *out);
void web_api_stats(web *w, const web_request *r, web_reply *out);
void web_api_activity(web *w, const web_request *r, web_reply *out);
void web_metrics(web *w, const web_request *r, web_reply *out);

/* The HTML frame: head, navigation, and <main>. refresh: seconds, 0 none. */
void web_page_begin(buf *b, web *w, const char *title, const char *active, int refresh);
void web_page_end(buf *b);
/* The muted row that says a table of `columns` is empty, when `rows` is 0. */
void web_empty_row(buf *b, size_t rows, int columns, const char *text);

/* A JSON error body: {"error": message, "parameter": name}. */
void web_json_error(web_reply *out, unsigned status, const char *parameter, const char *message);
/* True if there is a store to query; else answers 503 saying why. */
bool web_store_or_503(const web *w, web_reply *out);
/* Reject any parameter (for endpoints that take none); true if none. */
bool web_no_params(const web_request *r, web_reply *out);

/* Walk a request's parameters into clients-query parameters; false with
 * the 400 answered when one is wrong. */
bool web_read_clients_params(const web_request *r, web_clients_params *p, web_reply *out);

/* The store query the clients parameters ask for (pointing into p). */
store_query web_store_query(const web_clients_params *p);

/* Shared views of the server's state. */
void web_identity_copy(web *w, web_identity *out);
/* The start of a page that takes no parameters and shows the identity:
 * false, with the 400 answered, when parameters were given. */
bool web_identity_request(web *w, const web_request *r, web_reply *out, web_identity *id);
uint32_t web_pool_clients(web *w, size_t pool, int64_t now);
/* Distinct N policies of a pool's product groups, ascending (e.g. 5, 25). */
size_t web_pool_thresholds(size_t pool, unsigned *out, size_t max);
/* Which pool (kms_pools) an application id is, or KMS_N_POOLS when none. */
size_t web_pool_of(const kms_guid *app);
/* A pool's word in the API (windows, office2010, ...), "other" for none. */
const char *web_pool_key(size_t pool);
void web_format_time(int64_t t, char out[32]);   /* 2026-11-26T06:00:00Z */

/* Past activity as the dashboard shows it (history.c). */
#define WEB_RECENT METRICS_RECENT
typedef struct web_history {
	bool from_store;                      /* else this process's counters */
	int64_t since;                        /* what the totals cover: from here to now */
	uint64_t minutes[60], hours[24];      /* the last hour per minute, the last day per hour */
	uint64_t totals[RESULT_KINDS];
	uint64_t groups[METRICS_GROUPS + 1][3]; /* activated, below, refused per group slot */
	metrics_activation recent[WEB_RECENT]; /* newest first */
	size_t n_recent;
} web_history;
void web_history_load(web *w, int64_t now, web_history *h);
/* The store's part: false when there is no activity data to read. */
bool web_history_from_store(web *w, int64_t now, web_history *h);

/* activated, below threshold or refused, from an answer and the group's N */
enum metrics_result web_answer_kind(uint32_t result, uint32_t count, unsigned n_policy);

/* Presentation (present.c). */
void web_format_local(int64_t t, char out[48]);  /* 2026-11-26 07:00:00 CET, the host's zone */
void web_zone(int64_t now, char out[64]);        /* "CET, UTC+01:00" */
/* A table cell's content: local time, UTC below it. */
void web_time_cell(buf *b, int64_t t);
/* "10.0.0.5:49731" -> "10.0.0.5", "[::1]:5000" -> "::1". */
void web_address_host(const char *address, char out[64]);
/* An answer in words and a symbol beside its colour. n_policy 0: unknown. */
void web_answer_text(buf *b, uint32_t hresult, uint32_t count, unsigned n_policy);
const char *web_hresult_meaning(uint32_t code);
unsigned web_n_policy(const kms_guid *kms_id);

#endif
