/*
 * mamori incident: open, note, action, recover, resolve, list, show, and
 * alert (the entry the monitoring module uses). docs/incidents.md.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ledger/ledger.h"

#define DATASETS_MAX 16

static int
parse_time_opt(const struct cli *cl, struct ledger *lg, const char *cmd, const char *opt,
	       const char *s, int64_t *out)
{
	if (ledger_parse_time(s, ledger_now(lg), out) != 0)
		return cli_usage(cl, cmd, "%s: not a time: %s (e.g. 2026-12-01T09:30:00+09:00)", opt, s);
	return 0;
}

/* The words from argv[first] on, joined by spaces. */
static int
join_text(int argc, char **argv, int first, char *out, size_t n)
{
	size_t len = 0;
	int i, w;

	out[0] = '\0';
	for (i = first; i < argc; i++) {
		w = snprintf(out + len, n - len, "%s%s", i > first ? " " : "", argv[i]);
		if (w < 0 || (size_t)w >= n - len)
			return -1;
		len += (size_t)w;
	}
	return 0;
}

static int
inc_open(struct cli *cl, struct ledger *lg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "title", required_argument, NULL, 't' },
		{ "severity", required_argument, NULL, 's' },
		{ "scope", required_argument, NULL, 'S' },
		{ "occurred", required_argument, NULL, 'o' },
		{ "detected", required_argument, NULL, 'd' },
		{ "rto", required_argument, NULL, 'R' },
		{ "dataset", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ds[DATASETS_MAX];
	struct incident_open o;
	struct mm_ctx c = MM_CTX_INIT;
	char id[32];
	int ch, e;

	memset(&o, 0, sizeof(o));
	o.datasets = ds;
	while ((ch = getopt_long(argc, argv, "t:s:", opts, NULL)) != -1) {
		switch (ch) {
		case 't': o.title = optarg; break;
		case 'S': o.scope = optarg; break;
		case 's':
			if (strlen(optarg) != 1 || optarg[0] < '1' || optarg[0] > '4')
				return cli_usage(cl, "incident open", "--severity is 1 (highest) to 4");
			o.severity = optarg[0] - '0';
			break;
		case 'o':
			if ((e = parse_time_opt(cl, lg, "incident open", "--occurred", optarg,
						&o.occurred_ns)) != 0)
				return e;
			break;
		case 'd':
			if ((e = parse_time_opt(cl, lg, "incident open", "--detected", optarg,
						&o.detected_ns)) != 0)
				return e;
			break;
		case 'R':
			if (ledger_parse_duration(optarg, &o.rto_ns) != 0 || o.rto_ns <= 0)
				return cli_usage(cl, "incident open", "--rto: a duration such as 4h or 90m");
			break;
		case 'D':
			if (o.ndatasets == DATASETS_MAX)
				return cli_usage(cl, "incident open", "at most %d --dataset", DATASETS_MAX);
			ds[o.ndatasets++] = optarg;
			break;
		default: return cli_usage(cl, "incident open", "unknown option");
		}
	}
	if (o.title == NULL || optind != argc)
		return cli_usage(cl, "incident open", "give --title TEXT (and no other arguments)");
	if (o.detected_ns == 0)
		o.detected_ns = ledger_now(lg);
	if ((e = ledger_incident_open(lg, &o, id, &c)) != 0)
		return cli_fail(cl, e, &c);
	if (cl->json)
		printf("{\"id\":\"%s\"}\n", id);
	else if (!cl->quiet)
		printf("%s opened\n", id);
	return EXIT_OK;
}

