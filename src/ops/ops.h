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

/* ---- diff ------------------------------------------------------------ */
enum diff_kind {
	DIFF_ADDED = 1,    /* only in the second snapshot */
	DIFF_REMOVED,      /* only in the first */
	DIFF_MODIFIED,     /* content differs (file data, symlink target, device number) */
	DIFF_METADATA,     /* same content; only metadata differs */
	DIFF_TYPE,         /* a file became a folder, a link, ... */
};
/* What metadata differs (also set on DIFF_MODIFIED). */
#define DIFF_M_MODE 0x1u   /* permission bits */
#define DIFF_M_OWNER 0x2u  /* uid, gid, user or group name */
#define DIFF_M_MTIME 0x4u  /* modification time */
#define DIFF_M_XATTRS 0x8u /* extended attributes */
struct diff_entry {
	enum diff_kind kind;
	const char *path;     /* "/a/b" within the snapshots */
	const struct node *a; /* in the first snapshot (NULL when added) */
	const struct node *b; /* in the second (NULL when removed) */
	unsigned meta;        /* DIFF_M_* */
};
/* Return non-zero to stop. */
typedef int (*ops_diff_fn)(void *arg, const struct diff_entry *d);
struct diff_stats {
	uint64_t added, removed, modified, metadata, type_changed;
	uint64_t bytes_added;   /* sizes of added files (and of new files in type changes) */
	uint64_t bytes_removed; /* sizes of removed files (and of old files in type changes) */
	uint64_t trees_loaded;  /* trees read: equal subtrees are skipped, not read */
};
/*
 * Compare two snapshots: both trees are walked together in name order and
 * a subtree whose tree ID is the same on both sides is skipped without
 * being read. Entries below an added (removed) folder are reported as
 * added (removed) one by one, parents first.
 */
