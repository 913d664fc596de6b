/*
 * Opening and creating repositories; encrypted whole objects; snapshots.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "repo/repo.h"
#include "repo/repo_internal.h"

static int
write_config(struct backend *be, const struct mm_keys *k, const struct repo_config *cf,
	     struct mm_ctx *c)
{
	struct buf plain = BUF_INIT, sealed = BUF_INIT;
	int r;

	plain.secret = cf->shared_keys; /* it holds the ID and gear keys */
	if ((r = config_encode(cf, &plain)) != 0) {
		mm_fail(c, r, "cannot encode config");
		goto out;
	}
	if ((r = crypto_seal(k->enc, plain.data, plain.len, NULL, 0, &sealed)) != 0) {
		mm_fail(c, r, "cannot encrypt config");
		goto out;
	}
	r = backend_write(be, OBJ_CONFIG, "config", sealed.data, sealed.len, c);
out:
	buf_release(&plain);
	buf_release(&sealed);
	return r;
}

int
repo_init(const char *location, const char *password, const struct repo_init_opts *o,
	  struct mm_ctx *c)
{
	struct backend *be = NULL;
	struct mm_keys k;
	struct repo_config cf;
	int r;

	memset(&k, 0, sizeof(k));
	memset(&cf, 0, sizeof(cf));
	if ((r = backend_open(location, &be, c)) != 0)
		return r;
	if ((r = be->ops->create(be, c)) != 0) {
		if (r == MM_EEXIST)
			mm_fail(c, r, "%s: a repository already exists here", location);
		goto out;
	}
	cf.version = REPO_VERSION;
	cf.chunker = o->share_from ? o->share_from->cfg.chunker : o->chunker;
	if (cf.chunker.avg_size == 0) {
		cf.chunker.min_size = CHUNKER_MIN_DEFAULT;
		cf.chunker.avg_size = CHUNKER_AVG_DEFAULT;
		cf.chunker.max_size = CHUNKER_MAX_DEFAULT;
	}
	if ((r = chunker_params_check(&cf.chunker)) != 0) {
		mm_fail(c, r, "invalid chunker parameters");
		goto out;
	}
	cf.zstd_level = o->zstd_level ? o->zstd_level : 1;
	cf.created_ns = time_now_ns();
	if ((r = crypto_random(cf.id, sizeof(cf.id))) != 0 ||
	    (r = crypto_random(k.master, sizeof(k.master))) != 0 ||
	    (r = crypto_keys_derive(&k)) != 0) {
		mm_fail(c, r, "cannot create keys");
		goto out;
	}
	if (o->share_from != NULL) {
		cf.shared_keys = 1;
		memcpy(cf.id_key, o->share_from->keys.id, MM_KEY_LEN);
		memcpy(cf.gear_key, o->share_from->keys.gear, MM_KEY_LEN);
	}
	/* The key first, the config last: a config marks a finished repository. */
	if ((r = repo_keyfile_write(be, password, o->key_name, o->fast_kdf, &k, NULL, c)) != 0)
		goto out;
	r = write_config(be, &k, &cf, c);
out:
	mm_wipe(&cf, sizeof(cf));
	crypto_keys_wipe(&k);
	backend_free(be);
	return r;
}

struct key_try {
	struct repo *r;
	const char *password;
	int found;
	int nkeys;
	int version_err;        /* a key file of a version this build does not read */
	char version_msg[1100];
	int access_err;         /* a key file this user may not read */
	char access_msg[1100];
};

static int
try_key(const char *name, uint64_t size, void *arg)
{
	struct key_try *t = arg;
	struct buf kf = BUF_INIT;
	struct kdf_params kp;
	uint8_t kek[MM_KEY_LEN];
	struct mm_ctx ctx = MM_CTX_INIT;
	int r;

	t->nkeys++;
	if (size > REPO_KEYFILE_MAX)
		return 0; /* not a key we could have written; try the others */
	if ((r = backend_read(t->r->be, OBJ_KEY, name, 0, 0, &kf, &ctx)) != 0 ||
	    (r = keyfile_kdf_params(kf.data, kf.len, &kp, &ctx)) != 0 ||
	    (r = crypto_kdf(&kp, t->password, strlen(t->password), kek)) != 0) {
		if (r == MM_EVERSION && !t->version_err) {
			t->version_err = 1;
			snprintf(t->version_msg, sizeof(t->version_msg), "keys/%.12s…: %s", name,
				 ctx.msg);
		}
		if (r == MM_EACCESS && !t->access_err) {
			t->access_err = 1;
			snprintf(t->access_msg, sizeof(t->access_msg), "%s", ctx.msg);
		}
		r = 0;
		goto out;
	}
	r = keyfile_decode(kf.data, kf.len, kek, t->r->keys.master, &t->r->key_meta, &ctx);
	if (r == 0) {
		t->found = 1;
		memcpy(t->r->key_name, name, 64);
		t->r->key_name[64] = '\0';
		r = 1; /* stop listing */
	} else {
		r = 0;
	}
out:
	mm_wipe(kek, sizeof(kek));
	buf_release(&kf);
	return r;
}

