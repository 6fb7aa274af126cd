/* The unit-test runner: runs every registered test, or those whose name
 * contains argv[1], and prints a closing "N passed, N failed" line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_TESTS 1024

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static size_t n_tests;
static const char *current;
static bool current_failed;

void test_register(const char *name, test_fn fn)
{
	if (n_tests == MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

void test_failed(const char *file, int line, const char *what)
{
	printf("FAIL %s: %s:%d: %s\n", current, file, line, what);
	current_failed = true;
}

void test_failed_int(const char *file, int line, const char *what, long long a, long long b)
{
	printf("FAIL %s: %s:%d: %s (%lld != %lld)\n", current, file, line, what, a, b);
	current_failed = true;
}

void test_failed_str(const char *file, int line, const char *what, const char *a, const char *b)
{
	printf("FAIL %s: %s:%d: %s (\"%s\" != \"%s\")\n", current, file, line, what, a, b);
	current_failed = true;
}

const char *test_vectors_dir(void)
{
	const char *dir = getenv("KMSD_VECTORS");
	return dir ? dir : "tests/vectors";
}

uint8_t *test_read_vector(const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", test_vectors_dir(), name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		test_failed(path, 0, "cannot open vector");
		return NULL;
	}
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *bigger = realloc(buf, cap *= 2);
			if (!bigger) {
				free(buf);
				buf = NULL;
			}
			buf = bigger;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

static int by_name(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	return strcmp(*x, *y);
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0;

	/* constructors run in link order; sort so runs are reproducible */
	qsort(tests, n_tests, sizeof tests[0], by_name);
	for (size_t i = 0; i < n_tests; i++) {
		if (filter && !strstr(tests[i].name, filter))
			continue;
		current = tests[i].name;
		current_failed = false;
		tests[i].fn();
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
