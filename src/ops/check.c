/*
 * check: is every snapshot readable, every tree and blob it needs present,
 * every pack the index names there — and, with read_data, is every byte of
 * every pack what its name and the index say.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

struct pack_file {
	struct mm_id id;
	uint64_t size;
};

struct checker {
	struct repo *r;
	const struct check_opts *o;
	struct check_result *res;
	struct index seen_trees; /* used as a set */
	struct index seen_blobs;
	struct pack_file *files; /* packs present in the backend, sorted */
	size_t nfiles, files_cap;
	/* Index entries by pack: those of canonical pack p (the first number
	 * with its ID) are refs[ref_start[p] .. ref_start[p + 1]). */
	uint32_t *canon;
	size_t *ref_start;
	size_t *refs;
	struct index pack_ids; /* set of the pack IDs the index names */
	pthread_mutex_t mu; /* warn and counters during read_data */
};

static void
problem(struct checker *k, const char *fmt, ...) MM_PRINTF(2, 3);

static void
problem(struct checker *k, const char *fmt, ...)
{
	char msg[1400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&k->mu);
	k->res->errors++;
	if (k->o->rep.warn)
		k->o->rep.warn(k->o->rep.arg, msg);
	pthread_mutex_unlock(&k->mu);
}

/* Adds id to a set; returns 1 when it was already there. */
static int
set_seen(struct index *set, const struct mm_id *id, int *err)
{
	static const struct blob_loc none = { 0, 0, MM_AEAD_OVERHEAD, 0, 0 };
	int added = 0;

	*err = index_add(set, id, &none, &added);
	return !added;
}

/* ---- trees ---------------------------------------------------------- */

static int
check_node_blobs(struct checker *k, const char *snap, const char *path, const struct node *n)
{
	struct blob_loc loc;
	char hex[65];
	int err;

	for (size_t i = 0; i < n->ncontent; i++) {
		if (set_seen(&k->seen_blobs, &n->content[i], &err))
			continue;
		if (err)
			return err;
		k->res->blobs++;
		if (index_find(&k->r->idx, &n->content[i], &loc) != 0 || loc.type != BLOB_DATA) {
			hex_encode(n->content[i].b, MM_ID_LEN, hex);
			problem(k, "snapshot %.8s: %s: data blob %.16s is %s", snap, path, hex,
				index_find(&k->r->idx, &n->content[i], &loc) != 0
					? "missing from the index" : "indexed as a tree");
		}
	}
	return 0;
}

/* One folder being walked: its tree, the next entry, where its path ends. */
struct walk_level {
	struct tree t;
	size_t next;
	size_t base;
};

/* Load tree id (unless seen) as a new level on top of *lv; a tree that
 * cannot be loaded is a problem, not an error. */
static int
push_tree(struct checker *k, const char *snap, const struct mm_id *id, struct buf *path,
	  struct walk_level **lv, size_t *n, size_t *cap)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct tree t = TREE_INIT;
	int err;

	if (set_seen(&k->seen_trees, id, &err))
		return 0;
	if (err)
		return err;
	k->res->trees++;
	if (repo_lock_refresh(k->r, &c) != 0) {
		problem(k, "cannot refresh the lock: %s", c.msg);
		return 0;
	}
	if (repo_tree_load(k->r, id, &t, &c) != 0) {
		problem(k, "snapshot %.8s: %s: %s", snap, path->len ? (char *)path->data : "/", c.msg);
		return 0;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct walk_level *nl = realloc(*lv, ncap * sizeof(*nl));
		if (nl == NULL) {
			tree_release(&t);
			return MM_ENOMEM;
		}
		*lv = nl;
		*cap = ncap;
	}
	(*lv)[*n].t = t;
	(*lv)[*n].next = 0;
	(*lv)[*n].base = path->len;
	(*n)++;
	return 0;
}

/* Walk the trees under id with an explicit stack, not recursion: a
 * hostile (or merely deep) tree cannot exhaust the thread's stack. */
