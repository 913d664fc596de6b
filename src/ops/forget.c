/*
 * forget: the operation that applies the retention policy
 * (forget_policy.c) to a repository's snapshots.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/ops.h"

/* ---- the operation ------------------------------------------------------ */

void
forget_result_release(struct forget_result *res)
{
	for (size_t g = 0; g < res->ngroups; g++) {
		free((void *)res->groups[g].paths);
		free(res->groups[g].members);
	}
	free(res->groups);
	free(res->reasons);
	snapshot_list_free(res->snaps, res->nsnaps);
	memset(res, 0, sizeof(*res));
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
selected(const struct forget_opts *o, const struct snapshot *s)
{
	int ok = o->nhosts == 0;

	for (size_t i = 0; i < o->nhosts && !ok; i++)
		ok = strcmp(o->hosts[i], s->host) == 0;
	for (size_t i = 0; i < o->npaths && ok; i++) {
		int found = 0;
		for (size_t k = 0; k < s->npaths && !found; k++)
			found = strcmp(o->paths[i], s->paths[k]) == 0;
		ok = found;
	}
	return ok;
}

static int
same_group(const struct forget_opts *o, const struct forget_group *g, const struct snapshot *s,
	   const char *const *sorted)
{
	if ((o->group_by & FORGET_GROUP_HOST) && strcmp(g->host, s->host) != 0)
		return 0;
	if (o->group_by & FORGET_GROUP_PATHS) {
		if (g->npaths != s->npaths)
			return 0;
		for (size_t i = 0; i < s->npaths; i++)
			if (strcmp(g->paths[i], sorted[i]) != 0)
				return 0;
	}
	return 1;
}

/* Put snapshot i (newest first order) into its group, making one if new. */
static int
group_add(struct forget_result *res, const struct forget_opts *o, size_t i)
{
	const struct snapshot *s = &res->snaps[i];
	const char **sorted;
	struct forget_group *g = NULL;
	size_t *nm;

	if ((sorted = malloc((s->npaths + 1) * sizeof(*sorted))) == NULL)
		return MM_ENOMEM;
	for (size_t k = 0; k < s->npaths; k++)
		sorted[k] = s->paths[k];
	qsort(sorted, s->npaths, sizeof(*sorted), str_cmp);
	for (size_t k = 0; k < res->ngroups && g == NULL; k++)
		if (same_group(o, &res->groups[k], s, sorted))
			g = &res->groups[k];
	if (g == NULL) {
		struct forget_group *ng = realloc(res->groups, (res->ngroups + 1) * sizeof(*ng));
		if (ng == NULL) {
			free(sorted);
			return MM_ENOMEM;
		}
		res->groups = ng;
		g = &res->groups[res->ngroups++];
		memset(g, 0, sizeof(*g));
		g->host = (o->group_by & FORGET_GROUP_HOST) ? s->host : NULL;
		if (o->group_by & FORGET_GROUP_PATHS) {
			g->paths = sorted;
			g->npaths = s->npaths;
			sorted = NULL;
		}
	}
	free(sorted);
	if ((nm = realloc(g->members, (g->n + 1) * sizeof(*nm))) == NULL)
		return MM_ENOMEM;
	g->members = nm;
	g->members[g->n++] = i;
	return 0;
}

static int
decide_group(const struct forget_opts *o, struct forget_result *res, struct forget_group *g,
	     struct mm_ctx *c)
{
	struct forget_item *items;
	int e = 0;

	if (forget_policy_empty(&o->policy)) {
		for (size_t k = 0; k < g->n; k++)
			res->reasons[g->members[k]] = 0; /* --keep-none */
		return 0;
	}
	if ((items = calloc(g->n ? g->n : 1, sizeof(*items))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	/* Members are newest first; the engine wants positions where a later
	 * one is newer for equal times, so they go in reversed. */
	for (size_t k = 0; k < g->n; k++) {
		const struct snapshot *s = &res->snaps[g->members[g->n - 1 - k]];
		items[k].time_ns = s->time_ns;
		items[k].tags = (const char *const *)s->tags;
		items[k].ntags = s->ntags;
	}
	if ((e = forget_apply(&o->policy, o->tz, items, g->n, c)) == 0)
		for (size_t k = 0; k < g->n; k++)
			res->reasons[g->members[g->n - 1 - k]] = items[k].reasons;
	free(items);
	return e;
}

int
ops_forget(struct repo *r, const struct forget_opts *o, struct forget_result *res,
	   struct mm_ctx *c)
{
	int e;

	memset(res, 0, sizeof(*res));
	if (forget_policy_empty(&o->policy) && !o->keep_none)
		return mm_fail(c, MM_EINVAL, "the policy keeps nothing: give a --keep-* rule "
			       "(or --keep-none to forget every selected snapshot)");
	if ((e = repo_snapshot_list(r, &res->snaps, &res->nsnaps, c)) != 0)
		return e;
	if ((res->reasons = calloc(res->nsnaps + 1, sizeof(*res->reasons))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (size_t i = res->nsnaps; i-- > 0;) {
		res->reasons[i] = FORGET_KEEP_ALL; /* not selected: untouched */
		if (selected(o, &res->snaps[i]) && (e = group_add(res, o, i)) != 0)
			return mm_fail(c, e, "out of memory");
	}
	for (size_t g = 0; g < res->ngroups; g++)
		if ((e = decide_group(o, res, &res->groups[g], c)) != 0)
			return e;
	for (size_t g = 0; g < res->ngroups; g++) {
		for (size_t k = 0; k < res->groups[g].n; k++) {
			if (res->reasons[res->groups[g].members[k]] != 0)
				res->kept++;
		}
	}
	for (size_t g = 0; g < res->ngroups && e == 0; g++) {
		const struct forget_group *gr = &res->groups[g];
		for (size_t k = 0; k < gr->n && e == 0; k++) {
			const struct snapshot *s = &res->snaps[gr->members[k]];
			char name[65];

			if (res->reasons[gr->members[k]] != 0)
				continue;
			if (!o->dry_run) {
				if ((e = repo_lock_refresh(r, c)) != 0)
					break;
				hex_encode(s->id.b, MM_ID_LEN, name);
				if ((e = backend_remove(r->be, OBJ_SNAPSHOT, name, c)) != 0) {
					mm_prefix(c, e, "cannot remove snapshot %.8s", name);
					break;
				}
			}
			res->removed++;
		}
	}
	return e;
}
