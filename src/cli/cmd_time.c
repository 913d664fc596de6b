/* time check | status | lint: parsing and printing around src/timesync. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "timesync/timesync.h"

static const char *const nagios_word[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

/* "2", "2s", "500ms", "1.5" (seconds); *out in seconds, > 0 unless zero_ok. */
static int
parse_seconds(const char *s, int allow_negative, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || !isfinite(v))
		return -1;
	if (strcmp(end, "ms") == 0)
		v /= 1000;
	else if (strcmp(end, "s") != 0 && *end != '\0')
		return -1;
	if (!allow_negative && v < 0)
		return -1;
	*out = v;
	return 0;
}

static void
ms(char *out, size_t n, int have, double v, int sign)
{
	if (!have)
		snprintf(out, n, "-");
	else
		snprintf(out, n, sign ? "%+.3f" : "%.3f", v * 1000);
}

static const char *
cause_name(enum ts_cause c)
{
	switch (c) {
	case TS_CAUSE_NONE: return NULL;
	case TS_CAUSE_TIMEOUT: return "timeout";
	case TS_CAUSE_REFUSED: return "port-unreachable";
	case TS_CAUSE_BOGUS: return "bogus-replies";
	case TS_CAUSE_OTHER_ADDR: return "other-address";
	case TS_CAUSE_NETWORK: return "network";
	}
	return NULL;
}

/* "offset +0.000012 s from 2 of 3 sources" and the step advice. */
static void
summary(const struct ts_result *r, char *out, size_t n)
{
	size_t usable = 0;

	for (size_t i = 0; i < r->n; i++)
		usable += r->src[i].have_sample;
	if (!r->have_offset) {
		const struct ts_source *s = r->n ? &r->src[0] : NULL;
		char adv[700] = "";
		if (s)
			ts_source_advice(s, adv, sizeof(adv));
		if (r->n == 1)
			snprintf(out, n, "no usable time source: %s: %s", s->name, adv);
		else
			snprintf(out, n, "no usable time source among %zu (%zu answered); see "
				 "the table", r->n, usable);
		return;
	}
	if (r->step_needed)
		snprintf(out, n, "offset %+.6f s from %zu of %zu sources; the clock is so far "
			 "off that a step, not a slew, is needed (a 500 ppm slew would take "
			 "%.1f hours): step it once (chronyc makestep, or ntpd -g at start) and "
			 "find why it drifted", r->offset, r->survivors, r->n,
			 r->slew_seconds / 3600);
	else
		snprintf(out, n, "offset %+.6f s from %zu of %zu sources", r->offset,
			 r->survivors, r->n);
}

static void
print_table(const struct ts_result *r, int verbose)
{
	if (verbose)
		printf("  .- NAME: as configured or given; ADDRESS: the one asked\n"
		       "  |  ST: stratum (1 = next to a reference clock, 16 = unsynchronised)\n"
		       "  |  REACH: valid replies / requests sent\n"
		       "  |  DELAY, OFFSET (+: the server is ahead of us), JITTER: of the\n"
		       "  |  least-delay sample, in milliseconds\n"
		       "  |  ROOTDIST: root delay/2 + root dispersion + delay/2 + dispersion\n"
		       "  |  REFID: the server's reference (text at stratum 1, else an address)\n"
		       "  '- VERDICT: good, unresolved, unreachable, kiss-o'-death, unsynchronised,\n"
		       "     too far, falseticker, no majority (docs/time.md)\n\n");
	if (r->config_file[0])
		printf("Servers from %s\n", r->config_file);
	printf("%-24s %-22s %2s %5s %10s %11s %10s %11s %-15s %s\n", "NAME", "ADDRESS", "ST",
	       "REACH", "DELAY ms", "OFFSET ms", "JITTER ms", "ROOTDIST ms", "REFID", "VERDICT");
	for (size_t i = 0; i < r->n; i++) {
		const struct ts_source *s = &r->src[i];
		char addr[80] = "-", reach[16], d[32], o[32], j[32], rd[32], st[8];
		if (s->have_addr)
			ts_addr_format(&s->addr, addr, sizeof(addr));
		snprintf(reach, sizeof(reach), "%u/%u", s->received, s->sent);
		ms(d, sizeof(d), s->have_sample, s->delay, 0);
		ms(o, sizeof(o), s->have_sample, s->offset, 1);
		ms(j, sizeof(j), s->have_sample, s->jitter, 0);
		ms(rd, sizeof(rd), s->have_sample, s->root_dist, 0);
		if (s->have_sample)
			snprintf(st, sizeof(st), "%u", s->stratum);
		else
			snprintf(st, sizeof(st), "-");
		printf("%-24s %-22s %2s %5s %10s %11s %10s %11s %-15s %s\n", s->name, addr, st,
		       reach, d, o, j, rd, s->have_sample ? s->refid : "-",
		       ts_verdict_name(s->verdict));
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct ts_source *s = &r->src[i];
		char adv[700];
		if (s->verdict == TS_GOOD)
			continue;
		ts_source_advice(s, adv, sizeof(adv));
		printf("  %s: %s\n", s->name, adv);
	}
}

