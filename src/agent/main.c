/*
 * mamori-agent: the resident monitoring agent (`mamori monitor run`
 * becomes it). Usage:
 *   mamori-agent [--config FILE] [--cycles N] [--state-dir DIR]
 *                [--program MAMORI] [-q] [-v]
 * It runs a cycle every [monitor] interval until SIGTERM or SIGINT: the
 * probes, the rules, the alerts, the state saved; every alert becomes a
 * ledger record in DIR (a CRITICAL opens an incident, a recovery notes it).
 * SIGHUP reads the configuration again (a mistake in it is reported and
 * the agent goes on with the one it had).
 * Exit: 0 stopped by a signal or after N cycles, 2 usage, 43 the
 * configuration could not be read (the message says where): the codes of
 * `mamori monitor run`.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "ledger/ledger.h"
#include "policy/policy.h"

enum { AGENT_OK = 0, AGENT_USAGE = 2, AGENT_CONFIG = 43 };

struct agent {
	const char *config, *state_dir, *root;
	long cycles;
	int quiet, verbose;
	char program[PATH_MAX];
	struct agent_helper helper;
	struct conf cf;
	struct mon_config mc;
	struct mon_env env;
	int64_t now_ns;            /* MAMORI_NOW (tests): a fixed clock */
	struct ledger_clock ledger_clock;
};

static volatile sig_atomic_t stop_now, reload_now;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_now = 1;
	else
		stop_now = sig;
}

static int64_t
fixed_now(void *arg)
{
	return *(const int64_t *)arg;
}

static int
kernel_state(void *arg)
{
	(void)arg;
	return ledger_clock_kernel_state();
}

static int
agent_clock(void *arg, const char *servers, double timeout_s, struct mon_time_reading *out,
	    struct mm_ctx *c)
{
	const struct agent *ag = arg;

	return agent_clock_read(ag->env.root, servers, timeout_s, out, c);
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
	const struct agent *ag = arg;
	struct ledger *lg = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	const char *what = NULL;
	char id[32] = "";

	if (ledger_open(ag->state_dir, LEDGER_CREATE, &ag->ledger_clock, &lg, &c) != 0 ||
	    ledger_incident_alert(lg, a->check, (int)a->state, a->cause, id, &what, &c) != 0)
		fprintf(stderr, "mamori monitor: the %s alert of %s is not in the ledger: %s\n",
			mon_state_name(a->state), a->check, c.msg);
	else if (id[0] != '\0' && !ag->quiet)
		fprintf(stderr, "mamori monitor: %s: incident %s %s\n", a->check, id, what);
	ledger_free(lg);
}

/* The ledger hears when monitoring stops, as it heard mamori start it. */
static void
record_stop(const struct agent *ag, long cycles)
{
	struct ledger *lg = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_entry en;
	char result[128];

	if (stop_now)
		snprintf(result, sizeof(result), "the agent stopped (SIG%s) after %ld cycle%s",
			 sigabbrev_np((int)stop_now) ? sigabbrev_np((int)stop_now) : "?", cycles,
			 cycles == 1 ? "" : "s");
	else
		snprintf(result, sizeof(result), "the agent stopped after %ld cycle%s", cycles,
			 cycles == 1 ? "" : "s");
	memset(&en, 0, sizeof(en));
	en.command = "monitor";
	en.target = ag->config;
	en.result = result;
	if (ledger_open(ag->state_dir, LEDGER_CREATE, &ag->ledger_clock, &lg, &c) != 0 ||
	    ledger_append(lg, &en, NULL, &c) != 0)
		fprintf(stderr, "mamori monitor: the agent's stop is not in the ledger: %s\n", c.msg);
	ledger_free(lg);
}

/* mamori beside this program (both are installed in one folder), else
 * the one in PATH. */
