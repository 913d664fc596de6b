/*
 * Backup: walk the paths, reuse the parent snapshot's content for files
 * whose size, mtime, ctime and inode are unchanged, chunk the rest and hand
 * each chunk to the thread pool (ID, compression, encryption, pack), then
 * write trees bottom-up, flush packs and index, and only then the snapshot.
 *
 * The walk never waits for a folder's chunks: a folder's tree is written
 * by whichever thread finishes its last piece (chunk or subfolder), so the
 * walk keeps the workers fed across thousands of small folders. Subfolders
 * are walked by the pool's threads too (a few at a time, so descriptors
 * and read windows stay bounded): listing, stat and comparing with the
 * parent snapshot run on every core, which is most of an unchanged run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <limits.h>
#include <unistd.h>

#include "ops/ops.h"
#include "ops/backup_internal.h"

#define READ_BLOCK BK_READ_BLOCK
#define XATTR_LIST_MAX_BYTES (64u * 1024)
#define XATTR_VALUE_MAX_BYTES (64u * 1024)

/* ---- the job a worker does: one large chunk, or a batch of small ones -- */

/* Small chunks (the files of a folder of documents) travel in batches: one
 * hand-over to a worker per batch instead of per file. */
#define BATCH_SMALL (64u * 1024)     /* chunks below this are batched */
#define BATCH_BYTES (1024u * 1024)   /* a batch is handed over at this size */
#define BATCH_ITEMS 64

struct chunk_item {
	struct pdir *owner; /* the folder whose tree waits for this chunk */
	struct mm_id *slot; /* where the ID goes, in the file's node */
	uint8_t *data;
	size_t len;
};

struct chunk_job {
	struct bk *b;
	int queued; /* counted in b->inflight */
	size_t n, bytes;
	struct chunk_item it[BATCH_ITEMS];
};

/* The first error wins; everything still queued is then dropped. */
void
bk_fail(struct bk *b, int e, const struct mm_ctx *c)
{
	pthread_mutex_lock(&b->mu);
	if (b->err == 0) {
		b->err = e;
		b->errctx = *c;
	}
	pthread_mutex_unlock(&b->mu);
	atomic_store(&b->failed, 1);
}

static int
chunk_save(struct bk *b, struct chunk_item *it, struct mm_ctx *c)
{
	struct sealed_blob s;
	int added = 0, e;

	repo_blob_id(b->r, it->data, it->len, it->slot);
	if (repo_blob_known(b->r, it->slot))
		return 0;
	if ((e = repo_blob_seal(b->r, BLOB_DATA, it->slot, it->data, it->len, &s)) != 0)
		return mm_fail(c, e, "cannot compress and encrypt a chunk");
	e = repo_blob_put(b->r, &s, &added, c);
	sealed_blob_release(&s);
	if (e == 0 && added)
		atomic_fetch_add(&b->blobs_added, 1);
	return e;
}

/* ---- folders whose trees wait for their pieces -------------------------- */

static struct pdir *
pdir_new(struct pdir *up, size_t slot)
{
	struct pdir *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->up = up;
	p->slot = slot;
	atomic_init(&p->pending, 1); /* the walk's own reference */
	if (up != NULL)
		atomic_fetch_add(&up->pending, 1);
	return p;
}

/* The node for a new entry of p: the walk adds while workers may be writing
 * finished subfolders' IDs into the same array. */
static struct node *
pdir_add(struct bk *b, struct pdir *p, size_t *slot)
{
	struct node *n;

	pthread_mutex_lock(&b->tree_mu);
	n = tree_add(&p->t);
	*slot = p->t.n - 1;
	pthread_mutex_unlock(&b->tree_mu);
	return n;
}

/* Drop a reference; the last one writes the folder's tree, hands its ID to
 * the folder above and drops that one's reference in turn (a loop, not a
 * recursion: folders nest 10,000 deep). A top folder is left to its
 * caller. */
static void
pdir_put(struct bk *b, struct pdir *p)
{
	while (p != NULL && atomic_fetch_sub(&p->pending, 1) == 1 && p->up != NULL) {
		struct pdir *up = p->up;
		struct mm_id id = { 0 };
		struct mm_ctx c = MM_CTX_INIT;
		int e;

		if (!atomic_load(&b->failed) && (e = repo_tree_save(b->r, &p->t, &id, &c)) != 0)
			bk_fail(b, e, &c);
		pthread_mutex_lock(&b->tree_mu);
		up->t.nodes[p->slot].subtree = id;
		pthread_mutex_unlock(&b->tree_mu);
		tree_release(&p->t);
		free(p);
		p = up;
	}
}

