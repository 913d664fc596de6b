/*
 * Probes that ask something over the network or another program: a TCP
 * service, an HTTP(S) URL (through env->net: libcurl), a systemd unit (systemctl).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/monitor_internal.h"

static double
timeout_of(const struct mon_check *k)
{
	return k->timeout_s > 0 ? k->timeout_s : 5.0;
}

/* "host:port", "[v6]:port". */
static int
split_hostport(const char *s, char *host, size_t hn, char *port, size_t pn)
{
	const char *colon;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= hn)
			return -1;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= hn || colon == s)
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= pn)
		return -1;
	snprintf(port, pn, "%s", colon + 1);
	return 0;
}

/* Connect with a deadline: 0 and the seconds it took, or -errno. */
static int
connect_timed(const struct addrinfo *ai, double timeout, double *secs)
{
	double t0 = time_mono();
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int fd, err = 0, r;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		r = poll(&pfd, 1, (int)(timeout * 1000));
	while (r < 0 && errno == EINTR);
	if (r == 0)
		err = -ETIMEDOUT;
	else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
		err = -errno;
	else
		err = -err;
	close(fd);
	*secs = time_mono() - t0;
	return err;
}

static int
probe_tcp(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	  struct mon_result *out, struct mm_ctx *c)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char host[256], port[32], lab[256];
	double secs = 0;
	int e, g;

	if (split_hostport(k->target, host, sizeof(host), port, sizeof(port)) != 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "%s is not HOST:PORT", k->target);
		return 0;
	}
	hints.ai_socktype = SOCK_STREAM;
	if ((g = getaddrinfo(host, port, &hints, &res)) != 0) {
		out->state = MON_CRITICAL;
		snprintf(out->message, sizeof(out->message), "%s: the name %s did not resolve (%s): "
			 "check DNS (/etc/resolv.conf) or the name", k->target, host, gai_strerror(g));
		goto metrics;
	}
	e = connect_timed(res, timeout_of(k), &secs);
	freeaddrinfo(res);
	out->judged = e == 0;
	out->value = secs;
	out->pct = -1;
	snprintf(out->unit, sizeof(out->unit), "s");
	if (e == 0)
		snprintf(out->message, sizeof(out->message), "%s answers, connected in %.1f ms",
			 k->target, secs * 1000);
	else {
		out->state = MON_CRITICAL;
		if (e == -ECONNREFUSED)
			snprintf(out->message, sizeof(out->message), "%s: connection refused (nothing "
				 "listens on port %s: is the service running?)", k->target, port);
		else if (e == -ETIMEDOUT)
			snprintf(out->message, sizeof(out->message), "%s: no answer within %.0f s (a "
				 "firewall dropping packets on the path, or the host is down)",
				 k->target, timeout_of(k));
		else
			snprintf(out->message, sizeof(out->message), "%s: cannot connect: %s (check "
				 "the route to the host: `ip route get`)", k->target, strerror(-e));
	}
metrics:
	mon_label(lab, sizeof(lab), k->name, "address", k->target);
	if ((e = mon_metric_add(out, "mamori_tcp_up", lab, out->state == MON_CRITICAL ? 0 : 1)) ||
	    (e = mon_metric_add(out, "mamori_tcp_connect_seconds", lab, secs)))
		return mm_fail(c, e, "out of memory");
	(void)env;
	(void)memo;
	return 0;
}

