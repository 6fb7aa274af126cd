#include "kms/match.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define MAX_WORD 48

/* The next word of `p` (split at spaces and parentheses) into w; returns
 * the position after it, NULL at the end. */
static const char *next_word(const char *p, char w[MAX_WORD])
{
	while (*p && (isspace((unsigned char)*p) || *p == '(' || *p == ')' || *p == ','))
		p++;
	if (!*p)
		return NULL;
	size_t n = 0;
	while (*p && !isspace((unsigned char)*p) && *p != '(' && *p != ')' && *p != ',') {
		if (n + 1 < MAX_WORD)
			w[n++] = *p;
		p++;
	}
	w[n] = '\0';
	return p;
}

/* A typed word against a name's word: the whole, or one of its parts. */
static bool word_matches(const char *typed, const char *word)
{
	if (strcasecmp(typed, word) == 0)
		return true;
	size_t len = strlen(typed);
	for (const char *p = word; *p;) {
		size_t part = strcspn(p, "/-");
		if (part == len && strncasecmp(p, typed, len) == 0)
			return true;
		p += part;
		if (*p)
			p++;
	}
	return false;
}

static bool shared_word(const char *w)
{
	static const char *const shared[] = { "Windows", "Office", "LTSC", "Professional", "Plus",
					      "Microsoft" };
	for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
		if (strcasecmp(w, shared[i]) == 0)
			return true;
	return false;
}

int kms_name_rank(const char *name, const char *words)
{
	char typed[MAX_WORD], word[MAX_WORD];
	const char *p = words;
	bool any = false;
	while ((p = next_word(p, typed))) {
		bool found = false;
		for (const char *q = name; !found && (q = next_word(q, word));)
			found = word_matches(typed, word);
		if (!found)
			return -1;
		any = true;
	}
	if (!any)
		return -1;
	int rank = 0;
	for (const char *q = name; (q = next_word(q, word));) {
		bool was_typed = false;
		for (const char *r = words; !was_typed && (r = next_word(r, typed));)
			was_typed = word_matches(typed, word);
		if (was_typed)
			continue;
		if (strcasecmp(word, "N") == 0 || strcasecmp(word, "GN") == 0)
			rank += 100;
		else if (strcasecmp(word, "Preview") == 0 || strncasecmp(word, "Pre-release", 11) == 0)
			rank += 1000;
		else if (!shared_word(word))
			rank += 1;
	}
	return rank;
}

/* Insert entry (with its rank) into out[] sorted by rank, stable. */
static void insert_ranked(const void **out, int *ranks, size_t *n, size_t max, const void *e,
			  int rank)
{
	size_t i = *n < max ? *n : max;
	while (i > 0 && ranks[i - 1] > rank) {
		if (i < max) {
			out[i] = out[i - 1];
			ranks[i] = ranks[i - 1];
		}
		i--;
	}
	if (i < max) {
		out[i] = e;
		ranks[i] = rank;
	}
	if (*n < max)
		(*n)++;
}

#define RANKED_MAX 512

size_t kms_skus_named(const kms_products *t, const char *words, const kms_sku **out, size_t max)
{
	int ranks[RANKED_MAX];
	size_t kept = 0, total = 0;
	if (max > RANKED_MAX)
		max = RANKED_MAX;
	for (size_t i = 0; i < t->n_skus; i++) {
		const kms_sku *s = &t->skus[i];
		int rank = kms_name_rank(s->name, words);
		if (rank < 0)
			continue;
		if (t->groups[s->group].preview)
			rank += 1000;
		if (!kms_sku_kms_capable(t, s))
			rank += 500;
		insert_ranked((const void **)out, ranks, &kept, max, s, rank);
		total++;
	}
	return total;
}

static size_t groups_ranked(const kms_products *t, const char *words, const kms_group **out,
			    int *ranks, size_t max)
{
	size_t kept = 0, total = 0;
	for (size_t i = 0; i < t->n_groups; i++) {
		int rank = kms_name_rank(t->groups[i].name, words);
		if (rank < 0)
			continue;
		insert_ranked((const void **)out, ranks, &kept, max, &t->groups[i],
			      rank + (t->groups[i].preview ? 1000 : 0));
		total++;
	}
	if (total)
		return total;
	/* no group is called that: the groups of the SKUs that are */
	const kms_sku *skus[RANKED_MAX];
	size_t n = kms_skus_named(t, words, skus, RANKED_MAX);
	uint64_t seen[1024 / 64] = { 0 }; /* group indices are 16-bit; tables hold a few dozen */
	for (size_t i = 0; i < n && i < RANKED_MAX; i++) {
		const kms_group *g = &t->groups[skus[i]->group];
		size_t gi = skus[i]->group;
		if (gi < 1024 && (seen[gi / 64] >> (gi % 64)) & 1)
			continue;
		if (gi < 1024)
			seen[gi / 64] |= UINT64_C(1) << (gi % 64);
		int rank = kms_name_rank(skus[i]->name, words);
		insert_ranked((const void **)out, ranks, &kept, max, g, rank);
		total++;
	}
	return total;
}

size_t kms_groups_named(const kms_products *t, const char *words, const kms_group **out,
			size_t max)
{
	int ranks[RANKED_MAX];
	if (max > RANKED_MAX)
		max = RANKED_MAX;
	return groups_ranked(t, words, out, ranks, max);
}

const kms_group *kms_group_select(const kms_products *t, const char *words, size_t *n_matched)
{
	kms_guid id;
	*n_matched = 0;
	if (guid_parse(words, &id)) {
		const kms_group *g = kms_group_find(t, &id);
		*n_matched = g != NULL;
		return g;
	}
	for (size_t i = 0; i < t->n_groups; i++)
		if (strcasecmp(t->groups[i].name, words) == 0) {
			*n_matched = 1;
			return &t->groups[i];
		}
	const kms_group *best[2];
	int ranks[2];
	size_t n = groups_ranked(t, words, best, ranks, 2);
	*n_matched = n;
	/* several: the best only if it is better than the next */
	return n == 1 || (n > 1 && ranks[0] < ranks[1]) ? best[0] : NULL;
}

bool kms_sku_kms_capable(const kms_products *t, const kms_sku *s)
{
	return s->gvlk && !t->groups[s->group].retail;
}

bool kms_sku_listed(const kms_products *t, const kms_sku *s, const char *words)
{
	return kms_name_rank(s->name, words) >= 0 ||
	       kms_name_rank(t->groups[s->group].name, words) >= 0;
}
