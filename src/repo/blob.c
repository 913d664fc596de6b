/*
 * Blobs: sealing (compress, encrypt), assembling packs, writing the index,
 * and reading blobs back with every byte verified by its AEAD tag.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "repo/repo.h"
#include "repo/repo_internal.h"

/* Compression must save at least 1/32 of the bytes to be worth the CPU on
 * restore. zstd is given room for no more than that. Judging by four
 * 16 KiB samples (tried before) stored disk-image chunks with compressible
 * parts raw: 2.5 % more repository on the bench corpus. */
#define COMPRESS_MIN_GAIN 32
/* Below this, the frame header would eat the gain. */
#define COMPRESS_MIN_LEN 64
/* Chunks this large are first judged by the byte entropy of an eighth of
 * their bytes (32 of every 256, spread over the whole chunk, so a disk
 * image's runs of zeros or text are seen): near 8 bits a byte, zstd could
 * not save COMPRESS_MIN_GAIN and is not run. */
#define ENTROPY_MIN_LEN (64u * 1024)
#define ENTROPY_STRIDE 256
#define ENTROPY_TAKE 32
#define ENTROPY_RANDOM 7.9

static int
looks_random(const uint8_t *p, size_t n)
{
	uint32_t count[256] = { 0 };
	double h = 0, total = 0;

	if (n < ENTROPY_MIN_LEN)
		return 0;
	for (size_t off = 0; off + ENTROPY_TAKE <= n; off += ENTROPY_STRIDE)
		for (size_t i = 0; i < ENTROPY_TAKE; i++)
			count[p[off + i]]++;
	for (int i = 0; i < 256; i++)
		total += count[i];
	for (int i = 0; i < 256; i++)
		if (count[i] > 0) {
			double f = count[i] / total;
			h -= f * log2(f);
		}
	return h > ENTROPY_RANDOM;
}

void
repo_blob_id(const struct repo *r, const void *p, size_t n, struct mm_id *out)
{
	crypto_hmac_id(r->keys.id, p, n, out);
}

/* What a blob's AEAD tag binds besides its bytes: its ID, type and raw
 * length. A reader that opens a blob with the ID it asked for therefore
 * knows the bytes are the ones a key holder sealed for that ID, without
 * hashing them again; moved or swapped blobs fail the tag. */
#define BLOB_AAD_LEN (MM_ID_LEN + 1 + 4)

static void
blob_aad(uint8_t aad[BLOB_AAD_LEN], const struct mm_id *id, uint8_t type, uint32_t raw_len)
{
	memcpy(aad, id->b, MM_ID_LEN);
	aad[MM_ID_LEN] = type;
	for (int i = 0; i < 4; i++)
		aad[MM_ID_LEN + 1 + i] = (uint8_t)(raw_len >> (8 * i));
}

void
sealed_blob_release(struct sealed_blob *s)
{
	buf_release(&s->data);
}

/* ---- zstd context caches ----------------------------------------------- */

void
repo_zcache_init(struct repo *r)
{
	pthread_mutex_init(&r->zc.mu, NULL);
	pthread_mutex_init(&r->zd.mu, NULL);
	r->zc.n = r->zd.n = 0;
}

void
repo_zcache_release(struct repo *r)
{
	for (size_t i = 0; i < r->zc.n; i++)
		ZSTD_freeCCtx(r->zc.c[i]);
	for (size_t i = 0; i < r->zd.n; i++)
		ZSTD_freeDCtx(r->zd.c[i]);
	r->zc.n = r->zd.n = 0;
	pthread_mutex_destroy(&r->zc.mu);
	pthread_mutex_destroy(&r->zd.mu);
}

static void *
zcache_take(struct zcache *z)
{
	void *c = NULL;

	pthread_mutex_lock(&z->mu);
	if (z->n > 0)
		c = z->c[--z->n];
	pthread_mutex_unlock(&z->mu);
	return c;
}

/* Returns 0 when kept, -1 when the cache is full (the caller frees). */
static int
zcache_give(struct zcache *z, void *c)
{
	int kept = -1;

	pthread_mutex_lock(&z->mu);
	if (z->n < REPO_ZCACHE_MAX) {
		z->c[z->n++] = c;
		kept = 0;
	}
	pthread_mutex_unlock(&z->mu);
	return kept;
}

