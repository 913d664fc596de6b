/* mamori monitor check|run|metrics|accept: the monitoring agent's commands. */
#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ledger/ledger.h"
#include "monitor/monitor.h"
#include "policy/policy.h"

struct mon_cli {
	const char *config;
	int json, nagios;
	long cycles;      /* run: stop after this many (0: until signalled) */
	const char *listen;
	const char *root; /* MAMORI_MONITOR_ROOT: recorded /proc and /sys (tests) */
	struct conf cf;
	struct mon_config mc;
	struct mon_env env;
	int64_t now_ns;   /* MAMORI_NOW (tests): a fixed clock */
	struct mon_policy_hooks hooks;
};

static int64_t
fixed_clock(void *arg)
{
	return *(const int64_t *)arg;
}

static const char monitor_usage[] =
	"usage: mamori monitor check [--config FILE] [--json | --nagios] [CHECK...]\n"
	"       mamori monitor run [--config FILE] [--cycles N]\n"
	"       mamori monitor metrics [--config FILE] [--listen ADDR:PORT]\n"
	"       mamori monitor accept [--config FILE] CHECK...\n";

static int
load(struct cli *cl, struct mon_cli *m)
{
	struct conf_schema s = CONF_SCHEMA_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	const char *now;
	int e;

	if (m->config == NULL)
		m->config = getenv("MAMORI_CONFIG");
	if (m->config == NULL || m->config[0] == '\0')
		m->config = "/etc/mamori/mamori.conf";
	if ((e = cli_conf_schema(&s)) != 0 || (e = conf_load(&s, m->config, &m->cf, &c)) != 0 ||
	    (e = mon_config_from(&m->cf, &m->mc, &c)) != 0) {
		if (m->nagios) {
			/* A plugin always says one line, even when it cannot start. */
			printf("MAMORI MONITOR UNKNOWN - %s\n", c.msg[0] ? c.msg : mm_strerror(e));
			return 3;
		}
		return cli_fail(cl, e, &c);
	}
	m->root = getenv("MAMORI_MONITOR_ROOT");
	m->env.root = m->root ? m->root : "";
	now = getenv("MAMORI_NOW");
	if (now != NULL && now[0] != '\0') {
		if (policy_parse_time(now, &m->now_ns) != 0)
			return cli_usage(cl, "monitor", "MAMORI_NOW='%s': expected "
					 "2026-12-01T10:00:00Z or @SECONDS (it is for tests only)", now);
		m->env.clock.now_ns = fixed_clock;
		m->env.clock.arg = &m->now_ns;
	}
	mon_policy_hooks_init(&m->hooks, m->config, m->root, &m->env.clock, getenv("MAMORI_PASSWORD"));
	mon_policy_hooks_set(&m->hooks, &m->env);
	return 0;
}

static void
release(struct mon_cli *m)
{
	mon_policy_hooks_release(&m->hooks);
	mon_config_release(&m->mc);
	conf_release(&m->cf);
}

static void
print_value(const struct mon_checkrun *cr, char *out, size_t n)
{
	const struct mon_result *r = &cr->res;

	if (!r->judged && r->pct < 0)
		snprintf(out, n, "-");
	else if (mon_shows_percent(cr->check, r))
		snprintf(out, n, "%.1f %%", r->pct);
	else if (strcmp(r->unit, "bytes") == 0)
		fmt_bytes((uint64_t)r->value, out, n);
	else if (strcmp(r->unit, "s") == 0)
		snprintf(out, n, "%.1f ms", r->value * 1000);
	else
		snprintf(out, n, "%.2f %s", r->value, r->unit);
}

static void
print_table(const struct mon_cycle *cy)
{
	size_t w = 5;

	for (size_t i = 0; i < cy->n; i++)
		if (strlen(cy->runs[i].check->name) > w)
			w = strlen(cy->runs[i].check->name);
	printf("%-*s  %-8s %-9s %-12s %s\n", (int)w, "CHECK", "TYPE", "STATE", "VALUE", "CAUSE");
	for (size_t i = 0; i < cy->n; i++) {
		const struct mon_checkrun *cr = &cy->runs[i];
		char v[64];
		print_value(cr, v, sizeof(v));
		printf("%-*s  %-8s %-9s %-12s %s\n", (int)w, cr->check->name, cr->check->probe->type,
		       mon_state_name(cr->raw), v, cr->res.message);
	}
}

