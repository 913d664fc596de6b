/*
 * mamori: global options, the command table, passwords and exit codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static const char usage_text[] =
	"usage: mamori [-r REPO] [--password-file FILE] [-o KEY=VALUE]... [--json] [-q]\n"
	"              [--lock-wait D] [--state-dir DIR] COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  init                       create a repository\n"
	"  backup PATH...             back up files and folders into a new snapshot\n"
	"  backup --stdin-from-command [--stdin-filename NAME] -- CMD [ARGS...]\n"
	"                             back up a command's output as one file\n"
	"  snapshots                  list snapshots\n"
	"  ls SNAPSHOT [PATH]         list the files of a snapshot\n"
	"  restore SNAPSHOT --target DIR [--include PATH]...\n"
	"                             restore a snapshot\n"
	"  check [--read-data]        verify the repository\n"
	"  copy --to REPO2 [--to-password-file F] [--threads N] [SNAPSHOT...]\n"
	"                             copy snapshots to another repository\n"
	"  cat config|index|snapshot ID|tree ID\n"
	"                             print a repository object as JSON\n"
	"  diff SNAPSHOT1 SNAPSHOT2   what changed between two snapshots\n"
	"  find PATTERN... [--snapshot S]... [--path P] [--oldest T] [--newest T]\n"
	"                             find files in snapshots\n"
	"  dump SNAPSHOT PATH [--archive tar]\n"
	"                             a file to stdout, or a folder as a tar stream\n"
	"  stats [SNAPSHOT...] [--mode restore-size|raw|files-by-contents]\n"
	"                             sizes of snapshots and of the repository\n"
	"  tag [--add T]... [--remove T]... [--set T]... SNAPSHOT...\n"
	"                             change the tags of snapshots\n"
	"  run [DATASET...]           do what the policy says is due (backup, retention,\n"
	"                             offsite copy, check)\n"
	"  status [--json|--nagios]   each dataset against its RPO and RTO\n"
	"  drill [DATASET...] [--target DIR] [--sample PERCENT] [--offsite]\n"
	"                             restore drill: restore, verify, project the RTO\n"
	"  plan [--format markdown|json]\n"
	"                             the recovery runbook\n"
	"  systemd print|install [--unit-dir DIR]\n"
	"                             systemd units from the schedules\n"
	"                             (policy commands take --config FILE, --state-dir DIR)\n"
	"  forget --keep-* N... [--host H] [--path P] [--group-by G] [--dry-run] [--keep-none]\n"
	"         [--prune [--max-unused P%|SIZE] [--max-repack-size SIZE]]\n"
	"                             remove snapshots a retention policy does not keep\n"
	"  prune [--max-unused P%|SIZE] [--max-repack-size SIZE] [--dry-run]\n"
	"                             delete data no snapshot needs\n"
	"  unlock [--remove-all]      remove stale locks (all locks with --remove-all)\n"
	"  key list|add|remove ID|passwd\n"
	"                             the keys (one per administrator)\n"
	"  time check [SERVER[:PORT]]... [--nagios]\n"
	"                             measure the clock against NTP servers\n"
	"  time status                the kernel clock state and the time daemon\n"
	"  time lint [FILE]           lint an ntp.conf or chrony.conf\n"
	"  log show [--since T] [--user U]\n"
	"                             the ledger of what mamori did\n"
	"  log verify [--repo R] [--checkpoint FILE]... [--pubkey FILE]\n"
	"                             prove the ledger untouched (exit 2: tampered)\n"
	"  log note TEXT              record a manual action\n"
	"  log checkpoint [--repo R]  sign a checkpoint (kept in R too)\n"
	"  log export DIR             records, checkpoints and public key for auditors\n"
	"  incident open --title T [--severity 1-4] [--scope S] [--rto D] [--dataset N]...\n"
	"  incident note|action ID TEXT, incident recover ID, incident resolve ID\n"
	"           --cause C --prevention P, incident list [--open], incident show ID\n"
	"                             incident records, kept in the ledger\n"
	"  report [--output FILE.html] [--lang ja|en] [--repo R]...\n"
	"                             the continuity report, one self-contained page\n"
	"  monitor check|run|metrics|accept\n"
	"                             watch the host, its services and backups (docs/monitoring.md)\n"
	"  version                    print the version\n"
	"\n"
	"REPO is a folder, local:PATH, sftp:[USER@]HOST:/PATH or\n"
	"sftp://[USER@]HOST[:PORT]/PATH; -o sftp.args=..., sftp.command=...,\n"
	"sftp.timeout=SECONDS, sftp.connections=N tune SFTP.\n"
	"The repository comes from -r/--repo or MAMORI_REPOSITORY; the password from\n"
	"MAMORI_PASSWORD, MAMORI_PASSWORD_FILE, --password-file, or a prompt on a\n"
	"terminal. 'latest' names the newest snapshot. The ledger lives in the state\n"
	"directory (--state-dir, MAMORI_STATE_DIR, default /var/lib/mamori).\n"
	"See docs/cli.md.\n";

int
cli_fail(const struct cli *cl, int code, const struct mm_ctx *c)
{
	const char *msg = c && c->msg[0] ? c->msg : mm_strerror(code);

	fprintf(stderr, "%s: %s\n", cl->prog, msg);
	cli_set_result(cl, "%s", msg);
	switch (code) {
	case MM_ENOREPO: return EXIT_NOREPO;
	case MM_ELOCKED: return EXIT_LOCKED;
	case MM_ESTALELOCK: return EXIT_STALELOCK;
	case MM_EPASSWORD: return EXIT_PASSWORD;
	case MM_ENOSNAPSHOT: return EXIT_NOSNAPSHOT;
	case MM_EAMBIGUOUS: return EXIT_AMBIGUOUS;
	case MM_ENOPATH: return EXIT_NOPATH;
	case MM_EVERSION: return EXIT_VERSION;
	case MM_EACCESS: return EXIT_ACCESS;
	case MM_ECONFIG: return EXIT_CONFIG;
	case MM_ECHILD: return EXIT_COMMAND;
	case MM_ERESOLVE:
	case MM_ECONNREFUSED:
	case MM_ETIMEDOUT: return EXIT_UNREACHABLE;
	case MM_ECONNLOST: return EXIT_CONNLOST;
	case MM_EDENIED:
	case MM_EHOSTKEY: return EXIT_REMOTE_AUTH;
	case MM_EREMOTE:
	case MM_EPROTOCOL: return EXIT_REMOTE;
	case MM_EKEYSDIFFER: return EXIT_COPY_KEYS;
	case MM_ESIGNATURE: return EXIT_SIGNATURE;
	case MM_ESKEW: return EXIT_SKEW;
	case MM_ENOBUCKET: return EXIT_NOBUCKET;
	case MM_ETLS: return EXIT_TLS;
	case MM_EREMOTEFULL: return EXIT_REMOTE_FULL;
	default: return EXIT_FATAL;
	}
}

int
cli_usage(const struct cli *cl, const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s%s%s: ", cl->prog, cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'mamori help' or see docs/cli.md.\n");
	return EXIT_USAGE;
}

static int
read_password_file(const char *path, char **out, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	int e;

	b.secret = 1;
	if ((e = file_read_all(path, 4096, &b, c)) != 0) {
		buf_release(&b); /* wipes what was read of a file too long */
		return mm_prefix(c, e, "password file");
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.len--;
	if (b.len == 0 || memchr(b.data, '\0', b.len) != NULL) {
		buf_release(&b);
		return mm_fail(c, MM_EINVAL, "password file %s is empty or holds a NUL byte", path);
	}
	if ((e = buf_append_u8(&b, '\0')) != 0) {
		buf_release(&b);
		return e;
	}
	*out = (char *)b.data; /* transferred; wiped by cli_release */
	return 0;
}

