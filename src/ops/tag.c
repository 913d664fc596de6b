/*
 * tag: a snapshot's tags changed by rewriting it. Snapshots are named by
 * the hash of their bytes, so new tags mean a new object: it is written
 * durably first and records the first ID of its history (`original`),
 * then the old object is removed. A crash in between leaves both, equal
 * but for their tags.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

static int
has(char *const *v, size_t n, const char *x)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], x) == 0)
			return 1;
	return 0;
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Append a copy of x unless present. */
static int
push(char ***v, size_t *n, const char *x)
{
	char **nv;

	if (has(*v, *n, x))
		return 0;
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
		return MM_ENOMEM;
	*v = nv;
	if ((nv[*n] = strdup(x)) == NULL)
		return MM_ENOMEM;
	(*n)++;
	return 0;
}

static int
dup_strv(char *const *src, size_t n, char ***out)
{
	char **v = NULL;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (push(&v, &k, src[i]) != 0) {
			free_strv(v, k);
			return MM_ENOMEM;
		}
	}
	*out = v;
	return 0;
}

static int
check_tag(const char *t, struct mm_ctx *c)
{
	if (t[0] == '\0')
		return mm_fail(c, MM_EINVAL, "a tag cannot be empty");
	if (strlen(t) > REPO_NAME_MAX)
		return mm_fail(c, MM_EINVAL, "a tag holds at most %d bytes", REPO_NAME_MAX);
	return 0;
}

int
ops_tag(struct repo *r, const struct snapshot *s, const struct tag_opts *o, struct snapshot *out,
	struct mm_ctx *c)
{
	struct snapshot n;
	char **tags = NULL;
	size_t ntags = 0;
	char old[65];
	int e = 0, same;

	memset(&n, 0, sizeof(n));
	for (size_t i = 0; i < o->nset && e == 0; i++)
		e = check_tag(o->set[i], c);
	for (size_t i = 0; i < o->nadd && e == 0; i++)
		e = check_tag(o->add[i], c);
	if (e != 0)
		return e;
	if (o->set_given) {
		for (size_t i = 0; i < o->nset && e == 0; i++)
			e = push(&tags, &ntags, o->set[i]);
	} else {
		for (size_t i = 0; i < s->ntags && e == 0; i++)
			e = push(&tags, &ntags, s->tags[i]);
	}
	for (size_t i = 0; i < o->nadd && e == 0; i++)
		e = push(&tags, &ntags, o->add[i]);
	if (e != 0) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < o->nremove; i++) {
		for (size_t k = 0; k < ntags; k++) {
			if (strcmp(tags[k], o->remove[i]) == 0) {
				free(tags[k]);
				memmove(&tags[k], &tags[k + 1], (ntags - k - 1) * sizeof(*tags));
				ntags--;
				break;
			}
		}
	}
	same = ntags == s->ntags;
	for (size_t i = 0; same && i < ntags; i++)
		same = has(s->tags, s->ntags, tags[i]);
	/* The new snapshot: the old one's fields, the new tags. */
	n = *s;
	n.tags = tags;
	n.ntags = ntags;
	n.host = strdup(s->host);
	n.user = strdup(s->user);
	n.program = strdup(s->program);
	n.paths = n.excludes = NULL;
	n.npaths = n.nexcludes = 0;
	if (!n.host || !n.user || !n.program || dup_strv(s->paths, s->npaths, &n.paths) != 0) {
		tags = NULL;
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto fail;
	}
	n.npaths = s->npaths;
	if (dup_strv(s->excludes, s->nexcludes, &n.excludes) != 0) {
		tags = NULL;
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto fail;
	}
	n.nexcludes = s->nexcludes;
	tags = NULL; /* n's now */
	if (same) {
		*out = n;
		return 0;
	}
	n.has_original = 1;
	n.original = s->has_original ? s->original : s->id;
	/* Durable (synced, renamed, folder synced) before the old one goes. */
	if ((e = repo_snapshot_save(r, &n, c)) != 0)
		goto fail;
	hex_encode(s->id.b, MM_ID_LEN, old);
	if (memcmp(n.id.b, s->id.b, MM_ID_LEN) != 0 &&
	    (e = backend_remove(r->be, OBJ_SNAPSHOT, old, c)) != 0) {
		mm_prefix(c, e, "the retagged snapshot is saved, but the old snapshot %.8s could "
			  "not be removed (it is still listed)", old);
		goto fail;
	}
	*out = n;
	return 0;
fail:
	snapshot_release(&n);
out:
	free_strv(tags, ntags);
	return e;
}
