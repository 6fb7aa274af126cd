#include "server/host.h"

#include <stdlib.h>
#include <string.h>

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

/* Which product, and which pool it counts in, from the decision. */
static void identify(const kms_products *t, host_activation *act)
{
	const kms_decision *d = &act->decision;
	act->group = d->group ? (uint16_t)(d->group - t->groups) : KMS_NO_INDEX;
	act->sku = d->sku ? (uint16_t)(d->sku - t->skus) : KMS_NO_INDEX;
	/* a real host counts a request in its product group's application
	 * even if the client's app id field disagrees; an unknown group in
	 * the app id it names (one bounded bucket for unknown ones) */
	act->pool = d->group ? t->apps[d->group->app].id : act->req.app_id;
}

/* What the log line, the metrics and the store say of the answer. */
static void describe(size_t response_len, host_activation *act)
{
	kms_utf16_to_utf8(act->req.workstation, KMS_WORKSTATION_UNITS, act->workstation,
			  sizeof act->workstation);
	act->count = response_len ? act->decision.count : 0;
	act->result = !response_len ? RESULT_REFUSED
		    : act->count >= act->req.n_policy ? RESULT_ACTIVATED : RESULT_BELOW_THRESHOLD;
}

static size_t respond(const host_settings *s, const kms_request_secret *secret,
		      const uint8_t *random, uint8_t *out, size_t cap, host_activation *act)
{
	act->epid = host_epid_for(s, &act->decision);
	kms_answer answer = {
		.epid = act->epid,
		.count = act->decision.count,
		.activation_interval = s->activation_interval,
		.renewal_interval = s->renewal_interval,
	};
	memcpy(answer.hwid, s->hwid, KMS_HWID_LEN);
	act->random_used = random != NULL;
	size_t n = 0;
	if (!random ||
	    kms_response_encode(&act->req, secret, &answer, random, out, cap, &n) != KMS_OK) {
		act->status = KMS_HR_INVALID_DATA;
		act->decision.reason = "could not build the response";
		return 0;
	}
	return n;
}

size_t host_answer(const host_settings *s, client_count *counter, const uint8_t *msg,
		   size_t len, int64_t now, const uint8_t *random, uint8_t *out, size_t cap,
		   host_activation *act)
{
	kms_request_secret secret;
	memset(act, 0, sizeof *act);
	act->group = act->sku = KMS_NO_INDEX;
	act->result = RESULT_INVALID;
	act->time = now;

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
	identify(t, act);
	size_t n = 0;
	if (act->decision.hresult) {
		act->status = act->decision.hresult;
	} else {
		/* machines are counted in both modes: `always` answers as if the
		 * pool were full, but the dashboard still shows who is really there */
		if (counter) {
			uint32_t pool_count =
				client_count_observe(counter, &act->pool, &act->req.cmid, now);
			act->decision.count = kms_count_to_report(t, &policy, &act->req,
								  act->decision.app, pool_count);
		}
		n = respond(s, &secret, random, out, cap, act);
	}
	describe(n, act);
	return n;
}