static ZSTD_CCtx *
cctx_take(struct repo *r)
{
	ZSTD_CCtx *c = zcache_take(&r->zc);

	return c ? c : ZSTD_createCCtx();
}

static void
cctx_give(struct repo *r, ZSTD_CCtx *c)
{
	if (c && zcache_give(&r->zc, c) != 0)
		ZSTD_freeCCtx(c);
}

/* One buffer of exactly nonce + n + tag bytes per blob: zstd writes into
 * its middle, refusing output that would not save COMPRESS_MIN_GAIN, and
 * the cipher then works in place; a blob that does not compress is sealed
 * straight from the caller's bytes. */
int
repo_blob_seal(struct repo *r, enum blob_type t, const struct mm_id *id, const void *p,
	       size_t n, struct sealed_blob *out)
{
	ZSTD_CCtx *cctx = NULL;
	size_t cap = n + MM_AEAD_OVERHEAD;
	uint8_t aad[BLOB_AAD_LEN];
	int e = 0;

	if (n > REPO_BLOB_MAX)
		return MM_ELIMIT;
	memset(out, 0, sizeof(*out));
	out->id = *id;
	out->type = (uint8_t)t;
	buf_init(&out->data, cap);
	if ((e = buf_reserve(&out->data, cap)) != 0)
		goto out;
	if ((cctx = cctx_take(r)) == NULL) {
		e = MM_ENOMEM;
		goto out;
	}
	if (n >= COMPRESS_MIN_LEN && !looks_random(p, n)) {
		uint8_t *body = out->data.data + MM_NONCE_LEN;
		size_t limit = n - n / COMPRESS_MIN_GAIN;
		size_t zl = ZSTD_compressCCtx(cctx, body, limit, p, n, r->cfg.zstd_level);

		if (!ZSTD_isError(zl) && zl < limit) {
			out->raw_len = (uint32_t)n;
			out->plain_len = (uint32_t)zl;
			blob_aad(aad, id, out->type, out->raw_len);
			if ((e = crypto_seal_in_place(r->keys.enc, out->data.data, zl, aad,
						      sizeof(aad))) == 0)
				out->data.len = zl + MM_AEAD_OVERHEAD;
			goto out;
		}
	}
	out->plain_len = (uint32_t)n;
	blob_aad(aad, id, out->type, 0);
	e = crypto_seal(r->keys.enc, p, n, aad, sizeof(aad), &out->data);
out:
	cctx_give(r, cctx);
	if (e != 0)
		sealed_blob_release(out);
	return e;
}

int
repo_blob_known(struct repo *r, const struct mm_id *id)
{
	struct blob_loc loc;
	int known;

	pthread_mutex_lock(&r->mu);
	known = index_find(&r->idx, id, &loc) == 0;
	pthread_mutex_unlock(&r->mu);
	return known;
}

/*
 * Pack writers. Each putter checks a writer out, so blobs go into packs
 * without a global lock: only the index (which dedups and reserves the
 * blob's place) is touched under mu. A writer streams its pack to the
 * backend through a small buffer; a full pack is sealed, named (by the
 * SHA-256 of its sealed header and trailer, which commit to every blob in
 * it) and committed by the thread that filled it.
 */
#define WRITER_BUF (1024u * 1024)

static int
writer_open(struct repo *r, struct pack_writer *w, struct mm_ctx *c)
{
	return backend_upload_begin(r->be, OBJ_PACK, &w->up, c);
}

static int
writer_drain(struct pack_writer *w, struct mm_ctx *c)
{
	int e;

	if (w->out.len == 0)
		return 0;
	e = backend_upload_append(w->up, w->out.data, w->out.len, c);
	buf_reset(&w->out);
	return e;
}

static int
writer_append(struct pack_writer *w, const void *p, size_t n, struct mm_ctx *c)
{
	int e;

	if (w->out.len + n > WRITER_BUF && (e = writer_drain(w, c)) != 0)
		return e;
	if (n >= WRITER_BUF) {
		e = backend_upload_append(w->up, p, n, c);
	} else if ((e = buf_append(&w->out, p, n)) != 0) {
		e = mm_fail(c, e, "out of memory");
	}
	if (e == 0)
		w->size += n;
	return e;
}

