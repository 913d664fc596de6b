/*
 * restore: a snapshot's tree written under a target folder.
 *
 * Safety first: every entry is created relative to an open directory
 * handle, opened with O_NOFOLLOW, so no symbolic link — planted in the
 * target or restored a moment ago — can redirect a write outside it.
 * Files are written by a pool of workers (restore time is the RTO); hard
 * links and directory metadata follow once every file exists, deepest
 * directory first so setting a folder's time or mode comes last.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "ops/ops.h"

#include "ops/restore_internal.h"

/* ---- reporting -------------------------------------------------------- */

void
rs_warn(struct rs *s, int count, const char *fmt, ...)
{
	char msg[1400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->mu);
	if (count)
		s->errors++;
	if (s->o->rep.warn)
		s->o->rep.warn(s->o->rep.arg, msg);
	pthread_mutex_unlock(&s->mu);
}

/* A walk cannot go on (out of memory, the lock lost): the first such error
 * is the restore's; every walk stops at its next entry. */
static void
rs_fatal(struct rs *s, int e, const struct mm_ctx *c)
{
	pthread_mutex_lock(&s->mu);
	if (!atomic_load(&s->fatal)) {
		s->fatal_err = e;
		s->fatal_ctx = *c;
		atomic_store(&s->fatal, 1);
	}
	pthread_mutex_unlock(&s->mu);
}

void
rs_progress(struct rs *s, const char *path)
{
	struct ops_progress p;
	double now = time_mono();

	if (!s->o->rep.progress || pthread_mutex_trylock(&s->mu) != 0)
		return;
	if (now - s->last_progress >= 0.2) {
		s->last_progress = now;
		memset(&p, 0, sizeof(p));
		p.files_done = s->files;
		p.bytes_done = s->bytes;
		p.bytes_total = s->bytes_total;
		p.errors = s->errors;
		p.elapsed = now - s->t0;
		p.current = path;
		s->o->rep.progress(s->o->rep.arg, &p);
	}
	pthread_mutex_unlock(&s->mu);
}

/* ---- names and paths ----------------------------------------------------- */

/* A tree name as a C string, refused when it could leave its folder. */
static char *
safe_name(const struct node *n)
{
	char *s;

	if (n->name_len == 0 || n->name_len > 65535 || memchr(n->name, '/', n->name_len) ||
	    memchr(n->name, '\0', n->name_len) || (n->name_len == 1 && n->name[0] == '.') ||
	    (n->name_len == 2 && n->name[0] == '.' && n->name[1] == '.'))
		return NULL;
	if ((s = malloc(n->name_len + 1)) == NULL)
		return NULL;
	memcpy(s, n->name, n->name_len);
	s[n->name_len] = '\0';
	return s;
}

