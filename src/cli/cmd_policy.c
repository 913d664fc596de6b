/* run, status, drill, plan, systemd: the continuity policy's commands. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ledger/ledger.h"
#include "policy/policy.h"

/* Messages are cut at the end of their buffers on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

enum { OPT_CONFIG = 1000, OPT_STATE, OPT_JSON, OPT_NAGIOS, OPT_TARGET, OPT_SAMPLE, OPT_FORMAT,
       OPT_UNIT_DIR, OPT_FORCE, OPT_OFFSITE };

struct pcli {
	struct cli *cl;
	const char *config;
	const char *state_dir;
	char *password;   /* fallback for repositories without their own */
	int64_t now_ns;   /* MAMORI_NOW */
	struct conf_schema schema;
	struct policy p;
	int loaded;
};

static int64_t
fixed_clock(void *arg)
{
	return *(const int64_t *)arg;
}

static void
pcli_init(struct pcli *pc, struct cli *cl)
{
	memset(pc, 0, sizeof(*pc));
	pc->cl = cl;
	pc->config = getenv("MAMORI_CONFIG");
	if (pc->config == NULL || pc->config[0] == '\0')
		pc->config = POLICY_CONFIG_DEFAULT;
	/* the global --state-dir / MAMORI_STATE_DIR (main.c), which the
	 * ledger shares; the command's own --state-dir overrides it */
	pc->state_dir = cl->state_dir ? cl->state_dir : POLICY_STATE_DEFAULT;
}

static void
pcli_release(struct pcli *pc)
{
	if (pc->loaded)
		policy_release(&pc->p);
	if (pc->password) {
		mm_wipe(pc->password, strlen(pc->password));
		free(pc->password);
	}
}

/* The configuration, the clock and the fallback password. */
static int
pcli_load(struct pcli *pc, const char *cmd)
{
	struct mm_ctx c = MM_CTX_INIT;
	const char *now = getenv("MAMORI_NOW");
	int e;

	if (now != NULL && now[0] != '\0') {
		if (policy_parse_time(now, &pc->now_ns) != 0)
			return cli_usage(pc->cl, cmd, "MAMORI_NOW='%s': expected 2026-12-01T10:00:00Z or "
					 "@SECONDS (it is for tests only)", now);
		pc->p.clock.now_ns = fixed_clock;
		pc->p.clock.arg = &pc->now_ns;
	}
	pc->p.state_dir = pc->state_dir;
	if ((e = cli_conf_schema(&pc->schema)) != 0)
		return cli_fail(pc->cl, e, NULL);
	if ((e = policy_load(&pc->schema, pc->config, &pc->p, &c)) != 0) {
		if (e == MM_ENOMEM)
			return cli_fail(pc->cl, e, &c);
		fprintf(stderr, "%s: %s\n", pc->cl->prog, c.msg);
		if (e != MM_ECONFIG)
			fprintf(stderr, "%s: give the file with --config FILE or MAMORI_CONFIG "
				"(default %s)\n", pc->cl->prog, POLICY_CONFIG_DEFAULT);
		return EXIT_CONFIG;
	}
	pc->loaded = 1;
	/* A fallback without a prompt: MAMORI_PASSWORD or --password-file. */
	if (getenv("MAMORI_PASSWORD") != NULL || pc->cl->password_file != NULL) {
		if ((e = cli_password(pc->cl, 0, &c)) != 0)
			return cli_fail(pc->cl, e, &c);
		if ((pc->password = strdup(pc->cl->password)) == NULL)
			return cli_fail(pc->cl, MM_ENOMEM, NULL);
	}
	return 0;
}

/* --config and --state-dir, common to every policy command. */
static int
common_opt(struct pcli *pc, int ch)
{
	switch (ch) {
	case OPT_CONFIG: pc->config = optarg; return 1;
	case OPT_STATE: pc->state_dir = optarg; return 1;
	default: return 0;
	}
}

#define COMMON_OPTS \
	{ "config", required_argument, NULL, OPT_CONFIG }, \
	{ "state-dir", required_argument, NULL, OPT_STATE }

