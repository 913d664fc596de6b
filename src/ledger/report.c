/*
 * The continuity report: one self-contained HTML page (inline CSS and SVG,
 * no external files, prints cleanly) in English or Japanese. Each add_*
 * call renders its section at once, escaping every string it is given.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ledger.h"
#include "ledger/report_internal.h"

#define NS INT64_C(1000000000)
#define DAY (86400 * NS)
#define RECENT_DAYS 90

enum sec { SEC_DATASETS, SEC_BACKUPS, SEC_DRILLS, SEC_MONITOR, SEC_CLOCK, SEC_INCIDENTS,
	   SEC_LEDGER, SEC_COUNT };

struct report {
	int lang;
	int64_t now;
	char host[256];
	struct buf sec[SEC_COUNT];
	size_t count[SEC_COUNT];
	int64_t newest_backup;
	size_t open_incidents;
	int ledger_state; /* 0 none, 1 intact, 2 torn, 3 tampered, 4 error */
	struct buf drills; /* SVG bars, from datasets with a drill */
	size_t ndrills;
	incident_rto_fn rto; /* the RTO of an incident's datasets (the policy) */
	void *rto_arg;
};

static const char *
L(const struct report *rep, int l)
{
	return report_label(rep->lang, l);
}

/* ---- escaping --------------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at p (n bytes left), 0 when invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t k, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		k = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		k = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		k = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* HTML text and attribute values: & < > " ' escaped, control bytes and
 * bytes that are not UTF-8 shown as \xNN. */
static int
esc(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), k;
	char tmp[8];
	int e = 0;

	while (n > 0 && e == 0) {
		switch (*p) {
		case '&': e = buf_append(b, "&amp;", 5); k = 1; break;
		case '<': e = buf_append(b, "&lt;", 4); k = 1; break;
		case '>': e = buf_append(b, "&gt;", 4); k = 1; break;
		case '"': e = buf_append(b, "&quot;", 6); k = 1; break;
		case '\'': e = buf_append(b, "&#39;", 5); k = 1; break;
		default:
			k = utf8_len(p, n);
			if (k == 0 || (*p < 0x20 && *p != '\n') || *p == 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
				e = buf_append(b, tmp, 4);
				k = 1;
			} else {
				e = buf_append(b, p, k);
			}
		}
		p += k;
		n -= k;
	}
	return e;
}