static int flush_batch(struct bkw *w, int run_here, struct mm_ctx *c);

struct pdir *
bk_top_new(void)
{
	return pdir_new(NULL, 0);
}

struct tree *
bk_top_tree(struct pdir *top)
{
	return &top->t;
}

int
bk_top_finish(struct bkw *w, struct pdir *top, struct mm_id *id, struct mm_ctx *c)
{
	struct bk *b = w->b;
	int e;

	if (top == NULL)
		return 0;
	if ((e = flush_batch(w, 1, c)) != 0)
		bk_fail(b, e, c);
	pdir_put(b, top);
	pool_wait(b->pool);
	if (atomic_load(&b->failed)) {
		pthread_mutex_lock(&b->mu);
		e = b->err;
		*c = b->errctx;
		pthread_mutex_unlock(&b->mu);
	} else if (id != NULL) {
		e = repo_tree_save(b->r, &top->t, id, c);
	}
	tree_release(&top->t);
	free(top);
	return e;
}

static void
job_done(struct bk *b, size_t bytes)
{
	pthread_mutex_lock(&b->mu);
	b->inflight -= bytes;
	pthread_mutex_unlock(&b->mu);
}

static void
chunk_job_run(void *arg)
{
	struct chunk_job *j = arg;
	struct bk *b = j->b;
	struct mm_ctx c = MM_CTX_INIT;
	size_t bytes = j->bytes;
	int e, queued = j->queued;

	for (size_t i = 0; i < j->n; i++) {
		if (!atomic_load(&b->failed) && (e = chunk_save(b, &j->it[i], &c)) != 0) {
			bk_fail(b, e, &c);
		}
		free(j->it[i].data);
		pdir_put(b, j->it[i].owner);
	}
	free(j);
	if (queued)
		job_done(b, bytes);
}

static int
job_submit(struct bk *b, struct chunk_job *j, struct mm_ctx *c)
{
	int e;

	/* Bytes in flight, not jobs, bound memory: a queue of 8 MiB chunks
	 * would otherwise hold far more than a queue of small files. Over the
	 * budget the walker does the job itself rather than wait: walkers run
	 * on the pool's threads too, and waiting there could leave no thread
	 * to bring the count down. */
	pthread_mutex_lock(&b->mu);
	if (b->inflight > 0 && b->inflight + j->bytes > b->inflight_max) {
		pthread_mutex_unlock(&b->mu);
		chunk_job_run(j);
		return 0;
	}
	b->inflight += j->bytes;
	pthread_mutex_unlock(&b->mu);
	j->queued = 1;
	if ((e = pool_submit(b->pool, chunk_job_run, j)) != 0) {
		job_done(b, j->bytes);
		for (size_t i = 0; i < j->n; i++) {
			free(j->it[i].data);
			pdir_put(b, j->it[i].owner);
		}
		free(j);
		return mm_fail(c, e, "cannot queue work");
	}
	return 0;
}

/* Hand the open batch over; inline (in this thread) when the caller is
 * about to wait anyway, which saves a wake-up per folder. */
static int
flush_batch(struct bkw *w, int run_here, struct mm_ctx *c)
{
	struct chunk_job *j = w->batch;

	if (j == NULL)
		return 0;
	w->batch = NULL;
	if (run_here) {
		chunk_job_run(j);
		return 0;
	}
	return job_submit(w->b, j, c);
}

static int
submit_chunk(struct bkw *w, struct pdir *owner, struct mm_id *slot, const uint8_t *p, size_t n,
	     struct mm_ctx *c)
{
	struct bk *b = w->b;
	struct chunk_item it = { owner, slot, malloc(n ? n : 1), n };
	struct chunk_job *j;
	int e;

