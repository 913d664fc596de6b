/*
 * The top of a backup: turn the paths into the snapshot's root tree (the
 * absolute paths as nested directories), choose the parent snapshot, and
 * write the snapshot once everything it references is durable.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/ops.h"
#include "ops/backup_internal.h"
#include "repo/repo_internal.h"

/* The directories above the backed-up paths, as a small tree of names. */
struct vdir {
	char *name;
	int target; /* this path itself is backed up, with everything below */
	struct vdir *kids;
	size_t nkids;
};

static void
vdir_release(struct vdir *v)
{
	for (size_t i = 0; i < v->nkids; i++)
		vdir_release(&v->kids[i]);
	free(v->kids);
	free(v->name);
}

static struct vdir *
vdir_child(struct vdir *v, const char *name, size_t len)
{
	struct vdir *nk;

	for (size_t i = 0; i < v->nkids; i++)
		if (strlen(v->kids[i].name) == len && memcmp(v->kids[i].name, name, len) == 0)
			return &v->kids[i];
	if ((nk = realloc(v->kids, (v->nkids + 1) * sizeof(*nk))) == NULL)
		return NULL;
	v->kids = nk;
	nk = &v->kids[v->nkids];
	memset(nk, 0, sizeof(*nk));
	if ((nk->name = strndup(name, len)) == NULL)
		return NULL;
	v->nkids++;
	return nk;
}

static int
vdir_add(struct vdir *root, const char *abspath)
{
	struct vdir *v = root;
	const char *p = abspath;

	while (*p == '/')
		p++;
	while (*p != '\0' && !v->target) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if ((v = vdir_child(v, p, len)) == NULL)
			return MM_ENOMEM;
		p += len;
		while (*p == '/')
			p++;
	}
	if (!v->target) {
		/* everything below is included now */
		for (size_t i = 0; i < v->nkids; i++)
			vdir_release(&v->kids[i]);
		free(v->kids);
		v->kids = NULL;
		v->nkids = 0;
		v->target = 1;
	}
	return 0;
}

static int
vdir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vdir *)a)->name, ((const struct vdir *)b)->name);
}

static int save_vdir(struct bkw *w, struct vdir *v, const char *path, const struct tree *ptree,
		     struct pdir *pd, struct mm_ctx *c);

/* A folder above the backed-up paths: few of them, each waited for. */
static int
save_vdir_kid(struct bkw *w, struct vdir *k, const char *path, const struct tree *ptree,
	      struct pdir *pd, struct mm_ctx *c)
{
	struct bk *b = w->b;
	struct tree psub = TREE_INIT, *t = bk_top_tree(pd);
	struct pdir *sub = NULL;
	const struct node *pn;
	struct node *n;
	struct mm_id id;
	size_t slot;
	char *kpath;
	struct stat st;
	int e;

	if (k->target) {
		if ((kpath = path_join(path, k->name)) == NULL)
			return mm_fail(c, MM_ENOMEM, "out of memory");
		if (lstat(kpath, &st) == 0)
			b->top_dev = st.st_dev;
		free(kpath);
		return bk_save_entry(w, pd, -1, path, k->name, ptree, c);
	}
	if ((kpath = path_join(path, k->name)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if ((n = tree_add(t)) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	slot = t->n - 1;
	if ((e = bk_save_virtual_dir(w, n, kpath, c)) != 0)
		goto out;
	pn = tree_find(ptree, (const uint8_t *)k->name, strlen(k->name));
	if (pn != NULL && pn->type == NODE_DIR) {
		struct mm_ctx ignore = MM_CTX_INIT;
		if (repo_tree_load(b->r, &pn->subtree, &psub, &ignore) != 0)
			tree_release(&psub);
	}
	if ((sub = bk_top_new()) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = save_vdir(w, k, kpath, &psub, sub, c)) != 0)
		bk_fail(b, e, c);
	if ((e = bk_top_finish(w, sub, &id, c)) == 0)
		t->nodes[slot].subtree = id;
out:
	tree_release(&psub);
	free(kpath);
	return e;
}

static int
save_vdir(struct bkw *w, struct vdir *v, const char *path, const struct tree *ptree,
	  struct pdir *pd, struct mm_ctx *c)
{
	int e;

	if (v->nkids > 1)
		qsort(v->kids, v->nkids, sizeof(*v->kids), vdir_cmp);
	for (size_t i = 0; i < v->nkids; i++)
		if ((e = save_vdir_kid(w, &v->kids[i], path, ptree, pd, c)) != 0)
			return e;
	return 0;
}

int
ops_abspath(const char *path, char **out)
{
	char cwd[PATH_MAX];
	struct buf b = BUF_INIT;
	const char *p = path;
	int e;

	*out = NULL;
	if (path[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return mm_from_errno(errno);
		if ((e = buf_append(&b, cwd, strlen(cwd))) != 0)
			goto out;
	}
	/* Lexical clean-up: "a//b/./c/../d" -> "a/b/d". */
	while (*p != '\0') {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (b.len > 0 && b.data[b.len - 1] != '/')
				b.len--;
			if (b.len > 0)
				b.len--;
		} else if ((e = buf_append_u8(&b, '/')) != 0 || (e = buf_append(&b, p, len)) != 0) {
			goto out;
		}
		p += len;
	}
	if (b.len == 0 && (e = buf_append_u8(&b, '/')) != 0)
		goto out;
	if ((e = buf_append_u8(&b, '\0')) != 0)
		goto out;
	*out = (char *)b.data;
	return 0;
out:
	buf_release(&b);
	return e;
}

static int
str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
same_paths(const struct snapshot *s, char **paths, size_t n)
{
	if (s->npaths != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->paths[i], paths[i]) != 0)
			return 0;
	return 1;
}

/* The newest snapshot of this host with the same paths, as the parent. */
static int
find_parent(struct repo *r, const struct snapshot *s, struct mm_id *tree, struct mm_id *id,
	    struct mm_ctx *c)
{
	struct snapshot *v = NULL;
	size_t n = 0;
	int found = 0, e;

