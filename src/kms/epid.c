#include "kms/epid.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SECONDS_PER_DAY 86400

/* Successive draws from one 64-bit random value, by a mixing step, so a
 * caller passes a single number and each field still looks independent. */
static uint64_t next_draw(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static const kms_build *pick_build(const kms_products *t, const kms_csvlk *c, int64_t now,
				   uint64_t *rnd)
{
	const kms_build *allowed[32];
	size_t n = 0;
	for (size_t i = 0; i < t->n_epid_builds && n < 32; i++) {
		const kms_build *b = &t->builds[t->epid_builds[i]];
		if (kms_csvlk_allows_build(t, c, b) && b->release_date <= now)
			allowed[n++] = b;
	}
	return n ? allowed[next_draw(rnd) % n] : NULL;
}

/* ndr64: 1 the build must accept NDR64, 0 must not, -1 either. */
static bool host_may_run(const kms_products *t, const kms_build *b, const kms_csvlk *const *keys,
			 size_t n_keys, int ndr64, int64_t now)
{
	if (!b || !b->use_for_epid || (ndr64 >= 0 && b->ndr64 != (ndr64 == 1)) ||
	    b->release_date > now)
		return false;
	for (size_t i = 0; i < n_keys; i++)
		if (!kms_csvlk_allows_build(t, keys[i], b))
			return false;
	return true;
}

const kms_build *kms_host_build(const kms_products *t, const kms_csvlk *const *keys, size_t n_keys,
				bool ndr64, uint32_t build, int64_t now, uint64_t random)
{
	/* a host without NDR64 looks older than 2012 when every key allows
	 * such a build; none does once a modern key is served */
	if (build) {
		const kms_build *b = kms_build_find(t, build);
		return host_may_run(t, b, keys, n_keys, ndr64 ? 1 : -1, now) ? b : NULL;
	}
	const kms_build *allowed[32];
	size_t n = 0;
	for (int pass = 0; pass < 2 && n == 0; pass++) {
		int want = ndr64 ? 1 : pass == 0 ? 0 : -1;
		for (size_t i = 0; i < t->n_epid_builds && n < 32; i++) {
			const kms_build *b = &t->builds[t->epid_builds[i]];
			if (host_may_run(t, b, keys, n_keys, want, now))
				allowed[n++] = b;
		}
	}
	uint64_t rnd = random;
	return n ? allowed[next_draw(&rnd) % n] : NULL;
}

bool kms_epid_generate(const kms_products *t, const kms_csvlk *c, uint32_t build, uint32_t lcid,
		       int64_t now, uint64_t random, char out[KMS_EPID_TEXT_MAX])
{
	uint64_t rnd = random;
	const kms_build *b;
	if (build == 0) {
		b = pick_build(t, c, now, &rnd);
	} else {
		b = kms_build_find(t, build);
		if (b && !kms_csvlk_allows_build(t, c, b))
			b = NULL;
	}
	if (!b || c->min_key_id > c->max_key_id || lcid > 99999)
		return false;

	uint64_t span = (uint64_t)c->max_key_id - c->min_key_id + 1;
	uint32_t key_id = c->min_key_id + (uint32_t)(next_draw(&rnd) % span);

	int64_t earliest = c->release_date > b->release_date ? c->release_date : b->release_date;
	if (earliest > now)
		earliest = now;
	/* draw within the first year after the release, so that once a year
	 * has passed the same seed gives the same date every day */
	int64_t days = (now - earliest) / SECONDS_PER_DAY + 1;
	if (days > 365)
		days = 365;
	time_t installed = (time_t)(earliest + (int64_t)(next_draw(&rnd) % (uint64_t)days) * SECONDS_PER_DAY);
	struct tm tm;
	if (!gmtime_r(&installed, &tm))
		return false;

	int n = snprintf(out, KMS_EPID_TEXT_MAX, "%05u-%05u-%03u-%06u-03-%u-%u.0000-%03d%04d",
			 b->platform_id % 100000, c->group_id % 100000, key_id / 1000000,
			 key_id % 1000000, lcid, b->build, tm.tm_yday + 1, tm.tm_year + 1900);
	return n > 0 && n < KMS_EPID_TEXT_MAX;
}

/* Read exactly `min`..`max` digits at *p; advance past them. */
static bool digits(const char **p, int min, int max, uint32_t *value)
{
	uint32_t v = 0;
	int n = 0;
	while (**p >= '0' && **p <= '9' && n < max) {
		v = v * 10 + (uint32_t)(**p - '0');
		(*p)++;
		n++;
	}
	*value = v;
	return n >= min && !(**p >= '0' && **p <= '9');
}

static bool literal(const char **p, const char *s)
{
	size_t n = strlen(s);
	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

bool kms_epid_parse(const char *epid, kms_epid_fields *f)
{
	const char *p = epid;
	uint32_t key_hi, key_lo, channel, zero, date;
	if (!(digits(&p, 5, 5, &f->platform_id) && literal(&p, "-") &&
	      digits(&p, 5, 5, &f->group_id) && literal(&p, "-") &&
	      digits(&p, 3, 3, &key_hi) && literal(&p, "-") &&
	      digits(&p, 6, 6, &key_lo) && literal(&p, "-") &&
	      digits(&p, 2, 2, &channel) && channel == 3 && literal(&p, "-") &&
	      digits(&p, 4, 5, &f->lcid) && literal(&p, "-") &&
	      digits(&p, 4, 5, &f->build) && literal(&p, ".") &&
	      digits(&p, 4, 4, &zero) && zero == 0 && literal(&p, "-") &&
	      digits(&p, 7, 7, &date) && *p == 0))
		return false;
	f->key_id = key_hi * 1000000 + key_lo;
	f->day_of_year = (uint16_t)(date / 10000);
	f->year = (uint16_t)(date % 10000);
	return f->day_of_year >= 1 && f->day_of_year <= 366 && f->year >= 1990;
}
