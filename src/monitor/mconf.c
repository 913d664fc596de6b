/*
 * The monitor's sections of the configuration file: [monitor],
 * [check NAME] and [alert NAME] (docs/monitoring.md).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/monitor_internal.h"

static const struct conf_key monitor_keys[] = {
	{ "interval", CONF_DURATION, 0, 0, 0, NULL, "a duration such as 10s" },
	{ "state-dir", CONF_STRING, 0, 0, 0, NULL, "a folder" },
	{ "host", CONF_STRING, 0, 0, 0, NULL, "the name alerts give this host" },
};
static const struct conf_key check_keys[] = {
	{ "type", CONF_STRING, 1, 0, 0, NULL, "a probe type" },
	{ "path", CONF_STRING, 0, 0, 0, NULL, "a mount point or folder" },
	{ "interface", CONF_STRING, 0, 0, 0, NULL, "a network interface such as eth0" },
	{ "address", CONF_STRING, 0, 0, 0, NULL, "HOST:PORT" },
	{ "url", CONF_STRING, 0, 0, 0, NULL, "an http:// or https:// URL" },
	{ "unit", CONF_STRING, 0, 0, 0, NULL, "a systemd unit such as postgresql.service" },
	{ "process", CONF_STRING, 0, 0, 0, NULL, "a process name as in /proc/PID/comm" },
	{ "array", CONF_STRING, 0, 0, 0, NULL, "an md array such as md0, or all" },
	{ "files", CONF_LIST, 0, 0, 0, NULL, "a list of files" },
	{ "dataset", CONF_STRING, 0, 0, 0, NULL, "a dataset of the policy (none: all)" },
	{ "server", CONF_STRING, 0, 0, 0, NULL, "NTP servers HOST[:PORT] to measure against" },
	{ "expect-status", CONF_INT, 0, 100, 599, NULL, "an HTTP status such as 200" },
	{ "timeout", CONF_DURATION, 0, 0, 0, NULL, "a duration such as 5s" },
	{ "warn", CONF_STRING, 0, 0, 0, NULL, "a threshold such as 80% or 10G" },
	{ "crit", CONF_STRING, 0, 0, 0, NULL, "a threshold such as 90% or 5G" },
	{ "for", CONF_DURATION, 0, 0, 0, NULL, "a duration such as 5m" },
	{ "every", CONF_DURATION, 0, 0, 0, NULL, "a duration such as 5m (0s: every cycle)" },
};
static const struct conf_key alert_keys[] = {
	{ "type", CONF_STRING, 1, 0, 0, NULL, "webhook, email or command" },
	{ "url", CONF_STRING, 0, 0, 0, NULL, "a URL (webhook) or smtp://HOST:PORT (email)" },
	{ "to", CONF_LIST, 0, 0, 0, NULL, "one or more e-mail addresses" },
	{ "from", CONF_STRING, 0, 0, 0, NULL, "the sender's e-mail address" },
	{ "command", CONF_COMMAND, 0, 0, 0, NULL, "a command and its arguments" },
	{ "min-state", CONF_STRING, 0, 0, 0, NULL, "warning or critical" },
	{ "timeout", CONF_DURATION, 0, 0, 0, NULL, "a duration such as 10s" },
};

static const struct conf_kind kind_monitor = { "monitor", 0, monitor_keys,
	sizeof(monitor_keys) / sizeof(monitor_keys[0]) };
static const struct conf_kind kind_check = { "check", 1, check_keys,
	sizeof(check_keys) / sizeof(check_keys[0]) };
static const struct conf_kind kind_alert = { "alert", 1, alert_keys,
	sizeof(alert_keys) / sizeof(alert_keys[0]) };

int
mon_conf_register(struct conf_schema *s)
{
	int e;

	if ((e = conf_schema_add(s, &kind_monitor)) != 0 || (e = conf_schema_add(s, &kind_check)) != 0)
		return e;
	return conf_schema_add(s, &kind_alert);
}

void
mon_check_release(struct mon_check *k)
{
	free(k->name);
	free(k->target);
	conf_argv_free(k->files);
	memset(k, 0, sizeof(*k));
}

void
mon_config_release(struct mon_config *mc)
{
	for (size_t i = 0; i < mc->nchecks; i++)
		mon_check_release(&mc->checks[i]);
	for (size_t i = 0; i < mc->nsinks; i++)
		mon_sink_release(&mc->sinks[i]);
	free(mc->checks);
	free(mc->sinks);
	free(mc->state_dir);
	free(mc->host);
	memset(mc, 0, sizeof(*mc));
}

static int bad(const struct conf *cf, unsigned line, struct mm_ctx *c, const char *fmt, ...)
	MM_PRINTF(4, 5);

static int
bad(const struct conf *cf, unsigned line, struct mm_ctx *c, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return mm_fail(c, MM_ECONFIG, "%s:%u: %s", cf->path, line, what);
}

/* What an absolute threshold of each probe type measures. */
enum unit_kind { UNIT_BYTES, UNIT_SECONDS, UNIT_NUMBER };

