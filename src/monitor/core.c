/*
 * The monitor's small pieces: probe table, per-check memory, results,
 * judging a reading against thresholds, and the rule that turns raw
 * states into confirmed states and alerts (`for`, flapping, recovery).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor_internal.h"

static const struct mon_probe *const probes[] = {
	&mon_probe_disk, &mon_probe_memory, &mon_probe_cpu, &mon_probe_network, &mon_probe_tcp,
	&mon_probe_http, &mon_probe_service, &mon_probe_process, &mon_probe_raid, &mon_probe_files,
	&mon_probe_backups, &mon_probe_time, &mon_probe_logins,
};

const struct mon_probe *
mon_probe_find(const char *type)
{
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		if (strcmp(probes[i]->type, type) == 0)
			return probes[i];
	return NULL;
}

const char *
mon_probe_types(void)
{
	return "disk, memory, cpu, network, tcp, http, service, process, raid, files, backups, time, logins";
}

const char *
mon_state_name(enum mon_state s)
{
	switch (s) {
	case MON_OK: return "OK";
	case MON_WARNING: return "WARNING";
	case MON_CRITICAL: return "CRITICAL";
	default: return "UNKNOWN";
	}
}

/* ---- memory between cycles ---------------------------------------------- */

const char *
mon_memo_get(const struct mon_memo *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->kv[i].key, key) == 0)
			return m->kv[i].val;
	return NULL;
}

/* val NULL removes the key. */
int
mon_memo_set(struct mon_memo *m, const char *key, const char *val)
{
	char *v = NULL;

	if (val && strlen(val) > MON_MEMO_VAL_MAX)
		return MM_ELIMIT;
	if (val && (v = strdup(val)) == NULL)
		return MM_ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->kv[i].key, key) != 0)
			continue;
		free(m->kv[i].val);
		if (v) {
			m->kv[i].val = v;
		} else {
			free(m->kv[i].key);
			m->kv[i] = m->kv[--m->n];
		}
		return 0;
	}
	if (v == NULL)
		return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct mon_kv *kv;
		if (m->n >= MON_MEMO_MAX || (kv = realloc(m->kv, cap * sizeof(*kv))) == NULL) {
			free(v);
			return m->n >= MON_MEMO_MAX ? MM_ELIMIT : MM_ENOMEM;
		}
		m->kv = kv;
		m->cap = cap;
	}
	if ((m->kv[m->n].key = strdup(key)) == NULL) {
		free(v);
		return MM_ENOMEM;
	}
	m->kv[m->n++].val = v;
	return 0;
}

void
mon_memo_del(struct mon_memo *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->kv[i].key, key) != 0)
			continue;
		free(m->kv[i].key);
		free(m->kv[i].val);
		m->kv[i] = m->kv[--m->n];
		return;
	}
}

void
mon_memo_release(struct mon_memo *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->kv[i].key);
		free(m->kv[i].val);
	}
	free(m->kv);
	memset(m, 0, sizeof(*m));
}

/* ---- results ----------------------------------------------------------------- */

void
mon_result_init(struct mon_result *r)
{
	memset(r, 0, sizeof(*r));
	r->pct = -1;
}

void
mon_result_release(struct mon_result *r)
{
	free(r->metrics);
	mon_result_init(r);
}

int
mon_metric_add(struct mon_result *r, const char *name, const char *labels, double value)
{
	if (r->nmetrics == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct mon_metric *m = realloc(r->metrics, cap * sizeof(*m));
		if (m == NULL)
			return MM_ENOMEM;
		r->metrics = m;
		r->cap = cap;
	}
	snprintf(r->metrics[r->nmetrics].name, sizeof(r->metrics[0].name), "%s", name);
	snprintf(r->metrics[r->nmetrics].labels, sizeof(r->metrics[0].labels), "%s", labels);
	r->metrics[r->nmetrics++].value = value;
	return 0;
}

