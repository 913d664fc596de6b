/*
 * One monitoring cycle: load what the checks remembered, run the probes,
 * judge, then (for the agent) advance the rules, send the alerts that are
 * due and save everything in one durable file, so that a restart neither
 * forgets a trend nor repeats an alert.
 *
 * The state file (STATE_DIR/state) is text, one line per item:
 *   mamori-monitor-state 1
 *   rule CHECK state since pending pending_since alerted history last_raw flapping seen
 *   memo CHECK KEY VALUE        (KEY and VALUE percent-encoded)
 * A delivery not yet made to a sink is kept in the check's memory under
 * "@q.SINK" (what to send) and "@m.SINK" (its message) until it succeeds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "monitor/monitor_internal.h"

#define STATE_FILE_MAX (16u * 1024 * 1024)
#define STATE_MAGIC "mamori-monitor-state 1"

static struct mon_checkrun *
run_named(struct mon_cycle *cy, const char *name)
{
	for (size_t i = 0; i < cy->n; i++)
		if (strcmp(cy->runs[i].check->name, name) == 0)
			return &cy->runs[i];
	return NULL;
}

/* Lines for checks no longer configured are dropped. */
static int
state_load(const char *dir, struct mon_cycle *cy, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	char *path = path_join(dir, "state"), *line, *save = NULL;
	int e;

	if (path == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	e = file_read_all(path, STATE_FILE_MAX, &b, c);
	if (e == MM_ENOENT) {
		e = 0;
		goto out;
	}
	if (e != 0 || (e = buf_append_u8(&b, '\0')) != 0)
		goto out;
	line = strtok_r((char *)b.data, "\n", &save);
	if (line == NULL || strcmp(line, STATE_MAGIC) != 0) {
		e = mm_fail(c, MM_ECORRUPT, "%s is not a monitor state file (move it away; the "
			    "agent starts afresh)", path);
		goto out;
	}
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char kind[8], name[256], key[4096], *val;
		struct mon_checkrun *cr;
		int st, pend, al, lr, fl, seen;
		long long since, psince;
		unsigned hist;

		if (sscanf(line, "%7s %255s", kind, name) != 2)
			continue;
		mon_pct_decode(name);
		if ((cr = run_named(cy, name)) == NULL)
			continue;
		if (strcmp(kind, "rule") == 0 &&
		    sscanf(line, "%*s %*s %d %lld %d %lld %d %x %d %d %d", &st, &since, &pend, &psince,
			   &al, &hist, &lr, &fl, &seen) == 9) {
			cr->rule.state = (enum mon_state)(st & 3);
			cr->rule.since = since;
			cr->rule.pending = (enum mon_state)(pend & 3);
			cr->rule.pending_since = psince;
			cr->rule.alerted = (enum mon_state)(al & 3);
			cr->rule.history = hist;
			cr->rule.last_raw = (enum mon_state)(lr & 3);
			cr->rule.flapping = fl != 0;
			cr->rule.seen = seen != 0;
		} else if (strcmp(kind, "memo") == 0 && sscanf(line, "%*s %*s %4095s", key) == 1) {
			val = strrchr(line, ' ');
			if (val == NULL)
				continue;
			val++;
			mon_pct_decode(key);
			mon_pct_decode(val);
			if ((e = mon_memo_set(&cr->memo, key, val)) != 0) {
				e = mm_fail(c, e, "monitor state: too much kept for check %s", name);
				goto out;
			}
		}
	}
	e = 0;
out:
	buf_release(&b);
	free(path);
	return e;
}

