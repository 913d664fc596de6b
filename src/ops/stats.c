/*
 * stats: sizes of snapshots as a restore would see them, as distinct
 * contents, and as the repository stores them. Each distinct tree is read
 * once: its totals are remembered by tree ID, so thirty snapshots of an
 * unchanged server cost about one walk.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/* An open-addressing map from IDs (HMACs or hashes: their first bytes are
 * already uniform) to four counters. */
struct idmap_slot {
	struct mm_id id;
	uint64_t v[4];
	int used;
};
struct idmap {
	struct idmap_slot *s;
	size_t n, cap; /* cap a power of two */
};

static uint64_t
id_hash(const struct mm_id *id)
{
	uint64_t h;

	memcpy(&h, id->b, sizeof(h));
	return h;
}

static int
idmap_grow(struct idmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	struct idmap_slot *ns = calloc(ncap, sizeof(*ns));

	if (ns == NULL)
		return MM_ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->s[i].used)
			continue;
		size_t j = id_hash(&m->s[i].id) & (ncap - 1);
		while (ns[j].used)
			j = (j + 1) & (ncap - 1);
		ns[j] = m->s[i];
	}
	free(m->s);
	m->s = ns;
	m->cap = ncap;
	return 0;
}

/* The slot of id; *added says whether it was new (its counters zero). */
static int
idmap_get(struct idmap *m, const struct mm_id *id, struct idmap_slot **out, int *added)
{
	size_t j;

	if ((m->n + 1) * 2 > m->cap && idmap_grow(m) != 0)
		return MM_ENOMEM;
	j = id_hash(id) & (m->cap - 1);
	while (m->s[j].used) {
		if (memcmp(m->s[j].id.b, id->b, MM_ID_LEN) == 0) {
			*out = &m->s[j];
			*added = 0;
			return 0;
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->s[j].used = 1;
	m->s[j].id = *id;
	m->n++;
	*out = &m->s[j];
	*added = 1;
	return 0;
}

struct statser {
	struct repo *r;
	enum stats_mode mode;
	struct stats_result *res;
	struct idmap trees;    /* tree ID -> files, dirs, others, bytes below */
	struct idmap blobs;    /* raw: data blob IDs seen */
	struct idmap contents; /* files-by-contents: hash of the content list */
	uint8_t *packs;        /* raw: packs seen, one byte each */
	struct mm_ctx *c;
};

static int
count_blob(struct statser *st, const struct mm_id *id, int tree)
{
	struct idmap_slot *slot;
	struct blob_loc loc;
	uint64_t plain;
	int added, e;

	if ((e = idmap_get(&st->blobs, id, &slot, &added)) != 0)
		return mm_fail(st->c, e, "out of memory");
	if (!added)
		return 0;
	pthread_mutex_lock(&st->r->mu);
	e = index_find(&st->r->idx, id, &loc);
	pthread_mutex_unlock(&st->r->mu);
	if (e != 0) {
		char hex[65];
		hex_encode(id->b, MM_ID_LEN, hex);
		return mm_fail(st->c, MM_ENOENT, "blob %.16s is not in the index: run "
			       "'mamori check'", hex);
	}
	st->res->blobs++;
	if (tree)
		st->res->tree_blobs++;
	else
		st->res->data_blobs++;
	plain = loc.raw_len ? loc.raw_len :
		loc.length > MM_AEAD_OVERHEAD ? loc.length - MM_AEAD_OVERHEAD : 0;
	st->res->stored_bytes += loc.length;
	st->res->uncompressed_bytes += plain;
	if (!tree)
		st->res->data_uncompressed_bytes += plain;
	if (loc.pack < st->r->idx.npacks && !st->packs[loc.pack]) {
		st->packs[loc.pack] = 1;
		st->res->packs++;
	}
	return 0;
}

static int
count_contents(struct statser *st, const struct node *n)
{
	struct idmap_slot *slot;
	struct mm_id key;
	int added, e;

	crypto_sha256(n->content, n->ncontent * sizeof(*n->content), key.b);
	if ((e = idmap_get(&st->contents, &key, &slot, &added)) != 0)
		return mm_fail(st->c, e, "out of memory");
	if (added) {
		st->res->unique_files++;
		st->res->unique_bytes += n->size;
	}
	return 0;
}

/* Totals below tree id into out[4] (files, dirs, others, bytes). */
static int
visit(struct statser *st, const struct mm_id *id, uint64_t out[4])
{
	struct idmap_slot *slot;
	struct tree t = TREE_INIT;
	uint64_t sum[4] = { 0 }, below[4];
	int added, e;

	if ((e = idmap_get(&st->trees, id, &slot, &added)) != 0)
		return mm_fail(st->c, e, "out of memory");
	if (!added) {
		memcpy(out, slot->v, sizeof(slot->v));
		return 0;
	}
	if ((e = repo_tree_load(st->r, id, &t, st->c)) != 0)
		return e;
	st->res->trees_read++;
	if (st->mode == STATS_RAW && (e = count_blob(st, id, 1)) != 0)
		goto out;
	for (size_t i = 0; i < t.n; i++) {
		const struct node *n = &t.nodes[i];

		switch (n->type) {
		case NODE_FILE:
			sum[0]++;
			sum[3] += n->size;
			if (st->mode == STATS_FILES_BY_CONTENTS && (e = count_contents(st, n)) != 0)
				goto out;
			for (size_t k = 0; st->mode == STATS_RAW && k < n->ncontent; k++)
				if ((e = count_blob(st, &n->content[k], 0)) != 0)
					goto out;
			break;
		case NODE_DIR:
			sum[1]++;
			if ((e = visit(st, &n->subtree, below)) != 0)
				goto out;
			for (int k = 0; k < 4; k++)
				sum[k] += below[k];
			break;
		default:
			sum[2]++;
		}
	}
	/* The table may have grown (and moved) while visiting below. */
	if ((e = idmap_get(&st->trees, id, &slot, &added)) != 0) {
		e = mm_fail(st->c, e, "out of memory");
		goto out;
	}
	memcpy(slot->v, sum, sizeof(sum));
	memcpy(out, sum, sizeof(sum));
out:
	tree_release(&t);
	return e;
}

int
ops_stats(struct repo *r, const struct snapshot *v, size_t n, enum stats_mode m,
	  struct stats_result *res, struct mm_ctx *c)
{
	struct statser st;
	uint64_t tot[4];
	int e = 0;

	memset(res, 0, sizeof(*res));
	memset(&st, 0, sizeof(st));
	st.r = r;
	st.mode = m;
	st.res = res;
	st.c = c;
	if (m == STATS_RAW && (st.packs = calloc(r->idx.npacks + 1, 1)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && e == 0; i++) {
		if ((e = visit(&st, &v[i].tree, tot)) != 0) {
			char sid[65];
			hex_encode(v[i].id.b, MM_ID_LEN, sid);
			mm_prefix(c, e, "snapshot %.8s", sid);
			break;
		}
		res->snapshots++;
		res->files += tot[0];
		res->dirs += tot[1];
		res->others += tot[2];
		res->restore_bytes += tot[3];
	}
	free(st.trees.s);
	free(st.blobs.s);
	free(st.contents.s);
	free(st.packs);
	return e;
}