	if (it.data == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	memcpy(it.data, p, n);
	atomic_fetch_add(&owner->pending, 1);
	if (n >= BATCH_SMALL) {
		if ((j = calloc(1, sizeof(*j))) == NULL) {
			free(it.data);
			pdir_put(b, owner);
			return mm_fail(c, MM_ENOMEM, "out of memory");
		}
		j->b = b;
		j->it[j->n++] = it;
		j->bytes = n;
		return job_submit(b, j, c);
	}
	if (w->batch == NULL && (w->batch = calloc(1, sizeof(*w->batch))) == NULL) {
		free(it.data);
		pdir_put(b, owner);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	j = w->batch;
	j->b = b;
	j->it[j->n++] = it;
	j->bytes += n;
	if (j->n == BATCH_ITEMS || j->bytes >= BATCH_BYTES)
		e = flush_batch(w, 0, c);
	else
		e = 0;
	return e;
}

/* ---- reporting -------------------------------------------------------- */

static void
bk_warn(struct bk *b, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b->o->rep.warn)
		b->o->rep.warn(b->o->rep.arg, msg);
}

/* Counts are those of the finished walkers plus this one's: a lower bound
 * while others run, exact at the end. */
static void
bk_progress(struct bkw *w, const char *path, int force)
{
	struct bk *b = w->b;
	struct ops_progress p;
	double now = time_mono();

	if (!b->o->rep.progress)
		return;
	if (force)
		pthread_mutex_lock(&b->mu);
	else if (pthread_mutex_trylock(&b->mu) != 0)
		return;
	if (force || now - b->last_progress >= 0.2) {
		b->last_progress = now;
		memset(&p, 0, sizeof(p));
		p.files_done = b->sum.files_new + b->sum.files_changed + b->sum.files_unchanged +
			       w->sum.files_new + w->sum.files_changed + w->sum.files_unchanged;
		p.bytes_done = b->sum.bytes_total + w->sum.bytes_total;
		p.errors = b->sum.errors + w->sum.errors;
		p.elapsed = now - b->t0;
		p.current = path;
		b->o->rep.progress(b->o->rep.arg, &p);
	}
	pthread_mutex_unlock(&b->mu);
}

/* ---- metadata ----------------------------------------------------------- */

static char *
name_of_uid(struct bkw *b, uint32_t uid)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (b->uid_cache.valid && b->uid_cache.id == uid)
		return strdup(b->uid_cache.name);
	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) != 0 || res == NULL)
		return strdup("");
	b->uid_cache.valid = 1;
	b->uid_cache.id = uid;
	snprintf(b->uid_cache.name, sizeof(b->uid_cache.name), "%s", res->pw_name);
	return strdup(res->pw_name);
}

static char *
name_of_gid(struct bkw *b, uint32_t gid)
{
	struct group gr, *res = NULL;
	char tmp[4096];

	if (b->gid_cache.valid && b->gid_cache.id == gid)
		return strdup(b->gid_cache.name);
	if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &res) != 0 || res == NULL)
		return strdup("");
	b->gid_cache.valid = 1;
	b->gid_cache.id = gid;
	snprintf(b->gid_cache.name, sizeof(b->gid_cache.name), "%s", res->gr_name);
	return strdup(res->gr_name);
}

static uint8_t
node_type_of(mode_t m)
{
	if (S_ISREG(m)) return NODE_FILE;
	if (S_ISDIR(m)) return NODE_DIR;
	if (S_ISLNK(m)) return NODE_SYMLINK;
	if (S_ISFIFO(m)) return NODE_FIFO;
	if (S_ISCHR(m)) return NODE_CHR;
	if (S_ISBLK(m)) return NODE_BLK;
	return NODE_SOCK;
}

static int64_t
ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int
node_fill_stat(struct bkw *b, struct node *n, const char *name, const struct stat *st)
{
	n->name_len = strlen(name);
	if ((n->name = malloc(n->name_len)) == NULL)
		return MM_ENOMEM;
	memcpy(n->name, name, n->name_len);
	n->type = node_type_of(st->st_mode);
	n->mode = st->st_mode;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	n->user = name_of_uid(b, st->st_uid);
	n->group = name_of_gid(b, st->st_gid);
	if (!n->user || !n->group)
		return MM_ENOMEM;
	n->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	n->mtime_ns = ts_ns(&st->st_mtim);
	n->ctime_ns = ts_ns(&st->st_ctim);
	n->atime_ns = ts_ns(&st->st_atim);
	n->inode = st->st_ino;
	n->dev = st->st_dev;
	n->nlink = (uint32_t)st->st_nlink;
	n->rdev = (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) ? st->st_rdev : 0;
	return 0;
}

/* User xattrs only: other namespaces belong to the system that set them. */
static int
node_read_xattrs(struct bk *b, struct node *n, const char *path)
{
	char list[XATTR_LIST_MAX_BYTES];
	uint8_t val[XATTR_VALUE_MAX_BYTES];
	ssize_t len, vl;

	len = llistxattr(path, list, sizeof(list));
	if (len <= 0)
		return 0; /* none, or not supported here */
	for (ssize_t off = 0; off < len; off += (ssize_t)strlen(list + off) + 1) {
		const char *name = list + off;
		struct xattr *nx;

		if (strncmp(name, "user.", 5) != 0)
			continue;
		if ((vl = lgetxattr(path, name, val, sizeof(val))) < 0) {
			bk_warn(b, "%s: cannot read extended attribute %s: %s", path, name,
				strerror(errno));
			continue;
		}
		nx = realloc(n->xattrs, (n->nxattrs + 1) * sizeof(*nx));
		if (nx == NULL)
			return MM_ENOMEM;
		n->xattrs = nx;
		nx = &n->xattrs[n->nxattrs];
		nx->name = strdup(name);
		nx->value = malloc(vl ? (size_t)vl : 1);
		nx->len = (size_t)vl;
		if (!nx->name || !nx->value) {
			free(nx->name);
			free(nx->value);
			return MM_ENOMEM;
		}
		memcpy(nx->value, val, (size_t)vl);
		n->nxattrs++;
	}
	return 0;
}