static void
writer_reset(struct pack_writer *w)
{
	backend_upload_abort(w->up);
	w->up = NULL;
	buf_reset(&w->out);
	w->n = 0;
	w->size = 0;
	w->open = 0;
}

/* Header, trailer, name, durable commit; then, under mu, the pack's slot in
 * the index gets its name. Called without mu, on a writer checked out. */
static int
writer_finish(struct repo *r, struct pack_writer *w, struct mm_ctx *c)
{
	struct buf hdr = BUF_INIT, sealed = BUF_INIT;
	uint8_t sum[32];
	char name[65];
	int e;

	if ((e = pack_header_encode(w->entries, w->n, &hdr)) != 0) {
		mm_fail(c, e, "cannot encode pack header");
		goto out;
	}
	if ((e = crypto_seal(r->keys.enc, hdr.data, hdr.len, NULL, 0, &sealed)) != 0 ||
	    (e = buf_append_u32(&sealed, (uint32_t)sealed.len)) != 0) {
		mm_fail(c, e, "cannot seal pack header");
		goto out;
	}
	if ((e = writer_append(w, sealed.data, sealed.len, c)) != 0 ||
	    (e = writer_drain(w, c)) != 0)
		goto out;
	crypto_sha256(sealed.data, sealed.len, sum);
	hex_encode(sum, sizeof(sum), name);
	e = backend_upload_commit(w->up, name, c);
	w->up = NULL;
	if (e != 0)
		goto out;
	pthread_mutex_lock(&r->mu);
	memcpy(r->idx.packs[w->packno].b, sum, MM_ID_LEN);
	r->stored_bytes += w->size;
	pthread_mutex_unlock(&r->mu);
out:
	writer_reset(w);
	buf_release(&hdr);
	buf_release(&sealed);
	return e;
}

/* Under mu: a free writer for blobs of type t, waiting if all are busy. */
static struct pack_writer *
writer_checkout(struct repo *r, enum blob_type t)
{
	for (;;) {
		struct pack_writer *spare = NULL;

		for (size_t i = 0; i < REPO_WRITERS_MAX; i++) {
			struct pack_writer *w = &r->writers[i];
			if (w->busy)
				continue;
			if (w->open && w->type == t) {
				w->busy = 1;
				return w;
			}
			if (!w->open && spare == NULL)
				spare = w;
		}
		if (spare != NULL) {
			spare->busy = 1;
			spare->type = t;
			return spare;
		}
		pthread_cond_wait(&r->writer_free, &r->mu);
	}
}

static void
writer_checkin(struct repo *r, struct pack_writer *w, int failed)
{
	pthread_mutex_lock(&r->mu);
	w->busy = 0;
	if (failed)
		r->pack_failed = 1;
	pthread_cond_broadcast(&r->writer_free);
	pthread_mutex_unlock(&r->mu);
}

static int
writer_add_entry(struct pack_writer *w, const struct sealed_blob *s, struct mm_ctx *c)
{
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;
		struct pack_entry *ne = realloc(w->entries, ncap * sizeof(*ne));
		if (ne == NULL)
			return mm_fail(c, MM_ENOMEM, "out of memory");
		w->entries = ne;
		w->cap = ncap;
	}
	w->entries[w->n].type = s->type;
	w->entries[w->n].length = (uint32_t)s->data.len;
	w->entries[w->n].raw_len = s->raw_len;
	w->entries[w->n].id = s->id;
	w->n++;
	return 0;
}

