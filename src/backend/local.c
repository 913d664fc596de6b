/*
 * local: a repository in a directory on this machine.
 *
 *   PATH/config, PATH/keys/NAME, PATH/data/XX/NAME, PATH/index/NAME,
 *   PATH/snapshots/NAME, PATH/locks/NAME, PATH/checkpoints/NAME
 *
 * Files are 0600 and directories 0700 (before the umask, which can only
 * take bits away). Every write goes through file_write_atomic: a reader
 * sees the old object or the new one, never a part, even after a crash.
 */
#include <dirent.h>
#include <pthread.h>
#include <pwd.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/backend_internal.h"

#define LOCAL_FILE_MODE 0600
#define LOCAL_DIR_MODE 0700

/* Packs never change once written, so their descriptors are kept: a
 * restore reads tens of thousands of blobs from a few dozen packs, and an
 * open + fstat + close per blob would cost more than the read. */
#define PACK_FDS 32
struct pack_fd {
	char name[BACKEND_NAME_LEN + 1];
	int fd;           /* -1: free */
	unsigned users;   /* reads in progress; evicted only at zero */
	uint64_t size;
	uint64_t last;    /* for least-recently-used eviction */
};

struct local_be {
	struct backend be; /* first: the vtable sees a struct backend */
	char *root;        /* as given, relative or absolute */
	pthread_mutex_t fdmu;
	struct pack_fd fds[PACK_FDS];
	uint64_t tick;
	/* Packs committed but not yet known durable (see local_sync): one
	 * fsync per pack at commit would stall each writer on the disk. */
	pthread_mutex_t pendmu;
	char **pending;
	size_t npending, pending_cap;
};

static struct local_be *
local_of(struct backend *be)
{
	return (struct local_be *)be;
}

/* The name of a user (or "uid N") into out. */
static void
user_name(uid_t uid, char *out, size_t n)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, n, "%s (uid %lu)", res->pw_name, (unsigned long)uid);
	else
		snprintf(out, n, "uid %lu", (unsigned long)uid);
}

/*
 * EACCES on a repository path: its files are 0600 and its folders 0700,
 * so another user cannot read them. Name the owner and what to do.
 */
static int
access_fail(const char *root, const char *path, struct mm_ctx *c)
{
	char owner[300], self[300];
	struct stat st;

	user_name(geteuid(), self, sizeof(self));
	if (stat(root, &st) != 0)
		return mm_fail(c, MM_EACCESS, "%s: permission denied: the repository at %s cannot "
			       "be reached by %s; run mamori as the user who owns it, or make its "
			       "folder reachable", path, root, self);
	user_name(st.st_uid, owner, sizeof(owner));
	return mm_fail(c, MM_EACCESS, "%s: permission denied: the repository at %s belongs to "
		       "%s and its files are readable by that user only (0600/0700); mamori runs "
		       "as %s. Run it as %s%s, or give this user its own repository",
		       path, root, owner, self, owner, st.st_uid == 0 ? "" : " or as root");
}

/* The full path of an object, in *out (caller frees). */
static int
obj_full_path(struct local_be *lb, enum obj_type t, const char *name, char **out,
	      struct mm_ctx *c)
{
	char *rel = NULL, *full = NULL;
	int r;

