/*
 * Test shim (LD_PRELOAD): faults below the program, chosen by the
 * environment, each for files whose last path component is NAME:
 *   MAMORI_FAULT_EIO=NAME        every read from it fails with EIO (a bad
 *                                sector under a source file)
 *   MAMORI_FAULT_STOP_OPEN=NAME  the process stops itself (SIGSTOP) right
 *                                after opening it, once, so a test can look
 *                                at it or change the file, then continue it
 *                                with SIGCONT
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
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FD 4096

static unsigned char eio_fd[MAX_FD];
static int stopped;

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
