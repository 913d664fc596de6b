/* The command line: parsing and printing only; the library does the work. */
#ifndef MAMORI_CLI_H
#define MAMORI_CLI_H

#include <stdio.h>

#include "conf/conf.h"
#include "ops/ops.h"
#include "repo/repo.h"
#include "util/util.h"

/* Exit codes (docs/cli.md). */
enum {
	EXIT_OK = 0,
	EXIT_FATAL = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3,   /* finished, but some files could not be read/restored */
	EXIT_NOREPO = 10,
	EXIT_LOCKED = 11,
	EXIT_PASSWORD = 12,
	EXIT_NOPOLICY = 13, /* forget: the policy keeps nothing (see --keep-none) */
	EXIT_STALELOCK = 14, /* locked only by stale locks: run 'mamori unlock' */
	EXIT_NOSNAPSHOT = 18, /* no snapshot matches the ID or prefix */
	EXIT_AMBIGUOUS = 19,  /* an ID prefix matches several snapshots or keys */
	EXIT_NOPATH = 20,     /* the path is not in the snapshot */
	EXIT_VERSION = 21,    /* a key file or object of a format version this build does not read */
	EXIT_ACCESS = 22,     /* the repository's files are not accessible to this user */
	/* S3 repositories: 23-27 (the network codes they share with SFTP are 28-31). */
	EXIT_SIGNATURE = 23,   /* signature rejected: wrong secret key */
	EXIT_SKEW = 24,        /* the local clock is too far from the store's */
	EXIT_NOBUCKET = 25,    /* the bucket does not exist */
	EXIT_TLS = 26,         /* TLS handshake or certificate failure */
	EXIT_REMOTE_FULL = 27, /* the store is full or over its quota */
	/* Remote repositories (SFTP) and copy: 28-32. */
	EXIT_UNREACHABLE = 28, /* name not resolved, connection refused or timed out */
	EXIT_CONNLOST = 29,    /* the connection dropped in the middle */
	EXIT_REMOTE_AUTH = 30, /* login refused, or host key unknown or changed */
	EXIT_REMOTE = 31,      /* the far side failed (disk full, protocol, no subsystem) */
	EXIT_COPY_KEYS = 32,   /* copy: the repositories do not share chunking and IDs */
	/* the ledger */
	EXIT_TORN = 33,     /* log verify: the ledger ends in a torn record (a crash) */
	EXIT_LEDGER = 34,   /* the command succeeded, its ledger record or checkpoint failed */
	/* continuity policy (docs/cli.md) */
	EXIT_CONFIG = 43,       /* the configuration file is wrong */
	EXIT_RUN_FAILED = 44,   /* run: a step failed for a dataset */
	EXIT_RTO_MISSED = 45,   /* drill: an RTO would be missed */
	EXIT_DRILL_FAILED = 46, /* drill: a restore or its verification failed */
	EXIT_COMMAND = 47,      /* a command mamori ran failed (backup --stdin-from-command) */
	EXIT_MONITOR_LISTEN = 48, /* monitor metrics --listen: cannot listen on the address */
	EXIT_NO_AGENT = 49,       /* monitor run: mamori-agent is not installed beside mamori */
	/* status and drill --nagios: monitoring-plugin codes 0 OK, 1 WARNING,
	 * 2 CRITICAL, 3 UNKNOWN */
};
/* log verify exits EXIT_USAGE (2) when the ledger was tampered with. */
#define EXIT_TAMPERED 2

#define CLI_RESULT_MAX 256

struct cli {
	const char *prog;
	const char *repo;          /* -r / MAMORI_REPOSITORY */
	const char *password_file; /* --password-file / MAMORI_PASSWORD_FILE */
	int json;
	int quiet;
	int verbose;
	int progress;              /* stderr is a terminal and not quiet/json */
	char *password;            /* wiped and freed by cli_release */
	int64_t lock_wait_ns;      /* --lock-wait: how long to wait for a lock */
	const char *state_dir;     /* --state-dir / MAMORI_STATE_DIR / /var/lib/mamori */
	/* A command's short outcome for the ledger (a snapshot ID, cli_fail's
	 * message): CLI_RESULT_MAX bytes owned by main. */
	char *result;
};

/* Print "mamori: <msg>" for an error code and return the exit code. */
int cli_fail(const struct cli *cl, int code, const struct mm_ctx *c);
int cli_usage(const struct cli *cl, const char *cmd, const char *fmt, ...) MM_PRINTF(3, 4);
/* Get the password (env, file, terminal); confirm asks twice. */
int cli_password(struct cli *cl, int confirm, struct mm_ctx *c);
/* The password of a new key: the file named by --new-password-file (file,
 * may be NULL) or MAMORI_NEW_PASSWORD_FILE, else asked twice on the
 * terminal. Never from argv. The caller wipes and frees *out. */
int cli_new_password(struct cli *cl, const char *file, char **out, struct mm_ctx *c);
/* Open the repository named by -r with the password, lock it, load the index. */
int cli_open(struct cli *cl, int lock, int exclusive, const char *command, struct repo **out);
/* The same for another repository with its own password. */
int cli_open_at(struct cli *cl, const char *location, const char *password, int lock,
		int exclusive, const char *command, struct repo **out);
/* The password of another repository (copy's target, init's source): from
 * file, else the file the environment variable env_file names, else a
 * prompt naming the location. Free with cli_password_free. */
int cli_password_other(const char *file, const char *env_file, const char *location, char **out,
		       struct mm_ctx *c);
void cli_password_free(char *pw);
void cli_warn(void *arg, const char *msg);
void cli_progress(void *arg, const struct ops_progress *p);
void cli_progress_done(const struct cli *cl);

