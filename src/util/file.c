/* Whole-file reads, durable atomic writes, directories and paths. */
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>


#include "util/util.h"

#define READ_CHUNK (64 * 1024)
#define TMP_TRIES 8

int
write_full(int fd, const void *p, size_t n)
{
	const uint8_t *s = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int
pread_full(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *d = p;
	ssize_t got;

	if (off > INT64_MAX || n > INT64_MAX - off)
		return -EINVAL;
	while (n > 0) {
		got = pread(fd, d, n, (off_t)off);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			return -EIO; /* end of file before n bytes */
		d += got;
		n -= (size_t)got;
		off += (uint64_t)got;
	}
	return 0;
}

/* read(2) retrying EINTR; returns bytes, 0 at EOF, or -errno. */
static ssize_t
read_retry(int fd, void *p, size_t n)
{
	ssize_t got;

	do {
		got = read(fd, p, n);
	} while (got < 0 && errno == EINTR);
	return got < 0 ? -errno : got;
}

/* Replaces b's contents with the file; on error b is left empty. */
int
file_read_all(const char *path, size_t max, struct buf *b, struct mm_ctx *c)
{
	struct stat st;
	uint8_t one;
	size_t want;
	ssize_t got;
	int fd = -1, r;

	buf_reset(b);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = mm_fail_errno(c, errno, "%s", path);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = mm_fail_errno(c, errno, "%s", path);
		goto out;
	}
	if (st.st_size > 0 && (uint64_t)st.st_size > max) {
		r = mm_fail(c, MM_ELIMIT, "%s: file is %lld bytes, limit is %zu",
		    path, (long long)st.st_size, max);
		goto out;
	}
	if (st.st_size > 0 && (r = buf_reserve(b, (size_t)st.st_size)) != 0) {
		r = mm_fail(c, r, "%s: %s", path, mm_strerror(r));
		goto out;
	}
	for (;;) {
		if (b->len == b->cap || b->len == max) {
			/* Probe for EOF before growing (or failing at max). */
			if ((got = read_retry(fd, &one, 1)) < 0) {
				r = mm_fail_errno(c, (int)-got, "%s", path);
				goto out;
			}
			if (got == 0)
				break;
			if (b->len == max) {
				r = mm_fail(c, MM_ELIMIT,
				    "%s: file is larger than %zu bytes", path, max);
				goto out;
			}
			r = buf_append(b, &one, 1);
			mm_wipe(&one, sizeof(one));
			if (r != 0) {
				r = mm_fail(c, r, "%s: %s", path, mm_strerror(r));
				goto out;
			}
			if ((r = buf_reserve(b, READ_CHUNK < max - b->len ?
			    READ_CHUNK : max - b->len)) != 0) {
				r = mm_fail(c, r, "%s: %s", path, mm_strerror(r));
				goto out;
			}
			continue;
		}
		want = b->cap - b->len;
		if (want > max - b->len)
			want = max - b->len;
		if ((got = read_retry(fd, b->data + b->len, want)) < 0) {
			r = mm_fail_errno(c, (int)-got, "%s", path);
			goto out;
		}
		if (got == 0)
			break;
		b->len += (size_t)got;
	}
	r = 0;
out:
	mm_wipe(&one, sizeof(one)); /* the file may be a secret */
	if (r != 0)
		buf_reset(b);
	if (fd >= 0)
		close(fd);
	return r;
}

/* The directory part of path as a new string ("." when there is none). */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	if ((d = malloc((size_t)(slash - path) + 1)) == NULL)
		return NULL;
	memcpy(d, path, (size_t)(slash - path));
	d[slash - path] = '\0';
	return d;
}

int
fsync_dir(const char *dir, struct mm_ctx *c)
{
	int fd, r = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return mm_fail_errno(c, errno, "%s", dir);
	/* Some filesystems cannot sync a directory; that is not an error. */
	if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
		r = mm_fail_errno(c, errno, "fsync %s", dir);
	close(fd);
	return r;
}

/* Opens a fresh "<path>.tmp-<pid>-<random>" with O_EXCL. */
static int
open_tmp(const char *path, int mode, char *tmp, size_t tmpsz, struct mm_ctx *c)
{
	static unsigned long counter;
	unsigned char rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	int fd, i, n;

	for (i = 0; i < TMP_TRIES; i++) {
		/* A unique name, not a secret: the kernel's bytes, no DRBG. */
		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
			unsigned long v = __atomic_add_fetch(&counter, 1,
			    __ATOMIC_RELAXED) ^ (unsigned long)time_now_ns();
			memcpy(rnd, &v, sizeof(v) < sizeof(rnd) ? sizeof(v) :
			    sizeof(rnd));
		}
		hex_encode(rnd, sizeof(rnd), hex);
		n = snprintf(tmp, tmpsz, "%s.tmp-%ld-%s", path, (long)getpid(),
		    hex);
		if (n < 0 || (size_t)n >= tmpsz)
			return mm_fail(c, MM_EINVAL, "%s: path too long", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return mm_fail_errno(c, errno, "create %s", tmp);
	}
	return mm_fail(c, MM_EEXIST, "%s: cannot pick a temporary name", path);
}

