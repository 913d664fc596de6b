/*
 * mamori run: for each dataset, in priority order, what is due: backup,
 * forget by its retention, copy offsite, its periodic check. One run per
 * dataset at a time (a lock file in the state folder).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "policy/policy.h"

/* Messages are cut at the end of their buffers on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

const char *
policy_step_result_name(enum step_result r)
{
	switch (r) {
	case STEP_NOT_DUE: return "not due";
	case STEP_DONE: return "done";
	case STEP_FAILED: return "FAILED";
	case STEP_UNAVAILABLE: return "not available in this build";
	default: return "skipped";
	}
}

const char *
policy_step_name(unsigned step)
{
	static const char *const names[STEP_COUNT] = { "backup", "forget", "copy", "check" };
	return step < STEP_COUNT ? names[step] : "?";
}

int
policy_backup_due(const struct policy_dataset *d, int64_t last_ns, int64_t now_ns)
{
	int64_t last = last_ns / 1000000000, now = now_ns / 1000000000, next;

	if (last_ns == 0)
		return 1;
	if (d->has_schedule) {
		if ((next = conf_calendar_next(&d->schedule, last)) != 0 && next <= now)
			return 1;
		/* a missed timer must not miss the RPO */
		return (double)(now - last) >= POLICY_WARN_SHARE * (double)d->rpo;
	}
	return (double)(now - last) >= 0.5 * (double)d->rpo;
}

static void
step_set(struct run_result *res, unsigned step, enum step_result r, const char *msg)
{
	res->step[step] = r;
	snprintf(res->detail[step], sizeof(res->detail[step]), "%s", msg);
}

static int
run_hook(char *const *argv, const char *what, char *msg, size_t n)
{
	struct mm_ctx c = MM_CTX_INIT;

	if (argv == NULL)
		return 0;
	if (proc_run(argv, &c) != 0) {
		snprintf(msg, n, "%s command: %s", what, c.msg);
		return -1;
	}
	return 0;
}

static void
do_backup(const struct policy *p, const struct policy_dataset *d, struct repo *r,
	  const struct run_opts *o, struct policy_state *st, struct run_result *res)
{
	struct backup_opts bo;
	struct snapshot s;
	struct mm_ctx c = MM_CTX_INIT;
	char tag[128], msg[1200], sid[9];
	const char *tags[1] = { tag };
	int e;

	memset(&bo, 0, sizeof(bo));
	memset(&s, 0, sizeof(s));
	snprintf(tag, sizeof(tag), POLICY_TAG_PREFIX "%s", d->name);
	bo.paths = d->paths;
	bo.npaths = d->npaths;
	bo.excludes = d->excludes;
	bo.nexcludes = d->nexcludes;
	bo.tags = tags;
	bo.ntags = 1;
	bo.threads = d->repo->threads;
	bo.time_ns = mm_clock_now(&p->clock);
	bo.rep = o->rep;
	st->backup_ns = bo.time_ns;
	st->backup_ok = 0;
	if (run_hook(d->pre, "pre", msg, sizeof(msg)) != 0) {
		snprintf(st->error, sizeof(st->error), "backup: %s; no backup made", msg);
		step_set(res, STEP_BACKUP, STEP_FAILED, st->error + 8);
		return;
	}
	if (d->command != NULL)
		e = ops_backup_command(r, &bo, d->command, d->filename ? d->filename : d->name, &s, &c);
	else
		e = ops_backup(r, &bo, &s, &c);
	if (e != 0) {
		snprintf(msg, sizeof(msg), "%s", c.msg[0] ? c.msg : mm_strerror(e));
		step_set(res, STEP_BACKUP, STEP_FAILED, msg);
	} else {
		hex_encode(s.id.b, MM_ID_LEN, res->snapshot);
		snprintf(st->backup_snapshot, sizeof(st->backup_snapshot), "%s", res->snapshot);
		memcpy(sid, res->snapshot, 8);
		sid[8] = '\0';
		if (s.sum.errors)
			snprintf(msg, sizeof(msg), "snapshot %s saved; %llu entries could not be read",
				 sid, (unsigned long long)s.sum.errors);
		else
			snprintf(msg, sizeof(msg), "snapshot %s saved", sid);
		step_set(res, STEP_BACKUP, STEP_DONE, msg);
		st->backup_ok = 1;
	}
	if (run_hook(d->post, "post", msg, sizeof(msg)) != 0) {
		char both[1100];
		snprintf(both, sizeof(both), "%s%s%s", res->step[STEP_BACKUP] == STEP_DONE ?
			 res->detail[STEP_BACKUP] : "", res->step[STEP_BACKUP] == STEP_DONE ? "; " : "",
			 msg);
		step_set(res, STEP_BACKUP, STEP_FAILED, both);
		st->backup_ok = 0;
	}
	if (res->step[STEP_BACKUP] == STEP_FAILED)
		snprintf(st->error, sizeof(st->error), "backup: %s", res->detail[STEP_BACKUP]);
	snapshot_release(&s);
}