static void
print_json(const struct ts_result *r, int state, double warn, double crit)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	if (r->config_file[0])
		json_kv_str(&j, "config_file", r->config_file);
	else
		json_key(&j, "config_file"), json_null(&j);
	json_key(&j, "sources");
	json_arr_begin(&j);
	for (size_t i = 0; i < r->n; i++) {
		const struct ts_source *s = &r->src[i];
		char addr[80], adv[700];
		json_obj_begin(&j);
		json_kv_str(&j, "name", s->name);
		json_kv_str(&j, "origin", s->origin);
		if (s->have_addr) {
			ts_addr_format(&s->addr, addr, sizeof(addr));
			json_kv_str(&j, "address", addr);
		}
		json_kv_str(&j, "verdict", ts_verdict_name(s->verdict));
		if (cause_name(s->cause))
			json_kv_str(&j, "cause", cause_name(s->cause));
		if (s->kiss[0])
			json_kv_str(&j, "kiss", s->kiss);
		ts_source_advice(s, adv, sizeof(adv));
		json_kv_str(&j, "advice", adv);
		json_kv_uint(&j, "sent", s->sent);
		json_kv_uint(&j, "received", s->received);
		json_kv_uint(&j, "dropped_bogus", s->bogus);
		json_kv_uint(&j, "dropped_other_address", s->other_addr);
		json_kv_uint(&j, "late", s->late);
		if (s->have_sample) {
			json_kv_uint(&j, "stratum", s->stratum);
			json_kv_uint(&j, "leap", s->leap);
			json_kv_uint(&j, "version", s->version);
			json_kv_str(&j, "refid", s->refid);
			json_key(&j, "offset"), json_double(&j, s->offset);
			json_key(&j, "delay"), json_double(&j, s->delay);
			json_key(&j, "jitter"), json_double(&j, s->jitter);
			json_key(&j, "root_delay"), json_double(&j, s->root_delay);
			json_key(&j, "root_dispersion"), json_double(&j, s->root_disp);
			json_key(&j, "root_distance"), json_double(&j, s->root_dist);
		}
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_kv_uint(&j, "survivors", r->survivors);
	json_kv_uint(&j, "falsetickers", r->falsetickers);
	if (r->have_offset) {
		json_key(&j, "offset"), json_double(&j, r->offset);
		json_key(&j, "delay"), json_double(&j, r->delay);
		json_key(&j, "jitter"), json_double(&j, r->jitter);
		json_kv_bool(&j, "step_needed", r->step_needed);
	}
	json_key(&j, "warn"), json_double(&j, warn);
	json_key(&j, "crit"), json_double(&j, crit);
	json_kv_str(&j, "state", nagios_word[state]);
	json_obj_end(&j);
	fputc('\n', stdout);
}

