/*
 * Wire codecs for the small structures of format version 1: config, key
 * files, pack headers, snapshots and locks (trees are in tree.c, the index
 * in index.c). Layouts are tabled in docs/repository-format.md. Every
 * integer is little-endian; every structure opens with a magic and a u16
 * version; decoders check counts against the bytes left before allocating
 * and reject trailing bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"

#define CODEC_VERSION 1

static int
put_head(struct buf *b, const char magic[4])
{
	int e;

	if ((e = buf_append(b, magic, 4)) != 0)
		return e;
	return buf_append_u16(b, CODEC_VERSION);
}

/* A head with a later encoding version, for structures that grew an
 * optional part (written only when the part is present). */
static int
put_head_v(struct buf *b, const char magic[4], uint16_t v)
{
	int e;

	if ((e = buf_append(b, magic, 4)) != 0)
		return e;
	return buf_append_u16(b, v);
}

static int
get_head_v(struct rd *r, const char magic[4], const char *what, uint16_t maxv, uint16_t *v,
	   struct mm_ctx *c)
{
	const uint8_t *m = rd_ptr(r, 4);

	*v = rd_u16(r);
	if (r->bad || memcmp(m, magic, 4) != 0)
		return mm_fail(c, MM_ECORRUPT, "%s: not a %s (bad magic)", what, what);
	if (*v < CODEC_VERSION || *v > maxv)
		return mm_fail(c, MM_EVERSION, "%s: encoding version %u is not supported "
			       "(this mamori reads versions 1 to %u; upgrade mamori)", what, *v, maxv);
	return 0;
}

static int
get_head(struct rd *r, const char magic[4], const char *what, struct mm_ctx *c)
{
	const uint8_t *m = rd_ptr(r, 4);
	uint16_t v = rd_u16(r);

	if (r->bad || memcmp(m, magic, 4) != 0)
		return mm_fail(c, MM_ECORRUPT, "%s: not a %s (bad magic)", what, what);
	if (v != CODEC_VERSION)
		return mm_fail(c, MM_EVERSION, "%s: encoding version %u is not supported "
			       "(this mamori reads version %d; upgrade mamori)", what, v, CODEC_VERSION);
	return 0;
}

static int
get_end(const struct rd *r, const char *what, struct mm_ctx *c)
{
	if (r->bad)
		return mm_fail(c, MM_ECORRUPT, "%s: truncated or malformed", what);
	if (rd_left(r) != 0)
		return mm_fail(c, MM_ECORRUPT, "%s: %zu unexpected bytes at the end", what, rd_left(r));
	return 0;
}

/* A u32 count of elements of at least min bytes each, checked against the
 * input so hostile counts cannot make us allocate. */
static int
get_count(struct rd *r, size_t min, size_t limit, size_t *n)
{
	uint32_t v = rd_u32(r);

	*n = 0;
	if (r->bad || v > limit || (min > 0 && v > rd_left(r) / min)) {
		r->bad = 1;
		return MM_ECORRUPT;
	}
	*n = v;
	return 0;
}

/* ---- config ------------------------------------------------------------ */

int
config_encode(const struct repo_config *cf, struct buf *out)
{
	int e;

	if ((e = put_head_v(out, "MMCF", cf->shared_keys ? 2 : CODEC_VERSION)) != 0 ||
	    (e = buf_append_u32(out, cf->version)) != 0 ||
	    (e = buf_append(out, cf->id, sizeof(cf->id))) != 0 ||
	    (e = buf_append_u32(out, cf->chunker.min_size)) != 0 ||
	    (e = buf_append_u32(out, cf->chunker.avg_size)) != 0 ||
	    (e = buf_append_u32(out, cf->chunker.max_size)) != 0 ||
	    (e = buf_append_u32(out, (uint32_t)cf->zstd_level)) != 0 ||
	    (e = buf_append_u64(out, (uint64_t)cf->created_ns)) != 0)
		return e;
	if (cf->shared_keys && ((e = buf_append(out, cf->id_key, sizeof(cf->id_key))) != 0 ||
				(e = buf_append(out, cf->gear_key, sizeof(cf->gear_key))) != 0))
		return e;
	return 0;
}

