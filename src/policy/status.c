/* Status of each dataset against its objectives (RPO, checks, RTO). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

/* Messages are cut at the end of their buffers on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

const char *
policy_verdict_name(enum policy_verdict v)
{
	switch (v) {
	case VERDICT_OK: return "OK";
	case VERDICT_WARNING: return "WARNING";
	case VERDICT_CRITICAL: return "CRITICAL";
	default: return "UNKNOWN";
	}
}

void
dataset_status_release(struct dataset_status *s)
{
	drill_record_release(&s->drill);
}

/* Against an objective: over it CRITICAL, over 80 % WARNING. */
static enum policy_verdict
against(double value, double objective)
{
	if (value > objective)
		return VERDICT_CRITICAL;
	if (value > POLICY_WARN_SHARE * objective)
		return VERDICT_WARNING;
	return VERDICT_OK;
}

static void
note(struct dataset_status *s, enum policy_verdict v, const char *msg)
{
	if (v > s->verdict || s->reason[0] == '\0') {
		if (v > s->verdict)
			s->verdict = v;
		snprintf(s->reason, sizeof(s->reason), "%s", msg);
	}
}

static void
one(const struct policy *p, const struct policy_dataset *d, const char *password, int64_t now,
    struct dataset_status *s)
{
	struct repo *r = NULL;
	struct snapshot snap;
	struct mm_ctx c = MM_CTX_INIT;
	char msg[700], age[32], obj[32];
	int found;