static int
check_tree(struct checker *k, const char *snap, const struct mm_id *id, struct buf *path)
{
	struct walk_level *lv = NULL;
	size_t n = 0, cap = 0;
	int e;

	if ((e = buf_append_u8(path, '\0')) != 0)
		return e;
	path->len = 0;
	e = push_tree(k, snap, id, path, &lv, &n, &cap);
	while (e == 0 && n > 0) {
		struct walk_level *top = &lv[n - 1];
		const struct node *nd;

		if (top->next == top->t.n) {
			path->len = top->base;
			path->data[path->len] = '\0';
			tree_release(&top->t);
			n--;
			continue;
		}
		nd = &top->t.nodes[top->next++];
		path->len = top->base;
		if (path->len + 1 + nd->name_len > REPO_PATH_MAX) {
			path->data[path->len] = '\0';
			problem(k, "snapshot %.8s: %s: an entry's path is longer than %u bytes", snap,
				path->len ? (char *)path->data : "/", REPO_PATH_MAX);
			continue;
		}
		if ((e = buf_append_u8(path, '/')) != 0 ||
		    (e = buf_append(path, nd->name, nd->name_len)) != 0 ||
		    (e = buf_append_u8(path, '\0')) != 0)
			break;
		path->len--;
		if ((e = check_node_blobs(k, snap, (char *)path->data, nd)) != 0)
			break;
		if (nd->type == NODE_DIR)
			e = push_tree(k, snap, &nd->subtree, path, &lv, &n, &cap);
	}
	while (n > 0)
		tree_release(&lv[--n].t);
	free(lv);
	path->len = 0;
	if (path->data)
		path->data[0] = '\0';
	return e;
}

struct names {
	char (*v)[65];
	size_t n, cap;
};

static int
collect_name(const char *name, uint64_t size, void *arg)
{
	struct names *l = arg;

	if (strlen(name) != 64)
		return 0;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		char (*nv)[65] = realloc(l->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return MM_ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	memcpy(l->v[l->n++], name, 65);
	return 0;
}

static int
check_snapshots(struct checker *k, struct mm_ctx *c)
{
	struct names l = { NULL, 0, 0 };
	struct buf path = BUF_INIT;
	int e;

	buf_init(&path, (size_t)REPO_PATH_MAX + 2);
	if ((e = backend_list(k->r->be, OBJ_SNAPSHOT, collect_name, &l, c)) != 0)
		goto out;
	for (size_t i = 0; i < l.n && e == 0; i++) {
		struct mm_ctx sc = MM_CTX_INIT;
		struct buf plain = BUF_INIT;
		struct snapshot s;

		memset(&s, 0, sizeof(s));
		k->res->snapshots++;
		if (repo_object_read(k->r, OBJ_SNAPSHOT, l.v[i], REPO_SNAPSHOT_MAX, &plain, &sc) != 0 ||
		    snapshot_decode(plain.data, plain.len, &s, &sc) != 0) {
			problem(k, "snapshot %.8s: %s", l.v[i], sc.msg);
		} else {
			path.len = 0;
			e = check_tree(k, l.v[i], &s.tree, &path);
		}
		snapshot_release(&s);
		buf_release(&plain);
	}
	if (e != 0)
		mm_fail(c, e, "out of memory while checking trees");
out:
	free(l.v);
	buf_release(&path);
	return e;
}

/* ---- packs ------------------------------------------------------------ */

static int
collect_pack(const char *name, uint64_t size, void *arg)
{
	struct checker *k = arg;
	struct pack_file *f;

	if (k->nfiles == k->files_cap) {
		size_t ncap = k->files_cap ? k->files_cap * 2 : 256;
		f = realloc(k->files, ncap * sizeof(*f));
		if (f == NULL)
			return MM_ENOMEM;
		k->files = f;
		k->files_cap = ncap;
	}
	f = &k->files[k->nfiles];
	if (hex_decode(name, f->id.b, MM_ID_LEN) != 0)
		return 0; /* not a pack name: reported as unindexed would mislead */
	f->size = size;
	k->nfiles++;
	return 0;
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MM_ID_LEN);
}

static struct pack_file *
find_file(struct checker *k, const struct mm_id *id)
{
	return bsearch(id, k->files, k->nfiles, sizeof(*k->files), id_cmp);
}

struct pack_job {
	struct checker *k;
	uint32_t packno;
	uint64_t size; /* as listed */
};

