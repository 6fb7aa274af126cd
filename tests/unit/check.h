/* A very small unit-test harness.
 *
 * TEST(name) { ... } registers a test; CHECK* macros record a failure with
 * file:line and leave the test. The runner (main.c) prints one line per
 * failure and closes with "N passed, N failed (seed S)".
 *
 * Tests draw every random input from test_seeded_bytes(), never from the
 * kernel: its stream depends only on the run's seed and the test's name, so
 * KMSD_TEST_SEED=S replays a failure exactly, alone or in the whole run.
 * Files go under test_temp_dir(), which the runner removes after each test,
 * whether it passed or not. */
#ifndef KMSD_TESTS_CHECK_H
#define KMSD_TESTS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_failed(const char *file, int line, const char *what);
void test_failed_int(const char *file, int line, const char *what, long long a, long long b);
void test_failed_str(const char *file, int line, const char *what, const char *a, const char *b);

/* Read a file from the vectors directory (KMSD_VECTORS) into a buffer the
 * caller frees. Returns NULL and records a failure when it cannot. */
uint8_t *test_read_vector(const char *name, size_t *len);
const char *test_vectors_dir(void);

/* The run's seed: KMSD_TEST_SEED, or drawn at start. */
uint64_t test_seed(void);
/* Fill buf from the test's seeded stream (always true: the shape of
 * random_bytes, so a test can hand it where that is expected). */
bool test_seeded_bytes(void *buf, size_t len);
/* A number below bound (bound > 0) from the same stream. */
uint64_t test_seeded_below(uint64_t bound);

/* Make a new empty directory for this test and write its path to out.
 * Records a failure and returns false when it cannot. */
bool test_temp_dir(char *out, size_t len);

#define TEST(name)                                                              \
	static void name(void);                                                 \
	__attribute__((constructor)) static void register_##name(void)          \
	{                                                                       \
		test_register(#name, name);                                     \
	}                                                                       \
	static void name(void)

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond)) {                                                  \
			test_failed(__FILE__, __LINE__, #cond);                 \
			return;                                                 \
		}                                                               \
	} while (0)

#define CHECK_EQ(a, b)                                                          \
	do {                                                                    \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		if (check_a_ != check_b_) {                                     \
			test_failed_int(__FILE__, __LINE__, #a " == " #b,       \
					check_a_, check_b_);                    \
			return;                                                 \
		}                                                               \
	} while (0)

#define CHECK_STR(a, b)                                                         \
	do {                                                                    \
		const char *check_a_ = (a), *check_b_ = (b);                    \
		if (strcmp(check_a_, check_b_) != 0) {                          \
			test_failed_str(__FILE__, __LINE__, #a " == " #b,       \
					check_a_, check_b_);                    \
			return;                                                 \
		}                                                               \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#endif
