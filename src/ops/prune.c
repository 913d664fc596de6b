/*
 * prune: delete what no snapshot needs, in two phases (see ops.h and
 * docs/repository-format.md, section Prune). Nothing is deleted before the
 * index objects that replace the old ones are durable, and old index
 * objects go before the packs they name.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

enum pack_action { PK_KEEP = 0, PK_DELETE, PK_REPACK };

struct pk {
	uint64_t size;        /* as listed; 0 if missing */
	uint64_t used_bytes;  /* stored bytes of used blobs the index places here */
	uint32_t nblobs, nused;
	int listed;
	enum pack_action action;
};

struct phase2;

struct pruner {
	struct repo *r;
	const struct prune_opts *o;
	struct prune_result *res;
	struct index old;        /* the index objects of phase 1, as loaded */
	uint32_t npk1;           /* packs of the old index in phase 1 */
	struct phase2 *q2;       /* phase 2's state, for need_blob */
	struct index used;       /* blob IDs reached from snapshots */
	struct index files;      /* pack files listed: ID -> number in fsize */
	struct index pack_ids;   /* pack IDs of the old index: ID -> canonical number */
	uint64_t *fsize;
	size_t nfiles, files_cap;
	char (*onames)[65];      /* old index object names */
	size_t nold, old_cap;
	uint32_t *canon;         /* old pack number -> canonical number */
	struct pk *pk;           /* per canonical pack */
	struct mm_id *snaps;     /* snapshot IDs of phase 1 */
	size_t nsnaps;
	struct mm_ctx *c;
};

static void
step(const struct pruner *p, const char *what)
{
	if (p->o->step)
		p->o->step(p->o->step_arg, what);
}

/* ---- limits ------------------------------------------------------------ */

int
prune_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!isdigit((unsigned char)s[0]))
		return MM_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return MM_EINVAL;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': mul = 1ull << 10; end++; break;
	case 'M': mul = 1ull << 20; end++; break;
	case 'G': mul = 1ull << 30; end++; break;
	case 'T': mul = 1ull << 40; end++; break;
	default: return MM_EINVAL;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v > UINT64_MAX / mul)
		return MM_EINVAL;
	*bytes = v * mul;
	return 0;
}

int
prune_parse_limit(const char *s, int *pct, uint64_t *bytes)
{
	size_t n = strlen(s);

	if (n > 1 && s[n - 1] == '%') {
		char *end;
		long v;

		if (!isdigit((unsigned char)s[0]))
			return MM_EINVAL;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno != 0 || end != s + n - 1 || v < 0 || v > 99)
			return MM_EINVAL;
		*pct = (int)v;
		*bytes = 0;
		return 0;
	}
	*pct = -1;
	return prune_parse_size(s, bytes);
}

/* ---- listing ------------------------------------------------------------- */

static int
collect_index_name(const char *name, uint64_t size, void *arg)
{
	struct pruner *p = arg;

	if (strlen(name) != 64 || hex_prefix_len(name) != 64)
		return 0;
	if (p->nold == p->old_cap) {
		size_t ncap = p->old_cap ? p->old_cap * 2 : 64;
		char (*nv)[65] = realloc(p->onames, ncap * sizeof(*nv));
		if (nv == NULL)
			return mm_fail(p->c, MM_ENOMEM, "out of memory");
		p->onames = nv;
		p->old_cap = ncap;
	}
	memcpy(p->onames[p->nold++], name, 65);
	return 0;
}

static int
load_index_named(struct repo *r, const char *name, struct index *ix, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	int e;

	if ((e = repo_object_read(r, OBJ_INDEX, name, REPO_INDEX_MAX, &plain, c)) == 0 &&
	    (e = index_decode(ix, plain.data, plain.len, c)) != 0)
		mm_prefix(c, e, "index/%s", name);
	buf_release(&plain);
	return e;
}

