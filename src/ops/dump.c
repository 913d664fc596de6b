/*
 * dump: a file of a snapshot to a stream, blob by blob, or a folder as a
 * pax tar archive written by libarchive. Nothing is restored to disk and
 * no file is ever held whole in memory.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ops/ops.h"

int
ops_lookup(struct repo *r, const struct snapshot *s, const char *path, struct node *out,
	   struct mm_ctx *c)
{
	struct tree t = TREE_INIT;
	struct mm_id cur = s->tree;
	const char *p = path ? path : "/";
	int e;

	memset(out, 0, sizeof(*out));
	while (*p == '/')
		p++;
	if (*p == '\0') {
		/* The root: a folder with no name of its own. */
		out->type = NODE_DIR;
		out->mode = 0040755;
		out->subtree = s->tree;
		out->user = strdup("");
		out->group = strdup("");
		return out->user && out->group ? 0 : mm_fail(c, MM_ENOMEM, "out of memory");
	}
	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		struct node *n;

		if ((e = repo_tree_load(r, &cur, &t, c)) != 0)
			break;
		if ((n = tree_find(&t, (const uint8_t *)p, len)) == NULL) {
			e = mm_fail(c, MM_ENOPATH, "%s: no such path in the snapshot", path);
			break;
		}
		p += len;
		while (*p == '/')
			p++;
		if (*p == '\0') {
			*out = *n;
			memset(n, 0, sizeof(*n)); /* transferred */
			e = 0;
			break;
		}
		if (n->type != NODE_DIR) {
			e = mm_fail(c, MM_ENOPATH, "%s: no such path in the snapshot", path);
			break;
		}
		cur = n->subtree;
		tree_release(&t);
	}
	tree_release(&t);
	return e;
}

int
ops_dump_file(struct repo *r, const struct node *n, ops_out_fn out, void *arg, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	uint64_t total = 0;
	int e = 0;

	if (n->type != NODE_FILE)
		return mm_fail(c, MM_EINVAL, "not a regular file: dump a folder as a tar archive");
	if (n->flags & NODE_F_ERROR)
		return mm_fail(c, MM_ENOENT, "the file could not be read at backup time: its "
			       "content is not in the snapshot");
	buf_init(&b, REPO_BLOB_MAX);
	for (size_t i = 0; i < n->ncontent && e == 0; i++) {
		buf_reset(&b);
		if ((e = repo_blob_read(r, &n->content[i], &b, c)) != 0)
			break;
		total += b.len;
		e = out(arg, b.data, b.len, c);
	}
	if (e == 0 && total != n->size)
		e = mm_fail(c, MM_ECORRUPT, "the file's blobs hold %llu bytes, its size is %llu",
			    (unsigned long long)total, (unsigned long long)n->size);
	buf_release(&b);
	return e;
}

/* ---- tar ----------------------------------------------------------------- */

struct link_seen {
	uint64_t dev, inode;
	char *path;
};

/*
 * libarchive is loaded when a tar is made, not by every mamori command: it
 * brings libxml2, ICU and libstdc++ (about 4 ms and 3 MB at each start).
 */
#define AR_FUNCS(X) \
	X(archive_entry_clear) \
	X(archive_entry_copy_gname) \
	X(archive_entry_copy_hardlink) \
	X(archive_entry_copy_pathname) \
	X(archive_entry_copy_symlink) \
	X(archive_entry_copy_uname) \
	X(archive_entry_free) \
	X(archive_entry_new) \
	X(archive_entry_set_atime) \
	X(archive_entry_set_ctime) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_gid) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_rdev) \
	X(archive_entry_set_size) \
	X(archive_entry_set_uid) \
	X(archive_entry_xattr_add_entry) \
	X(archive_error_string) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open2) \
	X(archive_write_set_format_option) \
	X(archive_write_set_format_pax)
struct ar_api {
#define AR_MEMBER(f) __typeof__(f) *f;
	AR_FUNCS(AR_MEMBER)
#undef AR_MEMBER
};

static int
ar_load(struct ar_api *ar, struct mm_ctx *c)
{
#define AR_NAME(f) #f,
	static const char *const names[] = { AR_FUNCS(AR_NAME) };
#undef AR_NAME
	void *fns[sizeof(names) / sizeof(names[0])];
	size_t i = 0;
	int e;

	if ((e = mm_dl_load("libarchive.so.13", "libarchive13", names,
			    sizeof(names) / sizeof(names[0]), fns, c)) != 0)
		return e;
#define AR_SET(f) ar->f = (__typeof__(f) *)fns[i++];
	AR_FUNCS(AR_SET)
#undef AR_SET
	return 0;
}