/* The parent snapshot's node describes the same, unchanged inode. */
static int
same_inode_state(const struct node *p, const struct node *n)
{
	return p != NULL && p->type == n->type && p->mtime_ns == n->mtime_ns &&
	       p->ctime_ns == n->ctime_ns && p->inode == n->inode && p->size == n->size;
}

static int
copy_xattrs(struct node *n, const struct node *p)
{
	if (p->nxattrs == 0)
		return 0;
	if ((n->xattrs = calloc(p->nxattrs, sizeof(*n->xattrs))) == NULL)
		return MM_ENOMEM;
	for (size_t i = 0; i < p->nxattrs; i++) {
		struct xattr *x = &n->xattrs[i];
		n->nxattrs = i + 1;
		x->name = strdup(p->xattrs[i].name);
		x->value = malloc(p->xattrs[i].len ? p->xattrs[i].len : 1);
		if (!x->name || !x->value)
			return MM_ENOMEM;
		memcpy(x->value, p->xattrs[i].value, p->xattrs[i].len);
		x->len = p->xattrs[i].len;
	}
	return 0;
}

/* ---- files -------------------------------------------------------------- */

static int
parent_unchanged(const struct node *p, const struct node *n)
{
	return p != NULL && p->type == NODE_FILE && n->type == NODE_FILE &&
	       !(p->flags & (NODE_F_ERROR | NODE_F_CHANGED)) && p->size == n->size &&
	       p->mtime_ns == n->mtime_ns && p->ctime_ns == n->ctime_ns && p->inode == n->inode;
}

static int
reuse_content(struct node *n, const struct node *p)
{
	if (p->ncontent == 0)
		return 0;
	if ((n->content = malloc(p->ncontent * sizeof(*n->content))) == NULL)
		return MM_ENOMEM;
	memcpy(n->content, p->content, p->ncontent * sizeof(*n->content));
	n->ncontent = p->ncontent;
	return 0;
}

static void
file_mark_error(struct bkw *w, struct node *n, const char *path, int err)
{
	bk_warn(w->b, "%s: cannot read: %s", path, strerror(err));
	n->flags |= NODE_F_ERROR;
	n->ncontent = 0;
	w->sum.errors++;
}

/* Make room for `need` bytes in the walker's window, keeping its first
 * `keep` bytes. The window never exceeds the chunker's maximum plus one
 * read: past max_size bytes the chunker always cuts. */
/* The walker's window becomes p (cap bytes), with the first keep bytes of
 * the old one. */
static void
win_replace(struct bkw *w, uint8_t *p, size_t cap, size_t keep)
{
	if (keep > 0)
		memcpy(p, w->win, keep);
	free(w->win);
	w->win = p;
	w->win_cap = cap;
}

/* A large window from the run's spares, if one is big enough. */
static int
win_take_spare(struct bkw *w, size_t need, size_t keep)
{
	struct bk *b = w->b;
	uint8_t *p = NULL;
	size_t cap = 0;

	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < b->nspare; i++)
		if (b->spare[i].cap >= need) {
			p = b->spare[i].p;
			cap = b->spare[i].cap;
			b->spare[i] = b->spare[--b->nspare];
			break;
		}
	pthread_mutex_unlock(&b->mu);
	if (p == NULL)
		return 0;
	win_replace(w, p, cap, keep);
	return 1;
}

/* The walker gives its window back: kept as a spare while there is room,
 * else freed. */
static void
win_give_back(struct bkw *w)
{
	struct bk *b = w->b;
	uint8_t *p = w->win;

	w->win = NULL;
	if (p != NULL) {
		pthread_mutex_lock(&b->mu);
		if (b->nspare < BK_SPARE_WINDOWS) {
			b->spare[b->nspare].p = p;
			b->spare[b->nspare].cap = w->win_cap;
			b->nspare++;
			p = NULL;
		}
		pthread_mutex_unlock(&b->mu);
		free(p);
	}
	w->win_cap = 0;
}