static int
put(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static int putf(struct buf *b, const char *fmt, ...) MM_PRINTF(2, 3);

/* Formatted markup (never user text: that goes through esc). */
static int
putf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, e;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MM_EINVAL;
	if ((e = buf_reserve(b, (size_t)n + 1)) != 0)
		return e;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

static void
when(int64_t ns, char *out, size_t n)
{
	time_t t = (time_t)(ns / NS);
	struct tm tm;

	if (ns == 0 || localtime_r(&t, &tm) == NULL || strftime(out, n, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, n, "-");
}

static void
dur(int64_t ns, char *out, size_t n)
{
	if (ns < 0)
		snprintf(out, n, "-");
	else
		ledger_format_duration(ns, out, n);
}

/* <td>text</td> */
static int
td(struct buf *b, const char *s)
{
	int e;

	if ((e = put(b, "<td>")) != 0 || (e = esc(b, s)) != 0)
		return e;
	return put(b, "</td>");
}

static const char *
status_class(const char *st)
{
	if (st == NULL)
		return "unknown";
	if (strcmp(st, "OK") == 0 || strcmp(st, "synchronised") == 0)
		return "ok";
	if (strcmp(st, "WARNING") == 0)
		return "warn";
	if (strcmp(st, "CRITICAL") == 0 || strcmp(st, "unsynchronised") == 0)
		return "crit";
	return "unknown";
}

static int
badge(struct buf *b, const char *cls, const char *text)
{
	int e;

	if ((e = putf(b, "<span class=\"badge %s\">", cls)) != 0 || (e = esc(b, text)) != 0)
		return e;
	return put(b, "</span>");
}

/* ---- life cycle ---------------------------------------------------------------------------- */

int
report_new(int lang, int64_t now_ns, const char *host, struct report **out)
{
	struct report *rep = calloc(1, sizeof(*rep));
	size_t i;

	if (rep == NULL)
		return MM_ENOMEM;
	rep->lang = lang == REPORT_JA ? REPORT_JA : REPORT_EN;
	rep->now = now_ns;
	snprintf(rep->host, sizeof(rep->host), "%s", host ? host : "");
	for (i = 0; i < SEC_COUNT; i++)
		buf_init(&rep->sec[i], 64u << 20);
	buf_init(&rep->drills, 1u << 20);
	*out = rep;
	return 0;
}

void
report_free(struct report *rep)
{
	size_t i;

	if (rep == NULL)
		return;
	for (i = 0; i < SEC_COUNT; i++)
		buf_release(&rep->sec[i]);
	buf_release(&rep->drills);
	free(rep);
}

/* ---- repositories and the age chart ---------------------------------------------------------- */

#define CW 640
#define CH 180
#define PAD 40

/* The age of the newest backup over the last 30 days: a saw that drops to
 * zero at each snapshot. */
static int
age_chart(struct report *rep, struct buf *b, const struct snapshot *s, size_t n, int64_t rpo)
{
	int64_t t0 = rep->now - 30 * DAY, span = 30 * DAY, ymax = rpo > 0 ? rpo * 3 / 2 : DAY;
	int64_t last = 0;
	size_t i;
	int e;

	for (i = 0; i < n; i++) {
		int64_t gap = s[i].time_ns - (i > 0 ? s[i - 1].time_ns : s[i].time_ns);

		if (s[i].time_ns >= t0 && gap > ymax)
			ymax = gap;
	}
	if (n > 0 && rep->now - s[n - 1].time_ns > ymax)
		ymax = rep->now - s[n - 1].time_ns;
	if (ymax > 60 * DAY)
		ymax = 60 * DAY;
#define X(tt) (PAD + (double)((tt) - t0) * (CW - 2 * PAD) / (double)span)
#define Y(aa) (CH - PAD + 10 - (double)((aa) > ymax ? ymax : (aa)) * (CH - PAD - 10) / (double)ymax)
	if ((e = putf(b, "<figure><svg role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
		      "aria-label=\"", CW, CH, CW, CH)) != 0 || (e = esc(b, L(rep, L_AGE_CHART))) != 0 ||
	    (e = putf(b, "\"><title>%s</title>", L(rep, L_AGE_CHART))) != 0 ||
	    (e = putf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>", PAD,
		      CH - PAD + 10, CW - PAD, CH - PAD + 10)) != 0 ||
	    (e = putf(b, "<line x1=\"%d\" y1=\"10\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>", PAD, PAD,
		      CH - PAD + 10)) != 0)
		return e;
	if (rpo > 0 && (e = putf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"rpo\"/>"
				 "<text x=\"%d\" y=\"%.1f\" class=\"lbl\">RPO</text>", PAD, Y(rpo),
				 CW - PAD, Y(rpo), CW - PAD + 4, Y(rpo) + 4)) != 0)
		return e;
	/* Before the window: the last snapshot before it, if any. */
	for (i = 0; i < n && s[i].time_ns < t0; i++)
		last = s[i].time_ns;
	if ((e = put(b, "<polyline class=\"age\" points=\"")) != 0)
		return e;
	if (last != 0 && (e = putf(b, "%.1f,%.1f ", X(t0), Y(t0 - last))) != 0)
		return e;
	for (; i < n; i++) {
		if (s[i].time_ns > rep->now)
			break;
		if (last != 0 && (e = putf(b, "%.1f,%.1f ", X(s[i].time_ns), Y(s[i].time_ns - last))) != 0)
			return e;
		if ((e = putf(b, "%.1f,%.1f ", X(s[i].time_ns), Y(0))) != 0)
			return e;
		last = s[i].time_ns;
	}
	if (last != 0 && (e = putf(b, "%.1f,%.1f", X(rep->now), Y(rep->now - last))) != 0)
		return e;
	{
		char a[32], z[32], top[32];

		when(t0, a, sizeof(a));
		when(rep->now, z, sizeof(z));
		dur(ymax, top, sizeof(top));
		e = putf(b, "\"/><text x=\"%d\" y=\"%d\" class=\"lbl\">%.10s</text>"
			 "<text x=\"%d\" y=\"%d\" class=\"lbl\" text-anchor=\"end\">%.10s</text>"
			 "<text x=\"%d\" y=\"18\" class=\"lbl\" text-anchor=\"end\">%s</text>"
			 "<text x=\"%d\" y=\"%d\" class=\"lbl\" text-anchor=\"end\">0</text></svg>"
			 "<figcaption>%s</figcaption></figure>", PAD, CH - 8, a, CW - PAD, CH - 8, z,
			 PAD - 4, top, PAD - 4, CH - PAD + 14, L(rep, L_AGE_CHART));
	}
#undef X
#undef Y
	return e;
}

