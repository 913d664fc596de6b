/*
 * backend: choosing an implementation from a location, and the object
 * layout every implementation shares.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/backend_internal.h"

static const char *const type_dirs[OBJ_TYPE_COUNT] = {
	[OBJ_CONFIG] = "",
	[OBJ_KEY] = "keys",
	[OBJ_PACK] = "data",
	[OBJ_INDEX] = "index",
	[OBJ_SNAPSHOT] = "snapshots",
	[OBJ_LOCK] = "locks",
	[OBJ_CHECKPOINT] = "checkpoints",
	[OBJ_DRILL] = "drills",
};

const char *
backend_type_dir(enum obj_type t)
{
	if ((unsigned)t >= OBJ_TYPE_COUNT)
		return "invalid";
	return type_dirs[t];
}

char *
backend_obj_path(enum obj_type t, const char *name)
{
	const char *dir;
	char *p;
	size_t dl, nl, len;

	if ((unsigned)t >= OBJ_TYPE_COUNT)
		return NULL;
	if (t == OBJ_CONFIG)
		return strdup("config");
	if (name == NULL)
		return NULL;
	dir = type_dirs[t];
	dl = strlen(dir);
	nl = strlen(name);
	if (t == OBJ_PACK) {
		if (nl < 2)
			return NULL;
		/* "data/XX/NAME" */
		len = dl + 1 + 2 + 1 + nl;
		if ((p = malloc(len + 1)) == NULL)
			return NULL;
		memcpy(p, dir, dl);
		p[dl] = '/';
		memcpy(p + dl + 1, name, 2);
		p[dl + 3] = '/';
		memcpy(p + dl + 4, name, nl);
	} else {
		len = dl + 1 + nl;
		if ((p = malloc(len + 1)) == NULL)
			return NULL;
		memcpy(p, dir, dl);
		p[dl] = '/';
		memcpy(p + dl + 1, name, nl);
	}
	p[len] = '\0';
	return p;
}

int
backend_check_name(enum obj_type t, const char *name, struct mm_ctx *c)
{
	if ((unsigned)t >= OBJ_TYPE_COUNT)
		return mm_fail(c, MM_EINVAL, "invalid object type %d", (int)t);
	if (t == OBJ_CONFIG)
		return 0;
	if (name == NULL || name[0] == '\0')
		return mm_fail(c, MM_EINVAL, "%s: empty object name", type_dirs[t]);
	if (name[0] == '.' || strchr(name, '/') != NULL)
		return mm_fail(c, MM_EINVAL, "%s/%s: not a valid object name", type_dirs[t], name);
	if (t == OBJ_PACK && name[1] == '\0')
		return mm_fail(c, MM_EINVAL, "%s/%s: pack name too short", type_dirs[t], name);
	return 0;
}

int
backend_name_listable(const char *name)
{
	size_t i;

	for (i = 0; i < BACKEND_NAME_LEN; i++) {
		char ch = name[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return 0; /* also stops at a short name's NUL */
	}
	return name[BACKEND_NAME_LEN] == '\0';
}

/*
 * The scheme of a location, "s3" in "s3:bucket/path": letters first, then
 * letters, digits, '+', '-' or '.', then ':'. Returns its length, or 0 when
 * the location is a plain path (so "./a:b" and "/srv/x:y" stay paths).
 * A one-letter scheme is taken as a path too.
 */
static size_t
scheme_len(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; s[i] != '\0' && s[i] != ':'; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'))
			return 0;
	}
	if (s[i] != ':' || i < 2)
		return 0;
	return i;
}