static int
select_ds(struct pcli *pc, int argc, char **argv, const struct policy_dataset ***out, size_t *n)
{
	struct mm_ctx c = MM_CTX_INIT;
	int e;

	if ((*out = calloc(pc->p.nds, sizeof(**out))) == NULL)
		return cli_fail(pc->cl, MM_ENOMEM, NULL);
	if ((e = policy_select(&pc->p, argv + optind, (size_t)(argc - optind), *out, n, &c)) != 0) {
		free(*out);
		*out = NULL;
		fprintf(stderr, "%s: %s\n", pc->cl->prog, c.msg);
		return EXIT_USAGE;
	}
	return 0;
}

/* ---- run ---------------------------------------------------------------- */
int
cmd_run(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "force", no_argument, NULL, OPT_FORCE },
		{ NULL, 0, NULL, 0 },
	};
	struct pcli pc;
	const struct policy_dataset **ds = NULL;
	struct run_result *res = NULL;
	struct run_opts o;
	struct mm_ctx c = MM_CTX_INIT;
	size_t n = 0;
	int ch, rc, failed = 0, ledger_failed = 0;

	pcli_init(&pc, cl);
	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(&pc, ch))
			continue;
		if (ch == OPT_FORCE) {
			o.force = 1;
			continue;
		}
		rc = cli_usage(cl, "run", "unknown option");
		goto out;
	}
	if ((rc = pcli_load(&pc, "run")) != 0 || (rc = select_ds(&pc, argc, argv, &ds, &n)) != 0)
		goto out;
	if ((res = calloc(n ? n : 1, sizeof(*res))) == NULL) {
		rc = cli_fail(cl, MM_ENOMEM, NULL);
		goto out;
	}
	o.password = pc.password;
	o.rep.warn = cli_warn;
	o.rep.progress = cli_progress;
	o.rep.arg = cl;
	if ((rc = policy_run(&pc.p, ds, n, &o, res, &c)) != 0) {
		rc = cli_fail(cl, rc, &c);
		goto out;
	}
	cli_progress_done(cl);
	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		json_arr_begin(&j);
		for (size_t i = 0; i < n; i++) {
			json_obj_begin(&j);
			json_kv_str(&j, "dataset", res[i].d->name);
			json_kv_int(&j, "priority", res[i].d->priority);
			json_kv_bool(&j, "busy", res[i].busy);
			for (unsigned s = 0; s < STEP_COUNT; s++) {
				json_key(&j, policy_step_name(s));
				json_obj_begin(&j);
				json_kv_str(&j, "result", policy_step_result_name(res[i].step[s]));
				json_kv_str(&j, "detail", res[i].detail[s]);
				json_obj_end(&j);
			}
			if (res[i].snapshot[0])
				json_kv_str(&j, "snapshot", res[i].snapshot);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		fputc('\n', stdout);
	}
	for (size_t i = 0; i < n; i++) {
		for (unsigned s = 0; s < STEP_COUNT; s++)
			if (res[i].step[s] == STEP_FAILED)
				failed = 1;
		if (cl->json || cl->quiet)
			continue;
		if (res[i].busy) {
			printf("%s (priority %lld): skipped: %s\n", res[i].d->name,
			       (long long)res[i].d->priority, res[i].detail[STEP_BACKUP]);
			continue;
		}
		printf("%s (priority %lld)\n", res[i].d->name, (long long)res[i].d->priority);
		for (unsigned s = 0; s < STEP_COUNT; s++)
			printf("  %-7s %s: %s\n", policy_step_name(s), policy_step_result_name(res[i].step[s]),
			       res[i].detail[s]);
	}
	/* Each backup done: a ledger record and a checkpoint into its
	 * repository, as after 'mamori backup' (docs/ledger.md). */
	for (size_t i = 0; i < n; i++) {
		const struct policy_repo *pr = res[i].d->repo;
		int e = 0;

		if (res[i].snapshot[0] == '\0' || pr == NULL)
			continue;
		backend_options_clear(); /* this repository's options only */
		for (size_t k = 0; pr->options && pr->options[k] && e == 0; k++)
			if (strncmp(pr->options[k], "threads=", 8) != 0)
				e = backend_option_set(pr->options[k], &c);
		if (e != 0 || cli_ledger_backup(cl, pr->url, res[i].d->name, res[i].snapshot) != 0)
			ledger_failed = 1;
	}
	rc = failed ? EXIT_RUN_FAILED : ledger_failed ? EXIT_LEDGER : EXIT_OK;