static int
collect_pack_file(const char *name, uint64_t size, void *arg)
{
	struct pruner *p = arg;
	struct blob_loc loc = { 0, 0, 0, 0, 0 };
	struct mm_id id;
	int e;

	if (strlen(name) != 64 || hex_decode(name, id.b, MM_ID_LEN) != 0)
		return 0;
	if (p->nfiles == p->files_cap) {
		size_t ncap = p->files_cap ? p->files_cap * 2 : 256;
		uint64_t *nv = realloc(p->fsize, ncap * sizeof(*nv));
		if (nv == NULL)
			return mm_fail(p->c, MM_ENOMEM, "out of memory");
		p->fsize = nv;
		p->files_cap = ncap;
	}
	loc.pack = (uint32_t)p->nfiles;
	if ((e = index_add(&p->files, &id, &loc, NULL)) != 0)
		return mm_fail(p->c, e, "out of memory");
	p->fsize[p->nfiles++] = size;
	return 0;
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MM_ID_LEN);
}

/* ---- marking ----------------------------------------------------------- */

static int
mark(struct index *set, const struct mm_id *id, int *added)
{
	struct blob_loc loc = { 0, 0, 0, 0, 0 };

	return index_add(set, id, &loc, added);
}

/* Every blob reachable from tree id into used; trees seen are skipped. With
 * need (phase 2), each blob is also passed to it. */
struct walk_ctx {
	struct pruner *p;
	struct index *seen;
	int (*need)(struct pruner *p, const struct mm_id *id);
};

static int
mark_tree(struct walk_ctx *w, const struct mm_id *id)
{
	struct pruner *p = w->p;
	struct tree t = TREE_INIT;
	struct blob_loc loc;
	int added, e;

	if ((e = mark(w->seen, id, &added)) != 0)
		return mm_fail(p->c, e, "out of memory");
	if (!added)
		return 0;
	if (w->need && (e = w->need(p, id)) != 0)
		return e;
	if ((e = repo_tree_load(p->r, id, &t, p->c)) != 0)
		return mm_prefix(p->c, e, "cannot read a tree; prune stops before deleting "
				 "anything (run 'mamori check')");
	for (size_t i = 0; i < t.n && e == 0; i++) {
		const struct node *n = &t.nodes[i];

		for (size_t k = 0; k < n->ncontent && e == 0; k++) {
			if (index_find(&p->r->idx, &n->content[k], &loc) != 0) {
				char hex[65];
				hex_encode(n->content[k].b, MM_ID_LEN, hex);
				e = mm_fail(p->c, MM_ECORRUPT, "blob %.16s of a snapshot is not in "
					    "the index; prune stops before deleting anything (run "
					    "'mamori check')", hex);
			} else if ((e = mark(w->seen, &n->content[k], &added)) != 0) {
				e = mm_fail(p->c, e, "out of memory");
			} else if (added && w->need) {
				e = w->need(p, &n->content[k]);
			}
		}
		if (e == 0 && n->type == NODE_DIR)
			e = mark_tree(w, &n->subtree);
	}
	tree_release(&t);
	return e;
}

/* ---- planning ------------------------------------------------------------ */

