/*
 * Test shim (LD_PRELOAD): faults below the program, chosen by the
 * environment, each for files whose last path component is NAME:
 *   MAMORI_FAULT_EIO=NAME        every read from it fails with EIO (a bad
 *                                sector under a source file)
 *   MAMORI_FAULT_STOP_OPEN=NAME  the process stops itself (SIGSTOP) right
 *                                after opening it, once, so a test can look
 *                                at it or change the file, then continue it
 *                                with SIGCONT
 *   MAMORI_FAULT_KILL_AT=N       the process kills itself (SIGKILL) at the
 *                                Nth call that changes a file system (write,
 *                                pwrite, rename, fsync, fdatasync, unlink,
 *                                in any thread), before making it: a power
 *                                cut at a chosen point of the write order
 *   MAMORI_FAULT_COUNT_TO=FILE   at exit, writes how many such calls the
 *                                process made into FILE (to spread KILL_AT)
 * Only open and openat are watched (how mamori opens files), and read (how
 * backup reads them).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FD 4096

static unsigned char eio_fd[MAX_FD];
static int stopped;
static atomic_long changes;
static long kill_at = -1;

/* One more call that changes the file system: maybe the last. */
static void
change(void)
{
	long n = atomic_fetch_add(&changes, 1) + 1;

	if (kill_at < 0) {
		const char *v = getenv("MAMORI_FAULT_KILL_AT");
		kill_at = v ? strtol(v, NULL, 10) : 0;
	}
	if (kill_at > 0 && n == kill_at)
		raise(SIGKILL);
}

__attribute__((destructor)) static void
count_to(void)
{
	const char *path = getenv("MAMORI_FAULT_COUNT_TO");
	typedef int (*open_fn0)(const char *, int, ...);
	typedef ssize_t (*write_fn0)(int, const void *, size_t);
	char num[32];
	int fd, len;

	if (path == NULL)
		return;
	len = snprintf(num, sizeof(num), "%ld\n", atomic_load(&changes));
	fd = ((open_fn0)dlsym(RTLD_NEXT, "open"))(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		(void)((write_fn0)dlsym(RTLD_NEXT, "write"))(fd, num, (size_t)len);
		close(fd);
	}
}

static int
matches(const char *path, const char *var)
{
	const char *want = getenv(var);
	const char *base;

	if (want == NULL || want[0] == '\0' || path == NULL)
		return 0;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strcmp(base, want) == 0;
}

static int
opened(int fd, const char *path)
{
	if (fd < 0)
		return fd;
	if (fd < MAX_FD)
		eio_fd[fd] = (unsigned char)matches(path, "MAMORI_FAULT_EIO");
	if (!stopped && matches(path, "MAMORI_FAULT_STOP_OPEN")) {
		stopped = 1;
		raise(SIGSTOP);
	}
	return fd;
}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef ssize_t (*read_fn)(int, void *, size_t);

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
int openat(int dfd, const char *path, int flags, ...);
int openat64(int dfd, const char *path, int flags, ...);
ssize_t read(int fd, void *p, size_t n);

int
open(const char *path, int flags, ...)
{
	open_fn real = (open_fn)dlsym(RTLD_NEXT, "open");
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return opened(real(path, flags, mode), path);
}

int
open64(const char *path, int flags, ...)
{
	open_fn real = (open_fn)dlsym(RTLD_NEXT, "open64");
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return opened(real(path, flags, mode), path);
}

int
openat(int dfd, const char *path, int flags, ...)
{
	openat_fn real = (openat_fn)dlsym(RTLD_NEXT, "openat");
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return opened(real(dfd, path, flags, mode), path);
}

int
openat64(int dfd, const char *path, int flags, ...)
{
	openat_fn real = (openat_fn)dlsym(RTLD_NEXT, "openat64");
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return opened(real(dfd, path, flags, mode), path);
}

ssize_t
read(int fd, void *p, size_t n)
{
	read_fn real = (read_fn)dlsym(RTLD_NEXT, "read");

	if (fd >= 0 && fd < MAX_FD && eio_fd[fd]) {
		errno = EIO;
		return -1;
	}
	return real(fd, p, n);
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef int (*rename_fn)(const char *, const char *);
typedef int (*renameat_fn)(int, const char *, int, const char *);
typedef int (*fd_fn)(int);
typedef int (*unlink_fn)(const char *);
typedef int (*unlinkat_fn)(int, const char *, int);

ssize_t write(int fd, const void *p, size_t n);
ssize_t pwrite(int fd, const void *p, size_t n, off_t off);
ssize_t pwrite64(int fd, const void *p, size_t n, off_t off);
int rename(const char *a, const char *b);
int renameat(int da, const char *a, int db, const char *b);
int fsync(int fd);
int fdatasync(int fd);
int unlink(const char *p);
int unlinkat(int d, const char *p, int fl);

ssize_t
write(int fd, const void *p, size_t n)
{
	change();
	return ((write_fn)dlsym(RTLD_NEXT, "write"))(fd, p, n);
}

ssize_t
pwrite(int fd, const void *p, size_t n, off_t off)
{
	change();
	return ((pwrite_fn)dlsym(RTLD_NEXT, "pwrite"))(fd, p, n, off);
}

ssize_t
pwrite64(int fd, const void *p, size_t n, off_t off)
{
	change();
	return ((pwrite_fn)dlsym(RTLD_NEXT, "pwrite64"))(fd, p, n, off);
}

int
rename(const char *a, const char *b)
{
	change();
	return ((rename_fn)dlsym(RTLD_NEXT, "rename"))(a, b);
}

int
renameat(int da, const char *a, int db, const char *b)
{
	change();
	return ((renameat_fn)dlsym(RTLD_NEXT, "renameat"))(da, a, db, b);
}

int
fsync(int fd)
{
	change();
	return ((fd_fn)dlsym(RTLD_NEXT, "fsync"))(fd);
}

int
fdatasync(int fd)
{
	change();
	return ((fd_fn)dlsym(RTLD_NEXT, "fdatasync"))(fd);
}

int
unlink(const char *p)
{
	change();
	return ((unlink_fn)dlsym(RTLD_NEXT, "unlink"))(p);
}

int
unlinkat(int d, const char *p, int fl)
{
	change();
	return ((unlinkat_fn)dlsym(RTLD_NEXT, "unlinkat"))(d, p, fl);
}