int
report_add_repository(struct report *rep, const char *location, const struct snapshot *s,
		      size_t n, int64_t rpo_ns, const char *err)
{
	struct buf *b = &rep->sec[SEC_BACKUPS];
	char t[32], age[32], size[32];
	size_t i, k, first;
	int e;

	rep->count[SEC_BACKUPS]++;
	if ((e = put(b, "<div class=\"repo\"><h3>")) != 0 || (e = esc(b, L(rep, L_REPOSITORY))) != 0 ||
	    (e = put(b, ": <span class=\"repo-name\">")) != 0 || (e = esc(b, location)) != 0 ||
	    (e = put(b, "</span></h3>")) != 0)
		return e;
	if (err != NULL) {
		if ((e = put(b, "<p class=\"crit\">")) != 0 || (e = esc(b, L(rep, L_UNREADABLE))) != 0 ||
		    (e = put(b, ": ")) != 0 || (e = esc(b, err)) != 0)
			return e;
		return put(b, "</p></div>");
	}
	if (n == 0)
		return putf(b, "<p>%s</p></div>", L(rep, L_NO_SNAPSHOTS));
	if (s[n - 1].time_ns > rep->newest_backup)
		rep->newest_backup = s[n - 1].time_ns;
	if ((e = putf(b, "<p>%zu %s</p>", n, L(rep, L_SNAPSHOTS))) != 0 ||
	    (e = age_chart(rep, b, s, n, rpo_ns)) != 0)
		return e;
	if ((e = putf(b, "<table><thead><tr><th>ID</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
		      "<th>%s</th></tr></thead><tbody>", L(rep, L_TIME), L(rep, L_AGE),
		      L(rep, L_HOST), L(rep, L_PATHS), L(rep, L_SIZE))) != 0)
		return e;
	/* The newest 20, newest first. */
	first = n > 20 ? n - 20 : 0;
	for (i = n; i > first; i--) {
		const struct snapshot *p = &s[i - 1];
		char hex[65];

		hex_encode(p->id.b, 8, hex);
		when(p->time_ns, t, sizeof(t));
		dur(rep->now - p->time_ns, age, sizeof(age));
		fmt_bytes(p->sum.bytes_total, size, sizeof(size));
		if ((e = put(b, "<tr>")) != 0 || (e = putf(b, "<td><code>%.8s</code></td>", hex)) != 0 ||
		    (e = td(b, t)) != 0 || (e = td(b, age)) != 0 || (e = td(b, p->host)) != 0 ||
		    (e = put(b, "<td>")) != 0)
			return e;
		for (k = 0; k < p->npaths; k++) {
			if ((e = put(b, k ? "<br>" : "")) != 0 || (e = esc(b, p->paths[k])) != 0)
				return e;
		}
		if ((e = put(b, "</td>")) != 0 || (e = td(b, size)) != 0 || (e = put(b, "</tr>")) != 0)
			return e;
	}
	return put(b, "</tbody></table></div>");
}

/* ---- datasets, drills, monitoring, clock (filled by other modules) ------------------------------- */