int
config_decode(const uint8_t *p, size_t n, struct repo_config *cf, struct mm_ctx *c)
{
	struct rd r;
	uint16_t v;
	int e;

	memset(cf, 0, sizeof(*cf));
	rd_init(&r, p, n);
	if ((e = get_head_v(&r, "MMCF", "config", 2, &v, c)) != 0)
		return e;
	cf->version = rd_u32(&r);
	rd_copy(&r, cf->id, sizeof(cf->id));
	cf->chunker.min_size = rd_u32(&r);
	cf->chunker.avg_size = rd_u32(&r);
	cf->chunker.max_size = rd_u32(&r);
	cf->zstd_level = (int32_t)rd_u32(&r);
	cf->created_ns = (int64_t)rd_u64(&r);
	if (v >= 2) {
		/* ID and gear keys shared with another repository (init
		 * --copy-chunker-params-from). */
		cf->shared_keys = 1;
		rd_copy(&r, cf->id_key, sizeof(cf->id_key));
		rd_copy(&r, cf->gear_key, sizeof(cf->gear_key));
	}
	if ((e = get_end(&r, "config", c)) != 0) {
		mm_wipe(cf, sizeof(*cf));
		return e;
	}
	if (cf->version < REPO_VERSION)
		return mm_fail(c, MM_EVERSION, "repository format version %u was written by a "
			       "development build of mamori and cannot be read by this one (version "
			       "%d); make a new repository with `mamori init` and back up again",
			       cf->version, REPO_VERSION);
	if (cf->version != REPO_VERSION)
		return mm_fail(c, MM_EVERSION, "repository format version %u is not supported "
			       "(this mamori reads version %d; upgrade mamori)", cf->version,
			       REPO_VERSION);
	if (chunker_params_check(&cf->chunker) != 0)
		return mm_fail(c, MM_ECORRUPT, "config: chunker parameters %u/%u/%u are invalid",
			       cf->chunker.min_size, cf->chunker.avg_size, cf->chunker.max_size);
	if (cf->zstd_level < -7 || cf->zstd_level > 22)
		return mm_fail(c, MM_ECORRUPT, "config: zstd level %d is invalid", cf->zstd_level);
	return 0;
}

/* ---- key files ------------------------------------------------------------ */

/*
 * Version 1: header || SEAL(KEK, payload, aad = header).
 * Version 2: header || u32 kek_len || SEAL(KEK, payload, aad = header)
 *            || SEAL(enc, meta, aad = header), so that whoever holds the
 *            master key can read every key's name, user, host and time.
 */
#define KEYFILE_HEAD_LEN (4 + 2 + 1 + 12 + 16)
#define KDF_ARGON2ID 1
#define KEYFILE_META_MIN (2 + 2 + 2 + 8)

static int
keyfile_head(const struct kdf_params *kp, uint16_t version, struct buf *out)
{
	int e;

	if ((e = buf_append(out, "MMKY", 4)) != 0 || (e = buf_append_u16(out, version)) != 0 ||
	    (e = buf_append_u8(out, KDF_ARGON2ID)) != 0 ||
	    (e = buf_append_u32(out, kp->t_cost)) != 0 ||
	    (e = buf_append_u32(out, kp->m_cost_kib)) != 0 ||
	    (e = buf_append_u32(out, kp->parallelism)) != 0)
		return e;
	return buf_append(out, kp->salt, sizeof(kp->salt));
}

static int
keyfile_put_meta(struct buf *b, const struct keyfile_meta *m)
{
	int e;

	if ((e = buf_append_str16(b, m->name)) != 0 || (e = buf_append_str16(b, m->user)) != 0 ||
	    (e = buf_append_str16(b, m->host)) != 0)
		return e;
	return buf_append_u64(b, (uint64_t)m->created_ns);
}

