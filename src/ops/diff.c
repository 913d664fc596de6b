/*
 * diff: two snapshots' trees walked together. Trees hold their entries
 * sorted by name bytes, so one merge per folder finds what was added,
 * removed or kept; a folder whose subtree ID is the same on both sides is
 * the same content all the way down and is not read.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

struct differ {
	struct repo *r;
	ops_diff_fn fn;
	void *arg;
	struct diff_stats *st;
	struct mm_ctx *c;
	struct buf path; /* NUL-terminated "/a/b" */
};

/* Append "/name"; returns the old length to restore with path_pop. */
static int
path_push(struct buf *path, const uint8_t *name, size_t n, size_t *base)
{
	int e;

	*base = path->len - 1; /* before the NUL */
	path->len = *base;
	if ((e = buf_append_u8(path, '/')) != 0 || (e = buf_append(path, name, n)) != 0 ||
	    (e = buf_append_u8(path, '\0')) != 0)
		return e;
	return 0;
}

static void
path_pop(struct buf *path, size_t base)
{
	path->data[base] = '\0';
	path->len = base + 1;
}

static int
emit(struct differ *d, enum diff_kind k, const struct node *a, const struct node *b,
     unsigned meta)
{
	struct diff_entry de = { k, (const char *)d->path.data, a, b, meta };

	switch (k) {
	case DIFF_ADDED:
		d->st->added++;
		if (b->type == NODE_FILE)
			d->st->bytes_added += b->size;
		break;
	case DIFF_REMOVED:
		d->st->removed++;
		if (a->type == NODE_FILE)
			d->st->bytes_removed += a->size;
		break;
	case DIFF_MODIFIED:
		d->st->modified++;
		break;
	case DIFF_METADATA:
		d->st->metadata++;
		break;
	case DIFF_TYPE:
		d->st->type_changed++;
		if (a->type == NODE_FILE)
			d->st->bytes_removed += a->size;
		if (b->type == NODE_FILE)
			d->st->bytes_added += b->size;
		break;
	}
	return d->fn(d->arg, &de) != 0 ? 1 : 0;
}

static int
load(struct differ *d, const struct mm_id *id, struct tree *t)
{
	int e;

	if ((e = repo_tree_load(d->r, id, t, d->c)) != 0)
		return mm_prefix(d->c, e, "%s", d->path.len > 1 ? (char *)d->path.data : "/");
	d->st->trees_loaded++;
	return 0;
}

/* Every entry below a folder that is on one side only. */
static int
one_side(struct differ *d, const struct mm_id *id, enum diff_kind k)
{
	struct tree t = TREE_INIT;
	size_t base;
	int e;

	if ((e = load(d, id, &t)) != 0)
		return e;
	for (size_t i = 0; i < t.n && e == 0; i++) {
		const struct node *n = &t.nodes[i];

		if ((e = path_push(&d->path, n->name, n->name_len, &base)) != 0) {
			e = mm_fail(d->c, e, "path too long");
			break;
		}
		e = emit(d, k, k == DIFF_REMOVED ? n : NULL, k == DIFF_ADDED ? n : NULL, 0);
		if (e == 0 && n->type == NODE_DIR)
			e = one_side(d, &n->subtree, k);
		path_pop(&d->path, base);
	}
	tree_release(&t);
	return e;
}

static int
xattrs_equal(const struct node *a, const struct node *b)
{
	if (a->nxattrs != b->nxattrs)
		return 0;
	for (size_t i = 0; i < a->nxattrs; i++) {
		const struct xattr *x = &a->xattrs[i], *y = &b->xattrs[i];
		if (strcmp(x->name, y->name) != 0 || x->len != y->len ||
		    (x->len && memcmp(x->value, y->value, x->len) != 0))
			return 0;
	}
	return 1;
}

static int
str_eq(const char *x, const char *y)
{
	return strcmp(x ? x : "", y ? y : "") == 0;
}

static unsigned
meta_diff(const struct node *a, const struct node *b)
{
	unsigned m = 0;

	if ((a->mode & 07777) != (b->mode & 07777))
		m |= DIFF_M_MODE;
	if (a->uid != b->uid || a->gid != b->gid || !str_eq(a->user, b->user) ||
	    !str_eq(a->group, b->group))
		m |= DIFF_M_OWNER;
	if (a->mtime_ns != b->mtime_ns)
		m |= DIFF_M_MTIME;
	if (!xattrs_equal(a, b))
		m |= DIFF_M_XATTRS;
	return m;
}

