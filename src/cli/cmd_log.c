/*
 * mamori log: show, verify, note, checkpoint, export; and the hook that
 * records every command in the ledger (docs/ledger.md, docs/cli.md).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ledger/ledger.h"

void
cli_set_result(const struct cli *cl, const char *fmt, ...)
{
	va_list ap;

	if (cl->result == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(cl->result, CLI_RESULT_MAX, fmt, ap);
	va_end(ap);
}

/* MAMORI_NOW fixes the clock (test suites only, docs/cli.md): the same
 * variable as the policy and monitor commands, so one test clock runs all. */
static int64_t test_now_ns;

static int64_t
fixed_now(void *arg)
{
	(void)arg;
	return test_now_ns;
}

static int
kernel_state(void *arg)
{
	(void)arg;
	return ledger_clock_kernel_state();
}

static const struct ledger_clock fixed_clock = { fixed_now, kernel_state, NULL };

int
cli_ledger_open(const struct cli *cl, int create, struct ledger **out)
{
	struct mm_ctx c = MM_CTX_INIT;
	const char *fix = getenv("MAMORI_NOW");
	const struct ledger_clock *clk = NULL;
	int e;

	if (fix != NULL && fix[0] != '\0') {
		if (ledger_parse_time(fix, time_now_ns(), &test_now_ns) != 0) {
			fprintf(stderr, "%s: MAMORI_NOW: not a time: %s\n", cl->prog, fix);
			return EXIT_USAGE;
		}
		clk = &fixed_clock;
	}
	if ((e = ledger_open(cl->state_dir, create ? LEDGER_CREATE : 0, clk, out, &c)) != 0)
		return cli_fail(cl, e, &c);
	/* MAMORI_TEST_APPEND_STOP=N: tests place a crash at byte N of an append. */
	if ((fix = getenv("MAMORI_TEST_APPEND_STOP")) != NULL && fix[0] != '\0')
		(*out)->test_stop_after = (size_t)strtoul(fix, NULL, 10);
	return 0;
}

/* ---- the hook ------------------------------------------------------------------------ */

/*
 * How each command is recorded, keyed by "COMMAND" or "COMMAND SUBCOMMAND"
 * (the longer key wins). A command not listed is recorded: a new command
 * that changes data needs no line here; one that only reads metadata
 * adds { "name", LG_SKIP }.
 */
enum { LG_RECORD = 0, LG_SKIP, LG_SELF, LG_CHECKPOINT };
static const struct {
	const char *key;
	int how;
} ledger_policy[] = {
	{ "backup", LG_CHECKPOINT },   /* recorded, then a checkpoint into the repository */
	{ "snapshots", LG_SKIP },
	{ "ls", LG_SKIP },
	{ "cat", LG_SKIP },
	{ "help", LG_SKIP },
	{ "version", LG_SKIP },
	{ "log", LG_SKIP },            /* log, log show, log verify: reads */
	{ "log note", LG_SELF },       /* the note is the record */
	{ "log checkpoint", LG_SELF }, /* a checkpoint, not a record */
	{ "log export", LG_RECORD },
	{ "incident", LG_SELF },       /* every incident event is its own record */
	{ "report", LG_SKIP },
	{ "diff", LG_SKIP },
	{ "find", LG_SKIP },
	{ "stats", LG_SKIP },
	{ "key list", LG_SKIP },
	{ "time", LG_SKIP },           /* the clock, not protected data */
	{ "status", LG_SKIP },         /* the policy's RPO/RTO status: a read */
	{ "plan", LG_SKIP },           /* the runbook: a read */
	{ "systemd print", LG_SKIP },
	{ "monitor check", LG_SKIP },  /* a look; the agent (monitor run) is recorded as it
					* starts, and records its own stop */
	{ "monitor metrics", LG_SKIP },
	{ "monitor send", LG_SKIP },   /* the agent's helper: the alert is its record */
	/* dump and drill read protected data, forget/prune/tag/unlock/copy/run/
	 * key add... change it: recorded, as every command not listed here. */
};

