/*
 * Probes over what other modules judge: backups (the policy's status of
 * every dataset: newest snapshot against its RPO, last check, last drill)
 * and time (the kernel clock's state and, when servers are named, the
 * time-sync diagnosis against them). The readings come through
 * env->hooks; this file only turns them into a state, words and metrics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor_internal.h"

static void
fmt_age(int64_t s, char *out, size_t n)
{
	if (s < 120)
		snprintf(out, n, "%lld s", (long long)s);
	else if (s < 2 * 3600)
		snprintf(out, n, "%lld min", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(out, n, "%.1f h", (double)s / 3600);
	else
		snprintf(out, n, "%.1f days", (double)s / 86400);
}

static int
backup_metrics(const struct mon_check *k, const struct mon_backup_reading *b,
	       struct mon_result *out)
{
	char lab[256];
	int e = 0;

	mon_label(lab, sizeof(lab), k->name, "dataset", b->dataset);
	e = mon_metric_add(out, "mamori_backup_state", lab, b->state);
	if (!e && b->have_snapshot)
		e = mon_metric_add(out, "mamori_backup_age_seconds", lab, (double)b->age_s);
	if (!e)
		e = mon_metric_add(out, "mamori_backup_rpo_seconds", lab, (double)b->rpo_s);
	if (!e && b->have_check)
		e = mon_metric_add(out, "mamori_backup_check_ok", lab, b->check_ok);
	if (!e && b->have_drill)
		e = mon_metric_add(out, "mamori_backup_drill_ok", lab, b->drill_ok);
	if (!e && b->have_drill)
		e = mon_metric_add(out, "mamori_backup_drill_restore_seconds", lab, b->drill_seconds);
	return e;
}

static int
probe_backups(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	      struct mon_result *out, struct mm_ctx *c)
{
	struct mon_backup_reading *b = NULL;
	struct mm_ctx hc = MM_CTX_INIT;
	size_t n = 0, bad = 0;
	int e = 0;

	(void)memo;
	out->judged = 0;
	if (env->hooks.backups == NULL) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "no continuity policy here: backups "
			 "checks need [dataset] sections in the same mamori.conf");
		return 0;
	}
	if (env->hooks.backups(env->hooks.arg, k->target, &b, &n, &hc) != 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "cannot read the policy: %.700s", hc.msg);
		return 0;
	}
	if (n == 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "the policy has no dataset to watch");
		goto out;
	}
	out->state = MON_OK;
	for (size_t i = 0; i < n && e == 0; i++) {
		const struct mon_backup_reading *r = &b[i];
		if (r->state != MON_OK) {
			/* CRITICAL outranks UNKNOWN outranks WARNING. */
			if (r->state == MON_CRITICAL ||
			    (r->state == MON_UNKNOWN && out->state != MON_CRITICAL) ||
			    (r->state == MON_WARNING && out->state == MON_OK))
				out->state = r->state;
			mon_append(out, "%s%s: %s", bad++ ? "; " : "", r->dataset, r->reason);
		}
		e = backup_metrics(k, r, out);
	}
	if (e != 0) {
		e = mm_fail(c, e, "out of memory");
		goto out;
	}
	if (bad == 0 && n == 1) {
		char age[32];
		fmt_age(b[0].age_s, age, sizeof(age));
		mon_append(out, "%s: newest snapshot %s old (RPO ", b[0].dataset, age);
		fmt_age(b[0].rpo_s, age, sizeof(age));
		mon_append(out, "%s)", age);
	} else if (bad == 0) {
		mon_append(out, "%zu datasets within their RPO", n);
	}
out:
	free(b);
	return e;
}

static int
probe_time(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	   struct mon_result *out, struct mm_ctx *c)
{
	struct mon_time_reading t;
	struct mm_ctx hc = MM_CTX_INIT;
	char lab[256];
	int e;

	(void)memo;
	memset(&t, 0, sizeof(t));
	if (env->hooks.clock == NULL) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "the clock cannot be read here");
		return 0;
	}
	if (env->hooks.clock(env->hooks.arg, k->target, k->timeout_s > 0 ? k->timeout_s : 1.0, &t,
			     &hc) != 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "cannot read the clock: %.700s", hc.msg);
		return 0;
	}
	snprintf(out->unit, sizeof(out->unit), "s");
	out->state = MON_OK;
	if (k->target != NULL) {
		/* Measured against the servers named: their verdict counts. */
		if (!t.have_server_offset) {
			out->state = MON_CRITICAL;
			snprintf(out->message, sizeof(out->message), "no usable time server: %.700s",
				 t.detail[0] ? t.detail : "none answered");
		} else {
			out->judged = 1;
			out->value = fabs(t.server_offset);
			snprintf(out->message, sizeof(out->message), "clock %s by %.3f s against %d "
				 "server%s", t.server_offset >= 0 ? "behind" : "ahead", out->value,
				 t.nservers, t.nservers == 1 ? "" : "s");
			if (t.detail[0])
				mon_append(out, " (%s)", t.detail);
		}
		mon_append(out, "; kernel %s", t.synchronised ? "synchronised" : "not synchronised");
	} else {
		out->judged = 1;
		out->value = fabs(t.offset);
		if (t.synchronised) {
			snprintf(out->message, sizeof(out->message), "clock synchronised by %s, offset "
				 "%.3f s (estimated error %.3f s)", t.daemons[0] ? t.daemons : "a daemon",
				 t.offset, t.est_error);
		} else if (t.daemons[0]) {
			out->state = MON_WARNING;
			snprintf(out->message, sizeof(out->message), "clock not synchronised although %s "
				 "runs (it cannot reach its servers, or has just started: see `mamori time "
				 "check`)", t.daemons);
		} else {
			out->state = MON_CRITICAL;
			snprintf(out->message, sizeof(out->message), "clock not synchronised and no time "
				 "daemon runs (start chronyd or systemd-timesyncd)");
		}
	}
	mon_label(lab, sizeof(lab), k->name, NULL, NULL);
	e = mon_metric_add(out, "mamori_time_synchronised", lab, t.synchronised);
	if (!e)
		e = mon_metric_add(out, "mamori_time_offset_seconds", lab, t.offset);
	if (!e)
		e = mon_metric_add(out, "mamori_time_max_error_seconds", lab, t.max_error);
	if (!e && t.have_server_offset)
		e = mon_metric_add(out, "mamori_time_server_offset_seconds", lab, t.server_offset);
	if (e != 0)
		return mm_fail(c, e, "out of memory");
	return 0;
}

const struct mon_probe mon_probe_backups = { "backups", "dataset", 1, probe_backups, 1,
	300 /* each look opens the repositories: their keys cost Argon2id */ };
const struct mon_probe mon_probe_time = { "time", "server", 1, probe_time, 0, 0 };
