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

/* The objects; shared by every backend opened on one "mem:NAME". */
struct mem_store {
	pthread_mutex_t mu;
	struct mem_obj *objs;
	size_t n, cap;
	char *name;    /* NULL: private to one backend ("mem:") */
	unsigned refs; /* guarded by stores_mu */
	struct mem_store *next;
};

struct mem_be {
	struct backend be; /* first: the vtable sees a struct backend */
	struct mem_store *st;
};

/* Named stores live while a backend holds them. */
static pthread_mutex_t stores_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mem_store *stores;

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
	for (i = 0; i < mb->st->n; i++) {
		if (mb->st->objs[i].t == t && strcmp(mb->st->objs[i].name, name) == 0)
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
	pthread_mutex_lock(&mb->st->mu);
	locked = 1;
	if ((i = find(mb, t, name)) != SIZE_MAX) {
		if (t == OBJ_CONFIG) {
			obj_label(t, name, label, sizeof(label));
			r = mm_fail(c, MM_EEXIST, "%s: already exists", label);
			goto out;
		}
		/* Same name, same content: replace. */
		free(mb->st->objs[i].data);
		mb->st->objs[i].data = o.data;
		mb->st->objs[i].len = o.len;
		o.data = NULL;
		r = 0;
		goto out;
	}
	if (mb->st->n == mb->st->cap) {
		ncap = mb->st->cap != 0 ? mb->st->cap * 2 : 16;
		if ((grown = reallocarray(mb->st->objs, ncap, sizeof(*grown))) == NULL) {
			r = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		mb->st->objs = grown;
		mb->st->cap = ncap;
	}
	mb->st->objs[mb->st->n++] = o;
	memset(&o, 0, sizeof(o)); /* transferred */
	r = 0;
out:
	if (locked)
		pthread_mutex_unlock(&mb->st->mu);
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
	pthread_mutex_lock(&mb->st->mu);
	if ((i = find(mb, t, name)) == SIZE_MAX) {
		obj_label(t, name, label, sizeof(label));
		r = mm_fail(c, MM_ENOENT, "%s: no such object", label);
		goto out;
	}
	o = &mb->st->objs[i];
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
	pthread_mutex_unlock(&mb->st->mu);
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
	pthread_mutex_lock(&mb->st->mu);
	if ((i = find(mb, t, name)) == SIZE_MAX) {
		obj_label(t, name, label, sizeof(label));
		r = mm_fail(c, MM_ENOENT, "%s: no such object", label);
		goto out;
	}
	*size = mb->st->objs[i].len;
	r = 0;
out:
	pthread_mutex_unlock(&mb->st->mu);
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
	pthread_mutex_lock(&mb->st->mu);
	if ((i = find(mb, t, name)) == SIZE_MAX) {
		obj_label(t, name, label, sizeof(label));
		r = mm_fail(c, MM_ENOENT, "%s: no such object", label);
		goto out;
	}
	free(mb->st->objs[i].name);
	free(mb->st->objs[i].data);
	mb->st->objs[i] = mb->st->objs[--mb->st->n];
	r = 0;
out:
	pthread_mutex_unlock(&mb->st->mu);
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
	pthread_mutex_lock(&mb->st->mu);
	if (mb->st->n != 0 && (ents = calloc(mb->st->n, sizeof(*ents))) == NULL) {
		pthread_mutex_unlock(&mb->st->mu);
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < mb->st->n; i++) {
		if (mb->st->objs[i].t != t || !backend_name_listable(mb->st->objs[i].name))
			continue;
		memcpy(ents[n].name, mb->st->objs[i].name, BACKEND_NAME_LEN + 1);
		ents[n].size = mb->st->objs[i].len;
		n++;
	}
	pthread_mutex_unlock(&mb->st->mu);
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

	pthread_mutex_lock(&mb->st->mu);
	if (find(mb, OBJ_CONFIG, NULL) != SIZE_MAX)
		r = mm_fail(c, MM_EEXIST, "mem:config: a repository already exists");
	else
		r = 0;
	pthread_mutex_unlock(&mb->st->mu);
	return r;
}

static void
store_free(struct mem_store *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->objs[i].name);
		free(st->objs[i].data);
	}
	free(st->objs);
	pthread_mutex_destroy(&st->mu);
	free(st->name);
	free(st);
}

static void
mem_free(struct backend *be)
{
	struct mem_be *mb = mem_of(be);
	struct mem_store *st = mb->st, **pp;

	if (st != NULL) {
		pthread_mutex_lock(&stores_mu);
		if (--st->refs == 0) {
			for (pp = &stores; *pp != NULL; pp = &(*pp)->next) {
				if (*pp == st) {
					*pp = st->next;
					break;
				}
			}
		} else {
			st = NULL;
		}
		pthread_mutex_unlock(&stores_mu);
		if (st != NULL)
			store_free(st);
	}
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

/* A store: the named one if it exists (one more reference), else new. */
static int
store_get(const char *name, struct mem_store **out)
{
	struct mem_store *st;
	int r = 0;

	pthread_mutex_lock(&stores_mu);
	for (st = name ? stores : NULL; st != NULL; st = st->next) {
		if (strcmp(st->name, name) == 0) {
			st->refs++;
			goto out;
		}
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (name != NULL && (st->name = strdup(name)) == NULL) ||
	    pthread_mutex_init(&st->mu, NULL) != 0) {
		if (st != NULL)
			free(st->name);
		free(st);
		st = NULL;
		r = MM_ENOMEM;
		goto out;
	}
	st->refs = 1;
	if (name != NULL) {
		st->next = stores;
		stores = st;
	}
out:
	pthread_mutex_unlock(&stores_mu);
	*out = st;
	return r;
}

int
backend_mem_open_named(const char *name, struct backend **out, struct mm_ctx *c)
{
	struct mem_be *mb = NULL;

	if ((mb = calloc(1, sizeof(*mb))) == NULL ||
	    (mb->be.location = strdup("mem:")) == NULL ||
	    store_get(name != NULL && name[0] != '\0' ? name : NULL, &mb->st) != 0) {
		if (mb != NULL)
			free(mb->be.location);
		free(mb);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	mb->be.ops = &mem_ops;
	*out = &mb->be;
	return 0;
}

int
backend_mem_open(struct backend **out, struct mm_ctx *c)
{
	return backend_mem_open_named(NULL, out, c);
}