/* Does every index entry that places a blob in this pack match the pack
 * header at that offset? A pack stored under another pack's name opens
 * blob by blob under its own header, so this is what catches it. */
static void
match_index(struct checker *k, uint32_t packno, const char *name, const struct pack_entry *ents,
	    const uint64_t *offs, size_t nents)
{
	const struct index *ix = &k->r->idx;
	size_t bad = 0;
	char first[65] = "";

	for (size_t i = k->ref_start[packno]; i < k->ref_start[packno + 1]; i++) {
		const struct index_entry *en = index_entry_at(ix, k->refs[i]);
		size_t lo = 0, hi = nents;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (offs[mid] < en->offset)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < nents && offs[lo] == en->offset &&
		    memcmp(ents[lo].id.b, en->id.b, MM_ID_LEN) == 0 &&
		    ents[lo].length == en->length && ents[lo].raw_len == en->raw_len &&
		    ents[lo].type == ((en->pack >> 31) ? BLOB_TREE : BLOB_DATA))
			continue;
		if (bad++ == 0)
			hex_encode(en->id.b, MM_ID_LEN, first);
	}
	if (bad > 0)
		problem(k, "pack %s: %zu index entr%s disagree%s with the pack header (first: blob %.16s)",
			name, bad, bad == 1 ? "y" : "ies", bad == 1 ? "s" : "", first);
}

/* A pack is read in spans of whole blobs of about this size, and its
 * header from its last CHECK_TAIL bytes (more only for a larger header):
 * memory stays the same whatever the pack size. */
#define CHECK_SPAN (2u * 1024 * 1024)
#define CHECK_TAIL (64u * 1024)

static void
count_read(struct checker *k, size_t n)
{
	pthread_mutex_lock(&k->mu);
	k->res->bytes_read += n;
	pthread_mutex_unlock(&k->mu);
}

static int
read_header(struct checker *k, const struct mm_id *id, const char *name, uint64_t size,
	    struct pack_entry **ents, size_t *nents, struct mm_ctx *c)
{
	struct buf tail = BUF_INIT;
	size_t want = size < CHECK_TAIL ? (size_t)size : CHECK_TAIL;
	uint32_t hlen = 0;
	int e;

	if ((e = backend_read(k->r->be, OBJ_PACK, name, size - want, want, &tail, c)) != 0)
		goto out;
	count_read(k, tail.len);
	if ((e = repo_pack_header_len(tail.data, tail.len, size, &hlen, c)) != 0)
		goto out;
	if ((size_t)hlen + 4 > tail.len) {
		want = (size_t)hlen + 4;
		buf_reset(&tail);
		if ((e = backend_read(k->r->be, OBJ_PACK, name, size - want, want, &tail, c)) != 0)
			goto out;
		count_read(k, tail.len);
	}
	e = repo_pack_parse_tail(k->r, tail.data, tail.len, size, ents, nents, c);
	if (e == 0) {
		uint8_t sum[32];
		/* A pack is named by the SHA-256 of its sealed header and trailer. */
		crypto_sha256(tail.data + tail.len - hlen - 4, (size_t)hlen + 4, sum);
		if (memcmp(sum, id->b, MM_ID_LEN) != 0)
			problem(k, "pack %s: its header does not match its name (altered, or another "
				"pack's)", name);
	}
out:
	buf_release(&tail);
	return e;
}