static int
prompt_tty(const char *prompt, char **out, struct mm_ctx *c)
{
	struct termios old, quiet;
	char line[4096];
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	ssize_t n = 0;
	size_t len = 0;

	if (fd < 0)
		return mm_fail(c, MM_EINVAL, "no password: set MAMORI_PASSWORD_FILE or "
			       "--password-file, or run on a terminal");
	if (write(fd, prompt, strlen(prompt)) < 0 || tcgetattr(fd, &old) != 0) {
		close(fd);
		return mm_fail(c, MM_EIO, "cannot prompt for a password on the terminal");
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	while (len < sizeof(line) - 1 && (n = read(fd, line + len, 1)) == 1 && line[len] != '\n')
		len++;
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		n = -1;
	close(fd);
	line[len] = '\0';
	if (len == 0) {
		mm_wipe(line, sizeof(line));
		return mm_fail(c, MM_EINVAL, "empty password");
	}
	*out = strdup(line);
	mm_wipe(line, sizeof(line));
	return *out ? 0 : mm_fail(c, MM_ENOMEM, "out of memory");
}

int
cli_password(struct cli *cl, int confirm, struct mm_ctx *c)
{
	const char *env = getenv("MAMORI_PASSWORD");
	char *again = NULL;
	int e;

	if (cl->password)
		return 0;
	if (env && env[0]) {
		cl->password = strdup(env);
		/* No child process or later reader should see it. */
		mm_wipe((char *)env, strlen(env));
		unsetenv("MAMORI_PASSWORD");
		return cl->password ? 0 : mm_fail(c, MM_ENOMEM, "out of memory");
	}
	if (cl->password_file)
		return read_password_file(cl->password_file, &cl->password, c);
	if ((e = prompt_tty("enter password for repository: ", &cl->password, c)) != 0 || !confirm)
		return e;
	if ((e = prompt_tty("enter the password again: ", &again, c)) != 0)
		return e;
	if (strcmp(again, cl->password) != 0)
		e = mm_fail(c, MM_EINVAL, "the passwords do not match");
	mm_wipe(again, strlen(again));
	free(again);
	return e;
}

int
cli_parse_wait(const char *s, int64_t *ns)
{
	int64_t total = 0;

	if (*s == '\0')
		return MM_EINVAL;
	while (*s != '\0') {
		char *end;
		long long v;
		int64_t unit;

		if (*s < '0' || *s > '9')
			return MM_EINVAL;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || v > 100000000)
			return MM_EINVAL;
		switch (*end) {
		case '\0': unit = 1; break;
		case 's': unit = 1; end++; break;
		case 'm': unit = 60; end++; break;
		case 'h': unit = 3600; end++; break;
		case 'd': unit = 86400; end++; break;
		default: return MM_EINVAL;
		}
		total += (int64_t)v * unit;
		if (total > INT64_C(9000000000)) /* ns must fit in 63 bits */
			return MM_EINVAL;
		s = end;
	}
	*ns = total * 1000000000;
	return 0;
}

