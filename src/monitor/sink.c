/*
 * Alert sinks: a webhook (JSON POST), e-mail (SMTP), a command with the
 * alert in its environment, and syslog (and so the journal) always. Each
 * attempt is bounded by the sink's timeout (webhook and e-mail go through
 * env->net: libcurl in curl.c); the caller keeps what failed and retries.
 * The agent delivers in the background instead (env->net->start), so a
 * dead receiver holds up no cycle.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "monitor/monitor_internal.h"

extern char **environ;

void
mon_sink_release(struct mon_sink *s)
{
	free(s->name);
	free(s->url);
	free(s->from);
	conf_argv_free(s->to);
	conf_argv_free(s->argv);
	memset(s, 0, sizeof(*s));
}

void
mon_alert_summary(const struct mon_alert *a, char *out, size_t n)
{
	if (strcmp(a->kind, "recovery") == 0)
		snprintf(out, n, "RECOVERY %s on %s: %s", a->check, a->host, mon_state_name(a->state));
	else if (strcmp(a->kind, "flapping") == 0)
		snprintf(out, n, "FLAPPING %s on %s: alerts paused while it changes state often",
			 a->check, a->host);
	else if (strcmp(a->kind, "flapping-ended") == 0)
		snprintf(out, n, "STABLE %s on %s: %s", a->check, a->host, mon_state_name(a->state));
	else
		snprintf(out, n, "%s %s on %s", mon_state_name(a->state), a->check, a->host);
}

int
mon_alert_json(const struct mon_alert *a, struct buf *out)
{
	char *mem = NULL, when[32];
	size_t len = 0;
	struct json j;
	FILE *f = open_memstream(&mem, &len);
	int e;

	if (f == NULL)
		return MM_ENOMEM;
	time_format_utc(a->time * 1000000000, when, sizeof(when));
	json_init(&j, f);
	json_obj_begin(&j);
	json_kv_str(&j, "check", a->check);
	json_kv_str(&j, "type", a->type);
	json_kv_str(&j, "kind", a->kind);
	json_kv_str(&j, "state", mon_state_name(a->state));
	json_kv_str(&j, "previous_state", mon_state_name(a->previous));
	json_key(&j, "value");
	if (a->has_value)
		json_double(&j, a->value);
	else
		json_null(&j);
	json_kv_str(&j, "threshold", a->threshold);
	json_kv_str(&j, "cause", a->cause);
	json_kv_str(&j, "host", a->host);
	json_kv_str(&j, "time", when);
	json_kv_int(&j, "time_unix", a->time);
	json_obj_end(&j);
	if (fclose(f) != 0 || mem == NULL) {
		free(mem);
		return MM_ENOMEM;
	}
	e = buf_append(out, mem, len);
	free(mem);
	return e;
}

void
mon_alert_syslog(const struct mon_alert *a, const char *silenced)
{
	char line[256];
	int pri = a->state == MON_CRITICAL ? LOG_CRIT : a->state == MON_OK ? LOG_NOTICE : LOG_WARNING;

	mon_alert_summary(a, line, sizeof(line));
	openlog("mamori-monitor", LOG_PID, LOG_DAEMON);
	if (silenced != NULL)
		syslog(pri, "%s: %s (silenced, not sent: %s)", line, a->cause,
		       silenced[0] ? silenced : "no reason given");
	else
		syslog(pri, "%s: %s", line, a->cause);
	closelog();
}

/* The command gets the alert as MAMORI_ALERT_* variables and its JSON on
 * no shell; it must finish within the sink's timeout. */
static int
send_command(const struct mon_sink *s, const struct mon_alert *a, struct mm_ctx *c)
{
	char *vars[12] = { NULL };
	char **envp = NULL;
	size_t nenv = 0, nv = 0;
	char value[64], when[32];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int e = 0, st = 0;
	double deadline;

	snprintf(value, sizeof(value), "%.17g", a->value);
	time_format_utc(a->time * 1000000000, when, sizeof(when));
	if (asprintf(&vars[nv++], "MAMORI_ALERT_CHECK=%s", a->check) < 0 ||
	    asprintf(&vars[nv++], "MAMORI_ALERT_TYPE=%s", a->type) < 0 ||
	    asprintf(&vars[nv++], "MAMORI_ALERT_KIND=%s", a->kind) < 0 ||
	    asprintf(&vars[nv++], "MAMORI_ALERT_STATE=%s", mon_state_name(a->state)) < 0 ||
	    asprintf(&vars[nv++], "MAMORI_ALERT_PREVIOUS_STATE=%s", mon_state_name(a->previous)) < 0 ||
	    asprintf(&vars[nv++], "MAMORI_ALERT_VALUE=%s", a->has_value ? value : "") < 0 ||
	    asprintf(&vars[nv++], "MAMORI_ALERT_THRESHOLD=%s", a->threshold) < 0 ||
	    asprintf(&vars[nv++], "MAMORI_ALERT_CAUSE=%s", a->cause) < 0 ||
	    asprintf(&vars[nv++], "MAMORI_ALERT_HOST=%s", a->host) < 0 ||
	    asprintf(&vars[nv++], "MAMORI_ALERT_TIME=%s", when) < 0) {
		vars[--nv] = NULL;
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	while (environ[nenv])
		nenv++;
	if ((envp = calloc(nenv + nv + 1, sizeof(*envp))) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0, k = 0; i < nenv; i++)
		if (strncmp(environ[i], "MAMORI_ALERT_", 13) != 0)
			envp[k++] = environ[i];
	for (size_t i = 0, k = 0; i < nenv + nv; i++)
		if (envp[i] == NULL && k < nv)
			envp[i] = vars[k++];
	if (posix_spawn_file_actions_init(&fa) != 0) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	(void)posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	e = posix_spawnp(&pid, s->argv[0], &fa, NULL, s->argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		e = mm_fail(c, MM_ECHILD, "cannot run %s: %s", s->argv[0], strerror(e));
		goto out;
	}
	deadline = time_mono() + s->timeout_s;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		struct timespec ts = { 0, 10000000 };
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			e = mm_fail_errno(c, errno, "cannot wait for %s", s->argv[0]);
			goto out;
		}
		if (time_mono() > deadline) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &st, 0);
			e = mm_fail(c, MM_ETIMEDOUT, "%s did not finish within %.0f s: killed",
				    s->argv[0], s->timeout_s);
			goto out;
		}
		nanosleep(&ts, NULL);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		e = mm_fail(c, MM_ECHILD, "%s %s %d", s->argv[0],
			    WIFEXITED(st) ? "exited with status" : "was killed by signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
out:
	for (size_t i = 0; i < nv; i++)
		free(vars[i]);
	free(envp);
	return e;
}

int
mon_sink_send(const struct mon_sink *s, const struct mon_alert *a, const struct mon_env *env,
	      struct mm_ctx *c)
{
	switch (s->type) {
	case MON_SINK_WEBHOOK:
	case MON_SINK_EMAIL:
		if (env == NULL || env->net == NULL || env->net->send == NULL)
			return mm_fail(c, MM_EUNSUPPORTED, "this program sends no %s alerts",
				       s->type == MON_SINK_EMAIL ? "e-mail" : "webhook");
		return env->net->send(env->net_arg, s, a, c);
	case MON_SINK_COMMAND: return send_command(s, a, c);
	}
	return mm_fail(c, MM_EINVAL, "unknown alert type");
}