static void
read_pack(struct checker *k, uint32_t packno, uint64_t size)
{
	const struct mm_id *pid = &k->r->idx.packs[packno];
	struct mm_ctx c = MM_CTX_INIT;
	struct buf raw = BUF_INIT, plain = BUF_INIT;
	struct pack_entry *ents = NULL;
	uint64_t *offs = NULL;
	size_t nents = 0;
	uint64_t off = 0;
	char name[65], hex[65];

	hex_encode(pid->b, MM_ID_LEN, name);
	/* Every byte of a pack is under an AEAD tag (the header's, or a blob's
	 * bound to the blob's ID); the name is the hash of the header, and
	 * match_index ties the pack to what the index says is in it. */
	if (read_header(k, pid, name, size, &ents, &nents, &c) != 0) {
		problem(k, "pack %s: %s", name, c.msg);
		goto out;
	}
	pthread_mutex_lock(&k->mu);
	k->res->packs_read++;
	pthread_mutex_unlock(&k->mu);
	if (nents > 0 && (offs = calloc(nents, sizeof(*offs))) == NULL) {
		problem(k, "pack %s: out of memory", name);
		goto out;
	}
	for (size_t i = 0; i < nents;) {
		size_t end = i + 1, pos = 0;
		uint64_t span = ents[i].length;

		while (end < nents && span + ents[end].length <= CHECK_SPAN)
			span += ents[end++].length;
		buf_reset(&raw);
		if (backend_read(k->r->be, OBJ_PACK, name, off, (size_t)span, &raw, &c) != 0) {
			problem(k, "pack %.16s: cannot read: %s", name, c.msg);
			goto out;
		}
		count_read(k, raw.len);
		for (; i < end; i++) {
			struct blob_loc loc = { packno, (uint32_t)off, ents[i].length, ents[i].raw_len,
						ents[i].type };

			offs[i] = off;
			c.msg[0] = '\0';
			if (repo_blob_open(k->r, &ents[i].id, &loc, raw.data + pos, REPO_VERIFY_ID,
					   &plain, &c) != 0) {
				hex_encode(ents[i].id.b, MM_ID_LEN, hex);
				problem(k, "pack %s: blob %s: %s", name, hex, c.msg);
			}
			pos += ents[i].length;
			off += ents[i].length;
		}
	}
	match_index(k, packno, name, ents, offs, nents);
out:
	free(offs);
	free(ents);
	buf_release(&raw);
	buf_release(&plain);
}

static void
pack_job_run(void *arg)
{
	struct pack_job *j = arg;

	read_pack(j->k, j->packno, j->size);
	free(j);
}

/* Index packs are unique by ID, but one pack may be listed by two index
 * objects under two numbers: canon[p] is the first number with p's ID,
 * and only that one is checked. */
static int
map_packs(struct checker *k, struct mm_ctx *c)
{
	const struct index *ix = &k->r->idx;
	struct index *ids = &k->pack_ids;
	size_t *fill = NULL;
	int e = 0;

	k->canon = calloc(ix->npacks + 1, sizeof(*k->canon));
	k->ref_start = calloc(ix->npacks + 2, sizeof(*k->ref_start));
	fill = calloc(ix->npacks + 1, sizeof(*fill));
	if (k->canon == NULL || k->ref_start == NULL || fill == NULL ||
	    (ix->n > 0 && (k->refs = calloc(ix->n, sizeof(*k->refs))) == NULL)) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t p = 0; p < ix->npacks; p++) {
		struct blob_loc loc = { p, 0, MM_AEAD_OVERHEAD, 0, 0 };
		int added = 0;

		if ((e = index_add(ids, &ix->packs[p], &loc, &added)) != 0) {
			e = mm_fail(c, e, "out of memory");
			goto out;
		}
		if (!added && index_find(ids, &ix->packs[p], &loc) == 0)
			k->canon[p] = loc.pack;
		else
			k->canon[p] = p;
	}
	/* Counting sort of the index entries by canonical pack. */
	for (size_t i = 0; i < ix->n; i++) {
		uint32_t p = index_entry_at(ix, i)->pack & 0x7fffffffu;
		if (p < ix->npacks)
			k->ref_start[k->canon[p] + 1]++;
	}
	for (uint32_t p = 0; p < ix->npacks; p++)
		k->ref_start[p + 1] += k->ref_start[p];
	for (size_t i = 0; i < ix->n; i++) {
		uint32_t p = index_entry_at(ix, i)->pack & 0x7fffffffu;
		if (p < ix->npacks) {
			p = k->canon[p];
			k->refs[k->ref_start[p] + fill[p]++] = i;
		}
	}
out:
	free(fill);
	return e;
}

/* Bytes pack p must have at least: the end of its last indexed blob. */
static uint64_t
pack_needs(const struct checker *k, uint32_t p)
{
	uint64_t need = 0;

	for (size_t i = k->ref_start[p]; i < k->ref_start[p + 1]; i++) {
		const struct index_entry *en = index_entry_at(&k->r->idx, k->refs[i]);
		uint64_t end = (uint64_t)en->offset + en->length;
		if (end > need)
			need = end;
	}
	return need;
}