static int
probe_http(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	   struct mon_result *out, struct mm_ctx *c)
{
	struct mon_http_answer ans;
	char lab[512];
	int e, ok;

	if (env->net == NULL || env->net->http_get == NULL)
		return mm_fail(c, MM_EUNSUPPORTED, "this program has no HTTP client");
	memset(&ans, 0, sizeof(ans));
	if ((e = env->net->http_get(k->target, timeout_of(k), &ans, c)) != 0)
		return e;
	out->pct = -1;
	snprintf(out->unit, sizeof(out->unit), "s");
	if (ans.failed) {
		out->state = MON_CRITICAL;
		snprintf(out->message, sizeof(out->message), "%s: %s", k->target, ans.cause);
	} else {
		ok = k->expect_status ? ans.status == k->expect_status :
					ans.status >= 200 && ans.status < 400;
		out->judged = 1;
		out->value = ans.seconds;
		if (!ok) {
			out->state = MON_CRITICAL;
			snprintf(out->message, sizeof(out->message), "%s answered HTTP %ld, expected ",
				 k->target, ans.status);
			if (k->expect_status)
				mon_append(out, "%ld", k->expect_status);
			else
				mon_append(out, "200-399");
			if (ans.status >= 500)
				mon_append(out, " (the application behind the web server fails: see "
					   "its log)");
		} else {
			snprintf(out->message, sizeof(out->message), "%s answered HTTP %ld in %.0f ms",
				 k->target, ans.status, ans.seconds * 1000);
		}
	}
	mon_label(lab, sizeof(lab), k->name, "url", k->target);
	if ((e = mon_metric_add(out, "mamori_http_up", lab, out->state == MON_CRITICAL ? 0 : 1)) ||
	    (e = mon_metric_add(out, "mamori_http_status", lab, (double)ans.status)) ||
	    (e = mon_metric_add(out, "mamori_http_duration_seconds", lab, ans.seconds)))
		return mm_fail(c, e, "out of memory");
	(void)memo;
	return 0;
}

/* `systemctl is-active UNIT` and, when not active, `systemctl is-failed`. */
static int
probe_service(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	      struct mon_result *out, struct mm_ctx *c)
{
	char *argv[] = { "systemctl", "is-active", "--", k->target, NULL };
	char word[128] = "", lab[256];
	struct mm_ctx ignore = MM_CTX_INIT;
	int fd = -1, pid, e, active = 0;
	ssize_t n;
	size_t len = 0;

	char booted[64];
	struct stat st;

	snprintf(booted, sizeof(booted), "%s/run/systemd/system", env->root ? env->root : "");
	if (stat(booted, &st) != 0) {
		/* sd_booted(3): without this folder systemd is not the init system. */
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "cannot ask about %s: systemd is not "
			 "running on this host (no /run/systemd/system)", k->target);
		goto metrics;
	}
	if (proc_spawn(argv, &fd, &pid, &ignore) != 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "cannot ask systemd about %s: %.500s "
			 "(systemctl is not installed: not a systemd host?)", k->target, ignore.msg);
		goto metrics;
	}
	while (len < sizeof(word) - 1 && (n = read(fd, word + len, sizeof(word) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	word[len] = '\0';
	word[strcspn(word, "\n")] = '\0';
	if (proc_wait(pid, "systemctl", &ignore) != 0) {
		/* is-active exits non-zero for every state but active: the word says which */
	}
	active = strcmp(word, "active") == 0;
	if (active) {
		snprintf(out->message, sizeof(out->message), "%s is active", k->target);
	} else if (word[0] == '\0') {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "systemd did not answer about %s (not "
			 "booted with systemd?)", k->target);
	} else {
		out->state = strcmp(word, "activating") == 0 || strcmp(word, "reloading") == 0 ?
			     MON_WARNING : MON_CRITICAL;
		snprintf(out->message, sizeof(out->message), "%s is %s", k->target, word);
		if (strcmp(word, "failed") == 0)
			mon_append(out, " (see `systemctl status %s` and `journalctl -u %s -n 50`)",
				   k->target, k->target);
		else if (strcmp(word, "inactive") == 0)
			mon_append(out, " (stopped: `systemctl start %s`; enable it to start at boot)",
				   k->target);
	}
metrics:
	mon_label(lab, sizeof(lab), k->name, "unit", k->target);
	if ((e = mon_metric_add(out, "mamori_service_active", lab, active)) != 0)
		return mm_fail(c, e, "out of memory");
	(void)env;
	(void)memo;
	return 0;
}

const struct mon_probe mon_probe_tcp = { "tcp", "address", 1, probe_tcp, 0, 0 };
const struct mon_probe mon_probe_http = { "http", "url", 1, probe_http, 1, 0 };
const struct mon_probe mon_probe_service = { "service", "unit", 1, probe_service, 0, 0 };