/* A growing list of argument strings (not owned): repeatable options. */
struct cli_strv {
	const char **v;
	size_t n;
};
int cli_strv_add(struct cli_strv *s, const char *x) MM_MUST_CHECK;

/* Text with control characters, backslashes and bytes that are not
 * well-formed UTF-8 shown as \xNN. */
void cli_print_name(FILE *f, const uint8_t *p, size_t n);
void cli_json_snapshot(struct json *j, const struct snapshot *s);
void cli_json_node(struct json *j, const char *path, const struct node *n);
void cli_short_id(const struct mm_id *id, char out[9]);
/* "file", "dir", "symlink", ... */
const char *cli_type_name(uint8_t t);
/* cli_print_name, then spaces up to width printed characters. */
void cli_print_padded(FILE *f, const char *s, int width);

int cmd_init(struct cli *cl, int argc, char **argv);
int cmd_backup(struct cli *cl, int argc, char **argv);
int cmd_snapshots(struct cli *cl, int argc, char **argv);
int cmd_ls(struct cli *cl, int argc, char **argv);
int cmd_restore(struct cli *cl, int argc, char **argv);
int cmd_check(struct cli *cl, int argc, char **argv);
int cmd_cat(struct cli *cl, int argc, char **argv);
/* the continuity policy (cmd_policy.c) */
struct conf_schema;
int cmd_run(struct cli *cl, int argc, char **argv);
int cmd_status(struct cli *cl, int argc, char **argv);
int cmd_drill(struct cli *cl, int argc, char **argv);
int cmd_plan(struct cli *cl, int argc, char **argv);
int cmd_systemd(struct cli *cl, int argc, char **argv);
int cmd_forget(struct cli *cl, int argc, char **argv);
int cmd_key(struct cli *cl, int argc, char **argv);
int cmd_diff(struct cli *cl, int argc, char **argv);
int cmd_find(struct cli *cl, int argc, char **argv);
int cmd_dump(struct cli *cl, int argc, char **argv);
int cmd_stats(struct cli *cl, int argc, char **argv);
int cmd_tag(struct cli *cl, int argc, char **argv);
int cmd_unlock(struct cli *cl, int argc, char **argv);
int cmd_prune(struct cli *cl, int argc, char **argv);
/* prune's options, shared by forget --prune. */
void cli_prune_args_init(struct prune_opts *o);
int cli_prune_arg(struct cli *cl, const char *cmd, int which, const char *arg,
		  struct prune_opts *o);
int cli_run_prune(struct cli *cl, struct prune_opts *o);
/* "90", "30s", "5m", "1h30m", "2d": seconds, minutes, hours, days. */
int cli_parse_wait(const char *s, int64_t *ns);
int cmd_time(struct cli *cl, int argc, char **argv);
int cmd_copy(struct cli *cl, int argc, char **argv);
int cmd_log(struct cli *cl, int argc, char **argv);
int cmd_incident(struct cli *cl, int argc, char **argv);
int cmd_report(struct cli *cl, int argc, char **argv);

/* The ledger (cmd_log.c). */
struct ledger;
void cli_set_result(const struct cli *cl, const char *fmt, ...) MM_PRINTF(2, 3);
int cli_ledger_open(const struct cli *cl, int create, struct ledger **out);
/* The one hook main calls after every command: records it in the ledger
 * (unless the command is one that only reads metadata) and makes a
 * checkpoint after a backup. Returns the exit code to use. */
int cli_ledger_after(struct cli *cl, int argc, char **argv, int rc);
/* A backup made by another command (run): its record and a checkpoint into
 * repo. Warns and returns EXIT_LEDGER when the ledger fails, else 0. */
int cli_ledger_backup(struct cli *cl, const char *repo, const char *dataset,
		      const char *snapshot);
/* The report's datasets from the configuration (MAMORI_CONFIG, default
 * /etc/mamori/mamori.conf) when there is one; nothing when there is none. */
struct report;
int cli_policy_report(struct cli *cl, struct report *rep);
/* The RTO of a dataset of mamori.conf (arg: the struct cli), for the
 * incidents it affects; MM_ENOENT when none is configured. */
int cli_dataset_rto(const char *dataset, int64_t *rto_ns, void *arg);
/* The report's monitoring section: one look at every check (cmd_monitor.c). */
int cli_monitor_report(struct cli *cl, struct report *rep);

/* Register every module's sections of mamori.conf (cli_conf.c), so every
 * command that reads the file accepts all of it. */
int cli_conf_schema(struct conf_schema *s) MM_MUST_CHECK;
int cmd_monitor(struct cli *cl, int argc, char **argv);
/* The monitor's backups and time probes read the policy's status and the
 * time-sync diagnosis through these hooks (monitor_hooks.c). */
struct policy;
struct mon_env;
struct mon_policy_hooks {
	const char *config;    /* mamori.conf, loaded on the first backups check */
	const char *root;      /* MAMORI_MONITOR_ROOT or NULL */
	const char *state_dir; /* the policy's state: --state-dir / MAMORI_STATE_DIR */
	struct mm_clock clock;
	const char *password;  /* fallback for repositories without their own */
	struct policy *p;
};
void mon_policy_hooks_init(struct mon_policy_hooks *h, const char *config, const char *root,
			   const char *state_dir, const struct mm_clock *clock,
			   const char *password);
void mon_policy_hooks_set(struct mon_policy_hooks *h, struct mon_env *env);
void mon_policy_hooks_release(struct mon_policy_hooks *h);

#endif