static int
queue_pack(struct checker *k, struct pool *pool, uint32_t p, uint64_t size, struct mm_ctx *c)
{
	struct pack_job *j;
	int e;

	if ((e = repo_lock_refresh(k->r, c)) != 0)
		return e;
	if ((j = malloc(sizeof(*j))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	j->k = k;
	j->packno = p;
	j->size = size;
	if ((e = pool_submit(pool, pack_job_run, j)) != 0) {
		free(j);
		return mm_fail(c, e, "cannot queue work");
	}
	return 0;
}

/* --read-data on a share of the packs: each pack in or out by its name. */
static int
pack_selected(const struct check_opts *o, const struct mm_id *id)
{
	uint64_t v = o->read_salt;

	if (o->read_percent <= 0 || o->read_percent >= 100)
		return 1;
	for (size_t i = 0; i < 8; i++)
		v = (v ^ id->b[i]) * UINT64_C(0x100000001b3);
	return (double)(v % 1000000) < o->read_percent * 10000;
}

static int
check_packs(struct checker *k, struct mm_ctx *c)
{
	const struct index *ix = &k->r->idx;
	struct pool *pool = NULL;
	int e;

	if ((e = backend_list(k->r->be, OBJ_PACK, collect_pack, k, c)) != 0)
		return e;
	if (k->nfiles > 1)
		qsort(k->files, k->nfiles, sizeof(*k->files), id_cmp);
	if ((e = map_packs(k, c)) != 0)
		return e;
	if (k->o->read_data && (e = pool_new(0, &pool)) != 0) {
		mm_fail(c, e, "cannot start worker threads");
		goto out;
	}
	for (uint32_t p = 0; p < ix->npacks; p++) {
		struct pack_file *f;
		uint64_t need;
		char name[65];

		if (k->canon[p] != p)
			continue;
		k->res->packs++;
		hex_encode(ix->packs[p].b, MM_ID_LEN, name);
		if ((f = find_file(k, &ix->packs[p])) == NULL) {
			problem(k, "pack %s: named by the index but missing", name);
			continue;
		}
		need = pack_needs(k, p);
		if (f->size < need + 4 + MM_AEAD_OVERHEAD) {
			problem(k, "pack %s: %llu bytes, shorter than the index says", name,
				(unsigned long long)f->size);
			/* Still read it with read_data: its header says whether it
			 * was cut short or is another pack stored under this name. */
			if (!k->o->read_data)
				continue;
		}
		if (k->o->read_data && pack_selected(k->o, &ix->packs[p]) &&
		    (e = queue_pack(k, pool, p, f->size, c)) != 0)
			goto out;
	}
	for (size_t i = 0; i < k->nfiles; i++) {
		struct blob_loc dummy;
		if (index_find(&k->pack_ids, &k->files[i].id, &dummy) != 0)
			k->res->unindexed_packs++;
	}
out:
	if (pool) {
		pool_wait(pool);
		pool_free(pool);
	}
	return e;
}

int
ops_check(struct repo *r, const struct check_opts *o, struct check_result *res, struct mm_ctx *c)
{
	struct checker k;
	int e;

	memset(res, 0, sizeof(*res));
	memset(&k, 0, sizeof(k));
	k.r = r;
	k.o = o;
	k.res = res;
	index_init(&k.seen_trees);
	index_init(&k.seen_blobs);
	index_init(&k.pack_ids);
	pthread_mutex_init(&k.mu, NULL);
	for (size_t i = 0; i < r->nidx_damaged; i++)
		problem(&k, "%s; the packs it lists are not indexed", r->idx_damaged[i].msg);
	if ((e = check_snapshots(&k, c)) == 0)
		e = check_packs(&k, c);
	index_release(&k.seen_trees);
	index_release(&k.seen_blobs);
	index_release(&k.pack_ids);
	free(k.files);
	free(k.canon);
	free(k.ref_start);
	free(k.refs);
	pthread_mutex_destroy(&k.mu);
	return e;
}
