/*
 * backend: where the repository's bytes live. A small vtable, so a local
 * directory, an in-memory store for tests, and later SFTP and S3 stand
 * behind the same calls. Objects are named by type and name; a backend
 * knows nothing of encryption or formats.
 */
#ifndef MAMORI_BACKEND_H
#define MAMORI_BACKEND_H

#include <stdint.h>

#include "util/util.h"

enum obj_type {
	OBJ_CONFIG = 0, /* the single object "config" */
	OBJ_KEY,        /* keys/NAME */
	OBJ_PACK,       /* data/XX/NAME (XX = first two hex digits) */
	OBJ_INDEX,      /* index/NAME */
	OBJ_SNAPSHOT,   /* snapshots/NAME */
	OBJ_LOCK,       /* locks/NAME */
	OBJ_TYPE_COUNT
};

struct backend;

/* Called for each object by list; a non-zero return stops and is returned. */
typedef int (*backend_list_cb)(const char *name, uint64_t size, void *arg);

struct backend_ops {
	/* Write an object durably and atomically (all or nothing). */
	int (*write)(struct backend *be, enum obj_type t, const char *name,
		     const void *p, size_t n, struct mm_ctx *c);
	/* Read len bytes at off (len 0: to the end) and append them to out.
	 * MM_ENOENT when the object does not exist. */
	int (*read)(struct backend *be, enum obj_type t, const char *name,
		    uint64_t off, size_t len, struct buf *out, struct mm_ctx *c);
	/* Size of an object, MM_ENOENT if absent. */
	int (*stat)(struct backend *be, enum obj_type t, const char *name,
		    uint64_t *size, struct mm_ctx *c);
	int (*remove)(struct backend *be, enum obj_type t, const char *name,
		      struct mm_ctx *c);
	int (*list)(struct backend *be, enum obj_type t, backend_list_cb cb,
		    void *arg, struct mm_ctx *c);
	/* Create the layout of a new repository; MM_EEXIST if one is there. */
	int (*create)(struct backend *be, struct mm_ctx *c);
	void (*free)(struct backend *be);
};

struct backend {
	const struct backend_ops *ops;
	char *location; /* as the user wrote it, for messages */
};

/*
 * Open the backend for a repository location: a plain path (or "local:PATH")
 * is a directory on this machine; "mem:" an in-memory store (tests).
 */
int backend_open(const char *location, struct backend **out, struct mm_ctx *c) MM_MUST_CHECK;
int backend_local_open(const char *path, struct backend **out, struct mm_ctx *c) MM_MUST_CHECK;
int backend_mem_open(struct backend **out, struct mm_ctx *c) MM_MUST_CHECK;
void backend_free(struct backend *be);

/* The relative path of an object, e.g. "data/3f/3fa2…" (new allocation). */
char *backend_obj_path(enum obj_type t, const char *name);
const char *backend_type_dir(enum obj_type t);

static inline int backend_write(struct backend *be, enum obj_type t, const char *name,
				const void *p, size_t n, struct mm_ctx *c)
{ return be->ops->write(be, t, name, p, n, c); }
static inline int backend_read(struct backend *be, enum obj_type t, const char *name,
			       uint64_t off, size_t len, struct buf *out, struct mm_ctx *c)
{ return be->ops->read(be, t, name, off, len, out, c); }
static inline int backend_stat(struct backend *be, enum obj_type t, const char *name,
			       uint64_t *size, struct mm_ctx *c)
{ return be->ops->stat(be, t, name, size, c); }
static inline int backend_remove(struct backend *be, enum obj_type t, const char *name,
				 struct mm_ctx *c)
{ return be->ops->remove(be, t, name, c); }
static inline int backend_list(struct backend *be, enum obj_type t, backend_list_cb cb,
			       void *arg, struct mm_ctx *c)
{ return be->ops->list(be, t, cb, arg, c); }

#endif