static int
state_save(const char *dir, const struct mon_cycle *cy, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	char *path = NULL;
	char line[256];
	int e;

	if ((e = mkdir_p(dir, 0700, c)) != 0)
		return mm_prefix(c, e, "monitor state folder");
	if ((path = path_join(dir, "state")) == NULL) {
		e = MM_ENOMEM;
		goto out;
	}
	if ((e = buf_append(&b, STATE_MAGIC "\n", strlen(STATE_MAGIC) + 1)) != 0)
		goto out;
	for (size_t i = 0; i < cy->n && e == 0; i++) {
		const struct mon_checkrun *cr = &cy->runs[i];
		const struct mon_rule_state *r = &cr->rule;
		e = buf_append(&b, "rule ", 5);
		if (!e) e = mon_pct_encode(&b, cr->check->name);
		snprintf(line, sizeof(line), " %d %lld %d %lld %d %x %d %d %d\n", r->state,
			 (long long)r->since, r->pending, (long long)r->pending_since, r->alerted,
			 r->history, r->last_raw, r->flapping, r->seen);
		if (!e) e = buf_append(&b, line, strlen(line));
		for (size_t j = 0; j < cr->memo.n && e == 0; j++) {
			e = buf_append(&b, "memo ", 5);
			if (!e) e = mon_pct_encode(&b, cr->check->name);
			if (!e) e = buf_append_u8(&b, ' ');
			if (!e) e = mon_pct_encode(&b, cr->memo.kv[j].key);
			if (!e) e = buf_append_u8(&b, ' ');
			if (!e) e = mon_pct_encode(&b, cr->memo.kv[j].val);
			if (!e) e = buf_append_u8(&b, '\n');
		}
	}
	if (e != 0) {
		e = mm_fail(c, e, "out of memory");
		goto out;
	}
	e = file_write_atomic(path, b.data, b.len, 0600, c);
out:
	if (e == MM_ENOMEM)
		mm_fail(c, e, "out of memory");
	buf_release(&b);
	free(path);
	return e;
}

static int
wanted(const char *name, const char *const *only, size_t nonly)
{
	if (nonly == 0)
		return 1;
	for (size_t i = 0; i < nonly; i++)
		if (strcmp(only[i], name) == 0)
			return 1;
	return 0;
}

/*
 * A check with `every` keeps its last result in its memory ("@r", encoded
 * as on the wire, and "@rt", when it ran): the agent reuses it until the
 * time has passed, so a look at the repositories (Argon2id for each key)
 * is not repeated every ten seconds.
 */
static int
reuse_last(const struct mon_checkrun *cr, int64_t now, struct mon_result *out)
{
	const char *r = mon_memo_get(&cr->memo, "@r"), *t = mon_memo_get(&cr->memo, "@rt");
	struct mm_ctx c = MM_CTX_INIT;
	long long at;

	if (r == NULL || t == NULL || sscanf(t, "%lld", &at) != 1 || now < at ||
	    now - at >= cr->check->every_s)
		return 0;
	return mon_result_decode(r, strlen(r), out, &c) == 0;
}

static int
keep_last(struct mon_checkrun *cr, int64_t now)
{
	struct buf b = BUF_INIT;
	char t[32];
	int e;

	snprintf(t, sizeof(t), "%lld", (long long)now);
	if ((e = mon_result_encode(&cr->res, &b)) == 0 && (e = buf_append_u8(&b, 0)) == 0 &&
	    b.len <= MON_MEMO_VAL_MAX && (e = mon_memo_set(&cr->memo, "@r", (char *)b.data)) == 0)
		e = mon_memo_set(&cr->memo, "@rt", t);
	buf_release(&b);
	return e == MM_ENOMEM ? e : 0; /* a result too large is simply not kept */
}

static void
set_unknown(struct mon_result *r, const char *why)
{
	mon_result_release(r);
	r->state = MON_UNKNOWN;
	snprintf(r->message, sizeof(r->message), "%.700s", why);
}

/* The checks the agent hands to mamori go in one batch: one child a cycle
 * however many http checks there are. */
