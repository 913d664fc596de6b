/* Unit tests for src/chunker: limits, determinism, boundary stability. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunker/chunker.h"

#define DATA_LEN (48u * 1024 * 1024)

static const struct chunker_params P = { CHUNKER_MIN_DEFAULT, CHUNKER_AVG_DEFAULT,
					 CHUNKER_MAX_DEFAULT };

/* xorshift64*: deterministic test data without a crypto dependency. */
static void
fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		p[i] = (uint8_t)((x * 0x2545F4914F6CDD1DULL) >> 56);
	}
}

static void
gear_for(struct chunker_gear *g, uint64_t seed)
{
	uint8_t bytes[CHUNKER_GEAR_BYTES];

	fill_random(bytes, sizeof(bytes), seed);
	chunker_gear_init(g, bytes);
}

/* Cut the whole buffer the way backup does: feed windows of at most
 * 2 * max bytes, keep the tail. Returns the number of chunks. */
static size_t
cut_all(const struct chunker_gear *g, const uint8_t *p, size_t n, size_t *cuts, size_t max)
{
	size_t off = 0, k = 0;

	while (off < n) {
		size_t win = n - off, len;
		int eof = 1;

		if (win > 2 * (size_t)P.max_size) {
			win = 2 * (size_t)P.max_size;
			eof = 0;
		}
		len = chunker_next(&P, g, p + off, win, eof);
		assert_true(len > 0);
		assert_true(k < max);
		off += len;
		cuts[k++] = off;
	}
	return k;
}

static void
test_params_check(void **state)
{
	struct chunker_params bad = P;

	(void)state;
	assert_int_equal(chunker_params_check(&P), 0);
	bad.avg_size = 1000000; /* not a power of two */
	assert_int_equal(chunker_params_check(&bad), MM_EINVAL);
	bad = P;
	bad.min_size = bad.avg_size;
	assert_int_equal(chunker_params_check(&bad), MM_EINVAL);
	bad = P;
	bad.max_size = 128u * 1024 * 1024;
	assert_int_equal(chunker_params_check(&bad), MM_EINVAL);
	bad = P;
	bad.min_size = 1024;
	assert_int_equal(chunker_params_check(&bad), MM_EINVAL);
}

static void
test_gear_little_endian(void **state)
{
	uint8_t bytes[CHUNKER_GEAR_BYTES] = { 0 };
	struct chunker_gear g;

	(void)state;
	bytes[0] = 0x01;
	bytes[7] = 0x80;
	bytes[8] = 0xff;
	chunker_gear_init(&g, bytes);
	assert_true(g.g[0] == 0x8000000000000001ULL);
	assert_true(g.g[1] == 0xffULL);
	assert_true(g.g[255] == 0);
}

static void
test_sizes_within_limits(void **state)
{
	uint8_t *data = malloc(DATA_LEN);
	size_t cuts[256], n, prev = 0;
	struct chunker_gear g;

	(void)state;
	assert_non_null(data);
	fill_random(data, DATA_LEN, 42);
	gear_for(&g, 7);
	n = cut_all(&g, data, DATA_LEN, cuts, 256);
	assert_int_equal(cuts[n - 1], DATA_LEN);
	for (size_t i = 0; i < n; i++) {
		size_t len = cuts[i] - prev;
		if (i + 1 < n)
			assert_true(len >= P.min_size);
		assert_true(len <= P.max_size);
		prev = cuts[i];
	}
	/* Average near 1 MiB: normalised chunking keeps it within a band. */
	assert_true(n >= DATA_LEN / (2 * P.avg_size) && n <= DATA_LEN / (P.avg_size / 2));
	free(data);
}

