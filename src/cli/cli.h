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
	EXIT_TORN = 33,     /* log verify: the ledger ends in a torn record (a crash) */
	EXIT_LEDGER = 34,   /* the command succeeded, its ledger record or checkpoint failed */
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

#endif