static int
inc_note(struct cli *cl, struct ledger *lg, int argc, char **argv, int action)
{
	static const struct option opts[] = {
		{ "owner", required_argument, NULL, 'o' },
		{ "due", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = action ? "incident action" : "incident note";
	const char *owner = NULL, *due = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	char text[LEDGER_TEXT_MAX];
	int ch, e;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': owner = optarg; break;
		case 'd': due = optarg; break;
		default: return cli_usage(cl, cmd, "unknown option");
		}
	}
	if ((owner || due) && !action)
		return cli_usage(cl, cmd, "--owner and --due belong to 'incident action'");
	if (argc - optind < 2)
		return cli_usage(cl, cmd, "give the incident and the text, e.g. %s INC-12 \"...\"", cmd);
	if (join_text(argc, argv, optind + 1, text, sizeof(text)) != 0)
		return cli_usage(cl, cmd, "the text is longer than %d bytes", LEDGER_TEXT_MAX - 1);
	e = action ? ledger_incident_action(lg, argv[optind], text, owner, due, &c) :
		     ledger_incident_note(lg, argv[optind], text, &c);
	if (e != 0)
		return cli_fail(cl, e, &c);
	if (!cl->quiet && !cl->json)
		printf("%s recorded\n", action ? "action" : "note");
	return EXIT_OK;
}

static int
inc_recover(struct cli *cl, struct ledger *lg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct mm_ctx c = MM_CTX_INIT;
	char text[LEDGER_TEXT_MAX];
	int64_t at = 0;
	int ch, e;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if ((e = parse_time_opt(cl, lg, "incident recover", "--at", optarg, &at)) != 0)
				return e;
			break;
		default: return cli_usage(cl, "incident recover", "unknown option");
		}
	}
	if (argc - optind < 1)
		return cli_usage(cl, "incident recover", "which incident?");
	if (join_text(argc, argv, optind + 1, text, sizeof(text)) != 0)
		return cli_usage(cl, "incident recover", "the text is too long");
	if ((e = ledger_incident_recover(lg, argv[optind], at, text[0] ? text : NULL, &c)) != 0)
		return cli_fail(cl, e, &c);
	if (!cl->quiet && !cl->json)
		printf("recovery recorded\n");
	return EXIT_OK;
}

static int
inc_resolve(struct cli *cl, struct ledger *lg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cause", required_argument, NULL, 'c' },
		{ "prevention", required_argument, NULL, 'p' },
		{ "owner", required_argument, NULL, 'o' },
		{ "recovered", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cause = NULL, *prev = NULL, *owner = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int64_t rec = 0;
	int ch, e;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cause = optarg; break;
		case 'p': prev = optarg; break;
		case 'o': owner = optarg; break;
		case 'r':
			if ((e = parse_time_opt(cl, lg, "incident resolve", "--recovered", optarg,
						&rec)) != 0)
				return e;
			break;
		default: return cli_usage(cl, "incident resolve", "unknown option");
		}
	}
	if (argc - optind != 1 || cause == NULL || prev == NULL)
		return cli_usage(cl, "incident resolve", "give ID --cause TEXT --prevention TEXT");
	if ((e = ledger_incident_resolve(lg, argv[optind], cause, prev, owner, rec, &c)) != 0)
		return cli_fail(cl, e, &c);
	if (!cl->quiet && !cl->json)
		printf("%s resolved\n", argv[optind]);
	return EXIT_OK;
}

static void
fmt_time(int64_t ns, char *out, size_t n)
{
	if (ns == 0)
		snprintf(out, n, "-");
	else
		time_format_local(ns, out, n);
}

static void
fmt_dur(int64_t ns, char *out, size_t n)
{
	if (ns < 0)
		snprintf(out, n, "-");
	else
		ledger_format_duration(ns, out, n);
}

static void
json_time(struct json *j, const char *k, int64_t ns)
{
	char t[40];

	json_key(j, k);
	if (ns == 0) {
		json_null(j);
		return;
	}
	time_format_utc(ns, t, sizeof(t));
	json_str(j, t);
}