int
report_add_dataset(struct report *rep, const struct report_dataset *d)
{
	struct buf *b = &rep->sec[SEC_DATASETS];
	char rpo[32], rto[32], lb[32], off[32], dr[32], rt[32];
	int e;

	if (rep->count[SEC_DATASETS]++ == 0 &&
	    (e = putf(b, "<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
		      "<th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>", L(rep, L_DATASET),
		      L(rep, L_RPO), L(rep, L_RTO), L(rep, L_LAST_BACKUP), L(rep, L_OFFSITE),
		      L(rep, L_LAST_DRILL), L(rep, L_RESTORE_TIME), L(rep, L_STATUS))) != 0)
		return e;
	dur(d->rpo_ns > 0 ? d->rpo_ns : -1, rpo, sizeof(rpo));
	dur(d->rto_ns > 0 ? d->rto_ns : -1, rto, sizeof(rto));
	when(d->last_backup_ns, lb, sizeof(lb));
	when(d->last_offsite_ns, off, sizeof(off));
	when(d->last_drill_ns, dr, sizeof(dr));
	dur(d->drill_restore_ns > 0 ? d->drill_restore_ns : -1, rt, sizeof(rt));
	if ((e = put(b, "<tr><td class=\"dataset-name\">")) != 0 || (e = esc(b, d->name)) != 0 ||
	    (e = put(b, "</td>")) != 0 || (e = td(b, rpo)) != 0 || (e = td(b, rto)) != 0 ||
	    (e = td(b, lb)) != 0 || (e = td(b, off)) != 0 || (e = td(b, dr)) != 0 ||
	    (e = td(b, rt)) != 0 || (e = put(b, "<td>")) != 0 ||
	    (e = badge(b, status_class(d->status), d->status ? d->status : "-")) != 0 ||
	    (e = put(b, "</td></tr>")) != 0)
		return e;
	if (d->drill_restore_ns > 0 && d->rto_ns > 0) {
		/* One bar per dataset: restore time, with the RTO as a mark. */
		double scale = 400.0 / (double)(d->drill_restore_ns > d->rto_ns ? d->drill_restore_ns :
						 d->rto_ns) / 1.2;
		int y = (int)rep->ndrills * 28 + 10;

		if ((e = put(&rep->drills, "<text x=\"0\" class=\"lbl\" ")) != 0 ||
		    (e = putf(&rep->drills, "y=\"%d\">", y + 14)) != 0 ||
		    (e = esc(&rep->drills, d->name)) != 0 ||
		    (e = putf(&rep->drills, "</text><rect x=\"160\" y=\"%d\" height=\"18\" width=\"%.1f\" "
			      "class=\"%s\"/><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			      "class=\"rpo\"/><text x=\"%.1f\" y=\"%d\" class=\"lbl\">%s / RTO %s</text>",
			      y, scale * (double)d->drill_restore_ns,
			      d->drill_restore_ns <= d->rto_ns ? "bar-ok" : "bar-crit",
			      160 + scale * (double)d->rto_ns, y - 2, 160 + scale * (double)d->rto_ns,
			      y + 20, 166 + scale * (double)(d->drill_restore_ns > d->rto_ns ?
							      d->drill_restore_ns : d->rto_ns),
			      y + 14, rt, rto)) != 0)
			return e;
		rep->ndrills++;
	}
	return 0;
}

int
report_add_check(struct report *rep, const struct report_check *ch)
{
	struct buf *b = &rep->sec[SEC_MONITOR];
	char since[32];
	int e;

	if (rep->count[SEC_MONITOR]++ == 0 &&
	    (e = putf(b, "<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>"
		      "</thead><tbody>", L(rep, L_CHECK), L(rep, L_STATE), L(rep, L_MESSAGE),
		      L(rep, L_SINCE))) != 0)
		return e;
	when(ch->since_ns, since, sizeof(since));
	if ((e = put(b, "<tr>")) != 0 || (e = td(b, ch->name)) != 0 || (e = put(b, "<td>")) != 0 ||
	    (e = badge(b, status_class(ch->state), ch->state ? ch->state : "-")) != 0 ||
	    (e = put(b, "</td>")) != 0 || (e = td(b, ch->message)) != 0 || (e = td(b, since)) != 0)
		return e;
	return put(b, "</tr>");
}

int
report_set_clock(struct report *rep, const struct report_clock *cl)
{
	struct buf *b = &rep->sec[SEC_CLOCK];
	char off[32];
	int e;

	buf_reset(b);
	rep->count[SEC_CLOCK] = 1;
	snprintf(off, sizeof(off), "%+.6f s", cl->offset_s);
	if ((e = putf(b, "<dl><dt>%s</dt><dd>", L(rep, L_STATE))) != 0 ||
	    (e = badge(b, status_class(cl->state), cl->state ? cl->state : "-")) != 0 ||
	    (e = putf(b, "</dd><dt>%s</dt><dd>", L(rep, L_SOURCE))) != 0 || (e = esc(b, cl->source)) != 0 ||
	    (e = putf(b, "</dd><dt>%s</dt><dd>%s</dd><dt>%s</dt><dd>", L(rep, L_OFFSET), off,
		      L(rep, L_MESSAGE))) != 0 || (e = esc(b, cl->message)) != 0)
		return e;
	return put(b, "</dd></dl>");
}

/* ---- ledger and incidents ------------------------------------------------------------------ */