static void
find_program(struct agent *ag)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	snprintf(ag->program, sizeof(ag->program), "mamori");
	if (n <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return;
	slash[1] = '\0';
	if ((size_t)snprintf(ag->program, sizeof(ag->program), "%smamori", self) >=
		    sizeof(ag->program) || access(ag->program, X_OK) != 0)
		snprintf(ag->program, sizeof(ag->program), "mamori");
}

static int
usage(const char *msg)
{
	fprintf(stderr, "mamori-agent: %s\nusage: mamori-agent [--config FILE] [--cycles N] "
		"[--state-dir DIR] [--program MAMORI] [-q] [-v]\n", msg);
	return AGENT_USAGE;
}

static int
parse(struct agent *ag, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "cycles", required_argument, NULL, 'N' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "program", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "qv", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': ag->config = optarg; break;
		case 'S': ag->state_dir = optarg; break;
		case 'P': snprintf(ag->program, sizeof(ag->program), "%s", optarg); break;
		case 'q': ag->quiet = 1; break;
		case 'v': ag->verbose = 1; break;
		case 'N':
			ag->cycles = strtol(optarg, &end, 10);
			if (*end || ag->cycles < 1)
				return usage("--cycles takes a count >= 1");
			break;
		default:
			return usage("unknown option");
		}
	}
	if (optind < argc)
		return usage("no arguments are taken besides the options");
	return 0;
}

/* The whole file, against every module's schema (as mamori reads it). */
static int
read_config(const char *path, struct conf *cf, struct mon_config *mc, struct mm_ctx *c)
{
	struct conf_schema s = CONF_SCHEMA_INIT;
	int e;

	if ((e = policy_register(&s)) != 0 || (e = mon_conf_register(&s)) != 0)
		return mm_fail(c, e, "cannot register the configuration's sections");
	if ((e = conf_load(&s, path, cf, c)) != 0)
		return e;
	if ((e = mon_config_from(cf, mc, c)) != 0) {
		mon_config_release(mc);
		conf_release(cf);
	}
	return e;
}

/* SIGHUP: the new configuration, or the old one kept with the reason. */
static void
reload(struct agent *ag)
{
	struct conf cf = CONF_INIT;
	struct mon_config mc;
	struct mm_ctx c = MM_CTX_INIT;

	reload_now = 0;
	memset(&mc, 0, sizeof(mc));
	if (read_config(ag->config, &cf, &mc, &c) != 0) {
		fprintf(stderr, "mamori monitor: %s was not reloaded; the agent goes on with the "
			"configuration it had: %s\n", ag->config, c.msg);
		mon_config_release(&mc);
		conf_release(&cf);
		return;
	}
	mon_config_release(&ag->mc);
	conf_release(&ag->cf);
	ag->mc = mc;
	ag->cf = cf;
	fprintf(stderr, "mamori monitor: %s reloaded: %zu check%s, %zu alert%s\n", ag->config,
		mc.nchecks, mc.nchecks == 1 ? "" : "s", mc.nsinks, mc.nsinks == 1 ? "" : "s");
}