static void
json_incident(struct json *j, const struct incident *in, struct cli *cl)
{
	struct incident_figures f;
	size_t i;

	incident_figures(in, cli_dataset_rto, cl, &f);
	json_obj_begin(j);
	json_kv_str(j, "id", in->id);
	json_kv_str(j, "state", incident_state_name(in->state));
	json_kv_str(j, "title", in->title);
	json_kv_int(j, "severity", in->severity);
	json_kv_str(j, "scope", in->scope);
	if (in->check[0])
		json_kv_str(j, "check", in->check);
	json_key(j, "datasets");
	json_arr_begin(j);
	for (i = 0; i < in->ndatasets; i++)
		json_str(j, in->datasets[i]);
	json_arr_end(j);
	json_time(j, "occurred", in->occurred_ns);
	json_time(j, "detected", in->detected_ns);
	json_time(j, "recovered", in->recovered_ns);
	json_time(j, "resolved", in->resolved_ns);
	json_key(j, "time_to_detect_s");
	f.ttd_ns >= 0 ? json_int(j, f.ttd_ns / 1000000000) : json_null(j);
	json_key(j, "time_to_recover_s");
	f.ttr_ns >= 0 ? json_int(j, f.ttr_ns / 1000000000) : json_null(j);
	json_key(j, "rto_s");
	f.rto_ns > 0 ? json_int(j, f.rto_ns / 1000000000) : json_null(j);
	json_key(j, "rto_met");
	f.rto_met >= 0 ? json_bool(j, f.rto_met) : json_null(j);
	json_kv_str(j, "cause", in->cause);
	json_kv_str(j, "prevention", in->prevention);
	json_kv_str(j, "prevention_owner", in->prevention_owner);
	json_key(j, "timeline");
	json_arr_begin(j);
	for (i = 0; i < in->nev; i++) {
		const struct incident_event *e = &in->ev[i];

		json_obj_begin(j);
		json_kv_uint(j, "seq", e->seq);
		json_time(j, "time", e->at_ns);
		json_kv_str(j, "event", e->kind);
		json_kv_str(j, "text", e->text);
		if (e->owner[0])
			json_kv_str(j, "owner", e->owner);
		if (e->due[0])
			json_kv_str(j, "due", e->due);
		json_kv_str(j, "user", e->user);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void
print_incident(const struct incident *in, struct cli *cl)
{
	struct incident_figures f;
	char a[40], b[40], d[40];
	size_t i;

	incident_figures(in, cli_dataset_rto, cl, &f);
	printf("%s  %s  severity %d\n", in->id, incident_state_name(in->state), in->severity);
	printf("title:      %s\n", in->title);
	if (in->scope[0])
		printf("scope:      %s\n", in->scope);
	for (i = 0; i < in->ndatasets; i++)
		printf("dataset:    %s\n", in->datasets[i]);
	fmt_time(in->occurred_ns, a, sizeof(a));
	fmt_time(in->detected_ns, b, sizeof(b));
	printf("occurred:   %s\ndetected:   %s\n", a, b);
	fmt_time(in->recovered_ns, a, sizeof(a));
	fmt_time(in->resolved_ns, b, sizeof(b));
	printf("recovered:  %s\nresolved:   %s\n", a, b);
	fmt_dur(f.ttd_ns, a, sizeof(a));
	fmt_dur(f.ttr_ns, b, sizeof(b));
	fmt_dur(f.rto_ns, d, sizeof(d));
	printf("time to detect: %s, time to recover: %s, RTO: %s%s\n", a, b, d,
	       f.rto_met == 1 ? " (met)" : f.rto_met == 0 ? " (EXCEEDED)" : "");
	if (in->cause[0])
		printf("cause:      %s\n", in->cause);
	if (in->prevention[0])
		printf("prevention: %s%s%s%s\n", in->prevention, in->prevention_owner[0] ? " (owner " : "",
		       in->prevention_owner, in->prevention_owner[0] ? ")" : "");
	printf("timeline:\n");
	for (i = 0; i < in->nev; i++) {
		const struct incident_event *e = &in->ev[i];

		fmt_time(e->at_ns, a, sizeof(a));
		printf("  %s  %-8s %s", a, e->kind, e->text);
		if (e->owner[0])
			printf(" [owner %s]", e->owner);
		if (e->due[0])
			printf(" [due %s]", e->due);
		printf("  (%s, record %" PRIu64 ")\n", e->user, e->seq);
	}
}

static int
inc_list_show(struct cli *cl, struct ledger *lg, int argc, char **argv, int show)
{
	static const struct option opts[] = {
		{ "open", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct mm_ctx c = MM_CTX_INIT;
	struct incident *v = NULL, *in;
	struct json j;
	size_t n = 0, i;
	int ch, e, only_open = 0, rc = EXIT_OK;
	char t[40];

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': only_open = 1; break;
		case 'j': cl->json = 1; break;
		default: return cli_usage(cl, show ? "incident show" : "incident list", "unknown option");
		}
	}
	if (show ? argc - optind != 1 : argc != optind)
		return cli_usage(cl, show ? "incident show" : "incident list",
				 show ? "which incident? e.g. INC-12" : "no arguments");
	if ((e = ledger_incidents(lg, &v, &n, &c)) != 0)
		return cli_fail(cl, e, &c);
	json_init(&j, stdout);
	if (show) {
		if ((in = incident_find(v, n, argv[optind])) == NULL) {
			rc = cli_fail(cl, mm_fail(&c, MM_ENOENT, "no incident %s in the ledger",
						  argv[optind]), &c);
		} else if (cl->json) {
			json_incident(&j, in, cl);
			fputc('\n', stdout);
		} else {
			print_incident(in, cl);
		}
		incidents_free(v, n);
		return rc;
	}
	if (cl->json)
		json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		if (only_open && v[i].state == INCIDENT_RESOLVED)
			continue;
		if (cl->json) {
			json_incident(&j, &v[i], cl);
			continue;
		}
		fmt_time(v[i].detected_ns, t, sizeof(t));
		printf("%-8s  %-9s  sev %d  %s  %s\n", v[i].id, incident_state_name(v[i].state),
		       v[i].severity, t, v[i].title);
	}
	if (cl->json) {
		json_arr_end(&j);
		fputc('\n', stdout);
	}
	incidents_free(v, n);
	return rc;
}

static int
inc_alert(struct cli *cl, struct ledger *lg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", required_argument, NULL, 'c' },
		{ "state", required_argument, NULL, 's' },
		{ "message", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *check = NULL, *msg = "", *what;
	struct mm_ctx c = MM_CTX_INIT;
	char id[32];
	int ch, e, st = -1;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': check = optarg; break;
		case 's':
			if ((st = alert_state_parse(optarg)) < 0)
				return cli_usage(cl, "incident alert", "--state is OK, WARNING, CRITICAL "
						 "or UNKNOWN");
			break;
		case 'm': msg = optarg; break;
		default: return cli_usage(cl, "incident alert", "unknown option");
		}
	}
	if (check == NULL || st < 0 || optind != argc)
		return cli_usage(cl, "incident alert", "give --check NAME --state STATE [--message M]");
	if ((e = ledger_incident_alert(lg, check, st, msg, id, &what, &c)) != 0)
		return cli_fail(cl, e, &c);
	if (!cl->quiet && !cl->json)
		printf("%s%s%s\n", what, id[0] ? " " : "", id);
	return EXIT_OK;
}