static void
test_deterministic_and_keyed(void **state)
{
	uint8_t *data = malloc(DATA_LEN);
	size_t a[256], b[256], c[256], na, nb, nc;
	struct chunker_gear g1, g2;

	(void)state;
	assert_non_null(data);
	fill_random(data, DATA_LEN, 43);
	gear_for(&g1, 1);
	gear_for(&g2, 2);
	na = cut_all(&g1, data, DATA_LEN, a, 256);
	nb = cut_all(&g1, data, DATA_LEN, b, 256);
	nc = cut_all(&g2, data, DATA_LEN, c, 256);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na * sizeof(size_t));
	/* Another key, other boundaries: the cut points reveal nothing alone. */
	assert_true(na != nc || memcmp(a, c, na * sizeof(size_t)) != 0);
	free(data);
}

static void
test_insert_byte_changes_only_nearby_chunks(void **state)
{
	uint8_t *data = malloc(DATA_LEN + 1);
	size_t a[256], b[256], na, nb, shared = 0;
	struct chunker_gear g;

	(void)state;
	assert_non_null(data);
	fill_random(data + 1, DATA_LEN, 44);
	gear_for(&g, 9);
	na = cut_all(&g, data + 1, DATA_LEN, a, 256);
	/* Insert one byte 100 KiB from the start. */
	memmove(data, data + 1, 100 * 1024);
	data[100 * 1024] = 0x5a;
	nb = cut_all(&g, data, DATA_LEN + 1, b, 256);
	/* Every cut after the first two of the original must reappear shifted
	 * by one byte in the edited stream. */
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			if (b[j] == a[i] + 1) {
				shared++;
				break;
			}
	assert_true(shared >= na - 2);
	free(data);
}

/* Resuming after a "need more data" answer gives exactly the cut a full
 * scan gives, for every resume point, below and above avg_size. */
static void
test_resume_matches_full_scan(void **state)
{
	struct chunker_gear g;
	size_t n = 3 * (size_t)P.max_size;
	uint8_t *data = malloc(n);
	size_t tried = 0;

	(void)state;
	assert_non_null(data);
	gear_for(&g, 11);
	for (uint64_t seed = 1; seed <= 6; seed++) {
		size_t cut;
		fill_random(data, n, seed);
		cut = chunker_next(&P, &g, data, n, 0);
		assert_true(cut > P.min_size);
		for (size_t from = 0; from < cut; from += 65536 + seed * 4099) {
			/* A buffer of `from` bytes had no cut yet... */
			if (from > P.min_size)
				assert_int_equal(chunker_next(&P, &g, data, from, 0), 0);
			/* ...so resuming there finds the same cut. */
			assert_int_equal(chunker_next_from(&P, &g, data, n, 0, from), cut);
			tried++;
		}
		assert_int_equal(chunker_next_from(&P, &g, data, cut, 1, cut - 1), cut);
	}
	assert_true(tried > 20);
	free(data);
}

static void
test_needs_more_data(void **state)
{
	uint8_t *data = calloc(1, P.max_size);
	struct chunker_gear g;

	(void)state;
	assert_non_null(data);
	gear_for(&g, 3);
	/* Up to min, nothing can be decided without eof. */
	assert_int_equal(chunker_next(&P, &g, data, P.min_size, 0), 0);
	assert_int_equal(chunker_next(&P, &g, data, P.min_size, 1), P.min_size);
	assert_int_equal(chunker_next(&P, &g, data, 10, 1), 10);
	/* Zero bytes never match the mask: the cut is forced at max. */
	assert_int_equal(chunker_next(&P, &g, data, P.max_size, 0), P.max_size);
	assert_int_equal(chunker_next(&P, &g, data, P.max_size - 1, 0), 0);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_check),
		cmocka_unit_test(test_gear_little_endian),
		cmocka_unit_test(test_sizes_within_limits),
		cmocka_unit_test(test_deterministic_and_keyed),
		cmocka_unit_test(test_insert_byte_changes_only_nearby_chunks),
		cmocka_unit_test(test_needs_more_data),
		cmocka_unit_test(test_resume_matches_full_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