static int
read_config(struct repo *r, struct mm_ctx *c)
{
	struct buf raw = BUF_INIT, plain = BUF_INIT;
	int e;

	plain.secret = 1; /* may hold shared ID and gear keys */
	if ((e = backend_read(r->be, OBJ_CONFIG, "config", 0, 0, &raw, c)) != 0)
		goto out;
	if (raw.len > REPO_CONFIG_MAX) {
		e = mm_fail(c, MM_ECORRUPT, "config: %zu bytes, more than a config can be", raw.len);
		goto out;
	}
	if ((e = crypto_open(r->keys.enc, raw.data, raw.len, NULL, 0, &plain)) != 0) {
		e = mm_fail(c, e, "config: authentication failed (altered, or not this repository's key)");
		goto out;
	}
	if ((e = config_decode(plain.data, plain.len, &r->cfg, c)) != 0)
		mm_prefix(c, e, "config");
out:
	buf_release(&raw);
	buf_release(&plain);
	return e;
}

static int
derive_gear(struct repo *r)
{
	uint8_t table[CHUNKER_GEAR_BYTES];
	int e;

	e = crypto_hkdf(r->keys.gear, sizeof(r->keys.gear), NULL, 0, "mamori v1 gear table",
			table, sizeof(table));
	if (e == 0)
		chunker_gear_init(&r->gear, table);
	mm_wipe(table, sizeof(table));
	return e;
}

int
repo_open(const char *location, const char *password, struct repo **out, struct mm_ctx *c)
{
	struct repo *r;
	struct key_try t;
	uint64_t size;
	int e;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	index_init(&r->idx);
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->lock_mu, NULL);
	pthread_mutex_init(&r->refresh_mu, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&r->refresh_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_cond_init(&r->writer_free, NULL);
	repo_zcache_init(r);
	for (size_t i = 0; i < REPO_WRITERS_MAX; i++)
		buf_init(&r->writers[i].out, REPO_BLOB_MAX + 64);
	if ((e = backend_open(location, &r->be, c)) != 0)
		goto fail;
	if ((e = backend_stat(r->be, OBJ_CONFIG, "config", &size, c)) != 0) {
		if (e == MM_ENOENT)
			e = mm_fail(c, MM_ENOREPO, "%s: no repository here (no config object); "
				    "create one with 'mamori init'", location);
		goto fail;
	}
	memset(&t, 0, sizeof(t));
	t.r = r;
	t.password = password;
	if ((e = backend_list(r->be, OBJ_KEY, try_key, &t, c)) < 0)
		goto fail;
	if (!t.found && t.access_err) {
		e = mm_fail(c, MM_EACCESS, "%s", t.access_msg);
		goto fail;
	}
	if (!t.found && t.version_err) {
		e = mm_fail(c, MM_EVERSION, "%s: no key this mamori can read opens with the "
			    "password; %s", location, t.version_msg);
		goto fail;
	}
	if (!t.found) {
		e = mm_fail(c, MM_EPASSWORD, "%s: wrong password: no key of this repository "
			    "opens with it", location);
		goto fail;
	}
	if ((e = crypto_keys_derive(&r->keys)) != 0 || (e = derive_gear(r)) != 0) {
		mm_fail(c, e, "cannot derive keys");
		goto fail;
	}
	if ((e = read_config(r, c)) != 0)
		goto fail;
	if (r->cfg.shared_keys) {
		memcpy(r->keys.id, r->cfg.id_key, MM_KEY_LEN);
		memcpy(r->keys.gear, r->cfg.gear_key, MM_KEY_LEN);
		mm_wipe(r->cfg.id_key, MM_KEY_LEN);
		mm_wipe(r->cfg.gear_key, MM_KEY_LEN);
		if ((e = derive_gear(r)) != 0) {
			mm_fail(c, e, "cannot derive keys");
			goto fail;
		}
	}
	*out = r;
	return 0;
fail:
	repo_free(r);
	return e;
}

