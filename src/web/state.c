/* Views of the running host the pages share: identity, pools, times. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kms/products.h"
#include "web/web.h"
#include "web/web_private.h"

/* Whether the policy answers a well-formed client of group g: the same
 * decision a real request gets, so the pages cannot disagree with it. */
static bool group_served(const snapshot *s, size_t g)
{
	const kms_products *t = &kms_product_table;
	const kms_group *grp = &t->groups[g];
	int64_t now = (int64_t)time(NULL);
	kms_request req;
	memset(&req, 0, sizeof req);
	req.major = grp->protocol;
	req.app_id = t->apps[grp->app].id;
	req.kms_id = grp->id;
	for (size_t i = 0; i < t->n_skus; i++)
		if (t->skus[i].group == g) {
			req.sku_id = t->skus[i].id;
			break;
		}
	req.n_policy = grp->n_policy;
	req.license_status = 2;
	req.client_time = (uint64_t)(now + 11644473600LL) * 10000000ULL; /* FILETIME */
	kms_policy policy = s->host.policy; /* as host.c decides: the list is the snapshot's */
	policy.listed = s->host.listed;
	kms_decision d = kms_decide(t, &policy, &req, 2u * grp->n_policy, now);
	return d.hresult == 0;
}

/* Each group's ePID as host_epid_for chooses it for a client of that
 * group, and per pool the one most of its served groups get. */
static void group_epids(web_identity *id, const snapshot *s)
{
	const kms_products *t = &kms_product_table;
	id->n_groups = t->n_groups < WEB_GROUPS_MAX ? t->n_groups : WEB_GROUPS_MAX;
	for (size_t g = 0; g < id->n_groups; g++) {
		kms_decision d;
		memset(&d, 0, sizeof d);
		d.group = &t->groups[g];
		d.app = &t->apps[d.group->app];
		const char *epid = host_epid_for(&s->host, &d);
		snprintf(id->group_epids[g], sizeof id->group_epids[g], "%s", epid ? epid : "");
		id->group_served[g] = group_served(s, g);
	}
	for (size_t i = 0; i < KMS_N_POOLS; i++) {
		size_t best = 0, best_n = 0;
		for (size_t g = 0; g < id->n_groups; g++) {
			const kms_group *grp = &t->groups[g];
			if (web_pool_of(&t->apps[grp->app].id) != i || grp->retail || grp->preview)
				continue;
			size_t n = 0;
			for (size_t h = 0; h < id->n_groups; h++)
				n += web_pool_of(&t->apps[t->groups[h].app].id) == i &&
				     !t->groups[h].retail && !t->groups[h].preview &&
				     strcmp(id->group_epids[h], id->group_epids[g]) == 0;
			if (n > best_n) {
				best = g;
				best_n = n;
			}
		}
		snprintf(id->epids[i], sizeof id->epids[i], "%s", best_n ? id->group_epids[best] : "");
	}
}

void web_update(web *w, const kmsd_config *cfg, const snapshot *s)
{
	web_identity id;
	memset(&id, 0, sizeof id);
	pthread_mutex_lock(&w->lock);
	memcpy(id.version, w->id.version, sizeof id.version);
	pthread_mutex_unlock(&w->lock);

	id.count_real = cfg->count_real;
	id.count_window = cfg->count_window;
	id.activation_interval = cfg->activation_interval;
	id.renewal_interval = cfg->renewal_interval;
	memcpy(id.hwid, s->host.hwid, sizeof id.hwid);
	id.lcid = cfg->lcid;
	id.host_build = s->host.build;
	group_epids(&id, s);
	for (size_t i = 0; i < cfg->n_listen; i++)
		snprintf(id.listen[id.n_listen++], sizeof id.listen[0], "%s", cfg->listen[i].text);
	for (size_t i = 0; i < cfg->n_web_listen; i++)
		snprintf(id.web_listen[id.n_web_listen++], sizeof id.web_listen[0], "%s",
			 cfg->web_listen[i].text);
	snprintf(id.store_backend, sizeof id.store_backend, "%.*s",
		 (int)strcspn(cfg->store, ":"), cfg->store);

	pthread_mutex_lock(&w->lock);
	w->id = id;
	/* a token file is read once, as root, before privileges are dropped */
	if (!cfg->web_token_file[0])
		snprintf(w->token, sizeof w->token, "%s", cfg->web_token);
	pthread_mutex_unlock(&w->lock);
}

void web_identity_copy(web *w, web_identity *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->id;
	pthread_mutex_unlock(&w->lock);
}

bool web_identity_request(web *w, const web_request *r, web_reply *out, web_identity *id)
{
	if (!web_no_params(r, out))
		return false;
	web_identity_copy(w, id);
	return true;
}