out:
	free(res);
	free(ds);
	pcli_release(&pc);
	return rc;
}

/* ---- status --------------------------------------------------------------- */
static void
age_text(int64_t secs, char *out, size_t n)
{
	conf_format_duration(secs, out, n);
}

static void
status_json(struct dataset_status *st, size_t n, enum policy_verdict worst)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_str(&j, "status", policy_verdict_name(worst));
	json_key(&j, "datasets");
	json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		const struct dataset_status *s = &st[i];
		json_obj_begin(&j);
		json_kv_str(&j, "name", s->d->name);
		json_kv_int(&j, "priority", s->d->priority);
		json_kv_str(&j, "status", policy_verdict_name(s->verdict));
		json_kv_str(&j, "reason", s->reason);
		json_kv_int(&j, "rpo", s->d->rpo);
		json_kv_int(&j, "rto", s->d->rto);
		json_key(&j, "backup");
		json_obj_begin(&j);
		json_kv_str(&j, "status", policy_verdict_name(s->backup_verdict));
		if (s->have_snapshot) {
			json_kv_str(&j, "snapshot", s->snapshot);
			json_kv_int(&j, "time_ns", s->snapshot_ns);
			json_kv_int(&j, "age", s->age);
		}
		json_obj_end(&j);
		json_key(&j, "offsite");
		if (s->d->copy_to) {
			json_obj_begin(&j);
			json_kv_str(&j, "repository", s->d->copy_to->name);
			json_kv_str(&j, "status", policy_verdict_name(s->offsite_verdict));
			if (s->have_offsite) {
				json_kv_int(&j, "time_ns", s->offsite_ns);
				json_kv_int(&j, "age", s->offsite_age);
			}
			if (s->offsite_error[0])
				json_kv_str(&j, "error", s->offsite_error);
			json_obj_end(&j);
		} else {
			json_null(&j);
		}
		json_key(&j, "check");
		if (s->d->has_check) {
			json_obj_begin(&j);
			json_kv_str(&j, "status", policy_verdict_name(s->check_verdict));
			json_kv_int(&j, "time_ns", s->st.check_ns);
			json_kv_bool(&j, "ok", s->st.check_ok);
			json_obj_end(&j);
		} else {
			json_null(&j);
		}
		json_key(&j, "drill");
		if (s->have_drill) {
			json_obj_begin(&j);
			json_kv_str(&j, "status", policy_verdict_name(s->drill_verdict));
			json_kv_int(&j, "time_ns", s->drill.time_ns);
			json_kv_bool(&j, "ok", s->drill.ok);
			json_key(&j, "projected");
			json_double(&j, s->drill.projected);
			json_key(&j, "cumulative");
			json_double(&j, s->drill.cumulative);
			json_kv_str(&j, "error", s->drill.error);
			json_obj_end(&j);
		} else {
			json_null(&j);
		}
		if (s->error[0])
			json_kv_str(&j, "error", s->error);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	fputc('\n', stdout);
}

