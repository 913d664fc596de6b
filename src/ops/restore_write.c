/*
 * restore, the writing of files: holes where the source had zeros, files
 * of 1 MiB and more past the page cache (O_DIRECT, with a fallback), files
 * of 32 MiB and more in ranges written by several workers at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/ops.h"
#include "ops/restore_internal.h"

/* ---- files -------------------------------------------------------------------- */

#define HOLE_BLOCK 4096
/* Files this large are written with O_DIRECT: their bytes go from our
 * buffer to the disk instead of through the page cache, which costs less
 * CPU and does not evict the cache of the services running on the server
 * being restored. Smaller files go through the page cache (a synchronous
 * device write per small file would cost more than it saves). */
#define DIRECT_MIN (1024u * 1024)
#define DIRECT_ALIGN 4096u /* satisfies 512- and 4096-byte logical blocks */
#define DIRECT_STAGE (1024u * 1024)

/* A file being written: at `off`, leaving holes for zero blocks. With
 * direct set, bytes gather in an aligned stage and go out as whole
 * blocks; the last block is padded and the file cut to size. */
struct out_file {
	int fd;
	int direct;
	uint8_t *stage;
	size_t staged;
	uint64_t off;   /* file offset of the next byte to write (after stage) */
	int tail_hole;  /* the last bytes were skipped as a hole */
};

static int
all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* The file system refused O_DIRECT for this file: go on through the cache. */
static int
direct_off(struct out_file *o)
{
	int fl = fcntl(o->fd, F_GETFL);

	o->direct = 0;
	if (fl < 0 || fcntl(o->fd, F_SETFL, fl & ~O_DIRECT) != 0)
		return errno;
	return 0;
}

/* Set O_DIRECT on fd unless this target refused it before; a refusal is
 * remembered for the rest of the restore. 1 when it is set. */
static int
direct_on(struct rs *s, int fd)
{
	int fl;

	if (atomic_load(&s->no_direct))
		return 0;
	if ((fl = fcntl(fd, F_GETFL)) >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0)
		return 1;
	atomic_store(&s->no_direct, 1);
	return 0;
}

/* The aligned stage of a file being written direct; without memory for
 * it, the file goes through the cache (O_DIRECT cleared on the shared
 * descriptor: every writer of it can still write aligned stages). */
static void
stage_alloc(struct out_file *o)
{
	if (o->direct && posix_memalign((void **)&o->stage, DIRECT_ALIGN, DIRECT_STAGE) != 0) {
		o->stage = NULL;
		(void)direct_off(o);
	}
}