static int
map_packs(struct pruner *p)
{
	const struct index *ix = &p->old;
	struct index *ids = &p->pack_ids;
	int e = 0;

	if ((p->canon = calloc(ix->npacks + 1, sizeof(*p->canon))) == NULL ||
	    (p->pk = calloc(ix->npacks + 1, sizeof(*p->pk))) == NULL) {
		e = mm_fail(p->c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t k = 0; k < ix->npacks; k++) {
		struct blob_loc loc = { k, 0, 0, 0, 0 };
		int added;

		if ((e = index_add(ids, &ix->packs[k], &loc, &added)) != 0) {
			e = mm_fail(p->c, e, "out of memory");
			goto out;
		}
		if (!added && index_find(ids, &ix->packs[k], &loc) == 0)
			p->canon[k] = loc.pack;
		else
			p->canon[k] = k;
	}
	for (uint32_t k = 0; k < ix->npacks; k++) {
		struct blob_loc loc;
		if (p->canon[k] != k)
			continue;
		if (index_find(&p->files, &ix->packs[k], &loc) == 0) {
			p->pk[k].listed = 1;
			p->pk[k].size = p->fsize[loc.pack];
		}
	}
	for (size_t i = 0; i < ix->n; i++) {
		const struct index_entry *en = index_entry_at(ix, i);
		struct blob_loc dummy;
		uint32_t k = p->canon[en->pack & 0x7fffffffu];

		p->pk[k].nblobs++;
		if (index_find(&p->used, &en->id, &dummy) == 0) {
			p->pk[k].nused++;
			p->pk[k].used_bytes += en->length;
		}
	}
out:
	return e;
}

struct cand {
	uint32_t k;
	double unused_frac;
};

static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->unused_frac != y->unused_frac)
		return x->unused_frac > y->unused_frac ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

static int
plan(struct pruner *p)
{
	const struct index *ix = &p->old;
	struct prune_result *res = p->res;
	struct cand *cv;
	size_t nc = 0;
	uint64_t unused_after = 0, used_total = 0, limit, repack_read = 0;

	if ((cv = calloc(ix->npacks + 1, sizeof(*cv))) == NULL)
		return mm_fail(p->c, MM_ENOMEM, "out of memory");
	for (uint32_t k = 0; k < ix->npacks; k++) {
		struct pk *q = &p->pk[k];
		uint64_t unused;

		if (p->canon[k] != k)
			continue;
		if (!q->listed) {
			char hex[65];
			free(cv);
			hex_encode(ix->packs[k].b, MM_ID_LEN, hex);
			return mm_fail(p->c, MM_ECORRUPT, "pack %s is named by the index but missing; "
				       "prune stops before deleting anything (run 'mamori check')", hex);
		}
		res->packs++;
		res->bytes_total += q->size;
		res->bytes_used += q->used_bytes;
		unused = q->size > q->used_bytes ? q->size - q->used_bytes : 0;
		if (q->nused == 0) {
			q->action = PK_DELETE;
			res->packs_delete++;
			res->bytes_freed += q->size;
			continue;
		}
		used_total += q->used_bytes;
		if (q->nused < q->nblobs) {
			cv[nc].k = k;
			cv[nc].unused_frac = (double)unused / (double)(q->size ? q->size : 1);
			nc++;
		}
		unused_after += unused;
	}
	res->blobs = ix->n;
	res->blobs_used = p->used.n;
	res->bytes_unused = res->bytes_total - res->bytes_used;
	if (p->o->max_unused_pct >= 0)
		limit = used_total / (uint64_t)(100 - p->o->max_unused_pct) *
			(uint64_t)p->o->max_unused_pct;
	else
		limit = p->o->max_unused_bytes;
	qsort(cv, nc, sizeof(*cv), cand_cmp);
	for (size_t i = 0; i < nc && unused_after > limit; i++) {
		struct pk *q = &p->pk[cv[i].k];
		uint64_t unused = q->size - q->used_bytes;

		if (p->o->max_repack_bytes && repack_read + q->size > p->o->max_repack_bytes)
			continue;
		q->action = PK_REPACK;
		repack_read += q->size;
		unused_after -= unused;
		res->packs_repack++;
		res->bytes_repacked += q->used_bytes;
		res->bytes_freed += q->size - q->used_bytes; /* the copies take the rest */
	}
	free(cv);
	res->packs_keep = res->packs - res->packs_delete - res->packs_repack;
	res->bytes_unused_after = unused_after;
	for (size_t i = 0; i < p->files.n; i++) {
		const struct index_entry *en = index_entry_at(&p->files, i);
		struct blob_loc dummy;
		if (index_find(&p->pack_ids, &en->id, &dummy) != 0)
			res->packs_unindexed++;
	}
	return 0;
}

