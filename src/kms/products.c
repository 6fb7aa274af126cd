/* Lookups in the generated product table: binary search over the index
 * arrays sorted by GUID. */
#include "kms/products.h"

#define FIND(type, array, index, count)                                               \
	do {                                                                          \
		size_t lo = 0, hi = t->count;                                         \
		while (lo < hi) {                                                     \
			size_t mid = lo + (hi - lo) / 2;                              \
			const type *e = &t->array[t->index[mid]];                     \
			int c = guid_cmp(&e->id, id);                                 \
			if (c == 0)                                                   \
				return e;                                             \
			if (c < 0)                                                    \
				lo = mid + 1;                                         \
			else                                                          \
				hi = mid;                                             \
		}                                                                     \
		return NULL;                                                          \
	} while (0)

const kms_app *kms_app_find(const kms_products *t, const kms_guid *id)
{
	FIND(kms_app, apps, apps_by_id, n_apps);
}

const kms_group *kms_group_find(const kms_products *t, const kms_guid *id)
{
	FIND(kms_group, groups, groups_by_id, n_groups);
}

const kms_sku *kms_sku_find(const kms_products *t, const kms_guid *id)
{
	FIND(kms_sku, skus, skus_by_id, n_skus);
}

const kms_csvlk *kms_csvlk_find(const kms_products *t, const kms_guid *id)
{
	FIND(kms_csvlk, csvlks, csvlks_by_id, n_csvlks);
}

const kms_build *kms_build_find(const kms_products *t, uint32_t build)
{
	for (size_t i = 0; i < t->n_builds; i++)
		if (t->builds[i].build == build)
			return &t->builds[i];
	return NULL;
}

bool kms_csvlk_allows_build(const kms_products *t, const kms_csvlk *c, const kms_build *b)
{
	for (size_t pos = 0; pos < t->n_epid_builds; pos++)
		if (&t->builds[t->epid_builds[pos]] == b)
			return !(c->invalid_builds & (1u << pos)) && b->release_date >= c->release_date;
	return false;
}

bool kms_csvlk_activates(const kms_products *t, const kms_csvlk *c, const kms_group *g)
{
	size_t index = (size_t)(g - t->groups);
	for (size_t i = c->first_activate; i < (size_t)c->first_activate + c->n_activate; i++)
		if (t->activates[i] == index)
			return true;
	return false;
}