/* Test suites only: hold the lock just taken until the file at path exists
 * (a process that holds a lock at a known moment, to kill or to wait for). */
static void
test_pause(const char *path)
{
	struct timespec ts = { 0, 20000000 };

	if (path == NULL || path[0] == '\0')
		return;
	while (access(path, F_OK) != 0)
		nanosleep(&ts, NULL);
}

int
cli_new_password(struct cli *cl, const char *file, char **out, struct mm_ctx *c)
{
	char *again = NULL;
	int e;

	(void)cl;
	if (file == NULL)
		file = getenv("MAMORI_NEW_PASSWORD_FILE");
	if (file != NULL && file[0] != '\0') {
		if ((e = read_password_file(file, out, c)) != 0)
			return mm_prefix(c, e, "new password");
		return 0;
	}
	if ((e = prompt_tty("enter the new key's password: ", out, c)) != 0) {
		if (e == MM_EINVAL && strstr(c->msg, "no password") != NULL)
			mm_fail(c, e, "no new password: set MAMORI_NEW_PASSWORD_FILE or "
				"--new-password-file, or run on a terminal");
		return e;
	}
	if ((e = prompt_tty("enter the new password again: ", &again, c)) == 0 &&
	    strcmp(again, *out) != 0)
		e = mm_fail(c, MM_EINVAL, "the passwords do not match");
	if (again != NULL) {
		mm_wipe(again, strlen(again));
		free(again);
	}
	if (e != 0) {
		mm_wipe(*out, strlen(*out));
		free(*out);
		*out = NULL;
	}
	return e;
}

int
cli_open_at(struct cli *cl, const char *location, const char *password, int lock, int exclusive,
	    const char *command, struct repo **out)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct repo *r = NULL;
	int e;

	if ((e = repo_open(location, password, &r, &c)) != 0)
		return cli_fail(cl, e, &c);
	if ((lock && (e = repo_lock_wait(r, exclusive, command, cl->lock_wait_ns, &c)) != 0) ||
	    (e = repo_load_index(r, &c)) != 0) {
		repo_free(r);
		return cli_fail(cl, e, &c);
	}
	/* check reports these as problems itself. */
	if (command == NULL || strcmp(command, "check") != 0) {
		for (size_t i = 0; i < r->nidx_damaged; i++) {
			char msg[1200];
			snprintf(msg, sizeof(msg), "%s; the packs it lists are not indexed (run "
				 "'mamori check --read-data')", r->idx_damaged[i].msg);
			cli_warn(cl, msg);
		}
	}
	if (lock)
		test_pause(getenv("MAMORI_TEST_LOCK_PAUSE"));
	*out = r;
	return 0;
}