int
cmd_incident(struct cli *cl, int argc, char **argv)
{
	struct ledger *lg = NULL;
	const char *sub = argc > 1 ? argv[1] : "";
	int rc, reads = strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0;

	if (!reads && strcmp(sub, "open") != 0 && strcmp(sub, "note") != 0 &&
	    strcmp(sub, "action") != 0 && strcmp(sub, "recover") != 0 &&
	    strcmp(sub, "resolve") != 0 && strcmp(sub, "alert") != 0)
		return cli_usage(cl, "incident", "which? open, note, action, recover, resolve, list, "
				 "show or alert");
	if ((rc = cli_ledger_open(cl, !reads, &lg)) != 0)
		return rc;
	argc--;
	argv++;
	if (strcmp(sub, "open") == 0)
		rc = inc_open(cl, lg, argc, argv);
	else if (strcmp(sub, "note") == 0)
		rc = inc_note(cl, lg, argc, argv, 0);
	else if (strcmp(sub, "action") == 0)
		rc = inc_note(cl, lg, argc, argv, 1);
	else if (strcmp(sub, "recover") == 0)
		rc = inc_recover(cl, lg, argc, argv);
	else if (strcmp(sub, "resolve") == 0)
		rc = inc_resolve(cl, lg, argc, argv);
	else if (strcmp(sub, "alert") == 0)
		rc = inc_alert(cl, lg, argc, argv);
	else
		rc = inc_list_show(cl, lg, argc, argv, strcmp(sub, "show") == 0);
	ledger_free(lg);
	return rc;
}
