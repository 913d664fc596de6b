/*
 * Alert sinks: a webhook (JSON POST), e-mail (SMTP), a command with the
 * alert in its environment, and syslog (and so the journal) always. Each
 * attempt is bounded by the sink's timeout so a dead receiver delays a
 * cycle by seconds at most; the caller keeps what failed and retries.
 */
#include <curl/curl.h>
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

static void
summary_line(const struct mon_alert *a, char *out, size_t n)
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
mon_alert_syslog(const struct mon_alert *a)
{
	char line[256];
	int pri = a->state == MON_CRITICAL ? LOG_CRIT : a->state == MON_OK ? LOG_NOTICE : LOG_WARNING;

	summary_line(a, line, sizeof(line));
	openlog("mamori-monitor", LOG_PID, LOG_DAEMON);
	syslog(pri, "%s: %s", line, a->cause);
	closelog();
}

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static int
curl_failed(CURLcode cc, long status, const char *what, const char *url, const char *errbuf,
	    struct mm_ctx *c)
{
	int code = MM_EREMOTE;

	if (cc == CURLE_OK)
		return mm_fail(c, MM_EREMOTE, "%s %s answered %ld", what, url, status);
	if (cc == CURLE_COULDNT_RESOLVE_HOST)
		code = MM_ERESOLVE;
	else if (cc == CURLE_COULDNT_CONNECT)
		code = MM_ECONNREFUSED;
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		code = MM_ETIMEDOUT;
	else if (cc == CURLE_LOGIN_DENIED)
		code = MM_EDENIED;
	return mm_fail(c, code, "%s %s: %s", what, url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

static int
send_webhook(const struct mon_sink *s, const struct mon_alert *a, struct mm_ctx *c)
{
	struct buf body = BUF_INIT;
	struct curl_slist *hdr = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURL *h = NULL;
	CURLcode cc;
	int e;

	if ((e = mon_alert_json(a, &body)) != 0)
		return mm_fail(c, e, "out of memory");
	if ((h = curl_easy_init()) == NULL ||
	    (hdr = curl_slist_append(NULL, "Content-Type: application/json")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "cannot start libcurl");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body.data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body.len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(s->timeout_s * 1000));
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	e = cc == CURLE_OK && status >= 200 && status < 300 ? 0 :
	    curl_failed(cc, status, "webhook", s->url, errbuf, c);
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	buf_release(&body);
	return e;
}

struct mail_src {
	const char *p;
	size_t left;
};

static size_t
mail_read(char *out, size_t sz, size_t n, void *arg)
{
	struct mail_src *m = arg;
	size_t k = sz * n < m->left ? sz * n : m->left;

	memcpy(out, m->p, k);
	m->p += k;
	m->left -= k;
	return k;
}

/* A header value without CR or LF, so nothing can be injected. */
static void
header_safe(char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			*s = ' ';
}

static int
send_email(const struct mon_sink *s, const struct mon_alert *a, struct mm_ctx *c)
{
	char subject[300], date[64], when[32], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpt = NULL;
	struct buf msg = BUF_INIT, json = BUF_INIT;
	struct mail_src src;
	struct tm tm;
	time_t t = (time_t)a->time;
	char *text = NULL;
	CURL *h = NULL;
	CURLcode cc;
	int e = MM_ENOMEM, n;

	summary_line(a, subject, sizeof(subject));
	header_safe(subject);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	time_format_utc(a->time * 1000000000, when, sizeof(when));
	if (mon_alert_json(a, &json) != 0 || buf_append_u8(&json, 0) != 0)
		goto nomem;
	n = asprintf(&text, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: [mamori] %s\r\n"
		     "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		     "Content-Transfer-Encoding: 8bit\r\n\r\n"
		     "%s\r\n\r\nCheck: %s (%s)\r\nState: %s (was %s)\r\nCause: %s\r\n"
		     "Thresholds: %s\r\nHost: %s\r\nTime: %s\r\n\r\n%s\r\n",
		     date, s->from, s->to[0], subject, subject, a->check, a->type,
		     mon_state_name(a->state), mon_state_name(a->previous), a->cause,
		     a->threshold[0] ? a->threshold : "-", a->host, when, (char *)json.data);
	if (n < 0)
		goto nomem;
	/* A line of only "." would end the message early in SMTP: libcurl
	 * escapes such lines itself (dot-stuffing), so the text goes as is. */
	if (buf_append(&msg, text, (size_t)n) != 0)
		goto nomem;
	for (size_t i = 0; i < s->nto; i++) {
		struct curl_slist *l = curl_slist_append(rcpt, s->to[i]);
		if (l == NULL)
			goto nomem;
		rcpt = l;
	}
	if ((h = curl_easy_init()) == NULL)
		goto nomem;
	src.p = (const char *)msg.data;
	src.left = msg.len;
	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, s->from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &src);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(s->timeout_s * 1000));
	cc = curl_easy_perform(h);
	e = cc == CURLE_OK ? 0 : curl_failed(cc, 0, "mail server", s->url, errbuf, c);
	goto out;
nomem:
	e = mm_fail(c, MM_ENOMEM, "out of memory");
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	free(text);
	buf_release(&msg);
	buf_release(&json);
	return e;
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
mon_sink_send(const struct mon_sink *s, const struct mon_alert *a, struct mm_ctx *c)
{
	switch (s->type) {
	case MON_SINK_WEBHOOK: return send_webhook(s, a, c);
	case MON_SINK_EMAIL: return send_email(s, a, c);
	case MON_SINK_COMMAND: return send_command(s, a, c);
	}
	return mm_fail(c, MM_EINVAL, "unknown alert type");
}
