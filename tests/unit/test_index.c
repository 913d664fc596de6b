/* Unit tests for the index: lookups at scale, duplicates, encode/decode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"

#define N 100000

static void
rand_id(struct mm_id *id, uint64_t *x)
{
	for (size_t i = 0; i < MM_ID_LEN; i++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		id->b[i] = (uint8_t)*x;
	}
}

static void
test_add_find_many(void **state)
{
	struct index ix;
	struct mm_id *ids = malloc(N * sizeof(*ids)), pk;
	struct blob_loc loc, got;
	uint64_t x = 88172645463325252ULL;
	uint32_t p0, p1;
	int added;

	(void)state;
	index_init(&ix);
	memset(&pk, 1, sizeof(pk));
	assert_int_equal(index_add_pack(&ix, &pk, &p0), 0);
	pk.b[0] = 2;
	assert_int_equal(index_add_pack(&ix, &pk, &p1), 0);
	assert_int_equal(p0, 0);
	assert_int_equal(p1, 1);
	for (uint32_t i = 0; i < N; i++) {
		rand_id(&ids[i], &x);
		loc.pack = i % 2;
		loc.offset = i * 100;
		loc.length = 100 + i % 7;
		loc.raw_len = i % 3 ? 0 : 4096;
		loc.type = i % 5 == 0 ? BLOB_TREE : BLOB_DATA;
		assert_int_equal(index_add(&ix, &ids[i], &loc, &added), 0);
		assert_int_equal(added, 1);
	}
	assert_int_equal(ix.n, N);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(index_find(&ix, &ids[i], &got), 0);
		assert_int_equal(got.pack, i % 2);
		assert_int_equal(got.offset, i * 100);
		assert_int_equal(got.length, 100 + i % 7);
		assert_int_equal(got.raw_len, i % 3 ? 0 : 4096);
		assert_int_equal(got.type, i % 5 == 0 ? BLOB_TREE : BLOB_DATA);
	}
	/* A duplicate is not added and does not overwrite. */
	loc.offset = 7;
	assert_int_equal(index_add(&ix, &ids[5], &loc, &added), 0);
	assert_int_equal(added, 0);
	assert_int_equal(index_find(&ix, &ids[5], &got), 0);
	assert_int_equal(got.offset, 500);
	rand_id(&pk, &x);
	assert_int_equal(index_find(&ix, &pk, &got), MM_ENOENT);
	index_release(&ix);
	free(ids);
}

/* The index costs at most 64 bytes of memory per blob, at every size from
 * 65,536 blobs to 1.5 million (growth steps of slots and blocks included). */
static void
test_memory_per_blob(void **state)
{
	struct index ix;
	struct mm_id id, pk;
	struct blob_loc loc = { 0, 0, 100, 0, BLOB_DATA };
	uint64_t x = 42;
	uint32_t pno;
	double worst = 0;

	(void)state;
	index_init(&ix);
	memset(&pk, 7, sizeof(pk));
	assert_int_equal(index_add_pack(&ix, &pk, &pno), 0);
	memset(&id, 0, sizeof(id));
	for (size_t i = 0; i < 1500000; i++) {
		/* Eight random bytes lead (the hash), a counter keeps IDs unique. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(id.b, &x, 8);
		memcpy(id.b + 8, &i, sizeof(i));
		assert_int_equal(index_add(&ix, &id, &loc, NULL), 0);
		if (ix.n >= 65536) {
			double per = (double)index_memory(&ix) / (double)ix.n;
			if (per > worst)
				worst = per;
		}
	}
	assert_int_equal(ix.n, 1500000);
	print_message("index memory: at most %.1f bytes per blob\n", worst);
	assert_true(worst <= 64.0);
	/* Never below the entries themselves: the figure is real. */
	assert_true((double)index_memory(&ix) / (double)ix.n >= (double)sizeof(struct index_entry));
	index_release(&ix);
}

static void
test_encode_decode(void **state)
{
	struct index a, b;
	struct mm_id pk, id;
	struct blob_loc loc, got;
	struct buf enc = BUF_INIT, part = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	uint64_t x = 12345;
	uint32_t pno;

	(void)state;
	index_init(&a);
	index_init(&b);
	for (int p = 0; p < 4; p++) {
		rand_id(&pk, &x);
		assert_int_equal(index_add_pack(&a, &pk, &pno), 0);
		for (int i = 0; i < 50; i++) {
			rand_id(&id, &x);
			loc = (struct blob_loc){ pno, (uint32_t)i * 64, 64, 0, (uint8_t)(i & 1) };
			assert_int_equal(index_add(&a, &id, &loc, NULL), 0);
		}
	}
	/* Index objects are cut after the pack that reaches the blob count. */
	assert_int_equal(index_group_end(&a, 0, 120), 3);
	assert_int_equal(index_group_end(&a, 0, 50), 1);
	assert_int_equal(index_group_end(&a, 3, 1000), 4);
	assert_int_equal(index_group_end(&a, 4, 1000), 4);
	assert_int_equal(index_encode_range(&a, 1, 3, &part), 0);
	assert_int_equal(index_decode(&b, part.data, part.len, &c), 0);
	assert_int_equal(b.npacks, 2);
	assert_int_equal(b.n, 100);
	index_release(&b);
	index_init(&b);
	buf_reset(&part);
	assert_int_equal(index_encode(&a, 0, &enc), 0);
	assert_int_equal(index_decode(&b, enc.data, enc.len, &c), 0);
	assert_int_equal(b.n, a.n);
	assert_int_equal(b.npacks, 4);
	for (size_t i = 0; i < a.n; i++) {
		assert_int_equal(index_find(&b, &index_entry_at(&a, i)->id, &got), 0);
		index_find(&a, &index_entry_at(&a, i)->id, &loc);
		assert_memory_equal(b.packs[got.pack].b, a.packs[loc.pack].b, MM_ID_LEN);
		assert_int_equal(got.offset, loc.offset);
		assert_int_equal(got.type, loc.type);
	}
	/* Only packs from `first` on: the last two. */
	assert_int_equal(index_encode(&a, 2, &part), 0);
	index_release(&b);
	index_init(&b);
	assert_int_equal(index_decode(&b, part.data, part.len, &c), 0);
	assert_int_equal(b.npacks, 2);
	assert_int_equal(b.n, 100);
	/* Every truncation is refused. */
	for (size_t len = 0; len < part.len; len++) {
		struct index t;
		index_init(&t);
		assert_int_not_equal(index_decode(&t, part.data, len, &c), 0);
		index_release(&t);
	}
	index_release(&a);
	index_release(&b);
	buf_release(&enc);
	buf_release(&part);
}

static void
test_hostile_counts(void **state)
{
	const uint8_t p[] = { 'M', 'M', 'I', 'X', 1, 0, 0xff, 0xff, 0xff, 0x7f };
	struct index ix;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	index_init(&ix);
	assert_int_equal(index_decode(&ix, p, sizeof(p), &c), MM_ECORRUPT);
	assert_int_equal(ix.npacks, 0);
	index_release(&ix);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_many),
		cmocka_unit_test(test_memory_per_blob),
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_hostile_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
