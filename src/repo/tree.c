/*
 * Trees: one per directory, a deterministic encoding of its entries sorted
 * by name bytes. A decoder trusts nothing: names are checked here so no
 * caller ever sees "/", NUL, "." or ".." in a name.
 */
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"

#define TREE_VERSION 1
#define NAME_MAX_BYTES 65535
#define TARGET_MAX (1u << 20)
#define XATTR_NAME_MAX_BYTES 255
#define XATTR_VALUE_MAX (1u << 20)
#define XATTRS_MAX 4096u
#define CONTENT_MAX (1u << 24) /* 16 Mi chunks of at least 64 KiB: 1 TiB files and more */
/* The smallest encoded node: every fixed field with empty strings. */
#define NODE_MIN_LEN (2 + 1 + 4 * 5 + 2 + 2 + 8 * 7 + 4 + 4 + 4)

void
node_release(struct node *n)
{
	free(n->name);
	free(n->user);
	free(n->group);
	free(n->target);
	for (size_t i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	free(n->content);
	memset(n, 0, sizeof(*n));
}

void
tree_release(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		node_release(&t->nodes[i]);
	free(t->nodes);
	t->nodes = NULL;
	t->n = t->cap = 0;
}

struct node *
tree_add(struct tree *t)
{
	if (t->n >= TREE_ENTRIES_MAX)
		return NULL;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct node *nv = realloc(t->nodes, ncap * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		t->nodes = nv;
		t->cap = ncap;
	}
	memset(&t->nodes[t->n], 0, sizeof(struct node));
	return &t->nodes[t->n++];
}

static int
name_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int r = memcmp(a, b, al < bl ? al : bl);

	if (r != 0)
		return r;
	return al < bl ? -1 : al > bl;
}

static int
node_cmp(const void *a, const void *b)
{
	const struct node *x = a, *y = b;

	return name_cmp(x->name, x->name_len, y->name, y->name_len);
}

int
tree_sort(struct tree *t)
{
	if (t->n > 1)
		qsort(t->nodes, t->n, sizeof(*t->nodes), node_cmp);
	for (size_t i = 1; i < t->n; i++)
		if (node_cmp(&t->nodes[i - 1], &t->nodes[i]) == 0)
			return MM_ECORRUPT;
	return 0;
}

