/*
 * mamori report: the continuity report as one self-contained HTML page
 * (docs/cli.md). Gathers what exists (repository snapshots, the ledger's
 * verification, incidents); the library renders it.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ledger/ledger.h"
#include "timesync/timesync.h"

#define REPOS_MAX 16

static int
default_lang(void)
{
	const char *v = getenv("LC_ALL");

	if (v == NULL || *v == '\0')
		v = getenv("LANG");
	return v != NULL && strncmp(v, "ja", 2) == 0 ? REPORT_JA : REPORT_EN;
}

/* Snapshots of one repository into the report; a failure is shown in it. */
static int
add_repo(struct cli *cl, struct report *rep, const char *loc, struct ledger_ckpts *cps)
{
	struct mm_ctx c = MM_CTX_INIT, cc = MM_CTX_INIT;
	struct repo *r = NULL;
	struct snapshot *s = NULL;
	struct backend *be = NULL;
	size_t n = 0;
	int e;

	if ((e = cli_password(cl, 0, &c)) == 0 && (e = repo_open(loc, cl->password, &r, &c)) == 0)
		e = repo_snapshot_list(r, &s, &n, &c);
	if (e != 0) {
		fprintf(stderr, "%s: warning: %s: %s\n", cl->prog, loc, c.msg[0] ? c.msg : mm_strerror(e));
		e = report_add_repository(rep, loc, NULL, 0, 0, c.msg[0] ? c.msg : mm_strerror(e));
	} else {
		e = report_add_repository(rep, loc, s, n, 0, NULL);
	}
	/* Its checkpoints take part in the ledger's verification. */
	if (backend_open(loc, &be, &cc) == 0 && ledger_ckpts_from_repo(be, cps, &cc) != 0)
		fprintf(stderr, "%s: warning: %s: checkpoints not read: %s\n", cl->prog, loc, cc.msg);
	backend_free(be);
	snapshot_list_free(s, n);
	repo_free(r);
	return e;
}

/* The kernel's clock state and the time daemons running (no network). */
static int
add_clock(struct report *rep)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct report_clock rc;
	struct ts_kernel k;
	char daemons[128] = "", msg[256];
	unsigned bit;

	memset(&k, 0, sizeof(k));
	if (ts_kernel_read(&k, &c) != 0)
		return 0; /* the section stays "not configured" */
	k.daemons = ts_daemons_running(NULL, &k);
	for (bit = 1; bit <= TS_DAEMON_OPENNTPD; bit <<= 1) {
		if (k.daemons & bit) {
			size_t n = strlen(daemons);

			snprintf(daemons + n, sizeof(daemons) - n, "%s%s", n ? ", " : "",
				 ts_daemon_name(bit));
		}
	}
	snprintf(msg, sizeof(msg), "kernel: estimated error %.6f s, maximum error %.3f s, leap %s",
		 k.est_error, k.max_error, k.leap ? k.leap : "none");
	memset(&rc, 0, sizeof(rc));
	rc.state = k.synchronised ? "synchronised" : "unsynchronised";
	rc.source = daemons[0] ? daemons : "no time daemon running";
	rc.offset_s = k.offset;
	rc.message = msg;
	return report_set_clock(rep, &rc);
}

int
cmd_report(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "lang", required_argument, NULL, 'l' },
		{ "repo", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL, *repos[REPOS_MAX];
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_ckpts cps;
	struct ledger_verify v;
	struct incident *inc = NULL;
	struct report *rep = NULL;
	struct ledger *lg = NULL;
	struct buf page = BUF_INIT;
	char host[256];
	size_t nrepos = 0, ninc = 0, i;
	int ch, e, lang = default_lang(), rc = EXIT_OK, verified = 0;

	memset(&cps, 0, sizeof(cps));
	memset(&v, 0, sizeof(v));
	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': output = optarg; break;
		case 'l':
			if (strcmp(optarg, "ja") == 0)
				lang = REPORT_JA;
			else if (strcmp(optarg, "en") == 0)
				lang = REPORT_EN;
			else
				return cli_usage(cl, "report", "--lang is ja or en");
			break;
		case 'r':
			if (nrepos == REPOS_MAX)
				return cli_usage(cl, "report", "at most %d --repo", REPOS_MAX);
			repos[nrepos++] = optarg;
			break;
		default: return cli_usage(cl, "report", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage(cl, "report", "no arguments; --output FILE.html writes a file");
	if (nrepos == 0 && cl->repo != NULL)
		repos[nrepos++] = cl->repo;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if ((rc = cli_ledger_open(cl, 0, &lg)) != 0 && rc == EXIT_USAGE)
		return rc;
	rc = EXIT_OK;
	if ((e = report_new(lang, lg ? ledger_now(lg) : time_now_ns(), host, &rep)) != 0) {
		rc = cli_fail(cl, e, NULL);
		goto out;
	}
	for (i = 0; i < nrepos; i++) {
		if ((e = add_repo(cl, rep, repos[i], &cps)) != 0) {
			rc = cli_fail(cl, e, NULL);
			goto out;
		}
	}
	if ((e = cli_policy_report(cl, rep)) != 0 || (e = cli_monitor_report(cl, rep)) != 0 ||
	    (e = add_clock(rep)) != 0) {
		rc = cli_fail(cl, e, NULL);
		goto out;
	}
	if (lg != NULL && (e = ledger_verify(lg, &cps, NULL, &v, &c)) == 0)
		verified = 1;
	if ((e = report_set_ledger(rep, lg ? lg->path : cl->state_dir, verified ? &v : NULL,
				   lg == NULL ? "no ledger in this state directory" : c.msg)) != 0) {
		rc = cli_fail(cl, e, NULL);
		goto out;
	}
	report_set_rto(rep, cli_dataset_rto, cl);
	if (lg != NULL && ledger_incidents(lg, &inc, &ninc, &c) == 0 &&
	    (e = report_add_incidents(rep, inc, ninc)) != 0) {
		rc = cli_fail(cl, e, NULL);
		goto out;
	}
	if ((e = report_render(rep, &page)) != 0) {
		rc = cli_fail(cl, e, NULL);
		goto out;
	}
	if (output != NULL) {
		/* The page names paths and hosts: readable by the owner only. */
		if ((e = file_write_atomic(output, page.data, page.len, 0600, &c)) != 0) {
			rc = cli_fail(cl, e, &c);
			goto out;
		}
		if (!cl->quiet)
			printf("report written to %s\n", output);
	} else if (fwrite(page.data, 1, page.len, stdout) != page.len) {
		rc = EXIT_FATAL;
	}
out:
	incidents_free(inc, ninc);
	ledger_verify_release(&v);
	ledger_ckpts_release(&cps);
	report_free(rep);
	ledger_free(lg);
	buf_release(&page);
	return rc;
}
