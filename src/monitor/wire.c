/*
 * The wire format between the agent and the mamori program it runs for
 * the checks and alerts that need libcurl or a repository (monitor.h).
 * The two programs come from one build, but an upgrade can leave an old
 * agent running beside a new mamori, so the format is text with a
 * version line and strict decoding rather than raw structs.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor_internal.h"

#define RESULT_MAGIC "mamori-result 1"
#define ALERT_MAGIC "mamori-alert 1"
#define METRICS_MAX 4096

static int MM_PRINTF(2, 3)
put(struct buf *b, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return MM_EINVAL;
	return buf_append(b, line, (size_t)n);
}

/* "KEY VALUE\n" with VALUE percent-encoded. */
static int
put_text(struct buf *b, const char *key, const char *val)
{
	int e;

	if ((e = put(b, "%s ", key)) != 0 || (e = mon_pct_encode(b, val)) != 0)
		return e;
	return buf_append_u8(b, '\n');
}

int
mon_result_encode(const struct mon_result *r, struct buf *out)
{
	int e;

	if ((e = put(out, RESULT_MAGIC "\nstate %d\njudged %d\nvalue %.17g\npct %.17g\n", (int)r->state,
		     r->judged ? 1 : 0, r->value, r->pct)) != 0 ||
	    (e = put_text(out, "unit", r->unit)) != 0 || (e = put_text(out, "message", r->message)) != 0)
		return e;
	for (size_t i = 0; i < r->nmetrics && e == 0; i++) {
		const struct mon_metric *m = &r->metrics[i];
		if ((e = put(out, "metric %s ", m->name)) == 0 && (e = mon_pct_encode(out, m->labels)) == 0)
			e = put(out, " %.17g\n", m->value);
	}
	return e;
}

/* ---- decoding ------------------------------------------------------------- */

struct lines {
	char *text; /* a copy, cut into lines in place */
	char *next;
	unsigned no;
};

static int
lines_open(struct lines *l, const char *text, size_t len, struct mm_ctx *c)
{
	memset(l, 0, sizeof(*l));
	if (len > MON_WIRE_MAX)
		return mm_fail(c, MM_ECORRUPT, "the answer is larger than %u bytes", MON_WIRE_MAX);
	if (len > 0 && memchr(text, '\0', len) != NULL)
		return mm_fail(c, MM_ECORRUPT, "the answer holds a NUL byte");
	if ((l->text = malloc(len + 1)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if (len > 0)
		memcpy(l->text, text, len);
	l->text[len] = '\0';
	l->next = l->text;
	return 0;
}

/* The next line, or NULL at the end. */
static char *
lines_next(struct lines *l)
{
	char *s = l->next, *nl;

	if (s == NULL || *s == '\0')
		return NULL;
	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		l->next = nl + 1;
	} else {
		l->next = NULL;
	}
	l->no++;
	return s;
}

/* Split "KEY REST": returns REST (may be ""), KEY cut in place. */
static char *
split(char *line)
{
	char *sp = strchr(line, ' ');

	if (sp == NULL)
		return line + strlen(line);
	*sp = '\0';
	return sp + 1;
}

static int
parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
parse_double(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || isnan(v))
		return -1;
	*out = v;
	return 0;
}

/* Copy a percent-encoded field into a fixed buffer: -1 when it does not fit. */
static int
copy_field(char *field, char *dst, size_t n)
{
	mon_pct_decode(field);
	if (strlen(field) >= n)
		return -1;
	memcpy(dst, field, strlen(field) + 1);
	return 0;
}

static int
result_metric(struct mon_result *r, char *rest)
{
	char *labels, *val, *name = rest;
	double v;

	if ((labels = strchr(name, ' ')) == NULL)
		return -1;
	*labels++ = '\0';
	if ((val = strchr(labels, ' ')) == NULL)
		return -1;
	*val++ = '\0';
	mon_pct_decode(labels);
	if (name[0] == '\0' || strlen(name) >= sizeof(r->metrics[0].name) ||
	    strlen(labels) >= sizeof(r->metrics[0].labels) || parse_double(val, &v) != 0 ||
	    r->nmetrics >= METRICS_MAX)
		return -1;
	return mon_metric_add(r, name, labels, v) == 0 ? 0 : -2;
}