static void
print_json(const struct mon_cycle *cy)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_str(&j, "state", mon_state_name(mon_cycle_worst(cy)));
	json_key(&j, "seconds");
	json_double(&j, cy->seconds);
	json_key(&j, "checks");
	json_arr_begin(&j);
	for (size_t i = 0; i < cy->n; i++) {
		const struct mon_checkrun *cr = &cy->runs[i];
		json_obj_begin(&j);
		json_kv_str(&j, "check", cr->check->name);
		json_kv_str(&j, "type", cr->check->probe->type);
		json_kv_str(&j, "state", mon_state_name(cr->raw));
		json_key(&j, "value");
		if (cr->res.judged)
			json_double(&j, cr->res.value);
		else
			json_null(&j);
		json_key(&j, "percent");
		if (cr->res.pct >= 0)
			json_double(&j, cr->res.pct);
		else
			json_null(&j);
		json_kv_str(&j, "unit", cr->res.unit);
		json_kv_str(&j, "cause", cr->res.message);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	fputc('\n', stdout);
}

static int
parse(struct cli *cl, struct mon_cli *m, int argc, char **argv, const char *sub)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "nagios", no_argument, NULL, 'n' },
		{ "cycles", required_argument, NULL, 'N' },
		{ "listen", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	m->json = cl->json;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': m->config = optarg; break;
		case 'j': m->json = 1; break;
		case 'n': m->nagios = 1; break;
		case 'N':
			m->cycles = strtol(optarg, &end, 10);
			if (*end || m->cycles < 1 || strcmp(sub, "run") != 0)
				return cli_usage(cl, "monitor", "--cycles takes a count >= 1 (run only)");
			break;
		case 'l':
			if (strcmp(sub, "metrics") != 0)
				return cli_usage(cl, "monitor", "--listen is for 'monitor metrics'");
			m->listen = optarg;
			break;
		default:
			return cli_usage(cl, "monitor", "unknown option\n%s", monitor_usage);
		}
	}
	if (m->json && m->nagios)
		return cli_usage(cl, "monitor", "--json and --nagios exclude each other");
	return 0;
}

static int
monitor_check(struct cli *cl, struct mon_cli *m, int argc, char **argv)
{
	struct mon_cycle cy;
	struct mm_ctx c = MM_CTX_INIT;
	struct mon_config view = m->mc;
	int e;

	/* One look, like a plugin run by Nagios: the agent's memory (trends,
	 * baselines) is read but not changed, and no alert is sent. */
	if (access(view.state_dir, R_OK) != 0)
		view.state_dir = NULL;
	if ((e = mon_cycle_run(&view, &m->env, (const char *const *)argv + optind,
			       (size_t)(argc - optind), &cy, &c)) != 0)
		return m->nagios ? (fprintf(stdout, "MAMORI MONITOR UNKNOWN - %s\n", c.msg), 3) :
				   cli_fail(cl, e, &c);
	if (m->nagios)
		mon_nagios_write(&cy, stdout);
	else if (m->json)
		print_json(&cy);
	else if (!cl->quiet)
		print_table(&cy);
	e = (int)mon_cycle_worst(&cy);
	mon_cycle_release(&cy);
	return e;
}

static volatile sig_atomic_t stop_now;

static void
on_signal(int sig)
{
	(void)sig;
	stop_now = 1;
}

static void
warn_stderr(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "mamori monitor: %s\n", msg);
}

/* Every alert is a ledger record; a CRITICAL opens an incident (or joins
 * the open one of the same check) and a recovery notes its end. A ledger
 * that cannot be written is reported and the agent goes on watching. */
static void
record_alert(void *arg, const struct mon_alert *a)
{
	struct cli *cl = arg;
	struct ledger *lg = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	const char *what = NULL;
	char id[32] = "";

	if (cli_ledger_open(cl, 1, &lg) != 0)
		return; /* cli_ledger_open said why */
	if (ledger_incident_alert(lg, a->check, (int)a->state, a->cause, id, &what, &c) != 0)
		fprintf(stderr, "mamori monitor: the %s alert of %s is not in the ledger: %s\n",
			mon_state_name(a->state), a->check, c.msg);
	else if (id[0] != '\0' && !cl->quiet)
		fprintf(stderr, "mamori monitor: %s: incident %s %s\n", a->check, id, what);
	ledger_free(lg);
}

