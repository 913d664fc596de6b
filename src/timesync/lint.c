/* Lint of ntp.conf (ntpd, ntpsec) and chrony.conf; the rules are in
 * docs/time.md. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "timesync/timesync.h"

#define LINT_MAX_FILE (1u << 20)
#define LINT_MAX_WORDS 32
#define LINT_MAX_FINDINGS 1000
#define LINT_POOL_COUNT 4 /* a pool brings up to 4 servers (chrony's maxsources) */

static const char *const chrony_words[] = {
	"acquisitionport", "allow", "authselectmode", "bindacqaddress", "bindacqdevice",
	"bindaddress", "bindcmdaddress", "binddevice", "broadcast", "clientloglimit",
	"clockprecision", "cmdallow", "cmddeny", "cmdport", "cmdratelimit", "combinelimit",
	"confdir", "corrtimeratio", "deny", "dscp", "driftfile", "dumpdir", "fallbackdrift",
	"hwclockfile", "hwtimestamp", "hwtstimeout", "include", "initstepslew", "keyfile",
	"leapsecmode", "leapsectz", "local", "lock_all", "log", "logbanner", "logchange",
	"logdir", "mailonchange", "makestep", "manual", "maxchange", "maxclockerror",
	"maxdistance", "maxdrift", "maxjitter", "maxntsconnections", "maxsamples",
	"maxslewrate", "maxupdateskew", "minsamples", "minsources", "noclientlog",
	"nosystemcert", "ntpsigndsocket", "ntsdumpdir", "ntsntpserver", "ntsport",
	"ntsprocesses", "ntsratelimit", "ntsrefresh", "ntsrotate", "ntsservercert",
	"ntsserverkey", "ntstrustedcerts", "peer", "pidfile", "pool", "port", "ptpport",
	"ratelimit", "refclock", "reselectdist", "rtcautotrim", "rtcdevice", "rtcfile",
	"rtconutc", "rtcsync", "sched_priority", "server", "smoothtime", "sourcedir",
	"stratumweight", "tempcomp", "user", NULL,
};

static const char *const ntp_words[] = {
	"automax", "autokey", "broadcast", "broadcastclient", "broadcastdelay", "calldelay",
	"controlkey", "crypto", "disable", "discard", "driftfile", "enable", "filegen",
	"fudge", "includefile", "interface", "keys", "leapfile", "leapsmearinterval",
	"logconfig", "logfile", "manycastclient", "manycastserver", "mdnstries", "mru",
	"multicastclient", "nic", "nts", "peer", "phone", "pidfile", "pool", "refclock",
	"requestkey", "restrict", "revoke", "rlimit", "saveconfigdir", "server", "setvar",
	"statistics", "statsdir", "tinker", "tos", "trap", "trustedkey", "ttl", "unpeer",
	"unrestrict", NULL,
};

/* Directives only one of the two knows, to tell them apart. */
static const char *const chrony_only[] = {
	"makestep", "rtcsync", "confdir", "sourcedir", "cmdallow", "bindcmdaddress",
	"maxupdateskew", "local", "allow", "deny", "hwtimestamp", "leapsectz", "ntsdumpdir",
	"logdir", "keyfile", "initstepslew", "dumpdir", "rtcfile", "maxdistance", "minsources",
	NULL,
};
static const char *const ntp_only[] = {
	"restrict", "tinker", "tos", "fudge", "statsdir", "filegen", "statistics", "leapfile",
	"keys", "trustedkey", "disable", "enable", "discard", "interface", "nts",
	"includefile", "logconfig", "controlkey", "requestkey", "setvar", NULL,
};

static int
in_list(const char *const *l, const char *w)
{
	for (; *l; l++) {
		if (strcmp(*l, w) == 0)
			return 1;
	}
	return 0;
}

const char *
ts_severity_name(enum ts_severity s)
{
	return s == TS_SEV_ERROR ? "error" : s == TS_SEV_WARNING ? "warning" : "info";
}

void
ts_lint_release(struct ts_lint *l)
{
	free(l->f);
	l->f = NULL;
	l->n = l->cap = 0;
}

static int
add(struct ts_lint *l, unsigned line, enum ts_severity sev, const char *rule,
    const char *fmt, ...) MM_PRINTF(5, 6);

static int
add(struct ts_lint *l, unsigned line, enum ts_severity sev, const char *rule,
    const char *fmt, ...)
{
	struct ts_finding *f;
	va_list ap;

	if (l->n >= LINT_MAX_FINDINGS)
		return 0; /* the first thousand say enough */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ts_finding *v = realloc(l->f, cap * sizeof(*v));
		if (v == NULL)
			return MM_ENOMEM;
		l->f = v;
		l->cap = cap;
	}
	f = &l->f[l->n++];
	f->line = line;
	f->sev = sev;
	snprintf(f->rule, sizeof(f->rule), "%s", rule);
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return 0;
}

