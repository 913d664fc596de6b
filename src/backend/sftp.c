/*
 * sftp: a repository in a folder on another machine, reached through the
 * system's own ssh client speaking SFTP version 3 on its standard input
 * and output (`ssh -s HOST sftp`), so ~/.ssh/config, agents, known_hosts
 * and jump hosts work exactly as for the user's own ssh. ssh does all the
 * cryptography; this file only frames SFTP requests (sftp_proto.c).
 *
 * Several threads: each operation borrows one connection (one ssh
 * process) from a small pool, opened on demand up to sftp.connections,
 * and sends its requests pipelined (reads and writes of 32 KiB, up to
 * SFTP_WINDOW in flight). A connection that failed is closed, never
 * reused.
 *
 * Every wait for the server has a deadline (sftp.timeout seconds, also
 * given to ssh as ConnectTimeout and ServerAliveInterval); a failure is
 * named from what ssh printed (sftp_ssh_diagnose).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/backend_internal.h"
#include "backend/sftp_internal.h"


/* ---- paths ------------------------------------------------------------------------ */

static char *
join(const char *a, const char *b)
{
	size_t al = strlen(a), bl = strlen(b);
	int slash = al > 0 && a[al - 1] != '/';
	char *p = malloc(al + slash + bl + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, a, al);
	if (slash)
		p[al] = '/';
	memcpy(p + al + slash, b, bl + 1);
	return p;
}