static void
keyfile_get_meta(struct rd *r, struct keyfile_meta *m)
{
	m->name = rd_str16(r, REPO_NAME_MAX);
	m->user = rd_str16(r, REPO_NAME_MAX);
	m->host = rd_str16(r, REPO_NAME_MAX);
	m->created_ns = (int64_t)rd_u64(r);
	if (!m->name || !m->user || !m->host)
		r->bad = 1;
}

int
keyfile_encode(const struct kdf_params *kp, const uint8_t kek[MM_KEY_LEN],
	       const uint8_t master[MM_KEY_LEN], const uint8_t *enc,
	       const struct keyfile_meta *m, struct buf *out)
{
	struct buf head = BUF_INIT, payload = BUF_INIT, meta = BUF_INIT, sealed = BUF_INIT;
	int e;

	payload.secret = 1;
	if ((e = keyfile_head(kp, enc ? KEYFILE_VERSION : 1, &head)) != 0 ||
	    (e = buf_append(out, head.data, head.len)) != 0)
		goto out;
	if ((e = buf_append(&payload, master, MM_KEY_LEN)) != 0 ||
	    (e = keyfile_put_meta(&payload, m)) != 0)
		goto out;
	/* The plaintext KDF parameters are the AAD: they cannot be swapped
	 * for weaker ones without the tag failing. */
	if ((e = crypto_seal(kek, payload.data, payload.len, head.data, head.len, &sealed)) != 0)
		goto out;
	if (enc == NULL) {
		e = buf_append(out, sealed.data, sealed.len);
		goto out;
	}
	if ((e = buf_append_u32(out, (uint32_t)sealed.len)) != 0 ||
	    (e = buf_append(out, sealed.data, sealed.len)) != 0 ||
	    (e = keyfile_put_meta(&meta, m)) != 0)
		goto out;
	e = crypto_seal(enc, meta.data, meta.len, head.data, head.len, out);
out:
	buf_release(&head);
	buf_release(&payload);
	buf_release(&meta);
	buf_release(&sealed);
	return e;
}

/* Where the parts of a key file are. */
struct keyfile_parts {
	uint16_t version;
	size_t kek_off, kek_len;   /* SEAL(KEK, payload) */
	size_t meta_off, meta_len; /* version 2: SEAL(enc, meta); else 0 */
};

static int
keyfile_split(const uint8_t *p, size_t n, struct kdf_params *kp, struct keyfile_parts *kf,
	      struct mm_ctx *c)
{
	struct rd r;
	const uint8_t *magic;
	uint8_t kdf;

	memset(kf, 0, sizeof(*kf));
	rd_init(&r, p, n);
	magic = rd_ptr(&r, 4);
	kf->version = rd_u16(&r);
	if (r.bad || memcmp(magic, "MMKY", 4) != 0)
		return mm_fail(c, MM_ECORRUPT, "key file: not a key file (bad magic)");
	if (kf->version < 1 || kf->version > KEYFILE_VERSION)
		return mm_fail(c, MM_EVERSION, "key file: encoding version %u is not supported "
			       "(this mamori reads versions 1 to %d; %s)", kf->version,
			       KEYFILE_VERSION, kf->version > KEYFILE_VERSION ?
			       "upgrade mamori" : "the file is damaged");
	kdf = rd_u8(&r);
	kp->t_cost = rd_u32(&r);
	kp->m_cost_kib = rd_u32(&r);
	kp->parallelism = rd_u32(&r);
	rd_copy(&r, kp->salt, sizeof(kp->salt));
	if (kf->version >= 2)
		kf->kek_len = rd_u32(&r);
	kf->kek_off = r.off;
	if (kf->version == 1)
		kf->kek_len = rd_left(&r);
	if (r.bad || kf->kek_len < MM_AEAD_OVERHEAD || kf->kek_len > rd_left(&r))
		return mm_fail(c, MM_ECORRUPT, "key file: truncated");
	if (kf->version >= 2) {
		kf->meta_off = kf->kek_off + kf->kek_len;
		kf->meta_len = n - kf->meta_off;
		if (kf->meta_len < MM_AEAD_OVERHEAD + KEYFILE_META_MIN)
			return mm_fail(c, MM_ECORRUPT, "key file: truncated");
	}
	if (kdf != KDF_ARGON2ID)
		return mm_fail(c, MM_EUNSUPPORTED, "key file: unknown key derivation function %u", kdf);
	if (kp->t_cost < 1 || kp->t_cost > 64 || kp->parallelism < 1 || kp->parallelism > 64 ||
	    kp->m_cost_kib < 8 * kp->parallelism || kp->m_cost_kib > 4u * 1024 * 1024)
		return mm_fail(c, MM_ELIMIT, "key file: Argon2id parameters t=%u m=%u KiB p=%u are "
			       "outside the accepted range", kp->t_cost, kp->m_cost_kib, kp->parallelism);
	return 0;
}