int
mon_result_decode(const char *text, size_t len, struct mon_result *out, struct mm_ctx *c)
{
	struct mon_result r;
	struct lines l;
	char *line;
	unsigned have = 0;
	long n = 0;
	int e;

	mon_result_init(&r);
	if ((e = lines_open(&l, text, len, c)) != 0)
		return e;
	line = lines_next(&l);
	if (line == NULL || strcmp(line, RESULT_MAGIC) != 0) {
		e = mm_fail(c, MM_ECORRUPT, "not a check result (the first line is not '"
			    RESULT_MAGIC "': are mamori and mamori-agent from the same version?)");
		goto out;
	}
	while ((line = lines_next(&l)) != NULL) {
		char *rest = split(line);
		int bad = 0;
		if (strcmp(line, "state") == 0) {
			bad = parse_int(rest, 0, 3, &n);
			r.state = (enum mon_state)n;
			have |= 1;
		} else if (strcmp(line, "judged") == 0) {
			bad = parse_int(rest, 0, 1, &n);
			r.judged = (int)n;
			have |= 2;
		} else if (strcmp(line, "value") == 0) {
			bad = parse_double(rest, &r.value);
			have |= 4;
		} else if (strcmp(line, "pct") == 0) {
			bad = parse_double(rest, &r.pct);
			have |= 8;
		} else if (strcmp(line, "unit") == 0) {
			bad = copy_field(rest, r.unit, sizeof(r.unit));
		} else if (strcmp(line, "message") == 0) {
			bad = copy_field(rest, r.message, sizeof(r.message));
		} else if (strcmp(line, "metric") == 0) {
			if ((bad = result_metric(&r, rest)) == -2) {
				e = mm_fail(c, MM_ENOMEM, "out of memory");
				goto out;
			}
		} else {
			bad = 1;
		}
		if (bad) {
			e = mm_fail(c, MM_ECORRUPT, "check result, line %u: '%.40s' is not understood",
				    l.no, line);
			goto out;
		}
	}
	if (have != 15) {
		e = mm_fail(c, MM_ECORRUPT, "check result: state, judged, value or pct is missing");
		goto out;
	}
	*out = r;
	mon_result_init(&r);
out:
	mon_result_release(&r);
	free(l.text);
	return e;
}

/* Where the next result starts after text[from] (a line that is the
 * magic), or len. */
static size_t
next_result(const char *text, size_t len, size_t from)
{
	static const char magic[] = "\n" RESULT_MAGIC "\n";
	const size_t ml = sizeof(magic) - 1;

	for (size_t i = from; i + ml <= len; i++)
		if (text[i] == '\n' && memcmp(text + i, magic, ml) == 0)
			return i + 1;
	return len;
}

int
mon_results_decode(const char *text, size_t len, struct mon_result *out, size_t n,
		   struct mm_ctx *c)
{
	struct mon_result *rs;
	size_t at = 0, k = 0;
	int e = 0;