void
mon_append(struct mon_result *r, const char *fmt, ...)
{
	size_t len = strlen(r->message);
	va_list ap;

	if (len >= sizeof(r->message) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(r->message + len, sizeof(r->message) - len, fmt, ap);
	va_end(ap);
}

static size_t
label_escape(char *out, size_t n, const char *v)
{
	size_t o = 0;

	for (; *v && o + 2 < n; v++) {
		if (*v == '\\' || *v == '"') {
			out[o++] = '\\';
			out[o++] = *v;
		} else if (*v == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
	return o;
}

void
mon_label(char *out, size_t n, const char *check, const char *key, const char *val)
{
	char a[128], b[256];

	label_escape(a, sizeof(a), check);
	if (key && val) {
		label_escape(b, sizeof(b), val);
		snprintf(out, n, "check=\"%s\",%s=\"%s\"", a, key, b);
	} else {
		snprintf(out, n, "check=\"%s\"", a);
	}
}

int
mon_read(const struct mon_env *env, const char *path, size_t max, struct buf *out,
	 struct mm_ctx *c)
{
	char full[4096];
	int e;

	snprintf(full, sizeof(full), "%s%s", env->root ? env->root : "", path);
	if ((e = file_read_all(full, max, out, c)) != 0)
		return e;
	if ((e = buf_append_u8(out, '\0')) != 0)
		return mm_fail(c, e, "out of memory");
	out->len--;
	return 0;
}

/* ---- judging --------------------------------------------------------------------- */

static int
breached(const struct mon_check *k, const struct mon_result *r, const struct mon_threshold *t)
{
	if (!t->set || !r->judged)
		return 0;
	if (t->pct)
		return r->pct >= 0 && r->pct >= t->value;
	return k->probe->higher_is_worse ? r->value >= t->value : r->value <= t->value;
}

enum mon_state
mon_judge(const struct mon_check *k, const struct mon_result *r)
{
	enum mon_state s = MON_OK;

	if (r->state == MON_UNKNOWN)
		return MON_UNKNOWN;
	if (breached(k, r, &k->crit))
		s = MON_CRITICAL;
	else if (breached(k, r, &k->warn))
		s = MON_WARNING;
	return r->state > s ? r->state : s;
}

/* How bad a state is, for "worse than": UNKNOWN ranks between WARNING and
 * CRITICAL (a probe that cannot read is worth a look, not a page). */
static int
rank(enum mon_state s)
{
	static const int r[] = { 0, 1, 3, 2 };
	return r[s & 3];
}

int
mon_rule_step(struct mon_rule_state *st, const struct mon_check *k, enum mon_state raw,
	      int64_t now, const char **kind)
{
	const uint32_t window = (1u << MON_FLAP_WINDOW) - 1;
	int was_flapping = st->flapping, flips;

	st->history = (st->history << 1) & window;
	if (st->seen && raw != st->last_raw)
		st->history |= 1;
	st->last_raw = raw;
	if (!st->seen) {
		st->seen = 1;
		st->state = MON_OK;
		st->alerted = MON_OK;
		st->since = now;
	}
	flips = __builtin_popcount(st->history);
	if (!st->flapping && flips >= MON_FLAP_HIGH)
		st->flapping = 1;
	else if (st->flapping && flips <= MON_FLAP_LOW)
		st->flapping = 0;

	/* A worse state must last `for`; a better one counts at once. */
	if (raw == st->state) {
		st->pending = raw;
		st->pending_since = 0;
	} else if (rank(raw) < rank(st->state) || k->for_s <= 0) {
		st->state = raw;
		st->since = now;
		st->pending = raw;
		st->pending_since = 0;
	} else {
		if (st->pending != raw || st->pending_since == 0) {
			st->pending = raw;
			st->pending_since = now;
		}
		if (now - st->pending_since >= k->for_s) {
			st->state = raw;
			st->since = now;
			st->pending_since = 0;
		}
	}

	if (st->flapping && !was_flapping) {
		*kind = "flapping";
	} else if (!st->flapping && was_flapping) {
		*kind = "flapping-ended";
	} else if (!st->flapping && st->state != st->alerted) {
		*kind = st->state == MON_OK ? "recovery" : "problem";
	} else {
		return 0;
	}
	st->alerted = st->state;
	return 1;
}

int
mon_shows_percent(const struct mon_check *k, const struct mon_result *r)
{
	if (r->pct < 0)
		return 0;
	return !((k->warn.set && !k->warn.pct) || (k->crit.set && !k->crit.pct));
}

/* ---- percent-encoded fields (state file, wire format) ------------------------ */

int
mon_pct_encode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = b->len;
	int e = 0;

	if (strcmp(s, "-") == 0)
		return buf_append(b, "%2D", 3); /* "-" alone means empty */
	for (; *s && e == 0; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch <= ' ' || ch == '%' || ch >= 0x7f) {
			uint8_t t[3] = { '%', (uint8_t)hex[ch >> 4], (uint8_t)hex[ch & 15] };
			e = buf_append(b, t, 3);
		} else {
			e = buf_append_u8(b, ch);
		}
	}
	if (e == 0 && b->len == start)
		e = buf_append_u8(b, '-'); /* never an empty field */
	return e;
}

void
mon_pct_decode(char *s)
{
	char *o = s;

	if (strcmp(s, "-") == 0) {
		*s = '\0';
		return;
	}
	for (char *p = s; *p; p++) {
		unsigned v;
		if (*p == '%' && p[1] && p[2] && sscanf(p + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}
