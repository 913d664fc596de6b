/*
 * Probes that ask something over the network or another program: a TCP
 * service, an HTTP(S) URL (through env->net: libcurl), a systemd unit (sd-bus;
 * systemctl when there is no system bus).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
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

/* A unit's state as systemd tells it. */
struct unit_state {
	char load[32];   /* loaded, not-found, masked, error */
	char active[32]; /* active, inactive, failed, activating, ... */
	char sub[32];    /* running, dead, exited, ... */
	char result[32]; /* services: success, exit-code, signal, ... ("" otherwise) */
};

static int
unit_property(sd_bus *bus, const char *path, const char *iface, const char *name, char *out,
	      size_t n, sd_bus_error *err)
{
	char *v = NULL;
	int r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path, iface, name,
					   err, &v);

	if (r >= 0)
		snprintf(out, n, "%s", v);
	free(v);
	return r;
}

/*
 * Ask systemd over D-Bus (sd-bus): LoadUnit gives the unit's object (a
 * unit with no file comes back "not-found"), then its states. 1 when the
 * system bus cannot be reached (the caller falls back to systemctl), 0
 * with st filled, -1 with err saying what systemd answered.
 */
static int
unit_state_bus(const char *unit, double timeout_s, struct unit_state *st, char *err, size_t n)
{
	sd_bus *bus = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path = NULL;
	int r, rc = -1;

	memset(st, 0, sizeof(*st));
	if (sd_bus_open_system(&bus) < 0)
		return 1;
	(void)sd_bus_set_method_call_timeout(bus, (uint64_t)(timeout_s * 1e6));
	r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			       "org.freedesktop.systemd1.Manager", "LoadUnit", &e, &reply, "s", unit);
	if (r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.DBus.Error.ServiceUnknown")) {
		rc = 1; /* a bus without systemd on it */
		goto out;
	}
	if (r < 0 || sd_bus_message_read(reply, "o", &path) < 0 ||
	    unit_property(bus, path, "org.freedesktop.systemd1.Unit", "LoadState", st->load,
			  sizeof(st->load), &e) < 0 ||
	    unit_property(bus, path, "org.freedesktop.systemd1.Unit", "ActiveState", st->active,
			  sizeof(st->active), &e) < 0 ||
	    unit_property(bus, path, "org.freedesktop.systemd1.Unit", "SubState", st->sub,
			  sizeof(st->sub), &e) < 0) {
		snprintf(err, n, "%s", e.message ? e.message : strerror(r < 0 ? -r : EPROTO));
		goto out;
	}
	sd_bus_error_free(&e);
	if (strcmp(st->active, "failed") == 0 &&
	    unit_property(bus, path, "org.freedesktop.systemd1.Service", "Result", st->result,
			  sizeof(st->result), &e) < 0)
		st->result[0] = '\0'; /* not a service: no result to tell */
	rc = 0;
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return rc;
}

/* Without a system bus: `systemctl is-active UNIT` prints the active state. */
static int
unit_state_systemctl(const char *unit, struct unit_state *st, char *err, size_t n)
{
	char *argv[] = { "systemctl", "is-active", "--", (char *)unit, NULL };
	struct mm_ctx ignore = MM_CTX_INIT;
	char word[128] = "";
	int fd = -1, pid;
	ssize_t got;
	size_t len = 0;

	memset(st, 0, sizeof(*st));
	if (proc_spawn(argv, &fd, &pid, &ignore) != 0) {
		snprintf(err, n, "%.500s (systemctl is not installed: not a systemd host?)",
			 ignore.msg);
		return -1;
	}
	while (len < sizeof(word) - 1 && (got = read(fd, word + len, sizeof(word) - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	word[len] = '\0';
	word[strcspn(word, "\n")] = '\0';
	if (proc_wait(pid, "systemctl", &ignore) != 0) {
		/* is-active exits non-zero for every state but active: the word says which */
	}
	if (word[0] == '\0') {
		snprintf(err, n, "systemctl gave no answer (not booted with systemd?)");
		return -1;
	}
	snprintf(st->load, sizeof(st->load), "loaded");
	snprintf(st->active, sizeof(st->active), "%.31s", word);
	return 0;
}

static void
service_verdict(const char *unit, const struct unit_state *st, struct mon_result *out)
{
	const char *a = st->active;

	if (strcmp(st->load, "not-found") == 0) {
		out->state = MON_CRITICAL;
		snprintf(out->message, sizeof(out->message), "%s is not installed: systemd has no "
			 "such unit (a typo in the check, or the package was removed)", unit);
		return;
	}
	if (strcmp(st->load, "masked") == 0) {
		out->state = MON_CRITICAL;
		snprintf(out->message, sizeof(out->message), "%s is masked: it cannot start "
			 "(`systemctl unmask %s`)", unit, unit);
		return;
	}
	if (strcmp(a, "active") == 0) {
		snprintf(out->message, sizeof(out->message), "%s is active", unit);
		if (st->sub[0])
			mon_append(out, " (%s)", st->sub);
		return;
	}
	out->state = strcmp(a, "activating") == 0 || strcmp(a, "reloading") == 0 ||
		     strcmp(a, "deactivating") == 0 ? MON_WARNING : MON_CRITICAL;
	snprintf(out->message, sizeof(out->message), "%s is %s", unit, a);
	if (strcmp(a, "failed") == 0) {
		if (st->result[0] && strcmp(st->result, "success") != 0)
			mon_append(out, " (%s)", st->result);
		mon_append(out, ": see `systemctl status %s` and `journalctl -u %s -n 50`", unit,
			   unit);
	} else if (strcmp(a, "inactive") == 0) {
		mon_append(out, " (stopped: `systemctl start %s`; enable it to start at boot)", unit);
	}
}

/* A systemd unit's state, over D-Bus, or from systemctl without a bus. */
static int
probe_service(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	      struct mon_result *out, struct mm_ctx *c)
{
	struct unit_state st;
	char booted[1100], err[600] = "", lab[256];
	struct stat sb;
	int e, r;

	snprintf(booted, sizeof(booted), "%s/run/systemd/system", env->root ? env->root : "");
	if (stat(booted, &sb) != 0) {
		/* sd_booted(3): without this folder systemd is not the init system. */
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "cannot ask about %s: systemd is not "
			 "running on this host (no /run/systemd/system)", k->target);
		goto metrics;
	}
	if ((r = unit_state_bus(k->target, timeout_of(k), &st, err, sizeof(err))) == 1)
		r = unit_state_systemctl(k->target, &st, err, sizeof(err));
	if (r != 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "cannot ask systemd about %s: %s",
			 k->target, err);
		goto metrics;
	}
	service_verdict(k->target, &st, out);
metrics:
	mon_label(lab, sizeof(lab), k->name, "unit", k->target);
	if ((e = mon_metric_add(out, "mamori_service_active", lab,
				out->state == MON_OK ? 1 : 0)) != 0)
		return mm_fail(c, e, "out of memory");
	(void)memo;
	return 0;
}

const struct mon_probe mon_probe_tcp = { "tcp", "address", 1, probe_tcp, 0, 0 };
const struct mon_probe mon_probe_http = { "http", "url", 1, probe_http, 1, 0 };
const struct mon_probe mon_probe_service = { "service", "unit", 1, probe_service, 0, 0 };