int
keyfile_kdf_params(const uint8_t *p, size_t n, struct kdf_params *kp, struct mm_ctx *c)
{
	struct keyfile_parts kf;

	return keyfile_split(p, n, kp, &kf, c);
}

int
keyfile_version(const uint8_t *p, size_t n, unsigned *version, struct mm_ctx *c)
{
	struct keyfile_parts kf;
	struct kdf_params kp;
	int e;

	if ((e = keyfile_split(p, n, &kp, &kf, c)) != 0)
		return e;
	*version = kf.version;
	return 0;
}

int
keyfile_meta_read(const uint8_t *p, size_t n, const uint8_t enc[MM_KEY_LEN],
		  struct keyfile_meta *m, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	struct keyfile_parts kf;
	struct kdf_params kp;
	struct rd r;
	int e;

	memset(m, 0, sizeof(*m));
	if ((e = keyfile_split(p, n, &kp, &kf, c)) != 0)
		return e;
	if (kf.version < 2)
		return mm_fail(c, MM_ENOENT, "key file: version 1 keeps its name under its "
			       "own password only");
	if ((e = crypto_open(enc, p + kf.meta_off, kf.meta_len, p, KEYFILE_HEAD_LEN, &plain)) != 0) {
		buf_release(&plain);
		return mm_fail(c, e, "key file: its description fails authentication (altered, "
			       "or a key of another repository)");
	}
	rd_init(&r, plain.data, plain.len);
	keyfile_get_meta(&r, m);
	if ((e = get_end(&r, "key file", c)) != 0)
		keyfile_meta_release(m);
	buf_release(&plain);
	return e;
}

int
keyfile_decode(const uint8_t *p, size_t n, const uint8_t kek[MM_KEY_LEN],
	       uint8_t master[MM_KEY_LEN], struct keyfile_meta *m, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	struct keyfile_meta check = { 0 };
	struct keyfile_parts kf;
	struct kdf_params kp;
	struct mm_keys k;
	struct rd r;
	int e;

	memset(m, 0, sizeof(*m));
	memset(&k, 0, sizeof(k));
	plain.secret = 1;
	if ((e = keyfile_split(p, n, &kp, &kf, c)) != 0)
		return e;
	if ((e = crypto_open(kek, p + kf.kek_off, kf.kek_len, p, KEYFILE_HEAD_LEN,
			     &plain)) != 0) {
		e = mm_fail(c, e, "key file: the password does not open this key");
		goto out;
	}
	rd_init(&r, plain.data, plain.len);
	rd_copy(&r, master, MM_KEY_LEN);
	keyfile_get_meta(&r, m);
	if ((e = get_end(&r, "key file", c)) != 0)
		goto fail;
	if (kf.version >= 2) {
		/* The description every key holder reads must be this key's. */
		memcpy(k.master, master, MM_KEY_LEN);
		if ((e = crypto_keys_derive(&k)) != 0 ||
		    (e = keyfile_meta_read(p, n, k.enc, &check, c)) != 0)
			goto fail;
		if (strcmp(check.name, m->name) != 0 || strcmp(check.user, m->user) != 0 ||
		    strcmp(check.host, m->host) != 0 || check.created_ns != m->created_ns) {
			e = mm_fail(c, MM_ECORRUPT, "key file: its two descriptions differ");
			goto fail;
		}
	}
	e = 0;
	goto out;
fail:
	mm_wipe(master, MM_KEY_LEN);
	keyfile_meta_release(m);
out:
	crypto_keys_wipe(&k);
	keyfile_meta_release(&check);
	buf_release(&plain);
	return e;
}