static int
pwrite_full(struct out_file *o, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(o->fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EINVAL && o->direct) {
			int e = direct_off(o);
			if (e != 0)
				return e;
			continue;
		}
		if (w < 0)
			return errno;
		if (w == 0)
			return EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Write p[0..n) at off, skipping HOLE_BLOCK runs of zeros (holes where
 * the source had them, or had zeros: the same bytes). */
static int
write_holes(struct out_file *o, const uint8_t *p, size_t n, uint64_t off)
{
	size_t i = 0;
	int e;

	while (i < n) {
		size_t len = n - i < HOLE_BLOCK ? n - i : HOLE_BLOCK, run;

		if (all_zero(p + i, len)) {
			i += len;
			o->tail_hole = 1;
			continue;
		}
		/* A run of non-zero blocks goes out in one write. */
		for (run = len; i + run < n; run += len) {
			len = n - i - run < HOLE_BLOCK ? n - i - run : HOLE_BLOCK;
			if (all_zero(p + i + run, len))
				break;
		}
		if ((e = pwrite_full(o, p + i, run, off + i)) != 0)
			return e;
		i += run;
		o->tail_hole = 0;
	}
	return 0;
}

/* Write the stage; a partial last block (final only) is padded with zeros. */
static int
stage_flush(struct out_file *o)
{
	size_t n = o->staged, padded = (n + DIRECT_ALIGN - 1) / DIRECT_ALIGN * DIRECT_ALIGN;
	size_t len = o->direct ? padded : n;
	int e;

	if (n == 0)
		return 0;
	if (padded != n)
		memset(o->stage + n, 0, padded - n);
	e = write_holes(o, o->stage, len, o->off);
	if (len != n)
		o->tail_hole = 1; /* the padding is cut off by out_finish */
	o->off += n;
	o->staged = 0;
	return e;
}

static int
out_write(struct out_file *o, const uint8_t *p, size_t n)
{
	int e;

	while (n > 0 && o->direct) {
		size_t take = DIRECT_STAGE - o->staged;
		if (take > n)
			take = n;
		memcpy(o->stage + o->staged, p, take);
		o->staged += take;
		p += take;
		n -= take;
		if (o->staged == DIRECT_STAGE && (e = stage_flush(o)) != 0)
			return e;
	}
	/* Through the cache (from the start, or since the file system refused
	 * a direct write): what is still staged goes first. */
	if (o->staged > 0 && !o->direct && (e = stage_flush(o)) != 0)
		return e;
	if (n == 0)
		return 0;
	e = write_holes(o, p, n, o->off);
	o->off += n;
	return e;
}

/* The rest of the stage, then the size: holes at the end and the padding
 * of the last block leave the file's length to ftruncate. */
static int
out_finish(struct out_file *o)
{
	int e;

	if (o->staged > 0 && (e = stage_flush(o)) != 0)
		return e;
	if (o->tail_hole && ftruncate(o->fd, (off_t)o->off) != 0)
		return errno;
	return 0;
}

static int
write_content(struct file_job *j, int fd, struct mm_ctx *c)
{
	struct out_file o = { fd, 0, NULL, 0, 0, 0 };
	struct buf b = BUF_INIT;
	int e = 0;

	o.direct = j->n.size >= DIRECT_MIN && direct_on(j->s, fd);
	stage_alloc(&o);
	buf_init(&b, (size_t)REPO_BLOB_MAX);
	for (size_t i = 0; i < j->n.ncontent; i++) {
		buf_reset(&b);
		if ((e = repo_blob_read(j->s->r, &j->n.content[i], &b, c)) != 0)
			goto out;
		if ((e = out_write(&o, b.data, b.len)) != 0) {
			e = mm_fail_errno(c, e, "write");
			goto out;
		}
		atomic_fetch_add(&j->s->bytes, b.len);
		rs_progress(j->s, j->path);
	}
	if ((e = out_finish(&o)) != 0) {
		e = mm_fail_errno(c, e, "write");
		goto out;
	}
	if (o.off != j->n.size && !(j->n.flags & NODE_F_CHANGED))
		e = mm_fail(c, MM_ECORRUPT, "restored %llu bytes, the snapshot says %llu",
			    (unsigned long long)o.off, (unsigned long long)j->n.size);
out:
	free(o.stage);
	buf_release(&b);
	return e;
}

/* Create name in dirfd for writing, replacing whatever is there (a file,
 * a planted symlink) without following it. -1 with a warning on failure. */
static int
create_file(struct rs *s, int dirfd, const char *name, const char *path, mode_t mode)
{
	int fd, err;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST) {
		if ((err = rs_clear_entry(dirfd, name)) != 0) {
			rs_warn(s, 1, "%s: cannot replace the existing entry: %s", path,
				strerror(err));
			return -1;
		}
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	}
	if (fd < 0)
		rs_warn(s, 1, "%s: cannot create: %s", path, strerror(errno));
	return fd;
}

void
rs_file_job_run(void *arg)
{
	struct file_job *j = arg;
	struct mm_ctx c = MM_CTX_INIT;
	int exact = rs_mode_at_create(j->s, &j->n, j->owned), fd, err;

	/* Created 0600 unless its own bits are no wider than what it gets in
	 * the end: then nobody can read it before they could anyway. */
	fd = create_file(j->s, j->dirfd, j->name, j->path, exact ? (mode_t)(j->n.mode & 0777) : 0600);
	if (fd < 0)
		goto out;
	if (write_content(j, fd, &c) != 0) {
		rs_warn(j->s, 1, "%s: not restored: %s", j->path, c.msg);
		(void)unlinkat(j->dirfd, j->name, 0); /* no half file is left behind */
		goto out;
	}
	if ((err = rs_apply_meta_fd(j->s, fd, &j->n, j->path, j->owned, exact)) != 0)
		rs_warn(j->s, 1, "%s: cannot set metadata: %s", j->path, strerror(err));
	atomic_fetch_add(&j->s->files, 1);
out:
	if (fd >= 0)
		close(fd);
	close(j->dirfd);
	node_release(&j->n);
	free(j->name);
	free(j->path);
	free(j);
}

