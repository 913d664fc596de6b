/*
 * policy: the continuity policy of docs/config.md. Datasets with a
 * priority, an RPO and an RTO, their schedules, what is due, the runs that
 * do it, status against the objectives, restore drills that prove the RTO,
 * the recovery runbook and systemd units. Nothing here prints: results come
 * back in structs, text in buffers.
 */
#ifndef MAMORI_POLICY_H
#define MAMORI_POLICY_H

#include <stdint.h>

#include "conf/conf.h"
#include "ops/ops.h"
#include "repo/repo.h"
#include "util/util.h"

#define POLICY_CONFIG_DEFAULT "/etc/mamori/mamori.conf"
#define POLICY_STATE_DEFAULT "/var/lib/mamori"
/* Snapshots of a dataset carry this tag followed by the dataset's name. */
#define POLICY_TAG_PREFIX "dataset="

/* ---- the configuration ------------------------------------------------- */
struct policy_repo {
	const char *name, *url;
	const char *password_file;  /* NULL: none */
	char *const *password_command; /* NULL: none */
	unsigned threads;           /* options threads=N; 0: one per core */
	char *const *options;       /* all of options (NULL: none); sftp.* go to the backend */
	unsigned line;
};

struct policy_dataset {
	const char *name;
	unsigned line;
	const char *const *paths;
	size_t npaths;
	const char *const *excludes;
	size_t nexcludes;
	char *const *command;       /* NULL: a dataset of paths */
	const char *filename;       /* the command's output in the snapshot */
	char *const *pre, *const *post;
	const struct policy_repo *repo, *copy_to;
	int64_t priority;           /* 1 is restored first */
	int64_t rpo, rto;           /* seconds; rto 0: none */
	int has_schedule;
	struct conf_calendar schedule;
	const char *keep;           /* retention as written, NULL: none */
	int has_check;
	struct conf_calendar check_when;
	double check_percent;       /* share of packs read; 0: structure only */
};

struct policy {
	struct conf cf;
	struct policy_repo *repos;
	size_t nrepos;
	struct policy_dataset *ds;  /* by priority, then name */
	size_t nds;
	const char *state_dir;      /* the caller's string */
	struct mm_clock clock;
};

/* Register the [repository NAME] and [dataset NAME] sections. */
int policy_register(struct conf_schema *s) MM_MUST_CHECK;
/* Load and check the file (every cross reference too). MM_ECONFIG with
 * "FILE:LINE: ..." on any mistake. */
int policy_load(const struct conf_schema *s, const char *path, struct policy *out,
		struct mm_ctx *c) MM_MUST_CHECK;
void policy_release(struct policy *p);
/* The dataset called name, or NULL. */
const struct policy_dataset *policy_find(const struct policy *p, const char *name);
/* Select datasets by name (none: all), in priority order, into out[]
 * (room for p->nds). MM_ENOENT naming an unknown one. */
int policy_select(const struct policy *p, char *const *names, size_t nnames,
		  const struct policy_dataset **out, size_t *n, struct mm_ctx *c) MM_MUST_CHECK;

/* "2026-12-01T10:00:00Z" or "@SECONDS" into ns (MAMORI_NOW, tests only). */
int policy_parse_time(const char *s, int64_t *ns) MM_MUST_CHECK;

/* A repository's password: password-file, else password-command (its
 * first line of output), else fallback (may be NULL: then MM_EINVAL).
 * *out is a new allocation the caller wipes and frees. */
int policy_password(const struct policy_repo *pr, const char *fallback, char **out,
		    struct mm_ctx *c) MM_MUST_CHECK;