	memset(&snap, 0, sizeof(snap));
	s->d = d;
	s->copy_available = 1;
	if (policy_state_read(p, d->name, &s->st, &c) != 0) {
		snprintf(s->error, sizeof(s->error), "%s", c.msg);
		note(s, VERDICT_UNKNOWN, s->error);
		return;
	}
	if (policy_open_repo(d->repo, password, 0, "status", &r, &c) != 0) {
		snprintf(s->error, sizeof(s->error), "%s", c.msg);
		note(s, VERDICT_UNKNOWN, s->error);
		return;
	}
	/* backup freshness against the RPO */
	if ((found = policy_last_snapshot(r, d, &snap, &c)) < 0) {
		snprintf(s->error, sizeof(s->error), "%s", c.msg);
		note(s, VERDICT_UNKNOWN, s->error);
		goto out;
	}
	conf_format_duration(d->rpo, obj, sizeof(obj));
	if (!found) {
		s->backup_verdict = VERDICT_CRITICAL;
		note(s, VERDICT_CRITICAL, "never backed up");
	} else {
		s->have_snapshot = 1;
		hex_encode(snap.id.b, MM_ID_LEN, s->snapshot);
		s->snapshot_ns = snap.time_ns;
		s->age = (now - snap.time_ns) / 1000000000;
		if (s->age < 0)
			s->age = 0;
		conf_format_duration(s->age, age, sizeof(age));
		s->backup_verdict = against((double)s->age, (double)d->rpo);
		if (s->backup_verdict == VERDICT_CRITICAL)
			snprintf(msg, sizeof(msg), "last backup %s ago, over its RPO of %s", age, obj);
		else
			snprintf(msg, sizeof(msg), "last backup %s ago, %d%% of its RPO of %s", age,
				 (int)((double)s->age * 100 / (double)d->rpo), obj);
		note(s, s->backup_verdict, msg);
	}
	/* the offsite copy: its newest snapshot of the dataset against the RPO */
	if (d->copy_to != NULL) {
		struct repo *dst = NULL;
		struct snapshot os;
		struct mm_ctx oc = MM_CTX_INIT;
		int of = -1;

		memset(&os, 0, sizeof(os));
		if (policy_open_repo(d->copy_to, password, 0, "status", &dst, &oc) == 0)
			of = policy_last_snapshot(dst, d, &os, &oc);
		if (of < 0) {
			snprintf(s->offsite_error, sizeof(s->offsite_error), "%s", oc.msg);
			s->offsite_verdict = VERDICT_WARNING;
			snprintf(msg, sizeof(msg), "offsite repository %s cannot be read: %s",
				 d->copy_to->name, oc.msg);
			note(s, VERDICT_WARNING, msg);
		} else if (of == 0) {
			s->offsite_verdict = VERDICT_CRITICAL;
			snprintf(msg, sizeof(msg), "never copied to %s", d->copy_to->name);
			note(s, VERDICT_CRITICAL, msg);
		} else {
			s->have_offsite = 1;
			s->offsite_ns = os.time_ns;
			s->offsite_age = (now - os.time_ns) / 1000000000;
			if (s->offsite_age < 0)
				s->offsite_age = 0;
			conf_format_duration(s->offsite_age, age, sizeof(age));
			s->offsite_verdict = against((double)s->offsite_age, (double)d->rpo);
			snprintf(msg, sizeof(msg), "offsite copy in %s %s old, %s its RPO of %s",
				 d->copy_to->name, age, s->offsite_verdict == VERDICT_CRITICAL ?
				 "over" : "near", obj);
			if (s->offsite_verdict != VERDICT_OK)
				note(s, s->offsite_verdict, msg);
		}
		if (s->st.copy_ns > 0 && !s->st.copy_ok) {
			s->offsite_verdict = VERDICT_CRITICAL;
			snprintf(msg, sizeof(msg), "the last offsite copy failed: %s", s->st.error);
			note(s, VERDICT_CRITICAL, msg);
		}
		snapshot_release(&os);
		repo_free(dst);
	}
	/* the periodic check */
	if (d->has_check) {
		int64_t last = s->st.check_ns / 1000000000, next;

		if (s->st.check_ns == 0) {
			s->check_verdict = VERDICT_WARNING;
			note(s, VERDICT_WARNING, "never checked");
		} else if (!s->st.check_ok) {
			s->check_verdict = VERDICT_CRITICAL;
			note(s, VERDICT_CRITICAL, "the last check found problems");
		} else if ((next = conf_calendar_next(&d->check_when, last)) != 0 &&
			   (next = conf_calendar_next(&d->check_when, next)) != 0 &&
			   next <= now / 1000000000) {
			conf_format_duration(now / 1000000000 - last, age, sizeof(age));
			snprintf(msg, sizeof(msg), "check overdue (last %s ago, due %s)", age,
				 d->check_when.text);
			s->check_verdict = VERDICT_WARNING;
			note(s, VERDICT_WARNING, msg);
		}
	}
	/* the last drill against the RTO */
	if ((found = policy_last_drill(r, d->name, &s->drill, &c)) < 0) {
		snprintf(s->error, sizeof(s->error), "%s", c.msg);
		note(s, VERDICT_UNKNOWN, s->error);
		goto out;
	}
	s->have_drill = found;
	if (found && !s->drill.ok) {
		s->drill_verdict = VERDICT_CRITICAL;
		snprintf(msg, sizeof(msg), "the last drill failed: %s", s->drill.error);
		note(s, VERDICT_CRITICAL, msg);
	} else if (found && d->rto > 0) {
		conf_format_duration((int64_t)(s->drill.cumulative + 0.5), age, sizeof(age));
		conf_format_duration(d->rto, obj, sizeof(obj));
		s->drill_verdict = against(s->drill.cumulative, (double)d->rto);
		if (s->drill_verdict == VERDICT_CRITICAL)
			snprintf(msg, sizeof(msg), "projected restore %s, over its RTO of %s", age, obj);
		else
			snprintf(msg, sizeof(msg), "projected restore %s, %d%% of its RTO of %s", age,
				 (int)(s->drill.cumulative * 100 / (double)d->rto), obj);
		if (s->drill_verdict != VERDICT_OK)
			note(s, s->drill_verdict, msg);
	}
out:
	snapshot_release(&snap);
	repo_free(r);
}

int
policy_status(const struct policy *p, const struct policy_dataset *const *ds, size_t n,
	      const char *password, struct dataset_status *out, struct mm_ctx *c)
{
	int64_t now = mm_clock_now(&p->clock);

	(void)c;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		one(p, ds[i], password, now, &out[i]);
	}
	return 0;
}