static int
content_differs(const struct node *a, const struct node *b)
{
	switch (a->type) {
	case NODE_FILE:
		return a->size != b->size || a->ncontent != b->ncontent ||
		       (a->flags & NODE_F_ERROR) != (b->flags & NODE_F_ERROR) ||
		       (a->ncontent && memcmp(a->content, b->content,
					      a->ncontent * sizeof(*a->content)) != 0);
	case NODE_SYMLINK:
		return a->target_len != b->target_len ||
		       (a->target_len && memcmp(a->target, b->target, a->target_len) != 0);
	case NODE_CHR:
	case NODE_BLK:
		return a->rdev != b->rdev;
	default:
		return 0;
	}
}

static int diff_trees(struct differ *d, const struct mm_id *ta, const struct mm_id *tb);

/* One name present on both sides. */
static int
diff_pair(struct differ *d, const struct node *a, const struct node *b)
{
	unsigned meta;
	int e = 0;

	if (a->type != b->type) {
		if ((e = emit(d, DIFF_TYPE, a, b, 0)) != 0)
			return e;
		if (a->type == NODE_DIR && (e = one_side(d, &a->subtree, DIFF_REMOVED)) != 0)
			return e;
		if (b->type == NODE_DIR)
			e = one_side(d, &b->subtree, DIFF_ADDED);
		return e;
	}
	meta = meta_diff(a, b);
	if (content_differs(a, b))
		e = emit(d, DIFF_MODIFIED, a, b, meta);
	else if (meta != 0)
		e = emit(d, DIFF_METADATA, a, b, meta);
	if (e == 0 && a->type == NODE_DIR &&
	    memcmp(a->subtree.b, b->subtree.b, MM_ID_LEN) != 0)
		e = diff_trees(d, &a->subtree, &b->subtree);
	return e;
}

static int
name_cmp(const struct node *a, const struct node *b)
{
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int x = memcmp(a->name, b->name, n);

	if (x != 0)
		return x;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static int
diff_trees(struct differ *d, const struct mm_id *ta, const struct mm_id *tb)
{
	struct tree a = TREE_INIT, b = TREE_INIT;
	size_t i = 0, k = 0, base;
	int e;

	if ((e = load(d, ta, &a)) != 0 || (e = load(d, tb, &b)) != 0)
		goto out;
	while (e == 0 && (i < a.n || k < b.n)) {
		int cmp = i == a.n ? 1 : k == b.n ? -1 : name_cmp(&a.nodes[i], &b.nodes[k]);
		const struct node *n = cmp <= 0 ? &a.nodes[i] : &b.nodes[k];

		if ((e = path_push(&d->path, n->name, n->name_len, &base)) != 0) {
			e = mm_fail(d->c, e, "path too long");
			break;
		}
		if (cmp < 0) {
			e = emit(d, DIFF_REMOVED, n, NULL, 0);
			if (e == 0 && n->type == NODE_DIR)
				e = one_side(d, &n->subtree, DIFF_REMOVED);
			i++;
		} else if (cmp > 0) {
			e = emit(d, DIFF_ADDED, NULL, n, 0);
			if (e == 0 && n->type == NODE_DIR)
				e = one_side(d, &n->subtree, DIFF_ADDED);
			k++;
		} else {
			e = diff_pair(d, &a.nodes[i], &b.nodes[k]);
			i++;
			k++;
		}
		path_pop(&d->path, base);
	}
out:
	tree_release(&a);
	tree_release(&b);
	return e;
}

int
ops_diff(struct repo *r, const struct snapshot *a, const struct snapshot *b, ops_diff_fn fn,
	 void *arg, struct diff_stats *st, struct mm_ctx *c)
{
	struct differ d = { r, fn, arg, st, c, BUF_INIT };
	int e;

	memset(st, 0, sizeof(*st));
	buf_init(&d.path, REPO_PATH_MAX * 16);
	if ((e = buf_append_u8(&d.path, '\0')) != 0)
		return mm_fail(c, e, "out of memory");
	if (memcmp(a->tree.b, b->tree.b, MM_ID_LEN) != 0)
		e = diff_trees(&d, &a->tree, &b->tree);
	buf_release(&d.path);
	return e == 1 ? 0 : e;
}