static int
policy_of(int argc, char **argv)
{
	char key[128];
	size_t i;
	int how = LG_RECORD, best = 0;

	if (argc > 1 && argv[1][0] != '-')
		snprintf(key, sizeof(key), "%s %s", argv[0], argv[1]);
	else
		snprintf(key, sizeof(key), "%s", argv[0]);
	for (i = 0; i < sizeof(ledger_policy) / sizeof(ledger_policy[0]); i++) {
		const char *k = ledger_policy[i].key;
		size_t n = strlen(k);

		if (strcmp(k, key) == 0 && (int)n > best) {
			how = ledger_policy[i].how;
			best = (int)n;
		} else if (strcmp(k, argv[0]) == 0 && best == 0) {
			how = ledger_policy[i].how;
		}
	}
	return how;
}

/* Append a byte if there is room for it and the terminating NUL. */
static void
put_char(char *out, size_t n, size_t *len, char ch)
{
	if (*len + 1 < n) {
		out[(*len)++] = ch;
		out[*len] = '\0';
	}
}

/* argv as a shell would need it (single quotes where needed), bounded. */
static void
join_args(int argc, char **argv, char *out, size_t n)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789-_./=:@,+%";
	size_t len = 0;
	const char *a;
	int i, quote;

	out[0] = '\0';
	for (i = 1; i < argc; i++) {
		a = argv[i];
		quote = a[0] == '\0' || strspn(a, plain) != strlen(a);
		if (i > 1)
			put_char(out, n, &len, ' ');
		if (quote)
			put_char(out, n, &len, '\'');
		for (; *a != '\0'; a++) {
			if (*a == '\'') {
				put_char(out, n, &len, '\'');
				put_char(out, n, &len, '\\');
				put_char(out, n, &len, '\'');
			}
			put_char(out, n, &len, *a);
		}
		if (quote)
			put_char(out, n, &len, '\'');
	}
}

static int
checkpoint_to_repo(const struct cli *cl, struct ledger *lg, const char *repo, struct mm_ctx *c)
{
	struct ledger_ckpt cp;
	struct backend *be = NULL;
	int e;

	memset(&cp, 0, sizeof(cp));
	if ((e = ledger_checkpoint(lg, &cp, c)) != 0)
		return e;
	if (repo != NULL) {
		if ((e = backend_open(repo, &be, c)) != 0 || (e = ledger_ckpt_store(be, &cp, c)) != 0)
			e = mm_prefix(c, e, "store the checkpoint in %s", repo);
		backend_free(be);
	}
	ledger_ckpt_release(&cp);
	return e;
}

int
cli_ledger_after(struct cli *cl, int argc, char **argv, int rc)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger *lg = NULL;
	struct ledger_field f[2];
	struct ledger_entry en;
	char args[4096], cwd[4096];
	int how = policy_of(argc, argv), e, orc;

	if (how == LG_SKIP || how == LG_SELF || rc == EXIT_USAGE)
		return rc;
	join_args(argc, argv, args, sizeof(args));
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), "?");
	f[0] = (struct ledger_field){ "args", args };
	f[1] = (struct ledger_field){ "cwd", cwd };
	memset(&en, 0, sizeof(en));
	en.command = argv[0];
	en.target = cl->repo ? cl->repo : "";
	en.result = cl->result ? cl->result : "";
	en.exit_code = rc;
	en.fields = f;
	en.nfields = 2;
	if ((orc = cli_ledger_open(cl, 1, &lg)) != 0) {
		e = MM_EIO;
		goto failed;
	}
	if ((e = ledger_append(lg, &en, NULL, &c)) != 0)
		goto failed;
	if (how == LG_CHECKPOINT && (rc == EXIT_OK || rc == EXIT_PARTIAL) &&
	    (e = checkpoint_to_repo(cl, lg, cl->repo, &c)) != 0)
		goto failed;
	ledger_free(lg);
	return rc;
