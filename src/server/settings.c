#include "server/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "server/product_file.h"
#include "server/system.h"

/* The seed generated ePIDs come from: kept in the store once chosen. */
static uint64_t epid_seed(store *st)
{
	uint64_t seed = system_host_seed();
	char text[32];
	if (!st)
		return seed;
	if (store_identity_get(st, "epid-seed", text, sizeof text))
		return strtoull(text, NULL, 16);
	snprintf(text, sizeof text, "%016llx", (unsigned long long)seed);
	store_identity_set(st, "epid-seed", text);
	return seed;
}

/* hwid = auto: made on the first start and kept in the store's identity;
 * without a store, derived from this machine's id (stable across
 * restarts, different between machines). */
static void host_hwid(uint8_t out[KMS_HWID_LEN], store *st)
{
	char text[32];
	uint64_t h = system_host_seed() ^ 0x6877696400000000ull; /* "hwid" */
	if (st && store_identity_get(st, "hwid", text, sizeof text) && strlen(text) == 16) {
		h = strtoull(text, NULL, 16);
	} else if (st) {
		uint64_t fresh;
		if (random_bytes(&fresh, sizeof fresh))
			h = fresh;
		snprintf(text, sizeof text, "%016llX", (unsigned long long)h);
		store_identity_set(st, "hwid", text);
	} else {
		h = (h ^ (h >> 31)) * 0x9E3779B97F4A7C15ull;
	}
	for (int i = 0; i < KMS_HWID_LEN; i++)
		out[i] = (uint8_t)(h >> (56 - 8 * i));
}

/* Prefer ePIDs the store remembers for the same key, build and LCID. */
static void persist_epids(host_settings *h, const kmsd_config *cfg, store *st)
{
	const kms_products *t = h->table;
	for (size_t i = 0; st && i < t->n_csvlks; i++) {
		char name[96], id[GUID_TEXT_LEN], stored[KMS_EPID_TEXT_MAX];
		kms_epid_fields f;
		guid_format(&t->csvlks[i].id, id);
		snprintf(name, sizeof name, "epid/%s/%u/%u", id, h->build, cfg->lcid);
		if (store_identity_get(st, name, stored, sizeof stored) && kms_epid_parse(stored, &f))
			memcpy(h->epids[i], stored, sizeof stored);
		else
			store_identity_set(st, name, h->epids[i]);
	}
}

bool settings_build(const kmsd_config *cfg, int64_t now, store *st, snapshot *s, char *err,
		    size_t err_len)
{
	host_settings *h = &s->host;
	/* the product table first: the ePIDs and served ids come from it */
	if (!product_file_use(cfg->product_data, err, err_len))
		return false;
	kms_policy_defaults(&h->policy);
	h->policy.count_mode = cfg->count_real ? KMS_COUNT_REAL : KMS_COUNT_ALWAYS;
	h->policy.scope = cfg->scope;
	h->policy.n_listed = cfg->n_served;
	h->policy.refuse_retail = cfg->refuse_retail;
	h->policy.refuse_preview = cfg->refuse_preview;
	h->policy.check_client_time = cfg->client_time_check;
	h->policy.max_time_skew = cfg->max_time_skew;
	h->policy.max_n_policy = cfg->max_n_policy;
	memcpy(h->listed, cfg->served, cfg->n_served * sizeof cfg->served[0]);

	h->activation_interval = cfg->activation_interval;
	h->renewal_interval = cfg->renewal_interval;
	if (cfg->hwid_auto)
		host_hwid(h->hwid, st);
	else
		memcpy(h->hwid, cfg->hwid, sizeof h->hwid);
	h->rpc.ndr64 = cfg->ndr64;
	h->rpc.btfn = cfg->btfn;
	for (size_t i = 0; i < cfg->n_epids && i < HOST_MAX_EPID_OVERRIDES; i++) {
		h->overrides[i].id = cfg->epids[i].id;
		memcpy(h->overrides[i].epid, cfg->epids[i].epid, KMS_EPID_TEXT_MAX);
	}
	h->n_overrides = cfg->n_epids < HOST_MAX_EPID_OVERRIDES ? cfg->n_epids : HOST_MAX_EPID_OVERRIDES;

	h->build = host_generate_epids(h, epid_seed(st), cfg->host_build, cfg->ndr64, cfg->lcid, now);
	if (!h->build) {
		if (cfg->host_build)
			snprintf(err, err_len, "host-build %u cannot be this host's OS: it must allow "
				 "every host key served and %s NDR64 (ndr64 = %s)", cfg->host_build,
				 cfg->ndr64 ? "accept" : "not accept", cfg->ndr64 ? "yes" : "no");
		else
			snprintf(err, err_len, "cannot generate ePIDs (lcid %u)", cfg->lcid);
		host_settings_free(h);
		return false;
	}
	persist_epids(h, cfg, st);
	memcpy(s->allow, cfg->allow, sizeof s->allow);
	memcpy(s->deny, cfg->deny, sizeof s->deny);
	s->n_allow = cfg->n_allow;
	s->n_deny = cfg->n_deny;
	s->rate_limit = cfg->rate_limit;
	s->max_connections = cfg->max_connections;
	s->max_per_address = cfg->max_per_address;
	s->max_per_prefix = cfg->max_per_prefix;
	s->idle_timeout = cfg->idle_timeout;
	s->max_requests = cfg->max_requests;
	return true;
}

void settings_free(snapshot *s)
{
	if (!s)
		return;
	host_settings_free(&s->host);
	free(s);
}