static int
outsource_all(const struct mon_env *env, struct mon_cycle *cy, const unsigned char *done)
{
	const struct mon_check **ks = NULL;
	struct mon_result *rs = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	size_t n = 0, j = 0;

	for (size_t i = 0; i < cy->n; i++)
		n += !done[i] && cy->runs[i].check->probe->outsourced;
	if (n == 0)
		return 0;
	if ((ks = calloc(n, sizeof(*ks))) == NULL || (rs = calloc(n, sizeof(*rs))) == NULL) {
		free(ks);
		return MM_ENOMEM;
	}
	for (size_t i = 0; i < cy->n; i++)
		if (!done[i] && cy->runs[i].check->probe->outsourced)
			ks[j++] = cy->runs[i].check;
	for (size_t i = 0; i < n; i++)
		mon_result_init(&rs[i]);
	if (env->outsource(env->outsource_arg, ks, n, rs, &c) != 0)
		for (size_t i = 0; i < n; i++)
			set_unknown(&rs[i], c.msg);
	for (size_t i = 0, k = 0; i < cy->n; i++) {
		if (done[i] || !cy->runs[i].check->probe->outsourced)
			continue;
		mon_result_release(&cy->runs[i].res);
		cy->runs[i].res = rs[k++];
	}
	free(ks);
	free(rs);
	return 0;
}

/* Run the checks (or reuse their last results): 0, or MM_ENOMEM. A probe
 * that fails makes its check UNKNOWN with the probe's words. */
static int
run_all(const struct mon_env *env, struct mon_cycle *cy, int64_t now)
{
	unsigned char *done = calloc(cy->n ? cy->n : 1, 1);
	int e = 0;

	if (done == NULL)
		return MM_ENOMEM;
	for (size_t i = 0; env->reuse && i < cy->n; i++) {
		struct mon_checkrun *cr = &cy->runs[i];
		struct mon_result last;
		mon_result_init(&last);
		if (cr->check->every_s > 0 && reuse_last(cr, now, &last)) {
			mon_result_release(&cr->res);
			cr->res = last;
			done[i] = 2;
		}
	}
	if (env->outsource != NULL && (e = outsource_all(env, cy, done)) != 0)
		goto out;
	for (size_t i = 0; i < cy->n && e == 0; i++) {
		struct mon_checkrun *cr = &cy->runs[i];
		struct mm_ctx pc = MM_CTX_INIT;
		if (done[i])
			continue;
		if (!(cr->check->probe->outsourced && env->outsource != NULL) &&
		    cr->check->probe->run(cr->check, env, &cr->memo, &cr->res, &pc) != 0)
			set_unknown(&cr->res, pc.msg);
	}
	for (size_t i = 0; i < cy->n && e == 0; i++)
		if (env->reuse && done[i] != 2 && cy->runs[i].check->every_s > 0)
			e = keep_last(&cy->runs[i], now);
out:
	free(done);
	return e;
}

/* The checks wanted, with their memory and rule state from state_dir. */
static int
prepare(const struct mon_config *mc, const char *const *only, size_t nonly,
	struct mon_cycle *cy, struct mm_ctx *c)
{
	int e;

