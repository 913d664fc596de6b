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
	unsigned threads;  /* blobs read, checked and sealed at once; 0: one per core */
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
/* ---- forget: the retention policy ------------------------------------- */
/*
 * The policy engine is a pure function over snapshot times and tags (no
 * repository): forget_apply(). Semantics follow restic's where they overlap
 * (docs/cli.md, forget): snapshots are taken newest first; keep-last keeps
 * the N newest; each bucket rule keeps the newest snapshot of each of the
 * last N hours/days/ISO weeks/months/years (local time of tz) that hold one;
 * keep-within keeps every snapshot newer than the newest one minus the
 * duration (calendar years/months/days in local time, then hours); keep-tag
 * keeps snapshots holding every tag of one of its lists. A count of
 * FORGET_UNLIMITED keeps one snapshot per bucket without limit.
 */
#define FORGET_UNLIMITED (-1)
#define FORGET_COUNT_MAX 1000000000
struct forget_duration {
	int years, months, days, hours;
};
struct forget_policy {
	int last, hourly, daily, weekly, monthly, yearly; /* 0: rule unused */
	struct forget_duration within;                    /* all 0: unused */
	char **tags;  /* each "a,b": a snapshot with a and b is kept */
	size_t ntags;
};
#define FORGET_POLICY_INIT { 0, 0, 0, 0, 0, 0, { 0, 0, 0, 0 }, NULL, 0 }
void forget_policy_release(struct forget_policy *p);
/* No rule at all: applying it would remove every snapshot. */
int forget_policy_empty(const struct forget_policy *p);
/* Add a --keep-tag list (copied). */
int forget_policy_add_tag(struct forget_policy *p, const char *tags) MM_MUST_CHECK;
/* "unlimited" or a count 0..FORGET_COUNT_MAX. */
int forget_count_parse(const char *s, int *out) MM_MUST_CHECK;
/* "1y2m3d4h" (any non-empty subset, in this order). */
int forget_duration_parse(const char *s, struct forget_duration *out) MM_MUST_CHECK;
/* Format as "1y2m3d4h" (zero parts omitted; "0h" when all zero). */
void forget_duration_format(const struct forget_duration *d, char *out, size_t n);
/*
 * The configuration form: words separated by white space, each
 * RULE=VALUE with RULE one of last, hourly, daily, weekly, monthly,
 * yearly (a count or "unlimited"), within (a duration) or tag (tags joined
 * by ',', all required; repeatable). E.g. "hourly=24 daily=14 weekly=8
 * monthly=12 yearly=3 within=2d tag=keep". Adds to *p; MM_EINVAL with the
 * offending word in c.
 */
int forget_policy_parse(const char *s, struct forget_policy *p, struct mm_ctx *c) MM_MUST_CHECK;
/* "last=3 daily=7 within=2d tag=a,b" (n >= 256 always suffices without tags). */
void forget_policy_format(const struct forget_policy *p, char *out, size_t n);

/* Why a snapshot is kept (bits of forget_item.reasons). */
enum {
	FORGET_KEEP_LAST = 1u << 0,
	FORGET_KEEP_HOURLY = 1u << 1,
	FORGET_KEEP_DAILY = 1u << 2,
	FORGET_KEEP_WEEKLY = 1u << 3,
	FORGET_KEEP_MONTHLY = 1u << 4,
	FORGET_KEEP_YEARLY = 1u << 5,
	FORGET_KEEP_WITHIN = 1u << 6,
	FORGET_KEEP_TAG = 1u << 7,
	FORGET_KEEP_ALL = 1u << 8, /* no policy was applied (unused rules) */
};
#define FORGET_REASONS 8
/* Name of reason bit i (0..FORGET_REASONS-1): "last", "hourly", ... */
const char *forget_reason_name(unsigned i);

struct forget_item {
	int64_t time_ns;
	const char *const *tags;
	size_t ntags;
	unsigned reasons; /* out: 0 = remove */
};
/*
 * Decide for items[0..n) (one group, any order) which are kept. Buckets are
 * in the time zone tz (a TZ value such as "Asia/Tokyo"; NULL: the
 * process's local time). Two items with the same time are ordered by their
 * position (the later one counts as newer). MM_EINVAL for an empty policy.
 */
int forget_apply(const struct forget_policy *p, const char *tz, struct forget_item *items,
		 size_t n, struct mm_ctx *c) MM_MUST_CHECK;

/* Grouping of snapshots before the policy is applied to each group. */
enum forget_group_by {
	FORGET_GROUP_HOST = 1u << 0,
	FORGET_GROUP_PATHS = 1u << 1,
};
/* "host,paths", "host", "paths", "none" (or "") -> bits. */
int forget_group_parse(const char *s, unsigned *out) MM_MUST_CHECK;

struct forget_opts {
	struct forget_policy policy;
	int keep_none;         /* allow an empty policy: forget every selected snapshot */
	unsigned group_by;     /* FORGET_GROUP_* bits */
	const char *const *hosts; /* only snapshots of these hosts (none: all) */
	size_t nhosts;
	const char *const *paths; /* only snapshots holding all these paths */
	size_t npaths;
	int dry_run;
	const char *tz;        /* NULL: local time */
};
struct forget_group {
	const char *host;            /* NULL when not grouped by host */
	const char *const *paths;    /* NULL when not grouped by paths */
	size_t npaths;
	size_t *members;             /* indices into snaps, newest first */
	size_t n;
};
struct forget_result {
	struct snapshot *snaps; /* every snapshot of the repository, oldest first */
	size_t nsnaps;
	unsigned *reasons;      /* per snapshot: 0 remove (when selected) */
	struct forget_group *groups;
	size_t ngroups;
	size_t kept, removed;   /* among the selected snapshots */
};
void forget_result_release(struct forget_result *res);
/*
 * Apply the policy to the snapshots selected by hosts/paths, grouped, and
 * remove those it does not keep (unless dry_run). The caller holds a lock.
 * On an error part way, res tells what was decided; removed counts only
 * what is gone.
 */
int ops_forget(struct repo *r, const struct forget_opts *o, struct forget_result *res,
	       struct mm_ctx *c) MM_MUST_CHECK;

#endif