int
backend_open(const char *location, struct backend **out, struct mm_ctx *c)
{
	struct backend *be = NULL;
	char *loc = NULL;
	size_t sl;
	int r;

	if (location == NULL || location[0] == '\0')
		return mm_fail(c, MM_EINVAL, "empty repository location");
	if ((loc = strdup(location)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	sl = scheme_len(location);
	if (sl == 0) {
		r = backend_local_open(location, &be, c);
	} else if (sl == 5 && strncmp(location, "local", 5) == 0) {
		r = backend_local_open(location + 6, &be, c);
	} else if (sl == 4 && strncmp(location, "sftp", 4) == 0) {
		r = backend_sftp_open(location + 5, &be, c);
	} else if (sl == 3 && strncmp(location, "mem", 3) == 0) {
		r = backend_mem_open_named(location + 4, &be, c);
	} else if (sl == 2 && strncmp(location, "s3", 2) == 0) {
		r = backend_s3_open(location + 3, &be, c);
	} else {
		r = mm_fail(c, MM_EUNSUPPORTED, "backend '%.*s' is not available in this build",
			    (int)sl, location);
	}
	if (r != 0)
		goto out;
	/* Messages name the location as the user wrote it. */
	free(be->location);
	be->location = loc;
	loc = NULL;
	*out = be;
	be = NULL;
	r = 0;
out:
	backend_free(be);
	free(loc);
	return r;
}

void
backend_free(struct backend *be)
{
	if (be == NULL)
		return;
	be->ops->free(be);
}

/* ---- uploads ------------------------------------------------------------ */

int
backend_upload_begin(struct backend *be, enum obj_type t, struct backend_upload **out,
		     struct mm_ctx *c)
{
	struct backend_upload *u;
	int r;

	*out = NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	u->be = be;
	u->type = t;
	u->fd = -1;
	buf_init(&u->mem, MM_BUF_DEFAULT_MAX);
	if (be->ops->upload_begin != NULL && (r = be->ops->upload_begin(be, u, c)) != 0) {
		free(u);
		return r;
	}
	*out = u;
	return 0;
}

int
backend_upload_append(struct backend_upload *u, const void *p, size_t n, struct mm_ctx *c)
{
	int r;

	if (u->be->ops->upload_append != NULL)
		r = u->be->ops->upload_append(u, p, n, c);
	else if ((r = buf_append(&u->mem, p, n)) != 0)
		r = mm_fail(c, r, "object too large to hold in memory");
	if (r == 0)
		u->size += n;
	return r;
}

int
backend_upload_commit(struct backend_upload *u, const char *name, struct mm_ctx *c)
{
	int r;

	if (u->be->ops->upload_commit != NULL) {
		r = u->be->ops->upload_commit(u, name, c);
	} else {
		r = u->be->ops->write(u->be, u->type, name, u->mem.data, u->mem.len, c);
		if (r == 0)
			buf_release(&u->mem);
	}
	backend_upload_abort(u); /* frees what is left */
	return r;
}

void
backend_upload_abort(struct backend_upload *u)
{
	if (u == NULL)
		return;
	if (u->be->ops->upload_abort != NULL)
		u->be->ops->upload_abort(u);
	buf_release(&u->mem);
	free(u);
}

/* ---- options -------------------------------------------------------------- */

static struct {
	char *key, *value;
} options[BACKEND_OPTIONS_MAX];
static size_t noptions;

int
backend_option_set(const char *kv, struct mm_ctx *c)
{
	const char *eq = strchr(kv, '=');
	char *key, *value;
	size_t i;

	if (eq == NULL || eq == kv)
		return mm_fail(c, MM_EINVAL, "-o %s: write KEY=VALUE (for example "
			       "sftp.args=\"-F /etc/mamori/ssh_config\")", kv);
	if ((key = strndup(kv, (size_t)(eq - kv))) == NULL || (value = strdup(eq + 1)) == NULL) {
		free(key);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	for (i = 0; i < noptions; i++) {
		if (strcmp(options[i].key, key) == 0) {
			free(key);
			free(options[i].value);
			options[i].value = value;
			return 0;
		}
	}
	if (noptions == BACKEND_OPTIONS_MAX) {
		free(key);
		free(value);
		return mm_fail(c, MM_ELIMIT, "more than %d -o options", BACKEND_OPTIONS_MAX);
	}
	options[noptions].key = key;
	options[noptions].value = value;
	noptions++;
	return 0;
}

const char *
backend_option_get(const char *key)
{
	for (size_t i = 0; i < noptions; i++)
		if (strcmp(options[i].key, key) == 0)
			return options[i].value;
	return NULL;
}

void
backend_options_clear(void)
{
	for (size_t i = 0; i < noptions; i++) {
		free(options[i].key);
		free(options[i].value);
	}
	noptions = 0;
}