static void
status_nagios(struct dataset_status *st, size_t n, enum policy_verdict worst)
{
	size_t cnt[4] = { 0 };
	int first = 1;

	for (size_t i = 0; i < n; i++)
		cnt[st[i].verdict]++;
	printf("MAMORI %s - %zu datasets: %zu critical, %zu warning, %zu unknown, %zu ok",
	       policy_verdict_name(worst), n, cnt[2], cnt[1], cnt[3], cnt[0]);
	for (size_t i = 0; i < n; i++) {
		if (st[i].verdict == VERDICT_OK)
			continue;
		printf("%s%s: %s", first ? "; " : ", ", st[i].d->name, st[i].reason);
		first = 0;
	}
	printf(" |");
	for (size_t i = 0; i < n; i++) {
		const struct dataset_status *s = &st[i];
		long long w = (long long)(s->d->rpo * 8 / 10);
		if (s->have_snapshot)
			printf(" '%s_age'=%llds;%lld;%lld;0", s->d->name, (long long)s->age, w,
			       (long long)s->d->rpo);
		else
			printf(" '%s_age'=Us;%lld;%lld;0", s->d->name, w, (long long)s->d->rpo);
		if (s->d->copy_to && s->have_offsite)
			printf(" '%s_offsite_age'=%llds;%lld;%lld;0", s->d->name,
			       (long long)s->offsite_age, w, (long long)s->d->rpo);
		else if (s->d->copy_to)
			printf(" '%s_offsite_age'=Us;%lld;%lld;0", s->d->name, w, (long long)s->d->rpo);
		if (s->have_drill && s->drill.ok && s->d->rto > 0)
			printf(" '%s_restore'=%.0fs;%lld;%lld;0", s->d->name, s->drill.cumulative,
			       (long long)(s->d->rto * 8 / 10), (long long)s->d->rto);
	}
	printf("\n");
}

static void
status_text(struct dataset_status *st, size_t n, enum policy_verdict worst)
{
	size_t cnt[4] = { 0 };
	char a[32], b[32], t[40];

	for (size_t i = 0; i < n; i++)
		cnt[st[i].verdict]++;
	printf("%s: %zu datasets, %zu critical, %zu warning, %zu unknown, %zu ok\n",
	       policy_verdict_name(worst), n, cnt[2], cnt[1], cnt[3], cnt[0]);
	for (size_t i = 0; i < n; i++) {
		const struct dataset_status *s = &st[i];
		const struct policy_dataset *d = s->d;

		printf("\n%s (priority %lld): %s: %s\n", d->name, (long long)d->priority,
		       policy_verdict_name(s->verdict), s->reason);
		if (s->error[0])
			continue;
		age_text(d->rpo, b, sizeof(b));
		if (s->have_snapshot) {
			age_text(s->age, a, sizeof(a));
			time_format_utc(s->snapshot_ns, t, sizeof(t));
			printf("  backup   %s: snapshot %.8s of %s, %s ago (RPO %s)\n",
			       policy_verdict_name(s->backup_verdict), s->snapshot, t, a, b);
		} else {
			printf("  backup   CRITICAL: never backed up (RPO %s)\n", b);
		}
		if (d->copy_to && s->have_offsite) {
			age_text(s->offsite_age, a, sizeof(a));
			time_format_utc(s->offsite_ns, t, sizeof(t));
			age_text(d->rpo, b, sizeof(b));
			printf("  offsite  %s: copy in %s of %s, %s old (RPO %s)\n",
			       policy_verdict_name(s->offsite_verdict), d->copy_to->name, t, a, b);
		} else if (d->copy_to && s->offsite_error[0]) {
			printf("  offsite  %s: %s cannot be read: %s\n",
			       policy_verdict_name(s->offsite_verdict), d->copy_to->name, s->offsite_error);
		} else if (d->copy_to) {
			printf("  offsite  %s: never copied to %s\n", policy_verdict_name(s->offsite_verdict),
			       d->copy_to->name);
		}
		if (d->has_check) {
			if (s->st.check_ns == 0) {
				printf("  check    %s: never checked (%s)\n",
				       policy_verdict_name(s->check_verdict), d->check_when.text);
			} else {
				time_format_utc(s->st.check_ns, t, sizeof(t));
				printf("  check    %s: %s at %s (%s)\n", policy_verdict_name(s->check_verdict),
				       s->st.check_ok ? "no problems" : "problems found", t,
				       d->check_when.text);
			}
		}
		age_text(d->rto, b, sizeof(b));
		if (s->have_drill && s->drill.ok) {
			time_format_utc(s->drill.time_ns, t, sizeof(t));
			age_text((int64_t)(s->drill.cumulative + 0.5), a, sizeof(a));
			printf("  drill    %s: projected restore %s from the start of the plan "
			       "(drill of %s; RTO %s)\n", policy_verdict_name(s->drill_verdict), a, t,
			       d->rto ? b : "none");
		} else if (s->have_drill) {
			printf("  drill    CRITICAL: the last drill failed: %s\n", s->drill.error);
		} else {
			printf("  drill    no drill yet (RTO %s)\n", d->rto ? b : "none");
		}
	}
}