/* Make room for `need` bytes in the walker's window, keeping its first
 * `keep` bytes. The window never exceeds the chunker's maximum plus one
 * read: past max_size bytes the chunker always cuts. */
static int
win_reserve(struct bkw *w, size_t need, size_t keep)
{
	size_t limit = (size_t)w->b->r->cfg.chunker.max_size + READ_BLOCK, cap;
	uint8_t *p;

	if (need <= w->win_cap)
		return 0;
	if (need > BK_KEEP_WINDOW && win_take_spare(w, need, keep))
		return 0;
	cap = w->win_cap ? w->win_cap : READ_BLOCK;
	while (cap < need)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	if (need > cap)
		return MM_ELIMIT;
	if ((p = malloc(cap)) == NULL)
		return MM_ENOMEM;
	win_replace(w, p, cap, keep);
	return 0;
}

/* Read, chunk and queue a file; slots for the IDs are in n->content. The
 * window is consumed from `start`; the unconsumed tail moves to the front
 * only when the next read would not fit, so each byte is moved at most
 * once more after the read (not once per chunk cut before it). */
static int
file_chunk(struct bkw *w, struct pdir *pd, struct node *n, const char *path, int fd,
	   struct mm_ctx *c)
{
	const struct chunker_params *cp = &w->b->r->cfg.chunker;
	size_t cap = n->size / cp->min_size + 2, have = 0, start = 0, scanned = 0;
	uint64_t total = 0;
	int eof = 0, e;