/* ---- phase 1: the new index -------------------------------------------- */

/* Pack k of the old index with every blob the old index places in it. */
static int
copy_pack_entries(const struct index *from, const uint32_t *canon, uint32_t k,
		  const struct mm_id *pack, struct index *to)
{
	uint32_t np;
	int e;

	if ((e = index_add_pack(to, pack, &np)) != 0)
		return e;
	for (size_t i = 0; i < from->n; i++) {
		const struct index_entry *en = index_entry_at(from, i);
		struct blob_loc loc;

		if (canon[en->pack & 0x7fffffffu] != k)
			continue;
		loc.pack = np;
		loc.type = (en->pack & 0x80000000u) ? BLOB_TREE : BLOB_DATA;
		loc.offset = en->offset;
		loc.length = en->length;
		loc.raw_len = en->raw_len;
		if ((e = index_add(to, &en->id, &loc, NULL)) != 0)
			return e;
	}
	return 0;
}

/* The used blobs of pack k, authenticated, into new packs (through the
 * repository's writers, which now index into nix). */
static int
repack_one(struct pruner *p, uint32_t k)
{
	const struct index *ix = &p->old;
	struct buf raw = BUF_INIT, plain = BUF_INIT;
	char name[65];
	int e = 0;

	hex_encode(ix->packs[k].b, MM_ID_LEN, name);
	for (size_t i = 0; i < ix->n && e == 0; i++) {
		const struct index_entry *en = index_entry_at(ix, i);
		struct blob_loc loc, dummy;
		struct sealed_blob sb;
		int added;

		if (p->canon[en->pack & 0x7fffffffu] != k ||
		    index_find(&p->used, &en->id, &dummy) != 0 ||
		    index_find(&p->r->idx, &en->id, &dummy) == 0)
			continue; /* not this pack, not used, or already in the new index */
		loc.pack = k;
		loc.type = (en->pack & 0x80000000u) ? BLOB_TREE : BLOB_DATA;
		loc.offset = en->offset;
		loc.length = en->length;
		loc.raw_len = en->raw_len;
		buf_reset(&raw);
		buf_reset(&plain);
		if ((e = backend_read(p->r->be, OBJ_PACK, name, en->offset, en->length, &raw,
				      p->c)) != 0)
			break;
		if (raw.len != en->length) {
			e = mm_fail(p->c, MM_ECORRUPT, "pack %s: short read while repacking", name);
			break;
		}
		/* Copied only if it opens: a damaged blob is not spread further. */
		if ((e = repo_blob_open(p->r, &en->id, &loc, raw.data, 0, &plain, p->c)) != 0) {
			mm_prefix(p->c, e, "pack %s: a used blob does not open; prune stops before "
				  "deleting anything (run 'mamori check --read-data')", name);
			break;
		}
		memset(&sb, 0, sizeof(sb));
		sb.id = en->id;
		sb.type = loc.type;
		sb.raw_len = en->raw_len;
		sb.plain_len = (uint32_t)plain.len;
		sb.data = raw; /* lent: put copies the bytes */
		e = repo_blob_put(p->r, &sb, &added, p->c);
	}
	buf_release(&raw);
	buf_release(&plain);
	return e;
}

static int
write_new_index(struct pruner *p)
{
	const struct index *ix = &p->old;
	struct repo *r = p->r;
	int e = 0;

	/* r->idx is the new index (empty at first): repacked blobs go to new
	 * packs in it, and flush writes index objects for every pack in it. */
	pthread_mutex_lock(&r->mu);
	for (uint32_t k = 0; k < ix->npacks && e == 0; k++)
		if (p->canon[k] == k && p->pk[k].action == PK_KEEP)
			e = copy_pack_entries(ix, p->canon, k, &ix->packs[k], &r->idx);
	r->idx_saved = 0;
	pthread_mutex_unlock(&r->mu);
	if (e != 0)
		return mm_fail(p->c, e, "out of memory");
	for (uint32_t k = 0; k < ix->npacks && e == 0; k++) {
		if (p->canon[k] != k || p->pk[k].action != PK_REPACK)
			continue;
		if ((e = repack_one(p, k)) == 0)
			step(p, "repacked");
	}
	if (e == 0 && (e = repo_flush(r, p->c)) == 0)
		step(p, "indexed");
	return e;
}