/* ---- large files, in ranges ------------------------------------------------- */

/* Files at least RANGE_MIN large are written in ranges of RANGE_BYTES by
 * several workers at once, so that one disk image at the end of a restore
 * does not leave the other cores idle. Ranges start on multiples of
 * RANGE_BYTES (so of DIRECT_ALIGN): no two of them write the same block.
 * A blob that straddles a boundary is read by both ranges. */
#define RANGE_BYTES (16u * 1024 * 1024)
#define RANGE_MIN (2ull * RANGE_BYTES)

struct big_file {
	struct rs *s;
	int fd, dirfd;
	char *name, *path;
	struct node n;
	uint64_t *start;     /* start[i]: offset of blob i; start[ncontent] = size */
	int direct;          /* O_DIRECT was set on fd */
	int owned;           /* created with our euid/egid */
	int mode_set;        /* created with its final permission bits */
	atomic_uint pending; /* ranges not done, plus the submitter's reference */
	atomic_int failed;
	pthread_mutex_t mu;  /* err */
	char err[sizeof(((struct mm_ctx *)0)->msg)];
};

struct range_job {
	struct big_file *f;
	uint64_t from, to;
};

static void
big_file_fail(struct big_file *f, const char *msg)
{
	pthread_mutex_lock(&f->mu);
	if (!atomic_exchange(&f->failed, 1))
		snprintf(f->err, sizeof(f->err), "%s", msg);
	pthread_mutex_unlock(&f->mu);
}

/* The last range done (or the submitter, if none ran) finishes the file:
 * its length, its metadata — or its removal if a range failed. */
static void
big_file_put(struct big_file *f)
{
	struct rs *s = f->s;
	int err;

	if (atomic_fetch_sub(&f->pending, 1) != 1)
		return;
	if (!atomic_load(&f->failed) && ftruncate(f->fd, (off_t)f->n.size) != 0)
		big_file_fail(f, strerror(errno));
	if (atomic_load(&f->failed)) {
		rs_warn(s, 1, "%s: not restored: %s", f->path, f->err);
		(void)unlinkat(f->dirfd, f->name, 0); /* no half file is left behind */
	} else {
		if ((err = rs_apply_meta_fd(s, f->fd, &f->n, f->path, f->owned, f->mode_set)) != 0)
			rs_warn(s, 1, "%s: cannot set metadata: %s", f->path, strerror(err));
		atomic_fetch_add(&s->files, 1);
	}
	close(f->fd);
	close(f->dirfd);
	node_release(&f->n);
	pthread_mutex_destroy(&f->mu);
	free(f->start);
	free(f->name);
	free(f->path);
	free(f);
}

