/*
 * The keys of a repository: one key file per administrator, each wrapping
 * the same master key under its own password (docs/repository-format.md,
 * section 2.1). Adding or removing a key never re-encrypts any data.
 */
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"
#include "repo/repo_internal.h"

int
repo_keyfile_write(struct backend *be, const char *password, const char *name, int fast_kdf,
		   const struct mm_keys *k, char id_out[65], struct mm_ctx *c)
{
	struct kdf_params kp;
	uint8_t kek[MM_KEY_LEN];
	struct buf kf = BUF_INIT;
	struct keyfile_meta m = { 0 };
	uint8_t sum[32];
	char id[65];
	int r;

	if (name != NULL && strlen(name) > REPO_NAME_MAX)
		return mm_fail(c, MM_EINVAL, "a key name holds at most %d bytes", REPO_NAME_MAX);
	if ((r = crypto_kdf_default(&kp, fast_kdf)) != 0)
		return mm_fail(c, r, "cannot choose key derivation parameters");
	if ((r = crypto_kdf(&kp, password, strlen(password), kek)) != 0) {
		mm_fail(c, r, "password key derivation failed");
		goto out;
	}
	m.name = (char *)(name ? name : "");
	m.user = repo_username();
	m.host = repo_hostname();
	m.created_ns = time_now_ns();
	if (!m.user || !m.host) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = keyfile_encode(&kp, kek, k->master, k->enc, &m, &kf)) != 0) {
		mm_fail(c, r, "cannot encode key file");
		goto out;
	}
	crypto_sha256(kf.data, kf.len, sum);
	hex_encode(sum, sizeof(sum), id);
	if ((r = backend_write(be, OBJ_KEY, id, kf.data, kf.len, c)) != 0)
		goto out;
	if (id_out != NULL)
		memcpy(id_out, id, sizeof(id));
out:
	mm_wipe(kek, sizeof(kek));
	free(m.user);
	free(m.host);
	buf_release(&kf);
	return r;
}

static int
meta_copy(struct keyfile_meta *dst, const struct keyfile_meta *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->name = strdup(src->name ? src->name : "");
	dst->user = strdup(src->user ? src->user : "");
	dst->host = strdup(src->host ? src->host : "");
	dst->created_ns = src->created_ns;
	if (!dst->name || !dst->user || !dst->host) {
		keyfile_meta_release(dst);
		return MM_ENOMEM;
	}
	return 0;
}

struct key_list {
	struct repo *r;
	struct repo_key *v;
	size_t n, cap;
	struct mm_ctx *c;
};

static int
list_one(const char *name, uint64_t size, void *arg)
{
	struct key_list *l = arg;
	struct repo_key *k;
	struct buf kf = BUF_INIT;
	struct mm_ctx ignore = MM_CTX_INIT;
	int e = 0;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		struct repo_key *nv = realloc(l->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return mm_fail(l->c, MM_ENOMEM, "out of memory");
		l->v = nv;
		l->cap = ncap;
	}
	k = &l->v[l->n];
	memset(k, 0, sizeof(*k));
	snprintf(k->id, sizeof(k->id), "%s", name);
	k->in_use = strcmp(name, l->r->key_name) == 0;
	l->n++;
	if (k->in_use) {
		k->has_meta = 1;
		k->version = 0;
		if (meta_copy(&k->meta, &l->r->key_meta) != 0)
			return mm_fail(l->c, MM_ENOMEM, "out of memory");
	}
	/* A key file that cannot be read or described is still listed (by
	 * ID), so that it can be removed. */
	if (size > REPO_KEYFILE_MAX ||
	    backend_read(l->r->be, OBJ_KEY, name, 0, 0, &kf, &ignore) != 0 ||
	    keyfile_version(kf.data, kf.len, &k->version, &ignore) != 0)
		goto out;
	if (!k->in_use && k->version >= 2 &&
	    keyfile_meta_read(kf.data, kf.len, l->r->keys.enc, &k->meta, &ignore) == 0)
		k->has_meta = 1;
out:
	buf_release(&kf);
	return e;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct repo_key *x = a, *y = b;
	int64_t tx = x->has_meta ? x->meta.created_ns : INT64_MIN;
	int64_t ty = y->has_meta ? y->meta.created_ns : INT64_MIN;

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(x->id, y->id);
}