int
report_set_ledger(struct report *rep, const char *path, const struct ledger_verify *v,
		  const char *error)
{
	struct buf *b = &rep->sec[SEC_LEDGER];
	char hex[65], t[32];
	size_t i;
	int verdict, e;

	buf_reset(b);
	rep->count[SEC_LEDGER] = 1;
	if ((e = put(b, "<p>")) != 0 || (e = esc(b, path)) != 0 || (e = put(b, "</p>")) != 0)
		return e;
	if (v == NULL) {
		rep->ledger_state = 4;
		if ((e = put(b, "<p class=\"ledger-status crit\">")) != 0 ||
		    (e = esc(b, L(rep, L_UNREADABLE))) != 0 || (e = put(b, ": ")) != 0 ||
		    (e = esc(b, error)) != 0)
			return e;
		return put(b, "</p>");
	}
	verdict = ledger_verify_verdict(v);
	rep->ledger_state = verdict == 0 ? 1 : verdict == MM_ETORN ? 2 : 3;
	if ((e = putf(b, "<p class=\"ledger-status %s\" data-status=\"%s\">",
		      verdict == 0 ? "ok" : verdict == MM_ETORN ? "warn" : "crit",
		      verdict == 0 ? "intact" : verdict == MM_ETORN ? "torn" : "tampered")) != 0 ||
	    (e = esc(b, L(rep, verdict == 0 ? L_INTACT : verdict == MM_ETORN ? L_TORN : L_TAMPERED))) != 0 ||
	    (e = put(b, "</p>")) != 0)
		return e;
	hex_encode(v->root, LEDGER_HASH_LEN, hex);
	if ((e = putf(b, "<dl><dt>%s</dt><dd>%" PRIu64 "</dd><dt>%s</dt><dd><code>%s</code></dd>"
		      "<dt>%s</dt><dd>", L(rep, L_RECORDS), v->records, L(rep, L_ROOT), hex,
		      L(rep, L_LAST_CKPT))) != 0)
		return e;
	if (v->last.size > 0) {
		when(v->last.time_ns, t, sizeof(t));
		if ((e = putf(b, "%s %" PRIu64 ", %s, ", L(rep, L_RECORDS), v->last.size, t)) != 0 ||
		    (e = esc(b, v->last.host)) != 0)
			return e;
	} else if ((e = esc(b, L(rep, L_NO_CKPT))) != 0) {
		return e;
	}
	if ((e = put(b, "</dd>")) != 0)
		return e;
	if (v->first_bad && (e = putf(b, "<dt>%s</dt><dd class=\"crit\">%" PRIu64 "</dd>",
				      L(rep, L_FIRST_BAD), v->first_bad)) != 0)
		return e;
	if ((e = put(b, "</dl>")) != 0)
		return e;
	if (v->nf > 0 && (e = put(b, "<ul class=\"findings\">")) != 0)
		return e;
	for (i = 0; i < v->nf && i < 50; i++) {
		if ((e = put(b, "<li>")) != 0 || (e = esc(b, v->f[i].msg)) != 0 || (e = put(b, "</li>")) != 0)
			return e;
	}
	return v->nf > 0 ? put(b, "</ul>") : 0;
}

static int
state_label(int st)
{
	return st == INCIDENT_RESOLVED ? L_ST_RESOLVED : st == INCIDENT_RECOVERED ? L_ST_RECOVERED :
	       L_ST_OPEN;
}