/* Each product group's N, for the store's answer filter. */
static store_threshold thresholds[WEB_GROUPS_MAX];
static pthread_once_t thresholds_once = PTHREAD_ONCE_INIT;
static size_t n_thresholds;

static void thresholds_fill(void)
{
	const kms_products *t = &kms_product_table;
	for (size_t g = 0; g < t->n_groups && n_thresholds < WEB_GROUPS_MAX; g++)
		thresholds[n_thresholds++] = (store_threshold){ t->groups[g].id, t->groups[g].n_policy };
}

store_query web_store_query(const web_clients_params *p)
{
	pthread_once(&thresholds_once, thresholds_fill);
	store_query q = {
		.kms_id = p->has_kms_id ? &p->kms_id : NULL,
		.app_id = p->has_app ? &p->app_id : NULL,
		.since = p->since,
		.search = p->search[0] ? p->search : NULL,
		.order = p->sort,
		.limit = p->limit,
		.offset = p->offset,
		.after = p->has_cursor ? &p->cursor : NULL,
		/* a broad search is counted no further than a page costs */
		.count_max = p->search[0] ? STORE_SEARCH_COUNT_MAX : WEB_COUNT_MAX,
		.answer = !p->result ? STORE_ANSWER_ANY
			: strcmp(p->result, "activated") == 0 ? STORE_ANSWER_ACTIVATED
			: strcmp(p->result, "refused") == 0 ? STORE_ANSWER_REFUSED : STORE_ANSWER_BELOW,
		.thresholds = thresholds,
		.n_thresholds = n_thresholds,
	};
	return q;
}

size_t web_pool_of(const kms_guid *app)
{
	for (size_t i = 0; i < KMS_N_POOLS; i++) {
		kms_guid id;
		if (guid_parse(kms_pools[i].id, &id) && guid_cmp(&id, app) == 0)
			return i;
	}
	return KMS_N_POOLS;
}

const char *web_pool_key(size_t pool)
{
	return pool < KMS_N_POOLS ? kms_pools[pool].word : "other";
}

uint32_t web_pool_clients(web *w, size_t pool, int64_t now)
{
	kms_guid app;
	if (pool >= KMS_N_POOLS || !w->srv->counter || !guid_parse(kms_pools[pool].id, &app))
		return 0;
	uint32_t counted = client_count_get(w->srv->counter, &app, now);
	/* the store's figure lags by up to WEB_POOL_REFRESH_S: the larger of
	 * the two is the better one */
	long long stored = w->pool_machines[pool];
	return stored > (long long)counted ? (stored > UINT32_MAX ? UINT32_MAX : (uint32_t)stored)
					   : counted;
}

size_t web_pool_thresholds(size_t pool, unsigned *out, size_t max)
{
	const kms_products *t = &kms_product_table;
	kms_guid app;
	size_t n = 0;
	if (pool >= KMS_N_POOLS || !guid_parse(kms_pools[pool].id, &app))
		return 0;
	for (size_t g = 0; g < t->n_groups; g++) {
		const kms_group *grp = &t->groups[g];
		if (guid_cmp(&t->apps[grp->app].id, &app) != 0 || grp->retail || grp->preview)
			continue;
		size_t i = 0;
		while (i < n && out[i] < grp->n_policy)
			i++;
		if ((i < n && out[i] == grp->n_policy) || n == max)
			continue;
		memmove(out + i + 1, out + i, (n - i) * sizeof *out);
		out[i] = grp->n_policy;
		n++;
	}
	return n;
}

void web_format_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

void web_json_error(web_reply *out, unsigned status, const char *parameter, const char *message)
{
	buf_free(&out->body);
	out->status = status;
	out->content_type = "application/json";
	buf_puts(&out->body, "{\"error\": ");
	buf_json_string(&out->body, message);
	if (parameter) {
		buf_puts(&out->body, ", \"parameter\": ");
		buf_json_string(&out->body, parameter);
	}
	buf_puts(&out->body, "}\n");
}

bool web_store_or_503(const web *w, web_reply *out)
{
	if (w->store)
		return true;
	web_json_error(out, 503, NULL, "the client store is off (store = none) or unreadable");
	return false;
}

static bool refuse_any(void *ctx, const char *name, const char *value)
{
	(void)value;
	snprintf(ctx, 64, "%s", name);
	return false;
}

bool web_no_params(const web_request *r, web_reply *out)
{
	char name[64];
	if (r->each_param(r, refuse_any, name))
		return true;
	char message[128];
	snprintf(message, sizeof message, "unknown parameter \"%.40s\": this endpoint takes none",
		 name);
	web_json_error(out, 400, name, message);
	return false;
}