int
repo_blob_put(struct repo *r, struct sealed_blob *s, int *added, struct mm_ctx *c)
{
	static const struct mm_id unnamed;
	struct pack_writer *w;
	struct blob_loc loc;
	int e = 0, opening;

	*added = 0;
	pthread_mutex_lock(&r->mu);
	if (index_find(&r->idx, &s->id, &loc) == 0) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	w = writer_checkout(r, s->type);
	opening = !w->open;
	if (opening && (e = index_add_pack(&r->idx, &unnamed, &w->packno)) != 0) {
		e = mm_fail(c, e, "too many packs");
		goto unlock;
	}
	w->open = 1;
	loc = (struct blob_loc){ w->packno, (uint32_t)w->size, (uint32_t)s->data.len, s->raw_len,
				 s->type };
	/* Indexed now, so a concurrent put of the same blob stops above. */
	if ((e = index_add(&r->idx, &s->id, &loc, NULL)) != 0) {
		e = mm_fail(c, e, "out of memory");
		goto unlock;
	}
	r->stored_blobs++;
	*added = 1;
unlock:
	pthread_mutex_unlock(&r->mu);
	if (e == 0 && opening)
		e = writer_open(r, w, c);
	if (e == 0 && (e = writer_add_entry(w, s, c)) == 0)
		e = writer_append(w, s->data.data, s->data.len, c);
	if (e == 0 && w->size >= REPO_PACK_TARGET)
		e = writer_finish(r, w, c);
	if (e != 0)
		writer_reset(w);
	writer_checkin(r, w, e != 0);
	return e;
}

int
repo_blob_save(struct repo *r, enum blob_type t, const void *p, size_t n, struct mm_id *id,
	       struct mm_ctx *c)
{
	struct sealed_blob s;
	int added, e;

	repo_blob_id(r, p, n, id);
	if (repo_blob_known(r, id))
		return 0;
	if ((e = repo_blob_seal(r, t, id, p, n, &s)) != 0)
		return mm_fail(c, e, "cannot compress and encrypt a blob");
	e = repo_blob_put(r, &s, &added, c);
	sealed_blob_release(&s);
	return e;
}

int
repo_flush(struct repo *r, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	char name[65];
	int e = 0;

	pthread_mutex_lock(&r->mu);
	/* Take every writer, so none is filling while its pack is closed. */
	for (size_t i = 0; i < REPO_WRITERS_MAX; i++) {
		while (r->writers[i].busy)
			pthread_cond_wait(&r->writer_free, &r->mu);
		r->writers[i].busy = 1;
	}
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; i < REPO_WRITERS_MAX; i++) {
		struct pack_writer *w = &r->writers[i];
		int we = 0;
		if (w->open && e == 0 && !r->pack_failed)
			we = writer_finish(r, w, c);
		else
			writer_reset(w);
		if (we != 0 && e == 0)
			e = we;
	}
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < REPO_WRITERS_MAX; i++)
		r->writers[i].busy = 0;
	pthread_cond_broadcast(&r->writer_free);
	if (e == 0 && r->pack_failed)
		e = mm_fail(c, MM_EIO, "a pack could not be written; no index names its blobs");
	/* Packs were committed without waiting for the disk: they are made
	 * durable here, all at once, before an index names them. */
	if (e == 0)
		e = backend_sync(r->be, c);
	/* New packs go into index objects of about INDEX_OBJECT_BLOBS blobs
	 * each, so writing the index never needs memory for all of it at once
	 * (a million tiny files make a million blobs). */
	while (e == 0 && r->idx.npacks > r->idx_saved) {
		uint32_t end = index_group_end(&r->idx, r->idx_saved, INDEX_OBJECT_BLOBS);
		buf_reset(&plain);
		if ((e = index_encode_range(&r->idx, r->idx_saved, end, &plain)) != 0)
			mm_fail(c, e, "cannot encode index");
		else if ((e = repo_object_write(r, OBJ_INDEX, &plain, name, c)) == 0)
			r->idx_saved = end;
	}
	pthread_mutex_unlock(&r->mu);
	buf_release(&plain);
	return e;
}

