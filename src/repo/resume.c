/*
 * Resuming an interrupted backup: packs that reached the store but that no
 * index object names (the run stopped — a dropped connection, kill -9, a
 * full disk — after they were committed and before its index was written)
 * are read back (header checked against the name, every blob against its
 * tag) and put into the index, so their blobs are known and not sent
 * again; the next index object names them.
 */
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"

#define RESUME_TAIL (64u * 1024)

struct found {
	struct mm_id id;
	uint64_t size;
};

struct scan {
	const struct mm_id *known; /* sorted pack IDs of the index */
	size_t nknown;
	struct found *v;
	size_t n, cap;
};

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MM_ID_LEN);
}

static int
collect_unindexed(const char *name, uint64_t size, void *arg)
{
	struct scan *s = arg;
	struct mm_id id;

	if (hex_decode(name, id.b, MM_ID_LEN) != 0)
		return 0;
	if (s->nknown > 0 && bsearch(&id, s->known, s->nknown, sizeof(id), id_cmp) != NULL)
		return 0;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		struct found *nv = realloc(s->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return MM_ENOMEM;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n].id = id;
	s->v[s->n].size = size;
	s->n++;
	return 0;
}

/* Another process that may be writing packs right now (a concurrent
 * backup): its packs are its to index. */
struct others {
	const char *mine;
	int64_t now;
	int live;
};

static int
count_other(const char *name, const struct lock_info *l, void *arg)
{
	struct others *o = arg;

	if (strcmp(name, o->mine) != 0 && !lock_is_stale(l, o->now))
		o->live++;
	return 0;
}

/* The header of one pack, checked against its name. */
static int
read_pack_header(struct repo *r, const struct found *f, struct pack_entry **ents, size_t *n,
		 struct mm_ctx *c)
{
	struct buf tail = BUF_INIT;
	size_t want = f->size < RESUME_TAIL ? (size_t)f->size : RESUME_TAIL;
	uint32_t hlen = 0;
	uint8_t sum[32];
	char name[65];
	int e;

	hex_encode(f->id.b, MM_ID_LEN, name);
	if ((e = backend_read(r->be, OBJ_PACK, name, f->size - want, want, &tail, c)) != 0 ||
	    (e = repo_pack_header_len(tail.data, tail.len, f->size, &hlen, c)) != 0)
		goto out;
	if ((size_t)hlen + 4 > tail.len) {
		want = (size_t)hlen + 4;
		buf_reset(&tail);
		if ((e = backend_read(r->be, OBJ_PACK, name, f->size - want, want, &tail, c)) != 0)
			goto out;
	}
	crypto_sha256(tail.data + tail.len - hlen - 4, (size_t)hlen + 4, sum);
	if (memcmp(sum, f->id.b, MM_ID_LEN) != 0) {
		e = mm_fail(c, MM_ECORRUPT, "its header does not match its name");
		goto out;
	}
	e = repo_pack_parse_tail(r, tail.data, tail.len, f->size, ents, n, c);
out:
	buf_release(&tail);
	return e;
}

/*
 * Every blob of the pack opens under its tag. A pack that arrived whole
 * through S3 always does; a local one renamed into place but not yet
 * fsync'ed when the machine lost power may hold zeros where its blobs
 * were, though its header (its last bytes) is intact: such a pack must not
 * be indexed.
 */
static int
verify_blobs(struct repo *r, const struct found *f, const struct pack_entry *ents, size_t n,
	     struct mm_ctx *c)
{
	struct buf stored = BUF_INIT, plain = BUF_INIT;
	uint64_t off = 0;
	char name[65];
	int e = 0;

	hex_encode(f->id.b, MM_ID_LEN, name);
	for (size_t i = 0; i < n && e == 0; i++) {
		struct blob_loc loc = { 0, (uint32_t)off, ents[i].length, ents[i].raw_len,
					ents[i].type };
		buf_reset(&stored);
		if ((e = backend_read(r->be, OBJ_PACK, name, off, ents[i].length, &stored, c)) == 0)
			e = repo_blob_open(r, &ents[i].id, &loc, stored.data, 0, &plain, c);
		off += ents[i].length;
	}
	buf_release(&stored);
	buf_release(&plain);
	return e;
}

int
repo_resume_packs(struct repo *r, struct resume_result *res, struct mm_ctx *c)
{
	struct scan s = { 0 };
	struct others o = { r->lock_name, time_now_ns(), 0 };
	struct mm_id *known = NULL;
	int e;

	memset(res, 0, sizeof(*res));
	if ((e = repo_list_locks(r, count_other, &o, c)) != 0)
		goto out;
	if (o.live > 0) {
		res->skipped_for_lock = 1;
		e = 0;
		goto out;
	}
	pthread_mutex_lock(&r->mu);
	if (r->idx.npacks > 0 && (known = malloc(r->idx.npacks * sizeof(*known))) == NULL) {
		pthread_mutex_unlock(&r->mu);
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (r->idx.npacks > 0)
		memcpy(known, r->idx.packs, r->idx.npacks * sizeof(*known));
	s.nknown = r->idx.npacks;
	pthread_mutex_unlock(&r->mu);
	if (s.nknown > 0)
		qsort(known, s.nknown, sizeof(*known), id_cmp);
	s.known = known;
	if ((e = backend_list(r->be, OBJ_PACK, collect_unindexed, &s, c)) != 0) {
		if (e == MM_ENOMEM)
			mm_fail(c, e, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		struct mm_ctx pc = MM_CTX_INIT;
		struct pack_entry *ents = NULL;
		size_t nents = 0;
		uint64_t off = 0;
		uint32_t packno;

		e = read_pack_header(r, &s.v[i], &ents, &nents, &pc);
		if (e == 0)
			e = verify_blobs(r, &s.v[i], ents, nents, &pc);
		if (e == MM_ECORRUPT || e == MM_EAUTH || e == MM_ECRYPTO) {
			/* Not a pack this key wrote whole: left for check to report. */
			res->unusable++;
			free(ents);
			e = 0;
			continue;
		}
		if (e != 0) {
			char hex[65];
			hex_encode(s.v[i].id.b, MM_ID_LEN, hex);
			mm_fail(c, e, "pack %s of an interrupted backup: %s", hex, pc.msg);
			free(ents);
			goto out;
		}
		pthread_mutex_lock(&r->mu);
		e = index_add_pack(&r->idx, &s.v[i].id, &packno);
		for (size_t j = 0; j < nents && e == 0; j++) {
			struct blob_loc loc = { packno, (uint32_t)off, ents[j].length,
						ents[j].raw_len, ents[j].type };
			int added = 0;
			e = index_add(&r->idx, &ents[j].id, &loc, &added);
			res->blobs += (uint64_t)added;
			off += ents[j].length;
		}
		pthread_mutex_unlock(&r->mu);
		free(ents);
		if (e != 0) {
			mm_fail(c, e, "out of memory");
			goto out;
		}
		res->packs++;
		res->bytes += s.v[i].size;
	}
	e = 0;
out:
	free(known);
	free(s.v);
	return e;
}