failed:
	if (c.msg[0] != '\0')
		fprintf(stderr, "%s: warning: %s finished (exit %d) but the ledger failed: %s\n",
			cl->prog, argv[0], rc, c.msg);
	else
		fprintf(stderr, "%s: warning: %s finished (exit %d) but was not recorded in the "
			"ledger\n", cl->prog, argv[0], rc);
	ledger_free(lg);
	return rc == EXIT_OK ? EXIT_LEDGER : rc;
}

int
cli_ledger_backup(struct cli *cl, const char *repo, const char *dataset, const char *snapshot)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger *lg = NULL;
	struct ledger_field f[2];
	struct ledger_entry en;
	char result[128];
	int e = MM_EIO;

	snprintf(result, sizeof(result), "snapshot %s", snapshot);
	f[0] = (struct ledger_field){ "dataset", (char *)dataset };
	f[1] = (struct ledger_field){ "via", "run" };
	memset(&en, 0, sizeof(en));
	en.command = "backup";
	en.target = repo;
	en.result = result;
	en.fields = f;
	en.nfields = 2;
	if (cli_ledger_open(cl, 1, &lg) == 0 && (e = ledger_append(lg, &en, NULL, &c)) == 0)
		e = checkpoint_to_repo(cl, lg, repo, &c);
	ledger_free(lg);
	if (e == 0)
		return 0;
	fprintf(stderr, "%s: warning: the backup of %s into %s finished but the ledger failed%s%s\n",
		cl->prog, dataset, repo, c.msg[0] ? ": " : "", c.msg);
	return EXIT_LEDGER;
}

/* ---- log show ------------------------------------------------------------------------- */

static void
json_record(struct json *j, const struct ledger_rec *r)
{
	char t[40], hex[65];
	size_t i;

	json_obj_begin(j);
	json_kv_uint(j, "seq", r->seq);
	time_format_utc(r->time_ns, t, sizeof(t));
	json_kv_str(j, "time", t);
	json_kv_int(j, "time_ns", r->time_ns);
	json_kv_str(j, "clock", ledger_clock_state_name(r->clock));
	json_kv_str(j, "host", r->host);
	json_kv_str(j, "user", r->user);
	json_kv_uint(j, "uid", r->uid);
	if (r->sudo_uid != LEDGER_NO_UID || r->sudo_user[0]) {
		json_kv_str(j, "sudo_user", r->sudo_user);
		if (r->sudo_uid != LEDGER_NO_UID)
			json_kv_uint(j, "sudo_uid", r->sudo_uid);
	}
	if (r->login_uid != LEDGER_NO_UID)
		json_kv_uint(j, "login_uid", r->login_uid);
	json_kv_str(j, "command", r->command);
	json_kv_str(j, "target", r->target);
	json_kv_int(j, "exit_code", r->exit_code);
	json_kv_str(j, "result", r->result);
	json_key(j, "fields");
	json_obj_begin(j);
	for (i = 0; i < r->nfields; i++)
		json_kv_str(j, r->fields[i].key, r->fields[i].value);
	json_obj_end(j);
	hex_encode(r->prev, LEDGER_HASH_LEN, hex);
	json_kv_str(j, "prev", hex);
	json_obj_end(j);
}

static void
print_record(const struct ledger_rec *r)
{
	char t[40];
	size_t i;

	time_format_local(r->time_ns, t, sizeof(t));
	printf("%" PRIu64 "  %s%s  %s", r->seq, t,
	       r->clock == LEDGER_CLOCK_UNSYNCED ? " (clock unsynchronised)" : "", r->user);
	if (r->sudo_user[0])
		printf(" (sudo by %s)", r->sudo_user);
	printf("@%s  %s", r->host, r->command);
	if (r->target[0])
		printf("  %s", r->target);
	printf("  exit %d", r->exit_code);
	if (r->result[0])
		printf("  %s", r->result);
	fputc('\n', stdout);
	for (i = 0; i < r->nfields; i++) {
		if (strcmp(r->fields[i].key, "cwd") == 0 || r->fields[i].value[0] == '\0')
			continue;
		printf("    %s: ", r->fields[i].key);
		cli_print_name(stdout, (const uint8_t *)r->fields[i].value, strlen(r->fields[i].value));
		fputc('\n', stdout);
	}
}

