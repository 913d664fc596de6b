/*
 * mem: a repository held in memory, for unit tests and fuzzing. A plain
 * array of objects behind one mutex, since the repo writes packs from
 * worker threads. It follows the local backend's rules (names checked the
 * same way, config never replaced, list reports only 64-hex names) so a
 * test against it says something about the real thing.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/backend_internal.h"

struct mem_obj {
	enum obj_type t;
	char *name;
	uint8_t *data;
	size_t len;
};

struct mem_be {
	struct backend be; /* first: the vtable sees a struct backend */
	pthread_mutex_t mu;
	struct mem_obj *objs;
	size_t n, cap;
};

static struct mem_be *
mem_of(struct backend *be)
{
	return (struct mem_be *)be;
}

static const char *
obj_key(enum obj_type t, const char *name)
{
	return t == OBJ_CONFIG ? "config" : name;
}

/* Index of an object, or SIZE_MAX. Called with the mutex held. */
static size_t
find(struct mem_be *mb, enum obj_type t, const char *name)
{
	size_t i;

	name = obj_key(t, name);
	for (i = 0; i < mb->n; i++) {
		if (mb->objs[i].t == t && strcmp(mb->objs[i].name, name) == 0)
			return i;
	}
	return SIZE_MAX;
}

/* "mem:data/3f/3fa2…" for messages, in a caller's array. */
static void
obj_label(enum obj_type t, const char *name, char *out, size_t sz)
{
	char *rel = backend_obj_path(t, name);

	snprintf(out, sz, "mem:%s", rel != NULL ? rel : "?");
	free(rel);
}

static int
mem_write(struct backend *be, enum obj_type t, const char *name, const void *p, size_t n,
	  struct mm_ctx *c)
{
	struct mem_be *mb = mem_of(be);
	struct mem_obj o = { 0 }, *grown;
	char label[512];
	size_t i, ncap;
	int locked = 0, r;