static int
one_incident(struct report *rep, struct buf *b, const struct incident *in)
{
	struct incident_figures f;
	char a[32], c[32], d[32], ttd[32], ttr[32], rto[32];
	size_t i;
	int e;

	incident_figures(in, rep->rto, rep->rto_arg, &f);
	when(in->occurred_ns, a, sizeof(a));
	when(in->detected_ns, c, sizeof(c));
	when(in->recovered_ns, d, sizeof(d));
	dur(f.ttd_ns, ttd, sizeof(ttd));
	dur(f.ttr_ns, ttr, sizeof(ttr));
	dur(f.rto_ns, rto, sizeof(rto));
	if ((e = putf(b, "<article class=\"incident\" id=\"%s\"><h3><span class=\"incident-id\">%s"
		      "</span> <span class=\"incident-title\">", in->id, in->id)) != 0 ||
	    (e = esc(b, in->title)) != 0 || (e = put(b, "</span> ")) != 0 ||
	    (e = badge(b, in->state == INCIDENT_RESOLVED ? "ok" : in->state == INCIDENT_RECOVERED ?
		       "warn" : "crit", L(rep, state_label(in->state)))) != 0 ||
	    (e = putf(b, "</h3><dl><dt>%s</dt><dd>%d</dd>", L(rep, L_SEVERITY), in->severity)) != 0)
		return e;
	if (in->scope[0] && ((e = putf(b, "<dt>%s</dt><dd>", L(rep, L_SCOPE))) != 0 ||
			     (e = esc(b, in->scope)) != 0 || (e = put(b, "</dd>")) != 0))
		return e;
	for (i = 0; i < in->ndatasets; i++) {
		if ((e = putf(b, "<dt>%s</dt><dd class=\"dataset-name\">", L(rep, L_DATASET))) != 0 ||
		    (e = esc(b, in->datasets[i])) != 0 || (e = put(b, "</dd>")) != 0)
			return e;
	}
	if ((e = putf(b, "<dt>%s</dt><dd>%s</dd><dt>%s</dt><dd>%s</dd><dt>%s</dt><dd>%s</dd>"
		      "<dt>%s</dt><dd>%s</dd><dt>%s</dt><dd>%s", L(rep, L_OCCURRED), a,
		      L(rep, L_DETECTED), c, L(rep, L_RECOVERED), d, L(rep, L_TTD), ttd,
		      L(rep, L_TTR), ttr)) != 0)
		return e;
	if (f.rto_ns > 0 && (e = putf(b, " (RTO %s: <strong class=\"%s\">%s</strong>)", rto,
				      f.rto_met == 0 ? "crit" : "ok",
				      f.rto_met == 1 ? L(rep, L_MET) : f.rto_met == 0 ?
				      L(rep, L_EXCEEDED) : "-")) != 0)
		return e;
	if ((e = put(b, "</dd>")) != 0)
		return e;
	if (in->cause[0] && ((e = putf(b, "<dt>%s</dt><dd>", L(rep, L_CAUSE))) != 0 ||
			     (e = esc(b, in->cause)) != 0 || (e = put(b, "</dd>")) != 0))
		return e;
	if (in->prevention[0]) {
		if ((e = putf(b, "<dt>%s</dt><dd>", L(rep, L_PREVENTION))) != 0 ||
		    (e = esc(b, in->prevention)) != 0)
			return e;
		if (in->prevention_owner[0] &&
		    ((e = putf(b, " (%s: ", L(rep, L_OWNER))) != 0 ||
		     (e = esc(b, in->prevention_owner)) != 0 || (e = put(b, ")")) != 0))
			return e;
		if ((e = put(b, "</dd>")) != 0)
			return e;
	}
	if ((e = putf(b, "</dl><h4>%s</h4><ol class=\"timeline\">", L(rep, L_TIMELINE))) != 0)
		return e;
	for (i = 0; i < in->nev; i++) {
		const struct incident_event *ev = &in->ev[i];

		when(ev->at_ns, a, sizeof(a));
		if ((e = putf(b, "<li><time>%s</time> <span class=\"ev\">", a)) != 0 ||
		    (e = esc(b, report_event_label(rep->lang, ev->kind))) != 0 || (e = put(b, "</span> ")) != 0 ||
		    (e = esc(b, ev->text)) != 0)
			return e;
		if (ev->owner[0] && ((e = putf(b, " (%s: ", L(rep, L_OWNER))) != 0 ||
				     (e = esc(b, ev->owner)) != 0 || (e = put(b, ")")) != 0))
			return e;
		if ((e = put(b, " <small>— ")) != 0 || (e = esc(b, ev->user)) != 0 ||
		    (e = putf(b, ", #%" PRIu64 "</small></li>", ev->seq)) != 0)
			return e;
	}
	return put(b, "</ol></article>");
}

void
report_set_rto(struct report *rep, incident_rto_fn rto, void *arg)
{
	rep->rto = rto;
	rep->rto_arg = arg;
}

int
report_add_incidents(struct report *rep, const struct incident *v, size_t n)
{
	struct buf *b = &rep->sec[SEC_INCIDENTS];
	size_t i;
	int e;

	/* Open ones first (newest first), then the recently resolved. */
	for (i = n; i > 0; i--) {
		if (v[i - 1].state != INCIDENT_RESOLVED) {
			rep->open_incidents++;
			rep->count[SEC_INCIDENTS]++;
			if ((e = one_incident(rep, b, &v[i - 1])) != 0)
				return e;
		}
	}
	for (i = n; i > 0; i--) {
		if (v[i - 1].state == INCIDENT_RESOLVED &&
		    v[i - 1].resolved_ns >= rep->now - RECENT_DAYS * DAY) {
			rep->count[SEC_INCIDENTS]++;
			if ((e = one_incident(rep, b, &v[i - 1])) != 0)
				return e;
		}
	}
	return 0;
}