static int
load(struct agent *ag)
{
	struct mm_ctx c = MM_CTX_INIT;
	const char *now = getenv("MAMORI_NOW");

	if (ag->config == NULL && (ag->config = getenv("MAMORI_CONFIG")) == NULL)
		ag->config = "/etc/mamori/mamori.conf";
	if (ag->state_dir == NULL && (ag->state_dir = getenv("MAMORI_STATE_DIR")) == NULL)
		ag->state_dir = "/var/lib/mamori";
	/* The children read the policy's state where the ledger is, as the
	 * mamori that started this agent does. */
	if (setenv("MAMORI_STATE_DIR", ag->state_dir, 1) != 0) {
		fprintf(stderr, "mamori-agent: out of memory\n");
		return AGENT_CONFIG;
	}
	if (read_config(ag->config, &ag->cf, &ag->mc, &c) != 0) {
		fprintf(stderr, "mamori-agent: %s\n", c.msg);
		return AGENT_CONFIG;
	}
	ag->ledger_clock = ledger_system_clock;
	if (now != NULL && now[0] != '\0') {
		if (ledger_parse_time(now, 0, &ag->now_ns) != 0)
			return usage("MAMORI_NOW: expected 2026-12-01T10:00:00Z or @SECONDS "
				     "(it is for tests only)");
		ag->env.clock.now_ns = fixed_now;
		ag->env.clock.arg = &ag->now_ns;
		ag->ledger_clock.now = fixed_now;
		ag->ledger_clock.state = kernel_state;
		ag->ledger_clock.arg = &ag->now_ns;
	}
	if (ag->program[0] == '\0')
		find_program(ag);
	ag->helper.program = ag->program;
	ag->helper.config = ag->config;
	ag->root = getenv("MAMORI_MONITOR_ROOT");
	ag->env.root = ag->root ? ag->root : "";
	ag->env.hooks.clock = agent_clock;
	ag->env.hooks.arg = ag;
	ag->env.hooks.alert = record_alert;
	ag->env.hooks.alert_arg = ag;
	ag->env.net = &agent_net;
	ag->env.net_arg = &ag->helper;
	ag->env.outsource = agent_outsource;
	ag->env.outsource_arg = &ag->helper;
	ag->env.reuse = 1;
	return 0;
}

static void
print_cycle(const struct mon_cycle *cy)
{
	for (size_t i = 0; i < cy->n; i++)
		fprintf(stderr, "mamori monitor: %s %s: %s\n", cy->runs[i].check->name,
			mon_state_name(cy->runs[i].raw), cy->runs[i].res.message);
}

static void
sleep_until(double next)
{
	while (!stop_now && !reload_now && time_mono() < next) {
		double left = next - time_mono();
		struct timespec ts = { 0, 0 };
		if (left > 0.2)
			left = 0.2;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* The cycles until a signal (or --cycles): how many ran. */
static long
run(struct agent *ag)
{
	long done = 0;

	while (!stop_now) {
		struct mon_cycle cy = { NULL, 0, 0 };
		struct mm_ctx c = MM_CTX_INIT;
		double next;
		int e;

		if (reload_now)
			reload(ag);
		next = time_mono() + (double)ag->mc.interval_s;
		if ((e = mon_cycle_run(&ag->mc, &ag->env, NULL, 0, &cy, &c)) != 0 ||
		    (e = mon_cycle_commit(&ag->mc, &ag->env, &cy, warn_stderr, NULL, &c)) != 0) {
			/* A cycle that fails (state folder full, say) is reported; the
			 * agent goes on: stopping would leave the host unwatched. */
			fprintf(stderr, "mamori monitor: %s\n", c.msg);
		}
		if (e == 0 && ag->verbose)
			print_cycle(&cy);
		mon_cycle_release(&cy);
		if (++done == ag->cycles)
			break;
		sleep_until(next);
	}
	return done;
}

int
main(int argc, char **argv)
{
	struct agent ag;
	struct sigaction sa;
	struct mm_ctx c = MM_CTX_INIT;
	long ran;
	int rc;

	memset(&ag, 0, sizeof(ag));
	if ((rc = parse(&ag, argc, argv)) != 0)
		return rc;
	if ((rc = load(&ag)) != 0)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL); /* a helper that exits unread must not kill us */
	ran = run(&ag);
	/* Alerts under way are seen through (each within its sink's timeout)
	 * and accounted for, so none is lost or sent twice at a restart. */
	agent_helper_settle(&ag.helper);
	if (mon_cycle_drain(&ag.mc, &ag.env, warn_stderr, NULL, &c) != 0)
		fprintf(stderr, "mamori monitor: %s\n", c.msg);
	agent_helper_release(&ag.helper);
	record_stop(&ag, ran);
out:
	mon_config_release(&ag.mc);
	conf_release(&ag.cf);
	return rc;
}