	if ((n->content = calloc(cap, sizeof(*n->content))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (;;) {
		size_t cut = have > 0 ? chunker_next_from(cp, &w->b->r->gear, w->win + start, have,
							  eof, scanned)
				      : 0;

		if (cut == 0 && !eof) {
			ssize_t got;

			scanned = have; /* no cut in what we have: resume after it */
			if (start + have + READ_BLOCK > w->win_cap) {
				if (have > 0)
					memmove(w->win, w->win + start, have);
				start = 0;
				if ((e = win_reserve(w, have + READ_BLOCK, have)) != 0)
					return mm_fail(c, e, "out of memory");
			}
			got = read(fd, w->win + start + have, READ_BLOCK);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				file_mark_error(w, n, path, errno);
				return 0;
			}
			if (got == 0)
				eof = 1;
			have += (size_t)got;
			total += (uint64_t)got;
			w->sum.bytes_read += (uint64_t)got;
			continue;
		}
		if (have == 0)
			break;
		if (cut == 0)
			cut = have; /* at end of file the chunker takes what is left */
		if (n->ncontent == cap) {
			/* The file grew while we read it: keep what the stat said. */
			n->flags |= NODE_F_CHANGED;
			break;
		}
		if ((e = submit_chunk(w, pd, &n->content[n->ncontent], w->win + start, cut, c)) != 0)
			return e;
		n->ncontent++;
		if ((e = repo_lock_refresh(w->b->r, c)) != 0)
			return e;
		start += cut;
		have -= cut;
		scanned = 0;
		bk_progress(w, path, 0);
	}
	if (total != n->size)
		n->flags |= NODE_F_CHANGED;
	return 0;
}

/* Open an entry without touching its access time (O_NOATIME is refused
 * for files we do not own: then without it), relative to the folder's
 * descriptor when the walk holds one, else by path. */
static int
open_entry(int dfd, const char *name, const char *path, int flags)
{
	int fd;

	flags |= O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
	fd = dfd >= 0 ? openat(dfd, name, flags | O_NOATIME) : open(path, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = dfd >= 0 ? openat(dfd, name, flags) : open(path, flags);
	return fd;
}

static int
save_file(struct bkw *w, struct pdir *pd, struct node *n, int dfd, const char *name,
	  const char *path, const struct node *parent, struct mm_ctx *c)
{
	struct stat st;
	int fd, e;

	w->sum.bytes_total += n->size;
	if (parent_unchanged(parent, n)) {
		w->sum.files_unchanged++;
		return reuse_content(n, parent) ? mm_fail(c, MM_ENOMEM, "out of memory") : 0;
	}
	if (parent != NULL && parent->type == NODE_FILE)
		w->sum.files_changed++;
	else
		w->sum.files_new++;
	if ((fd = open_entry(dfd, name, path, 0)) < 0) {
		file_mark_error(w, n, path, errno);
		return 0;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	e = file_chunk(w, pd, n, path, fd, c);
	if (w->win_cap > BK_KEEP_WINDOW)
		win_give_back(w);
	if (e == 0 && fstat(fd, &st) == 0 &&
	    (ts_ns(&st.st_mtim) != n->mtime_ns || (uint64_t)st.st_size != n->size))
		n->flags |= NODE_F_CHANGED;
	if (e == 0 && (n->flags & NODE_F_CHANGED))
		bk_warn(w->b, "%s: changed while it was read; the snapshot notes it", path);
	close(fd);
	return e;
}

/* ---- directories and entries ------------------------------------------ */

static int
excluded(const struct bk *b, const char *path, const char *name)
{
	for (size_t i = 0; i < b->o->nexcludes; i++) {
		const char *pat = b->o->excludes[i];
		if (strchr(pat, '/') ? fnmatch(pat, path, FNM_PATHNAME) == 0
				     : fnmatch(pat, name, 0) == 0)
			return 1;
	}
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The names in the folder open as fd, sorted; getdents64 straight into a
 * buffer (no DIR stream), so fd stays usable for the *at calls after. */
static int
read_dir_names(int fd, char ***out, size_t *n, int *err)
{
	_Alignas(8) char buf[32768];
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	ssize_t got;

	*out = NULL;
	*n = 0;
	*err = 0;
	while ((got = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < got;) {
			const struct dirent64 *de = (const struct dirent64 *)(buf + off);
			off += de->d_reclen;
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (cnt == cap) {
				size_t ncap = cap ? cap * 2 : 32;
				char **nv = realloc(v, ncap * sizeof(*nv));
				if (nv == NULL)
					goto oom;
				v = nv;
				cap = ncap;
			}
			if ((v[cnt] = strdup(de->d_name)) == NULL)
				goto oom;
			cnt++;
		}
	}
	if (got < 0)
		*err = errno;
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), name_cmp);
	*out = v;
	*n = cnt;
	return *err ? MM_EIO : 0;
oom:
	free_names(v, cnt);
	return MM_ENOMEM;
}

static int
save_symlink(struct bkw *w, struct node *n, int dfd, const char *name, const char *path,
	     struct mm_ctx *c)
{
	char target[PATH_MAX + 1];
	ssize_t len = dfd >= 0 ? readlinkat(dfd, name, target, sizeof(target))
			       : readlink(path, target, sizeof(target));
	struct stat st;

	w->sum.others++;
	/* readlink may have set the link's access time (there is no O_NOATIME
	 * for it): record the time as it is now, so an unchanged link gives an
	 * identical tree next time. */
	if ((dfd >= 0 ? fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) : lstat(path, &st)) == 0 &&
	    S_ISLNK(st.st_mode))
		n->atime_ns = (int64_t)st.st_atim.tv_sec * 1000000000LL + st.st_atim.tv_nsec;
	if (len <= 0 || (size_t)len > PATH_MAX) {
		bk_warn(w->b, "%s: cannot read link: %s", path,
			strerror(len < 0 ? errno : ENAMETOOLONG));
		n->flags |= NODE_F_ERROR;
		w->sum.errors++;
		/* a symlink needs a target to be valid in a tree */
		len = 1;
		target[0] = '?';
	}
	if ((n->target = malloc((size_t)len)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	memcpy(n->target, target, (size_t)len);
	n->target_len = (size_t)len;
	return 0;
}

/* The parent snapshot's tree of a folder; empty when it cannot be read
 * (everything is then read anew). */
static void
load_parent_tree(struct bk *b, const struct mm_id *id, struct tree *pt)
{
	struct mm_ctx ignore = MM_CTX_INIT;

	if (repo_tree_load(b->r, id, pt, &ignore) != 0)
		tree_release(pt);
}

/* Save the entries of the folder open as fd (closed here) into pd's tree.
 * *unreadable is set when the folder could not be listed in full. */
static int
walk_entries(struct bkw *w, struct pdir *pd, int fd, const char *path, const struct tree *pt,
	     int *unreadable, struct mm_ctx *c)
{
	struct bk *b = w->b;
	char **names = NULL;
	size_t nnames = 0;
	int derr = 0, e;

	if ((e = read_dir_names(fd, &names, &nnames, &derr)) != 0) {
		if (e == MM_ENOMEM) {
			e = mm_fail(c, e, "out of memory");
			goto out;
		}
		bk_warn(b, "%s: cannot read directory: %s", path, strerror(derr));
		*unreadable = 1;
		w->sum.errors++;
		e = 0;
	}
	/* Entries are looked up relative to the folder (no path walk per
	 * entry); past BK_FD_DEPTH levels by path, so a deep tree cannot
	 * exhaust the descriptors. */
	if (w->depth >= BK_FD_DEPTH) {
		close(fd);
		fd = -1;
	}
	w->depth++;
	for (size_t i = 0; i < nnames && e == 0; i++)
		e = bk_save_entry(w, pd, fd, path, names[i], pt, c);
	w->depth--;
	if (e != 0)
		goto out;
	if (atomic_load(&b->failed)) {
		pthread_mutex_lock(&b->mu);
		e = b->err;
		*c = b->errctx;
		pthread_mutex_unlock(&b->mu);
		goto out;
	}
	/* Keep the lock fresh so no one takes it for a dead process's. */
	e = repo_lock_refresh(b->r, c);
out:
	if (fd >= 0)
		close(fd);
	free_names(names, nnames);
	return e;
}

int
bk_walk_dir(struct bkw *w, struct pdir *pd, struct node *n, int pdfd, const char *name,
	    const char *path, const struct node *parent, struct mm_ctx *c)
{
	struct bk *b = w->b;
	struct tree pt = TREE_INIT;
	int fd, e = 0, unreadable = 0;

	w->sum.dirs++;
	if (b->o->one_file_system && n->dev != b->top_dev)
		return 0; /* a mount point: record it, do not descend */
	if (parent != NULL && parent->type == NODE_DIR)
		load_parent_tree(b, &parent->subtree, &pt);
	if ((fd = open_entry(pdfd, name, path, O_DIRECTORY)) < 0) {
		bk_warn(b, "%s: cannot read directory: %s", path, strerror(errno));
		unreadable = 1;
		w->sum.errors++;
	} else {
		e = walk_entries(w, pd, fd, path, &pt, &unreadable, c);
	}
	if (unreadable)
		n->flags |= NODE_F_ERROR;
	tree_release(&pt);
	return e;
}

/* ---- folders walked by the pool's threads -------------------------------- */

struct walk_job {
	struct bk *b;
	struct pdir *pd; /* the folder's own tree; the job holds a reference */
	int fd;          /* the folder, open */
	char *path;
	unsigned depth;
	int has_parent;
	struct mm_id parent_tree;
};

void
bk_walker_start(struct bkw *w, struct bk *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b; /* its window comes with its first file */
}

void
bk_walker_end(struct bkw *w)
{
	struct bk *b = w->b;
	struct snap_summary *t = &b->sum;
	struct mm_ctx c = MM_CTX_INIT;
	int e;

	if ((e = flush_batch(w, 1, &c)) != 0)
		bk_fail(b, e, &c);
	pthread_mutex_lock(&b->mu);
	t->files_new += w->sum.files_new;
	t->files_changed += w->sum.files_changed;
	t->files_unchanged += w->sum.files_unchanged;
	t->dirs += w->sum.dirs;
	t->others += w->sum.others;
	t->bytes_total += w->sum.bytes_total;
	t->bytes_read += w->sum.bytes_read;
	t->errors += w->sum.errors;
	pthread_mutex_unlock(&b->mu);
	win_give_back(w);
	memset(&w->sum, 0, sizeof(w->sum));
}

void
bk_release(struct bk *b)
{
	for (size_t i = 0; i < b->nspare; i++)
		free(b->spare[i].p);
	b->nspare = 0;
}

/* A subfolder's listing could not be completed: flag its node, which its
 * parent's walker may be appending next to. */
static void
pdir_mark_error(struct bk *b, struct pdir *p)
{
	pthread_mutex_lock(&b->tree_mu);
	p->up->t.nodes[p->slot].flags |= NODE_F_ERROR;
	pthread_mutex_unlock(&b->tree_mu);
}

static void
walk_job_run(void *arg)
{
	struct walk_job *j = arg;
	struct bk *b = j->b;
	struct tree pt = TREE_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	struct bkw w;
	int e, unreadable = 0;

	bk_walker_start(&w, b);
	w.depth = j->depth;
	w.sum.dirs++;
	if (atomic_load(&b->failed)) {
		close(j->fd);
	} else {
		if (j->has_parent)
			load_parent_tree(b, &j->parent_tree, &pt);
		if ((e = walk_entries(&w, j->pd, j->fd, j->path, &pt, &unreadable, &c)) != 0)
			bk_fail(b, e, &c);
	}
	if (unreadable)
		pdir_mark_error(b, j->pd);
	bk_walker_end(&w);
	tree_release(&pt);
	atomic_fetch_sub(&b->walkers, 1);
	pdir_put(b, j->pd);
	free(j->path);
	free(j);
}

/* Hand the walk of subfolder sub to the pool when fewer than walkers_max
 * walks are out and the queue has room. 1: handed over (sub's reference
 * too), 0: walk it here, <0: an error. */
static int
spawn_walk(struct bkw *w, struct pdir *sub, const struct node *n, int dfd, const char *name,
	   const char *path, const struct node *parent, struct mm_ctx *c)
{
	struct bk *b = w->b;
	struct walk_job *j;
	int fd, e;

	if (atomic_load(&b->walkers) >= b->walkers_max ||
	    (b->o->one_file_system && n->dev != b->top_dev))
		return 0;
	if ((fd = open_entry(dfd, name, path, O_DIRECTORY)) < 0)
		return 0; /* walked here, which reports why */
	if ((j = calloc(1, sizeof(*j))) == NULL || (j->path = strdup(path)) == NULL) {
		free(j);
		close(fd);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	j->b = b;
	j->pd = sub;
	j->fd = fd;
	j->depth = w->depth;
	if (parent != NULL && parent->type == NODE_DIR) {
		j->has_parent = 1;
		j->parent_tree = parent->subtree;
	}
	atomic_fetch_add(&b->walkers, 1);
	if ((e = pool_try_submit(b->pool, walk_job_run, j)) != 0) {
		atomic_fetch_sub(&b->walkers, 1);
		free(j->path);
		free(j);
		close(fd);
		return e > 0 ? 0 : mm_fail(c, e, "cannot queue work");
	}
	return 1;
}

/* Walk the folder of node `slot` of pd; its tree is written once its last
 * chunk and subfolder are done. */
static int
save_dir(struct bkw *w, struct pdir *pd, size_t slot, struct node *n, int dfd, const char *name,
	 const char *path, const struct node *parent, struct mm_ctx *c)
{
	struct pdir *sub = pdir_new(pd, slot);
	int e;

	if (sub == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if ((e = spawn_walk(w, sub, n, dfd, name, path, parent, c)) > 0)
		return 0;
	if (e == 0 && (e = bk_walk_dir(w, sub, n, dfd, name, path, parent, c)) != 0)
		bk_fail(w->b, e, c); /* its tree must not be written */
	else if (e < 0)
		bk_fail(w->b, e, c);
	pdir_put(w->b, sub);
	return e;
}

int
bk_save_entry(struct bkw *w, struct pdir *pd, int dfd, const char *dir, const char *name,
	      const struct tree *ptree, struct mm_ctx *c)
{
	struct bk *b = w->b;
	size_t slot;
	char *path = path_join(dir, name);
	const struct node *parent = NULL;
	struct node *n;
	struct stat st;
	int e = 0;

	if (path == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if (excluded(b, path, name))
		goto out;
	if ((dfd >= 0 ? fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) : lstat(path, &st)) != 0) {
		if (errno != ENOENT) { /* a file deleted under us is simply gone */
			bk_warn(b, "%s: cannot stat: %s", path, strerror(errno));
			w->sum.errors++;
		}
		goto out;
	}
	if ((n = pdir_add(b, pd, &slot)) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (node_fill_stat(w, n, name, &st) != 0) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (ptree != NULL)
		parent = tree_find(ptree, n->name, n->name_len);
	/* Setting an xattr changes ctime: with ctime (and the rest) as in the
	 * parent snapshot, its xattrs are still right and need no syscall. */
	if (same_inode_state(parent, n) ? copy_xattrs(n, parent) != 0
					: node_read_xattrs(b, n, path) != 0) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	/* An access alone does not make a new tree: with atime in every node,
	 * each nightly run would otherwise rewrite every tree (find, updatedb
	 * and readers touch atimes). atime is taken anew when anything else
	 * about the entry changed. Set before a subfolder's walk may go to
	 * another thread. */
	if (same_inode_state(parent, n) && n->type != NODE_SYMLINK)
		n->atime_ns = parent->atime_ns;
	switch (n->type) {
	case NODE_FILE:
		e = save_file(w, pd, n, dfd, name, path, parent, c);
		break;
	case NODE_DIR:
		e = save_dir(w, pd, slot, n, dfd, name, path, parent, c);
		break;
	case NODE_SYMLINK:
		e = save_symlink(w, n, dfd, name, path, c);
		if (same_inode_state(parent, n))
			n->atime_ns = parent->atime_ns;
		break;
	default:
		w->sum.others++;
		break;
	}
	bk_progress(w, path, 0);
out:
	free(path);
	return e;
}

int
bk_save_virtual_dir(struct bkw *w, struct node *n, const char *path, struct mm_ctx *c)
{
	struct stat st;
	const char *name = strrchr(path, '/');

	if (lstat(path, &st) != 0)
		return mm_fail_errno(c, errno, "%s", path);
	name = name && name[1] ? name + 1 : path;
	if (node_fill_stat(w, n, name, &st) != 0)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	return 0;
}

void
bk_note_progress(struct bkw *w, const char *path)
{
	bk_progress(w, path, 1);
}