/* ---- phase 2: under the exclusive lock ------------------------------------ */

struct phase2 {
	struct index extra;   /* index objects written since phase 1 (backups, ours) */
	struct index rescue;  /* old packs that new snapshots need */
	uint8_t *rescued;     /* per canonical pack */
};


/* A blob a new snapshot references must stay reachable through an index
 * object that stays: in the new index, in one written since phase 1, or in
 * an old pack that then is not deleted (and gets indexed again). */
static int
need_blob(struct pruner *p, const struct mm_id *id)
{
	struct phase2 *q = p->q2;
	struct blob_loc loc;
	uint32_t k;
	int e;

	/* extra holds our new index objects too: they were written before. */
	if (index_find(&q->extra, id, &loc) == 0)
		return 0;
	if (index_find(&p->old, id, &loc) != 0)
		return 0; /* mark_tree has already checked that the union knows it */
	k = p->canon[loc.pack];
	if (p->pk[k].action == PK_KEEP || q->rescued[k])
		return 0;
	q->rescued[k] = 1;
	p->res->packs_rescued++;
	if ((e = copy_pack_entries(&p->old, p->canon, k, &p->old.packs[k], &q->rescue)) != 0)
		return mm_fail(p->c, e, "out of memory");
	return 0;
}

static int
snap_known(const struct pruner *p, const struct mm_id *id)
{
	return bsearch(id, p->snaps, p->nsnaps, sizeof(*p->snaps), id_cmp) != NULL;
}

static int
remove_obj(struct pruner *p, enum obj_type t, const char *name)
{
	int e = backend_remove(p->r->be, t, name, p->c);

	if (e == MM_ENOENT)
		e = 0;
	if (e != 0)
		mm_prefix(p->c, e, "cannot remove %s/%s", backend_type_dir(t), name);
	return e;
}

