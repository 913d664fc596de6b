/*
 * find: entries of a snapshot whose name (or path) matches a pattern, the
 * same patterns as backup's --exclude: without '/' against the name, with
 * '/' against the absolute path, where '*' does not cross '/'.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

int
ops_find_match(const char *pattern, const char *path, const uint8_t *name, size_t len)
{
	char one[4096];

	if (strchr(pattern, '/') != NULL)
		return fnmatch(pattern, path, FNM_PATHNAME) == 0;
	if (len >= sizeof(one))
		return 0; /* names are at most 255 bytes on every file system we back up */
	memcpy(one, name, len);
	one[len] = '\0';
	return fnmatch(pattern, one, 0) == 0;
}

struct finder {
	const struct find_opts *o;
	ops_find_fn fn;
	void *arg;
};

static int
find_one(void *arg, const char *path, const struct node *n)
{
	struct finder *f = arg;
	const struct find_opts *o = f->o;
	int hit = o->npatterns == 0;

	for (size_t i = 0; i < o->npatterns && !hit; i++)
		hit = ops_find_match(o->patterns[i], path, n->name, n->name_len);
	if (!hit || (o->oldest_ns && n->mtime_ns < o->oldest_ns) ||
	    (o->newest_ns && n->mtime_ns > o->newest_ns))
		return 0;
	return f->fn(f->arg, path, n);
}

int
ops_find(struct repo *r, const struct snapshot *s, const struct find_opts *o, ops_find_fn fn,
	 void *arg, struct mm_ctx *c)
{
	struct finder f = { o, fn, arg };

	return ops_walk(r, s, o->path, find_one, &f, c);
}