/* The index of the blob holding byte `off` (start[] ascends). */
static size_t
blob_at(const struct big_file *f, uint64_t off)
{
	size_t lo = 0, hi = f->n.ncontent;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static void
range_job_run(void *arg)
{
	struct range_job *j = arg;
	struct big_file *f = j->f;
	struct out_file o = { f->fd, f->direct, NULL, 0, j->from, 0 };
	struct mm_ctx c = MM_CTX_INIT;
	struct buf b = BUF_INIT;
	int e = 0;

	buf_init(&b, (size_t)REPO_BLOB_MAX);
	stage_alloc(&o);
	for (size_t i = blob_at(f, j->from); i < f->n.ncontent && f->start[i] < j->to; i++) {
		uint64_t a = f->start[i] > j->from ? f->start[i] : j->from;
		uint64_t z = f->start[i + 1] < j->to ? f->start[i + 1] : j->to;

		if (atomic_load(&f->failed))
			goto out;
		buf_reset(&b);
		if (repo_blob_read(f->s->r, &f->n.content[i], &b, &c) != 0) {
			big_file_fail(f, c.msg);
			goto out;
		}
		if (b.len != f->start[i + 1] - f->start[i]) {
			big_file_fail(f, "a blob is not the size the index says");
			goto out;
		}
		if ((e = out_write(&o, b.data + (a - f->start[i]), (size_t)(z - a))) != 0)
			break;
		atomic_fetch_add(&f->s->bytes, z - a);
		rs_progress(f->s, f->path);
	}
	if (e == 0 && o.staged > 0)
		e = stage_flush(&o); /* the size is set once, by big_file_put */
	if (e != 0) {
		snprintf(c.msg, sizeof(c.msg), "write: %s", strerror(e));
		big_file_fail(f, c.msg);
	}
out:
	free(o.stage);
	buf_release(&b);
	big_file_put(f);
	free(j);
}

/* Offsets of every blob of n from the index; 0 when they add up to its
 * size, else the file goes the ordinary way (which reports what is wrong). */
static int
blob_starts(struct rs *s, const struct node *n, uint64_t **out)
{
	uint64_t *start = calloc(n->ncontent + 1, sizeof(*start)), size;

	*out = NULL;
	if (start == NULL)
		return MM_ENOMEM;
	for (size_t i = 0; i < n->ncontent; i++) {
		if (repo_blob_size(s->r, &n->content[i], &size) != 0) {
			free(start);
			return MM_ENOENT;
		}
		start[i + 1] = start[i] + size;
	}
	if (start[n->ncontent] != n->size) {
		free(start);
		return MM_ECORRUPT;
	}
	*out = start;
	return 0;
}

/* 1: the file is being restored in ranges (name, rel and n taken),
 * 0: restore it the ordinary way, <0: an error. */
int
rs_restore_in_ranges(struct rs *s, int dirfd, char *name, char *rel, struct node *n, int owned,
		  struct mm_ctx *c)
{
	struct big_file *f;
	uint64_t *start = NULL;
	unsigned nranges;
	int e;

	if (n->size < RANGE_MIN || (n->flags & NODE_F_CHANGED) || n->ncontent < 2)
		return 0;
	if ((e = blob_starts(s, n, &start)) != 0)
		return e == MM_ENOMEM ? mm_fail(c, e, "out of memory") : 0;
	nranges = (unsigned)((n->size + RANGE_BYTES - 1) / RANGE_BYTES);
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		free(start);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	if ((f->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3)) < 0) {
		free(start);
		free(f);
		return mm_fail_errno(c, errno, "%s", rel);
	}
	f->mode_set = rs_mode_at_create(s, n, owned);
	if ((f->fd = create_file(s, dirfd, name, rel,
				 f->mode_set ? (mode_t)(n->mode & 0777) : 0600)) < 0) {
		close(f->dirfd);
		free(start);
		free(f);
		free(name);
		free(rel);
		return 1; /* warned; the rest goes on */
	}
	f->s = s;
	f->owned = owned;
	f->name = name;
	f->path = rel;
	f->n = *n;
	memset(n, 0, sizeof(*n));
	f->start = start;
	f->direct = direct_on(s, f->fd);
	pthread_mutex_init(&f->mu, NULL);
	atomic_init(&f->pending, nranges + 1);
	for (unsigned k = 0; k < nranges; k++) {
		struct range_job *j = malloc(sizeof(*j));

		if (j == NULL) {
			e = mm_fail(c, MM_ENOMEM, "out of memory");
		} else {
			j->f = f;
			j->from = (uint64_t)k * RANGE_BYTES;
			j->to = k + 1 == nranges ? f->n.size : j->from + RANGE_BYTES;
			if ((e = pool_submit(s->pool, range_job_run, j)) != 0) {
				free(j);
				mm_fail(c, e, "cannot queue work");
			}
		}
		if (e != 0) {
			/* The ranges never queued are done; the file is removed. */
			big_file_fail(f, c->msg);
			for (unsigned r = k; r < nranges; r++)
				big_file_put(f);
			break;
		}
	}
	big_file_put(f);
	return e != 0 ? e : 1;
}