	if ((r = backend_check_name(t, name, c)) != 0)
		goto out;
	/* Copy outside the lock; only the swap happens inside. */
	o.t = t;
	o.len = n;
	if ((o.name = strdup(obj_key(t, name))) == NULL ||
	    (o.data = malloc(n != 0 ? n : 1)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (n != 0)
		memcpy(o.data, p, n);
	pthread_mutex_lock(&mb->mu);
	locked = 1;
	if ((i = find(mb, t, name)) != SIZE_MAX) {
		if (t == OBJ_CONFIG) {
			obj_label(t, name, label, sizeof(label));
			r = mm_fail(c, MM_EEXIST, "%s: already exists", label);
			goto out;
		}
		/* Same name, same content: replace. */
		free(mb->objs[i].data);
		mb->objs[i].data = o.data;
		mb->objs[i].len = o.len;
		o.data = NULL;
		r = 0;
		goto out;
	}
	if (mb->n == mb->cap) {
		ncap = mb->cap != 0 ? mb->cap * 2 : 16;
		if ((grown = reallocarray(mb->objs, ncap, sizeof(*grown))) == NULL) {
			r = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		mb->objs = grown;
		mb->cap = ncap;
	}
	mb->objs[mb->n++] = o;
	memset(&o, 0, sizeof(o)); /* transferred */
	r = 0;
out:
	if (locked)
		pthread_mutex_unlock(&mb->mu);
	free(o.name);
	free(o.data);
	return r;
}

static int
mem_read(struct backend *be, enum obj_type t, const char *name, uint64_t off, size_t len,
	 struct buf *out, struct mm_ctx *c)
{
	struct mem_be *mb = mem_of(be);
	const struct mem_obj *o;
	char label[512];
	uint64_t size, want;
	size_t i;
	int r;

	if ((r = backend_check_name(t, name, c)) != 0)
		return r;
	pthread_mutex_lock(&mb->mu);
	if ((i = find(mb, t, name)) == SIZE_MAX) {
		obj_label(t, name, label, sizeof(label));
		r = mm_fail(c, MM_ENOENT, "%s: no such object", label);
		goto out;
	}
	o = &mb->objs[i];
	size = o->len;
	if (off > size || (uint64_t)len > size - off) {
		obj_label(t, name, label, sizeof(label));
		r = mm_fail(c, MM_ECORRUPT,
			    "%s: read of %zu bytes at offset %llu is past the end of the object "
			    "(size %llu)", label, len, (unsigned long long)off,
			    (unsigned long long)size);
		goto out;
	}
	want = len != 0 ? (uint64_t)len : size - off;
	if (want != 0 && (r = buf_append(out, o->data + off, (size_t)want)) != 0) {
		obj_label(t, name, label, sizeof(label));
		r = mm_fail(c, r, "%s: cannot hold %llu bytes in memory", label,
			    (unsigned long long)want);
		goto out;
	}
	r = 0;
out:
	pthread_mutex_unlock(&mb->mu);
	return r;
}

static int
mem_stat(struct backend *be, enum obj_type t, const char *name, uint64_t *size,
	 struct mm_ctx *c)
{
	struct mem_be *mb = mem_of(be);
	char label[512];
	size_t i;
	int r;

	if ((r = backend_check_name(t, name, c)) != 0)
		return r;
	pthread_mutex_lock(&mb->mu);
	if ((i = find(mb, t, name)) == SIZE_MAX) {
		obj_label(t, name, label, sizeof(label));
		r = mm_fail(c, MM_ENOENT, "%s: no such object", label);
		goto out;
	}
	*size = mb->objs[i].len;
	r = 0;
out:
	pthread_mutex_unlock(&mb->mu);
	return r;
}

static int
mem_remove(struct backend *be, enum obj_type t, const char *name, struct mm_ctx *c)
{
	struct mem_be *mb = mem_of(be);
	char label[512];
	size_t i;
	int r;

	if ((r = backend_check_name(t, name, c)) != 0)
		return r;
	pthread_mutex_lock(&mb->mu);
	if ((i = find(mb, t, name)) == SIZE_MAX) {
		obj_label(t, name, label, sizeof(label));
		r = mm_fail(c, MM_ENOENT, "%s: no such object", label);
		goto out;
	}
	free(mb->objs[i].name);
	free(mb->objs[i].data);
	mb->objs[i] = mb->objs[--mb->n];
	r = 0;
out:
	pthread_mutex_unlock(&mb->mu);
	return r;
}

struct mem_entry {
	char name[BACKEND_NAME_LEN + 1];
	uint64_t size;
};

/*
 * The callback runs without the lock held, on a copy of the names taken
 * under it, so it may read, write or remove objects (the lock scan does).
 */
static int
mem_list(struct backend *be, enum obj_type t, backend_list_cb cb, void *arg,
	 struct mm_ctx *c)
{
	struct mem_be *mb = mem_of(be);
	struct mem_entry *ents = NULL;
	size_t i, n = 0;
	int r;

	if ((unsigned)t >= OBJ_TYPE_COUNT || t == OBJ_CONFIG)
		return mm_fail(c, MM_EINVAL, "cannot list objects of type %d", (int)t);
	pthread_mutex_lock(&mb->mu);
	if (mb->n != 0 && (ents = calloc(mb->n, sizeof(*ents))) == NULL) {
		pthread_mutex_unlock(&mb->mu);
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < mb->n; i++) {
		if (mb->objs[i].t != t || !backend_name_listable(mb->objs[i].name))
			continue;
		memcpy(ents[n].name, mb->objs[i].name, BACKEND_NAME_LEN + 1);
		ents[n].size = mb->objs[i].len;
		n++;
	}
	pthread_mutex_unlock(&mb->mu);
	for (i = 0; i < n; i++) {
		if ((r = cb(ents[i].name, ents[i].size, arg)) != 0)
			goto out;
	}
	r = 0;
out:
	free(ents);
	return r;
}

static int
mem_create(struct backend *be, struct mm_ctx *c)
{
	struct mem_be *mb = mem_of(be);
	int r;

	pthread_mutex_lock(&mb->mu);
	if (find(mb, OBJ_CONFIG, NULL) != SIZE_MAX)
		r = mm_fail(c, MM_EEXIST, "mem:config: a repository already exists");
	else
		r = 0;
	pthread_mutex_unlock(&mb->mu);
	return r;
}

static void
mem_free(struct backend *be)
{
	struct mem_be *mb = mem_of(be);
	size_t i;

	for (i = 0; i < mb->n; i++) {
		free(mb->objs[i].name);
		free(mb->objs[i].data);
	}
	free(mb->objs);
	pthread_mutex_destroy(&mb->mu);
	free(mb->be.location);
	free(mb);
}

static const struct backend_ops mem_ops = {
	.write = mem_write,
	.read = mem_read,
	.stat = mem_stat,
	.remove = mem_remove,
	.list = mem_list,
	.create = mem_create,
	.free = mem_free,
};

int
backend_mem_open(struct backend **out, struct mm_ctx *c)
{
	struct mem_be *mb = NULL;
	int r;

	if ((mb = calloc(1, sizeof(*mb))) == NULL ||
	    (mb->be.location = strdup("mem:")) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (pthread_mutex_init(&mb->mu, NULL) != 0) {
		r = mm_fail(c, MM_ENOMEM, "cannot create a mutex");
		goto out;
	}
	mb->be.ops = &mem_ops;
	*out = &mb->be;
	mb = NULL;
	r = 0;
out:
	if (mb != NULL) {
		free(mb->be.location);
		free(mb);
	}
	return r;
}
