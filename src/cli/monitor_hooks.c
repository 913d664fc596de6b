/*
 * The monitor's backups and time probes read what the policy and time-sync
 * modules already judge: this file hands their results over (struct
 * mon_hooks), so neither rule is written twice and the monitor module does
 * not depend on its siblings.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "cli/cli.h"
#include "monitor/monitor.h"
#include "policy/policy.h"

/* Messages are cut at the end of their buffers on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static enum mon_state
from_verdict(enum policy_verdict v)
{
	return (enum mon_state)v; /* the same numbers: Nagios' */
}

static int
policy_ready(struct mon_policy_hooks *h, struct mm_ctx *c)
{
	struct conf_schema s = CONF_SCHEMA_INIT;
	int e;

	if (h->p != NULL)
		return 0;
	if ((h->p = calloc(1, sizeof(*h->p))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	h->p->state_dir = h->state_dir && h->state_dir[0] ? h->state_dir : POLICY_STATE_DEFAULT;
	h->p->clock = h->clock;
	if ((e = cli_conf_schema(&s)) == 0 && (e = policy_load(&s, h->config, h->p, c)) == 0)
		return 0;
	free(h->p);
	h->p = NULL;
	return e == MM_ENOMEM ? mm_fail(c, e, "out of memory") : e;
}

static int
hook_backups(void *arg, const char *dataset, struct mon_backup_reading **out, size_t *n,
	     struct mm_ctx *c)
{
	struct mon_policy_hooks *h = arg;
	const struct policy_dataset **ds = NULL;
	struct dataset_status *st = NULL;
	struct mon_backup_reading *b = NULL;
	char *name = (char *)dataset;
	int64_t now;
	size_t k = 0;
	int e;

	if ((e = policy_ready(h, c)) != 0)
		return e;
	now = mm_clock_now(&h->p->clock);
	if ((ds = calloc(h->p->nds ? h->p->nds : 1, sizeof(*ds))) == NULL ||
	    (st = calloc(h->p->nds ? h->p->nds : 1, sizeof(*st))) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = policy_select(h->p, dataset ? &name : NULL, dataset ? 1 : 0, ds, &k, c)) != 0)
		goto out;
	if ((e = policy_status(h->p, ds, k, h->password, st, c)) != 0)
		goto out;
	if ((b = calloc(k ? k : 1, sizeof(*b))) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < k; i++) {
		const struct dataset_status *s = &st[i];
		snprintf(b[i].dataset, sizeof(b[i].dataset), "%s", s->d->name);
		b[i].state = from_verdict(s->verdict);
		snprintf(b[i].reason, sizeof(b[i].reason), "%s", s->reason);
		b[i].have_snapshot = s->have_snapshot;
		b[i].age_s = s->age;
		b[i].rpo_s = s->d->rpo;
		b[i].rto_s = s->d->rto;
		b[i].have_check = s->st.check_ns != 0;
		b[i].check_ok = s->st.check_ok;
		b[i].check_age_s = s->st.check_ns ? (now - s->st.check_ns) / 1000000000 : 0;
		b[i].have_drill = s->have_drill;
		b[i].drill_ok = s->have_drill && s->drill.ok;
		b[i].drill_age_s = s->have_drill ? (now - s->drill.time_ns) / 1000000000 : 0;
		b[i].drill_seconds = s->have_drill ? s->drill.projected : 0;
	}
	*out = b;
	*n = k;
	b = NULL;
	e = 0;
out:
	for (size_t i = 0; st && i < k; i++)
		dataset_status_release(&st[i]);
	free(st);
	free(ds);
	free(b);
	return e;
}

static int
hook_clock(void *arg, const char *servers, double timeout_s, struct mon_time_reading *out,
	   struct mm_ctx *c)
{
	const struct mon_policy_hooks *h = arg;

	return agent_clock_read(h->root ? h->root : "", servers, timeout_s, out, c);
}

void
mon_policy_hooks_init(struct mon_policy_hooks *h, const char *config, const char *root,
		      const char *state_dir, const struct mm_clock *clock, const char *password)
{
	memset(h, 0, sizeof(*h));
	h->config = config;
	h->state_dir = state_dir;
	h->root = root;
	h->clock = *clock;
	h->password = password;
}

void
mon_policy_hooks_set(struct mon_policy_hooks *h, struct mon_env *env)
{
	env->hooks.backups = hook_backups;
	env->hooks.clock = hook_clock;
	env->hooks.arg = h;
}

void
mon_policy_hooks_release(struct mon_policy_hooks *h)
{
	if (h->p != NULL) {
		policy_release(h->p);
		free(h->p);
		h->p = NULL;
	}
}
