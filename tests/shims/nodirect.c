/*
 * Test shim (LD_PRELOAD): a file system that accepts O_DIRECT when a file
 * is opened or its flags are set, then refuses direct writes with EINVAL,
 * as some network and FUSE file systems do. Restore must fall back to
 * writing through the page cache and lose nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off);

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	pwrite_fn real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && (fl & O_DIRECT)) {
		errno = EINVAL;
		return -1;
	}
	return real(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off);

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite64(fd, buf, n, off);
}
