/* mamori monitor check|run|metrics|accept: the monitoring agent's commands. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf/conf.h"
#include "ledger/ledger.h"
#include "monitor/monitor.h"
#include "policy/policy.h"

struct mon_cli {
	const char *config;
	int json, nagios;
	int wire;         /* check/send: the agent's wire format (src/agent) */
	int all, list;    /* silence/unsilence: every check; silence: list them */
	int64_t for_s;    /* silence --for */
	const char *reason;
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
	"       mamori monitor accept [--config FILE] CHECK...\n"
	"       mamori monitor silence [--config FILE] --for DURATION [--reason TEXT] "
	"(CHECK... | --all)\n"
	"       mamori monitor silence [--config FILE] --list\n"
	"       mamori monitor unsilence [--config FILE] (CHECK... | --all)\n";

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
	m->env.net = &mon_net_curl;
	now = getenv("MAMORI_NOW");
	if (now != NULL && now[0] != '\0') {
		if (policy_parse_time(now, &m->now_ns) != 0)
			return cli_usage(cl, "monitor", "MAMORI_NOW='%s': expected "
					 "2026-12-01T10:00:00Z or @SECONDS (it is for tests only)", now);
		m->env.clock.now_ns = fixed_clock;
		m->env.clock.arg = &m->now_ns;
	}
	mon_policy_hooks_init(&m->hooks, m->config, m->root, cl->state_dir, &m->env.clock,
			      getenv("MAMORI_PASSWORD"));
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
		{ "wire", no_argument, NULL, 'w' },
		{ "for", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' },
		{ "all", no_argument, NULL, 'a' },
		{ "list", no_argument, NULL, 'L' },
		{ "cycles", required_argument, NULL, 'N' },
		{ "listen", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	char *end, err[128];
	int ch;

	m->json = cl->json;
	/* silence CHECK --for 2h reads as people write it: options anywhere. */
	const char *order = strcmp(sub, "silence") == 0 || strcmp(sub, "unsilence") == 0 ? "" : "+";

	while ((ch = getopt_long(argc, argv, order, opts, NULL)) != -1) {
		switch (ch) {
		case 'c': m->config = optarg; break;
		case 'j': m->json = 1; break;
		case 'n': m->nagios = 1; break;
		case 'f':
		case 'r':
		case 'a':
		case 'L':
			if (strcmp(sub, "silence") != 0 && (strcmp(sub, "unsilence") != 0 || ch != 'a'))
				return cli_usage(cl, "monitor", "--for, --reason and --list are for "
						 "'monitor silence' (--all also for unsilence)");
			if (ch == 'f' && (conf_parse_duration(optarg, &m->for_s, err, sizeof(err)) != 0 ||
					  m->for_s <= 0))
				return cli_usage(cl, "monitor", "--for takes a duration such as 2h or "
						 "30m");
			if (ch == 'r')
				m->reason = optarg;
			m->all |= ch == 'a';
			m->list |= ch == 'L';
			break;
		case 'w':
			if (strcmp(sub, "check") != 0 && strcmp(sub, "send") != 0)
				return cli_usage(cl, "monitor", "--wire is the agent's (check, send)");
			m->wire = 1;
			break;
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

/*
 * The agent is a program of its own, mamori-agent, installed beside this
 * one: it maps neither libcurl nor the repository code (about 9 MB of
 * libraries) and hands what needs them back to this program (src/agent).
 * The configuration has been read and checked above, so a mistake in it
 * is reported here, with this program's exit code, before the agent starts.
 */
static int
monitor_run(struct cli *cl, struct mon_cli *m, int argc, char **argv)
{
	char self[PATH_MAX], agent[PATH_MAX + 16], cycles[32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *av[16], *slash;
	int k = 0;

	if (n <= 0) {
		fprintf(stderr, "%s: cannot find where this program is (/proc/self/exe): is /proc "
			"mounted?\n", cl->prog);
		return EXIT_NO_AGENT;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	snprintf(agent, sizeof(agent), "%.*smamori-agent", slash ? (int)(slash - self + 1) : 0, self);
	av[k++] = agent;
	av[k++] = "--config";
	av[k++] = (char *)m->config;
	av[k++] = "--state-dir";
	av[k++] = (char *)cl->state_dir;
	av[k++] = "--program";
	av[k++] = self;
	if (m->cycles) {
		snprintf(cycles, sizeof(cycles), "%ld", m->cycles);
		av[k++] = "--cycles";
		av[k++] = cycles;
	}
	if (cl->quiet)
		av[k++] = "--quiet";
	if (cl->verbose)
		av[k++] = "--verbose";
	av[k] = NULL;
	/* The backups check's child opens repositories with the password the
	 * command line named, as this program would (the agent hands on the
	 * state folder itself). */
	if (cl->password_file != NULL && setenv("MAMORI_PASSWORD_FILE", cl->password_file, 1) != 0) {
		fprintf(stderr, "%s: out of memory\n", cl->prog);
		return EXIT_FATAL;
	}
	if (access(agent, X_OK) == 0) {
		/* The exec leaves no end to record after: the start is the record
		 * (the agent records its own stop). */
		if (cl->result != NULL)
			snprintf(cl->result, CLI_RESULT_MAX, "the agent started (pid %d)",
				 (int)getpid());
		(void)cli_ledger_after(cl, argc, argv, EXIT_OK);
		fflush(NULL);
		execv(agent, av);
	}
	fprintf(stderr, "%s: cannot start the agent %s: %s (it is installed beside mamori; "
		"reinstall mamori)\n", cl->prog, agent, strerror(errno));
	return EXIT_NO_AGENT;
}

/* ---- the agent's helper: what needs libcurl or a repository ----------------- */

/* monitor check --wire NAME...: the checks, answered in the wire format in
 * the order named. A check that cannot run is an UNKNOWN result, so there
 * is always one for each name. */
static int
monitor_wire_check(struct mon_cli *m, int argc, char **argv)
{
	struct mon_cycle cy = { NULL, 0, 0 };
	struct mm_ctx c = MM_CTX_INIT;
	struct mon_config view = m->mc;
	struct buf b = BUF_INIT;
	int ran, e = 0;

	if (argc - optind < 1) {
		fprintf(stderr, "monitor check --wire: name the checks\n");
		return EXIT_USAGE;
	}
	if (access(view.state_dir, R_OK) != 0)
		view.state_dir = NULL;
	ran = mon_cycle_run(&view, &m->env, (const char *const *)argv + optind,
			    (size_t)(argc - optind), &cy, &c) == 0;
	for (int i = optind; i < argc && e == 0; i++) {
		const struct mon_result *r = NULL;
		struct mon_result unk;
		for (size_t j = 0; ran && j < cy.n; j++)
			if (strcmp(cy.runs[j].check->name, argv[i]) == 0)
				r = &cy.runs[j].res;
		mon_result_init(&unk);
		if (r == NULL) {
			unk.state = MON_UNKNOWN;
			snprintf(unk.message, sizeof(unk.message), "%.700s",
				 ran ? "no result" : c.msg);
			r = &unk;
		}
		e = mon_result_encode(r, &b);
	}
	if (e == 0 && (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0))
		e = MM_EIO;
	buf_release(&b);
	mon_cycle_release(&cy);
	return e == 0 ? EXIT_OK : EXIT_FATAL;
}

/* monitor send --wire SINK: deliver the alert read from standard input;
 * prints "sent" or "error MESSAGE". */
static int
monitor_send(struct cli *cl, struct mon_cli *m, int argc, char **argv)
{
	struct mon_alert_msg msg;
	struct mm_ctx c = MM_CTX_INIT;
	struct buf in = BUF_INIT;
	const struct mon_sink *s = NULL;
	uint8_t chunk[4096];
	size_t n;
	int e;

	if (!m->wire || argc - optind != 1)
		return cli_usage(cl, "monitor", "send is the agent's: send --wire SINK, the alert "
				 "on standard input");
	for (size_t i = 0; i < m->mc.nsinks; i++)
		if (strcmp(m->mc.sinks[i].name, argv[optind]) == 0)
			s = &m->mc.sinks[i];
	memset(&msg, 0, sizeof(msg));
	if (s == NULL) {
		e = mm_fail(&c, MM_ENOENT, "no [alert %s] in %s", argv[optind], m->config);
		goto out;
	}
	buf_init(&in, MON_WIRE_MAX + 1);
	e = 0;
	while (e == 0 && (n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_append(&in, chunk, n) != 0)
			e = mm_fail(&c, MM_ELIMIT, "the alert is larger than %u bytes", MON_WIRE_MAX);
	if (e == 0 && (e = mon_alert_decode((const char *)in.data, in.len, &msg, &c)) == 0)
		e = mon_sink_send(s, &msg.a, &m->env, &c);
out:
	if (e == 0)
		printf("sent\n");
	else
		printf("error %s\n", c.msg);
	mon_alert_msg_release(&msg);
	buf_release(&in);
	return e == 0 ? EXIT_OK : EXIT_FATAL;
}

/* ---- /metrics over HTTP (libmicrohttpd) ----------------------------------- */
/* libmicrohttpd is loaded by `metrics --listen` alone, not by every
 * mamori command (it brings gnutls and its helpers). */
#define MHD_FUNCS(X) \
	X(MHD_add_response_header) \
	X(MHD_create_response_from_buffer) \
	X(MHD_destroy_response) \
	X(MHD_queue_response) \
	X(MHD_start_daemon) \
	X(MHD_stop_daemon)
struct mhd_api {
#define MHD_MEMBER(f) __typeof__(f) *f;
	MHD_FUNCS(MHD_MEMBER)
#undef MHD_MEMBER
};

static int
mhd_load(struct mhd_api *api, struct mm_ctx *c)
{
#define MHD_NAME(f) #f,
	static const char *const names[] = { MHD_FUNCS(MHD_NAME) };
#undef MHD_NAME
	void *fns[sizeof(names) / sizeof(names[0])];
	size_t i = 0;
	int e;

	if ((e = mm_dl_load("libmicrohttpd.so.12", "libmicrohttpd12", names,
			    sizeof(names) / sizeof(names[0]), fns, c)) != 0)
		return e;
#define MHD_SET(f) api->f = (__typeof__(f) *)fns[i++];
	MHD_FUNCS(MHD_SET)
#undef MHD_SET
	return 0;
}

struct metrics_srv {
	struct mhd_api mhd;
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
	resp = srv->mhd.MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	srv->mhd.MHD_add_response_header(resp, "Content-Type",
					 "text/plain; version=0.0.4; charset=utf-8");
	ret = srv->mhd.MHD_queue_response(conn, status, resp);
	srv->mhd.MHD_destroy_response(resp);
	return ret;
}

static int
monitor_serve(struct cli *cl, struct mon_cli *m)
{
	struct metrics_srv srv;
	struct mm_ctx c = MM_CTX_INIT;
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
	memset(&srv, 0, sizeof(srv));
	srv.m = m;
	if (pthread_mutex_init(&srv.mu, NULL) != 0 || mhd_load(&srv.mhd, &c) != 0)
		return cli_fail(cl, c.msg[0] ? MM_EUNSUPPORTED : MM_ENOMEM, &c);
	d = srv.mhd.MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
				     answer, &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
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
	srv.mhd.MHD_stop_daemon(d);
	return EXIT_OK;
}

static int
monitor_metrics(struct cli *cl, struct mon_cli *m)
{
	struct mon_cycle cy;
	struct mm_ctx c = MM_CTX_INIT;
	struct mon_config view = m->mc;
	int e;

	/* Scraped every few seconds: a check with `every` (backups: its keys
	 * cost Argon2id) gives what the agent last saw while that is fresh. */
	m->env.reuse = 1;
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

static int
silence_list(struct cli *cl, const struct mon_cli *m, int64_t now)
{
	struct mon_silences q;
	struct mm_ctx c = MM_CTX_INIT;
	size_t shown = 0;
	int e;

	if ((e = mon_silences_load(m->mc.state_dir, &q, &c)) != 0)
		return cli_fail(cl, e, &c);
	for (size_t i = 0; i < q.n; i++) {
		char until[32];
		if (now >= q.v[i].until)
			continue;
		if (shown++ == 0)
			printf("%-20s %-21s %s\n", "CHECK", "UNTIL", "REASON");
		time_format_utc(q.v[i].until * 1000000000, until, sizeof(until));
		printf("%-20s %-21s %s\n", strcmp(q.v[i].check, "*") == 0 ? "(all)" : q.v[i].check,
		       until, q.v[i].reason[0] ? q.v[i].reason : "-");
	}
	if (shown == 0)
		printf("no check is silenced\n");
	mon_silences_release(&q);
	return EXIT_OK;
}

/* monitor silence|unsilence: planned work pages no one (monitor/silence.c). */
static int
monitor_silence(struct cli *cl, struct mon_cli *m, int argc, char **argv, int on)
{
	int64_t now = mm_clock_now(&m->env.clock) / 1000000000;
	const char *star = "*";
	const char *const *names = m->all ? &star : (const char *const *)argv + optind;
	size_t n = m->all ? 1 : (size_t)(argc - optind), removed = 0;
	struct mm_ctx c = MM_CTX_INIT;
	char until[32];
	int e;

	if (on && m->list)
		return silence_list(cl, m, now);
	if (n == 0 || (m->all && argc > optind))
		return cli_usage(cl, "monitor", "name the checks, or --all\n%s", monitor_usage);
	if (on && m->for_s <= 0)
		return cli_usage(cl, "monitor", "silence: say how long with --for, e.g. --for 2h");
	for (size_t i = 0; !m->all && i < n; i++) {
		size_t j;
		for (j = 0; j < m->mc.nchecks && strcmp(m->mc.checks[j].name, names[i]) != 0; j++)
			;
		if (j == m->mc.nchecks)
			return cli_usage(cl, "monitor", "no check named %s in %s", names[i], m->config);
	}
	if ((e = mon_silence_change(m->mc.state_dir, names, n, on ? now + m->for_s : 0,
				    m->reason, now, &removed, &c)) != 0)
		return cli_fail(cl, e, &c);
	time_format_utc((now + m->for_s) * 1000000000, until, sizeof(until));
	if (cl->quiet)
		return EXIT_OK;
	for (size_t i = 0; on && i < n; i++)
		printf("silenced %s until %s%s%s: problems are not sent, changes still go to "
		       "syslog\n", m->all ? "every check" : names[i], until,
		       m->reason ? ", " : "", m->reason ? m->reason : "");
	if (!on)
		printf("%zu silence%s ended\n", removed, removed == 1 ? "" : "s");
	return EXIT_OK;
}

int
cmd_monitor(struct cli *cl, int argc, char **argv)
{
	struct mon_cli m;
	const char *sub;
	char **argv0;
	int rc, argc0;

	memset(&m, 0, sizeof(m));
	if (argc < 2) {
		fputs(monitor_usage, stderr);
		return EXIT_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "check") && strcmp(sub, "run") && strcmp(sub, "metrics") &&
	    strcmp(sub, "accept") && strcmp(sub, "send") && strcmp(sub, "silence") &&
	    strcmp(sub, "unsilence"))
		return cli_usage(cl, "monitor", "unknown subcommand '%s'\n%s", sub, monitor_usage);
	optind = 0;
	if ((rc = parse(cl, &m, argc - 1, argv + 1, sub)) != 0)
		return rc;
	argc0 = argc;
	argv0 = argv;
	argc--;
	argv++;
	if ((rc = load(cl, &m)) != 0) {
		release(&m);
		return m.nagios && rc != EXIT_USAGE ? 3 : rc;
	}
	if (strcmp(sub, "check") == 0 && m.wire)
		rc = monitor_wire_check(&m, argc, argv);
	else if (strcmp(sub, "check") == 0)
		rc = monitor_check(cl, &m, argc, argv);
	else if (strcmp(sub, "send") == 0)
		rc = monitor_send(cl, &m, argc, argv);
	else if (strcmp(sub, "silence") == 0 || strcmp(sub, "unsilence") == 0)
		rc = monitor_silence(cl, &m, argc, argv, strcmp(sub, "silence") == 0);
	else if (strcmp(sub, "run") == 0)
		rc = monitor_run(cl, &m, argc0, argv0);
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
