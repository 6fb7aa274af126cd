#include "kms/pools.h"

#include <stddef.h>
#include <strings.h>

const kms_pool kms_pools[KMS_N_POOLS] = {
	{ "windows", "Windows", "55c92734-d682-4d71-983e-d6ec3f16059f" },
	{ "office2010", "Office 2010", "59a52881-a989-479d-af46-f275c6370663" },
	{ "office2013", "Office 2013+", "0ff1ce15-a989-479d-af46-f275c6370663" },
};

const kms_pool *kms_pool_named(const char *word)
{
	for (size_t i = 0; i < KMS_N_POOLS; i++)
		if (strcasecmp(word, kms_pools[i].word) == 0)
			return &kms_pools[i];
	return NULL;
}

bool kms_pool_id(const char *word, kms_guid *out)
{
	const kms_pool *p = kms_pool_named(word);
	return p && guid_parse(p->id, out);
}
