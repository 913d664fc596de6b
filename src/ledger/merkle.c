/*
 * The Merkle tree of RFC 9162, section 2.1: hashes, prefix roots and
 * consistency proofs (generation and verification).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "ledger/ledger.h"

void
merkle_leaf_hash(const void *p, size_t n, uint8_t out[LEDGER_HASH_LEN])
{
	struct sha256_ctx *h = crypto_sha256_new();
	static const uint8_t zero = 0x00;

	if (h == NULL) {
		memset(out, 0, LEDGER_HASH_LEN);
		return;
	}
	crypto_sha256_update(h, &zero, 1);
	crypto_sha256_update(h, p, n);
	crypto_sha256_final(h, out);
}

void
merkle_node_hash(const uint8_t l[LEDGER_HASH_LEN], const uint8_t r[LEDGER_HASH_LEN],
		 uint8_t out[LEDGER_HASH_LEN])
{
	uint8_t in[1 + 2 * LEDGER_HASH_LEN];

	in[0] = 0x01;
	memcpy(in + 1, l, LEDGER_HASH_LEN);
	memcpy(in + 1 + LEDGER_HASH_LEN, r, LEDGER_HASH_LEN);
	crypto_sha256(in, sizeof(in), out);
}

void
merkle_tree_release(struct merkle_tree *t)
{
	size_t i;

	for (i = 0; i < 64; i++)
		free(t->level[i]);
	memset(t, 0, sizeof(*t));
}

int
merkle_tree_build(struct merkle_tree *t, const uint8_t (*leaves)[LEDGER_HASH_LEN], size_t n)
{
	size_t h, w, i;

	memset(t, 0, sizeof(*t));
	t->n = n;
	if (n == 0)
		return 0;
	if ((t->level[0] = malloc(n * LEDGER_HASH_LEN)) == NULL)
		return MM_ENOMEM;
	memcpy(t->level[0], leaves, n * LEDGER_HASH_LEN);
	/* level h holds the complete subtrees of 2^h leaves. */
	for (h = 1, w = n / 2; w > 0 && h < 64; h++, w /= 2) {
		if ((t->level[h] = malloc(w * LEDGER_HASH_LEN)) == NULL) {
			merkle_tree_release(t);
			return MM_ENOMEM;
		}
		for (i = 0; i < w; i++)
			merkle_node_hash(t->level[h - 1][2 * i], t->level[h - 1][2 * i + 1],
					 t->level[h][i]);
	}
	return 0;
}

/* The largest power of two smaller than n (n > 1). */
static size_t
split_point(size_t n)
{
	size_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

/* MTH(D[start : start + size]); start is a multiple of the largest power
 * of two not above size, as every range of the RFC's recursion is. */
static void
subtree(const struct merkle_tree *t, size_t start, size_t size, uint8_t out[LEDGER_HASH_LEN])
{
	uint8_t l[LEDGER_HASH_LEN], r[LEDGER_HASH_LEN];
	size_t h = 0, k;

	if (size == 0) {
		crypto_sha256("", 0, out);
		return;
	}
	if ((size & (size - 1)) == 0) {
		while (((size_t)1 << h) < size)
			h++;
		memcpy(out, t->level[h][start >> h], LEDGER_HASH_LEN);
		return;
	}
	k = split_point(size);
	subtree(t, start, k, l);
	subtree(t, start + k, size - k, r);
	merkle_node_hash(l, r, out);
}

void
merkle_tree_root(const struct merkle_tree *t, size_t n, uint8_t out[LEDGER_HASH_LEN])
{
	subtree(t, 0, n <= t->n ? n : t->n, out);
}

/* SUBPROOF(m, D[start : start + size], complete) of RFC 9162 2.1.4.1. */
static int
subproof(const struct merkle_tree *t, size_t m, size_t start, size_t size, int complete,
	 struct buf *proof)
{
	uint8_t h[LEDGER_HASH_LEN];
	size_t k;
	int e;

	if (m == size) {
		if (complete)
			return 0;
		subtree(t, start, size, h);
		return buf_append(proof, h, sizeof(h));
	}
	k = split_point(size);
	if (m <= k) {
		if ((e = subproof(t, m, start, k, complete, proof)) != 0)
			return e;
		subtree(t, start + k, size - k, h);
	} else {
		if ((e = subproof(t, m - k, start + k, size - k, 0, proof)) != 0)
			return e;
		subtree(t, start, k, h);
	}
	return buf_append(proof, h, sizeof(h));
}

int
merkle_tree_consistency(const struct merkle_tree *t, size_t m, size_t n, struct buf *proof)
{
	if (m == 0 || m > n || n > t->n)
		return MM_EINVAL;
	return subproof(t, m, 0, n, 1, proof);
}

int
merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t root_m[LEDGER_HASH_LEN],
			  const uint8_t root_n[LEDGER_HASH_LEN], const uint8_t *proof,
			  size_t proof_len)
{
	uint8_t fr[LEDGER_HASH_LEN], sr[LEDGER_HASH_LEN];
	const uint8_t *c;
	size_t count, i;
	uint64_t fn, sn;

	if (proof_len % LEDGER_HASH_LEN != 0 || m > n)
		return MM_ETAMPER;
	count = proof_len / LEDGER_HASH_LEN;
	if (m == n)
		return count == 0 && crypto_memcmp(root_m, root_n, LEDGER_HASH_LEN) == 0 ?
		       0 : MM_ETAMPER;
	if (m == 0)
		return count == 0 ? 0 : MM_ETAMPER; /* the empty tree is a prefix of any */
	if (count == 0)
		return MM_ETAMPER;
	/* 1: when m is a power of two, the proof starts with root_m itself. */
	i = 0;
	if ((m & (m - 1)) == 0) {
		memcpy(fr, root_m, LEDGER_HASH_LEN);
	} else {
		memcpy(fr, proof, LEDGER_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, LEDGER_HASH_LEN);
	/* 2, 3 */
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	/* 5 */
	for (; i < count; i++) {
		c = proof + i * LEDGER_HASH_LEN;
		if (sn == 0)
			return MM_ETAMPER;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(c, fr, fr);
			merkle_node_hash(c, sr, sr);
			if (!(fn & 1)) {
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			merkle_node_hash(sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* 6 */
	if (sn != 0 || crypto_memcmp(fr, root_m, LEDGER_HASH_LEN) != 0 ||
	    crypto_memcmp(sr, root_n, LEDGER_HASH_LEN) != 0)
		return MM_ETAMPER;
	return 0;
}