	for (size_t i = 0; i < nonly; i++) {
		size_t j;
		for (j = 0; j < mc->nchecks && strcmp(mc->checks[j].name, only[i]) != 0; j++)
			;
		if (j == mc->nchecks)
			return mm_fail(c, MM_ENOENT, "no check named %s in the configuration", only[i]);
	}
	if ((cy->runs = calloc(mc->nchecks ? mc->nchecks : 1, sizeof(*cy->runs))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (size_t i = 0; i < mc->nchecks; i++) {
		if (!wanted(mc->checks[i].name, only, nonly))
			continue;
		cy->runs[cy->n].check = &mc->checks[i];
		mon_result_init(&cy->runs[cy->n].res);
		cy->n++;
	}
	if (mc->state_dir && (e = state_load(mc->state_dir, cy, c)) != 0) {
		mon_cycle_release(cy);
		return e;
	}
	return 0;
}

int
mon_cycle_run(const struct mon_config *mc, const struct mon_env *env,
	      const char *const *only, size_t nonly, struct mon_cycle *out, struct mm_ctx *c)
{
	struct mon_cycle cy = { NULL, 0, 0 };
	double t0 = time_mono();
	int64_t now = mm_clock_now(&env->clock) / 1000000000;
	int e;

	if ((e = prepare(mc, only, nonly, &cy, c)) != 0)
		return e;
	if ((e = run_all(env, &cy, now)) != 0) {
		mm_fail(c, e, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cy.n; i++)
		cy.runs[i].raw = mon_judge(cy.runs[i].check, &cy.runs[i].res);
	cy.seconds = time_mono() - t0;
	*out = cy;
	return 0;
fail:
	mon_cycle_release(&cy);
	return e;
}

void
mon_cycle_release(struct mon_cycle *cy)
{
	for (size_t i = 0; i < cy->n; i++) {
		mon_result_release(&cy->runs[i].res);
		mon_memo_release(&cy->runs[i].memo);
	}
	free(cy->runs);
	memset(cy, 0, sizeof(*cy));
}

enum mon_state
mon_cycle_worst(const struct mon_cycle *cy)
{
	enum mon_state w = MON_OK;

	for (size_t i = 0; i < cy->n; i++) {
		enum mon_state s = cy->runs[i].raw;
		if (s == MON_CRITICAL || (s == MON_UNKNOWN && w != MON_CRITICAL) ||
		    (s == MON_WARNING && w == MON_OK))
			w = s;
	}
	return w;
}

/* ---- deliveries ------------------------------------------------------------- */

static void
threshold_text(const struct mon_check *k, char *out, size_t n)
{
	char w[32] = "", cr[32] = "";

	if (k->warn.set)
		snprintf(w, sizeof(w), "warn %g%s", k->warn.value, k->warn.pct ? "%" : "");
	if (k->crit.set)
		snprintf(cr, sizeof(cr), "crit %g%s", k->crit.value, k->crit.pct ? "%" : "");
	snprintf(out, n, "%s%s%s", w, w[0] && cr[0] ? ", " : "", cr);
}

/* Queue the alert for every sink that takes it. */
static int
enqueue(const struct mon_config *mc, struct mon_checkrun *cr, const char *kind,
	enum mon_state prev, int64_t now)
{
	char key[128], val[256];
	int e;

	for (size_t i = 0; i < mc->nsinks; i++) {
		const struct mon_sink *s = &mc->sinks[i];
		if (strcmp(kind, "problem") == 0 && cr->rule.state != MON_UNKNOWN &&
		    cr->rule.state < s->min_state)
			continue;
		snprintf(val, sizeof(val), "%s %d %d %lld 0 %lld %d %.17g", kind, cr->rule.state, prev,
			 (long long)now, (long long)now, cr->res.judged,
			 cr->res.pct >= 0 ? cr->res.pct : cr->res.value);
		snprintf(key, sizeof(key), "@q.%s", s->name);
		if ((e = mon_memo_set(&cr->memo, key, val)) != 0)
			return e;
		snprintf(key, sizeof(key), "@m.%s", s->name);
		if ((e = mon_memo_set(&cr->memo, key, cr->res.message)) != 0)
			return e;
	}
	return 0;
}

static int64_t
backoff(int tries, int64_t interval)
{
	uint8_t r = 0;
	int64_t d = interval > 0 ? interval : 10;

	for (int i = 1; i < tries && d < 3600; i++)
		d *= 2;
	if (d > 3600)
		d = 3600;
	if (getrandom(&r, 1, GRND_NONBLOCK) != 1)
		r = 128; /* spreading retries needs no secret randomness */
	return d / 2 + (d / 2) * r / 255; /* jitter: senders do not retry in step */
}

/* The alert a queue entry stands for (strings point into cr and mc). */
static void
queued_alert(const struct mon_config *mc, const struct mon_checkrun *cr, const char *kind,
	     int st, int prev, long long t, int judged, double v, const char *msg,
	     struct mon_alert *a)
{
	memset(a, 0, sizeof(*a));
	a->check = cr->check->name;
	a->type = cr->check->probe->type;
	a->kind = kind;
	a->state = (enum mon_state)(st & 3);
	a->previous = (enum mon_state)(prev & 3);
	a->value = v;
	a->has_value = judged;
	threshold_text(cr->check, a->threshold, sizeof(a->threshold));
	a->cause = msg ? msg : "";
	a->host = mc->host;
	a->time = t;
}

/*
 * One sink's queued alert for one check. With a net that delivers in the
 * background (the agent), a delivery started in an earlier cycle is
 * looked at first and a new one only started; the probes never wait for
 * a receiver. Otherwise the delivery is made here, bounded by its timeout.
 * start_new 0 (draining at exit): only finish what is under way.
 */
static void
deliver_one(const struct mon_config *mc, const struct mon_env *env, struct mon_checkrun *cr,
	    const struct mon_sink *s, int64_t now, int start_new,
	    void (*warn)(void *, const char *), void *arg)
{
	const struct mon_net *net = env->net;
	int async = net != NULL && net->start != NULL && net->finish != NULL;
	char qk[128], mk[128], kind[32], msg[1200], val[256], id[300], tag[96];
	struct mon_alert a;
	struct mm_ctx c = MM_CTX_INIT;
	const char *q;
	int st, prev, tries, judged, failed = 0, r;
	long long t, next;
	double v;

	snprintf(qk, sizeof(qk), "@q.%s", s->name);
	snprintf(mk, sizeof(mk), "@m.%s", s->name);
	if ((q = mon_memo_get(&cr->memo, qk)) == NULL ||
	    sscanf(q, "%31s %d %d %lld %d %lld %d %lf", kind, &st, &prev, &t, &tries, &next,
		   &judged, &v) != 8)
		return;
	snprintf(id, sizeof(id), "%s/%s", cr->check->name, s->name);
	snprintf(tag, sizeof(tag), "%s %d %d %lld", kind, st, prev, t);
	r = async ? net->finish(env->net_arg, id, tag, &failed, &c) : -1;
	if (r == 0)
		return; /* under way */
	if (r < 0) {
		if (next > now || !start_new)
			return;
		queued_alert(mc, cr, kind, st, prev, t, judged, v, mon_memo_get(&cr->memo, mk), &a);
		if (async)
			failed = net->start(env->net_arg, id, tag, s, &a, &c) != 0;
		else
			failed = mon_sink_send(s, &a, env, &c) != 0;
		if (async && !failed)
			return; /* looked at in the next cycle */
	}
	if (!failed) {
		mon_memo_del(&cr->memo, qk);
		mon_memo_del(&cr->memo, mk);
		return;
	}
	tries++;
	snprintf(val, sizeof(val), "%s %d %d %lld %d %lld %d %.17g", kind, st, prev, t, tries,
		 (long long)(now + backoff(tries, mc->interval_s)), judged, v);
	if (mon_memo_set(&cr->memo, qk, val) != 0)
		val[0] = '\0'; /* out of memory: retried on the old schedule */
	if (warn) {
		snprintf(msg, sizeof(msg), "alert %s for check %s not delivered (try %d, "
			 "retried later): %s", s->name, cr->check->name, tries, c.msg);
		warn(arg, msg);
	}
}

static void
deliver(const struct mon_config *mc, const struct mon_env *env, struct mon_checkrun *cr,
	int64_t now, int start_new, void (*warn)(void *, const char *), void *arg)
{
	for (size_t i = 0; i < mc->nsinks; i++)
		deliver_one(mc, env, cr, &mc->sinks[i], now, start_new, warn, arg);
}

int
mon_cycle_commit(const struct mon_config *mc, const struct mon_env *env, struct mon_cycle *cy,
		 void (*warn)(void *, const char *), void *arg, struct mm_ctx *c)
{
	int64_t now = mm_clock_now(&env->clock) / 1000000000;
	struct mon_silences quiet = { NULL, 0 };
	struct mm_ctx sc = MM_CTX_INIT;
	int e;

	/* A silences file that cannot be read silences nothing, and says so. */
	if (mc->state_dir && mon_silences_load(mc->state_dir, &quiet, &sc) != 0 && warn)
		warn(arg, sc.msg);
	for (size_t i = 0; i < cy->n; i++) {
		struct mon_checkrun *cr = &cy->runs[i];
		/* Receivers compare with what they were last told. */
		enum mon_state prev = cr->rule.alerted, before = cr->rule.state;
		const char *kind = NULL;
		if (mon_rule_step(&cr->rule, cr->check, cr->raw, now, &kind)) {
			const struct mon_silence *q = mon_silenced(&quiet, cr->check->name, now);
			struct mon_alert a;
			memset(&a, 0, sizeof(a));
			a.check = cr->check->name;
			a.type = cr->check->probe->type;
			a.kind = kind;
			a.state = cr->rule.state;
			a.previous = prev;
			a.cause = cr->res.message;
			a.host = mc->host;
			a.time = now;
			if (q != NULL) {
				/* Each change once in syslog; told when the silence ends. */
				if (cr->rule.state != before)
					mon_alert_syslog(&a, q->reason);
				cr->rule.alerted = prev;
			} else {
				mon_alert_syslog(&a, NULL);
				if (env->hooks.alert != NULL)
					env->hooks.alert(env->hooks.alert_arg, &a);
				if ((e = enqueue(mc, cr, kind, prev, now)) != 0) {
					mon_silences_release(&quiet);
					return mm_fail(c, e, "out of memory");
				}
			}
		}
		deliver(mc, env, cr, now, 1, warn, arg);
	}
	mon_silences_release(&quiet);
	if (mc->state_dir)
		return state_save(mc->state_dir, cy, c);
	return 0;
}

int
mon_cycle_drain(const struct mon_config *mc, const struct mon_env *env,
		void (*warn)(void *, const char *), void *arg, struct mm_ctx *c)
{
	struct mon_cycle cy = { NULL, 0, 0 };
	int64_t now = mm_clock_now(&env->clock) / 1000000000;
	int e;

	if ((e = prepare(mc, NULL, 0, &cy, c)) != 0)
		return e;
	for (size_t i = 0; i < cy.n; i++)
		deliver(mc, env, &cy.runs[i], now, 0, warn, arg);
	e = mc->state_dir ? state_save(mc->state_dir, &cy, c) : 0;
	mon_cycle_release(&cy);
	return e;
}

int
mon_accept(const struct mon_config *mc, const char *const *names, size_t n, struct mm_ctx *c)
{
	struct mon_cycle cy = { NULL, 0, 0 };
	int e;

	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0; j < mc->nchecks && strcmp(mc->checks[j].name, names[i]) != 0; j++)
			;
		if (j == mc->nchecks)
			return mm_fail(c, MM_ENOENT, "no check named %s in the configuration", names[i]);
		if (strcmp(mc->checks[j].probe->type, "files") != 0)
			return mm_fail(c, MM_EINVAL, "check %s is a %s check; only files checks have "
				       "a baseline to accept", names[i], mc->checks[j].probe->type);
	}
	if ((cy.runs = calloc(mc->nchecks ? mc->nchecks : 1, sizeof(*cy.runs))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (size_t i = 0; i < mc->nchecks; i++) {
		cy.runs[cy.n].check = &mc->checks[i];
		mon_result_init(&cy.runs[cy.n].res);
		cy.n++;
	}
	if ((e = state_load(mc->state_dir, &cy, c)) != 0)
		goto out;
	for (size_t i = 0; i < cy.n; i++) {
		struct mon_memo *m = &cy.runs[i].memo;
		if (!wanted(cy.runs[i].check->name, names, n))
			continue;
		for (size_t j = 0; j < m->n;) {
			const char *k = m->kv[j].key;
			if ((k[0] == 'f' || k[0] == 's') && k[1] == ':')
				mon_memo_del(m, k); /* moves the last entry here */
			else
				j++;
		}
	}
	e = state_save(mc->state_dir, &cy, c);
out:
	mon_cycle_release(&cy);
	return e;
}