/* One line split into words; comments dropped. Returns the word count. */
static size_t
split(char *line, enum ts_conf_kind kind, char **w, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0' || *p == '#' ||
		    (kind == TS_CONF_CHRONY && n == 0 && (*p == '!' || *p == ';' || *p == '%')))
			break;
		if (n == max)
			break;
		w[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p == '\0')
			break;
		*p++ = '\0';
	}
	return n;
}

/* Walk the lines of text: a copy split at newlines. */
struct lines {
	char *copy;
	size_t len, off;
	unsigned lineno;
};

static int
lines_init(struct lines *ls, const char *text, size_t n)
{
	if ((ls->copy = malloc(n + 1)) == NULL)
		return MM_ENOMEM;
	if (n > 0)
		memcpy(ls->copy, text, n);
	ls->copy[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (ls->copy[i] == '\0')
			ls->copy[i] = ' '; /* a NUL byte must not hide the rest */
	}
	ls->len = n;
	ls->off = 0;
	ls->lineno = 0;
	return 0;
}

static char *
lines_next(struct lines *ls)
{
	char *line, *nl;

	if (ls->off >= ls->len)
		return NULL;
	line = ls->copy + ls->off;
	if ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		ls->off = (size_t)(nl - ls->copy) + 1;
	} else {
		ls->off = ls->len;
	}
	ls->lineno++;
	return line;
}

enum ts_conf_kind
ts_conf_detect(const char *text, size_t n)
{
	struct lines ls;
	int chrony = 0, ntp = 0;
	char *line, *w[LINT_MAX_WORDS];

	if (lines_init(&ls, text, n) != 0)
		return TS_CONF_UNKNOWN;
	while ((line = lines_next(&ls)) != NULL) {
		size_t k = split(line, TS_CONF_CHRONY, w, LINT_MAX_WORDS);
		if (k == 0)
			continue;
		chrony += in_list(chrony_only, w[0]);
		ntp += in_list(ntp_only, w[0]);
		/* "server 127.127.1.0" is ntpd's local clock driver */
		if (k >= 2 && strcmp(w[0], "server") == 0 && strncmp(w[1], "127.127.", 8) == 0)
			ntp++;
	}
	free(ls.copy);
	if (chrony > ntp)
		return TS_CONF_CHRONY;
	if (ntp > chrony)
		return TS_CONF_NTP;
	return TS_CONF_UNKNOWN;
}

/* A poll exponent option: *v set and 0, or -1 when the value is not a number. */
static int
poll_value(const char *s, long *v)
{
	char *end;

	*v = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' ? 0 : -1;
}

struct seen {
	char host[256];
	unsigned line;
};

static int
lint_source(struct ts_lint *l, char **w, size_t k, unsigned line, struct seen *seen,
	    size_t *nseen)
{
	int pool = strcmp(w[0], "pool") == 0, peer = strcmp(w[0], "peer") == 0;
	int iburst = 0, have_min = 0, have_max = 0, e;
	long minp = 6, maxp = 10, maxsources = LINT_POOL_COUNT;

	if (k < 2)
		return add(l, line, TS_SEV_ERROR, "syntax", "%s without an address", w[0]);
	if (strncmp(w[1], "127.127.1.", 10) == 0) {
		return add(l, line, TS_SEV_WARNING, "local-clock",
			   "server %s is ntpd's undisciplined local clock: when the real "
			   "sources are lost this host serves its own clock, and its clients "
			   "follow it wherever it drifts; remove it (or use orphan mode on an "
			   "isolated network with several servers)", w[1]);
	}
	for (size_t i = 2; i < k; i++) {
		if (strcmp(w[i], "iburst") == 0)
			iburst = 1;
		else if ((strcmp(w[i], "minpoll") == 0 || strcmp(w[i], "maxpoll") == 0 ||
			  strcmp(w[i], "maxsources") == 0) && i + 1 < k) {
			long v;
			if (poll_value(w[i + 1], &v) != 0) {
				if ((e = add(l, line, TS_SEV_ERROR, "syntax", "%s needs a number, "
					     "not '%s'", w[i], w[i + 1])) != 0)
					return e;
			} else if (w[i][1] == 'i') {
				minp = v, have_min = 1;
			} else if (w[i][3] == 'p') {
				maxp = v, have_max = 1;
			} else {
				maxsources = v;
			}
			i++;
		}
	}
	if (have_min && (minp < 3 || minp > 17) &&
	    (e = add(l, line, TS_SEV_ERROR, "poll-range", "minpoll %ld is outside 3..17 "
		     "(8 s .. 36 h): the daemon clamps or rejects it", minp)) != 0)
		return e;
	if (have_max && (maxp < 3 || maxp > 17) &&
	    (e = add(l, line, TS_SEV_ERROR, "poll-range", "maxpoll %ld is outside 3..17 "
		     "(8 s .. 36 h): the daemon clamps or rejects it", maxp)) != 0)
		return e;
	if ((have_min || have_max) && minp > maxp &&
	    (e = add(l, line, TS_SEV_ERROR, "poll-order", "minpoll %ld is greater than "
		     "maxpoll %ld", minp, maxp)) != 0)
		return e;
	if (!iburst && !peer &&
	    (e = add(l, line, TS_SEV_WARNING, "iburst", "%s %s without iburst: the first "
		     "synchronisation after a start takes minutes instead of seconds", w[0],
		     w[1])) != 0)
		return e;
	for (size_t i = 0; i < *nseen; i++) {
		if (strcasecmp(seen[i].host, w[1]) == 0)
			return add(l, line, TS_SEV_WARNING, "duplicate", "%s is already a "
				   "source on line %u: a duplicate counts twice in the vote "
				   "and can outvote the others", w[1], seen[i].line);
	}
	if (*nseen < 256) {
		snprintf(seen[*nseen].host, sizeof(seen[0].host), "%s", w[1]);
		seen[(*nseen)++].line = line;
	}
	l->sources += pool ? (unsigned)(maxsources > 0 ? maxsources : 1) : 1;
	return 0;
}