struct node *
tree_find(const struct tree *t, const uint8_t *name, size_t len)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = name_cmp(t->nodes[mid].name, t->nodes[mid].name_len, name, len);
		if (r == 0)
			return &t->nodes[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
node_encode(const struct node *n, struct buf *b)
{
	int e;

	if (n->ncontent > CONTENT_MAX || n->nxattrs > XATTRS_MAX)
		return MM_ELIMIT;
	if ((e = buf_append_bytes16(b, n->name, n->name_len)) != 0 ||
	    (e = buf_append_u8(b, n->type)) != 0 || (e = buf_append_u32(b, n->flags)) != 0 ||
	    (e = buf_append_u32(b, n->mode)) != 0 || (e = buf_append_u32(b, n->uid)) != 0 ||
	    (e = buf_append_u32(b, n->gid)) != 0 || (e = buf_append_u32(b, n->nlink)) != 0 ||
	    (e = buf_append_str16(b, n->user)) != 0 || (e = buf_append_str16(b, n->group)) != 0 ||
	    (e = buf_append_u64(b, n->size)) != 0 ||
	    (e = buf_append_u64(b, (uint64_t)n->mtime_ns)) != 0 ||
	    (e = buf_append_u64(b, (uint64_t)n->ctime_ns)) != 0 ||
	    (e = buf_append_u64(b, (uint64_t)n->atime_ns)) != 0 ||
	    (e = buf_append_u64(b, n->inode)) != 0 || (e = buf_append_u64(b, n->dev)) != 0 ||
	    (e = buf_append_u64(b, n->rdev)) != 0 ||
	    (e = buf_append_bytes32(b, n->target, n->target_len)) != 0 ||
	    (e = buf_append_u32(b, (uint32_t)n->nxattrs)) != 0)
		return e;
	for (size_t i = 0; i < n->nxattrs; i++)
		if ((e = buf_append_str16(b, n->xattrs[i].name)) != 0 ||
		    (e = buf_append_bytes32(b, n->xattrs[i].value, n->xattrs[i].len)) != 0)
			return e;
	if ((e = buf_append_u32(b, (uint32_t)n->ncontent)) != 0 ||
	    (e = buf_reserve(b, n->ncontent * MM_ID_LEN)) != 0)
		return e;
	for (size_t i = 0; i < n->ncontent; i++)
		if ((e = buf_append(b, n->content[i].b, MM_ID_LEN)) != 0)
			return e;
	if (n->type == NODE_DIR)
		return buf_append(b, n->subtree.b, MM_ID_LEN);
	return 0;
}

int
tree_encode(const struct tree *t, struct buf *out)
{
	int e;

	if (t->n > TREE_ENTRIES_MAX)
		return MM_ELIMIT;
	if ((e = buf_append(out, "MMTR", 4)) != 0 || (e = buf_append_u16(out, TREE_VERSION)) != 0 ||
	    (e = buf_append_u32(out, (uint32_t)t->n)) != 0)
		return e;
	for (size_t i = 0; i < t->n; i++)
		if ((e = node_encode(&t->nodes[i], out)) != 0)
			return e;
	return 0;
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n, struct rd *r)
{
	uint8_t *d;

	if (r->bad)
		return NULL;
	if ((d = malloc(n ? n : 1)) == NULL) {
		r->bad = 1;
		return NULL;
	}
	if (n)
		memcpy(d, p, n);
	return d;
}

/* Decode one node; returns a message for what was wrong, or NULL. */
static const char *
node_decode(struct rd *r, struct node *n)
{
	const uint8_t *p;
	size_t len;
	uint32_t cnt;

	p = rd_bytes16(r, NAME_MAX_BYTES, &len);
	n->name = dup_bytes(p, len, r);
	n->name_len = len;
	n->type = rd_u8(r);
	n->flags = rd_u32(r);
	n->mode = rd_u32(r);
	n->uid = rd_u32(r);
	n->gid = rd_u32(r);
	n->nlink = rd_u32(r);
	n->user = rd_str16(r, REPO_NAME_MAX);
	n->group = rd_str16(r, REPO_NAME_MAX);
	n->size = rd_u64(r);
	n->mtime_ns = (int64_t)rd_u64(r);
	n->ctime_ns = (int64_t)rd_u64(r);
	n->atime_ns = (int64_t)rd_u64(r);
	n->inode = rd_u64(r);
	n->dev = rd_u64(r);
	n->rdev = rd_u64(r);
	p = rd_bytes32(r, TARGET_MAX, &len);
	n->target = dup_bytes(p, len, r);
	n->target_len = len;
	cnt = rd_u32(r);
	if (r->bad)
		return "truncated";
	if (cnt > XATTRS_MAX || cnt > rd_left(r) / 6)
		return "too many extended attributes";
	if (cnt > 0 && (n->xattrs = calloc(cnt, sizeof(*n->xattrs))) == NULL)
		return "out of memory";
	for (uint32_t i = 0; i < cnt && !r->bad; i++) {
		struct xattr *x = &n->xattrs[i];
		x->name = rd_str16(r, XATTR_NAME_MAX_BYTES);
		p = rd_bytes32(r, XATTR_VALUE_MAX, &x->len);
		x->value = dup_bytes(p, x->len, r);
		n->nxattrs = i + 1;
	}
	cnt = rd_u32(r);
	if (r->bad)
		return "truncated";
	if (cnt > CONTENT_MAX || cnt > rd_left(r) / MM_ID_LEN)
		return "content list longer than the tree";
	if (cnt > 0 && (n->content = malloc(cnt * sizeof(*n->content))) == NULL)
		return "out of memory";
	n->ncontent = cnt;
	for (uint32_t i = 0; i < cnt; i++)
		rd_copy(r, n->content[i].b, MM_ID_LEN);
	if (n->type == NODE_DIR)
		rd_copy(r, n->subtree.b, MM_ID_LEN);
	if (r->bad || !n->user || !n->group)
		return "truncated";
	if (n->type < NODE_FILE || n->type > NODE_SOCK)
		return "unknown type";
	if (n->ncontent > 0 && n->type != NODE_FILE)
		return "content on an entry that is not a file";
	if (n->name_len == 0 || memchr(n->name, '/', n->name_len) ||
	    memchr(n->name, '\0', n->name_len))
		return "name is empty or contains '/' or NUL";
	if ((n->name_len == 1 && n->name[0] == '.') ||
	    (n->name_len == 2 && n->name[0] == '.' && n->name[1] == '.'))
		return "name is '.' or '..'";
	return NULL;
}

int
tree_decode(const uint8_t *p, size_t n, struct tree *out, struct mm_ctx *c)
{
	const uint8_t *magic;
	const char *why = NULL;
	struct rd r;
	uint32_t cnt;
	uint16_t ver;
	size_t i;

	memset(out, 0, sizeof(*out));
	rd_init(&r, p, n);
	magic = rd_ptr(&r, 4);
	ver = rd_u16(&r);
	cnt = rd_u32(&r);
	if (r.bad || memcmp(magic, "MMTR", 4) != 0)
		return mm_fail(c, MM_ECORRUPT, "not a tree (bad magic or truncated)");
	if (ver != TREE_VERSION)
		return mm_fail(c, MM_EVERSION, "tree encoding version %u is not supported", ver);
	if (cnt > TREE_ENTRIES_MAX || cnt > rd_left(&r) / NODE_MIN_LEN)
		return mm_fail(c, MM_ECORRUPT, "tree: %u entries cannot fit in %zu bytes", cnt,
			       rd_left(&r));
	if (cnt > 0 && (out->nodes = calloc(cnt, sizeof(*out->nodes))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	out->cap = cnt;
	for (i = 0; i < cnt && why == NULL; i++) {
		out->n = i + 1;
		why = node_decode(&r, &out->nodes[i]);
		if (why == NULL && i > 0 &&
		    node_cmp(&out->nodes[i - 1], &out->nodes[i]) >= 0)
			why = "names not sorted or not unique";
	}
	if (why == NULL && rd_left(&r) != 0) {
		why = "unexpected bytes after the last entry";
		i = cnt + 1;
	}
	if (why != NULL) {
		tree_release(out);
		return mm_fail(c, MM_ECORRUPT, "tree: entry %zu: %s", i - 1, why);
	}
	return 0;
}