int
cmd_status(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ "nagios", no_argument, NULL, OPT_NAGIOS },
		{ NULL, 0, NULL, 0 },
	};
	struct pcli pc;
	const struct policy_dataset **ds = NULL;
	struct dataset_status *st = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	enum policy_verdict worst = VERDICT_OK;
	size_t n = 0;
	int ch, rc, nagios = 0, json = cl->json;

	pcli_init(&pc, cl);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(&pc, ch))
			continue;
		if (ch == OPT_JSON)
			json = 1;
		else if (ch == OPT_NAGIOS)
			nagios = 1;
		else {
			rc = cli_usage(cl, "status", "unknown option");
			goto out;
		}
	}
	if ((rc = pcli_load(&pc, "status")) != 0) {
		if (nagios) /* a plugin that cannot tell says UNKNOWN */
			printf("MAMORI UNKNOWN - cannot read the policy (see the error)\n");
		rc = nagios ? VERDICT_UNKNOWN : rc;
		goto out;
	}
	if ((rc = select_ds(&pc, argc, argv, &ds, &n)) != 0)
		goto out;
	if ((st = calloc(n ? n : 1, sizeof(*st))) == NULL) {
		rc = cli_fail(cl, MM_ENOMEM, NULL);
		goto out;
	}
	if ((rc = policy_status(&pc.p, ds, n, pc.password, st, &c)) != 0) {
		rc = cli_fail(cl, rc, &c);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (st[i].verdict > worst)
			worst = st[i].verdict;
	if (nagios)
		status_nagios(st, n, worst);
	else if (json)
		status_json(st, n, worst);
	else
		status_text(st, n, worst);
	rc = (int)worst;
out:
	for (size_t i = 0; st && i < n; i++)
		dataset_status_release(&st[i]);
	free(st);
	free(ds);
	pcli_release(&pc);
	return rc;
}