void
repo_free(struct repo *r)
{
	if (r == NULL)
		return;
	repo_unlock(r);
	for (size_t i = 0; i < REPO_WRITERS_MAX; i++) {
		struct pack_writer *w = &r->writers[i];
		backend_upload_abort(w->up); /* a pack never committed leaves nothing */
		buf_release(&w->out);
		free(w->entries);
	}
	index_release(&r->idx);
	free(r->idx_damaged);
	keyfile_meta_release(&r->key_meta);
	crypto_keys_wipe(&r->keys);
	mm_wipe(&r->gear, sizeof(r->gear));
	pthread_cond_destroy(&r->writer_free);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->lock_mu);
	pthread_mutex_destroy(&r->refresh_mu);
	pthread_cond_destroy(&r->refresh_cv);
	repo_zcache_release(r);
	backend_free(r->be);
	free(r);
}

int
repo_object_write(struct repo *r, enum obj_type t, const struct buf *plain, char name_out[65],
		  struct mm_ctx *c)
{
	struct buf sealed = BUF_INIT;
	uint8_t sum[32];
	int e;

	if ((e = crypto_seal(r->keys.enc, plain->data, plain->len, NULL, 0, &sealed)) != 0) {
		mm_fail(c, e, "cannot encrypt %s object", backend_type_dir(t));
		goto out;
	}
	crypto_sha256(sealed.data, sealed.len, sum);
	hex_encode(sum, sizeof(sum), name_out);
	e = backend_write(r->be, t, name_out, sealed.data, sealed.len, c);
out:
	buf_release(&sealed);
	return e;
}

int
repo_object_read(struct repo *r, enum obj_type t, const char *name, size_t max,
		 struct buf *plain, struct mm_ctx *c)
{
	struct buf raw = BUF_INIT;
	uint8_t sum[32], want[32];
	uint64_t size;
	int e;

	if (hex_decode(name, want, sizeof(want)) != 0)
		return mm_fail(c, MM_EINVAL, "%s/%s: not an object name", backend_type_dir(t), name);
	if ((e = backend_stat(r->be, t, name, &size, c)) != 0)
		return e;
	if (size > max + MM_AEAD_OVERHEAD)
		return mm_fail(c, MM_ECORRUPT, "%s/%s: %llu bytes, larger than the limit of %zu",
			       backend_type_dir(t), name, (unsigned long long)size, max);
	if ((e = backend_read(r->be, t, name, 0, 0, &raw, c)) != 0)
		goto out;
	crypto_sha256(raw.data, raw.len, sum);
	if (crypto_memcmp(sum, want, sizeof(sum)) != 0) {
		e = mm_fail(c, MM_EAUTH, "%s/%s: content does not match its name (altered or damaged)",
			    backend_type_dir(t), name);
		goto out;
	}
	if ((e = crypto_open(r->keys.enc, raw.data, raw.len, NULL, 0, plain)) != 0)
		mm_fail(c, e, "%s/%s: authentication failed (altered or damaged)",
			backend_type_dir(t), name);
out:
	buf_release(&raw);
	return e;
}

int
repo_snapshot_save(struct repo *r, struct snapshot *s, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	char name[65];
	int e;

	if ((e = snapshot_encode(s, &plain)) != 0) {
		mm_fail(c, e, "cannot encode snapshot");
		goto out;
	}
	if ((e = repo_object_write(r, OBJ_SNAPSHOT, &plain, name, c)) != 0)
		goto out;
	e = hex_decode(name, s->id.b, sizeof(s->id.b));
out:
	buf_release(&plain);
	return e;
}

struct snap_list {
	struct repo *r;
	struct snapshot *v;
	size_t n, cap;
	struct mm_ctx *c;
	const char *prefix; /* only names starting with it (NULL: all) */
};