static int
obj_path(struct sftp_be *sb, enum obj_type t, const char *name, char **out, struct mm_ctx *c)
{
	char *rel;
	int r;

	if ((r = backend_check_name(t, name, c)) != 0)
		return r;
	if ((rel = backend_obj_path(t, name)) == NULL || (*out = join(sb->loc.path, rel)) == NULL) {
		free(rel);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	free(rel);
	return 0;
}

/* mkdir unless it exists as a folder. */
static int
ensure_dir(struct sftp_be *sb, struct sftp_conn *k, const char *dir, struct mm_ctx *c)
{
	struct sftp_reply rep;
	struct sftp_attrs a;
	struct mm_ctx first = MM_CTX_INIT;
	int r, r2;

	if ((r = sftp_rq_path(sb, k, SFTP_MKDIR, dir, "make folder", 1, &rep, &first)) == 0)
		return 0;
	if (k->broken) {
		memcpy(c, &first, sizeof(first));
		return r;
	}
	/* OpenSSH says "failure" when it exists. */
	if ((r2 = sftp_rq_stat(sb, k, dir, &a, c)) == 0 && (a.flags & SFTP_ATTR_PERMISSIONS) &&
	    S_ISDIR(a.perm))
		return 0;
	if (r2 == 0)
		return mm_fail(c, MM_EREMOTE, "sftp %s: %s exists and is not a folder", sb->desc, dir);
	/* The connection went between the two requests: that is the cause (and
	 * what the caller retries), not the "failure" the mkdir got. */
	if (k->broken)
		return r2;
	memcpy(c, &first, sizeof(first));
	return r;
}

/* The folders an object of type t goes into: type folder, and data/XX. */
static int
ensure_obj_dirs(struct sftp_be *sb, struct sftp_conn *k, enum obj_type t, const char *name,
		struct mm_ctx *c)
{
	char *d1 = NULL, *d2 = NULL, xx[3] = { 0 };
	int r;

	if (t == OBJ_CONFIG)
		return ensure_dir(sb, k, sb->loc.path, c);
	if ((d1 = join(sb->loc.path, backend_type_dir(t))) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = ensure_dir(sb, k, d1, c)) != 0 || t != OBJ_PACK)
		goto out;
	xx[0] = name[0];
	xx[1] = name[1];
	if ((d2 = join(d1, xx)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	r = ensure_dir(sb, k, d2, c);
out:
	free(d1);
	free(d2);
	return r;
}

/* ---- the backend's operations ------------------------------------------------------ */

/* Pipelined WRITE requests for p[0..n) at offset 0. */
static int
write_all(struct sftp_be *sb, struct sftp_conn *k, const uint8_t *h, size_t hlen,
	  const void *p, size_t n, const char *path, struct mm_ctx *c)
{
	uint32_t first_id = k->next_id + 1;
	size_t sent = 0, inflight = 0;
	int r = 0, err = 0;
	struct mm_ctx firsterr = MM_CTX_INIT;

	while (sent < n || inflight > 0) {
		while (sent < n && inflight < SFTP_WINDOW && err == 0) {
			size_t chunk = n - sent < SFTP_IO_CHUNK ? n - sent : SFTP_IO_CHUNK;
			uint32_t id = sftp_new_id(k);

			if ((r = sftp_put_begin(&k->tx, SFTP_WRITE, id)) != 0 ||
			    (r = sftp_put_string(&k->tx, h, hlen)) != 0 ||
			    (r = sftp_put_u64(&k->tx, sent)) != 0 ||
			    (r = sftp_put_string(&k->tx, (const uint8_t *)p + sent, chunk)) != 0)
				return mm_fail(c, r, "out of memory");
			if ((r = sftp_send_tx(sb, k, c)) != 0)
				return r;
			sent += chunk;
			inflight++;
		}
		if (inflight == 0)
			break;
		{
			struct sftp_reply rep;

			if ((r = sftp_recv(sb, k, &rep, c)) != 0)
				return r;
			if (rep.id < first_id || rep.id > k->next_id) {
				k->broken = 1;
				return mm_fail(c, MM_EPROTOCOL, "sftp %s: reply to request %u that "
					       "was never sent", sb->desc, rep.id);
			}
			inflight--;
			if (err == 0 && (r = sftp_status_err(sb, &rep, "write", path, &firsterr)) != 0)
				err = r;
		}
		if (err != 0)
			sent = n; /* send no more; collect what is in flight */
	}
	if (err != 0) {
		memcpy(c, &firsterr, sizeof(firsterr));
		return err;
	}
	return 0;
}

/* A write failed with a plain "failure": if the far side's disk is full, say so. */
static int
explain_failure(struct sftp_be *sb, struct sftp_conn *k, const char *dir, size_t n, int r,
		struct mm_ctx *c)
{
	int64_t avail;
	char fb[32];

	if (r != MM_EREMOTE)
		return r;
	avail = sftp_free_space(sb, k, dir);
	if (avail < 0 || (uint64_t)avail >= (uint64_t)n + 1024 * 1024)
		return r;
	fmt_bytes((uint64_t)avail, fb, sizeof(fb));
	return mm_fail(c, MM_ENOSPC, "sftp %s: no space left on the far side: the server's "
		       "file system holding %s has %s free (the server said only \"failure\"); "
		       "free space there or use another folder", sb->desc, dir, fb);
}

static int
op_write_once(struct backend *be, enum obj_type t, const char *name, const void *p, size_t n,
	   struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct sftp_attrs a;
	uint8_t h[SFTP_HANDLE_MAX];
	size_t hlen = 0;
	char *path = NULL, *tmp = NULL, *dir = NULL, *slash;
	char tname[40];
	uint64_t rnd[2] = { 0, 0 };
	int r, opened = 0, renamed = 0;

	if ((r = obj_path(sb, t, name, &path, c)) != 0)
		return r;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd[0] = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	rnd[1] ^= atomic_fetch_add(&sb->tmpseq, 1);
	snprintf(tname, sizeof(tname), ".tmp-%016llx%04llx", (unsigned long long)rnd[0],
		 (unsigned long long)(rnd[1] & 0xffff));
	if ((dir = strdup(path)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir)
		*slash = '\0';
	else if (slash == dir)
		dir[1] = '\0';
	else
		memcpy(dir, ".", 2); /* dir holds an object name: at least 2 bytes */
	if ((tmp = join(dir, tname)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = sftp_conn_get(sb, &k, c)) != 0)
		goto out;
	if (t == OBJ_CONFIG) {
		/* Never replace the config (see local.c). */
		if ((r = sftp_rq_stat(sb, k, path, &a, c)) == 0) {
			r = mm_fail(c, MM_EEXIST, "sftp %s: %s already exists", sb->desc, path);
			goto out;
		}
		if (r != MM_ENOENT)
			goto out;
	}
	r = sftp_rq_open(sb, k, tmp, SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_EXCL, h, &hlen, c);
	if (r == MM_ENOENT) {
		if ((r = ensure_obj_dirs(sb, k, t, name, c)) != 0)
			goto out;
		r = sftp_rq_open(sb, k, tmp, SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_EXCL, h, &hlen, c);
	}
	if (r != 0)
		goto out;
	opened = 1;
	if ((r = write_all(sb, k, h, hlen, p, n, tmp, c)) != 0) {
		r = explain_failure(sb, k, dir, n, r, c);
		goto out;
	}
	if (k->ext & SFTP_EXT_FSYNC) {
		struct sftp_reply rep;

		if ((r = sftp_rq_handle(sb, k, SFTP_EXTENDED, "fsync@openssh.com", h, hlen, &rep, c)) != 0 ||
		    (r = sftp_status_err(sb, &rep, "fsync", tmp, c)) != 0) {
			r = explain_failure(sb, k, dir, n, r, c);
			goto out;
		}
	}
	opened = 0;
	if ((r = sftp_rq_close(sb, k, h, hlen, tmp, c)) != 0) {
		r = explain_failure(sb, k, dir, n, r, c);
		goto out;
	}
	if ((r = sftp_rq_rename(sb, k, tmp, path, t != OBJ_CONFIG, c)) != 0) {
		struct mm_ctx ignore = MM_CTX_INIT;

		/* Without posix-rename a plain rename refuses an existing
		 * target; an object of that name has the same content. */
		if (t == OBJ_CONFIG || k->broken || sftp_rq_stat(sb, k, path, &a, &ignore) != 0)
			goto out;
		r = 0;
		goto out;
	}
	renamed = 1;
	r = 0;
out:
	if (k != NULL && !k->broken) {
		struct mm_ctx ignore = MM_CTX_INIT;
		struct sftp_reply rep;

		if (opened)
			(void)sftp_rq_close(sb, k, h, hlen, tmp, &ignore);
		if (!renamed && hlen > 0 && !k->broken)
			(void)sftp_rq_path(sb, k, SFTP_REMOVE, tmp, "remove", 0, &rep, &ignore);
	}
	sftp_conn_put(sb, k);
	free(path);
	free(tmp);
	free(dir);
	return r;
}

/* Pipelined READ of want bytes at off into dst. */
struct rd_req {
	uint32_t id;
	uint64_t off;
	uint32_t len;
	int used;
};

static int
read_range(struct sftp_be *sb, struct sftp_conn *k, const uint8_t *h, size_t hlen, uint64_t off,
	   uint8_t *dst, size_t want, const char *path, struct mm_ctx *c)
{
	struct rd_req q[SFTP_WINDOW];
	uint64_t next = off, end = off + want;
	size_t inflight = 0;
	int r;

	memset(q, 0, sizeof(q));
	while (next < end || inflight > 0) {
		struct sftp_reply rep;
		struct rd_req *req = NULL;

		for (size_t i = 0; i < SFTP_WINDOW && next < end; i++) {
			uint64_t len = end - next < SFTP_IO_CHUNK ? end - next : SFTP_IO_CHUNK;

			if (q[i].used)
				continue;
			q[i].id = sftp_new_id(k);
			q[i].off = next;
			q[i].len = (uint32_t)len;
			q[i].used = 1;
			if ((r = sftp_put_begin(&k->tx, SFTP_READ, q[i].id)) != 0 ||
			    (r = sftp_put_string(&k->tx, h, hlen)) != 0 ||
			    (r = sftp_put_u64(&k->tx, next)) != 0 ||
			    (r = sftp_put_u32(&k->tx, (uint32_t)len)) != 0)
				return mm_fail(c, r, "out of memory");
			if ((r = sftp_send_tx(sb, k, c)) != 0)
				return r;
			next += len;
			inflight++;
		}
		if ((r = sftp_recv(sb, k, &rep, c)) != 0)
			return r;
		for (size_t i = 0; i < SFTP_WINDOW; i++)
			if (q[i].used && q[i].id == rep.id)
				req = &q[i];
		if (req == NULL) {
			k->broken = 1;
			return mm_fail(c, MM_EPROTOCOL, "sftp %s: reply to request %u that is not "
				       "waiting", sb->desc, rep.id);
		}
		req->used = 0;
		inflight--;
		if (rep.type == SFTP_STATUS && rep.status == SFTP_FX_EOF) {
			/* Collect the others, then fail: the object is shorter. */
			while (inflight > 0) {
				if ((r = sftp_recv(sb, k, &rep, c)) != 0)
					return r;
				inflight--;
			}
			return mm_fail(c, MM_ECORRUPT, "sftp %s: %s: read of %zu bytes at offset "
				       "%llu is past the end of the object", sb->desc, path, want,
				       (unsigned long long)off);
		}
		if (rep.type != SFTP_DATA) {
			r = sftp_status_err(sb, &rep, "read", path, c);
			if (r == 0)
				r = mm_fail(c, MM_EPROTOCOL, "sftp %s: read %s: OK without data",
					    sb->desc, path);
			k->broken = 1; /* replies still in flight: do not reuse */
			return r;
		}
		if (rep.data_len == 0 || rep.data_len > req->len) {
			k->broken = 1;
			return mm_fail(c, MM_EPROTOCOL, "sftp %s: read %s: %zu bytes for a request "
				       "of %u", sb->desc, path, rep.data_len, req->len);
		}
		memcpy(dst + (req->off - off), rep.data, rep.data_len);
		if (rep.data_len < req->len) {
			/* A short read: ask for the rest in this slot. */
			req->id = sftp_new_id(k);
			req->off += rep.data_len;
			req->len -= (uint32_t)rep.data_len;
			req->used = 1;
			if ((r = sftp_put_begin(&k->tx, SFTP_READ, req->id)) != 0 ||
			    (r = sftp_put_string(&k->tx, h, hlen)) != 0 ||
			    (r = sftp_put_u64(&k->tx, req->off)) != 0 ||
			    (r = sftp_put_u32(&k->tx, req->len)) != 0)
				return mm_fail(c, r, "out of memory");
			if ((r = sftp_send_tx(sb, k, c)) != 0)
				return r;
			inflight++;
		}
	}
	return 0;
}

/* A cached pack handle of k, or a new one (evicting and closing the least
 * recently used). NULL slot: not a pack; open and close as usual. */
static int
pack_handle(struct sftp_be *sb, struct sftp_conn *k, const char *name, const char *path,
	    struct sftp_open_pack **out, struct mm_ctx *c)
{
	struct sftp_open_pack *v = NULL;
	int r;

	for (size_t i = 0; i < SFTP_PACK_HANDLES; i++) {
		struct sftp_open_pack *p = &k->packs[i];

		if (p->name[0] != '\0' && strcmp(p->name, name) == 0) {
			p->last = ++k->tick;
			*out = p;
			return 0;
		}
		if (v == NULL || p->name[0] == '\0' || (v->name[0] != '\0' && p->last < v->last))
			v = p;
	}
	if (v->name[0] != '\0') {
		struct mm_ctx ignore = MM_CTX_INIT;

		v->name[0] = '\0';
		if ((r = sftp_rq_close(sb, k, v->h, v->hlen, v->name, &ignore)) != 0 && k->broken)
			return mm_fail(c, r, "%s", ignore.msg);
	}
	if ((r = sftp_rq_open(sb, k, path, SFTP_FXF_READ, v->h, &v->hlen, c)) != 0)
		return r;
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->last = ++k->tick;
	*out = v;
	return 0;
}

/* Forget a pack's handle on k and on the idle connections (it is being
 * removed); the server closes them with their connection. */
static void
forget_pack(struct sftp_be *sb, struct sftp_conn *k, const char *name)
{
	struct mm_ctx ignore = MM_CTX_INIT;

	for (size_t i = 0; i < SFTP_PACK_HANDLES; i++) {
		struct sftp_open_pack *p = &k->packs[i];
		if (strcmp(p->name, name) == 0) {
			p->name[0] = '\0';
			if (!k->broken)
				(void)sftp_rq_close(sb, k, p->h, p->hlen, name, &ignore);
		}
	}
	pthread_mutex_lock(&sb->mu);
	for (struct sftp_conn *o = sb->idle; o != NULL; o = o->next)
		for (size_t i = 0; i < SFTP_PACK_HANDLES; i++)
			if (strcmp(o->packs[i].name, name) == 0)
				o->packs[i].name[0] = '\0';
	pthread_mutex_unlock(&sb->mu);
}

static int
op_read_once(struct backend *be, enum obj_type t, const char *name, uint64_t off, size_t len,
	     struct buf *out, struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct sftp_open_pack *slot = NULL;
	struct sftp_reply rep;
	uint8_t own[SFTP_HANDLE_MAX];
	const uint8_t *h = own;
	size_t hlen = 0;
	uint64_t want = len;
	char *path = NULL;
	int r, opened = 0;

	if ((r = obj_path(sb, t, name, &path, c)) != 0)
		return r;
	if ((r = sftp_conn_get(sb, &k, c)) != 0)
		goto out;
	if (t == OBJ_PACK && strlen(name) == BACKEND_NAME_LEN)
		r = pack_handle(sb, k, name, path, &slot, c);
	else
		r = sftp_rq_open(sb, k, path, SFTP_FXF_READ, own, &hlen, c);
	if (r != 0) {
		if (r == MM_ENOENT)
			r = mm_fail(c, MM_ENOENT, "sftp %s: %s: no such object", sb->desc, path);
		goto out;
	}
	if (slot != NULL) {
		h = slot->h;
		hlen = slot->hlen;
	} else {
		opened = 1;
	}
	if (len == 0) {
		if ((r = sftp_rq_handle(sb, k, SFTP_FSTAT, NULL, h, hlen, &rep, c)) != 0)
			goto out;
		if (rep.type != SFTP_ATTRS || !(rep.attrs.flags & SFTP_ATTR_SIZE)) {
			r = sftp_status_err(sb, &rep, "stat", path, c);
			if (r == 0)
				r = mm_fail(c, MM_EPROTOCOL, "sftp %s: %s: no size", sb->desc, path);
			goto out;
		}
		if (rep.attrs.size < off) {
			r = mm_fail(c, MM_ECORRUPT, "sftp %s: %s: offset %llu is past the end "
				    "(size %llu)", sb->desc, path, (unsigned long long)off,
				    (unsigned long long)rep.attrs.size);
			goto out;
		}
		want = rep.attrs.size - off;
	}
	if (want > SIZE_MAX || (want > 0 && (r = buf_reserve(out, (size_t)want)) != 0)) {
		r = mm_fail(c, want > SIZE_MAX ? MM_ELIMIT : r, "sftp %s: %s: cannot hold %llu "
			    "bytes in memory", sb->desc, path, (unsigned long long)want);
		goto out;
	}
	if (want > 0 && (r = read_range(sb, k, h, hlen, off, out->data + out->len, (size_t)want,
					path, c)) != 0)
		goto out;
	if (opened) {
		opened = 0;
		if ((r = sftp_rq_close(sb, k, h, hlen, path, c)) != 0)
			goto out;
	}
	out->len += (size_t)want;
	r = 0;
out:
	if (r != 0 && slot != NULL && k != NULL)
		forget_pack(sb, k, name); /* a failed handle is not kept */
	if (opened && k != NULL && !k->broken) {
		struct mm_ctx ignore = MM_CTX_INIT;
		(void)sftp_rq_close(sb, k, h, hlen, path, &ignore);
	}
	sftp_conn_put(sb, k);
	free(path);
	return r;
}

static int
op_stat_once(struct backend *be, enum obj_type t, const char *name, uint64_t *size,
	  struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct sftp_attrs a;
	char *path = NULL;
	int r;

	if ((r = obj_path(sb, t, name, &path, c)) != 0)
		return r;
	if ((r = sftp_conn_get(sb, &k, c)) != 0)
		goto out;
	if ((r = sftp_rq_stat(sb, k, path, &a, c)) != 0) {
		if (r == MM_ENOENT)
			r = mm_fail(c, MM_ENOENT, "sftp %s: %s: no such object", sb->desc, path);
		goto out;
	}
	if ((a.flags & SFTP_ATTR_PERMISSIONS) && !S_ISREG(a.perm)) {
		r = mm_fail(c, MM_ECORRUPT, "sftp %s: %s: not a regular file", sb->desc, path);
		goto out;
	}
	*size = a.size;
	r = 0;
out:
	sftp_conn_put(sb, k);
	free(path);
	return r;
}

static int
op_remove_once(struct backend *be, enum obj_type t, const char *name, struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct sftp_reply rep;
	char *path = NULL;
	int r;

	if ((r = obj_path(sb, t, name, &path, c)) != 0)
		return r;
	if ((r = sftp_conn_get(sb, &k, c)) == 0) {
		if (t == OBJ_PACK)
			forget_pack(sb, k, name);
		r = sftp_rq_path(sb, k, SFTP_REMOVE, path, "remove", 0, &rep, c);
	}
	sftp_conn_put(sb, k);
	free(path);
	return r;
}

static int
is_hex2(const char *s)
{
	for (int i = 0; i < 2; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[2] == '\0';
}

/* Names and sizes gathered from one folder, so that callbacks (which may
 * read objects) run with no connection held. */
struct dirlist {
	char (*name)[BACKEND_NAME_LEN + 1];
	uint64_t *size;
	size_t n, cap;
};

static void
dirlist_release(struct dirlist *d)
{
	free(d->name);
	free(d->size);
	memset(d, 0, sizeof(*d));
}

static int
dirlist_add(struct dirlist *d, const uint8_t *name, size_t len, uint64_t size)
{
	if (d->n == d->cap) {
		size_t ncap = d->cap ? 2 * d->cap : 256;
		void *nn = realloc(d->name, ncap * sizeof(*d->name));
		if (nn == NULL)
			return MM_ENOMEM;
		d->name = nn;
		nn = realloc(d->size, ncap * sizeof(*d->size));
		if (nn == NULL)
			return MM_ENOMEM;
		d->size = nn;
		d->cap = ncap;
	}
	memcpy(d->name[d->n], name, len);
	d->name[d->n][len] = '\0';
	d->size[d->n] = size;
	d->n++;
	return 0;
}

/*
 * Read one folder. want_dirs: gather the data/XX folders instead of objects.
 * prefix: only names starting with these two characters. A folder that does
 * not exist holds nothing.
 */
static int
read_dir(struct sftp_be *sb, struct sftp_conn *k, const char *dir, int want_dirs,
	 const char *prefix, struct dirlist *out, struct mm_ctx *c)
{
	struct sftp_reply rep;
	uint8_t h[SFTP_HANDLE_MAX];
	size_t hlen;
	int r, opened = 0;

	if ((r = sftp_rq_path(sb, k, SFTP_OPENDIR, dir, "open folder", 0, &rep, c)) != 0) {
		if (r == MM_ENOENT)
			r = 0;
		goto out;
	}
	if (rep.type != SFTP_HANDLE) {
		r = mm_fail(c, MM_EPROTOCOL, "sftp %s: open folder %s: no handle", sb->desc, dir);
		goto out;
	}
	memcpy(h, rep.data, rep.data_len);
	hlen = rep.data_len;
	opened = 1;
	for (;;) {
		struct sftp_names it;
		struct sftp_name e;

		if ((r = sftp_rq_handle(sb, k, SFTP_READDIR, NULL, h, hlen, &rep, c)) != 0)
			goto out;
		if (rep.type == SFTP_STATUS && rep.status == SFTP_FX_EOF)
			break;
		if (rep.type != SFTP_NAME) {
			if ((r = sftp_status_err(sb, &rep, "read folder", dir, c)) == 0)
				r = mm_fail(c, MM_EPROTOCOL, "sftp %s: read folder %s: OK without "
					    "names", sb->desc, dir);
			goto out;
		}
		sftp_names_init(&it, &rep);
		while ((r = sftp_names_next(&it, &e, c)) == 1) {
			int isdir = (e.attrs.flags & SFTP_ATTR_PERMISSIONS) && S_ISDIR(e.attrs.perm);
			int isreg = !(e.attrs.flags & SFTP_ATTR_PERMISSIONS) || S_ISREG(e.attrs.perm);
			char nm[BACKEND_NAME_LEN + 1];

			if (e.name_len > BACKEND_NAME_LEN || memchr(e.name, '\0', e.name_len))
				continue;
			memcpy(nm, e.name, e.name_len);
			nm[e.name_len] = '\0';
			if (want_dirs) {
				if (!isdir || e.name_len != 2 || !is_hex2(nm))
					continue;
			} else {
				if (!isreg || !backend_name_listable(nm))
					continue;
				if (prefix != NULL && strncmp(nm, prefix, 2) != 0)
					continue;
			}
			if ((r = dirlist_add(out, e.name, e.name_len, e.attrs.size)) != 0) {
				r = mm_fail(c, r, "out of memory");
				goto out;
			}
		}
		if (r < 0) {
			mm_prefix(c, r, "sftp %s: folder %s", sb->desc, dir);
			k->broken = 1;
			goto out;
		}
	}
	opened = 0;
	r = sftp_rq_close(sb, k, h, hlen, dir, c);
out:
	if (opened && !k->broken) {
		struct mm_ctx ignore = MM_CTX_INIT;
		(void)sftp_rq_close(sb, k, h, hlen, dir, &ignore);
	}
	return r;
}

/* Every object of type t, gathered with no callback running. */
static int
op_list_once(struct sftp_be *sb, enum obj_type t, struct dirlist *objs, struct mm_ctx *c)
{
	struct sftp_conn *k = NULL;
	struct dirlist subs = { 0 };
	char *dir = NULL, *sub = NULL;
	int r;

	dirlist_release(objs);
	if ((dir = join(sb->loc.path, backend_type_dir(t))) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = sftp_conn_get(sb, &k, c)) != 0)
		goto out;
	if (t != OBJ_PACK) {
		r = read_dir(sb, k, dir, 0, NULL, objs, c);
	} else if ((r = read_dir(sb, k, dir, 1, NULL, &subs, c)) == 0) {
		for (size_t i = 0; i < subs.n && r == 0; i++) {
			free(sub);
			if ((sub = join(dir, subs.name[i])) == NULL)
				r = mm_fail(c, MM_ENOMEM, "out of memory");
			else
				r = read_dir(sb, k, sub, 0, subs.name[i], objs, c);
		}
	}
out:
	sftp_conn_put(sb, k);
	dirlist_release(&subs);
	free(dir);
	free(sub);
	return r;
}

static int
op_create_once(struct backend *be, struct mm_ctx *c)
{
	static const enum obj_type types[] = {
		OBJ_KEY, OBJ_PACK, OBJ_INDEX, OBJ_SNAPSHOT, OBJ_LOCK, OBJ_CHECKPOINT,
	};
	struct sftp_be *sb = sftp_of(be);
	struct sftp_conn *k = NULL;
	struct sftp_attrs a;
	char *config = NULL, *p = NULL, *d = NULL;
	int r;

	if ((config = join(sb->loc.path, "config")) == NULL || (p = strdup(sb->loc.path)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = sftp_conn_get(sb, &k, c)) != 0)
		goto out;
	if ((r = sftp_rq_stat(sb, k, config, &a, c)) == 0) {
		r = mm_fail(c, MM_EEXIST, "sftp %s: a repository already exists", sb->desc);
		goto out;
	}
	if (r != MM_ENOENT)
		goto out;
	/* Each component of the path, like mkdir -p. */
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char save = *s;
			*s = '\0';
			r = ensure_dir(sb, k, p, c);
			*s = save;
			if (r != 0)
				goto out;
			if (save == '\0')
				break;
		}
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		free(d);
		if ((d = join(sb->loc.path, backend_type_dir(types[i]))) == NULL) {
			r = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		if ((r = ensure_dir(sb, k, d, c)) != 0)
			goto out;
	}
	r = 0;
out:
	sftp_conn_put(sb, k);
	free(config);
	free(p);
	free(d);
	return r;
}

static void
sftp_free(struct backend *be)
{
	struct sftp_be *sb = sftp_of(be);

	while (sb->idle != NULL) {
		struct sftp_conn *k = sb->idle;
		sb->idle = k->next;
		sftp_conn_free(k);
	}
	pthread_mutex_destroy(&sb->mu);
	pthread_cond_destroy(&sb->cv);
	sftp_location_release(&sb->loc);
	free(sb->words);
	free(sb->desc);
	free(sb->be.location);
	free(sb);
}

/* ---- retries ------------------------------------------------------------------------ */

/*
 * A connection lost or a server that stopped answering may be back a
 * moment later (a restarted sshd, a flapping link): the operation is run
 * again on a new connection after 1, 2, 4 ... s (each between half and
 * one and a half times that), up to sftp.retries times. Every operation is
 * safe to repeat: a write goes to a new temporary file and renames it over
 * an object of the same name and content; reads and lists change nothing.
 */
struct retry {
	unsigned n;
	int code;     /* of the first failure */
	double t0;
	struct mm_ctx first;
};

static int
retryable(int r)
{
	return r == MM_ECONNLOST || r == MM_ETIMEDOUT || r == MM_ECONNREFUSED || r == MM_ERESOLVE;
}

/* Close the idle connections: after one failed, the others may be dead. */
static void
drop_idle(struct sftp_be *sb)
{
	struct sftp_conn *list;

	pthread_mutex_lock(&sb->mu);
	list = sb->idle;
	sb->idle = NULL;
	pthread_mutex_unlock(&sb->mu);
	while (list != NULL) {
		struct sftp_conn *k = list;
		list = k->next;
		sftp_conn_free(k);
		pthread_mutex_lock(&sb->mu);
		sb->nconns--;
		pthread_cond_broadcast(&sb->cv);
		pthread_mutex_unlock(&sb->mu);
	}
}

/* 1 to run the operation again (after waiting), 0 to return *r. After
 * retries that failed too, *r is the first failure's code (the cause). */
static int
retry_again(struct sftp_be *sb, struct retry *rt, int *r, struct mm_ctx *c)
{
	double wait;
	uint16_t rnd = 0x8000;
	struct timespec ts;

	if (*r == 0 || !retryable(*r) || rt->n >= sb->retries) {
		/* A connection of this run dropped, and this operation could not
		 * make a new one: the drop is the cause (whichever thread saw it
		 * first). */
		int dropped = *r != 0 && retryable(*r) && atomic_load(&sb->lost) &&
			      (rt->n > 0 ? rt->code : *r) != MM_ECONNLOST;

		if (*r != 0 && retryable(*r) && rt->n > 0) {
			/* The first failure is the cause; say what the retries met. */
			char last[sizeof(c->msg)];

			snprintf(last, sizeof(last), "%s", c->msg);
			*r = mm_fail(c, dropped ? MM_ECONNLOST : rt->code, "%s%s; tried again %u "
				     "time%s over %.0f s, last: %s", dropped ? "the connection dropped, "
				     "and connecting again failed: " : "", rt->first.msg, rt->n,
				     rt->n == 1 ? "" : "s", sftp_now() - rt->t0, last);
		} else if (dropped) {
			*r = mm_prefix(c, MM_ECONNLOST, "the connection dropped, and connecting "
				       "again failed");
		}
		return 0;
	}
	if (rt->n == 0) {
		rt->first = *c;
		rt->code = *r;
		rt->t0 = sftp_now();
	}
	drop_idle(sb);
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = 0x8000;
	wait = (double)(1u << (rt->n < 10 ? rt->n : 10)) * (0.5 + rnd / 65536.0);
	ts.tv_sec = (time_t)wait;
	ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	rt->n++;
	return 1;
}

static int
sftp_write(struct backend *be, enum obj_type t, const char *name, const void *p, size_t n,
	   struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct retry rt = { 0 };
	int r;

	do
		r = op_write_once(be, t, name, p, n, c);
	while (retry_again(sb, &rt, &r, c));
	return r;
}

static int
sftp_read(struct backend *be, enum obj_type t, const char *name, uint64_t off, size_t len,
	  struct buf *out, struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct retry rt = { 0 };
	int r;

	do
		r = op_read_once(be, t, name, off, len, out, c);
	while (retry_again(sb, &rt, &r, c));
	return r;
}

static int
sftp_stat(struct backend *be, enum obj_type t, const char *name, uint64_t *size,
	  struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct retry rt = { 0 };
	int r;

	do
		r = op_stat_once(be, t, name, size, c);
	while (retry_again(sb, &rt, &r, c));
	return r;
}

static int
sftp_remove(struct backend *be, enum obj_type t, const char *name, struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct retry rt = { 0 };
	int r;

	do {
		r = op_remove_once(be, t, name, c);
		/* Gone after a retry: the lost try removed it. */
		if (r == MM_ENOENT && rt.n > 0)
			r = 0;
	} while (retry_again(sb, &rt, &r, c));
	return r;
}

static int
sftp_list(struct backend *be, enum obj_type t, backend_list_cb cb, void *arg, struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct dirlist objs = { 0 };
	struct retry rt = { 0 };
	int r;

	if ((unsigned)t >= OBJ_TYPE_COUNT || t == OBJ_CONFIG)
		return mm_fail(c, MM_EINVAL, "cannot list objects of type %d", (int)t);
	do
		r = op_list_once(sb, t, &objs, c);
	while (retry_again(sb, &rt, &r, c));
	/* Callbacks run once each, outside the retries (they may read). */
	for (size_t i = 0; i < objs.n && r == 0; i++)
		r = cb(objs.name[i], objs.size[i], arg);
	dirlist_release(&objs);
	return r;
}

static int
sftp_create(struct backend *be, struct mm_ctx *c)
{
	struct sftp_be *sb = sftp_of(be);
	struct retry rt = { 0 };
	int r;

	do
		r = op_create_once(be, c);
	while (retry_again(sb, &rt, &r, c));
	return r;
}

static const struct backend_ops sftp_ops = {
	.write = sftp_write,
	.read = sftp_read,
	.stat = sftp_stat,
	.remove = sftp_remove,
	.list = sftp_list,
	.create = sftp_create,
	.free = sftp_free,
};

/* ---- opening ---------------------------------------------------------------------- */

/* Split words (spaces and tabs; no quoting, no shell) into argv from *argc. */
static int
split_words(struct sftp_be *sb, char *s, size_t *argc, const char *opt, struct mm_ctx *c)
{
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return 0;
		if (*argc >= SFTP_ARGV_MAX - 16)
			return mm_fail(c, MM_ELIMIT, "%s: too many words", opt);
		sb->argv[(*argc)++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

static int
uint_opt(const char *key, long lo, long hi, long dflt, long *out, struct mm_ctx *c)
{
	const char *v = backend_option_get(key);
	char *end;
	long x;

	if (v == NULL) {
		*out = dflt;
		return 0;
	}
	errno = 0;
	x = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
		return mm_fail(c, MM_EINVAL, "-o %s=%s: give a whole number from %ld to %ld", key, v,
			       lo, hi);
	*out = x;
	return 0;
}

int
backend_sftp_open(const char *spec, struct backend **out, struct mm_ctx *c)
{
	static char s_ssh[] = "ssh", s_o[] = "-o", s_p[] = "-p", s_l[] = "-l", s_s[] = "-s",
		    s_sftp[] = "sftp", s_batch[] = "BatchMode=yes", s_count[] = "ServerAliveCountMax=3";
	struct sftp_be *sb;
	struct sftp_conn *k = NULL;
	const char *cmd = backend_option_get("sftp.command");
	const char *args = backend_option_get("sftp.args");
	char *extra;
	size_t argc = 0, wl;
	long timeout = 0, conns = 0, retries = 0;
	int r;

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	pthread_mutex_init(&sb->mu, NULL);
	pthread_cond_init(&sb->cv, NULL);
	sb->be.ops = &sftp_ops;
	if ((r = sftp_location_parse(spec, &sb->loc, c)) != 0)
		goto out;
	if ((r = uint_opt("sftp.timeout", 1, 3600, SFTP_TIMEOUT_DEFAULT, &timeout, c)) != 0 ||
	    (r = uint_opt("sftp.connections", 1, SFTP_CONNS_MAX, SFTP_CONNS_DEFAULT, &conns, c)) != 0 ||
	    (r = uint_opt("sftp.retries", 0, 10, SFTP_RETRIES_DEFAULT, &retries, c)) != 0)
		goto out;
	sb->retries = (unsigned)retries;
	sb->timeout = (int)timeout;
	sb->max_conns = (unsigned)conns;
	wl = (cmd ? strlen(cmd) : 0) + (args ? strlen(args) : 0) + 128;
	if ((sb->words = calloc(1, wl)) == NULL ||
	    (sb->be.location = strdup(spec)) == NULL ||
	    asprintf(&sb->desc, "%s%s%s:%s", sb->loc.user ? sb->loc.user : "",
		     sb->loc.user ? "@" : "", sb->loc.host, sb->loc.path) < 0) {
		sb->desc = NULL;
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	extra = sb->words;
	if (cmd != NULL) {
		/* The whole command, as restic's sftp.command: the user names
		 * the host and the subsystem themselves. */
		memcpy(extra, cmd, strlen(cmd) + 1);
		if ((r = split_words(sb, extra, &argc, "sftp.command", c)) != 0)
			goto out;
		if (argc == 0) {
			r = mm_fail(c, MM_EINVAL, "-o sftp.command= is empty");
			goto out;
		}
	} else {
		char *t = extra;

		sb->argv[argc++] = s_ssh;
		if (args != NULL) {
			/* The user's options first: ssh keeps the first value of
			 * each option, so they override the defaults below. */
			memcpy(t, args, strlen(args) + 1);
			if ((r = split_words(sb, t, &argc, "sftp.args", c)) != 0)
				goto out;
			t += strlen(args) + 1;
		}
		sb->argv[argc++] = s_o;
		sb->argv[argc++] = s_batch;
		sb->argv[argc++] = s_o;
		sb->argv[argc++] = t;
		t += snprintf(t, (size_t)(sb->words + wl - t), "ConnectTimeout=%d", sb->timeout) + 1;
		sb->argv[argc++] = s_o;
		sb->argv[argc++] = t;
		t += snprintf(t, (size_t)(sb->words + wl - t), "ServerAliveInterval=%d",
			      sb->timeout / 4 > 0 ? sb->timeout / 4 : 1) + 1;
		sb->argv[argc++] = s_o;
		sb->argv[argc++] = s_count;
		if (sb->loc.port != 0) {
			sb->argv[argc++] = s_p;
			sb->argv[argc++] = t;
			t += snprintf(t, (size_t)(sb->words + wl - t), "%u", sb->loc.port) + 1;
		}
		if (sb->loc.user != NULL) {
			sb->argv[argc++] = s_l;
			sb->argv[argc++] = sb->loc.user;
		}
		sb->argv[argc++] = s_s;
		sb->argv[argc++] = sb->loc.host;
		sb->argv[argc++] = s_sftp;
	}
	sb->argv[argc] = NULL;
	/* One connection now, so a wrong host, key or user is said at once. */
	if ((r = sftp_conn_get(sb, &k, c)) != 0)
		goto out;
	sftp_conn_put(sb, k);
	*out = &sb->be;
	sb = NULL;
	r = 0;
out:
	if (sb != NULL)
		sftp_free(&sb->be);
	return r;
}