	if ((e = repo_snapshot_list(r, &v, &n, c)) != 0)
		return e;
	for (size_t i = n; i-- > 0;) {
		if (strcmp(v[i].host, s->host) == 0 && same_paths(&v[i], s->paths, s->npaths)) {
			*tree = v[i].tree;
			*id = v[i].id;
			found = 1;
			break;
		}
	}
	snapshot_list_free(v, n);
	return found;
}

static int
dup_strings(const char *const *in, size_t n, char ***out)
{
	*out = NULL;
	if (n == 0)
		return 0;
	if ((*out = calloc(n, sizeof(char *))) == NULL)
		return MM_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (((*out)[i] = strdup(in[i])) == NULL)
			return MM_ENOMEM;
	return 0;
}

static int
snapshot_prepare(const struct backup_opts *o, struct snapshot *s, struct mm_ctx *c)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->time_ns = o->time_ns ? o->time_ns : time_now_ns();
	s->host = o->host ? strdup(o->host) : repo_hostname();
	s->user = repo_username();
	s->uid = (uint32_t)getuid();
	s->gid = (uint32_t)getgid();
	s->program = strdup("mamori " MAMORI_VERSION);
	if (!s->host || !s->user || !s->program ||
	    (s->paths = calloc(o->npaths ? o->npaths : 1, sizeof(char *))) == NULL ||
	    dup_strings(o->tags, o->ntags, &s->tags) != 0 ||
	    dup_strings(o->excludes, o->nexcludes, &s->excludes) != 0)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	s->ntags = o->ntags;
	s->nexcludes = o->nexcludes;
	for (size_t i = 0; i < o->npaths; i++) {
		if (ops_abspath(o->paths[i], &s->paths[s->npaths]) != 0)
			return mm_fail(c, MM_ENOMEM, "out of memory");
		s->npaths++;
		if (lstat(s->paths[i], &st) != 0)
			return mm_fail_errno(c, errno, "%s: cannot back up this path", o->paths[i]);
	}
	if (s->npaths == 0)
		return mm_fail(c, MM_EINVAL, "no path to back up");
	qsort(s->paths, s->npaths, sizeof(char *), str_ptr_cmp);
	return 0;
}