static int
load_index_object(const char *name, uint64_t size, void *arg)
{
	struct repo *r = ((void **)arg)[0];
	struct mm_ctx *c = ((void **)arg)[1];
	struct buf plain = BUF_INIT;
	struct mm_ctx rc = MM_CTX_INIT;
	int e;

	if ((e = repo_object_read(r, OBJ_INDEX, name, REPO_INDEX_MAX, &plain, &rc)) == MM_EAUTH ||
	    e == MM_ECORRUPT) {
		struct mm_ctx *nd = realloc(r->idx_damaged, (r->nidx_damaged + 1) * sizeof(*nd));
		if (nd == NULL) {
			e = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		r->idx_damaged = nd;
		nd[r->nidx_damaged++] = rc;
		e = 0;
		goto out;
	}
	if (e != 0) {
		*c = rc;
		goto out;
	}
	if ((e = index_decode(&r->idx, plain.data, plain.len, c)) != 0)
		mm_prefix(c, e, "index/%s", name);
out:
	buf_release(&plain);
	return e;
}

int
repo_load_index(struct repo *r, struct mm_ctx *c)
{
	void *arg[2] = { r, c };
	int e;

	pthread_mutex_lock(&r->mu);
	e = backend_list(r->be, OBJ_INDEX, load_index_object, arg, c);
	if (e == 0)
		r->idx_saved = (uint32_t)r->idx.npacks;
	pthread_mutex_unlock(&r->mu);
	return e;
}

/* An error about one blob, named by the start of its ID. */
static int
blob_fail(struct mm_ctx *c, int e, const struct mm_id *id, const char *what)
{
	char hex[65];

	hex_encode(id->b, MM_ID_LEN, hex);
	return mm_fail(c, e, "blob %.16s: %s", hex, what);
}

int
repo_blob_open(struct repo *r, const struct mm_id *id, const struct blob_loc *loc,
	       const uint8_t *stored, unsigned flags, struct buf *out, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	uint8_t aad[BLOB_AAD_LEN];
	struct mm_id got;
	int e;

	if (loc->raw_len > REPO_BLOB_MAX)
		return blob_fail(c, MM_ECORRUPT, id, "size beyond the limit");
	blob_aad(aad, id, loc->type, loc->raw_len);
	buf_reset(out);
	/* Stored uncompressed: decrypt straight into the caller's buffer. */
	e = crypto_open(r->keys.enc, stored, loc->length, aad, sizeof(aad),
			loc->raw_len ? &plain : out);
	if (e != 0) {
		e = blob_fail(c, e, id, "authentication failed (altered, damaged or misplaced)");
		goto out;
	}
	if (loc->raw_len) {
		size_t z;
		if ((e = buf_reserve(out, loc->raw_len)) != 0)
			goto out;
		ZSTD_DCtx *d = zcache_take(&r->zd);
		if (d == NULL && (d = ZSTD_createDCtx()) == NULL) {
			e = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		z = ZSTD_decompressDCtx(d, out->data, loc->raw_len, plain.data, plain.len);
		if (zcache_give(&r->zd, d) != 0)
			ZSTD_freeDCtx(d);
		if (ZSTD_isError(z) || z != loc->raw_len) {
			e = blob_fail(c, MM_ECORRUPT, id, "does not decompress");
			goto out;
		}
		out->len = z;
	}
	if (flags & REPO_VERIFY_ID) {
		repo_blob_id(r, out->data, out->len, &got);
		if (crypto_memcmp(got.b, id->b, MM_ID_LEN) != 0)
			e = blob_fail(c, MM_EAUTH, id, "content does not match its ID");
	}
out:
	buf_release(&plain);
	return e;
}

int
repo_blob_size(struct repo *r, const struct mm_id *id, uint64_t *size)
{
	struct blob_loc loc;
	int e;

	pthread_mutex_lock(&r->mu);
	e = index_find(&r->idx, id, &loc);
	pthread_mutex_unlock(&r->mu);
	if (e != 0)
		return MM_ENOENT;
	if (loc.raw_len == 0 && loc.length < MM_AEAD_OVERHEAD)
		return MM_ECORRUPT;
	*size = loc.raw_len ? loc.raw_len : loc.length - MM_AEAD_OVERHEAD;
	return 0;
}

int
repo_blob_read(struct repo *r, const struct mm_id *id, struct buf *out, struct mm_ctx *c)
{
	struct buf stored = BUF_INIT;
	struct blob_loc loc;
	char pack[65], hex[65];
	int e;

	pthread_mutex_lock(&r->mu);
	e = index_find(&r->idx, id, &loc);
	if (e == 0)
		hex_encode(r->idx.packs[loc.pack].b, MM_ID_LEN, pack);
	pthread_mutex_unlock(&r->mu);
	if (e != 0) {
		hex_encode(id->b, MM_ID_LEN, hex);
		return mm_fail(c, MM_ENOENT, "blob %.16s is not in the index", hex);
	}
	if ((e = backend_read(r->be, OBJ_PACK, pack, loc.offset, loc.length, &stored, c)) != 0) {
		mm_prefix(c, e, "pack %.16s", pack);
		goto out;
	}
	if ((e = repo_blob_open(r, id, &loc, stored.data, 0, out, c)) != 0)
		mm_prefix(c, e, "pack %.16s", pack);
out:
	buf_release(&stored);
	return e;
}

int
repo_tree_load(struct repo *r, const struct mm_id *id, struct tree *out, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	struct mm_id got;
	char hex[65];
	int e;

	if ((e = repo_blob_read(r, id, &plain, c)) != 0)
		goto out;
	/* A key holder can seal any bytes under any ID: a tree that names
	 * itself or an ancestor as a subfolder would make every walk endless.
	 * Its ID must be the HMAC of its bytes (infeasible to forge into a
	 * cycle); trees are small next to the data, so this is always done. */
	repo_blob_id(r, plain.data, plain.len, &got);
	hex_encode(id->b, MM_ID_LEN, hex);
	if (crypto_memcmp(got.b, id->b, MM_ID_LEN) != 0) {
		e = mm_fail(c, MM_EAUTH, "tree %.16s: content does not match its ID (forged or "
			    "damaged)", hex);
		goto out;
	}
	if ((e = tree_decode(plain.data, plain.len, out, c)) != 0)
		mm_prefix(c, e, "tree %.16s", hex);
out:
	buf_release(&plain);
	return e;
}

int
repo_tree_save(struct repo *r, const struct tree *t, struct mm_id *id, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	int e;

	buf_init(&plain, REPO_BLOB_MAX);
	if ((e = tree_encode(t, &plain)) != 0)
		mm_fail(c, e, "cannot encode a tree");
	else
		e = repo_blob_save(r, BLOB_TREE, plain.data, plain.len, id, c);
	buf_release(&plain);
	return e;
}

int
repo_pack_header_len(const uint8_t *tail, size_t tail_len, uint64_t pack_size, uint32_t *hlen,
		     struct mm_ctx *c)
{
	const uint8_t *t = tail + tail_len - 4;

	if (tail_len < 4 || pack_size < 4)
		return mm_fail(c, MM_ECORRUPT, "pack is %llu bytes, too short for a trailer",
			       (unsigned long long)pack_size);
	*hlen = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
	if (*hlen > pack_size - 4 || *hlen > REPO_PACK_HEADER_MAX || *hlen < MM_AEAD_OVERHEAD)
		return mm_fail(c, MM_ECORRUPT,
			       "pack header length %u impossible for a pack of %llu bytes", *hlen,
			       (unsigned long long)pack_size);
	return 0;
}

int
repo_pack_parse_tail(const struct repo *r, const uint8_t *tail, size_t tail_len,
		     uint64_t pack_size, struct pack_entry **out, size_t *nentries, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	uint64_t total = 0;
	uint32_t hlen = 0;
	int e;

	if ((e = repo_pack_header_len(tail, tail_len, pack_size, &hlen, c)) != 0)
		return e;
	if ((uint64_t)hlen + 4 > tail_len)
		return mm_fail(c, MM_EINVAL, "pack header: %u bytes needed, %zu given", hlen + 4,
			       tail_len);
	if ((e = crypto_open(r->keys.enc, tail + tail_len - 4 - hlen, hlen, NULL, 0, &plain)) != 0) {
		e = mm_fail(c, e, "pack header: authentication failed (altered or damaged)");
		goto out;
	}
	if ((e = pack_header_decode(plain.data, plain.len, out, nentries, c)) != 0)
		goto out;
	for (size_t i = 0; i < *nentries; i++)
		total += (*out)[i].length;
	if (total != pack_size - 4 - hlen) {
		free(*out);
		*out = NULL;
		e = mm_fail(c, MM_ECORRUPT, "pack header lists %llu bytes of blobs, pack holds %llu",
			    (unsigned long long)total, (unsigned long long)(pack_size - 4 - hlen));
	}
out:
	buf_release(&plain);
	return e;
}