/* close *fd (set to -1) and rename tmp to path. */
static int
close_rename(int *fd, const char *tmp, const char *path, int *renamed, struct mm_ctx *c)
{
	int r = close(*fd);

	*fd = -1;
	if (r != 0)
		return mm_fail_errno(c, errno, "close %s", path);
	if (rename(tmp, path) != 0)
		return mm_fail_errno(c, errno, "rename to %s", path);
	*renamed = 1;
	return 0;
}

int
file_commit(int *fd, const char *tmp, const char *path, int *renamed, struct mm_ctx *c)
{
	char *dir = NULL;
	int r;

	*renamed = 0;
	if (fsync(*fd) != 0) {
		r = mm_fail_errno(c, errno, "fsync %s", path);
		close(*fd);
		*fd = -1;
		return r;
	}
	if ((dir = dir_of(path)) == NULL) {
		close(*fd);
		*fd = -1;
		return mm_fail(c, MM_ENOMEM, "%s: out of memory", path);
	}
	if ((r = close_rename(fd, tmp, path, renamed, c)) == 0)
		r = fsync_dir(dir, c);
	free(dir);
	return r;
}

int
file_commit_later(int *fd, const char *tmp, const char *path, int *renamed, struct mm_ctx *c)
{
	*renamed = 0;
	/* Only a hint to start writing: a file system without it is fine. */
	(void)sync_file_range(*fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return close_rename(fd, tmp, path, renamed, c);
}

int
file_make_durable(const char *path, struct mm_ctx *c)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;

	if (fd < 0)
		return mm_fail_errno(c, errno, "open %s", path);
	if (fsync(fd) != 0)
		r = mm_fail_errno(c, errno, "fsync %s", path);
	close(fd);
	return r;
}

int
file_write_atomic(const char *path, const void *p, size_t n, int mode,
    struct mm_ctx *c)
{
	char *tmp = NULL;
	size_t tmpsz;
	int fd = -1, r, renamed = 0;

	tmpsz = strlen(path) + 64;
	if ((tmp = malloc(tmpsz)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((fd = open_tmp(path, mode, tmp, tmpsz, c)) < 0) {
		r = fd;
		fd = -1;
		free(tmp);
		tmp = NULL; /* nothing to unlink */
		goto out;
	}
	if ((r = write_full(fd, p, n)) != 0) {
		r = mm_fail_errno(c, -r, "write %s", path);
		goto out;
	}
	r = file_commit(&fd, tmp, path, &renamed, c);
	if (renamed) {
		free(tmp);
		tmp = NULL; /* nothing left to unlink */
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	return r;
}

/* mkdir one component; an existing directory is fine. */
static int
mkdir_one(const char *path, int mode, struct mm_ctx *c)
{
	struct stat st;

	if (mkdir(path, (mode_t)mode) == 0)
		return 0;
	if (errno != EEXIST)
		return mm_fail_errno(c, errno, "mkdir %s", path);
	if (stat(path, &st) != 0)
		return mm_fail_errno(c, errno, "%s", path);
	if (!S_ISDIR(st.st_mode))
		return mm_fail(c, MM_EEXIST, "%s: exists and is not a directory",
		    path);
	return 0;
}

int
mkdir_p(const char *path, int mode, struct mm_ctx *c)
{
	char *copy = NULL, *s;
	int r;

	if (path == NULL || *path == '\0')
		return mm_fail(c, MM_EINVAL, "mkdir: empty path");
	if ((copy = strdup(path)) == NULL)
		return mm_fail(c, MM_ENOMEM, "%s: out of memory", path);
	for (s = copy + 1; *s != '\0'; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = '\0';
		r = mkdir_one(copy, mode, c);
		*s = '/';
		if (r != 0)
			goto out;
	}
	r = mkdir_one(copy, mode, c);
out:
	free(copy);
	return r;
}

/* "a"+"b" = "a/b", "a/"+"b" = "a/b", ""+"b" = "b"; NULL when out of memory. */
char *
path_join(const char *a, const char *b)
{
	size_t la, lb, sep;
	char *s;

	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	la = strlen(a);
	lb = strlen(b);
	sep = (la > 0 && a[la - 1] != '/') ? 1 : 0;
	if ((s = malloc(la + sep + lb + 1)) == NULL)
		return NULL;
	memcpy(s, a, la);
	if (sep)
		s[la] = '/';
	memcpy(s + la + sep, b, lb);
	s[la + sep + lb] = '\0';
	return s;
}
