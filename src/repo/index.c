/*
 * The index: blob ID -> (pack, offset, length, raw length). Entries live in
 * fixed blocks; an open-addressing table of u32 slots (linear probing)
 * points into them. IDs are HMAC outputs, so their first bytes are already a
 * uniform hash.
 */
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"

#define INDEX_VERSION 1
#define PACK_TREE_BIT 0x80000000u
#define INDEX_PACKS_MAX (1u << 30)
#define INDEX_BLOB_LEN (MM_ID_LEN + 1 + 4 + 4 + 4)

void
index_init(struct index *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void
index_release(struct index *ix)
{
	for (size_t b = 0; b < ix->nblocks; b++)
		free(ix->blocks[b]);
	free(ix->blocks);
	free(ix->slots);
	free(ix->packs);
	memset(ix, 0, sizeof(*ix));
}

static size_t
slot_of(const struct mm_id *id, size_t mask)
{
	uint64_t h;

	memcpy(&h, id->b, sizeof(h));
	return (size_t)h & mask;
}

static void
place(struct index *ix, size_t entry)
{
	size_t mask = ix->nslots - 1, s = slot_of(&index_entry_at(ix, entry)->id, mask);

	while (ix->slots[s] != 0)
		s = (s + 1) & mask;
	ix->slots[s] = (uint32_t)(entry + 1);
}

static int
grow_slots(struct index *ix)
{
	size_t n = ix->nslots ? ix->nslots * 2 : 1024;
	uint32_t *s;

	if (n > ((size_t)1 << 32))
		return MM_ELIMIT;
	if ((s = calloc(n, sizeof(*s))) == NULL)
		return MM_ENOMEM;
	free(ix->slots);
	ix->slots = s;
	ix->nslots = n;
	for (size_t i = 0; i < ix->n; i++)
		place(ix, i);
	return 0;
}

int
index_add_pack(struct index *ix, const struct mm_id *pack, uint32_t *out)
{
	if (ix->npacks >= INDEX_PACKS_MAX)
		return MM_ELIMIT;
	if (ix->npacks == ix->packs_cap) {
		size_t ncap = ix->packs_cap ? ix->packs_cap * 2 : 64;
		struct mm_id *np = realloc(ix->packs, ncap * sizeof(*np));
		if (np == NULL)
			return MM_ENOMEM;
		ix->packs = np;
		ix->packs_cap = ncap;
	}
	ix->packs[ix->npacks] = *pack;
	*out = (uint32_t)ix->npacks++;
	return 0;
}

static int
add_block(struct index *ix)
{
	struct index_entry *blk;

	if (ix->nblocks == ix->blocks_cap) {
		size_t ncap = ix->blocks_cap ? ix->blocks_cap * 2 : 16;
		struct index_entry **nb = realloc(ix->blocks, ncap * sizeof(*nb));
		if (nb == NULL)
			return MM_ENOMEM;
		ix->blocks = nb;
		ix->blocks_cap = ncap;
	}
	if ((blk = malloc(INDEX_BLOCK * sizeof(*blk))) == NULL)
		return MM_ENOMEM;
	ix->blocks[ix->nblocks++] = blk;
	return 0;
}

size_t
index_memory(const struct index *ix)
{
	return ix->nblocks * INDEX_BLOCK * sizeof(struct index_entry) +
	       ix->blocks_cap * sizeof(*ix->blocks) + ix->nslots * sizeof(*ix->slots) +
	       ix->packs_cap * sizeof(*ix->packs);
}

static long
lookup(const struct index *ix, const struct mm_id *id)
{
	size_t mask, s;

	if (ix->nslots == 0)
		return -1;
	mask = ix->nslots - 1;
	for (s = slot_of(id, mask); ix->slots[s] != 0; s = (s + 1) & mask) {
		const struct index_entry *e = index_entry_at(ix, ix->slots[s] - 1);
		if (memcmp(e->id.b, id->b, MM_ID_LEN) == 0)
			return (long)(ix->slots[s] - 1);
	}
	return -1;
}

int
index_add(struct index *ix, const struct mm_id *id, const struct blob_loc *loc, int *added)
{
	struct index_entry *e;
	int r;

	if (added)
		*added = 0;
	if (lookup(ix, id) >= 0)
		return 0;
	if (ix->n >= UINT32_MAX - 1)
		return MM_ELIMIT;
	/* Load factor at most 0.7 keeps probe sequences short. */
	if ((ix->n + 1) * 10 > ix->nslots * 7 && (r = grow_slots(ix)) != 0)
		return r;
	if (ix->n == ix->nblocks * INDEX_BLOCK && (r = add_block(ix)) != 0)
		return r;
	e = &ix->blocks[ix->n >> INDEX_BLOCK_SHIFT][ix->n & (INDEX_BLOCK - 1)];
	e->id = *id;
	e->pack = loc->pack | (loc->type == BLOB_TREE ? PACK_TREE_BIT : 0);
	e->offset = loc->offset;
	e->length = loc->length;
	e->raw_len = loc->raw_len;
	place(ix, ix->n);
	ix->n++;
	if (added)
		*added = 1;
	return 0;
}

int
index_find(const struct index *ix, const struct mm_id *id, struct blob_loc *out)
{
	long i = lookup(ix, id);
	const struct index_entry *e;

	if (i < 0)
		return MM_ENOENT;
	e = index_entry_at(ix, (size_t)i);
	out->pack = e->pack & ~PACK_TREE_BIT;
	out->type = (e->pack & PACK_TREE_BIT) ? BLOB_TREE : BLOB_DATA;
	out->offset = e->offset;
	out->length = e->length;
	out->raw_len = e->raw_len;
	return 0;
}

static size_t
blobs_in(const uint32_t *count, size_t npk)
{
	size_t total = 0;

	for (size_t k = 0; k < npk; k++)
		total += count[k];
	return total;
}

uint32_t
index_group_end(const struct index *ix, uint32_t first, size_t max_blobs)
{
	uint32_t *count;
	size_t npk = first < ix->npacks ? ix->npacks - first : 0, total = 0, k;

	if (npk == 0 || (count = calloc(npk, sizeof(*count))) == NULL)
		return (uint32_t)ix->npacks; /* one object then, as before */
	for (size_t i = 0; i < ix->n; i++) {
		uint32_t p = index_entry_at(ix, i)->pack & ~PACK_TREE_BIT;
		if (p >= first && p < ix->npacks)
			count[p - first]++;
	}
	for (k = 0; k < npk && total < max_blobs; k++)
		total += count[k];
	free(count);
	return first + (uint32_t)k;
}

int
index_encode(const struct index *ix, uint32_t first, struct buf *out)
{
	return index_encode_range(ix, first, (uint32_t)ix->npacks, out);
}

int
index_encode_range(const struct index *ix, uint32_t first, uint32_t end, struct buf *out)
{
	size_t npk;
	uint32_t *count = NULL, *at = NULL;
	size_t *order = NULL;
	int e;

	if (end > ix->npacks)
		end = (uint32_t)ix->npacks;
	npk = first < end ? end - first : 0;

	if (npk > 0 && ((count = calloc(npk, sizeof(*count))) == NULL ||
			(at = calloc(npk, sizeof(*at))) == NULL)) {
		e = MM_ENOMEM;
		goto out;
	}
	/* Group the blobs by pack, keeping each pack's blobs in entry order. */
	for (size_t i = 0; i < ix->n; i++) {
		uint32_t p = index_entry_at(ix, i)->pack & ~PACK_TREE_BIT;
		if (p >= first && p < end)
			count[p - first]++;
	}
	if (npk > 0 && (order = malloc((blobs_in(count, npk) + 1) *
				       sizeof(*order))) == NULL) {
		e = MM_ENOMEM;
		goto out;
	}
	for (size_t k = 1; k < npk; k++)
		at[k] = at[k - 1] + count[k - 1];
	for (size_t i = 0; i < ix->n; i++) {
		uint32_t p = index_entry_at(ix, i)->pack & ~PACK_TREE_BIT;
		if (p >= first && p < end)
			order[at[p - first]++] = i;
	}
	if ((e = buf_append(out, "MMIX", 4)) != 0 || (e = buf_append_u16(out, INDEX_VERSION)) != 0 ||
	    (e = buf_append_u32(out, (uint32_t)npk)) != 0)
		goto out;
	for (size_t k = 0, pos = 0; k < npk; k++) {
		if ((e = buf_append(out, ix->packs[first + k].b, MM_ID_LEN)) != 0 ||
		    (e = buf_append_u32(out, count[k])) != 0)
			goto out;
		for (uint32_t j = 0; j < count[k]; j++, pos++) {
			const struct index_entry *en = index_entry_at(ix, order[pos]);
			if ((e = buf_append(out, en->id.b, MM_ID_LEN)) != 0 ||
			    (e = buf_append_u8(out, (en->pack & PACK_TREE_BIT) ? BLOB_TREE : BLOB_DATA)) != 0 ||
			    (e = buf_append_u32(out, en->offset)) != 0 ||
			    (e = buf_append_u32(out, en->length)) != 0 ||
			    (e = buf_append_u32(out, en->raw_len)) != 0)
				goto out;
		}
	}
	/* Superseded index objects: none yet (prune will list what it replaces). */
	e = buf_append_u32(out, 0);
out:
	free(count);
	free(at);
	free(order);
	return e;
}

int
index_decode(struct index *ix, const uint8_t *p, size_t n, struct mm_ctx *c)
{
	const uint8_t *magic;
	struct rd r;
	uint32_t npk, nsup;
	uint16_t ver;
	int e;

	rd_init(&r, p, n);
	magic = rd_ptr(&r, 4);
	ver = rd_u16(&r);
	npk = rd_u32(&r);
	if (r.bad || memcmp(magic, "MMIX", 4) != 0)
		return mm_fail(c, MM_ECORRUPT, "not an index (bad magic or truncated)");
	if (ver != INDEX_VERSION)
		return mm_fail(c, MM_EVERSION, "index encoding version %u is not supported", ver);
	if (npk > rd_left(&r) / (MM_ID_LEN + 4))
		return mm_fail(c, MM_ECORRUPT, "index: %u packs cannot fit in %zu bytes", npk,
			       rd_left(&r));
	for (uint32_t k = 0; k < npk; k++) {
		struct mm_id pid;
		uint32_t nb, pno;

		rd_copy(&r, pid.b, MM_ID_LEN);
		nb = rd_u32(&r);
		if (r.bad || nb > rd_left(&r) / INDEX_BLOB_LEN)
			return mm_fail(c, MM_ECORRUPT, "index: pack %u: blob count beyond the data", k);
		if ((e = index_add_pack(ix, &pid, &pno)) != 0)
			return mm_fail(c, e, "index: cannot hold more packs");
		for (uint32_t j = 0; j < nb; j++) {
			struct blob_loc loc;
			struct mm_id id;

			rd_copy(&r, id.b, MM_ID_LEN);
			loc.type = rd_u8(&r);
			loc.offset = rd_u32(&r);
			loc.length = rd_u32(&r);
			loc.raw_len = rd_u32(&r);
			loc.pack = pno;
			if (r.bad || loc.type > BLOB_TREE || loc.length < MM_AEAD_OVERHEAD ||
			    (uint64_t)loc.offset + loc.length > UINT32_MAX ||
			    loc.raw_len > REPO_BLOB_MAX)
				return mm_fail(c, MM_ECORRUPT, "index: pack %u blob %u is invalid", k, j);
			if ((e = index_add(ix, &id, &loc, NULL)) != 0)
				return mm_fail(c, e, "index: cannot hold more blobs");
		}
	}
	nsup = rd_u32(&r);
	if (r.bad || nsup > rd_left(&r) / MM_ID_LEN)
		return mm_fail(c, MM_ECORRUPT, "index: truncated");
	(void)rd_ptr(&r, (size_t)nsup * MM_ID_LEN);
	if (r.bad || rd_left(&r) != 0)
		return mm_fail(c, MM_ECORRUPT, "index: malformed end");
	return 0;
}