static int
load_snapshot(const char *name, uint64_t size, void *arg)
{
	struct snap_list *l = arg;
	struct buf plain = BUF_INIT;
	int e;

	if (l->prefix && strncasecmp(name, l->prefix, strlen(l->prefix)) != 0)
		return 0;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		struct snapshot *nv = realloc(l->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return mm_fail(l->c, MM_ENOMEM, "out of memory");
		l->v = nv;
		l->cap = ncap;
	}
	if ((e = repo_object_read(l->r, OBJ_SNAPSHOT, name, REPO_SNAPSHOT_MAX, &plain, l->c)) != 0)
		goto out;
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	if ((e = snapshot_decode(plain.data, plain.len, &l->v[l->n], l->c)) != 0) {
		mm_prefix(l->c, e, "snapshots/%s", name);
		goto out;
	}
	if ((e = hex_decode(name, l->v[l->n].id.b, MM_ID_LEN)) != 0) {
		snapshot_release(&l->v[l->n]);
		goto out;
	}
	l->n++;
out:
	buf_release(&plain);
	return e;
}

static int
snapshot_cmp(const void *a, const void *b)
{
	const struct snapshot *x = a, *y = b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return memcmp(x->id.b, y->id.b, MM_ID_LEN);
}

static int
snapshot_list_prefix(struct repo *r, const char *prefix, struct snapshot **out, size_t *n,
		     struct mm_ctx *c)
{
	struct snap_list l = { r, NULL, 0, 0, c, prefix };
	int e;

	if ((e = backend_list(r->be, OBJ_SNAPSHOT, load_snapshot, &l, c)) != 0) {
		snapshot_list_free(l.v, l.n);
		return e;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), snapshot_cmp);
	*out = l.v;
	*n = l.n;
	return 0;
}

int
repo_snapshot_list(struct repo *r, struct snapshot **out, size_t *n, struct mm_ctx *c)
{
	return snapshot_list_prefix(r, NULL, out, n, c);
}

void
snapshot_list_free(struct snapshot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snapshot_release(&s[i]);
	free(s);
}

int
repo_snapshot_find(struct repo *r, const char *spec, struct snapshot *out, struct mm_ctx *c)
{
	struct snapshot *v = NULL;
	size_t n = 0, hit = SIZE_MAX, nhits = 0, len;
	char hex[65], cand[10 * 32] = "";
	int e;

	len = strlen(spec);
	/* A prefix reads only the snapshots it names: one damaged snapshot
	 * does not stop the restore of another by its ID. */
	if ((e = snapshot_list_prefix(r, strcmp(spec, "latest") == 0 ? NULL : spec, &v, &n, c)) != 0)
		return e;
	if (strcmp(spec, "latest") == 0) {
		if (n > 0)
			hit = n - 1;
		else {
			e = mm_fail(c, MM_ENOSNAPSHOT, "no snapshot in this repository yet: "
				    "'latest' names none");
			goto out;
		}
	} else if (len == 0 || len > 64 || hex_prefix_len(spec) != len) {
		e = mm_fail(c, MM_ENOSNAPSHOT, "'%s' is not a snapshot ID: use 'latest' or a hex ID "
			    "prefix from 'mamori snapshots'", spec);
		goto out;
	} else {
		for (size_t i = 0; i < n; i++) {
			hex_encode(v[i].id.b, MM_ID_LEN, hex);
			if (strncasecmp(hex, spec, len) != 0)
				continue;
			if (nhits < 10) {
				char when[32];
				size_t at = strlen(cand);
				time_format_utc(v[i].time_ns, when, sizeof(when));
				snprintf(cand + at, sizeof(cand) - at, "%s%.8s (%s)", nhits ? ", " : "",
					 hex, when);
			}
			nhits++;
			hit = i;
		}
	}
	if (nhits > 1) {
		e = mm_fail(c, MM_EAMBIGUOUS, "snapshot prefix '%s' is ambiguous: it matches %zu "
			    "snapshots: %s%s; give more digits", spec, nhits, cand,
			    nhits > 10 ? ", …" : "");
		goto out;
	}
	if (hit == SIZE_MAX) {
		e = mm_fail(c, MM_ENOSNAPSHOT, "no snapshot '%s' in this repository: see "
			    "'mamori snapshots'", spec);
		goto out;
	}
	*out = v[hit];
	memset(&v[hit], 0, sizeof(v[hit])); /* transferred */
	e = 0;
out:
	snapshot_list_free(v, n);
	return e;
}