static int
log_show(struct cli *cl, struct ledger *lg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct mm_ctx c = MM_CTX_INIT;
	struct buf b = BUF_INIT;
	struct ledger_rec *v = NULL;
	struct json j;
	const char *user = NULL;
	int64_t since = INT64_MIN;
	size_t n = 0, i;
	int ch, e, rc = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "s:u:", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (ledger_parse_time(optarg, ledger_now(lg), &since) != 0)
				return cli_usage(cl, "log show", "--since: not a time or duration: %s "
						 "(e.g. 2026-12-01, 2026-12-01T09:00:00Z, 24h)", optarg);
			break;
		case 'u': user = optarg; break;
		case 'j': cl->json = 1; break;
		default: return cli_usage(cl, "log show", "unknown option");
		}
	}
	if ((e = ledger_read(lg, &b, &c)) != 0 || (e = ledger_records(b.data, b.len, &v, &n, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (cl->json) {
		json_init(&j, stdout);
		json_arr_begin(&j);
	}
	for (i = 0; i < n; i++) {
		if (v[i].time_ns < since)
			continue;
		if (user != NULL && strcmp(v[i].user, user) != 0 && strcmp(v[i].sudo_user, user) != 0)
			continue;
		if (cl->json)
			json_record(&j, &v[i]);
		else
			print_record(&v[i]);
	}
	if (cl->json) {
		json_arr_end(&j);
		fputc('\n', stdout);
	}
out:
	ledger_records_free(v, n);
	buf_release(&b);
	return rc;
}

/* ---- log verify ------------------------------------------------------------------------ */

static const char *
kind_name(int k)
{
	switch (k) {
	case LF_TORN: return "torn";
	case LF_FRAME: return "frame";
	case LF_CHECKSUM: return "checksum";
	case LF_DECODE: return "decode";
	case LF_MISSING: return "missing";
	case LF_REPEATED: return "repeated";
	case LF_CHAIN: return "chain";
	case LF_CUT: return "cut";
	case LF_ROOT: return "root";
	case LF_SIG: return "signature";
	case LF_FOREIGN: return "foreign-key";
	default: return "?";
	}
}

static void
print_verify(const struct cli *cl, struct ledger *lg, const struct ledger_verify *v, int verdict)
{
	char hex[65], t[40];
	size_t i;

	hex_encode(v->root, LEDGER_HASH_LEN, hex);
	if (cl->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_str(&j, "ledger", lg->path);
		json_kv_uint(&j, "records", v->records);
		json_kv_str(&j, "root", hex);
		json_kv_str(&j, "status", verdict == 0 ? "intact" : verdict == MM_ETORN ? "torn" :
			    "tampered");
		json_kv_bool(&j, "intact", verdict == 0);
		json_kv_uint(&j, "first_bad", v->first_bad);
		json_kv_uint(&j, "checkpoints", v->checkpoints);
		json_kv_uint(&j, "checkpoints_ok", v->checkpoints_ok);
		json_kv_uint(&j, "other_hosts", v->other_hosts);
		json_kv_uint(&j, "torn_tails_recovered", v->recovered);
		if (v->last.size > 0) {
			json_key(&j, "last_checkpoint");
			json_obj_begin(&j);
			json_kv_uint(&j, "size", v->last.size);
			time_format_utc(v->last.time_ns, t, sizeof(t));
			json_kv_str(&j, "time", t);
			json_kv_str(&j, "host", v->last.host);
			json_kv_str(&j, "source", v->last.source);
			json_obj_end(&j);
		}
		json_key(&j, "findings");
		json_arr_begin(&j);
		for (i = 0; i < v->nf; i++) {
			json_obj_begin(&j);
			json_kv_str(&j, "kind", kind_name(v->f[i].kind));
			json_kv_uint(&j, "seq", v->f[i].seq);
			json_kv_str(&j, "message", v->f[i].msg);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		fputc('\n', stdout);
		return;
	}
	printf("ledger %s: %" PRIu64 " records, root %s\n", lg->path, v->records, hex);
	printf("checkpoints: %zu of this ledger, %zu match", v->checkpoints, v->checkpoints_ok);
	if (v->other_hosts)
		printf("; %zu of other ledgers ignored", v->other_hosts);
	fputc('\n', stdout);
	if (v->last.size > 0) {
		time_format_utc(v->last.time_ns, t, sizeof(t));
		printf("last checkpoint: %" PRIu64 " records at %s on %s (%s)\n", v->last.size, t,
		       v->last.host, v->last.source);
	}
	if (v->recovered)
		printf("torn records moved aside after crashes: %zu (see 'mamori log show')\n",
		       v->recovered);
	for (i = 0; i < v->nf; i++)
		printf("%s: %s\n", v->f[i].kind == LF_TORN ? "TORN" : "TAMPERED", v->f[i].msg);
	if (verdict == 0)
		printf("intact\n");
	else if (verdict == MM_ETORN)
		printf("torn tail: the next append moves it aside; everything before it verifies\n");
	else
		printf("first bad record: %" PRIu64 "\n", v->first_bad);
}

static int
log_verify(struct cli *cl, struct ledger *lg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "pubkey", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_ckpts extra;
	struct ledger_verify v;
	struct ledger_key key;
	struct backend *be = NULL;
	struct buf b = BUF_INIT;
	int ch, e, rc, have_key = 0, verdict;

	memset(&extra, 0, sizeof(extra));
	memset(&v, 0, sizeof(v));
	memset(&key, 0, sizeof(key));
	while ((ch = getopt_long(argc, argv, "r:c:k:", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if ((e = backend_open(optarg, &be, &c)) != 0 ||
			    (e = ledger_ckpts_from_repo(be, &extra, &c)) != 0) {
				rc = cli_fail(cl, mm_prefix(&c, e, "checkpoints of %s", optarg), &c);
				goto out;
			}
			backend_free(be);
			be = NULL;
			break;
		case 'c':
			buf_reset(&b);
			if ((e = file_read_all(optarg, LEDGER_CHECKPOINT_MAX, &b, &c)) != 0 ||
			    (e = ledger_ckpts_add(&extra, b.data, b.len, optarg, &c)) != 0) {
				rc = cli_fail(cl, e, &c);
				goto out;
			}
			break;
		case 'k':
			if (have_key) {
				rc = cli_usage(cl, "log verify", "--pubkey once");
				goto out;
			}
			if ((e = ledger_key_load_public(optarg, &key, &c)) != 0) {
				rc = cli_fail(cl, e, &c);
				goto out;
			}
			have_key = 1;
			break;
		case 'j': cl->json = 1; break;
		default: rc = cli_usage(cl, "log verify", "unknown option"); goto out;
		}
	}
	if ((e = ledger_verify(lg, &extra, have_key ? &key : NULL, &v, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	verdict = ledger_verify_verdict(&v);
	print_verify(cl, lg, &v, verdict);
	rc = verdict == 0 ? EXIT_OK : verdict == MM_ETORN ? EXIT_TORN : EXIT_TAMPERED;
out:
	backend_free(be);
	buf_release(&b);
	ledger_verify_release(&v);
	ledger_ckpts_release(&extra);
	ledger_key_release(&key);
	return rc;
}

/* ---- note, checkpoint, export ---------------------------------------------------------- */

static int
log_note(struct cli *cl, struct ledger *lg, int argc, char **argv)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_field f;
	struct ledger_entry en;
	char text[LEDGER_TEXT_MAX];
	size_t len = 0;
	uint64_t seq;
	int i, e;

	if (argc < 2)
		return cli_usage(cl, "log note", "what to note? e.g. mamori log note \"replaced disk 2\"");
	text[0] = '\0';
	for (i = 1; i < argc; i++) {
		int w = snprintf(text + len, sizeof(text) - len, "%s%s", i > 1 ? " " : "", argv[i]);

		if (w < 0 || (size_t)w >= sizeof(text) - len)
			return cli_usage(cl, "log note", "the note is longer than %d bytes",
					 LEDGER_TEXT_MAX - 1);
		len += (size_t)w;
	}
	f = (struct ledger_field){ "text", text };
	memset(&en, 0, sizeof(en));
	en.command = "note";
	en.fields = &f;
	en.nfields = 1;
	if ((e = ledger_append(lg, &en, &seq, &c)) != 0)
		return cli_fail(cl, e, &c);
	if (cl->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_uint(&j, "seq", seq);
		json_obj_end(&j);
		fputc('\n', stdout);
	} else if (!cl->quiet) {
		printf("record %" PRIu64 "\n", seq);
	}
	return EXIT_OK;
}

static int
log_checkpoint(struct cli *cl, struct ledger *lg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_ckpt cp;
	struct backend *be = NULL;
	const char *repo = NULL;
	char hex[65], name[65];
	int ch, e;

	while ((ch = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': repo = optarg; break;
		default: return cli_usage(cl, "log checkpoint", "unknown option");
		}
	}
	memset(&cp, 0, sizeof(cp));
	if ((e = ledger_checkpoint(lg, &cp, &c)) != 0)
		return cli_fail(cl, e, &c);
	if (repo != NULL &&
	    ((e = backend_open(repo, &be, &c)) != 0 || (e = ledger_ckpt_store(be, &cp, &c)) != 0)) {
		backend_free(be);
		ledger_ckpt_release(&cp);
		return cli_fail(cl, mm_prefix(&c, e, "store the checkpoint in %s", repo), &c);
	}
	backend_free(be);
	hex_encode(cp.root, LEDGER_HASH_LEN, hex);
	ledger_ckpt_name(&cp, name);
	if (!cl->quiet)
		printf("checkpoint %.16s: %" PRIu64 " records, root %s%s%s\n", name, cp.size, hex,
		       repo ? ", stored in " : "", repo ? repo : "");
	ledger_ckpt_release(&cp);
	return EXIT_OK;
}

static int
log_export(struct cli *cl, struct ledger *lg, int argc, char **argv)
{
	struct mm_ctx c = MM_CTX_INIT;
	int e;

	if (argc != 2)
		return cli_usage(cl, "log export", "where to? e.g. mamori log export /media/usb/ledger");
	if ((e = ledger_export(lg, argv[1], &c)) != 0)
		return cli_fail(cl, e, &c);
	cli_set_result(cl, "exported to %s", argv[1]);
	if (!cl->quiet)
		printf("exported to %s: ledger, checkpoints/, ledger.pub\n", argv[1]);
	return EXIT_OK;
}

int
cmd_log(struct cli *cl, int argc, char **argv)
{
	struct ledger *lg = NULL;
	const char *sub = argc > 1 ? argv[1] : "";
	int rc, create = strcmp(sub, "note") == 0 || strcmp(sub, "checkpoint") == 0;

	if (strcmp(sub, "show") != 0 && strcmp(sub, "verify") != 0 && strcmp(sub, "note") != 0 &&
	    strcmp(sub, "checkpoint") != 0 && strcmp(sub, "export") != 0)
		return cli_usage(cl, "log", "which? show, verify, note, checkpoint or export");
	if ((rc = cli_ledger_open(cl, create, &lg)) != 0)
		return rc;
	argc--;
	argv++;
	if (strcmp(sub, "show") == 0)
		rc = log_show(cl, lg, argc, argv);
	else if (strcmp(sub, "verify") == 0)
		rc = log_verify(cl, lg, argc, argv);
	else if (strcmp(sub, "note") == 0)
		rc = log_note(cl, lg, argc, argv);
	else if (strcmp(sub, "checkpoint") == 0)
		rc = log_checkpoint(cl, lg, argc, argv);
	else
		rc = log_export(cl, lg, argc, argv);
	ledger_free(lg);
	return rc;
}