int ops_diff(struct repo *r, const struct snapshot *a, const struct snapshot *b,
	     ops_diff_fn fn, void *arg, struct diff_stats *st, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- find ------------------------------------------------------------ */
struct find_opts {
	const char *const *patterns; /* fnmatch: on the name, or on the path when it holds '/' */
	size_t npatterns;
	const char *path;   /* only below this path (NULL: everywhere) */
	int64_t oldest_ns;  /* only entries modified at or after (0: no bound) */
	int64_t newest_ns;  /* only entries modified at or before (0: no bound) */
};
typedef int (*ops_find_fn)(void *arg, const char *path, const struct node *n);
/* Matching entries of one snapshot, parents first. MM_ENOPATH when
 * o->path is not in it. */
int ops_find(struct repo *r, const struct snapshot *s, const struct find_opts *o,
	     ops_find_fn fn, void *arg, struct mm_ctx *c) MM_MUST_CHECK;
/* Does this path (and its last component, name) match the pattern? */
int ops_find_match(const char *pattern, const char *path, const uint8_t *name, size_t len);

/* ---- dump ------------------------------------------------------------- */
/* Where dumped bytes go; return 0, or an MM_E* code (with c set) to stop. */
typedef int (*ops_out_fn)(void *arg, const void *p, size_t n, struct mm_ctx *c);
/* The node at path ("/" or an absolute path in the snapshot) into *out
 * (owned by the caller: node_release). MM_ENOPATH if absent. */
int ops_lookup(struct repo *r, const struct snapshot *s, const char *path, struct node *out,
	       struct mm_ctx *c) MM_MUST_CHECK;
/* A file's content, one blob at a time (never the whole file in memory). */
int ops_dump_file(struct repo *r, const struct node *n, ops_out_fn out, void *arg,
		  struct mm_ctx *c) MM_MUST_CHECK;
struct dump_result {
	uint64_t entries, bytes;
	uint64_t skipped; /* sockets: a tar archive cannot hold them (named via warn) */
};
/* The subtree at path as a pax tar stream (libarchive): long names, owners,
 * nanosecond times, xattrs, symlinks, hard links, devices and FIFOs.
 * Member names are snapshot paths without the leading '/'. */
int ops_dump_tar(struct repo *r, const struct snapshot *s, const char *path, ops_out_fn out,
		 void *arg, const struct ops_report *rep, struct dump_result *res,
		 struct mm_ctx *c) MM_MUST_CHECK;

/* ---- stats ------------------------------------------------------------ */
enum stats_mode {
	STATS_RESTORE_SIZE = 0, /* what a restore would write */
	STATS_RAW,              /* the blobs the snapshots reference, as stored */
	STATS_FILES_BY_CONTENTS, /* files counted once per distinct content */
};
struct stats_result {
	uint64_t snapshots;
	/* restore-size (every mode): entries over all the snapshots, a file
	 * in two snapshots counted twice; hard links once per path. */
	uint64_t files, dirs, others;
	uint64_t restore_bytes;   /* sum of the files' sizes */
	/* files-by-contents: distinct contents and their sizes. */
	uint64_t unique_files, unique_bytes;
	/* raw: distinct blobs referenced, the packs holding them, their
	 * stored (compressed, encrypted) and plaintext sizes. */
	uint64_t blobs, data_blobs, tree_blobs, packs;
	uint64_t stored_bytes, uncompressed_bytes;
	uint64_t data_uncompressed_bytes; /* of the data blobs alone */
	uint64_t trees_read; /* distinct trees: a shared subtree is read once */
};
/* Statistics over the snapshots v[0..n). A subtree shared by several
 * snapshots (or folders) is read once. */
int ops_stats(struct repo *r, const struct snapshot *v, size_t n, enum stats_mode m,
	      struct stats_result *res, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- tag ---------------------------------------------------------------- */
struct tag_opts {
	const char *const *add, *const *remove, *const *set;
	size_t nadd, nremove, nset;
	int set_given; /* --set was given (an empty set clears every tag) */
};
/*
 * Rewrite the snapshot with its new tag set: the new object is written
 * durably, then the old one removed; the new one records the first ID of
 * its history in `original`. When the tag set stays the same nothing is
 * written and out is a copy of s (same ID). out gets the new snapshot.
 */
int ops_tag(struct repo *r, const struct snapshot *s, const struct tag_opts *o,
	    struct snapshot *out, struct mm_ctx *c) MM_MUST_CHECK;

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

/* ---- prune ------------------------------------------------------------ */
/*
 * Remove the data no snapshot needs (docs/repository-format.md, Prune).
 * Phase 1, under the caller's maintenance lock (repo_lock(r, 0, "prune")),
 * with backups running: mark every blob the snapshots reach, choose packs
 * to delete (no blob used) and to repack (partly used, most unused first,
 * until the unused bytes left are within the limit), copy the used blobs
 * of those into new packs, and write new index objects covering every
 * pack that stays. Phase 2, under the exclusive lock (waited for up to
 * lock_wait_ns): walk the snapshots that appeared meanwhile and keep (and
 * index) every pack they need, then delete the old index objects, then
 * the packs. Killed at any instant, the repository stays whole.
 */
struct prune_opts {
	int dry_run;
	int max_unused_pct;         /* 0..99, or -1: max_unused_bytes */
	uint64_t max_unused_bytes;
	uint64_t max_repack_bytes;  /* bytes of packs read for repacking; 0: no limit */
	int64_t lock_wait_ns;       /* for the exclusive phase */
	/* Test hook: called at each step ("planned", "repacked", "indexed",
	 * "exclusive", "index-removed", "pack-removed", ...). May be NULL. */
	void (*step)(void *arg, const char *what);
	void *step_arg;
	struct ops_report rep;
};
struct prune_result {
	uint64_t snapshots, new_snapshots;
	uint64_t packs, blobs, blobs_used;
	uint64_t bytes_total, bytes_used, bytes_unused;  /* before */
	uint64_t packs_delete, packs_repack, packs_keep, packs_unindexed, packs_rescued;
	uint64_t bytes_freed;        /* size of the packs removed */
	uint64_t bytes_repacked;     /* used bytes copied into new packs */
	uint64_t bytes_unused_after;
	uint64_t index_removed;      /* old index objects removed */
	double seconds, seconds_exclusive;
};
int ops_prune(struct repo *r, const struct prune_opts *o, struct prune_result *res,
	      struct mm_ctx *c) MM_MUST_CHECK;
/* "5%" or a size ("500M", "2G", "0"; K, M, G, T are powers of 1024). */
int prune_parse_limit(const char *s, int *pct, uint64_t *bytes) MM_MUST_CHECK;
int prune_parse_size(const char *s, uint64_t *bytes) MM_MUST_CHECK;

#endif