static enum unit_kind
unit_of(const struct mon_probe *p)
{
	if (strcmp(p->type, "disk") == 0 || strcmp(p->type, "memory") == 0)
		return UNIT_BYTES;
	if (strcmp(p->type, "tcp") == 0 || strcmp(p->type, "http") == 0 || strcmp(p->type, "time") == 0)
		return UNIT_SECONDS;
	return UNIT_NUMBER;
}

static int
parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0 || !isfinite(v))
		return -1;
	if (strcmp(end, "ms") == 0)
		v /= 1000;
	else if (strcmp(end, "m") == 0)
		v *= 60;
	else if (strcmp(end, "h") == 0)
		v *= 3600;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return -1;
	*out = v;
	return 0;
}

static int
parse_threshold(const struct conf *cf, const struct conf_value *v, const struct mon_probe *p,
		struct mon_threshold *t, struct mm_ctx *c)
{
	char err[128];
	size_t len = strlen(v->raw);

	t->set = 1;
	if (len > 0 && v->raw[len - 1] == '%') {
		t->pct = 1;
		if (conf_parse_percent(v->raw, &t->value, err, sizeof(err)) != 0)
			return bad(cf, v->line, c, "%s: %s", v->key->name, err);
		if (strcmp(p->type, "network") == 0 || strcmp(p->type, "tcp") == 0 ||
		    strcmp(p->type, "http") == 0)
			return bad(cf, v->line, c, "%s: a %s check has no percentage; give a number",
				   v->key->name, p->type);
		return 0;
	}
	switch (unit_of(p)) {
	case UNIT_BYTES: {
		uint64_t u;
		if (conf_parse_size(v->raw, &u, err, sizeof(err)) != 0)
			return bad(cf, v->line, c, "%s: %s (a percentage such as 80%%, or the "
				   "space left such as 10G)", v->key->name, err);
		t->value = (double)u;
		return 0;
	}
	case UNIT_SECONDS:
		if (parse_seconds(v->raw, &t->value) != 0)
			return bad(cf, v->line, c, "%s: '%s' is not a time such as 500ms or 2s",
				   v->key->name, v->raw);
		return 0;
	case UNIT_NUMBER: {
		char *end;
		errno = 0;
		t->value = strtod(v->raw, &end);
		if (end == v->raw || *end || errno || !isfinite(t->value))
			return bad(cf, v->line, c, "%s: '%s' is not a number or a percentage",
				   v->key->name, v->raw);
		return 0;
	}
	}
	return 0;
}

/* Defaults where an administrator would expect them. */
static void
default_thresholds(struct mon_check *k)
{
	const char *t = k->probe->type;

	if (strcmp(t, "disk") == 0 && !k->warn.set && !k->crit.set) {
		k->warn = (struct mon_threshold){ 1, 1, 80 };
		k->crit = (struct mon_threshold){ 1, 1, 90 };
	} else if (strcmp(t, "memory") == 0 && !k->warn.set && !k->crit.set) {
		k->warn = (struct mon_threshold){ 1, 1, 90 };
		k->crit = (struct mon_threshold){ 1, 1, 95 };
	} else if (strcmp(t, "logins") == 0 && !k->warn.set && !k->crit.set) {
		k->warn = (struct mon_threshold){ 1, 0, 5 };  /* failed logins a cycle */
		k->crit = (struct mon_threshold){ 1, 0, 20 };
	} else if (strcmp(t, "time") == 0 && !k->warn.set && !k->crit.set) {
		k->warn = (struct mon_threshold){ 1, 0, 0.1 };  /* seconds */
		k->crit = (struct mon_threshold){ 1, 0, 1.0 };
	} else if (strcmp(t, "network") == 0 && !k->warn.set && !k->crit.set) {
		k->warn = (struct mon_threshold){ 1, 0, 1 }; /* any error or drop */
	}
}