int
repo_key_list(struct repo *r, struct repo_key **out, size_t *n, struct mm_ctx *c)
{
	struct key_list l = { r, NULL, 0, 0, c };
	int e;

	if ((e = backend_list(r->be, OBJ_KEY, list_one, &l, c)) != 0) {
		repo_key_list_free(l.v, l.n);
		return e;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), key_cmp);
	*out = l.v;
	*n = l.n;
	return 0;
}

void
repo_key_list_free(struct repo_key *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		keyfile_meta_release(&v[i].meta);
	free(v);
}

int
repo_key_add(struct repo *r, const char *password, const char *name, int fast_kdf,
	     char id_out[65], struct mm_ctx *c)
{
	if (password == NULL || password[0] == '\0')
		return mm_fail(c, MM_EINVAL, "the new key needs a password");
	return repo_keyfile_write(r->be, password, name, fast_kdf, &r->keys, id_out, c);
}

int
repo_key_remove(struct repo *r, const char *prefix, int force, char id_out[65],
		struct mm_ctx *c)
{
	struct repo_key *v = NULL;
	size_t n = 0, hit = SIZE_MAX, nhits = 0, len = strlen(prefix);
	char cand[10 * 10 + 1] = "";
	int e;

	if (len == 0 || len > 64 || hex_prefix_len(prefix) != len)
		return mm_fail(c, MM_EINVAL, "'%s' is not a key ID: give a hex ID prefix from "
			       "'mamori key list'", prefix);
	if ((e = repo_key_list(r, &v, &n, c)) != 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		if (strncasecmp(v[i].id, prefix, len) != 0)
			continue;
		if (nhits < 10) {
			size_t at = strlen(cand);
			snprintf(cand + at, sizeof(cand) - at, "%s%.8s", nhits ? ", " : "", v[i].id);
		}
		nhits++;
		hit = i;
	}
	if (nhits == 0) {
		e = mm_fail(c, MM_ENOENT, "no key '%s' in this repository: see 'mamori key list'",
			    prefix);
		goto out;
	}
	if (nhits > 1) {
		e = mm_fail(c, MM_EAMBIGUOUS, "key prefix '%s' is ambiguous: it matches %zu keys "
			    "(%s%s); give more digits", prefix, nhits, cand, nhits > 10 ? ", …" : "");
		goto out;
	}
	if (n == 1) {
		e = mm_fail(c, MM_EINVAL, "key %.8s is the only key of this repository: removing "
			    "it would make the repository unreadable; add another key first "
			    "('mamori key add')", v[hit].id);
		goto out;
	}
	if (v[hit].in_use && !force) {
		e = mm_fail(c, MM_EINVAL, "key %.8s is the key in use (it opened the repository "
			    "with this password): use 'mamori key passwd' to change it, or --force "
			    "to remove it", v[hit].id);
		goto out;
	}
	if ((e = backend_remove(r->be, OBJ_KEY, v[hit].id, c)) != 0)
		goto out;
	if (id_out != NULL)
		memcpy(id_out, v[hit].id, 65);
out:
	repo_key_list_free(v, n);
	return e;
}

int
repo_key_passwd(struct repo *r, const char *new_password, int fast_kdf, char id_out[65],
		struct mm_ctx *c)
{
	struct keyfile_meta m = { 0 };
	char id[65];
	int e;

	if (new_password == NULL || new_password[0] == '\0')
		return mm_fail(c, MM_EINVAL, "the new key needs a password");
	/* The new key is durable (written, synced, renamed, folder synced)
	 * before the old one goes: a crash in between leaves both. */
	if ((e = repo_keyfile_write(r->be, new_password, r->key_meta.name, fast_kdf, &r->keys,
				    id, c)) != 0)
		return e;
	if (strcmp(id, r->key_name) != 0 &&
	    (e = backend_remove(r->be, OBJ_KEY, r->key_name, c)) != 0)
		return mm_prefix(c, e, "new key %.8s written; the old key %.8s could not be "
				 "removed (remove it with 'mamori key remove')", id, r->key_name);
	/* The open repository now stands on the new key. */
	m.name = r->key_meta.name;
	r->key_meta.name = NULL;
	keyfile_meta_release(&r->key_meta);
	r->key_meta.name = m.name;
	r->key_meta.user = repo_username();
	r->key_meta.host = repo_hostname();
	r->key_meta.created_ns = time_now_ns();
	memcpy(r->key_name, id, sizeof(id));
	if (id_out != NULL)
		memcpy(id_out, id, sizeof(id));
	return 0;
}