int
cli_open(struct cli *cl, int lock, int exclusive, const char *command, struct repo **out)
{
	struct mm_ctx c = MM_CTX_INIT;
	int e;

	if (cl->repo == NULL)
		return cli_usage(cl, NULL, "no repository given: use -r REPO or set MAMORI_REPOSITORY");
	if ((e = cli_password(cl, 0, &c)) != 0)
		return cli_fail(cl, e, &c);
	return cli_open_at(cl, cl->repo, cl->password, lock, exclusive, command, out);
}

int
cli_password_other(const char *file, const char *env_file, const char *location, char **out,
		   struct mm_ctx *c)
{
	char prompt[512];

	if (file == NULL)
		file = getenv(env_file);
	if (file != NULL && file[0] != '\0')
		return read_password_file(file, out, c);
	snprintf(prompt, sizeof(prompt), "enter password for repository %s: ", location);
	return prompt_tty(prompt, out, c);
}

void
cli_password_free(char *pw)
{
	if (pw == NULL)
		return;
	mm_wipe(pw, strlen(pw));
	free(pw);
}

static void
cli_release(struct cli *cl)
{
	if (cl->password) {
		mm_wipe(cl->password, strlen(cl->password));
		free(cl->password);
		cl->password = NULL;
	}
}

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **);
} commands[] = {
	{ "init", cmd_init },
	{ "backup", cmd_backup },
	{ "snapshots", cmd_snapshots },
	{ "ls", cmd_ls },
	{ "restore", cmd_restore },
	{ "check", cmd_check },
	{ "cat", cmd_cat },
	{ "run", cmd_run },
	{ "status", cmd_status },
	{ "drill", cmd_drill },
	{ "plan", cmd_plan },
	{ "systemd", cmd_systemd },
	{ "copy", cmd_copy },
	{ "forget", cmd_forget },
	{ "key", cmd_key },
	{ "diff", cmd_diff },
	{ "find", cmd_find },
	{ "dump", cmd_dump },
	{ "stats", cmd_stats },
	{ "tag", cmd_tag },
	{ "unlock", cmd_unlock },
	{ "time", cmd_time },
	{ "prune", cmd_prune },
	{ "log", cmd_log },
	{ "incident", cmd_incident },
	{ "report", cmd_report },
	{ "monitor", cmd_monitor },
};

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "lock-wait", required_argument, NULL, 'w' },
		{ "option", required_argument, NULL, 'o' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	static char result[CLI_RESULT_MAX];
	struct mm_ctx oc = MM_CTX_INIT;
	struct cli cl;
	int ch, rc;

	memset(&cl, 0, sizeof(cl));
	cl.prog = "mamori";
	/* The password and the keys are in memory: never in a core file. */
	{
		const struct rlimit none = { 0, 0 };
		(void)setrlimit(RLIMIT_CORE, &none);
	}
	cl.repo = getenv("MAMORI_REPOSITORY");
	cl.password_file = getenv("MAMORI_PASSWORD_FILE");
	cl.state_dir = getenv("MAMORI_STATE_DIR");
	if (cl.state_dir == NULL || cl.state_dir[0] == '\0')
		cl.state_dir = "/var/lib/mamori";
	cl.result = result;
	while ((ch = getopt_long(argc, argv, "+r:p:o:jqvhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': cl.repo = optarg; break;
		case 'o':
			if ((rc = backend_option_set(optarg, &oc)) != 0) {
				backend_options_clear();
				return cli_usage(&cl, NULL, "%s", oc.msg);
			}
			break;
		case 'S': cl.state_dir = optarg; break;
		case 'p': cl.password_file = optarg; break;
		case 'j': cl.json = 1; break;
		case 'q': cl.quiet = 1; break;
		case 'v': cl.verbose = 1; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		case 'V': printf("mamori %s\n", MAMORI_VERSION); return EXIT_OK;
		case 'w':
			if (cli_parse_wait(optarg, &cl.lock_wait_ns) != 0)
				return cli_usage(&cl, NULL, "--lock-wait takes a duration such as "
						 "90, 30s, 5m or 1h30m");
			break;
		default: return cli_usage(&cl, NULL, "unknown global option");
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[0], "version") == 0) {
		printf("mamori %s\n", MAMORI_VERSION);
		return EXIT_OK;
	}
	cl.progress = !cl.quiet && !cl.json && isatty(STDERR_FILENO);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			optind = 0; /* 0: glibc re-initialises its scan (1 would keep "+" mode) */
			rc = commands[i].fn(&cl, argc, argv);
			rc = cli_ledger_after(&cl, argc, argv, rc);
			cli_release(&cl);
			backend_options_clear();
			return rc;
		}
	}
	return cli_usage(&cl, NULL, "unknown command '%s'", argv[0]);
}
