#include "server/host.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

uint32_t host_generate_epids(host_settings *s, uint64_t seed, uint32_t build, bool ndr64,
			     uint32_t lcid, int64_t now)
{
	/* the table in use now: the settings keep it, so a reload that reads
	 * another product-data file never mixes one table's indices with the
	 * other's ePIDs */
	const kms_products *t = s->table = kms_products_current();
	free(s->epids);
	s->epids = calloc(t->n_csvlks, sizeof *s->epids);
	if (!s->epids)
		return 0;
	/* one host, one OS: the build every key it can answer with allows */
	const kms_csvlk *served[256];
	size_t n_served = kms_served_csvlks(t, served, 256);
	const kms_build *host = kms_host_build(t, served, n_served, ndr64, build, now, seed);
	if (!host)
		return 0;
	for (size_t i = 0; i < t->n_csvlks; i++) {
		/* each CSVLK gets its own draw from the seed and its id */
		uint64_t r = seed;
		for (int k = 0; k < 16; k++)
			r = (r ^ t->csvlks[i].id.b[k]) * 0x100000001B3ull;
		const kms_csvlk *c = &t->csvlks[i];
		/* a key no answer uses may not fit the host's build: any of its own */
		if (!kms_epid_generate(t, c, host->build, lcid, now, r, s->epids[i]) &&
		    !kms_epid_generate(t, c, 0, lcid, now, r, s->epids[i]))
			return 0;
	}
	return host->build;
}

void host_settings_free(host_settings *s)
{
	free(s->epids);
	s->epids = NULL;
}

const kms_guid *host_pool(const kms_products *t, const kms_request *req)
{
	const kms_group *g = kms_group_find(t, &req->kms_id);
	return g ? &t->apps[g->app].id : &req->app_id;
}

const char *host_epid_for(const host_settings *s, const kms_decision *d)
{
	for (size_t i = 0; i < s->n_overrides; i++)
		if (d->group && guid_cmp(&s->overrides[i].id, &d->group->id) == 0)
			return s->overrides[i].epid;
	for (size_t i = 0; i < s->n_overrides; i++)
		if (d->app && guid_cmp(&s->overrides[i].id, &d->app->id) == 0)
			return s->overrides[i].epid;
	const kms_products *t = s->table;
	const kms_csvlk *c = kms_csvlk_for(t, d);
	return c ? s->epids[c - t->csvlks] : NULL;
}

/* Random bytes for responses, fetched from the kernel in batches: one
 * getrandom(2) per 64 responses instead of one each. Per thread. */
static bool response_random(uint8_t out[KMS_RANDOM_LEN])
{
	static _Thread_local uint8_t pool[64 * KMS_RANDOM_LEN];
	static _Thread_local size_t used = sizeof pool;
	if (used == sizeof pool) {
		if (!random_bytes(pool, sizeof pool))
			return false;
		used = 0;
	}
	memcpy(out, pool + used, KMS_RANDOM_LEN);
	memset(pool + used, 0, KMS_RANDOM_LEN);
	used += KMS_RANDOM_LEN;
	return true;
}

size_t host_answer(const host_settings *s, client_count *counter, const uint8_t *msg,
		   size_t len, int64_t now, uint8_t *out, size_t cap, host_activation *act)
{
	kms_request_secret secret;
	memset(act, 0, sizeof *act);

	act->decode_error = kms_request_decode(msg, len, &act->req, &secret);
	if (act->decode_error != KMS_OK) {
		act->status = KMS_HR_INVALID_DATA;
		return 0;
	}

	const kms_products *t = s->table;
	kms_policy policy = s->policy;
	policy.listed = s->listed;

	/* no refusal depends on the count: decide first, and count only a
	 * client that is answered (docs/protocol.md section 5) */
	act->decision = kms_decide(t, &policy, &act->req, 0, now);
	if (act->decision.hresult) {
		act->status = act->decision.hresult;
		return 0;
	}
	/* machines are counted in both modes: `always` answers as if the pool
	 * were full, but the dashboard still shows who is really there */
	if (counter) {
		uint32_t pool_count =
			client_count_observe(counter, host_pool(t, &act->req), &act->req.cmid, now);
		act->decision.count = kms_count_to_report(t, &policy, &act->req, act->decision.app,
							  pool_count);
	}

	act->epid = host_epid_for(s, &act->decision);
	kms_answer answer = {
		.epid = act->epid,
		.count = act->decision.count,
		.activation_interval = s->activation_interval,
		.renewal_interval = s->renewal_interval,
	};
	memcpy(answer.hwid, s->hwid, KMS_HWID_LEN);

	uint8_t random[KMS_RANDOM_LEN];
	size_t n = 0;
	if (!response_random(random) ||
	    kms_response_encode(&act->req, &secret, &answer, random, out, cap, &n) != KMS_OK) {
		act->status = KMS_HR_INVALID_DATA;
		act->decision.reason = "could not build the response";
		return 0;
	}
	return n;
}