void
keyfile_meta_release(struct keyfile_meta *m)
{
	free(m->name);
	free(m->user);
	free(m->host);
	memset(m, 0, sizeof(*m));
}

/* ---- pack headers -------------------------------------------------------- */

#define PACK_ENTRY_LEN (1 + 4 + 4 + MM_ID_LEN)

int
pack_header_encode(const struct pack_entry *ents, size_t n, struct buf *out)
{
	int e;

	if (n > UINT32_MAX)
		return MM_ELIMIT;
	if ((e = put_head(out, "MMPH")) != 0 || (e = buf_append_u32(out, (uint32_t)n)) != 0 ||
	    (e = buf_reserve(out, n * PACK_ENTRY_LEN)) != 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		if ((e = buf_append_u8(out, ents[i].type)) != 0 ||
		    (e = buf_append_u32(out, ents[i].length)) != 0 ||
		    (e = buf_append_u32(out, ents[i].raw_len)) != 0 ||
		    (e = buf_append(out, ents[i].id.b, MM_ID_LEN)) != 0)
			return e;
	}
	return 0;
}

int
pack_header_decode(const uint8_t *p, size_t len, struct pack_entry **out, size_t *n,
		   struct mm_ctx *c)
{
	struct pack_entry *v = NULL;
	struct rd r;
	size_t cnt;
	int e;