/* Open (and lock shared when lock) a dataset's repository, index loaded. */
int policy_open_repo(const struct policy_repo *pr, const char *fallback_password, int lock,
		     const char *command, struct repo **out, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- state kept between runs (STATE_DIR/NAME.state) -------------------- */
struct policy_state {
	int64_t backup_ns;        /* last backup attempt that finished */
	int backup_ok;
	char backup_snapshot[65];
	int64_t check_ns;         /* last check */
	int check_ok;
	int64_t copy_ns;          /* last offsite copy */
	int copy_ok;
	int64_t forget_ns;
	int forget_ok;
	int prune_pending;        /* snapshots were removed, their data not yet freed */
	char error[1300];         /* the last failure, "" if none */
};
int policy_state_read(const struct policy *p, const char *name, struct policy_state *st,
		      struct mm_ctx *c) MM_MUST_CHECK; /* absent file: all zero, 0 */
int policy_state_write(const struct policy *p, const char *name, const struct policy_state *st,
		       struct mm_ctx *c) MM_MUST_CHECK;
/* flock STATE_DIR/NAME.lock without waiting: MM_EBUSY when held. *fd to
 * close when done. */
int policy_lock(const struct policy *p, const char *name, int *fd, struct mm_ctx *c) MM_MUST_CHECK;

/* The newest snapshot of a dataset in an open repository: 1 found, 0 none. */
int policy_last_snapshot(struct repo *r, const struct policy_dataset *d, struct snapshot *out,
			 struct mm_ctx *c) MM_MUST_CHECK;

/* ---- drills (drills/NAME objects in the repository) ---------------------- */
struct drill_record {
	char *dataset, *host;
	int64_t time_ns;
	char snapshot[65];
	uint64_t files, bytes;        /* restored and verified */
	uint64_t bytes_total;         /* of the snapshot */
	double seconds;               /* restore + verify */
	double projected;             /* seconds for the whole dataset */
	double cumulative;            /* of the plan up to this dataset */
	int64_t rto;                  /* seconds, 0: none */
	double sample;                /* percent restored */
	int ok;                       /* restored and verified without error */
	char *error;                  /* "" when ok */
};
void drill_record_release(struct drill_record *d);
#define DRILL_RECORD_MAX (64u * 1024)
int drill_record_encode(const struct drill_record *d, struct buf *out) MM_MUST_CHECK;
int drill_record_decode(const uint8_t *p, size_t n, struct drill_record *d,
			struct mm_ctx *c) MM_MUST_CHECK;
/* The newest drill of dataset in the repository: 1 found, 0 none. */
int policy_last_drill(struct repo *r, const char *dataset, struct drill_record *out,
		      struct mm_ctx *c) MM_MUST_CHECK;

struct drill_opts {
	const char *target;           /* scratch folder; NULL: a new one in TMPDIR, removed */
	double sample;                /* percent of files (by bytes, roughly); 0 or 100: all */
	const char *password;         /* fallback password */
	int offsite;                  /* from each dataset's copy-to repository */
	struct ops_report rep;
};
/* Drill the datasets ds[0..n) in that order (priority order); results in
 * out[] (room for n), each also stored in its repository. Returns 0 when
 * every drill ran (failures are in out[i].ok/error), or an error that
 * stopped them. */
int policy_drill(const struct policy *p, const struct policy_dataset *const *ds, size_t n,
		 const struct drill_opts *o, struct drill_record *out, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- status -------------------------------------------------------------- */
enum policy_verdict { VERDICT_OK = 0, VERDICT_WARNING = 1, VERDICT_CRITICAL = 2, VERDICT_UNKNOWN = 3 };
const char *policy_verdict_name(enum policy_verdict v);
/* Over this share of an objective is a WARNING. */
#define POLICY_WARN_SHARE 0.8

struct dataset_status {
	const struct policy_dataset *d;
	enum policy_verdict verdict;
	char reason[1300];            /* the worst finding, for one-line output */
	int have_snapshot;
	char snapshot[65];
	int64_t snapshot_ns;
	int64_t age;                  /* seconds since the last snapshot */
	enum policy_verdict backup_verdict;
	int copy_available;           /* this build can copy offsite */
	int have_offsite;             /* a snapshot of the dataset in copy-to */
	int64_t offsite_ns, offsite_age;
	enum policy_verdict offsite_verdict;
	char offsite_error[1100];     /* copy-to could not be read */
	struct policy_state st;
	enum policy_verdict check_verdict;
	int have_drill;
	struct drill_record drill;
	enum policy_verdict drill_verdict;
	char error[1100];             /* the repository could not be read */
};
void dataset_status_release(struct dataset_status *s);
/* The status of ds[0..n) at the policy's clock; out[] has room for n. */
int policy_status(const struct policy *p, const struct policy_dataset *const *ds, size_t n,
		  const char *password, struct dataset_status *out, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- run ------------------------------------------------------------------ */
enum step_result {
	STEP_NOT_DUE = 0, STEP_DONE, STEP_FAILED, STEP_UNAVAILABLE, STEP_SKIPPED,
};
const char *policy_step_result_name(enum step_result r);
enum { STEP_BACKUP, STEP_FORGET, STEP_COPY, STEP_CHECK, STEP_COUNT };
const char *policy_step_name(unsigned step);
struct run_result {
	const struct policy_dataset *d;
	int busy;                     /* another run holds the dataset */
	enum step_result step[STEP_COUNT];
	char detail[STEP_COUNT][1300]; /* what happened, or why not */
	char snapshot[65];            /* of a backup done */
};
struct run_opts {
	const char *password;         /* fallback password */
	int force;                    /* every step now, due or not */
	struct ops_report rep;
};
/* Is a backup of d due at now, given its last snapshot time (0: none)? */
int policy_backup_due(const struct policy_dataset *d, int64_t last_ns, int64_t now_ns);
/* Run what is due for ds[0..n) in that order; out[] has room for n. */
int policy_run(const struct policy *p, const struct policy_dataset *const *ds, size_t n,
	       const struct run_opts *o, struct run_result *out, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- plan and units -------------------------------------------------------- */
/* The recovery runbook as Markdown or JSON text. */
int policy_plan(const struct policy *p, const char *password, const char *config_path,
		int json, struct buf *out, struct mm_ctx *c) MM_MUST_CHECK;
struct unit_file {
	char name[128];
	struct buf text;
};
/* mamori-NAME.service and mamori-NAME.timer for every dataset with a
 * schedule; exe is the mamori binary, config the file's path. */
int policy_units(const struct policy *p, const char *exe, const char *config_path,
		 struct unit_file **out, size_t *n, struct mm_ctx *c) MM_MUST_CHECK;
void policy_units_free(struct unit_file *u, size_t n);

#endif