static int
time_check(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "samples", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "warn", required_argument, NULL, 'w' },
		{ "crit", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "nagios", no_argument, NULL, 'n' },
		{ "config-root", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct ts_check_opts o = TS_CHECK_OPTS_INIT;
	struct ts_result r = TS_RESULT_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	const char *root = getenv("MAMORI_TIME_CONFIG_ROOT");
	double warn = 60, crit = 120;
	int ch, e, json = cl->json, nagios = 0, state;
	char line[2048];

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		long v;
		switch (ch) {
		case 's':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 1 || v > TS_MAX_SAMPLES)
				goto usage_samples;
			o.samples = (unsigned)v;
			break;
		case 't':
			if (parse_seconds(optarg, 0, &o.timeout) != 0 || o.timeout <= 0 ||
			    o.timeout > 60)
				goto usage_duration;
			break;
		case 'i':
			if (parse_seconds(optarg, 0, &o.interval) != 0 || o.interval > 60)
				goto usage_duration;
			break;
		case 'w':
			if (parse_seconds(optarg, 0, &warn) != 0)
				goto usage_offset;
			break;
		case 'c':
			if (parse_seconds(optarg, 0, &crit) != 0)
				goto usage_offset;
			break;
		case 'j': json = 1; break;
		case 'n': nagios = 1; break;
		case 'R': root = optarg; break;
		default:
			cli_usage(cl, "time check", "unknown option");
			return 3;
		}
	}
	for (int i = optind; i < argc; i++) {
		if ((e = ts_result_add(&r, argv[i], 123, 0, NULL, &c)) != 0)
			goto fail;
	}
	if (optind == argc && (e = ts_config_discover(root, &r, &c)) != 0)
		goto fail;
	if ((e = ts_check_run(&r, &o, &ts_system_clock, &ts_udp_net, &c)) != 0)
		goto fail;
	state = ts_nagios_state(&r, warn, crit);
	summary(&r, line, sizeof(line));
	if (nagios) {
		printf("TIME %s: %s", nagios_word[state], line);
		if (r.have_offset)
			printf("|offset=%.6fs;%.6f;%.6f; delay=%.6fs jitter=%.6fs", r.offset, warn,
			       crit, r.delay, r.jitter);
		putchar('\n');
	} else if (json) {
		print_json(&r, state, warn, crit);
	} else {
		print_table(&r, cl->verbose);
		printf("%s: %s\n", nagios_word[state], line);
	}
	ts_result_release(&r);
	return state;
fail:
	ts_result_release(&r);
	if (nagios)
		printf("TIME UNKNOWN: %s\n", c.msg[0] ? c.msg : ts_strerror(e));
	else
		fprintf(stderr, "%s: %s\n", cl->prog, c.msg[0] ? c.msg : ts_strerror(e));
	return 3;
usage_samples:
	cli_usage(cl, "time check", "--samples takes a number 1..%d", TS_MAX_SAMPLES);
	return 3;
usage_duration:
	cli_usage(cl, "time check", "bad duration '%s': seconds, or with s or ms (2, 2s, "
		  "500ms), at most 60 s", optarg);
	return 3;
usage_offset:
	cli_usage(cl, "time check", "bad offset '%s': seconds, or with s or ms (60, 0.5, "
		  "500ms)", optarg);
	return 3;
}

