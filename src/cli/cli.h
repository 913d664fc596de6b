/* The command line: parsing and printing only; the library does the work. */
#ifndef MAMORI_CLI_H
#define MAMORI_CLI_H

#include <stdio.h>

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
	/* continuity policy (docs/cli.md) */
	EXIT_CONFIG = 43,       /* the configuration file is wrong */
	EXIT_RUN_FAILED = 44,   /* run: a step failed for a dataset */
	EXIT_RTO_MISSED = 45,   /* drill: an RTO would be missed */
	EXIT_DRILL_FAILED = 46, /* drill: a restore or its verification failed */
	EXIT_COMMAND = 47,      /* a command mamori ran failed (backup --stdin-from-command) */
	/* status and drill --nagios: monitoring-plugin codes 0 OK, 1 WARNING,
	 * 2 CRITICAL, 3 UNKNOWN */
};

struct cli {
	const char *prog;
	const char *repo;          /* -r / MAMORI_REPOSITORY */
	const char *password_file; /* --password-file / MAMORI_PASSWORD_FILE */
	int json;
	int quiet;
	int verbose;
	int progress;              /* stderr is a terminal and not quiet/json */
	char *password;            /* wiped and freed by cli_release */
};

/* Print "mamori: <msg>" for an error code and return the exit code. */
int cli_fail(const struct cli *cl, int code, const struct mm_ctx *c);
int cli_usage(const struct cli *cl, const char *cmd, const char *fmt, ...) MM_PRINTF(3, 4);
/* Get the password (env, file, terminal); confirm asks twice. */
int cli_password(struct cli *cl, int confirm, struct mm_ctx *c);
/* Open the repository named by -r with the password, lock it, load the index. */
int cli_open(struct cli *cl, int lock, int exclusive, const char *command, struct repo **out);
void cli_warn(void *arg, const char *msg);
void cli_progress(void *arg, const struct ops_progress *p);
void cli_progress_done(const struct cli *cl);

/* Text with control characters and non-UTF-8 bytes shown as \xNN. */
void cli_print_name(FILE *f, const uint8_t *p, size_t n);
void cli_json_snapshot(struct json *j, const struct snapshot *s);
void cli_json_node(struct json *j, const char *path, const struct node *n);
void cli_short_id(const struct mm_id *id, char out[9]);

int cmd_init(struct cli *cl, int argc, char **argv);
int cmd_backup(struct cli *cl, int argc, char **argv);
int cmd_snapshots(struct cli *cl, int argc, char **argv);
int cmd_ls(struct cli *cl, int argc, char **argv);
int cmd_restore(struct cli *cl, int argc, char **argv);
int cmd_check(struct cli *cl, int argc, char **argv);
int cmd_cat(struct cli *cl, int argc, char **argv);
/* the continuity policy (cmd_policy.c) */
int cmd_run(struct cli *cl, int argc, char **argv);
int cmd_status(struct cli *cl, int argc, char **argv);
int cmd_drill(struct cli *cl, int argc, char **argv);
int cmd_plan(struct cli *cl, int argc, char **argv);
int cmd_systemd(struct cli *cl, int argc, char **argv);

#endif