	if (len > MON_WIRE_MAX)
		return mm_fail(c, MM_ECORRUPT, "the answer is larger than %u bytes", MON_WIRE_MAX);
	if ((rs = calloc(n ? n : 1, sizeof(*rs))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	while (at < len && e == 0) {
		size_t end = next_result(text, len, at);
		if (k == n) {
			e = mm_fail(c, MM_ECORRUPT, "more check results than the %zu asked for", n);
			break;
		}
		if ((e = mon_result_decode(text + at, end - at, &rs[k], c)) == 0)
			k++;
		at = end;
	}
	if (e == 0 && k != n)
		e = mm_fail(c, MM_ECORRUPT, "%zu check results for the %zu asked for", k, n);
	for (size_t i = 0; i < k; i++) {
		if (e == 0) {
			mon_result_release(&out[i]);
			out[i] = rs[i];
		} else {
			mon_result_release(&rs[i]);
		}
	}
	free(rs);
	return e;
}

/* ---- alerts ---------------------------------------------------------------- */

int
mon_alert_encode(const struct mon_alert *a, struct buf *out)
{
	int e;

	if ((e = put(out, ALERT_MAGIC "\n")) != 0 || (e = put_text(out, "check", a->check)) != 0 ||
	    (e = put_text(out, "type", a->type)) != 0 || (e = put_text(out, "kind", a->kind)) != 0 ||
	    (e = put(out, "state %d\nprevious %d\nvalue %.17g\nhas-value %d\n", (int)a->state,
		     (int)a->previous, a->value, a->has_value ? 1 : 0)) != 0 ||
	    (e = put_text(out, "threshold", a->threshold)) != 0 ||
	    (e = put_text(out, "cause", a->cause)) != 0 || (e = put_text(out, "host", a->host)) != 0)
		return e;
	return put(out, "time %lld\n", (long long)a->time);
}

void
mon_alert_msg_release(struct mon_alert_msg *m)
{
	free(m->check);
	free(m->type);
	free(m->kind);
	free(m->cause);
	free(m->host);
	memset(m, 0, sizeof(*m));
}

/* Keep a decoded string field: -1 bad, -2 out of memory. */
static int
own(char *field, char **dst, size_t max)
{
	mon_pct_decode(field);
	if (strlen(field) > max)
		return -1;
	free(*dst);
	return (*dst = strdup(field)) != NULL ? 0 : -2;
}

static int
alert_line(struct mon_alert_msg *m, char *key, char *rest, unsigned *have)
{
	struct mon_alert *a = &m->a;
	long n = 0;
	int bad = 0;

	if (strcmp(key, "check") == 0)
		bad = own(rest, &m->check, 128), *have |= 1;
	else if (strcmp(key, "type") == 0)
		bad = own(rest, &m->type, 32), *have |= 2;
	else if (strcmp(key, "kind") == 0)
		bad = own(rest, &m->kind, 32), *have |= 4;
	else if (strcmp(key, "cause") == 0)
		bad = own(rest, &m->cause, 4096), *have |= 8;
	else if (strcmp(key, "host") == 0)
		bad = own(rest, &m->host, 256), *have |= 16;
	else if (strcmp(key, "state") == 0)
		bad = parse_int(rest, 0, 3, &n), a->state = (enum mon_state)n, *have |= 32;
	else if (strcmp(key, "previous") == 0)
		bad = parse_int(rest, 0, 3, &n), a->previous = (enum mon_state)n, *have |= 64;
	else if (strcmp(key, "value") == 0)
		bad = parse_double(rest, &a->value), *have |= 128;
	else if (strcmp(key, "has-value") == 0)
		bad = parse_int(rest, 0, 1, &n), a->has_value = (int)n, *have |= 256;
	else if (strcmp(key, "threshold") == 0)
		bad = copy_field(rest, a->threshold, sizeof(a->threshold)), *have |= 512;
	else if (strcmp(key, "time") == 0)
		bad = parse_int(rest, 0, 1L << 40, &n), a->time = n, *have |= 1024;
	else
		bad = -1;
	return bad;
}

int
mon_alert_decode(const char *text, size_t len, struct mon_alert_msg *out, struct mm_ctx *c)
{
	struct mon_alert_msg m;
	struct lines l;
	char *line;
	unsigned have = 0;
	int e = 0;

	memset(&m, 0, sizeof(m));
	if ((e = lines_open(&l, text, len, c)) != 0)
		return e;
	line = lines_next(&l);
	if (line == NULL || strcmp(line, ALERT_MAGIC) != 0) {
		e = mm_fail(c, MM_ECORRUPT, "not an alert (the first line is not '" ALERT_MAGIC "')");
		goto out;
	}
	while ((line = lines_next(&l)) != NULL) {
		char *rest = split(line);
		int bad = alert_line(&m, line, rest, &have);
		if (bad == -2) {
			e = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		if (bad) {
			e = mm_fail(c, MM_ECORRUPT, "alert, line %u: '%.40s' is not understood", l.no,
				    line);
			goto out;
		}
	}
	if (have != 2047) {
		e = mm_fail(c, MM_ECORRUPT, "alert: a field is missing");
		goto out;
	}
	m.a.check = m.check;
	m.a.type = m.type;
	m.a.kind = m.kind;
	m.a.cause = m.cause;
	m.a.host = m.host;
	*out = m;
	memset(&m, 0, sizeof(m));
out:
	mon_alert_msg_release(&m);
	free(l.text);
	return e;
}