static void
json_daemons(struct json *j, const struct ts_kernel *k)
{
	static const unsigned bits[] = { TS_DAEMON_CHRONYD, TS_DAEMON_NTPD,
					 TS_DAEMON_TIMESYNCD, TS_DAEMON_OPENNTPD };
	const int pids[] = { k->pid_chronyd, k->pid_ntpd, k->pid_timesyncd, k->pid_openntpd };

	json_key(j, "daemons");
	json_arr_begin(j);
	for (size_t i = 0; i < 4; i++) {
		if (!(k->daemons & bits[i]))
			continue;
		json_obj_begin(j);
		json_kv_str(j, "name", ts_daemon_name(bits[i]));
		json_kv_int(j, "pid", pids[i]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static int
time_status(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const unsigned bits[] = { TS_DAEMON_CHRONYD, TS_DAEMON_NTPD,
					 TS_DAEMON_TIMESYNCD, TS_DAEMON_OPENNTPD };
	struct ts_kernel k;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, e, json = cl->json, rc;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j')
			return cli_usage(cl, "time status", "unknown option");
		json = 1;
	}
	if (optind != argc)
		return cli_usage(cl, "time status", "takes no arguments");
	if ((e = ts_kernel_read(&k, &c)) != 0) {
		fprintf(stderr, "%s: cannot read the kernel clock state: %s\n", cl->prog, c.msg);
		return 2;
	}
	ts_daemons_running(NULL, &k);
	rc = ts_kernel_exit(&k);
	if (json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_bool(&j, "synchronised", k.synchronised);
		json_kv_int(&j, "state", k.state);
		json_key(&j, "offset"), json_double(&j, k.offset);
		json_key(&j, "frequency_ppm"), json_double(&j, k.freq_ppm);
		json_key(&j, "estimated_error"), json_double(&j, k.est_error);
		json_key(&j, "maximum_error"), json_double(&j, k.max_error);
		json_kv_int(&j, "tai_offset", k.tai);
		json_kv_str(&j, "leap", k.leap);
		json_daemons(&j, &k);
		json_obj_end(&j);
		fputc('\n', stdout);
		return rc;
	}
	printf("kernel clock:    %s\n", k.synchronised ? "synchronised" : "not synchronised");
	printf("offset:          %+.6f s\n", k.offset);
	printf("frequency:       %+.3f ppm\n", k.freq_ppm);
	printf("estimated error: %.6f s\n", k.est_error);
	printf("maximum error:   %.6f s\n", k.max_error);
	printf("TAI offset:      %d s%s\n", k.tai, k.tai == 0 ? " (not set)" : "");
	printf("leap second:     %s\n", k.leap);
	printf("time daemon:     ");
	if (k.daemons == 0)
		printf("none running (chronyd, ntpd, systemd-timesyncd, openntpd)");
	for (size_t i = 0, first = 1; i < 4; i++) {
		const int pids[] = { k.pid_chronyd, k.pid_ntpd, k.pid_timesyncd, k.pid_openntpd };
		if (k.daemons & bits[i]) {
			printf("%s%s (pid %d)", first ? "" : ", ", ts_daemon_name(bits[i]), pids[i]);
			first = 0;
		}
	}
	putchar('\n');
	if (!k.synchronised)
		printf("%s\n", k.daemons ? "the daemon has not synchronised the clock yet (or "
		       "lost its sources): run 'mamori time check' to see why"
		       : "no time daemon runs: install and start chrony (or systemd-timesyncd)");
	return rc;
}

static int
time_lint(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const dflt[] = { "/etc/chrony/chrony.conf", "/etc/ntpsec/ntp.conf",
					    "/etc/ntp.conf" };
	struct ts_lint l = TS_LINT_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	const char *path = NULL;
	size_t nw = 0, ne = 0;
	int ch, e, json = cl->json, worst;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'j')
			return cli_usage(cl, "time lint", "unknown option");
		json = 1;
	}
	if (argc - optind > 1)
		return cli_usage(cl, "time lint", "takes at most one FILE");
	if (optind < argc) {
		path = argv[optind];
	} else {
		for (size_t i = 0; i < 3 && path == NULL; i++) {
			FILE *f = fopen(dflt[i], "r");
			if (f) {
				fclose(f);
				path = dflt[i];
			}
		}
		if (path == NULL) {
			fprintf(stderr, "%s: no FILE given and none of /etc/chrony/chrony.conf, "
				"/etc/ntpsec/ntp.conf, /etc/ntp.conf exists\n", cl->prog);
			return 2;
		}
	}
	if ((e = ts_lint_file(path, &l, &c)) != 0) {
		fprintf(stderr, "%s: %s\n", cl->prog, c.msg[0] ? c.msg : ts_strerror(e));
		ts_lint_release(&l);
		return 2;
	}
	worst = ts_lint_worst(&l);
	for (size_t i = 0; i < l.n; i++) {
		nw += l.f[i].sev == TS_SEV_WARNING;
		ne += l.f[i].sev == TS_SEV_ERROR;
	}
	if (json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_str(&j, "file", path);
		json_kv_str(&j, "kind", l.kind == TS_CONF_CHRONY ? "chrony"
			    : l.kind == TS_CONF_NTP ? "ntp" : "unknown");
		json_kv_uint(&j, "sources", l.sources);
		json_key(&j, "findings");
		json_arr_begin(&j);
		for (size_t i = 0; i < l.n; i++) {
			json_obj_begin(&j);
			json_kv_uint(&j, "line", l.f[i].line);
			json_kv_str(&j, "severity", ts_severity_name(l.f[i].sev));
			json_kv_str(&j, "rule", l.f[i].rule);
			json_kv_str(&j, "message", l.f[i].msg);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_kv_uint(&j, "warnings", nw);
		json_kv_uint(&j, "errors", ne);
		json_obj_end(&j);
		fputc('\n', stdout);
	} else {
		for (size_t i = 0; i < l.n; i++)
			printf("%s:%u: %s: %s [%s]\n", path, l.f[i].line,
			       ts_severity_name(l.f[i].sev), l.f[i].msg, l.f[i].rule);
		printf("%s: %s, %zu error%s, %zu warning%s\n", path,
		       l.kind == TS_CONF_CHRONY ? "chrony.conf" : l.kind == TS_CONF_NTP
		       ? "ntp.conf" : "unknown syntax", ne, ne == 1 ? "" : "s", nw,
		       nw == 1 ? "" : "s");
	}
	ts_lint_release(&l);
	return worst;
}

int
cmd_time(struct cli *cl, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(cl, "time", "needs a subcommand: check, status or lint");
	argc--;
	argv++;
	if (strcmp(argv[0], "check") == 0)
		return time_check(cl, argc, argv);
	if (strcmp(argv[0], "status") == 0)
		return time_status(cl, argc, argv);
	if (strcmp(argv[0], "lint") == 0)
		return time_lint(cl, argc, argv);
	return cli_usage(cl, "time", "unknown subcommand '%s': check, status or lint", argv[0]);
}
