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
	OBJ_CHECKPOINT, /* checkpoints/NAME: signed ledger checkpoints (docs/ledger.md) */
	OBJ_DRILL,      /* drills/NAME: restore drill results (src/policy) */
	OBJ_TYPE_COUNT
};

struct backend;
struct backend_upload;

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
	/* Optional: stream an object whose name is known only at the end (a
	 * pack, named by its hash). Without them, the generic code holds the
	 * bytes in memory and calls write at commit. */
	int (*upload_begin)(struct backend *be, struct backend_upload *u, struct mm_ctx *c);
	int (*upload_append)(struct backend_upload *u, const void *p, size_t n,
			     struct mm_ctx *c);
	int (*upload_commit)(struct backend_upload *u, const char *name, struct mm_ctx *c);
	void (*upload_abort)(struct backend_upload *u);
	/* Optional: an upload_commit may return before the object is durable
	 * (its writeback started, not awaited); sync waits for every such
	 * object. Called before anything that names them (an index). */
	int (*sync)(struct backend *be, struct mm_ctx *c);
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
 * is a directory on this machine; "mem:" an in-memory store (tests), and
 * "mem:NAME" one shared by every backend open on NAME;
 * "s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]" a bucket of an S3 store.
 */
/* An object being uploaded piece by piece; visible (atomically, durably)
 * only after commit. */
struct backend_upload {
	struct backend *be;
	enum obj_type type;
	uint64_t size; /* bytes appended so far */
	struct buf mem; /* generic: the bytes, for backends that cannot stream */
	int fd;         /* local: the temporary file */
	char *tmp;      /* local: its path */
};
int backend_upload_begin(struct backend *be, enum obj_type t, struct backend_upload **out,
			 struct mm_ctx *c) MM_MUST_CHECK;
int backend_upload_append(struct backend_upload *u, const void *p, size_t n,
			  struct mm_ctx *c) MM_MUST_CHECK;
/* Store the object under name; frees u whatever the outcome. */
int backend_upload_commit(struct backend_upload *u, const char *name,
			  struct mm_ctx *c) MM_MUST_CHECK;
/* Drop an upload: nothing of it stays. NULL is a no-op. */
void backend_upload_abort(struct backend_upload *u);

int backend_open(const char *location, struct backend **out, struct mm_ctx *c) MM_MUST_CHECK;
int backend_local_open(const char *path, struct backend **out, struct mm_ctx *c) MM_MUST_CHECK;
int backend_mem_open(struct backend **out, struct mm_ctx *c) MM_MUST_CHECK;
/* "mem:NAME": every backend opened on one NAME shares its objects while
 * one of them is open (a test opens one first to keep the store). */
int backend_mem_open_named(const char *name, struct backend **out,
			   struct mm_ctx *c) MM_MUST_CHECK;
/* "http[s]://HOST[:PORT]/BUCKET[/PREFIX]" (the location after "s3:");
 * credentials and settings from the environment (docs/offsite.md). */
int backend_s3_open(const char *url, struct backend **out, struct mm_ctx *c) MM_MUST_CHECK;
/* spec: what follows "sftp:" ("[USER@]HOST:PATH" or "//[USER@]HOST[:PORT]/PATH"). */
int backend_sftp_open(const char *spec, struct backend **out, struct mm_ctx *c) MM_MUST_CHECK;

/*
 * Options of remote backends, from the command line's -o KEY=VALUE
 * ("sftp.args=-F /etc/mamori/ssh_config"). Kept for the whole process and
 * read by a backend when it opens; set them before opening anything (not
 * thread-safe against concurrent opens). MM_EINVAL without '=', MM_ELIMIT
 * past BACKEND_OPTIONS_MAX; a key given twice keeps the last value.
 */
#define BACKEND_OPTIONS_MAX 32
int backend_option_set(const char *kv, struct mm_ctx *c) MM_MUST_CHECK;
/* The value, or NULL when not set. */
const char *backend_option_get(const char *key);
void backend_options_clear(void);
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
static inline int backend_sync(struct backend *be, struct mm_ctx *c)
{ return be->ops->sync != NULL ? be->ops->sync(be, c) : 0; }
static inline int backend_list(struct backend *be, enum obj_type t, backend_list_cb cb,
			       void *arg, struct mm_ctx *c)
{ return be->ops->list(be, t, cb, arg, c); }

#endif