struct tarrer {
	struct ar_api ar;
	struct repo *r;
	struct archive *a;
	struct archive_entry *ent;
	ops_out_fn out;
	void *arg;
	const struct ops_report *rep;
	struct dump_result *res;
	struct mm_ctx *c;
	int err;  /* first error (c holds its message) */
	struct link_seen *links;
	size_t nlinks, links_cap;
	struct buf blob;
};

static la_ssize_t
tar_write_cb(struct archive *a, void *arg, const void *p, size_t n)
{
	struct tarrer *t = arg;

	(void)a;
	if (t->err == 0 && (t->err = t->out(t->arg, p, n, t->c)) == 0)
		return (la_ssize_t)n;
	return -1;
}

static int
tar_fail(struct tarrer *t, const char *path)
{
	if (t->err == 0)
		t->err = mm_fail(t->c, MM_EIO, "%s: tar: %s", path,
				 t->ar.archive_error_string(t->a) ? t->ar.archive_error_string(t->a) : "error");
	return t->err;
}

static void
tar_warn(struct tarrer *t, const char *path, const char *why)
{
	char msg[1024];

	t->res->skipped++;
	if (t->rep && t->rep->warn) {
		snprintf(msg, sizeof(msg), "%s: %s; skipped", path, why);
		t->rep->warn(t->rep->arg, msg);
	}
}

static size_t
link_slot(const struct tarrer *t, uint64_t dev, uint64_t inode)
{
	uint64_t h = (inode ^ (dev << 32) ^ (dev >> 32)) * 0x9e3779b97f4a7c15ull;
	size_t j = (size_t)(h >> 20) & (t->links_cap - 1);

	while (t->links[j].path != NULL &&
	       (t->links[j].dev != dev || t->links[j].inode != inode))
		j = (j + 1) & (t->links_cap - 1);
	return j;
}

/* The earlier path of a hard link, or NULL (and remember this one). An
 * open-addressing table by (device, inode): many hard links stay fast. */
static const char *
link_target(struct tarrer *t, const struct node *n, const char *path, int *e)
{
	size_t j;

	*e = 0;
	if (n->type != NODE_FILE || n->nlink < 2)
		return NULL;
	if ((t->nlinks + 1) * 2 > t->links_cap) {
		struct link_seen *old = t->links;
		size_t oldcap = t->links_cap, ncap = oldcap ? oldcap * 2 : 64;

		if ((t->links = calloc(ncap, sizeof(*t->links))) == NULL) {
			t->links = old;
			*e = MM_ENOMEM;
			return NULL;
		}
		t->links_cap = ncap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].path != NULL)
				t->links[link_slot(t, old[i].dev, old[i].inode)] = old[i];
		free(old);
	}
	j = link_slot(t, n->dev, n->inode);
	if (t->links[j].path != NULL)
		return t->links[j].path;
	if ((t->links[j].path = strdup(path)) == NULL) {
		*e = MM_ENOMEM;
		return NULL;
	}
	t->links[j].dev = n->dev;
	t->links[j].inode = n->inode;
	t->nlinks++;
	return NULL;
}

