/*
 * ops: what users run against a repository. Each operation takes an open
 * repository, does the work, and reports through callbacks; nothing here
 * prints. The CLI turns results into text or JSON.
 */
#ifndef MAMORI_OPS_H
#define MAMORI_OPS_H

#include <stdint.h>

#include "repo/repo.h"
#include "util/util.h"

/* Where non-fatal problems go ("cannot read /srv/x: Permission denied"). */
typedef void (*ops_warn_fn)(void *arg, const char *msg);

struct ops_progress {
	uint64_t files_done, files_total; /* total 0 when unknown */
	uint64_t bytes_done, bytes_total;
	uint64_t errors;
	double elapsed; /* seconds */
	const char *current; /* path being worked on, may be NULL */
};
typedef void (*ops_progress_fn)(void *arg, const struct ops_progress *p);

struct ops_report {
	ops_warn_fn warn;
	ops_progress_fn progress;
	void *arg;
};

/* ---- backup ------------------------------------------------------------ */
struct backup_opts {
	const char *const *paths;
	size_t npaths;
	const char *const *tags;
	size_t ntags;
	const char *const *excludes; /* fnmatch patterns; see docs/cli.md */
	size_t nexcludes;
	int one_file_system;
	const char *host;   /* NULL: this host's name */
	unsigned threads;   /* 0: one per core */
	int64_t time_ns;    /* 0: now */
	struct ops_report rep;
};
/*
 * Back up the paths and write a snapshot. Returns 0 when a snapshot was
 * written (out->sum.errors counts entries that could not be read), or an
 * error with nothing referenced written. A path that does not exist is an
 * error before anything is written.
 */
int ops_backup(struct repo *r, const struct backup_opts *o, struct snapshot *out,
	       struct mm_ctx *c) MM_MUST_CHECK;

/* Absolute, lexically cleaned path (no symlinks resolved). New allocation. */
int ops_abspath(const char *path, char **out) MM_MUST_CHECK;

/* ---- restore --------------------------------------------------------- */
struct restore_opts {
	const char *target;            /* created if missing */
	const char *const *includes;   /* snapshot paths to restore; none = all */
	size_t nincludes;
	unsigned threads;
	struct ops_report rep;
};
struct restore_result {
	uint64_t files, dirs, others, bytes;
	uint64_t errors; /* entries that could not be restored (named via warn) */
	double seconds;
};
/* Restore a snapshot's tree under target. Nothing is ever written outside
 * target: names are checked and no symlink is followed while restoring. */
int ops_restore(struct repo *r, const struct snapshot *s, const struct restore_opts *o,
		struct restore_result *res, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- ls / walk -------------------------------------------------------- */
/* Called for every node, parents before children; path is "/a/b" within
 * the snapshot. Return non-zero to stop. */
typedef int (*ops_walk_fn)(void *arg, const char *path, const struct node *n);
/* Walk the snapshot tree from `start` (NULL or "/": the whole tree). */
int ops_walk(struct repo *r, const struct snapshot *s, const char *start, ops_walk_fn fn,
	     void *arg, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- check ------------------------------------------------------------ */
struct check_opts {
	int read_data;
	struct ops_report rep; /* every problem found is reported via warn */
};
struct check_result {
	uint64_t snapshots, trees, blobs, packs, packs_read, bytes_read;
	uint64_t unindexed_packs; /* from interrupted backups: not an error */
	uint64_t errors;          /* problems found; 0 means the repository is sound */
};
/* Returns 0 when the check ran (errors are in res), or an error that
 * prevented it from running. */
int ops_check(struct repo *r, const struct check_opts *o, struct check_result *res,
	      struct mm_ctx *c) MM_MUST_CHECK;

/* ---- copy --------------------------------------------------------------- */
struct copy_opts {
	const char *const *snapshots; /* "latest" or ID prefixes in src; none = all */
	size_t nsnapshots;
	struct ops_report rep;
};
struct copy_result {
	uint64_t snapshots_copied, snapshots_skipped; /* skipped: already in dst */
	uint64_t blobs_sent, trees_sent;  /* blobs (data and tree) written into dst */
	uint64_t blobs_skipped;           /* blobs dst had already */
	uint64_t bytes_sent;              /* their plaintext bytes */
	uint64_t bytes_stored;            /* what they take in dst's packs */
	double seconds;
	/* Per snapshot copied, in order: its ID in src and in dst. */
	struct mm_id *from, *to;
	size_t n;
};
void copy_result_release(struct copy_result *res);
/*
 * Copy snapshots from src to dst (both open, their indexes loaded). A
 * snapshot with the same tree, time, host and paths as one in dst is
 * skipped; blobs dst has are not sent again; a trees dst has is not
 * walked (an indexed tree's blobs are all indexed). Each copy keeps time,
 * host, user, paths, tags and excludes, and records its origin (src's ID
 * and the snapshot's ID there). dst must share src's chunker parameters
 * and ID key (init --copy-chunker-params-from), else MM_EKEYSDIFFER
 * before anything is written. Each snapshot is written after its packs
 * and index, so an interrupted copy leaves dst valid.
 */
int ops_copy(struct repo *src, struct repo *dst, const struct copy_opts *o,
	     struct copy_result *res, struct mm_ctx *c) MM_MUST_CHECK;

#endif