static int
phase2(struct pruner *p)
{
	struct repo *r = p->r;
	struct pruner sub;
	struct phase2 q;
	struct snapshot *sv = NULL;
	size_t nsv = 0;
	char (*now)[65] = NULL;
	size_t nnow = 0;
	struct index seen, saved, xp;
	double t0;
	int e;

	memset(&q, 0, sizeof(q));
	index_init(&q.extra);
	index_init(&q.rescue);
	index_init(&seen);
	index_init(&xp);
	step(p, "waiting");
	if ((e = repo_lock_wait(r, 1, "prune", p->o->lock_wait_ns, p->c)) != 0) {
		mm_prefix(p->c, e, "prune wrote its new index but could not take the exclusive "
			  "lock to delete; nothing was deleted, run prune again later");
		goto out;
	}
	t0 = time_mono();
	step(p, "exclusive");
	if ((q.rescued = calloc(p->old.npacks + 1, 1)) == NULL) {
		e = mm_fail(p->c, MM_ENOMEM, "out of memory");
		goto out;
	}
	/* Index objects that appeared since phase 1. */
	memset(&sub, 0, sizeof(sub));
	sub.c = p->c;
	if ((e = backend_list(r->be, OBJ_INDEX, collect_index_name, &sub, p->c)) != 0)
		goto out;
	now = sub.onames;
	nnow = sub.nold;
	qsort(p->onames, p->nold, sizeof(*p->onames), (int (*)(const void *, const void *))strcmp);
	for (size_t i = 0; i < nnow; i++) {
		if (bsearch(now[i], p->onames, p->nold, sizeof(*p->onames),
			    (int (*)(const void *, const void *))strcmp) != NULL)
			continue;
		if ((e = load_index_named(r, now[i], &q.extra, p->c)) != 0 ||
		    (e = load_index_named(r, now[i], &p->old, p->c)) != 0)
			goto out;
	}
	/* p->old grew packs: canon and pk must cover them (they are kept). */
	{
		uint32_t *nc = realloc(p->canon, (p->old.npacks + 1) * sizeof(*nc));
		struct pk *npk = realloc(p->pk, (p->old.npacks + 1) * sizeof(*npk));
		uint8_t *nr = realloc(q.rescued, p->old.npacks + 1);
		if (nc) p->canon = nc;
		if (npk) p->pk = npk;
		if (nr) q.rescued = nr;
		if (!nc || !npk || !nr) {
			e = mm_fail(p->c, MM_ENOMEM, "out of memory");
			goto out;
		}
	}
	for (size_t k = p->npk1; k < p->old.npacks; k++) {
		p->canon[k] = (uint32_t)k;
		memset(&p->pk[k], 0, sizeof(p->pk[k]));
		p->pk[k].action = PK_KEEP;
		q.rescued[k] = 0;
	}
	/* Snapshots that appeared since phase 1: walk them through the union
	 * of every index, and keep what they need. */
	if ((e = repo_snapshot_list(r, &sv, &nsv, p->c)) != 0)
		goto out;
	saved = r->idx;
	r->idx = p->old;
	p->q2 = &q;
	for (size_t i = 0; i < nsv && e == 0; i++) {
		struct walk_ctx w = { p, &seen, need_blob };
		if (snap_known(p, &sv[i].id))
			continue;
		p->res->new_snapshots++;
		e = mark_tree(&w, &sv[i].tree);
	}
	p->q2 = NULL;
	p->old = r->idx;
	r->idx = saved;
	if (e != 0)
		goto out;
	if (q.rescue.npacks > 0) {
		struct buf plain = BUF_INIT;
		char name[65];

		if ((e = index_encode(&q.rescue, 0, &plain)) != 0)
			mm_fail(p->c, e, "cannot encode index");
		else
			e = repo_object_write(r, OBJ_INDEX, &plain, name, p->c);
		buf_release(&plain);
		if (e != 0)
			goto out;
		step(p, "rescued");
	}
	if ((e = repo_lock_check(r, p->c)) != 0)
		goto out;
	/* The old index objects first: from here the new ones describe the
	 * repository, and a pack is only deleted once nothing names it. */
	for (size_t i = 0; i < p->nold; i++) {
		if ((e = remove_obj(p, OBJ_INDEX, p->onames[i])) != 0)
			goto out;
		p->res->index_removed++;
		step(p, "index-removed");
	}
	for (uint32_t k = 0; k < p->npk1; k++) {
		char hex[65];

		if (p->canon[k] != k || p->pk[k].action == PK_KEEP || q.rescued[k])
			continue;
		hex_encode(p->old.packs[k].b, MM_ID_LEN, hex);
		if ((e = remove_obj(p, OBJ_PACK, hex)) != 0)
			goto out;
		step(p, "pack-removed");
	}
	/* Leftovers of killed backups: listed in phase 1, named by no index. */
	for (size_t k = 0; k < q.extra.npacks; k++) {
		if ((e = mark(&xp, &q.extra.packs[k], NULL)) != 0) {
			e = mm_fail(p->c, e, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < p->files.n; i++) {
		const struct index_entry *en = index_entry_at(&p->files, i);
		struct blob_loc dummy;
		char hex[65];

		if (index_find(&p->pack_ids, &en->id, &dummy) == 0 ||
		    index_find(&xp, &en->id, &dummy) == 0)
			continue;
		hex_encode(en->id.b, MM_ID_LEN, hex);
		if ((e = remove_obj(p, OBJ_PACK, hex)) != 0)
			goto out;
		step(p, "leftover-removed");
	}
	p->res->seconds_exclusive = time_mono() - t0;
out:
	snapshot_list_free(sv, nsv);
	free(now);
	free(q.rescued);
	index_release(&q.extra);
	index_release(&q.rescue);
	index_release(&seen);
	index_release(&xp);
	return e;
}

/* ---- the operation -------------------------------------------------------- */

static void
pruner_release(struct pruner *p)
{
	index_release(&p->old);
	index_release(&p->used);
	index_release(&p->files);
	index_release(&p->pack_ids);
	free(p->fsize);
	free(p->onames);
	free(p->canon);
	free(p->pk);
	free(p->snaps);
}

static int
phase1_mark(struct pruner *p)
{
	struct repo *r = p->r;
	struct snapshot *sv = NULL;
	size_t nsv = 0;
	int e;

	/* Exactly the index objects listed here are the old ones: the index
	 * loaded at open is replaced by them (a backup may have added one). */
	if ((e = backend_list(r->be, OBJ_INDEX, collect_index_name, p, p->c)) != 0)
		return e;
	pthread_mutex_lock(&r->mu);
	index_release(&r->idx);
	index_init(&r->idx);
	for (size_t i = 0; i < p->nold && e == 0; i++)
		e = load_index_named(r, p->onames[i], &r->idx, p->c);
	pthread_mutex_unlock(&r->mu);
	if (e != 0)
		return e;
	if ((e = backend_list(r->be, OBJ_PACK, collect_pack_file, p, p->c)) != 0 ||
	    (e = repo_snapshot_list(r, &sv, &nsv, p->c)) != 0)
		return e;
	p->res->snapshots = nsv;
	if ((p->snaps = malloc((nsv + 1) * sizeof(*p->snaps))) == NULL) {
		e = mm_fail(p->c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nsv; i++)
		p->snaps[i] = sv[i].id;
	p->nsnaps = nsv;
	qsort(p->snaps, nsv, sizeof(*p->snaps), id_cmp);
	for (size_t i = 0; i < nsv && e == 0; i++) {
		struct walk_ctx w = { p, &p->used, NULL };
		char hex[65];

		if ((e = mark_tree(&w, &sv[i].tree)) != 0) {
			hex_encode(sv[i].id.b, MM_ID_LEN, hex);
			mm_prefix(p->c, e, "snapshot %.8s", hex);
		}
	}
	/* The old index moves to the pruner; the repository gets an empty
	 * one, the new index. */
	pthread_mutex_lock(&r->mu);
	p->old = r->idx;
	index_init(&r->idx);
	pthread_mutex_unlock(&r->mu);
	p->npk1 = (uint32_t)p->old.npacks;
out:
	snapshot_list_free(sv, nsv);
	return e;
}

int
ops_prune(struct repo *r, const struct prune_opts *o, struct prune_result *res, struct mm_ctx *c)
{
	struct pruner p;
	double t0 = time_mono();
	int e;

	memset(res, 0, sizeof(*res));
	memset(&p, 0, sizeof(p));
	p.r = r;
	p.o = o;
	p.res = res;
	p.c = c;
	index_init(&p.old);
	index_init(&p.used);
	index_init(&p.files);
	index_init(&p.pack_ids);
	if ((e = phase1_mark(&p)) != 0 || (e = map_packs(&p)) != 0 || (e = plan(&p)) != 0)
		goto out;
	step(&p, "planned");
	if (o->dry_run ||
	    (res->packs_delete == 0 && res->packs_repack == 0 && res->packs_unindexed == 0))
		goto out;
	if ((e = write_new_index(&p)) != 0 || (e = phase2(&p)) != 0)
		goto out;
out:
	res->seconds = time_mono() - t0;
	pruner_release(&p);
	return e;
}