int
ts_lint_text(const char *text, size_t n, enum ts_conf_kind hint, struct ts_lint *l,
	     struct mm_ctx *c)
{
	struct lines ls;
	struct seen *seen = NULL;
	size_t nseen = 0;
	char *line, *w[LINT_MAX_WORDS];
	int e = 0, makestep = 0, drift = 0, restrict_ok = 0;
	unsigned restrict_line = 0;
	const char *const *known;

	l->kind = ts_conf_detect(text, n);
	if (l->kind == TS_CONF_UNKNOWN && hint != TS_CONF_UNKNOWN) {
		l->kind = hint;
		if ((e = add(l, 0, TS_SEV_INFO, "kind", "no directive tells ntp.conf from "
			     "chrony.conf; read as %s because of the file name",
			     hint == TS_CONF_CHRONY ? "chrony.conf" : "ntp.conf")) != 0)
			return mm_fail(c, e, "out of memory");
	}
	if (l->kind == TS_CONF_UNKNOWN) {
		return add(l, 0, TS_SEV_ERROR, "kind", "cannot tell whether this is an "
			   "ntp.conf (ntpd, ntpsec) or a chrony.conf: none of the directives "
			   "that only one of them has (restrict, tinker, tos / makestep, "
			   "rtcsync, allow, local ...) is here");
	}
	known = l->kind == TS_CONF_CHRONY ? chrony_words : ntp_words;
	if ((e = lines_init(&ls, text, n)) != 0)
		return mm_fail(c, e, "out of memory");
	if ((seen = calloc(256, sizeof(*seen))) == NULL) {
		free(ls.copy);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	while (e == 0 && (line = lines_next(&ls)) != NULL) {
		size_t k = split(line, l->kind, w, LINT_MAX_WORDS);
		unsigned ln = ls.lineno;

		if (k == 0)
			continue;
		if (!in_list(known, w[0])) {
			e = add(l, ln, TS_SEV_ERROR, "unknown-directive", "unknown directive "
				"'%.64s' (a typo?): %s", w[0], l->kind == TS_CONF_CHRONY
				? "chronyd refuses to start" : "ntpd ignores the line");
			continue;
		}
		if (strcmp(w[0], "server") == 0 || strcmp(w[0], "pool") == 0 ||
		    strcmp(w[0], "peer") == 0) {
			e = lint_source(l, w, k, ln, seen, &nseen);
		} else if (strcmp(w[0], "refclock") == 0) {
			if (k >= 2 && strcmp(w[1], "local") == 0)
				e = add(l, ln, TS_SEV_WARNING, "local-clock", "refclock local: when "
					"the real sources are lost this host serves its own clock; its "
					"clients follow it wherever it drifts");
			else
				l->sources++;
		} else if (strcmp(w[0], "makestep") == 0) {
			makestep = 1;
		} else if (strcmp(w[0], "driftfile") == 0) {
			drift = 1;
		} else if (strcmp(w[0], "local") == 0) {
			e = add(l, ln, TS_SEV_WARNING, "local-clock", "local: when every source "
				"is lost this host keeps serving its own clock%s, and its clients "
				"follow it wherever it drifts; keep it only on an isolated network "
				"with several servers (and add 'orphan')",
				k > 1 ? " at the stratum given" : "");
		} else if (strcmp(w[0], "tinker") == 0) {
			for (size_t i = 1; i + 1 < k; i++) {
				if (strcmp(w[i], "panic") == 0 && strcmp(w[i + 1], "0") == 0)
					e = add(l, ln, TS_SEV_WARNING, "panic-zero", "tinker panic 0: "
						"ntpd accepts a time jump of any size, so one wrong "
						"source can set the clock years off; remove it (ntpd -g "
						"already allows the first large correction)");
			}
		} else if (strcmp(w[0], "tos") == 0) {
			for (size_t i = 1; i + 1 < k; i++) {
				if (strcmp(w[i], "orphan") == 0)
					e = add(l, ln, TS_SEV_WARNING, "local-clock", "tos orphan %s: "
						"when every source is lost this host serves its own clock "
						"at stratum %s; keep it only on an isolated network with "
						"several servers", w[i + 1], w[i + 1]);
			}
		} else if (strcmp(w[0], "restrict") == 0) {
			size_t i = 1;
			int nq = 0, nm = 0;
			if (i < k && (strcmp(w[i], "-4") == 0 || strcmp(w[i], "-6") == 0))
				i++;
			if (i < k && strcmp(w[i], "default") == 0) {
				for (; i < k; i++) {
					nq |= strcmp(w[i], "noquery") == 0 || strcmp(w[i], "ignore") == 0;
					nm |= strcmp(w[i], "nomodify") == 0 || strcmp(w[i], "ignore") == 0;
				}
				if (nq && nm)
					restrict_ok = 1;
				else if (restrict_line == 0)
					restrict_line = ln;
			}
		}
	}
	free(ls.copy);
	free(seen);
	if (e != 0)
		return mm_fail(c, e, "out of memory");
	if (l->sources == 0)
		e = add(l, 0, TS_SEV_ERROR, "sources", "no time source (server, pool, peer or "
			"refclock): the clock is not synchronised to anything");
	else if (l->sources < 3)
		e = add(l, 0, TS_SEV_WARNING, "sources", "%u source%s: fewer than three cannot "
			"outvote a falseticker; configure at least three (or a pool)", l->sources,
			l->sources == 1 ? "" : "s");
	if (e == 0 && l->kind == TS_CONF_CHRONY && !makestep)
		e = add(l, 0, TS_SEV_WARNING, "makestep", "no makestep: a large offset at start "
			"would be slewed for days (500 ppm at most) instead of stepped; add "
			"'makestep 1 3'");
	if (e == 0 && !drift)
		e = add(l, 0, TS_SEV_WARNING, "driftfile", "no driftfile: the clock's frequency "
			"error is learned again after every restart");
	if (e == 0 && l->kind == TS_CONF_NTP && !restrict_ok)
		e = add(l, restrict_line, TS_SEV_WARNING, "restrict", "no 'restrict default ... "
			"nomodify noquery': anyone may query this ntpd with mode 6/7 packets "
			"(used for traffic amplification attacks) or change it; add 'restrict "
			"default kod nomodify nopeer noquery limited'");
	if (e != 0)
		return mm_fail(c, e, "out of memory");
	/* by line, file-wide findings (line 0) last */
	for (size_t i = 1; i < l->n; i++) {
		struct ts_finding t = l->f[i];
		size_t j = i;
		unsigned key = t.line ? t.line : UINT32_MAX;
		while (j > 0 && (l->f[j - 1].line ? l->f[j - 1].line : UINT32_MAX) > key) {
			l->f[j] = l->f[j - 1];
			j--;
		}
		l->f[j] = t;
	}
	return 0;
}

int
ts_lint_file(const char *path, struct ts_lint *l, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	const char *base = strrchr(path, '/');
	enum ts_conf_kind hint = TS_CONF_UNKNOWN;
	int e;

	base = base ? base + 1 : path;
	if (strncmp(base, "chrony", 6) == 0)
		hint = TS_CONF_CHRONY;
	else if (strncmp(base, "ntp", 3) == 0)
		hint = TS_CONF_NTP;
	if ((e = file_read_all(path, LINT_MAX_FILE, &b, c)) != 0)
		return e;
	e = ts_lint_text((const char *)b.data, b.len, hint, l, c);
	buf_release(&b);
	return e;
}

int
ts_lint_worst(const struct ts_lint *l)
{
	int w = 0;

	for (size_t i = 0; i < l->n; i++) {
		if ((int)l->f[i].sev > w)
			w = (int)l->f[i].sev;
	}
	return w;
}