static char *
join_rel(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

static long
open_beneath(int dirfd, const char *rel)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	return syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

/* A path longer than PATH_MAX, opened in pieces of whole names shorter
 * than it, each piece below the folder the previous one opened. */
static int
open_in_pieces(int rootfd, const char *rel)
{
	const char *p = rel;
	int fd = rootfd;

	while (*p == '/')
		p++;
	while (*p) {
		size_t take = strlen(p);
		char *piece;
		long next;

		if (take >= PATH_MAX) {
			take = PATH_MAX - 1;
			while (take > 0 && p[take] != '/')
				take--;
			if (take == 0) {
				if (fd != rootfd)
					close(fd);
				errno = ENAMETOOLONG;
				return -1;
			}
		}
		piece = strndup(p, take);
		next = piece ? open_beneath(fd, piece) : -1;
		free(piece);
		if (fd != rootfd)
			close(fd);
		if (next < 0)
			return -1;
		fd = (int)next;
		p += take;
		while (*p == '/')
			p++;
	}
	return fd == rootfd ? dup(rootfd) : fd;
}

/* Open the directory at a relative path ("/a/b") below rootfd without
 * following any symlink. openat2 does it in one call, the kernel refusing
 * any symlink and any escape (a path longer than PATH_MAX in pieces);
 * older kernels walk component by component. */
static int
open_rel_dir(int rootfd, const char *rel)
{
	char *copy, *save = NULL, *part;
	int fd, next;
	long r;

	r = open_beneath(rootfd, rel[0] == '/' ? rel + 1 : rel);
	if (r < 0 && errno == ENAMETOOLONG)
		return open_in_pieces(rootfd, rel);
	if (r >= 0 || (errno != ENOSYS && errno != EPERM && errno != EAGAIN))
		return (int)r; /* EPERM: a seccomp filter may refuse openat2; EAGAIN: a concurrent rename */
	copy = strdup(rel);
	fd = dup(rootfd);

	if (copy == NULL || fd < 0) {
		free(copy);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if ((fd = next) < 0)
			break;
	}
	free(copy);
	return fd;
}

/* Split "/a/b/c" into the open folder "/a/b" and the name "c". */
static int
open_rel_parent(int rootfd, const char *rel, const char **leaf)
{
	const char *slash = strrchr(rel, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		return -1;
	*leaf = slash + 1;
	if ((dir = strndup(rel, (size_t)(slash - rel))) == NULL)
		return -1;
	fd = open_rel_dir(rootfd, dir);
	free(dir);
	return fd;
}

/* ---- selection by --include ------------------------------------------------ */

enum sel { SEL_NONE, SEL_ANCESTOR, SEL_ALL };

static enum sel
select_path(struct rs *s, const char *path)
{
	size_t pl = strlen(path);
	enum sel best = SEL_NONE;

	if (s->o->nincludes == 0)
		return SEL_ALL;
	for (size_t i = 0; i < s->o->nincludes; i++) {
		const char *inc = s->o->includes[i];
		size_t il = strlen(inc);

		while (il > 1 && inc[il - 1] == '/')
			il--;
		if ((il == pl && memcmp(inc, path, pl) == 0) || (il == 1 && inc[0] == '/')) {
			s->matched[i] = 1;
			return SEL_ALL;
		}
		if (il < pl && memcmp(inc, path, il) == 0 && path[il] == '/')
			return SEL_ALL;
		if (pl < il && memcmp(inc, path, pl) == 0 && inc[pl] == '/')
			best = SEL_ANCESTOR;
	}
	return best;
}

/* ---- metadata --------------------------------------------------------------- */

/* The local ID of a user or group name; 0 if the name is unknown here. */
static int
lookup_owner(const char *name, int group, uint32_t *id)
{
	char tmp[4096];

	if (group) {
		struct group gr, *res = NULL;
		if (getgrnam_r(name, &gr, tmp, sizeof(tmp), &res) != 0 || res == NULL)
			return 0;
		*id = (uint32_t)res->gr_gid;
	} else {
		struct passwd pw, *res = NULL;
		if (getpwnam_r(name, &pw, tmp, sizeof(tmp), &res) != 0 || res == NULL)
			return 0;
		*id = (uint32_t)res->pw_uid;
	}
	return 1;
}

/* By name when the name exists here (the same person, another UID on this
 * machine), else the number recorded. */
static uint32_t
owner_for(struct owner_cache *oc, const char *name, int group, uint32_t recorded)
{
	uint32_t id = recorded;
	int found;

	if (name == NULL || name[0] == '\0')
		return recorded;
	pthread_mutex_lock(&oc->mu);
	for (size_t i = 0; i < oc->n; i++)
		if (oc->e[i].group == group && strcmp(oc->e[i].name, name) == 0) {
			found = oc->e[i].found;
			id = oc->e[i].id;
			pthread_mutex_unlock(&oc->mu);
			return found ? id : recorded;
		}
	found = lookup_owner(name, group, &id);
	if (oc->n < OWNER_CACHE && (oc->e[oc->n].name = strdup(name)) != NULL) {
		oc->e[oc->n].group = group;
		oc->e[oc->n].found = found;
		oc->e[oc->n].id = id;
		oc->n++;
	}
	pthread_mutex_unlock(&oc->mu);
	return found ? id : recorded;
}

static uid_t
uid_for(struct rs *s, const struct node *n)
{
	return (uid_t)owner_for(&s->owners, n->user, 0, n->uid);
}

static gid_t
gid_for(struct rs *s, const struct node *n)
{
	return (gid_t)owner_for(&s->owners, n->group, 1, n->gid);
}

static void
times_of(const struct node *n, struct timespec ts[2])
{
	ts[0].tv_sec = n->atime_ns / 1000000000LL;
	ts[0].tv_nsec = n->atime_ns % 1000000000LL;
	ts[1].tv_sec = n->mtime_ns / 1000000000LL;
	ts[1].tv_nsec = n->mtime_ns % 1000000000LL;
	for (int i = 0; i < 2; i++)
		if (ts[i].tv_nsec < 0) {
			ts[i].tv_nsec += 1000000000LL;
			ts[i].tv_sec--;
		}
}

/* The process's umask, without setting it (umask(2) can only set): 0 if
 * the kernel does not say (then every mode is set with fchmod). */
static int
read_umask(mode_t *out)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		unsigned m;
		if (sscanf(line, "Umask: %o", &m) == 1 && m <= 0777) {
			*out = (mode_t)m;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* Can a file be created with its final permission bits? In an owned
 * folder (no default ACL on the way: see RT_OWNED), the creation mode is
 * mode & ~umask; special bits always need fchmod after the owner. */
int
rs_mode_at_create(const struct rs *s, const struct node *n, int owned)
{
	mode_t m = (mode_t)(n->mode & 07777);

	return owned && s->umask_known && (m & 07000) == 0 && (m & ~s->umask) == m;
}

/* Owner, mode, xattrs and times on an open file or directory; owned: it was
 * created with our euid/egid, so the owner is set only if it differs;
 * mode_set: it was created with its final permission bits. */
int
rs_apply_meta_fd(struct rs *s, int fd, const struct node *n, const char *path, int owned,
	      int mode_set)
{
	struct timespec ts[2];

	if (s->as_root) {
		uid_t u = uid_for(s, n);
		gid_t g = gid_for(s, n);
		if (!(owned && u == s->euid && g == s->egid) && fchown(fd, u, g) != 0)
			rs_warn(s, 0, "%s: cannot set owner: %s", path, strerror(errno));
	}
	if (!mode_set && fchmod(fd, n->mode & 07777) != 0)
		return errno;
	for (size_t i = 0; i < n->nxattrs; i++)
		if (fsetxattr(fd, n->xattrs[i].name, n->xattrs[i].value, n->xattrs[i].len, 0) != 0)
			rs_warn(s, 0, "%s: cannot set extended attribute %s: %s", path,
				n->xattrs[i].name, strerror(errno));
	times_of(n, ts);
	if (futimens(fd, ts) != 0)
		return errno;
	return 0;
}

/* Owner and times of an entry that cannot be opened (symlink, FIFO, device). */
static int
apply_meta_at(struct rs *s, int dirfd, const char *name, const struct node *n, const char *path)
{
	struct timespec ts[2];

	if (s->as_root &&
	    fchownat(dirfd, name, uid_for(s, n), gid_for(s, n), AT_SYMLINK_NOFOLLOW) != 0)
		rs_warn(s, 0, "%s: cannot set owner: %s", path, strerror(errno));
	if (n->type != NODE_SYMLINK && fchmodat(dirfd, name, n->mode & 07777, 0) != 0)
		return errno;
	times_of(n, ts);
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
		return errno;
	return 0;
}

/* Make room for a new non-directory entry: remove what is there unless it
 * is a directory. */
int
rs_clear_entry(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	return unlinkat(dirfd, name, 0) == 0 ? 0 : errno;
}

/* ---- hard links ------------------------------------------------------------ */

static int
push_ptr(void **v, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		void *nv = realloc(*v, ncap * size);
		if (nv == NULL)
			return MM_ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	return 0;
}

static struct mm_id
link_key(const struct node *n)
{
	struct mm_id k;

	memset(&k, 0, sizeof(k));
	memcpy(k.b, &n->inode, 8); /* inode first: it is what varies */
	memcpy(k.b + 8, &n->dev, 8);
	return k;
}

/* For a file with several links: 1 if it is a later link of a group
 * already restored (recorded for the link pass), 0 if it is the first. */
static int
hardlink_seen(struct rs *s, const struct node *n, const char *rel, int *err)
{
	struct mm_id k = link_key(n);
	struct blob_loc loc;

	*err = 0;
	if (index_find(&s->links_seen, &k, &loc) == 0) {
		struct link_rec *l;
		if ((*err = push_ptr((void **)&s->links, &s->nlinks, &s->links_cap,
				     sizeof(*s->links))) != 0)
			return 0;
		l = &s->links[s->nlinks];
		l->target = s->first_paths[loc.offset];
		if ((l->path = strdup(rel)) == NULL) {
			*err = MM_ENOMEM;
			return 0;
		}
		s->nlinks++;
		return 1;
	}
	if ((*err = push_ptr((void **)&s->first_paths, &s->nfirst, &s->first_cap,
			     sizeof(*s->first_paths))) != 0)
		return 0;
	if ((s->first_paths[s->nfirst] = strdup(rel)) == NULL) {
		*err = MM_ENOMEM;
		return 0;
	}
	loc.pack = 0;
	loc.offset = (uint32_t)s->nfirst++;
	loc.length = MM_AEAD_OVERHEAD;
	loc.raw_len = 0;
	loc.type = 0;
	*err = index_add(&s->links_seen, &k, &loc, NULL);
	return 0;
}

static void
make_links(struct rs *s)
{
	for (size_t i = 0; i < s->nlinks; i++) {
		const struct link_rec *l = &s->links[i];
		const char *oldname = NULL, *newname = NULL;
		int ofd = open_rel_parent(s->rootfd, l->target, &oldname);
		int nfd = open_rel_parent(s->rootfd, l->path, &newname);
		int err = 0;

		if (ofd < 0 || nfd < 0)
			err = errno;
		else if ((err = rs_clear_entry(nfd, newname)) == 0 &&
			 linkat(ofd, oldname, nfd, newname, 0) != 0)
			err = errno;
		if (err)
			rs_warn(s, 1, "%s: cannot make hard link to %s: %s", l->path, l->target,
				strerror(err));
		else
			s->files++;
		if (ofd >= 0)
			close(ofd);
		if (nfd >= 0)
			close(nfd);
	}
}

/* ---- the walk ------------------------------------------------------------------ */

static int restore_tree(struct rs *s, int dirfd, const char *rel, const struct mm_id *id,
			unsigned flags, struct mm_ctx *c);

/* Create (or reuse) directory name in dirfd; never through a symlink.
 * *created: it is new (not a folder that was there before). */
static int
make_dir(int dirfd, const char *name, int *created)
{
	struct stat st;
	int fd;

	*created = 1;
	if (mkdirat(dirfd, name, 0700) != 0) {
		*created = 0;
		if (errno != EEXIST)
			return -1;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			return -1;
		if (!S_ISDIR(st.st_mode)) {
			/* A file or a planted symlink: replaced, never followed. */
			if (unlinkat(dirfd, name, 0) != 0 || mkdirat(dirfd, name, 0700) != 0)
				return -1;
		}
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

struct dir_job {
	struct rs *s;
	int fd;    /* the folder, open */
	char *rel;
	struct mm_id tree;
	unsigned flags;
};

static void
dir_job_run(void *arg)
{
	struct dir_job *j = arg;
	struct rs *s = j->s;
	struct mm_ctx c = MM_CTX_INIT;
	int e;

	if (!atomic_load(&s->fatal) && (e = restore_tree(s, j->fd, j->rel, &j->tree, j->flags, &c)) != 0)
		rs_fatal(s, e, &c);
	close(j->fd);
	atomic_fetch_sub(&s->walkers, 1);
	free(j->rel);
	free(j);
}

/* Hand the walk of an open folder to the pool when fewer than walkers_max
 * are out and the queue has room: folders are created on every core.
 * 1: handed over (fd too), 0: walk it here, <0: an error. */
static int
spawn_dir(struct rs *s, int fd, const char *rel, const struct mm_id *tree, unsigned flags,
	  struct mm_ctx *c)
{
	struct dir_job *j;
	int e;

	if (atomic_load(&s->walkers) >= s->walkers_max)
		return 0;
	if ((j = calloc(1, sizeof(*j))) == NULL || (j->rel = strdup(rel)) == NULL) {
		free(j);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	j->s = s;
	j->fd = fd;
	j->tree = *tree;
	j->flags = flags;
	atomic_fetch_add(&s->walkers, 1);
	if ((e = pool_try_submit(s->pool, dir_job_run, j)) != 0) {
		atomic_fetch_sub(&s->walkers, 1);
		free(j->rel);
		free(j);
		return e > 0 ? 0 : mm_fail(c, e, "cannot queue work");
	}
	return 1;
}

/* Its metadata is set once every walk and file is done, deepest first. */
static int
record_dir(struct rs *s, const char *rel, struct node *n, int owned, struct mm_ctx *c)
{
	struct dir_rec *d;
	size_t depth = 0;
	int e;

	for (const char *p = rel; *p; p++)
		depth += *p == '/';
	pthread_mutex_lock(&s->mu);
	if ((e = push_ptr((void **)&s->dirlist, &s->ndirs, &s->dirs_cap, sizeof(*s->dirlist))) == 0) {
		d = &s->dirlist[s->ndirs];
		if ((d->path = strdup(rel)) == NULL) {
			e = MM_ENOMEM;
		} else {
			d->depth = depth;
			d->owned = owned;
			d->n = *n;
			memset(n, 0, sizeof(*n)); /* moved into the record */
			s->ndirs++;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return e != 0 ? mm_fail(c, e, "out of memory") : 0;
}

static int
restore_dir_node(struct rs *s, int dirfd, const char *name, const char *rel, struct node *n,
		 unsigned flags, struct mm_ctx *c)
{
	struct mm_id tree = n->subtree;
	unsigned sub = flags & RT_ALL;
	int fd, e, created;

	if ((fd = make_dir(dirfd, name, &created)) < 0) {
		rs_warn(s, 1, "%s: cannot create folder: %s", rel, strerror(errno));
		return 0;
	}
	if (created && (flags & RT_OWNED))
		sub |= RT_OWNED;
	/* A parent of an included path is created, its metadata not restored. */
	if (flags & RT_ALL) {
		if ((e = record_dir(s, rel, n, (sub & RT_OWNED) != 0, c)) != 0) {
			close(fd);
			return e;
		}
		atomic_fetch_add(&s->dirs, 1);
	}
	if ((e = spawn_dir(s, fd, rel, &tree, sub, c)) != 0)
		return e > 0 ? 0 : (close(fd), e);
	e = restore_tree(s, fd, rel, &tree, sub, c);
	close(fd);
	return e;
}

static int
restore_special(struct rs *s, int dirfd, const char *name, const char *rel, const struct node *n)
{
	int err;

	if ((err = rs_clear_entry(dirfd, name)) != 0) {
		rs_warn(s, 1, "%s: cannot replace the existing entry: %s", rel, strerror(err));
		return 0;
	}
	switch (n->type) {
	case NODE_SYMLINK: {
		char *t = malloc(n->target_len + 1);
		if (t == NULL)
			return MM_ENOMEM;
		memcpy(t, n->target, n->target_len);
		t[n->target_len] = '\0';
		err = symlinkat(t, dirfd, name) == 0 ? 0 : errno;
		free(t);
		break;
	}
	case NODE_FIFO:
		err = mkfifoat(dirfd, name, 0600) == 0 ? 0 : errno;
		break;
	case NODE_CHR:
	case NODE_BLK:
		if (!s->as_root) {
			rs_warn(s, 0, "%s: device node not restored (needs root)", rel);
			return 0;
		}
		err = mknodat(dirfd, name, (n->type == NODE_CHR ? S_IFCHR : S_IFBLK) | 0600,
			      (dev_t)n->rdev) == 0 ? 0 : errno;
		break;
	default:
		return 0; /* sockets belong to the process that made them */
	}
	if (err == 0)
		err = apply_meta_at(s, dirfd, name, n, rel);
	if (err != 0)
		rs_warn(s, 1, "%s: cannot restore: %s", rel, strerror(err));
	else
		s->others++;
	return 0;
}

static int
restore_file_node(struct rs *s, int dirfd, char *name, char *rel, struct node *n, int owned,
		  struct mm_ctx *c)
{
	struct file_job *j;
	int e;

	if (n->flags & NODE_F_ERROR) {
		rs_warn(s, 1, "%s: was not readable at backup time; not restored", rel);
		return 0;
	}
	if (n->nlink > 1) {
		int later;

		pthread_mutex_lock(&s->mu); /* walks run in parallel */
		later = hardlink_seen(s, n, rel, &e);
		pthread_mutex_unlock(&s->mu);
		if (e != 0)
			return mm_fail(c, e, "out of memory");
		if (later)
			return 0;
	}
	if ((e = rs_restore_in_ranges(s, dirfd, name, rel, n, owned, c)) != 0)
		return e;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if ((j->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3)) < 0) {
		free(j);
		return mm_fail_errno(c, errno, "%s", rel);
	}
	j->s = s;
	j->owned = owned;
	j->name = name;
	j->path = rel;
	j->n = *n;
	memset(n, 0, sizeof(*n)); /* the job owns it now */
	if ((e = pool_submit(s->pool, rs_file_job_run, j)) != 0) {
		close(j->dirfd);
		node_release(&j->n);
		free(j);
		return mm_fail(c, e, "cannot queue work");
	}
	return 1; /* name and rel belong to the job */
}

static int
restore_tree(struct rs *s, int dirfd, const char *rel, const struct mm_id *id, unsigned flags,
	     struct mm_ctx *c)
{
	int owned = (flags & RT_OWNED) != 0;
	struct tree t = TREE_INIT;
	int e = 0;

	if ((e = repo_tree_load(s->r, id, &t, c)) != 0) {
		/* The folder's contents are lost to this restore, not the rest. */
		rs_warn(s, 1, "%s: cannot read folder contents: %s", rel[0] ? rel : "/", c->msg);
		c->msg[0] = '\0';
		return 0;
	}
	/* A long restore keeps its lock fresh, so no one takes it for stale. */
	if ((e = repo_lock_refresh(s->r, c)) != 0) {
		tree_release(&t);
		return e;
	}
	for (size_t i = 0; i < t.n && e == 0 && !atomic_load(&s->fatal); i++) {
		struct node *n = &t.nodes[i];
		char *name = safe_name(n), *path;
		enum sel sel;

		if (name == NULL) {
			rs_warn(s, 1, "%s: an entry has an unsafe name; refused", rel[0] ? rel : "/");
			continue;
		}
		if ((path = join_rel(rel, name)) == NULL) {
			free(name);
			e = mm_fail(c, MM_ENOMEM, "out of memory");
			break;
		}
		sel = (flags & RT_ALL) ? SEL_ALL : select_path(s, path);
		if (sel == SEL_ALL && n->type == NODE_DIR)
			e = restore_dir_node(s, dirfd, name, path, n, RT_ALL | (flags & RT_OWNED), c);
		else if (sel == SEL_ANCESTOR && n->type == NODE_DIR)
			e = restore_dir_node(s, dirfd, name, path, n, flags & RT_OWNED, c);
		else if (sel == SEL_ALL && n->type == NODE_FILE)
			e = restore_file_node(s, dirfd, name, path, n, owned, c);
		else if (sel == SEL_ALL)
			e = restore_special(s, dirfd, name, path, n);
		if (e == 1) {
			e = 0; /* ownership of name and path moved to a job */
			continue;
		}
		free(name);
		free(path);
	}
	tree_release(&t);
	return e;
}

static int
deeper_first(const void *a, const void *b)
{
	const struct dir_rec *x = a, *y = b;

	return x->depth < y->depth ? 1 : x->depth > y->depth ? -1 : 0;
}

static void
finish_dir(struct rs *s, struct dir_rec *d)
{
	int fd = open_rel_dir(s->rootfd, d->path), err;

	if (fd < 0) {
		rs_warn(s, 1, "%s: cannot open to set metadata: %s", d->path, strerror(errno));
		return;
	}
	if ((err = rs_apply_meta_fd(s, fd, &d->n, d->path, d->owned, 0)) != 0)
		rs_warn(s, 1, "%s: cannot set metadata: %s", d->path, strerror(err));
	close(fd);
}

/* Folders of one depth are finished by the pool in batches of this many. */
#define FINISH_BATCH 256

struct finish_job {
	struct rs *s;
	size_t from, to;
};

static void
finish_job_run(void *arg)
{
	struct finish_job *j = arg;

	for (size_t i = j->from; i < j->to; i++)
		finish_dir(j->s, &j->s->dirlist[i]);
	free(j);
}

/* Directory metadata, children before parents (a parent's mode may forbid
 * reaching its children once set): depth by depth, deepest first, the
 * folders of one depth on every core. */
static void
finish_dirs(struct rs *s)
{
	if (s->ndirs > 1)
		qsort(s->dirlist, s->ndirs, sizeof(*s->dirlist), deeper_first);
	for (size_t i = 0, end; i < s->ndirs; i = end) {
		for (end = i; end < s->ndirs && s->dirlist[end].depth == s->dirlist[i].depth; end++)
			;
		for (size_t a = i; a < end; a += FINISH_BATCH) {
			struct finish_job *j = malloc(sizeof(*j));
			size_t b = end - a < FINISH_BATCH ? end : a + FINISH_BATCH;

			if (j != NULL) {
				j->s = s;
				j->from = a;
				j->to = b;
			}
			if (j == NULL || pool_submit(s->pool, finish_job_run, j) != 0) {
				free(j); /* no job: done here */
				for (size_t k = a; k < b; k++)
					finish_dir(s, &s->dirlist[k]);
			}
		}
		pool_wait(s->pool);
	}
}

static void
rs_release(struct rs *s)
{
	for (size_t i = 0; i < s->ndirs; i++) {
		free(s->dirlist[i].path);
		node_release(&s->dirlist[i].n);
	}
	free(s->dirlist);
	for (size_t i = 0; i < s->nlinks; i++)
		free(s->links[i].path);
	free(s->links);
	for (size_t i = 0; i < s->nfirst; i++)
		free(s->first_paths[i]);
	free(s->first_paths);
	index_release(&s->links_seen);
	free(s->matched);
	if (s->rootfd >= 0)
		close(s->rootfd);
	pthread_mutex_destroy(&s->mu);
	for (size_t i = 0; i < s->owners.n; i++)
		free(s->owners.e[i].name);
	pthread_mutex_destroy(&s->owners.mu);
}

int
ops_restore(struct repo *r, const struct snapshot *snap, const struct restore_opts *o,
	    struct restore_result *res, struct mm_ctx *c)
{
	unsigned root_flags = o->nincludes == 0 ? RT_ALL : 0;
	struct stat rst;
	struct rs s;
	int e;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.r = r;
	s.o = o;
	s.res = res;
	s.snap = snap;
	s.rootfd = -1;
	s.as_root = geteuid() == 0;
	s.euid = geteuid();
	s.egid = getegid();
	s.t0 = time_mono();
	s.bytes_total = o->nincludes ? 0 : snap->sum.bytes_total;
	pthread_mutex_init(&s.mu, NULL);
	pthread_mutex_init(&s.owners.mu, NULL);
	index_init(&s.links_seen);
	if (o->target == NULL || o->target[0] == '\0') {
		e = mm_fail(c, MM_EINVAL, "no target folder given");
		goto out;
	}
	if (o->nincludes && (s.matched = calloc(o->nincludes, sizeof(*s.matched))) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = mkdir_p(o->target, 0700, c)) != 0)
		goto out;
	if ((s.rootfd = open(o->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		e = mm_fail_errno(c, errno, "%s", o->target);
		goto out;
	}
	if ((e = pool_new(o->threads ? o->threads : cpu_count(), &s.pool)) != 0) {
		e = mm_fail(c, e, "cannot start worker threads");
		goto out;
	}
	s.walkers_max = 2 * pool_size(s.pool);
	/* Entries created in the target get our group if it is the target's,
	 * and the mode they are created with if it has no default ACL. */
	if (fstat(s.rootfd, &rst) == 0 && rst.st_gid == s.egid &&
	    fgetxattr(s.rootfd, "system.posix_acl_default", NULL, 0) < 0 &&
	    (errno == ENODATA || errno == ENOTSUP))
		root_flags |= RT_OWNED;
	s.umask_known = read_umask(&s.umask);
	e = restore_tree(&s, s.rootfd, "", &snap->tree, root_flags, c);
	if (e != 0)
		rs_fatal(&s, e, c);
	pool_wait(s.pool);
	if (atomic_load(&s.fatal)) {
		e = s.fatal_err;
		*c = s.fatal_ctx;
		goto out;
	}
	make_links(&s);
	finish_dirs(&s);
	for (size_t i = 0; i < o->nincludes; i++)
		if (!s.matched[i]) {
			e = mm_fail(c, MM_ENOPATH, "%s: no such path in the snapshot (paths are "
				    "absolute, as 'mamori ls' shows them)", o->includes[i]);
			goto out;
		}
out:
	pool_free(s.pool); /* every job has ended: waited for above */
	res->files = s.files;
	res->dirs = s.dirs;
	res->others = s.others;
	res->bytes = s.bytes;
	res->errors = s.errors;
	res->seconds = time_mono() - s.t0;
	rs_release(&s);
	return e;
}