struct first_problem {
	char msg[400];
};

static void
keep_problem(void *arg, const char *msg)
{
	struct first_problem *fp = arg;

	if (fp->msg[0] == '\0')
		snprintf(fp->msg, sizeof(fp->msg), "%s", msg);
}

static void
do_check(const struct policy *p, const struct policy_dataset *d, struct repo *r,
	 struct policy_state *st, struct run_result *res)
{
	struct check_opts co;
	struct check_result cr;
	struct first_problem fp;
	struct mm_ctx c = MM_CTX_INIT;
	char msg[900];
	int64_t now = mm_clock_now(&p->clock);

	memset(&co, 0, sizeof(co));
	memset(&fp, 0, sizeof(fp));
	co.read_data = d->check_percent > 0;
	co.read_percent = d->check_percent;
	co.read_salt = (uint64_t)now ^ (uint64_t)getpid();
	co.rep.warn = keep_problem;
	co.rep.arg = &fp;
	st->check_ns = now;
	if (ops_check(r, &co, &cr, &c) != 0) {
		st->check_ok = 0;
		snprintf(msg, sizeof(msg), "%s", c.msg);
		step_set(res, STEP_CHECK, STEP_FAILED, msg);
	} else if (cr.errors) {
		st->check_ok = 0;
		snprintf(msg, sizeof(msg), "%llu problems found, first: %s",
			 (unsigned long long)cr.errors, fp.msg);
		step_set(res, STEP_CHECK, STEP_FAILED, msg);
	} else {
		st->check_ok = 1;
		snprintf(msg, sizeof(msg), "no problems (%llu snapshots, %llu of %llu packs read)",
			 (unsigned long long)cr.snapshots, (unsigned long long)cr.packs_read,
			 (unsigned long long)cr.packs);
		step_set(res, STEP_CHECK, STEP_DONE, msg);
	}
	if (!st->check_ok)
		snprintf(st->error, sizeof(st->error), "check: %s", res->detail[STEP_CHECK]);
}

/* Free the data of removed snapshots; appends what happened to msg. A
 * repository busy with backups postpones it to the next run. */
static int
do_prune(struct repo *r, struct policy_state *st, char *msg, size_t n)
{
	struct prune_opts po;
	struct prune_result pr;
	struct mm_ctx c = MM_CTX_INIT;
	char freed[32];
	size_t len = strlen(msg);
	int e;

	memset(&po, 0, sizeof(po));
	po.max_unused_pct = 5;
	po.lock_wait_ns = 60LL * 1000000000;
	if ((e = repo_lock(r, 0, "prune", &c)) == 0)
		e = ops_prune(r, &po, &pr, &c);
	if (e == 0) {
		st->prune_pending = 0;
		fmt_bytes(pr.bytes_freed, freed, sizeof(freed));
		snprintf(msg + len, n - len, "; pruned: %s freed (%llu packs deleted, %llu repacked)",
			 freed, (unsigned long long)pr.packs_delete, (unsigned long long)pr.packs_repack);
		return 1;
	} else if (e == MM_ELOCKED || e == MM_ESTALELOCK) {
		snprintf(msg + len, n - len, "; prune postponed to the next run, the repository is "
			 "busy: %s", c.msg);
	} else {
		snprintf(msg + len, n - len, "; prune failed: %s", c.msg[0] ? c.msg : mm_strerror(e));
	}
	return 0;
}