static int
tar_entry(struct tarrer *t, const char *path, const struct node *n)
{
	struct archive_entry *e = t->ent;
	const char *name = path[0] == '/' ? path + 1 : path;
	const char *hard;
	unsigned type;
	int r;

	if (name[0] == '\0')
		return 0; /* the root itself */
	switch (n->type) {
	case NODE_FILE: type = AE_IFREG; break;
	case NODE_DIR: type = AE_IFDIR; break;
	case NODE_SYMLINK: type = AE_IFLNK; break;
	case NODE_FIFO: type = AE_IFIFO; break;
	case NODE_CHR: type = AE_IFCHR; break;
	case NODE_BLK: type = AE_IFBLK; break;
	default:
		tar_warn(t, path, "a socket cannot be put in a tar archive");
		return 0;
	}
	if (n->type == NODE_FILE && (n->flags & NODE_F_ERROR)) {
		tar_warn(t, path, "could not be read at backup time (no content)");
		return 0;
	}
	hard = link_target(t, n, name, &r);
	if (r != 0)
		return t->err = mm_fail(t->c, r, "out of memory");
	t->ar.archive_entry_clear(e);
	t->ar.archive_entry_copy_pathname(e, name);
	t->ar.archive_entry_set_filetype(e, type);
	t->ar.archive_entry_set_perm(e, n->mode & 07777);
	t->ar.archive_entry_set_uid(e, n->uid);
	t->ar.archive_entry_set_gid(e, n->gid);
	if (n->user && n->user[0])
		t->ar.archive_entry_copy_uname(e, n->user);
	if (n->group && n->group[0])
		t->ar.archive_entry_copy_gname(e, n->group);
	t->ar.archive_entry_set_mtime(e, n->mtime_ns / 1000000000, n->mtime_ns % 1000000000);
	t->ar.archive_entry_set_atime(e, n->atime_ns / 1000000000, n->atime_ns % 1000000000);
	t->ar.archive_entry_set_ctime(e, n->ctime_ns / 1000000000, n->ctime_ns % 1000000000);
	for (size_t i = 0; i < n->nxattrs; i++)
		t->ar.archive_entry_xattr_add_entry(e, n->xattrs[i].name, n->xattrs[i].value,
					      n->xattrs[i].len);
	if (n->type == NODE_SYMLINK) {
		char *target = malloc(n->target_len + 1);
		if (target == NULL)
			return t->err = mm_fail(t->c, MM_ENOMEM, "out of memory");
		memcpy(target, n->target, n->target_len);
		target[n->target_len] = '\0';
		t->ar.archive_entry_copy_symlink(e, target);
		free(target);
	}
	if (n->type == NODE_CHR || n->type == NODE_BLK)
		t->ar.archive_entry_set_rdev(e, (dev_t)n->rdev);
	if (hard != NULL) {
		t->ar.archive_entry_copy_hardlink(e, hard);
		t->ar.archive_entry_set_size(e, 0);
	} else if (n->type == NODE_FILE) {
		t->ar.archive_entry_set_size(e, (la_int64_t)n->size);
	}
	/* ARCHIVE_WARN: a name that is not UTF-8 goes out as its bytes, with
	 * the pax header hdrcharset=BINARY (POSIX.1-2008). */
	r = t->ar.archive_write_header(t->a, e);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return tar_fail(t, path);
	t->res->entries++;
	if (hard != NULL || n->type != NODE_FILE)
		return 0;
	for (size_t i = 0; i < n->ncontent; i++) {
		buf_reset(&t->blob);
		if ((r = repo_blob_read(t->r, &n->content[i], &t->blob, t->c)) != 0)
			return t->err = mm_prefix(t->c, r, "%s", path);
		if (t->ar.archive_write_data(t->a, t->blob.data, t->blob.len) < 0)
			return tar_fail(t, path);
		t->res->bytes += t->blob.len;
	}
	return 0;
}

static int
tar_one(void *arg, const char *path, const struct node *n)
{
	struct tarrer *t = arg;

	return tar_entry(t, path, n) != 0;
}

int
ops_dump_tar(struct repo *r, const struct snapshot *s, const char *path, ops_out_fn out,
	     void *arg, const struct ops_report *rep, struct dump_result *res, struct mm_ctx *c)
{
	struct tarrer t;
	struct node top;
	int e;

	memset(&t, 0, sizeof(t));
	memset(res, 0, sizeof(*res));
	t.r = r;
	t.out = out;
	t.arg = arg;
	t.rep = rep;
	t.res = res;
	t.c = c;
	buf_init(&t.blob, REPO_BLOB_MAX);
	/* The path must exist before a byte is written. */
	if ((e = ops_lookup(r, s, path, &top, c)) != 0)
		return e;
	node_release(&top);
	if ((e = ar_load(&t.ar, c)) != 0)
		return e;
	if ((t.a = t.ar.archive_write_new()) == NULL || (t.ent = t.ar.archive_entry_new()) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	/* Extended attributes as SCHILY.xattr records only: the ones GNU tar
	 * and star read (libarchive would add its own LIBARCHIVE.xattr too). */
	if (t.ar.archive_write_set_format_pax(t.a) != ARCHIVE_OK ||
	    t.ar.archive_write_set_format_option(t.a, "pax", "xattrheader", "SCHILY") < ARCHIVE_OK ||
	    t.ar.archive_write_open2(t.a, &t, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK) {
		e = tar_fail(&t, "archive");
		goto out;
	}
	e = ops_walk(r, s, path, tar_one, &t, c);
	if (e == 0)
		e = t.err;
	if (e == 0 && t.ar.archive_write_close(t.a) != ARCHIVE_OK)
		e = tar_fail(&t, "archive");
out:
	if (t.a != NULL)
		t.ar.archive_write_free(t.a);
	t.ar.archive_entry_free(t.ent);
	for (size_t i = 0; i < t.links_cap; i++)
		free(t.links[i].path);
	free(t.links);
	buf_release(&t.blob);
	return e;
}