/* ---- the page ----------------------------------------------------------------------------- */

static const char css[] =
	"body{font-family:system-ui,'Noto Sans CJK JP','Hiragino Sans','IPAPGothic',sans-serif;margin:2em auto;"
	"max-width:60em;padding:0 1em;color:#1a1a1a;line-height:1.5}"
	"h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #444;margin-top:1.6em}"
	"table{border-collapse:collapse;width:100%;font-size:.92em}"
	"th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}"
	"th{background:#eee}dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}"
	"dt{font-weight:bold}dd{margin:0}"
	".badge{display:inline-block;padding:0 .5em;border-radius:.3em;border:1px solid;"
	"font-weight:bold}.ok{color:#05612a}.warn{color:#7a4d00}.crit{color:#a00000}"
	".unknown{color:#444}.badge.ok{background:#e3f5e9}.badge.warn{background:#fff1d6}"
	".badge.crit{background:#fde4e4}.ledger-status{font-size:1.2em;font-weight:bold}"
	".not-configured{color:#555;font-style:italic;border:1px dashed #999;padding:.5em}"
	".tiles{display:flex;gap:1em;flex-wrap:wrap}.tile{border:1px solid #999;padding:.5em 1em;"
	"min-width:12em}.tile b{display:block;font-size:1.3em}"
	"svg{max-width:100%;height:auto}svg .axis{stroke:#333;stroke-width:1}"
	"svg .age{fill:none;stroke:#1f5fa8;stroke-width:2}svg .rpo{stroke:#a00000;"
	"stroke-dasharray:4 3;stroke-width:1.5}svg .lbl{font-size:11px;fill:#333}"
	"svg .bar-ok{fill:#3c8d5a}svg .bar-crit{fill:#b33}"
	".incident{border-left:4px solid #999;padding-left:1em;margin:1em 0}"
	".timeline{font-size:.92em}code{font-size:.9em}footer{margin-top:3em;color:#555;"
	"font-size:.85em}"
	"@media print{body{margin:0;max-width:none}section,article,figure,tr{break-inside:avoid}"
	"h2{break-after:avoid}a{color:inherit}}"
	"@page{margin:15mm}";

static int
section(const struct report *rep, struct buf *out, const char *id, int title, enum sec s,
	int not_configured_text)
{
	int e;

	if ((e = putf(out, "<section id=\"%s\" data-configured=\"%s\"><h2>%s</h2>", id,
		      rep->count[s] ? "yes" : "no", L(rep, title))) != 0)
		return e;
	if (rep->count[s] == 0) {
		if ((e = putf(out, "<p class=\"not-configured\"><strong>%s</strong>", L(rep, L_NOT_CONFIGURED))) != 0)
			return e;
		if (not_configured_text >= 0 && (e = putf(out, " — %s", L(rep, not_configured_text))) != 0)
			return e;
		if ((e = put(out, "</p>")) != 0)
			return e;
	} else if ((e = buf_append(out, rep->sec[s].data, rep->sec[s].len)) != 0) {
		return e;
	}
	if (s == SEC_DATASETS && rep->count[s] && (e = put(out, "</tbody></table>")) != 0)
		return e;
	if (s == SEC_MONITOR && rep->count[s] && (e = put(out, "</tbody></table>")) != 0)
		return e;
	return put(out, "</section>");
}