/* ---- drill ------------------------------------------------------------------ */
int
cmd_drill(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "nagios", no_argument, NULL, OPT_NAGIOS },
		{ "offsite", no_argument, NULL, OPT_OFFSITE },
		{ NULL, 0, NULL, 0 },
	};
	struct pcli pc;
	const struct policy_dataset **ds = NULL;
	struct drill_record *rec = NULL;
	struct drill_opts o;
	struct mm_ctx c = MM_CTX_INIT;
	size_t n = 0;
	int ch, rc, nagios = 0, failed = 0, missed = 0;
	char err[300];

	pcli_init(&pc, cl);
	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(&pc, ch))
			continue;
		if (ch == OPT_TARGET)
			o.target = optarg;
		else if (ch == OPT_OFFSITE)
			o.offsite = 1;
		else if (ch == OPT_NAGIOS)
			nagios = 1;
		else if (ch == OPT_SAMPLE) {
			char pct[64];
			snprintf(pct, sizeof(pct), "%s%s", optarg,
				 optarg[0] && optarg[strlen(optarg) - 1] == '%' ? "" : "%");
			if (conf_parse_percent(pct, &o.sample, err, sizeof(err)) != 0 || o.sample == 0) {
				rc = cli_usage(cl, "drill", "--sample takes a percentage above 0 and up to "
					       "100, such as 10");
				goto out;
			}
		} else {
			rc = cli_usage(cl, "drill", "unknown option");
			goto out;
		}
	}
	if ((rc = pcli_load(&pc, "drill")) != 0 || (rc = select_ds(&pc, argc, argv, &ds, &n)) != 0)
		goto out;
	if ((rec = calloc(n ? n : 1, sizeof(*rec))) == NULL) {
		rc = cli_fail(cl, MM_ENOMEM, NULL);
		goto out;
	}
	o.password = pc.password;
	o.rep.warn = nagios ? NULL : cli_warn; /* a plugin prints one line */
	o.rep.arg = cl;
	if ((rc = policy_drill(&pc.p, ds, n, &o, rec, &c)) != 0) {
		rc = cli_fail(cl, rc, &c);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!rec[i].ok)
			failed = 1;
		else if (ds[i]->rto > 0 && rec[i].cumulative > (double)ds[i]->rto)
			missed = 1;
	}
	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		json_arr_begin(&j);
		for (size_t i = 0; i < n; i++) {
			json_obj_begin(&j);
			json_kv_str(&j, "dataset", rec[i].dataset);
			json_kv_int(&j, "priority", ds[i]->priority);
			json_kv_bool(&j, "ok", rec[i].ok);
			json_kv_str(&j, "error", rec[i].error);
			json_kv_str(&j, "snapshot", rec[i].snapshot);
			json_kv_uint(&j, "files", rec[i].files);
			json_kv_uint(&j, "bytes", rec[i].bytes);
			json_kv_uint(&j, "bytes_total", rec[i].bytes_total);
			json_key(&j, "sample");
			json_double(&j, rec[i].sample);
			json_key(&j, "seconds");
			json_double(&j, rec[i].seconds);
			json_key(&j, "projected");
			json_double(&j, rec[i].projected);
			json_key(&j, "cumulative");
			json_double(&j, rec[i].cumulative);
			json_kv_int(&j, "rto", ds[i]->rto);
			json_kv_bool(&j, "rto_met", rec[i].ok && (ds[i]->rto == 0 ||
						   rec[i].cumulative <= (double)ds[i]->rto));
			json_obj_end(&j);
		}
		json_arr_end(&j);
		fputc('\n', stdout);
	} else if (nagios) {
		printf("MAMORI DRILL %s - %zu datasets", failed ? "CRITICAL" : missed ? "WARNING" : "OK", n);
		for (size_t i = 0; i < n; i++)
			if (!rec[i].ok)
				printf("; %s: %s", rec[i].dataset, rec[i].error);
		printf(" |");
		for (size_t i = 0; i < n; i++)
			if (rec[i].ok)
				printf(" '%s_restore'=%.0fs;;%lld;0", rec[i].dataset, rec[i].cumulative,
				       (long long)ds[i]->rto);
		printf("\n");
	} else if (!cl->quiet) {
		for (size_t i = 0; i < n; i++) {
			char bytes[32], rate[32], rto[32];

			if (!rec[i].ok) {
				printf("%s (priority %lld): FAILED: %s\n", rec[i].dataset,
				       (long long)ds[i]->priority, rec[i].error);
				continue;
			}
			fmt_bytes(rec[i].bytes, bytes, sizeof(bytes));
			fmt_bytes(rec[i].seconds > 0 ? (uint64_t)((double)rec[i].bytes / rec[i].seconds) : 0,
				  rate, sizeof(rate));
			conf_format_duration(ds[i]->rto, rto, sizeof(rto));
			printf("%s (priority %lld): snapshot %.8s: %llu files, %s restored in %.2f s "
			       "(%s/s) and verified, %.0f%% sample\n", rec[i].dataset,
			       (long long)ds[i]->priority, rec[i].snapshot,
			       (unsigned long long)rec[i].files, bytes, rec[i].seconds, rate, rec[i].sample);
			printf("  projected full restore %.2f s, plan so far %.2f s: RTO %s %s\n",
			       rec[i].projected, rec[i].cumulative, ds[i]->rto ? rto : "none",
			       ds[i]->rto == 0 ? "(none set)" :
			       rec[i].cumulative <= (double)ds[i]->rto ? "met" : "MISSED");
		}
	}
	if (nagios)
		rc = failed ? VERDICT_CRITICAL : missed ? VERDICT_WARNING : VERDICT_OK;
	else
		rc = failed ? EXIT_DRILL_FAILED : missed ? EXIT_RTO_MISSED : EXIT_OK;
