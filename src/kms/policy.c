#include "kms/policy.h"

void kms_policy_defaults(kms_policy *p)
{
	*p = (kms_policy){
		.count_mode = KMS_COUNT_ALWAYS,
		.scope = KMS_SERVE_ALL,
		.max_time_skew = 4 * 3600,
		.max_n_policy = 1000,
	};
}

static bool listed(const kms_policy *p, const kms_guid *id)
{
	for (size_t i = 0; i < p->n_listed; i++)
		if (guid_cmp(&p->listed[i], id) == 0)
			return true;
	return false;
}

static kms_decision refuse(kms_decision d, uint32_t hresult, const char *reason)
{
	d.hresult = hresult;
	d.reason = reason;
	return d;
}

kms_decision kms_decide(const kms_products *t, const kms_policy *p, const kms_request *req,
			uint32_t pool_count, int64_t now)
{
	kms_decision d = { 0 };
	d.group = kms_group_find(t, &req->kms_id);
	d.sku = kms_sku_find(t, &req->sku_id);
	d.app = d.group ? &t->apps[d.group->app] : kms_app_find(t, &req->app_id);

	if (req->n_policy > p->max_n_policy)
		return refuse(d, KMS_HR_INVALID_DATA, "N policy above the allowed maximum");

	switch (p->scope) {
	case KMS_SERVE_ALL:
		if (!d.group && !d.app)
			return refuse(d, KMS_HR_NOT_LICENSED,
				      "unknown application and KMS id (serve = unknown answers them)");
		break;
	case KMS_SERVE_KNOWN:
		if (!d.group)
			return refuse(d, KMS_HR_NOT_LICENSED,
				      "KMS id not in the product data (serve = known)");
		break;
	case KMS_SERVE_LISTED:
		if (!listed(p, &req->kms_id))
			return refuse(d, KMS_HR_NOT_LICENSED,
				      "KMS id not in the served products (serve lines)");
		break;
	case KMS_SERVE_ANY:
		break;
	}
	if (d.group && d.group->retail && p->refuse_retail)
		return refuse(d, KMS_HR_NOT_LICENSED, "retail product group (refuse-retail = yes)");
	if (d.group && d.group->preview && p->refuse_preview)
		return refuse(d, KMS_HR_NOT_LICENSED, "preview product group (refuse-preview = yes)");

	if (p->check_client_time) {
		int64_t skew = kms_unix_from_filetime(req->client_time) - now;
		if (skew > p->max_time_skew || skew < -p->max_time_skew)
			return refuse(d, KMS_HR_TIME_OUT_OF_RANGE,
				      "client time out of range (max-time-skew)");
	}

	d.new_product = !d.group;
	d.count = kms_count_to_report(t, p, req, d.app, pool_count);
	return d;
}

uint32_t kms_count_to_report(const kms_products *t, const kms_policy *p, const kms_request *req,
			     const kms_app *app, uint32_t pool_count)
{
	uint64_t enough = 2ull * req->n_policy;
	if (p->count_mode != KMS_COUNT_REAL)
		return (uint32_t)enough;
	uint64_t cap = app ? kms_app_max_count(t, app) : enough;
	return (uint32_t)(pool_count < cap ? pool_count : cap);
}

const kms_csvlk *kms_csvlk_for(const kms_products *t, const kms_decision *d)
{
	if (d->group)
		return &t->csvlks[d->group->csvlk];
	const kms_csvlk *newest = d->app ? kms_app_newest_csvlk(t, d->app) : NULL;
	if (newest)
		return newest;
	if (t->n_apps && t->apps && t->apps[0].default_csvlk != KMS_NO_INDEX)
		return &t->csvlks[t->apps[0].default_csvlk];
	return t->n_csvlks ? &t->csvlks[0] : NULL;
}

static void add_once(const kms_csvlk **out, size_t *n, size_t max, const kms_csvlk *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < *n; i++)
		if (out[i] == c)
			return;
	if (*n < max)
		out[(*n)++] = c;
}

size_t kms_served_csvlks(const kms_products *t, const kms_csvlk **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n_groups; i++) {
		kms_decision d = { .group = &t->groups[i] };
		add_once(out, &n, max, kms_csvlk_for(t, &d));
	}
	for (size_t i = 0; i < t->n_apps; i++) {
		kms_decision d = { .app = &t->apps[i] };
		add_once(out, &n, max, kms_csvlk_for(t, &d));
	}
	kms_decision none = { 0 };
	add_once(out, &n, max, kms_csvlk_for(t, &none));
	return n;
}