/* Copy the dataset's snapshots not yet there to its copy-to repository. */
static void
do_copy(const struct policy *p, const struct policy_dataset *d, struct repo *r,
	const struct run_opts *o, struct policy_state *st, struct run_result *res)
{
	struct repo *dst = NULL;
	struct snapshot *v = NULL;
	struct copy_opts co;
	struct copy_result cr;
	struct mm_ctx c = MM_CTX_INIT;
	char **ids = NULL, tag[128], msg[1200], sent[32];
	size_t n = 0, m = 0;
	int e;

	memset(&co, 0, sizeof(co));
	memset(&cr, 0, sizeof(cr));
	snprintf(tag, sizeof(tag), POLICY_TAG_PREFIX "%s", d->name);
	if ((e = repo_snapshot_list(r, &v, &n, &c)) != 0)
		goto out;
	if ((ids = calloc(n ? n : 1, sizeof(*ids))) == NULL) {
		e = mm_fail(&c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < v[i].ntags; j++)
			if (strcmp(v[i].tags[j], tag) == 0) {
				if ((ids[m] = malloc(65)) == NULL) {
					e = mm_fail(&c, MM_ENOMEM, "out of memory");
					goto out;
				}
				hex_encode(v[i].id.b, MM_ID_LEN, ids[m++]);
				break;
			}
	if (m == 0) {
		step_set(res, STEP_COPY, STEP_NOT_DUE, "no snapshot to copy yet");
		goto out;
	}
	if ((e = policy_open_repo(d->copy_to, o->password, 1, "copy", &dst, &c)) != 0)
		goto out;
	co.snapshots = (const char *const *)ids;
	co.nsnapshots = m;
	co.rep.warn = o->rep.warn;
	co.rep.arg = o->rep.arg;
	st->copy_ns = mm_clock_now(&p->clock);
	if ((e = ops_copy(r, dst, &co, &cr, &c)) != 0)
		goto out;
	st->copy_ok = 1;
	fmt_bytes(cr.bytes_stored, sent, sizeof(sent));
	snprintf(msg, sizeof(msg), "%llu snapshots copied to %s (%llu there already), %s stored",
		 (unsigned long long)cr.snapshots_copied, d->copy_to->name,
		 (unsigned long long)cr.snapshots_skipped, sent);
	step_set(res, STEP_COPY, STEP_DONE, msg);
out:
	if (e != 0) {
		st->copy_ns = mm_clock_now(&p->clock);
		st->copy_ok = 0;
		snprintf(msg, sizeof(msg), "to %s: %s", d->copy_to->name, c.msg[0] ? c.msg : mm_strerror(e));
		step_set(res, STEP_COPY, STEP_FAILED, msg);
		snprintf(st->error, sizeof(st->error), "copy: %s", msg);
	}
	copy_result_release(&cr);
	repo_free(dst);
	for (size_t i = 0; i < m; i++)
		free(ids[i]);
	free(ids);
	snapshot_list_free(v, n);
}

/* Apply the dataset's keep to its snapshots of this host (tag dataset=NAME). */
/* Returns 1 when a prune ran: the caller reopens the repository (its
 * index and packs in memory are those from before). */
static int
do_forget(const struct policy_dataset *d, struct repo *r, struct policy_state *st,
	  const struct policy *p, struct run_result *res)
{
	int pruned = 0;
	struct forget_policy fp = FORGET_POLICY_INIT;
	struct snapshot *v = NULL;
	struct forget_item *items = NULL;
	size_t *idx = NULL, n = 0, m = 0, removed = 0;
	struct mm_ctx c = MM_CTX_INIT;
	char tag[128], host[256], msg[1200];
	int e;

	snprintf(tag, sizeof(tag), POLICY_TAG_PREFIX "%s", d->name);
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	st->forget_ns = mm_clock_now(&p->clock);
	st->forget_ok = 0;
	/* a maintenance lock: no prune or other forget at the same time */
	if ((e = forget_policy_parse(d->keep, &fp, &c)) != 0 ||
	    (e = repo_lock(r, 0, "forget", &c)) != 0 ||
	    (e = repo_snapshot_list(r, &v, &n, &c)) != 0)
		goto out;
	if ((items = calloc(n ? n : 1, sizeof(*items))) == NULL ||
	    (idx = calloc(n ? n : 1, sizeof(*idx))) == NULL) {
		e = mm_fail(&c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int mine = strcmp(v[i].host, host) == 0;
		for (size_t j = 0; mine && j < v[i].ntags; j++)
			if (strcmp(v[i].tags[j], tag) == 0) {
				items[m].time_ns = v[i].time_ns;
				items[m].tags = (const char *const *)v[i].tags;
				items[m].ntags = v[i].ntags;
				idx[m++] = i;
				break;
			}
	}
	if (m > 0 && (e = forget_apply(&fp, NULL, items, m, &c)) != 0)
		goto out;
	for (size_t k = 0; k < m; k++) {
		char name[65];

		if (items[k].reasons != 0)
			continue;
		hex_encode(v[idx[k]].id.b, MM_ID_LEN, name);
		if ((e = repo_lock_refresh(r, &c)) != 0 ||
		    (e = backend_remove(r->be, OBJ_SNAPSHOT, name, &c)) != 0) {
			mm_prefix(&c, e, "cannot remove snapshot %.8s", name);
			goto out;
		}
		removed++;
	}
	st->forget_ok = 1;
	if (removed > 0)
		st->prune_pending = 1;
	snprintf(msg, sizeof(msg), "%zu snapshots removed, %zu kept by '%s'", removed, m - removed,
		 d->keep);
	if (st->prune_pending)
		pruned = do_prune(r, st, msg, sizeof(msg));
	step_set(res, STEP_FORGET, e == 0 && strstr(msg, "prune failed") == NULL ? STEP_DONE :
		 STEP_FAILED, msg);
out:
	if (e != 0) {
		step_set(res, STEP_FORGET, STEP_FAILED, c.msg[0] ? c.msg : mm_strerror(e));
		snprintf(st->error, sizeof(st->error), "forget: %s", res->detail[STEP_FORGET]);
	}
	{
		struct mm_ctx ignore = MM_CTX_INIT;
		/* back to an ordinary shared lock; if that fails the forget lock
		 * stays until the end of the run, which only keeps prunes out */
		if (repo_lock(r, 0, "run", &ignore) != 0)
			ignore.msg[0] = '\0';
	}
	free(items);
	free(idx);
	snapshot_list_free(v, n);
	forget_policy_release(&fp);
	return pruned;
}

static void
run_one(const struct policy *p, const struct policy_dataset *d, const struct run_opts *o,
	struct run_result *res)
{
	struct policy_state st;
	struct repo *r = NULL;
	struct snapshot last;
	struct mm_ctx c = MM_CTX_INIT;
	int64_t now = mm_clock_now(&p->clock);
	int lockfd = -1, found, e;

	memset(&last, 0, sizeof(last));
	res->d = d;
	if ((e = policy_lock(p, d->name, &lockfd, &c)) != 0) {
		res->busy = e == MM_EBUSY;
		for (unsigned i = 0; i < STEP_COUNT; i++)
			step_set(res, i, res->busy ? STEP_SKIPPED : STEP_FAILED, c.msg);
		return;
	}
	if (policy_state_read(p, d->name, &st, &c) != 0 ||
	    policy_open_repo(d->repo, o->password, 1, "run", &r, &c) != 0 ||
	    (found = policy_last_snapshot(r, d, &last, &c)) < 0) {
		for (unsigned i = 0; i < STEP_COUNT; i++)
			step_set(res, i, STEP_FAILED, c.msg);
		goto out;
	}
	st.error[0] = '\0';
	if (o->force || policy_backup_due(d, found ? last.time_ns : 0, now))
		do_backup(p, d, r, o, &st, res);
	else
		step_set(res, STEP_BACKUP, STEP_NOT_DUE, "last snapshot is recent enough");
	if (d->keep == NULL) {
		step_set(res, STEP_FORGET, STEP_NOT_DUE, "no keep rule");
	} else if (res->step[STEP_BACKUP] != STEP_DONE && !o->force) {
		step_set(res, STEP_FORGET, STEP_NOT_DUE, "no new snapshot");
	} else if (do_forget(d, r, &st, p, res)) {
		/* after a prune: the repository as it is now */
		repo_free(r);
		r = NULL;
		if (policy_open_repo(d->repo, o->password, 1, "run", &r, &c) != 0) {
			step_set(res, STEP_COPY, STEP_FAILED, c.msg);
			step_set(res, STEP_CHECK, STEP_FAILED, c.msg);
			goto save;
		}
	}
	if (d->copy_to == NULL)
		step_set(res, STEP_COPY, STEP_NOT_DUE, "no copy-to repository");
	else
		do_copy(p, d, r, o, &st, res);
	if (!d->has_check)
		step_set(res, STEP_CHECK, STEP_NOT_DUE, "no check rule");
	else if (o->force || st.check_ns == 0 ||
		 conf_calendar_next(&d->check_when, st.check_ns / 1000000000) <= now / 1000000000)
		do_check(p, d, r, &st, res);
	else
		step_set(res, STEP_CHECK, STEP_NOT_DUE, "checked recently enough");
save:
	if (policy_state_write(p, d->name, &st, &c) != 0 && res->step[STEP_BACKUP] != STEP_FAILED)
		step_set(res, STEP_BACKUP, STEP_FAILED, c.msg);
out:
	snapshot_release(&last);
	repo_free(r);
	if (lockfd >= 0)
		close(lockfd);
}

int
policy_run(const struct policy *p, const struct policy_dataset *const *ds, size_t n,
	   const struct run_opts *o, struct run_result *out, struct mm_ctx *c)
{
	(void)c;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		run_one(p, ds[i], o, &out[i]);
	}
	return 0;
}