out:
	for (size_t i = 0; rec && i < n; i++)
		drill_record_release(&rec[i]);
	free(rec);
	free(ds);
	pcli_release(&pc);
	return rc;
}

/* ---- plan ---------------------------------------------------------------------- */
int
cmd_plan(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ NULL, 0, NULL, 0 },
	};
	struct pcli pc;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, rc, json = cl->json, e;

	pcli_init(&pc, cl);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(&pc, ch))
			continue;
		if (ch == OPT_FORMAT && strcmp(optarg, "json") == 0)
			json = 1;
		else if (ch == OPT_FORMAT && strcmp(optarg, "markdown") == 0)
			json = 0;
		else if (ch == OPT_FORMAT) {
			rc = cli_usage(cl, "plan", "--format takes markdown or json");
			goto out;
		} else {
			rc = cli_usage(cl, "plan", "unknown option");
			goto out;
		}
	}
	if (optind < argc) {
		rc = cli_usage(cl, "plan", "takes no arguments");
		goto out;
	}
	if ((rc = pcli_load(&pc, "plan")) != 0)
		goto out;
	if ((e = policy_plan(&pc.p, pc.password, pc.config, json, &b, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	fwrite(b.data, 1, b.len, stdout);
	rc = EXIT_OK;
out:
	buf_release(&b);
	pcli_release(&pc);
	return rc;
}

/* ---- systemd ------------------------------------------------------------------ */
int
cmd_systemd(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS,
		{ "unit-dir", required_argument, NULL, OPT_UNIT_DIR },
		{ NULL, 0, NULL, 0 },
	};
	struct pcli pc;
	struct unit_file *u = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	const char *dir = "/etc/systemd/system", *action;
	char exe[PATH_MAX], cfg[PATH_MAX];
	ssize_t len;
	size_t n = 0;
	int ch, rc, e;

	pcli_init(&pc, cl);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (common_opt(&pc, ch))
			continue;
		if (ch == OPT_UNIT_DIR)
			dir = optarg;
		else {
			rc = cli_usage(cl, "systemd", "unknown option");
			goto out;
		}
	}
	if (optind + 1 != argc || (strcmp(argv[optind], "print") != 0 &&
				   strcmp(argv[optind], "install") != 0)) {
		rc = cli_usage(cl, "systemd", "print or install? e.g. mamori systemd print");
		goto out;
	}
	action = argv[optind];
	optind = argc; /* no dataset selection */
	if ((rc = pcli_load(&pc, "systemd")) != 0)
		goto out;
	if ((len = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
		snprintf(exe, sizeof(exe), "/usr/local/bin/mamori");
	else
		exe[len] = '\0';
	if (realpath(pc.config, cfg) == NULL)
		snprintf(cfg, sizeof(cfg), "%s", pc.config);
	if ((e = policy_units(&pc.p, exe, cfg, &u, &n, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (n == 0) {
		fprintf(stderr, "%s: no dataset has a schedule and there is no check: nothing to "
				"write\n", cl->prog);
		rc = EXIT_OK;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char *path;

		if (strcmp(action, "print") == 0) {
			printf("%s# %s/%s\n", i ? "\n" : "", dir, u[i].name);
			fwrite(u[i].text.data, 1, u[i].text.len, stdout);
			continue;
		}
		if ((e = mkdir_p(dir, 0755, &c)) != 0) {
			rc = cli_fail(cl, e, &c);
			goto out;
		}
		if ((path = path_join(dir, u[i].name)) == NULL) {
			rc = cli_fail(cl, MM_ENOMEM, NULL);
			goto out;
		}
		e = file_write_atomic(path, u[i].text.data, u[i].text.len, 0644, &c);
		if (e == 0 && !cl->quiet)
			printf("wrote %s\n", path);
		free(path);
		if (e != 0) {
			rc = cli_fail(cl, e, &c);
			goto out;
		}
	}
	if (strcmp(action, "install") == 0 && !cl->quiet) {
		printf("now: systemctl daemon-reload && systemctl enable --now");
		for (size_t i = 0; i < n; i++)
			if (strstr(u[i].name, ".timer") || strcmp(u[i].name, "mamori-monitor.service") == 0)
				printf(" %s", u[i].name);
		printf("\n");
	}
	rc = EXIT_OK;
out:
	policy_units_free(u, n);
	pcli_release(&pc);
	return rc;
}

/* ---- the report's datasets --------------------------------------------------- */
int
cli_policy_report(struct cli *cl, struct report *rep)
{
	struct pcli pc;
	const struct policy_dataset **ds = NULL;
	struct dataset_status *st = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	size_t n = 0, i;
	int rc = 0, e;

	pcli_init(&pc, cl);
	if (access(pc.config, F_OK) != 0)
		return 0; /* no configuration: the section says "not configured" */
	if (pcli_load(&pc, "report") != 0)
		goto out; /* the error is printed; the report goes on without it */
	if ((ds = calloc(pc.p.nds ? pc.p.nds : 1, sizeof(*ds))) == NULL ||
	    (st = calloc(pc.p.nds ? pc.p.nds : 1, sizeof(*st))) == NULL) {
		rc = MM_ENOMEM;
		goto out;
	}
	if (policy_select(&pc.p, NULL, 0, ds, &n, &c) != 0 ||
	    policy_status(&pc.p, ds, n, pc.password, st, &c) != 0) {
		fprintf(stderr, "%s: warning: datasets: %s\n", cl->prog, c.msg);
		n = 0;
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++) {
		struct report_dataset d;

		memset(&d, 0, sizeof(d));
		d.name = st[i].d->name;
		d.rpo_ns = st[i].d->rpo * INT64_C(1000000000);
		d.rto_ns = st[i].d->rto * INT64_C(1000000000);
		d.last_backup_ns = st[i].have_snapshot ? st[i].snapshot_ns : 0;
		d.last_offsite_ns = st[i].st.copy_ok ? st[i].st.copy_ns : 0;
		if (st[i].have_drill) {
			d.last_drill_ns = st[i].drill.time_ns;
			/* the whole dataset's restore time, projected from the drill */
			d.drill_restore_ns = (int64_t)(st[i].drill.projected * 1e9);
		}
		d.status = policy_verdict_name(st[i].verdict);
		if ((e = report_add_dataset(rep, &d)) != 0)
			rc = e;
	}
out:
	for (i = 0; st != NULL && i < n; i++)
		dataset_status_release(&st[i]);
	free(st);
	free(ds);
	pcli_release(&pc);
	return rc;
}

/* ---- incidents: the RTO of the datasets they affect ----------------------------- */
int
cli_dataset_rto(const char *dataset, int64_t *rto_ns, void *arg)
{
	struct pcli pc;
	struct mm_ctx c = MM_CTX_INIT;
	const struct policy_dataset *d;
	int e = MM_ENOENT;

	pcli_init(&pc, arg);
	if (access(pc.config, F_OK) != 0)
		return MM_ENOENT;
	pc.p.state_dir = pc.state_dir;
	/* Quietly: a broken file is reported by the commands that use it. */
	if (cli_conf_schema(&pc.schema) != 0 || policy_load(&pc.schema, pc.config, &pc.p, &c) != 0)
		return MM_ENOENT;
	pc.loaded = 1;
	if ((d = policy_find(&pc.p, dataset)) != NULL && d->rto > 0) {
		*rto_ns = d->rto * 1000000000;
		e = 0;
	}
	pcli_release(&pc);
	return e;
}
