/* Lookups in the generated product table (see products.h). */
#include "kms/products.h"

#include <stdatomic.h>

static _Atomic(const kms_products *) current_table = &kms_builtin_products;

const kms_products *kms_products_current(void)
{
	return atomic_load_explicit(&current_table, memory_order_acquire);
}

void kms_products_use(const kms_products *t)
{
	atomic_store_explicit(&current_table, t ? t : &kms_builtin_products, memory_order_release);
}

/* Every entry type starts with its GUID, so one binary search over the
 * sorted index arrays serves the four tables. */
_Static_assert(offsetof(kms_app, id) == 0, "kms_app must start with its id");
_Static_assert(offsetof(kms_group, id) == 0, "kms_group must start with its id");
_Static_assert(offsetof(kms_sku, id) == 0, "kms_sku must start with its id");
_Static_assert(offsetof(kms_csvlk, id) == 0, "kms_csvlk must start with its id");

static const void *find_by_id(const void *entries, size_t entry_size, const uint16_t *by_id,
			      size_t n, const kms_guid *id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const void *entry = (const char *)entries + (size_t)by_id[mid] * entry_size;
		int order = guid_cmp((const kms_guid *)entry, id);
		if (order == 0)
			return entry;
		if (order < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const kms_app *kms_app_find(const kms_products *t, const kms_guid *id)
{
	return find_by_id(t->apps, sizeof *t->apps, t->apps_by_id, t->n_apps, id);
}

const kms_group *kms_group_find(const kms_products *t, const kms_guid *id)
{
	return find_by_id(t->groups, sizeof *t->groups, t->groups_by_id, t->n_groups, id);
}

const kms_sku *kms_sku_find(const kms_products *t, const kms_guid *id)
{
	return find_by_id(t->skus, sizeof *t->skus, t->skus_by_id, t->n_skus, id);
}

const kms_csvlk *kms_csvlk_find(const kms_products *t, const kms_guid *id)
{
	return find_by_id(t->csvlks, sizeof *t->csvlks, t->csvlks_by_id, t->n_csvlks, id);
}

/* Builds keep the file's order, which need not be sorted; there are ~30. */
const kms_build *kms_build_find(const kms_products *t, uint32_t build)
{
	for (size_t i = 0; i < t->n_builds; i++)
		if (t->builds[i].build == build)
			return &t->builds[i];
	return NULL;
}

/* A NULL build (an unknown number from kms_build_find) is never allowed. */
bool kms_csvlk_allows_build(const kms_products *t, const kms_csvlk *c, const kms_build *b)
{
	if (!b)
		return false;
	for (size_t position = 0; position < t->n_epid_builds && position < 32; position++) {
		if (&t->builds[t->epid_builds[position]] != b)
			continue;
		return !(c->invalid_builds & (UINT32_C(1) << position)) &&
		       b->release_date >= c->release_date;
	}
	return false;
}

bool kms_csvlk_activates(const kms_products *t, const kms_csvlk *c, const kms_group *g)
{
	if (!g)
		return false;
	size_t group = (size_t)(g - t->groups);
	for (size_t i = 0; i < c->n_activate; i++)
		if (t->activates[(size_t)c->first_activate + i] == group)
			return true;
	return false;
}

uint32_t kms_app_max_count(const kms_products *t, const kms_app *app)
{
	uint32_t highest = 0;
	for (size_t i = 0; i < t->n_groups; i++)
		if (&t->apps[t->groups[i].app] == app && t->groups[i].n_policy > highest)
			highest = t->groups[i].n_policy;
	return 2 * (highest ? highest : 25);
}

static bool activates_app(const kms_products *t, const kms_csvlk *c, const kms_app *app)
{
	for (size_t i = 0; i < c->n_activate; i++)
		if (&t->apps[t->groups[t->activates[(size_t)c->first_activate + i]].app] == app)
			return true;
	return false;
}

const kms_csvlk *kms_app_newest_csvlk(const kms_products *t, const kms_app *app)
{
	const kms_csvlk *best = NULL;
	for (size_t i = 0; i < t->n_csvlks; i++) {
		const kms_csvlk *c = &t->csvlks[i];
		if (!activates_app(t, c, app))
			continue;
		bool plain = !c->lab && !c->preview;
		bool best_plain = best && !best->lab && !best->preview;
		if (!best || (plain && !best_plain) ||
		    (plain == best_plain && c->release_date > best->release_date))
			best = c;
	}
	return best;
}