static int
monitor_run(struct cli *cl, struct mon_cli *m)
{
	struct sigaction sa;
	long done = 0;

	m->env.hooks.alert = record_alert;
	m->env.hooks.alert_arg = cl;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop_now) {
		struct mon_cycle cy = { NULL, 0, 0 };
		struct mm_ctx c = MM_CTX_INIT;
		double next = time_mono() + (double)m->mc.interval_s;
		int e;

		if ((e = mon_cycle_run(&m->mc, &m->env, NULL, 0, &cy, &c)) != 0 ||
		    (e = mon_cycle_commit(&m->mc, &m->env, &cy, warn_stderr, NULL, &c)) != 0) {
			/* A cycle that fails (state folder full, say) is reported; the
			 * agent goes on: stopping would leave the host unwatched. */
			fprintf(stderr, "mamori monitor: %s\n", c.msg);
		}
		if (e == 0 && cl->verbose)
			print_table(&cy);
		mon_cycle_release(&cy);
		if (m->cycles && ++done >= m->cycles)
			break;
		while (!stop_now && time_mono() < next) {
			double left = next - time_mono();
			struct timespec ts = { 0, 0 };
			if (left > 0.2)
				left = 0.2;
			ts.tv_nsec = (long)(left * 1e9);
			nanosleep(&ts, NULL);
		}
	}
	return EXIT_OK;
}

/* ---- /metrics over HTTP (libmicrohttpd) ----------------------------------- */
struct metrics_srv {
	struct mon_cli *m;
	pthread_mutex_t mu; /* one cycle at a time */
};

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct metrics_srv *srv = cls;
	struct MHD_Response *resp;
	struct mon_cycle cy;
	struct mm_ctx c = MM_CTX_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") != 0)
		return MHD_NO;
	if ((f = open_memstream(&text, &len)) == NULL)
		return MHD_NO;
	if (strcmp(url, "/metrics") != 0) {
		status = MHD_HTTP_NOT_FOUND;
		fputs("mamori monitor: metrics are at /metrics\n", f);
	} else {
		pthread_mutex_lock(&srv->mu);
		if (mon_cycle_run(&srv->m->mc, &srv->m->env, NULL, 0, &cy, &c) == 0) {
			(void)mon_metrics_write(&srv->m->mc, &cy, f);
			mon_cycle_release(&cy);
		} else {
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
			fprintf(f, "mamori monitor: %s\n", c.msg);
		}
		pthread_mutex_unlock(&srv->mu);
	}
	if (fclose(f) != 0) {
		free(text);
		return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int
monitor_serve(struct cli *cl, struct mon_cli *m)
{
	struct metrics_srv srv = { m, PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_in sin;
	struct MHD_Daemon *d;
	struct sigaction sa;
	char host[64];
	const char *colon = strrchr(m->listen, ':');
	long port;
	char *end;

	if (colon == NULL || (size_t)(colon - m->listen) >= sizeof(host))
		return cli_usage(cl, "monitor", "--listen takes ADDRESS:PORT, e.g. 127.0.0.1:9187");
	memcpy(host, m->listen, (size_t)(colon - m->listen));
	host[colon - m->listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return cli_usage(cl, "monitor", "--listen takes an IPv4 ADDRESS:PORT, e.g. "
				 "127.0.0.1:9187");
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, answer,
			     &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "%s: cannot listen on %s (in use, or not an address of this "
			"host)\n", cl->prog, m->listen);
		return EXIT_MONITOR_LISTEN;
	}
	if (!cl->quiet)
		fprintf(stderr, "mamori monitor: metrics on http://%s/metrics\n", m->listen);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop_now)
		pause();
	MHD_stop_daemon(d);
	return EXIT_OK;
}