	*out = NULL;
	*n = 0;
	rd_init(&r, p, len);
	if ((e = get_head(&r, "MMPH", "pack header", c)) != 0)
		return e;
	if (get_count(&r, PACK_ENTRY_LEN, UINT32_MAX, &cnt) != 0)
		return mm_fail(c, MM_ECORRUPT, "pack header: blob count beyond its length");
	if (cnt > 0 && (v = calloc(cnt, sizeof(*v))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		v[i].type = rd_u8(&r);
		v[i].length = rd_u32(&r);
		v[i].raw_len = rd_u32(&r);
		rd_copy(&r, v[i].id.b, MM_ID_LEN);
		if (v[i].type > BLOB_TREE || v[i].length < MM_AEAD_OVERHEAD ||
		    v[i].raw_len > REPO_BLOB_MAX) {
			free(v);
			return mm_fail(c, MM_ECORRUPT, "pack header: entry %zu is invalid", i);
		}
	}
	if ((e = get_end(&r, "pack header", c)) != 0) {
		free(v);
		return e;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- snapshots ------------------------------------------------------------ */

#define SNAP_STRINGS_MAX 65536u

static int
put_strings(struct buf *b, char *const *v, size_t n)
{
	int e;

	if (n > SNAP_STRINGS_MAX)
		return MM_ELIMIT;
	if ((e = buf_append_u32(b, (uint32_t)n)) != 0)
		return e;
	for (size_t i = 0; i < n; i++)
		if ((e = buf_append_str16(b, v[i])) != 0)
			return e;
	return 0;
}

static void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
get_strings(struct rd *r, size_t max, char ***out, size_t *n)
{
	char **v = NULL;
	size_t cnt;

	*out = NULL;
	*n = 0;
	if (get_count(r, 2, SNAP_STRINGS_MAX, &cnt) != 0)
		return MM_ECORRUPT;
	if (cnt == 0)
		return 0;
	if ((v = calloc(cnt, sizeof(*v))) == NULL)
		return MM_ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		if ((v[i] = rd_str16(r, max)) == NULL) {
			free_strings(v, i);
			r->bad = 1;
			return MM_ECORRUPT;
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int
put_summary(struct buf *b, const struct snap_summary *m)
{
	const uint64_t v[] = { m->files_new, m->files_changed, m->files_unchanged, m->dirs,
			       m->others, m->bytes_total, m->bytes_read, m->bytes_added,
			       m->blobs_added, m->errors, (uint64_t)m->duration_ns };
	int e;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if ((e = buf_append_u64(b, v[i])) != 0)
			return e;
	return 0;
}

static void
get_summary(struct rd *r, struct snap_summary *m)
{
	m->files_new = rd_u64(r);
	m->files_changed = rd_u64(r);
	m->files_unchanged = rd_u64(r);
	m->dirs = rd_u64(r);
	m->others = rd_u64(r);
	m->bytes_total = rd_u64(r);
	m->bytes_read = rd_u64(r);
	m->bytes_added = rd_u64(r);
	m->blobs_added = rd_u64(r);
	m->errors = rd_u64(r);
	m->duration_ns = (int64_t)rd_u64(r);
}

int
snapshot_encode(const struct snapshot *s, struct buf *out)
{
	int e;

	/* Version 1 unless there is an extension to record (version 2). */
	if ((e = put_head_v(out, "MMSN", s->has_original || s->has_origin ? 2 : CODEC_VERSION)) != 0 ||
	    (e = buf_append_u64(out, (uint64_t)s->time_ns)) != 0 ||
	    (e = buf_append_str16(out, s->host)) != 0 || (e = buf_append_str16(out, s->user)) != 0 ||
	    (e = buf_append_u32(out, s->uid)) != 0 || (e = buf_append_u32(out, s->gid)) != 0 ||
	    (e = put_strings(out, s->paths, s->npaths)) != 0 ||
	    (e = put_strings(out, s->tags, s->ntags)) != 0 ||
	    (e = put_strings(out, s->excludes, s->nexcludes)) != 0 ||
	    (e = buf_append_u8(out, s->has_parent ? 1 : 0)) != 0)
		return e;
	if (s->has_parent && (e = buf_append(out, s->parent.b, MM_ID_LEN)) != 0)
		return e;
	if ((e = buf_append(out, s->tree.b, MM_ID_LEN)) != 0 ||
	    (e = buf_append_str16(out, s->program)) != 0 || (e = put_summary(out, &s->sum)) != 0)
		return e;
	if (!s->has_original && !s->has_origin)
		return 0;
	/* Version 2: a byte of flags, then each extension it names. */
	if ((e = buf_append_u8(out, (uint8_t)((s->has_original ? SNAP_EXT_ORIGINAL : 0) |
					     (s->has_origin ? SNAP_EXT_ORIGIN : 0)))) != 0)
		return e;
	if (s->has_original && (e = buf_append(out, s->original.b, MM_ID_LEN)) != 0)
		return e;
	if (s->has_origin && ((e = buf_append(out, s->origin_repo, sizeof(s->origin_repo))) != 0 ||
			      (e = buf_append(out, s->origin.b, MM_ID_LEN)) != 0))
		return e;
	return 0;
}

int
snapshot_decode(const uint8_t *p, size_t n, struct snapshot *s, struct mm_ctx *c)
{
	struct mm_id keep = s->id; /* set by the caller from the object name */
	struct rd r;
	uint16_t v;
	uint8_t hp;
	int e;

	memset(s, 0, sizeof(*s));
	s->id = keep;
	rd_init(&r, p, n);
	if ((e = get_head_v(&r, "MMSN", "snapshot", 2, &v, c)) != 0)
		return e;
	s->time_ns = (int64_t)rd_u64(&r);
	s->host = rd_str16(&r, REPO_NAME_MAX);
	s->user = rd_str16(&r, REPO_NAME_MAX);
	s->uid = rd_u32(&r);
	s->gid = rd_u32(&r);
	if (get_strings(&r, REPO_PATH_MAX, &s->paths, &s->npaths) != 0 ||
	    get_strings(&r, REPO_NAME_MAX, &s->tags, &s->ntags) != 0 ||
	    get_strings(&r, REPO_PATH_MAX, &s->excludes, &s->nexcludes) != 0)
		r.bad = 1;
	hp = rd_u8(&r);
	if (hp > 1)
		r.bad = 1;
	s->has_parent = hp;
	if (hp)
		rd_copy(&r, s->parent.b, MM_ID_LEN);
	rd_copy(&r, s->tree.b, MM_ID_LEN);
	s->program = rd_str16(&r, REPO_NAME_MAX);
	get_summary(&r, &s->sum);
	if (v >= 2) {
		uint8_t ext = rd_u8(&r);
		if (ext & ~(SNAP_EXT_ORIGINAL | SNAP_EXT_ORIGIN))
			r.bad = 1;
		s->has_original = (ext & SNAP_EXT_ORIGINAL) != 0;
		s->has_origin = (ext & SNAP_EXT_ORIGIN) != 0;
		if (s->has_original)
			rd_copy(&r, s->original.b, MM_ID_LEN);
		if (s->has_origin) {
			rd_copy(&r, s->origin_repo, sizeof(s->origin_repo));
			rd_copy(&r, s->origin.b, MM_ID_LEN);
		}
	}
	if ((e = get_end(&r, "snapshot", c)) != 0 || !s->host || !s->user || !s->program) {
		snapshot_release(s);
		s->id = keep;
		return e ? e : mm_fail(c, MM_ECORRUPT, "snapshot: malformed");
	}
	return 0;
}

void
snapshot_release(struct snapshot *s)
{
	if (s == NULL)
		return;
	free(s->host);
	free(s->user);
	free_strings(s->paths, s->npaths);
	free_strings(s->tags, s->ntags);
	free_strings(s->excludes, s->nexcludes);
	free(s->program);
	memset(s, 0, sizeof(*s));
}

void
snapshot_free(struct snapshot *s)
{
	snapshot_release(s);
	free(s);
}

/* ---- locks --------------------------------------------------------------- */

int
lock_encode(const struct lock_info *l, struct buf *out)
{
	int e;

	if ((e = put_head(out, "MMLK")) != 0 || (e = buf_append_str16(out, l->host)) != 0 ||
	    (e = buf_append_str16(out, l->user)) != 0 ||
	    (e = buf_append_u64(out, (uint64_t)l->pid)) != 0 ||
	    (e = buf_append_u64(out, (uint64_t)l->time_ns)) != 0 ||
	    (e = buf_append_u8(out, l->exclusive ? 1 : 0)) != 0)
		return e;
	return buf_append_str16(out, l->command);
}

int
lock_decode(const uint8_t *p, size_t n, struct lock_info *l, struct mm_ctx *c)
{
	struct rd r;
	uint8_t x;
	int e;

	memset(l, 0, sizeof(*l));
	rd_init(&r, p, n);
	if ((e = get_head(&r, "MMLK", "lock", c)) != 0)
		return e;
	l->host = rd_str16(&r, REPO_NAME_MAX);
	l->user = rd_str16(&r, REPO_NAME_MAX);
	l->pid = (int64_t)rd_u64(&r);
	l->time_ns = (int64_t)rd_u64(&r);
	x = rd_u8(&r);
	l->exclusive = x;
	l->command = rd_str16(&r, REPO_NAME_MAX);
	if (x > 1)
		r.bad = 1;
	if ((e = get_end(&r, "lock", c)) != 0 || !l->host || !l->user || !l->command) {
		lock_info_release(l);
		return e ? e : mm_fail(c, MM_ECORRUPT, "lock: malformed");
	}
	return 0;
}

void
lock_info_release(struct lock_info *l)
{
	free(l->host);
	free(l->user);
	free(l->command);
	l->host = l->user = l->command = NULL;
}