	if ((r = backend_check_name(t, name, c)) != 0)
		goto out;
	if ((rel = backend_obj_path(t, name)) == NULL ||
	    (full = path_join(lb->root, rel)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	*out = full;
	full = NULL;
	r = 0;
out:
	free(rel);
	free(full);
	return r;
}

/*
 * Make parent/name a directory unless it is one already. A directory made
 * here is made durable by syncing its parent, so the objects written into
 * it are not lost with their directory entry after a crash.
 */
static int
ensure_subdir(const char *parent, const char *name, struct mm_ctx *c)
{
	char *dir = NULL;
	int r;

	if ((dir = path_join(parent, name)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(dir, LOCAL_DIR_MODE) != 0) {
		if (errno == EEXIST) {
			r = 0; /* if it is not a directory, the write will say so */
			goto out;
		}
		r = mm_fail_errno(c, errno, "%s", dir);
		goto out;
	}
	if ((r = fsync_dir(parent, c)) != 0)
		goto out;
	r = 0;
out:
	free(dir);
	return r;
}

/* Make sure the directory an object of type t goes into exists. */
static int
ensure_obj_dir(struct local_be *lb, enum obj_type t, const char *name, struct mm_ctx *c)
{
	char *data = NULL;
	char xx[3];
	int r;

	if (t == OBJ_CONFIG)
		return 0;
	if ((r = ensure_subdir(lb->root, backend_type_dir(t), c)) != 0)
		goto out;
	if (t != OBJ_PACK) {
		r = 0;
		goto out;
	}
	if ((data = path_join(lb->root, backend_type_dir(OBJ_PACK))) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	xx[0] = name[0];
	xx[1] = name[1];
	xx[2] = '\0';
	if ((r = ensure_subdir(data, xx, c)) != 0)
		goto out;
	r = 0;
out:
	free(data);
	return r;
}

static int
local_write(struct backend *be, enum obj_type t, const char *name, const void *p, size_t n,
	    struct mm_ctx *c)
{
	struct local_be *lb = local_of(be);
	struct stat st;
	char *path = NULL;
	int r;

	if ((r = obj_full_path(lb, t, name, &path, c)) != 0)
		goto out;
	if (t == OBJ_CONFIG) {
		/*
		 * The one object that is not named by its content: never
		 * replace it. (Two concurrent inits can still race; init is
		 * a one-time human action.)
		 */
		if (stat(path, &st) == 0) {
			r = mm_fail(c, MM_EEXIST, "%s: already exists", path);
			goto out;
		}
		if (errno != ENOENT) {
			r = mm_fail_errno(c, errno, "%s", path);
			goto out;
		}
	}
	if ((r = ensure_obj_dir(lb, t, name, c)) != 0)
		goto out;
	/* Same name means same content, so replacing an existing object is safe. */
	if ((r = file_write_atomic(path, p, n, LOCAL_FILE_MODE, c)) != 0) {
		if (r == MM_EPERM && access(lb->root, W_OK | X_OK) != 0 && errno == EACCES)
			r = access_fail(lb->root, path, c);
		goto out;
	}
	r = 0;
out:
	free(path);
	return r;
}

/* Errors of open/stat/unlink on an object path. */
static int
obj_errno(const struct local_be *lb, const char *path, int e, struct mm_ctx *c)
{
	if (e == ENOENT)
		return mm_fail(c, MM_ENOENT, "%s: no such object", path);
	if (e == EACCES)
		return access_fail(lb->root, path, c);
	return mm_fail_errno(c, e, "%s", path);
}

/* Open an object for reading: its descriptor and size. */
static int
open_object(const struct local_be *lb, const char *path, int *fd, uint64_t *size,
	    struct mm_ctx *c)
{
	struct stat st;
	int r = 0;

	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return obj_errno(lb, path, errno, c);
	if (fstat(*fd, &st) != 0)
		r = mm_fail_errno(c, errno, "%s", path);
	else if (!S_ISREG(st.st_mode))
		r = mm_fail(c, MM_ECORRUPT, "%s: not a regular file", path);
	if (r != 0) {
		close(*fd);
		*fd = -1;
		return r;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* A pack's descriptor from the cache (opening it if needed); *slot is the
 * cache entry to release, or NULL when the descriptor is the caller's to
 * close (every entry busy). */
static int
pack_fd_get(struct local_be *lb, const char *name, const char *path, int *fd, uint64_t *size,
	    struct pack_fd **slot, struct mm_ctx *c)
{
	struct pack_fd *victim = NULL;
	int r;

	*slot = NULL;
	pthread_mutex_lock(&lb->fdmu);
	for (size_t i = 0; i < PACK_FDS; i++) {
		struct pack_fd *p = &lb->fds[i];
		if (p->fd >= 0 && strcmp(p->name, name) == 0) {
			p->users++;
			p->last = ++lb->tick;
			*fd = p->fd;
			*size = p->size;
			*slot = p;
			pthread_mutex_unlock(&lb->fdmu);
			return 0;
		}
	}
	pthread_mutex_unlock(&lb->fdmu);
	if ((r = open_object(lb, path, fd, size, c)) != 0)
		return r;
	pthread_mutex_lock(&lb->fdmu);
	for (size_t i = 0; i < PACK_FDS; i++) {
		struct pack_fd *p = &lb->fds[i];
		if (p->users != 0)
			continue;
		if (victim == NULL || p->fd < 0 || (victim->fd >= 0 && p->last < victim->last))
			victim = p;
	}
	if (victim != NULL) {
		if (victim->fd >= 0)
			close(victim->fd);
		snprintf(victim->name, sizeof(victim->name), "%s", name);
		victim->fd = *fd;
		victim->size = *size;
		victim->users = 1;
		victim->last = ++lb->tick;
		*slot = victim;
	}
	pthread_mutex_unlock(&lb->fdmu);
	return 0;
}

static void
pack_fd_put(struct local_be *lb, struct pack_fd *slot, int fd)
{
	if (slot == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	pthread_mutex_lock(&lb->fdmu);
	slot->users--;
	pthread_mutex_unlock(&lb->fdmu);
}

/* Forget a pack's descriptor (it is being removed). */
static void
pack_fd_forget(struct local_be *lb, const char *name)
{
	pthread_mutex_lock(&lb->fdmu);
	for (size_t i = 0; i < PACK_FDS; i++) {
		struct pack_fd *p = &lb->fds[i];
		if (p->fd >= 0 && p->users == 0 && strcmp(p->name, name) == 0) {
			close(p->fd);
			p->fd = -1;
		}
	}
	pthread_mutex_unlock(&lb->fdmu);
}

static int
local_read(struct backend *be, enum obj_type t, const char *name, uint64_t off, size_t len,
	   struct buf *out, struct mm_ctx *c)
{
	struct local_be *lb = local_of(be);
	struct pack_fd *slot = NULL;
	char *path = NULL;
	uint64_t size, want;
	int fd = -1, r, e;

	if ((r = obj_full_path(lb, t, name, &path, c)) != 0)
		goto out;
	if (t == OBJ_PACK && strlen(name) == BACKEND_NAME_LEN)
		r = pack_fd_get(lb, name, path, &fd, &size, &slot, c);
	else
		r = open_object(lb, path, &fd, &size, c);
	if (r != 0)
		goto out;
	if (off > size || (uint64_t)len > size - off) {
		r = mm_fail(c, MM_ECORRUPT,
			    "%s: read of %zu bytes at offset %llu is past the end of the object "
			    "(size %llu)", path, len, (unsigned long long)off,
			    (unsigned long long)size);
		goto out;
	}
	want = len != 0 ? (uint64_t)len : size - off;
	if (want == 0) {
		r = 0;
		goto out;
	}
	if (want > SIZE_MAX || (r = buf_reserve(out, (size_t)want)) != 0) {
		r = mm_fail(c, want > SIZE_MAX ? MM_ELIMIT : r,
			    "%s: cannot hold %llu bytes in memory", path,
			    (unsigned long long)want);
		goto out;
	}
	/* Straight into the caller's buffer: a pack is read without a copy. */
	if ((e = pread_full(fd, out->data + out->len, (size_t)want, off)) != 0) {
		r = mm_fail_errno(c, -e, "%s: read of %llu bytes at offset %llu", path,
				  (unsigned long long)want, (unsigned long long)off);
		goto out;
	}
	out->len += (size_t)want;
	r = 0;
out:
	pack_fd_put(lb, slot, fd);
	free(path);
	return r;
}

static int
local_stat(struct backend *be, enum obj_type t, const char *name, uint64_t *size,
	   struct mm_ctx *c)
{
	struct local_be *lb = local_of(be);
	struct stat st;
	char *path = NULL;
	int r;

	if ((r = obj_full_path(lb, t, name, &path, c)) != 0)
		goto out;
	if (stat(path, &st) != 0) {
		r = obj_errno(lb, path, errno, c);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = mm_fail(c, MM_ECORRUPT, "%s: not a regular file", path);
		goto out;
	}
	*size = (uint64_t)st.st_size;
	r = 0;
out:
	free(path);
	return r;
}

static int
local_remove(struct backend *be, enum obj_type t, const char *name, struct mm_ctx *c)
{
	struct local_be *lb = local_of(be);
	char *path = NULL;
	int r;

	if ((r = obj_full_path(lb, t, name, &path, c)) != 0)
		goto out;
	if (t == OBJ_PACK)
		pack_fd_forget(lb, name);
	/*
	 * Not followed by a directory sync: an object that comes back after
	 * a crash is one nothing refers to any more, and removing it again
	 * is harmless.
	 */
	if (unlink(path) != 0) {
		r = obj_errno(lb, path, errno, c);
		goto out;
	}
	r = 0;
out:
	free(path);
	return r;
}

/*
 * Report every object in one directory; with prefix (data/XX), only names
 * that belong there. A directory that does not exist holds no objects
 * (tools that copy trees often drop empty directories).
 */
static int
list_dir(const char *root, const char *dir, const char *prefix, backend_list_cb cb, void *arg,
	 struct mm_ctx *c)
{
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	int r;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT) {
			r = 0;
			goto out;
		}
		r = errno == EACCES ? access_fail(root, dir, c) : mm_fail_errno(c, errno, "%s", dir);
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				r = mm_fail_errno(c, errno, "%s", dir);
				goto out;
			}
			break;
		}
		/* Temp files of writes in progress, and anything else not ours. */
		if (strstr(de->d_name, ".tmp-") != NULL || !backend_name_listable(de->d_name))
			continue;
		if (prefix != NULL && strncmp(de->d_name, prefix, 2) != 0)
			continue; /* misplaced: a read would not find it here */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue; /* removed since readdir */
			r = mm_fail_errno(c, errno, "%s/%s", dir, de->d_name);
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if ((r = cb(de->d_name, (uint64_t)st.st_size, arg)) != 0)
			goto out;
	}
	r = 0;
out:
	if (d != NULL)
		closedir(d);
	return r;
}

static int
is_hex2(const char *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[2] == '\0';
}

/* data/: every data/XX subdirectory in turn. */
static int
list_packs(const char *root, const char *data, backend_list_cb cb, void *arg, struct mm_ctx *c)
{
	DIR *d = NULL;
	struct dirent *de;
	char *sub = NULL;
	int r;

	if ((d = opendir(data)) == NULL) {
		if (errno == ENOENT) {
			r = 0;
			goto out;
		}
		r = mm_fail_errno(c, errno, "%s", data);
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				r = mm_fail_errno(c, errno, "%s", data);
				goto out;
			}
			break;
		}
		if (!is_hex2(de->d_name))
			continue;
		if ((sub = path_join(data, de->d_name)) == NULL) {
			r = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		if ((r = list_dir(root, sub, de->d_name, cb, arg, c)) != 0)
			goto out;
		free(sub);
		sub = NULL;
	}
	r = 0;
out:
	free(sub);
	if (d != NULL)
		closedir(d);
	return r;
}

static int
local_list(struct backend *be, enum obj_type t, backend_list_cb cb, void *arg,
	   struct mm_ctx *c)
{
	struct local_be *lb = local_of(be);
	char *dir = NULL;
	int r;

	if ((unsigned)t >= OBJ_TYPE_COUNT || t == OBJ_CONFIG) {
		r = mm_fail(c, MM_EINVAL, "cannot list objects of type %d", (int)t);
		goto out;
	}
	if ((dir = path_join(lb->root, backend_type_dir(t))) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (t == OBJ_PACK)
		r = list_packs(lb->root, dir, cb, arg, c);
	else
		r = list_dir(lb->root, dir, NULL, cb, arg, c);
out:
	free(dir);
	return r;
}

static int
local_create(struct backend *be, struct mm_ctx *c)
{
	static const enum obj_type types[] = {
		OBJ_KEY, OBJ_PACK, OBJ_INDEX, OBJ_SNAPSHOT, OBJ_LOCK, OBJ_CHECKPOINT, OBJ_DRILL,
	};
	struct local_be *lb = local_of(be);
	struct stat st;
	char *config = NULL;
	size_t i;
	int r;

	if ((config = path_join(lb->root, "config")) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (stat(config, &st) == 0) {
		r = mm_fail(c, MM_EEXIST, "%s: a repository already exists", config);
		goto out;
	}
	if (errno != ENOENT) {
		r = mm_fail_errno(c, errno, "%s", config);
		goto out;
	}
	if ((r = mkdir_p(lb->root, LOCAL_DIR_MODE, c)) != 0)
		goto out;
	/* data/00..data/ff come on first write. */
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if ((r = ensure_subdir(lb->root, backend_type_dir(types[i]), c)) != 0)
			goto out;
	}
	r = 0;
out:
	free(config);
	return r;
}

static void
local_free(struct backend *be)
{
	struct local_be *lb = local_of(be);

	for (size_t i = 0; i < PACK_FDS; i++)
		if (lb->fds[i].fd >= 0)
			close(lb->fds[i].fd);
	pthread_mutex_destroy(&lb->fdmu);
	for (size_t i = 0; i < lb->npending; i++)
		free(lb->pending[i]);
	free(lb->pending);
	pthread_mutex_destroy(&lb->pendmu);
	free(lb->root);
	free(lb->be.location);
	free(lb);
}

/* ---- uploads: a temporary file in the type's folder, renamed at commit.
 * Its name starts with '.', which listing skips; one left by a killed run
 * is garbage that prune removes. */

static int
local_upload_begin(struct backend *be, struct backend_upload *u, struct mm_ctx *c)
{
	struct local_be *lb = local_of(be);
	char *dir = NULL;
	int r;

	if ((r = ensure_subdir(lb->root, backend_type_dir(u->type), c)) != 0)
		return r;
	if ((dir = path_join(lb->root, backend_type_dir(u->type))) == NULL ||
	    (u->tmp = path_join(dir, ".upload-XXXXXX")) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((u->fd = mkostemp(u->tmp, O_CLOEXEC)) < 0) {
		if (errno == EACCES)
			r = access_fail(lb->root, dir, c);
		else
			r = mm_fail_errno(c, errno, "cannot create a file in %s", dir);
		free(u->tmp);
		u->tmp = NULL;
		goto out;
	}
	r = 0;
out:
	free(dir);
	return r;
}

static int
local_upload_append(struct backend_upload *u, const void *p, size_t n, struct mm_ctx *c)
{
	int r = write_full(u->fd, p, n);

	return r == 0 ? 0 : mm_fail_errno(c, -r, "write %s", u->tmp);
}

static int
local_upload_commit(struct backend_upload *u, const char *name, struct mm_ctx *c)
{
	struct local_be *lb = local_of(u->be);
	char *path = NULL;
	int r, renamed = 0;

	if ((r = obj_full_path(lb, u->type, name, &path, c)) != 0 ||
	    (r = ensure_obj_dir(lb, u->type, name, c)) != 0)
		goto out;
	r = file_commit_later(&u->fd, u->tmp, path, &renamed, c);
	if (renamed) {
		free(u->tmp);
		u->tmp = NULL; /* nothing to unlink */
	}
	if (r == 0) {
		pthread_mutex_lock(&lb->pendmu);
		if (lb->npending == lb->pending_cap) {
			size_t ncap = lb->pending_cap ? 2 * lb->pending_cap : 64;
			char **nv = realloc(lb->pending, ncap * sizeof(*nv));
			if (nv == NULL)
				r = MM_ENOMEM;
			else
				lb->pending = nv, lb->pending_cap = ncap;
		}
		if (r == 0) {
			lb->pending[lb->npending++] = path;
			path = NULL; /* the list's now */
		}
		pthread_mutex_unlock(&lb->pendmu);
		if (r != 0)
			r = mm_fail(c, r, "out of memory");
	}
out:
	free(path);
	return r;
}

/* Every pack committed since the last sync: its data, then its folder's
 * entry. A folder holds packs of one first byte, so few folders repeat. */
static int
local_sync(struct backend *be, struct mm_ctx *c)
{
	struct local_be *lb = local_of(be);
	char **v, *last_dir = NULL;
	size_t n;
	int r = 0;

	pthread_mutex_lock(&lb->pendmu);
	v = lb->pending;
	n = lb->npending;
	lb->pending = NULL;
	lb->npending = lb->pending_cap = 0;
	pthread_mutex_unlock(&lb->pendmu);
	for (size_t i = 0; i < n && r == 0; i++)
		r = file_make_durable(v[i], c);
	for (size_t i = 0; i < n && r == 0; i++) {
		char *slash = strrchr(v[i], '/');
		if (slash == NULL)
			continue;
		*slash = '\0';
		if (last_dir == NULL || strcmp(last_dir, v[i]) != 0)
			r = fsync_dir(v[i], c);
		last_dir = v[i];
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return r;
}

static void
local_upload_abort(struct backend_upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	if (u->tmp != NULL)
		unlink(u->tmp);
	free(u->tmp);
	u->tmp = NULL;
}

static const struct backend_ops local_ops = {
	.write = local_write,
	.read = local_read,
	.stat = local_stat,
	.remove = local_remove,
	.list = local_list,
	.upload_begin = local_upload_begin,
	.upload_append = local_upload_append,
	.upload_commit = local_upload_commit,
	.upload_abort = local_upload_abort,
	.sync = local_sync,
	.create = local_create,
	.free = local_free,
};

int
backend_local_open(const char *path, struct backend **out, struct mm_ctx *c)
{
	struct local_be *lb = NULL;
	int r;

	if (path == NULL || path[0] == '\0')
		return mm_fail(c, MM_EINVAL, "empty repository path");
	if ((lb = calloc(1, sizeof(*lb))) == NULL ||
	    (lb->root = strdup(path)) == NULL ||
	    (lb->be.location = strdup(path)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	lb->be.ops = &local_ops;
	pthread_mutex_init(&lb->fdmu, NULL);
	pthread_mutex_init(&lb->pendmu, NULL);
	for (size_t i = 0; i < PACK_FDS; i++)
		lb->fds[i].fd = -1;
	*out = &lb->be;
	lb = NULL;
	r = 0;
out:
	if (lb != NULL) {
		free(lb->root);
		free(lb->be.location);
		free(lb);
	}
	return r;
}