static int
monitor_metrics(struct cli *cl, struct mon_cli *m)
{
	struct mon_cycle cy;
	struct mm_ctx c = MM_CTX_INIT;
	struct mon_config view = m->mc;
	int e;

	if (m->listen)
		return monitor_serve(cl, m);
	if (access(view.state_dir, R_OK) != 0)
		view.state_dir = NULL;
	if ((e = mon_cycle_run(&view, &m->env, NULL, 0, &cy, &c)) != 0)
		return cli_fail(cl, e, &c);
	e = mon_metrics_write(&view, &cy, stdout);
	mon_cycle_release(&cy);
	return e == 0 ? EXIT_OK : EXIT_FATAL;
}

static int
monitor_accept(struct cli *cl, struct mon_cli *m, int argc, char **argv)
{
	struct mm_ctx c = MM_CTX_INIT;
	size_t n = (size_t)(argc - optind);
	int e;

	if (n == 0)
		return cli_usage(cl, "monitor", "accept: name the files checks whose changes "
				 "you accept");
	if ((e = mon_accept(&m->mc, (const char *const *)argv + optind, n, &c)) != 0)
		return cli_fail(cl, e, &c);
	if (!cl->quiet)
		printf("new baseline recorded for %zu check%s\n", n, n == 1 ? "" : "s");
	return EXIT_OK;
}

int
cmd_monitor(struct cli *cl, int argc, char **argv)
{
	struct mon_cli m;
	const char *sub;
	int rc;

	memset(&m, 0, sizeof(m));
	if (argc < 2) {
		fputs(monitor_usage, stderr);
		return EXIT_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "check") && strcmp(sub, "run") && strcmp(sub, "metrics") &&
	    strcmp(sub, "accept"))
		return cli_usage(cl, "monitor", "unknown subcommand '%s'\n%s", sub, monitor_usage);
	optind = 0;
	if ((rc = parse(cl, &m, argc - 1, argv + 1, sub)) != 0)
		return rc;
	argc--;
	argv++;
	if ((rc = load(cl, &m)) != 0) {
		release(&m);
		return m.nagios && rc != EXIT_USAGE ? 3 : rc;
	}
	if (strcmp(sub, "check") == 0)
		rc = monitor_check(cl, &m, argc, argv);
	else if (strcmp(sub, "run") == 0)
		rc = monitor_run(cl, &m);
	else if (strcmp(sub, "metrics") == 0)
		rc = monitor_metrics(cl, &m);
	else
		rc = monitor_accept(cl, &m, argc, argv);
	release(&m);
	return rc;
}

/* ---- the report's monitoring section ----------------------------------------- */
/*
 * One look at every check of the configuration (as `monitor check`: the
 * agent's memory is read, nothing is sent or saved), each with its state,
 * its cause and, when the agent runs, since when it is in that state.
 * Without a configuration file, or with no check in it, the section says
 * "not configured".
 */
int
cli_monitor_report(struct cli *cl, struct report *rep)
{
	struct mon_cli m;
	struct mon_cycle cy = { NULL, 0, 0 };
	struct mm_ctx c = MM_CTX_INIT;
	struct mon_config view;
	int e = 0;

	memset(&m, 0, sizeof(m));
	m.config = getenv("MAMORI_CONFIG");
	if (m.config == NULL || m.config[0] == '\0')
		m.config = "/etc/mamori/mamori.conf";
	if (access(m.config, F_OK) != 0)
		return 0;
	if (load(cl, &m) != 0)
		goto out; /* printed; the report goes on without this section */
	if (m.mc.nchecks == 0)
		goto out;
	view = m.mc;
	if (access(view.state_dir, R_OK) != 0)
		view.state_dir = NULL;
	if (mon_cycle_run(&view, &m.env, NULL, 0, &cy, &c) != 0) {
		fprintf(stderr, "%s: warning: monitoring: %s\n", cl->prog, c.msg);
		goto out;
	}
	for (size_t i = 0; i < cy.n && e == 0; i++) {
		const struct mon_checkrun *cr = &cy.runs[i];
		struct report_check rc;

		rc.name = cr->check->name;
		rc.state = mon_state_name(cr->raw);
		rc.message = cr->res.message;
		rc.since_ns = cr->rule.seen && cr->rule.state == cr->raw ?
			      cr->rule.since * 1000000000 : 0;
		e = report_add_check(rep, &rc);
	}
out:
	mon_cycle_release(&cy);
	release(&m);
	return e;
}
