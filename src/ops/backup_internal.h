/* State shared by the files of the backup operation; not part of the API. */
#ifndef MAMORI_BACKUP_INTERNAL_H
#define MAMORI_BACKUP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "ops/ops.h"

struct id_name_cache {
	int valid;
	uint32_t id;
	char name[256];
};

/* A folder whose tree is being built: the walk, each queued chunk of its
 * files and each unfinished subfolder hold a reference. */
struct pdir {
	struct tree t;
	struct pdir *up; /* NULL: a top folder, saved by its caller */
	size_t slot;     /* this folder's node in up->t */
	atomic_size_t pending;
};

/* Folders this deep keep their descriptor open for the *at calls; deeper
 * ones are walked by path. */
#define BK_FD_DEPTH 128
/* Bytes read from a file at a time. */
#define BK_READ_BLOCK (1024u * 1024)

struct bk {
	struct repo *r;
	const struct backup_opts *o;
	struct pool *pool;
	uint8_t *win;  /* read window, larger than the chunker's maximum */
	size_t win_cap;
	dev_t top_dev; /* --one-file-system: the device of the path being saved */
	struct snap_summary sum;
	atomic_uint_fast64_t blobs_added;
	atomic_int failed;
	pthread_mutex_t mu; /* guards err, errctx, inflight */
	pthread_cond_t drained;    /* inflight went down */
	size_t inflight;           /* bytes of chunks handed to workers, not yet done */
	size_t inflight_max;
	pthread_mutex_t tree_mu; /* guards the node arrays of pending folders */
	int err;
	struct mm_ctx errctx;
	double t0, last_progress;
	struct id_name_cache uid_cache, gid_cache;
	struct chunk_job *batch; /* small chunks waiting to be handed over */
	unsigned depth;          /* of the folder being walked */
};

/* Record the first error and stop: nothing more is saved. */
void bk_fail(struct bk *b, int e, const struct mm_ctx *c);
/* Hand the open batch of small chunks to the pool, or run it here. */
int bk_flush_batch(struct bk *b, int run_here, struct mm_ctx *c);

/* A top folder (above or at the backed-up paths): its tree is built by the
 * calls below and saved by bk_top_finish, which waits for every piece,
 * writes the tree into *id (none if id is NULL or on error) and frees top. */
struct pdir *bk_top_new(void);
struct tree *bk_top_tree(struct pdir *top);
int bk_top_finish(struct bk *b, struct pdir *top, struct mm_id *id, struct mm_ctx *c);
/* Save the entry dir/name (lstat, walk, read) into pd's tree; dfd is dir
 * open (-1: work by path); ptree is the parent snapshot's tree for dir
 * (may be empty). */
int bk_save_entry(struct bk *b, struct pdir *pd, int dfd, const char *dir, const char *name,
		  const struct tree *ptree, struct mm_ctx *c);
/* Walk the folder at path (node n; `name` in the folder open as pdfd, or
 * -1 to open it by path) into pd's tree; parent is its node in the parent
 * snapshot (NULL if none). */
int bk_walk_dir(struct bk *b, struct pdir *pd, struct node *n, int pdfd, const char *name,
		const char *path, const struct node *parent, struct mm_ctx *c);
/* Fill n with the metadata of a directory above the backed-up paths. */
int bk_save_virtual_dir(struct bk *b, struct node *n, const char *path, struct mm_ctx *c);
void bk_note_progress(struct bk *b, const char *path);

#endif
