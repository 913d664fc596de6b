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

/*
 * Back up the standard output of a command as the one file /FILENAME of a
 * new snapshot (o->paths unused; tags, host, time_ns, rep as for
 * ops_backup). argv runs through posix_spawnp, never a shell, with its
 * standard input from /dev/null. The snapshot is written only when the
 * command exited with status 0; a non-zero status or a signal is
 * MM_ECHILD ("pg_dump exited with status 1") and nothing referenced is
 * written. FILENAME: 1..255 bytes, no '/', not "." or "..".
 */
int ops_backup_command(struct repo *r, const struct backup_opts *o, char *const argv[],
		       const char *filename, struct snapshot *out, struct mm_ctx *c) MM_MUST_CHECK;
/* The same from a descriptor already open (read to its end). */
int ops_backup_fd(struct repo *r, const struct backup_opts *o, int fd, const char *filename,
		  struct snapshot *out, struct mm_ctx *c) MM_MUST_CHECK;

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
	/* With read_data: 0 or 100 reads every pack; between, only about that
	 * share of the packs, chosen by their name mixed with read_salt (a new
	 * salt each time covers other packs). */
	double read_percent;
	uint64_t read_salt;
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

#endif
