/*
 * Walking a snapshot's tree: parents before children, names in tree order.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

struct walker {
	struct repo *r;
	ops_walk_fn fn;
	void *arg;
	struct mm_ctx *c;
};

/* Append "/name" to path (a buffer holding a NUL-terminated string). */
static int
path_push(struct buf *path, const uint8_t *name, size_t n)
{
	int e;

	path->len = strlen((char *)path->data);
	if ((e = buf_append_u8(path, '/')) != 0 || (e = buf_append(path, name, n)) != 0)
		return e;
	return buf_append_u8(path, '\0');
}

static int
walk_tree(struct walker *w, const struct mm_id *id, struct buf *path)
{
	struct tree t = TREE_INIT;
	size_t base = strlen((char *)path->data);
	int e;

	if ((e = repo_tree_load(w->r, id, &t, w->c)) != 0)
		return mm_prefix(w->c, e, "%s", base ? (char *)path->data : "/");
	for (size_t i = 0; i < t.n && e == 0; i++) {
		const struct node *n = &t.nodes[i];

		if ((e = path_push(path, n->name, n->name_len)) != 0) {
			e = mm_fail(w->c, e, "path too long");
			break;
		}
		if (w->fn(w->arg, (char *)path->data, n) != 0)
			e = 1; /* stopped by the caller */
		else if (n->type == NODE_DIR)
			e = walk_tree(w, &n->subtree, path);
		path->data[base] = '\0';
	}
	tree_release(&t);
	return e;
}

int
ops_walk(struct repo *r, const struct snapshot *s, const char *start, ops_walk_fn fn, void *arg,
	 struct mm_ctx *c)
{
	struct walker w = { r, fn, arg, c };
	struct buf path = BUF_INIT;
	struct tree t = TREE_INIT;
	struct mm_id cur = s->tree;
	const char *p = start ? start : "";
	int e;

	buf_init(&path, REPO_PATH_MAX * 16);
	if ((e = buf_append_u8(&path, '\0')) != 0)
		return mm_fail(c, e, "out of memory");
	for (;;) {
		const char *end;
		struct node *n;
		size_t len;

		while (*p == '/')
			p++;
		if (*p == '\0') {
			e = walk_tree(&w, &cur, &path);
			break;
		}
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		tree_release(&t);
		if ((e = repo_tree_load(r, &cur, &t, c)) != 0)
			break;
		n = tree_find(&t, (const uint8_t *)p, len);
		if (n == NULL) {
			e = mm_fail(c, MM_ENOPATH, "%s: no such path in the snapshot", start);
			break;
		}
		if ((e = path_push(&path, n->name, n->name_len)) != 0)
			break;
		p += len;
		while (*p == '/')
			p++;
		if (*p == '\0') {
			/* The start itself, then what is below it. */
			if (fn(arg, (char *)path.data, n) != 0)
				e = 1;
			else if (n->type == NODE_DIR)
				e = walk_tree(&w, &n->subtree, &path);
			break;
		}
		if (n->type != NODE_DIR) {
			e = mm_fail(c, MM_ENOPATH, "%s: no such path in the snapshot", start);
			break;
		}
		cur = n->subtree;
	}
	tree_release(&t);
	buf_release(&path);
	return e == 1 ? 0 : e;
}
