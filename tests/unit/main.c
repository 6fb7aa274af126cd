/* The unit-test runner: runs every registered test, or those whose name
 * contains argv[1], and prints a closing "N passed, N failed (seed S)"
 * line. Each test gets its own random stream and temporary directory. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MAX_TESTS 1024

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static size_t n_tests;
static const char *current;
static bool current_failed;
static uint64_t seed, stream;
/* this test's temporary directories live in one folder, made on first use */
static char temp_root[4096];
static unsigned temp_made;

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

uint64_t test_seed(void)
{
	return seed;
}

/* splitmix64: small, fast and good enough to vary test inputs */
static uint64_t next_random(void)
{
	uint64_t z = (stream += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

bool test_seeded_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		uint64_t r = next_random();
		size_t n = len < sizeof r ? len : sizeof r;
		memcpy(p, &r, n);
		p += n;
		len -= n;
	}
	return true;
}

uint64_t test_seeded_below(uint64_t bound)
{
	return next_random() % bound;
}

/* The stream a test starts from: the seed mixed with its name, so a test
 * draws the same bytes whichever other tests run before it. */
static uint64_t stream_for(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 0x100000001B3ull;
	return seed ^ h;
}

static uint64_t choose_seed(void)
{
	const char *given = getenv("KMSD_TEST_SEED");
	if (given && *given) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(given, &end, 0);
		if (errno || *end) {
			fprintf(stderr, "KMSD_TEST_SEED=%s: not a number\n", given);
			exit(2);
		}
		return v;
	}
	uint64_t v;
	if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
		v = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return v;
}

bool test_temp_dir(char *out, size_t len)
{
	if (!temp_root[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(temp_root, sizeof temp_root, "%s/kmsd-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(temp_root)) {
			temp_root[0] = '\0';
			test_failed("test_temp_dir", 0, strerror(errno));
			return false;
		}
	}
	int n = snprintf(out, len, "%s/%u", temp_root, ++temp_made);
	if (n < 0 || (size_t)n >= len || mkdir(out, 0700) != 0) {
		test_failed("test_temp_dir", 0, n < 0 || (size_t)n >= len ? "path too long" : strerror(errno));
		return false;
	}
	return true;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "unit: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

/* after every test, passed or failed, and at exit */
static void remove_temp(void)
{
	if (!temp_root[0])
		return;
	nftw(temp_root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	temp_root[0] = '\0';
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

	seed = choose_seed();
	/* on stderr at once, so even a crash leaves the seed to replay it */
	fprintf(stderr, "unit: seed %" PRIu64 "\n", seed);
	atexit(remove_temp);
	/* constructors run in link order; sort so runs are reproducible */
	qsort(tests, n_tests, sizeof tests[0], by_name);
	for (size_t i = 0; i < n_tests; i++) {
		if (filter && !strstr(tests[i].name, filter))
			continue;
		current = tests[i].name;
		current_failed = false;
		stream = stream_for(current);
		tests[i].fn();
		remove_temp();
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("unit: %d passed, %d failed (seed %" PRIu64 ")\n", passed, failed, seed);
	if (failed)
		printf("unit: replay with KMSD_TEST_SEED=%" PRIu64 " %s%s%s\n", seed, argv[0],
		       filter ? " " : "", filter ? filter : "");
	return failed ? 1 : 0;
}

/* The harness itself: a test's stream is its name and the seed, nothing
 * else, so a failure replays whatever ran before it. */
TEST(harness_random_stream_is_the_seed_and_the_test_name)
{
	uint8_t a[40], b[40];
	test_seeded_bytes(a, sizeof a);
	stream = stream_for(current);
	test_seeded_bytes(b, sizeof b);
	CHECK_MEM(a, b, sizeof a);
	stream = stream_for("another test");
	test_seeded_bytes(b, sizeof b);
	CHECK(memcmp(a, b, sizeof a) != 0);
	CHECK(test_seeded_below(7) < 7);
}

TEST(harness_temp_dirs_are_new_and_empty)
{
	char a[4096], b[4096];
	CHECK(test_temp_dir(a, sizeof a));
	CHECK(test_temp_dir(b, sizeof b));
	CHECK(strcmp(a, b) != 0);
	struct stat st;
	CHECK(stat(a, &st) == 0 && S_ISDIR(st.st_mode));
	const char *tmp = getenv("TMPDIR");
	CHECK(strncmp(a, tmp && *tmp ? tmp : "/tmp", strlen(tmp && *tmp ? tmp : "/tmp")) == 0);
}
