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
/* Windows larger than this (grown for a large file) go back to the run's
 * spares after the file, at most BK_SPARE_WINDOWS of them kept: memory for
 * large files is bounded by how many are read at once, not by walkers. */
#define BK_KEEP_WINDOW (2u * 1024 * 1024)
#define BK_SPARE_WINDOWS 2

/* What every walker of one backup run shares. */
struct bk {
	struct repo *r;
	const struct backup_opts *o;
	struct pool *pool;
	dev_t top_dev; /* --one-file-system: the device of the path being saved */
	atomic_uint_fast64_t blobs_added;
	atomic_int failed;
	atomic_uint walkers;   /* folder walks queued or running as pool jobs */
	unsigned walkers_max;
	pthread_mutex_t mu;    /* guards err, errctx, inflight, sum, spare, progress */
	size_t inflight;       /* bytes of chunks handed to workers, not yet done */
	size_t inflight_max;
	pthread_mutex_t tree_mu; /* guards the node arrays of pending folders */
	int err;
	struct mm_ctx errctx;
	double t0, last_progress;
	struct snap_summary sum; /* of the walkers that have finished */
	struct {
		uint8_t *p;
		size_t cap;
	} spare[BK_SPARE_WINDOWS];
	size_t nspare;
};

/* One thread's walk of a part of the tree: its read window (grown to the
 * largest file it met, at most the chunker's maximum plus one read), its
 * counts, its batch of small chunks. */
struct bkw {
	struct bk *b;
	uint8_t *win;
	size_t win_cap;
	struct snap_summary sum;
	struct id_name_cache uid_cache, gid_cache;
	struct chunk_job *batch;
	unsigned depth; /* of the folder being walked */
};

/* Record the first error and stop: nothing more is saved. */
void bk_fail(struct bk *b, int e, const struct mm_ctx *c);
/* A walker starts empty; bk_walker_end flushes its batch, adds its counts
 * to b->sum and keeps its window for the next walker. */
void bk_walker_start(struct bkw *w, struct bk *b);
void bk_walker_end(struct bkw *w);
/* Free what the run kept (spare windows). */
void bk_release(struct bk *b);

/* A top folder (above or at the backed-up paths): its tree is built by the
 * calls below and saved by bk_top_finish, which waits for every piece,
 * writes the tree into *id (none if id is NULL or on error) and frees top. */
struct pdir *bk_top_new(void);
struct tree *bk_top_tree(struct pdir *top);
int bk_top_finish(struct bkw *w, struct pdir *top, struct mm_id *id, struct mm_ctx *c);
/* Save the entry dir/name (lstat, walk, read) into pd's tree; dfd is dir
 * open (-1: work by path); ptree is the parent snapshot's tree for dir
 * (may be empty). */
int bk_save_entry(struct bkw *w, struct pdir *pd, int dfd, const char *dir, const char *name,
		  const struct tree *ptree, struct mm_ctx *c);
/* Walk the folder at path (node n; `name` in the folder open as pdfd, or
 * -1 to open it by path) into pd's tree; parent is its node in the parent
 * snapshot (NULL if none). */
int bk_walk_dir(struct bkw *w, struct pdir *pd, struct node *n, int pdfd, const char *name,
		const char *path, const struct node *parent, struct mm_ctx *c);
/* Fill n with the metadata of a directory above the backed-up paths. */
int bk_save_virtual_dir(struct bkw *w, struct node *n, const char *path, struct mm_ctx *c);
void bk_note_progress(struct bkw *w, const char *path);

#endif