static int
build_root(struct bkw *w, struct snapshot *s, const struct mm_id *ptree_id, struct mm_ctx *c)
{
	struct bk *b = w->b;
	struct vdir root = { 0 };
	struct tree pt = TREE_INIT;
	struct pdir *top = NULL;
	int e = 0;

	for (size_t i = 0; i < s->npaths && e == 0; i++)
		e = vdir_add(&root, s->paths[i]);
	if (e != 0 || (top = bk_top_new()) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (ptree_id != NULL) {
		struct mm_ctx ignore = MM_CTX_INIT;
		if (repo_tree_load(b->r, ptree_id, &pt, &ignore) != 0)
			tree_release(&pt);
	}
	if (root.target) {
		/* the whole file system: "/" itself is the root directory */
		struct node rn = { 0 }, pn = { 0 };
		struct stat st;

		if (lstat("/", &st) == 0)
			b->top_dev = rn.dev = st.st_dev;
		pn.type = NODE_DIR;
		if (ptree_id != NULL)
			pn.subtree = *ptree_id;
		e = bk_walk_dir(w, top, &rn, -1, "/", "/", ptree_id ? &pn : NULL, c);
	} else {
		e = save_vdir(w, &root, "/", &pt, top, c);
	}
	if (e != 0)
		bk_fail(b, e, c);
	e = bk_top_finish(w, top, &s->tree, c);
	top = NULL;
out:
	if (top != NULL) {
		struct mm_ctx ignore = MM_CTX_INIT;
		(void)bk_top_finish(w, top, NULL, &ignore);
	}
	tree_release(&pt);
	vdir_release(&root);
	return e;
}

/* Packs an interrupted backup left are taken into the index (their blobs
 * are not sent again), and the user is told. */
static int
resume_interrupted(struct repo *r, const struct backup_opts *o, struct mm_ctx *c)
{
	struct resume_result rr;
	char msg[200], size[32];
	int e;

	if ((e = repo_resume_packs(r, &rr, c)) != 0)
		return e;
	if (rr.packs > 0 && o->rep.warn != NULL) {
		fmt_bytes(rr.bytes, size, sizeof(size));
		snprintf(msg, sizeof(msg), "resuming: %llu packs (%s, %llu blobs) of an interrupted "
			 "backup are reused, not sent again", (unsigned long long)rr.packs, size,
			 (unsigned long long)rr.blobs);
		o->rep.warn(o->rep.arg, msg);
	}
	return 0;
}

int
ops_backup(struct repo *r, const struct backup_opts *o, struct snapshot *out, struct mm_ctx *c)
{
	struct bk b;
	struct bkw w;
	struct snapshot s;
	struct mm_id ptree;
	int e, have_parent;

	memset(&b, 0, sizeof(b));
	b.r = r;
	b.o = o;
	b.t0 = time_mono();
	pthread_mutex_init(&b.mu, NULL);
	pthread_mutex_init(&b.tree_mu, NULL);
	bk_walker_start(&w, &b);
	if ((e = snapshot_prepare(o, &s, c)) != 0)
		goto out;
	if ((e = resume_interrupted(r, o, c)) != 0) {
		mm_prefix(c, e, "cannot look for the packs of an interrupted backup");
		goto out;
	}
	if ((have_parent = find_parent(r, &s, &ptree, &s.parent, c)) < 0) {
		e = have_parent;
		goto out;
	}
	s.has_parent = have_parent;
	if ((e = pool_new(o->threads, &b.pool)) != 0) {
		mm_fail(c, e, "cannot start worker threads");
		goto out;
	}
	/* Enough chunks in flight to keep every worker busy, and no more. */
	b.inflight_max = (size_t)pool_size(b.pool) * 2 * BK_READ_BLOCK;
	if (b.inflight_max < 8 * (size_t)BK_READ_BLOCK)
		b.inflight_max = 8 * (size_t)BK_READ_BLOCK;
	/* Folder walks out in the pool at once, beside this thread's. */
	b.walkers_max = 2 * pool_size(b.pool);
	if ((e = build_root(&w, &s, have_parent ? &ptree : NULL, c)) != 0)
		goto out;
	/* Packs and index durable first; the snapshot last. */
	if ((e = repo_flush(r, c)) != 0)
		goto out;
	bk_walker_end(&w); /* every walk has ended: b.sum is complete */
	b.sum.blobs_added = atomic_load(&b.blobs_added);
	b.sum.bytes_added = r->stored_bytes;
	b.sum.duration_ns = (int64_t)((time_mono() - b.t0) * 1e9);
	s.sum = b.sum;
	if ((e = repo_snapshot_save(r, &s, c)) != 0)
		goto out;
	bk_note_progress(&w, NULL);
	*out = s;
	memset(&s, 0, sizeof(s)); /* transferred */
out:
	if (b.pool) {
		atomic_store(&b.failed, 1); /* a batch left by an error: free it, save nothing */
		bk_walker_end(&w);
		pool_wait(b.pool);
		pool_free(b.pool);
	} else {
		bk_walker_end(&w);
	}
	bk_release(&b);
	snapshot_release(&s);
	pthread_mutex_destroy(&b.mu);
	pthread_mutex_destroy(&b.tree_mu);
	return e;
}