int
report_render(const struct report *rep, struct buf *out)
{
	char now[32], age[32], zone[16] = "";
	time_t t = (time_t)(rep->now / NS);
	struct tm tm;
	int e;

	when(rep->now, now, sizeof(now));
	if (localtime_r(&t, &tm) != NULL)
		strftime(zone, sizeof(zone), "%Z", &tm);
	if ((e = putf(out, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		      "<title>", rep->lang == REPORT_JA ? "ja" : "en")) != 0 ||
	    (e = esc(out, L(rep, L_TITLE))) != 0 || (e = put(out, " — ")) != 0 ||
	    (e = esc(out, rep->host)) != 0 || (e = putf(out, " — %s</title><style>", now)) != 0 ||
	    (e = put(out, css)) != 0 ||
	    (e = putf(out, "</style></head><body><header><h1>%s</h1><p>%s: ", L(rep, L_TITLE),
		      L(rep, L_HOST))) != 0 ||
	    (e = esc(out, rep->host)) != 0 ||
	    (e = putf(out, " · %s: <time>%s</time> (%s ", L(rep, L_GENERATED), now,
		      L(rep, L_TIMES_IN))) != 0 || (e = esc(out, zone)) != 0 ||
	    (e = put(out, ")</p></header>")) != 0)
		return e;
	/* Summary tiles: text as well as colour. */
	dur(rep->newest_backup ? rep->now - rep->newest_backup : -1, age, sizeof(age));
	if ((e = putf(out, "<section id=\"summary\"><h2>%s</h2><div class=\"tiles\">"
		      "<div class=\"tile\">%s<b id=\"newest-backup\">%s</b></div>"
		      "<div class=\"tile\">%s<b id=\"open-incidents\" class=\"%s\">%zu</b></div>"
		      "<div class=\"tile\">%s<b id=\"ledger-summary\" class=\"%s\">%s</b></div>"
		      "</div></section>", L(rep, L_SUMMARY), L(rep, L_NEWEST_BACKUP),
		      rep->newest_backup ? age : L(rep, L_NEVER), L(rep, L_OPEN_INCIDENTS),
		      rep->open_incidents ? "crit" : "ok", rep->open_incidents, L(rep, L_LEDGER),
		      rep->ledger_state == 1 ? "ok" : rep->ledger_state == 2 ? "warn" : "crit",
		      rep->ledger_state == 1 ? L(rep, L_INTACT) : rep->ledger_state == 2 ?
		      L(rep, L_TORN) : rep->ledger_state == 3 ? L(rep, L_TAMPERED) :
		      L(rep, L_UNREADABLE))) != 0)
		return e;
	if ((e = section(rep, out, "datasets", L_DATASETS, SEC_DATASETS, L_BY_POLICY)) != 0 ||
	    (e = section(rep, out, "backups", L_BACKUPS, SEC_BACKUPS, -1)) != 0)
		return e;
	/* Drills: the bars gathered from the datasets. */
	if ((e = putf(out, "<section id=\"drills\" data-configured=\"%s\"><h2>%s</h2>",
		      rep->ndrills ? "yes" : "no", L(rep, L_DRILLS))) != 0)
		return e;
	if (rep->ndrills == 0)
		e = putf(out, "<p class=\"not-configured\"><strong>%s</strong> — %s</p>",
			 L(rep, L_NOT_CONFIGURED), L(rep, L_BY_POLICY));
	else if ((e = putf(out, "<figure><svg role=\"img\" viewBox=\"0 0 %d %zu\" width=\"%d\" "
			   "height=\"%zu\" aria-label=\"%s\"><title>%s</title>", CW,
			   rep->ndrills * 28 + 20, CW, rep->ndrills * 28 + 20,
			   L(rep, L_DRILL_CHART), L(rep, L_DRILL_CHART))) == 0 &&
		 (e = buf_append(out, rep->drills.data, rep->drills.len)) == 0)
		e = putf(out, "</svg><figcaption>%s</figcaption></figure>", L(rep, L_DRILL_CHART));
	if (e != 0 || (e = put(out, "</section>")) != 0)
		return e;
	if ((e = section(rep, out, "monitoring", L_MONITOR, SEC_MONITOR, L_BY_MONITOR)) != 0 ||
	    (e = section(rep, out, "clock", L_CLOCK, SEC_CLOCK, L_BY_TIMESYNC)) != 0)
		return e;
	if ((e = putf(out, "<section id=\"incidents\"><h2>%s</h2>", L(rep, L_INCIDENTS))) != 0 ||
	    (e = rep->count[SEC_INCIDENTS] ? buf_append(out, rep->sec[SEC_INCIDENTS].data,
							rep->sec[SEC_INCIDENTS].len) :
	     putf(out, "<p>%s</p>", L(rep, L_NO_INCIDENTS))) != 0 ||
	    (e = put(out, "</section>")) != 0)
		return e;
	if ((e = section(rep, out, "ledger", L_LEDGER, SEC_LEDGER, -1)) != 0)
		return e;
	return putf(out, "<footer>%s</footer></body></html>\n", L(rep, L_FOOTER));
}