static int
check_from(const struct conf *cf, const struct conf_section *sec, struct mon_check *k,
	   struct mm_ctx *c)
{
	const struct conf_value *type = conf_get(sec, "type"), *v;
	static const char *const targets[] = { "path", "interface", "address", "url", "unit",
					       "process", "array", "dataset", "server" };
	int e;

	if ((k->probe = mon_probe_find(type->raw)) == NULL)
		return bad(cf, type->line, c, "type: unknown probe '%s'; expected one of %s",
			   type->raw, mon_probe_types());
	if ((k->name = strdup(sec->name)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		v = conf_get(sec, targets[i]);
		if (v == NULL)
			continue;
		if (k->probe->target_key == NULL || strcmp(k->probe->target_key, targets[i]) != 0)
			return bad(cf, v->line, c, "%s: a %s check takes no such key", targets[i],
				   k->probe->type);
		if ((k->target = strdup(v->raw)) == NULL)
			return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	if (k->probe->target_key && k->target == NULL && strcmp(k->probe->type, "raid") != 0 &&
	    strcmp(k->probe->type, "backups") != 0 && strcmp(k->probe->type, "time") != 0)
		return bad(cf, sec->line, c, "[check %s] needs %s", sec->name, k->probe->target_key);
	if (strcmp(k->probe->type, "disk") == 0 && k->target[0] != '/')
		return bad(cf, conf_get(sec, "path")->line, c, "path: '%s' is not an absolute path",
			   k->target);
	if ((v = conf_get(sec, "files")) != NULL) {
		if (strcmp(k->probe->type, "files") != 0)
			return bad(cf, v->line, c, "files: a %s check takes no such key",
				   k->probe->type);
		for (size_t i = 0; i < v->argc; i++)
			if (v->argv[i][0] != '/')
				return bad(cf, v->line, c, "files: '%s' is not an absolute path",
					   v->argv[i]);
		k->nfiles = v->argc;
		if ((k->files = calloc(v->argc + 1, sizeof(char *))) == NULL)
			return mm_fail(c, MM_ENOMEM, "out of memory");
		for (size_t i = 0; i < v->argc; i++)
			if ((k->files[i] = strdup(v->argv[i])) == NULL)
				return mm_fail(c, MM_ENOMEM, "out of memory");
	} else if (strcmp(k->probe->type, "files") == 0) {
		return bad(cf, sec->line, c, "[check %s] needs files (the files to watch)",
			   sec->name);
	}
	if ((v = conf_get(sec, "expect-status")) != NULL)
		k->expect_status = (long)v->i;
	if ((v = conf_get(sec, "timeout")) != NULL)
		k->timeout_s = (double)v->i;
	if ((v = conf_get(sec, "for")) != NULL)
		k->for_s = v->i;
	k->every_s = (v = conf_get(sec, "every")) != NULL ? v->i : k->probe->default_every_s;
	if ((v = conf_get(sec, "warn")) != NULL && (e = parse_threshold(cf, v, k->probe, &k->warn, c)) != 0)
		return e;
	if ((v = conf_get(sec, "crit")) != NULL && (e = parse_threshold(cf, v, k->probe, &k->crit, c)) != 0)
		return e;
	if (k->warn.set && k->crit.set && k->warn.pct == k->crit.pct) {
		int worse = k->warn.pct || k->probe->higher_is_worse;
		if (worse ? k->warn.value > k->crit.value : k->warn.value < k->crit.value)
			return bad(cf, conf_get(sec, "crit")->line, c, "crit: %s is less severe than "
				   "warn (%s)", conf_get(sec, "crit")->raw, conf_get(sec, "warn")->raw);
	}
	default_thresholds(k);
	return 0;
}

static int
sink_from(const struct conf *cf, const struct conf_section *sec, struct mon_sink *s,
	  struct mm_ctx *c)
{
	const struct conf_value *type = conf_get(sec, "type"), *v;

	if ((s->name = strdup(sec->name)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if (strcmp(type->raw, "webhook") == 0)
		s->type = MON_SINK_WEBHOOK;
	else if (strcmp(type->raw, "email") == 0)
		s->type = MON_SINK_EMAIL;
	else if (strcmp(type->raw, "command") == 0)
		s->type = MON_SINK_COMMAND;
	else
		return bad(cf, type->line, c, "type: unknown alert type '%s'; expected webhook, "
			   "email or command", type->raw);
	s->min_state = MON_WARNING;
	if ((v = conf_get(sec, "min-state")) != NULL) {
		if (strcmp(v->raw, "warning") == 0)
			s->min_state = MON_WARNING;
		else if (strcmp(v->raw, "critical") == 0)
			s->min_state = MON_CRITICAL;
		else
			return bad(cf, v->line, c, "min-state: '%s'; expected warning or critical",
				   v->raw);
	}
	s->timeout_s = (v = conf_get(sec, "timeout")) != NULL ? (double)v->i : 10;
	if (s->timeout_s <= 0)
		s->timeout_s = 10;
	if ((v = conf_get(sec, "url")) != NULL && (s->url = strdup(v->raw)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if ((v = conf_get(sec, "from")) != NULL && (s->from = strdup(v->raw)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if ((v = conf_get(sec, "to")) != NULL) {
		if ((s->to = calloc(v->argc + 1, sizeof(char *))) == NULL)
			return mm_fail(c, MM_ENOMEM, "out of memory");
		for (size_t i = 0; i < v->argc; i++)
			if ((s->to[i] = strdup(v->argv[i])) == NULL)
				return mm_fail(c, MM_ENOMEM, "out of memory");
		s->nto = v->argc;
	}
	if ((v = conf_get(sec, "command")) != NULL) {
		if ((s->argv = calloc(v->argc + 1, sizeof(char *))) == NULL)
			return mm_fail(c, MM_ENOMEM, "out of memory");
		for (size_t i = 0; i < v->argc; i++)
			if ((s->argv[i] = strdup(v->argv[i])) == NULL)
				return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	switch (s->type) {
	case MON_SINK_WEBHOOK:
		if (!s->url || (strncmp(s->url, "http://", 7) && strncmp(s->url, "https://", 8)))
			return bad(cf, sec->line, c, "[alert %s] type webhook needs url = http(s)://...",
				   sec->name);
		break;
	case MON_SINK_EMAIL:
		if (!s->url || (strncmp(s->url, "smtp://", 7) && strncmp(s->url, "smtps://", 8)))
			return bad(cf, sec->line, c, "[alert %s] type email needs url = smtp://HOST:PORT",
				   sec->name);
		if (!s->from || s->nto == 0)
			return bad(cf, sec->line, c, "[alert %s] type email needs from and to",
				   sec->name);
		break;
	case MON_SINK_COMMAND:
		if (!s->argv)
			return bad(cf, sec->line, c, "[alert %s] type command needs command",
				   sec->name);
		break;
	}
	return 0;
}

int
mon_config_from(const struct conf *cf, struct mon_config *out, struct mm_ctx *c)
{
	struct mon_config mc;
	const struct conf_section *mon = conf_find(cf, "monitor", NULL);
	const struct conf_value *v;
	char host[256] = "localhost";
	size_t nck = 0, nal = 0;
	int e;

	memset(&mc, 0, sizeof(mc));
	mc.interval_s = 10;
	if (mon && (v = conf_get(mon, "interval")) != NULL) {
		if (v->i < 1)
			return bad(cf, v->line, c, "interval: %s is too short; at least 1s", v->raw);
		mc.interval_s = v->i;
	}
	(void)gethostname(host, sizeof(host) - 1);
	if ((mc.host = strdup(mon && (v = conf_get(mon, "host")) ? v->raw : host)) == NULL ||
	    (mc.state_dir = strdup(mon && (v = conf_get(mon, "state-dir")) ? v->raw :
				   "/var/lib/mamori/monitor")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cf->nsecs; i++) {
		nck += strcmp(cf->secs[i].kind->name, "check") == 0;
		nal += strcmp(cf->secs[i].kind->name, "alert") == 0;
	}
	if ((mc.checks = calloc(nck + 1, sizeof(*mc.checks))) == NULL ||
	    (mc.sinks = calloc(nal + 1, sizeof(*mc.sinks))) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cf->nsecs; i++) {
		const struct conf_section *s = &cf->secs[i];
		if (strcmp(s->kind->name, "check") == 0) {
			e = check_from(cf, s, &mc.checks[mc.nchecks++], c);
		} else if (strcmp(s->kind->name, "alert") == 0) {
			e = sink_from(cf, s, &mc.sinks[mc.nsinks++], c);
		} else {
			e = 0;
		}
		if (e != 0)
			goto fail;
	}
	*out = mc;
	return 0;
fail:
	mon_config_release(&mc);
	return e;
}
