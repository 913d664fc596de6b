/*
 * s3: a repository in an S3 bucket (AWS S3, Ceph RGW, MinIO...), over
 * libcurl. Objects keep the local layout below an optional prefix:
 *
 *   PREFIX/config, PREFIX/keys/NAME, PREFIX/data/XX/NAME, PREFIX/index/NAME,
 *   PREFIX/snapshots/NAME, PREFIX/locks/NAME
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4). libcurl 7.88 neither
 * adds x-amz-content-sha256 nor hashes a body it reads through a callback,
 * so every request carries that header with the SHA-256 of its body: the
 * store then checks that the bytes arrived as sent (UNSIGNED-PAYLOAD would
 * leave a flipped bit to `check --read-data`). A PUT is atomic on S3, so
 * write is one PUT; streamed uploads use the generic in-memory path (a pack
 * is at most about 16 MiB, one per writing thread).
 *
 * Thread-safe: each request borrows an easy handle from a small pool; all
 * handles share DNS answers, TLS sessions and connections (a curl share
 * with its own locks). Every request has a connect timeout and a
 * low-speed limit, and is retried with exponential backoff and jitter when
 * the failure can pass (5xx, SlowDown, a reset, a timeout, a refused
 * connection while a gateway restarts).
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend/backend.h"
#include "backend/backend_internal.h"
#include "backend/s3_internal.h"
#include "crypto/crypto.h"

/* ---- objects ------------------------------------------------------------ */

static int
key_of(enum obj_type t, const char *name, char **out, struct mm_ctx *c)
{
	int r;

	if ((r = backend_check_name(t, name, c)) != 0)
		return r;
	if ((*out = backend_obj_path(t, name)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	return 0;
}

static void
req_release(struct s3_req *q)
{
	buf_release(&q->err);
}

/* HEAD the bucket: 0 if it is there, MM_ENOBUCKET if not. */
static int
bucket_check(struct s3_be *sb, struct mm_ctx *c)
{
	struct s3_req q = { .method = "HEAD" };
	int r = s3_request(sb, &q, c);

	if (r != 0 && q.status == 404)
		r = mm_fail(c, MM_ENOBUCKET, "bucket '%s' does not exist on %s; create it (mamori "
			    "init does when the key may) or correct the location", sb->cf.bucket,
			    sb->cf.host);
	req_release(&q);
	return r;
}

/* A HEAD answers 404 without a body: is the object or the bucket missing? */
static int
head_missing(struct s3_be *sb, const char *key, struct mm_ctx *c)
{
	int r;

	if (!atomic_load(&sb->bucket_seen) && (r = bucket_check(sb, c)) != 0)
		return r;
	atomic_store(&sb->bucket_seen, 1);
	return mm_fail(c, MM_ENOENT, "%s%s: no such object", sb->cf.prefix, key);
}

static int
s3_stat(struct backend *be, enum obj_type t, const char *name, uint64_t *size, struct mm_ctx *c)
{
	struct s3_be *sb = s3_of(be);
	struct s3_req q = { .method = "HEAD" };
	char *key = NULL;
	int r;

	if ((r = key_of(t, name, &key, c)) != 0)
		return r;
	q.key = key;
	r = s3_request(sb, &q, c);
	if (r != 0 && q.status == 404)
		r = head_missing(sb, key, c);
	else if (r == 0 && !q.have_length)
		r = mm_fail(c, MM_EREMOTE, "HEAD %s%s: the store gave no size", sb->cf.prefix, key);
	if (r == 0)
		*size = q.length;
	req_release(&q);
	free(key);
	return r;
}

static int
s3_write(struct backend *be, enum obj_type t, const char *name, const void *p, size_t n,
	 struct mm_ctx *c)
{
	struct s3_be *sb = s3_of(be);
	struct s3_req q = { .method = "PUT" };
	uint64_t size;
	char *key = NULL;
	int r;

	if (t == OBJ_CONFIG) {
		/* Never replace it (as local; two racing inits can still both write). */
		r = s3_stat(be, t, name, &size, c);
		if (r == 0) {
			r = mm_fail(c, MM_EEXIST, "%sconfig: already exists", sb->cf.prefix);
			goto out;
		}
		if (r != MM_ENOENT)
			goto out;
	}
	if ((r = key_of(t, name, &key, c)) != 0)
		goto out;
	q.key = key;
	q.body = p;
	q.body_len = n;
	r = s3_request(sb, &q, c);
out:
	req_release(&q);
	free(key);
	return r;
}

/* From the read-ahead slots: 1 if [off, off+len) of pack name is there
 * (appended to out), 0 if not, <0 on error. Packs never change once
 * written (their name is their content's hash), so a slot never goes
 * stale. */
static int
ra_lookup(struct s3_be *sb, const char *name, uint64_t off, size_t len, struct buf *out)
{
	int r = 0;

	pthread_mutex_lock(&sb->ra_mu);
	for (size_t i = 0; i < S3_RA_SLOTS; i++) {
		struct s3_ra *a = &sb->ra[i];
		if (strcmp(a->name, name) != 0 || off < a->start || off - a->start > a->data.len ||
		    len > a->data.len - (off - a->start))
			continue;
		r = buf_append(out, a->data.data + (off - a->start), len);
		if (r == 0) {
			a->last = ++sb->ra_tick;
			r = 1;
		}
		break;
	}
	pthread_mutex_unlock(&sb->ra_mu);
	return r;
}

/* Keep a fetched window (taking its memory) in the least recently used slot. */
static void
ra_keep(struct s3_be *sb, const char *name, uint64_t start, struct buf *data)
{
	struct s3_ra *victim = &sb->ra[0];

	pthread_mutex_lock(&sb->ra_mu);
	for (size_t i = 1; i < S3_RA_SLOTS; i++)
		if (sb->ra[i].last < victim->last)
			victim = &sb->ra[i];
	buf_release(&victim->data);
	snprintf(victim->name, sizeof(victim->name), "%s", name);
	victim->start = start;
	buf_swap(&victim->data, data);
	victim->last = ++sb->ra_tick;
	pthread_mutex_unlock(&sb->ra_mu);
}

static int s3_read_direct(struct s3_be *sb, const char *key, uint64_t off, size_t len,
			  int allow_short, struct buf *out, uint64_t *got, struct mm_ctx *c);

/* A small read of a pack: served from, or through, the read-ahead slots. */
static int
read_ahead(struct s3_be *sb, const char *name, const char *key, uint64_t off, size_t len,
	   struct buf *out, struct mm_ctx *c)
{
	struct buf win = BUF_INIT;
	uint64_t start = off - off % S3_RA_WINDOW, got = 0;
	int r;

	if ((r = ra_lookup(sb, name, off, len, out)) != 0)
		return r < 0 ? mm_fail(c, r, "out of memory") : 0;
	if (off + len > start + S3_RA_WINDOW)
		start = off; /* across a window's end: a window from here */
	if ((r = s3_read_direct(sb, key, start, S3_RA_WINDOW, 1, &win, &got, c)) != 0)
		goto out;
	if (got < off - start + len) {
		r = mm_fail(c, MM_ECORRUPT, "%s%s: read of %zu bytes at offset %llu is past the end "
			    "of the object", sb->cf.prefix, key, len, (unsigned long long)off);
		goto out;
	}
	if ((r = buf_append(out, win.data + (off - start), len)) != 0) {
		r = mm_fail(c, r, "out of memory");
		goto out;
	}
	ra_keep(sb, name, start, &win);
	r = 0;
out:
	buf_release(&win);
	return r;
}

static int
s3_read(struct backend *be, enum obj_type t, const char *name, uint64_t off, size_t len,
	struct buf *out, struct mm_ctx *c)
{
	struct s3_be *sb = s3_of(be);
	char *key = NULL;
	uint64_t got;
	int r;

	if ((r = key_of(t, name, &key, c)) != 0)
		return r;
	if (t == OBJ_PACK && len > 0 && len <= S3_RA_WINDOW / 4)
		r = read_ahead(sb, name, key, off, len, out, c);
	else
		r = s3_read_direct(sb, key, off, len, 0, out, &got, c);
	free(key);
	return r;
}

/* GET [off, off+len) (len 0: to the end) appended to out; with allow_short
 * an object that ends sooner is not an error (*got says how much came). */
static int
s3_read_direct(struct s3_be *sb, const char *key, uint64_t off, size_t len, int allow_short,
	       struct buf *out, uint64_t *got, struct mm_ctx *c)
{
	struct s3_req q = { .method = "GET" };
	int r;

	q.key = key;
	q.out = out;
	q.ranged = off != 0 || len != 0;
	q.off = off;
	q.len = len;
	if (len != 0 && (r = buf_reserve(out, len)) != 0) {
		r = mm_fail(c, r, "%s%s: cannot hold %zu bytes in memory", sb->cf.prefix, key, len);
		goto out;
	}
	r = s3_request(sb, &q, c);
	if (r != 0 && q.status == 416)
		r = mm_fail(c, MM_ECORRUPT, "%s%s: read of %zu bytes at offset %llu is past the end "
			    "of the object", sb->cf.prefix, key, len, (unsigned long long)off);
	*got = q.got;
	if (r == 0 && len != 0 && q.got != len && !allow_short) {
		out->len = q.out_start;
		r = mm_fail(c, MM_ECORRUPT, "%s%s: read of %zu bytes at offset %llu is past the end "
			    "of the object (%llu bytes came)", sb->cf.prefix, key, len,
			    (unsigned long long)off, (unsigned long long)q.got);
	}
out:
	req_release(&q);
	return r;
}

static int
s3_remove(struct backend *be, enum obj_type t, const char *name, struct mm_ctx *c)
{
	struct s3_be *sb = s3_of(be);
	struct s3_req q = { .method = "DELETE" };
	char *key = NULL;
	int r;

	if ((r = key_of(t, name, &key, c)) != 0)
		return r;
	q.key = key;
	r = s3_request(sb, &q, c);
	req_release(&q);
	free(key);
	return r;
}

/* Is key (below the prefix) an object of type t laid out as mamori lays it
 * out? Then *name points at its name inside key. */
static int
key_listable(enum obj_type t, const char *key, const char **name)
{
	const char *dir = backend_type_dir(t);
	size_t dl = strlen(dir);

	if (strncmp(key, dir, dl) != 0 || key[dl] != '/')
		return 0;
	key += dl + 1;
	if (t == OBJ_PACK) {
		if (strlen(key) < 3 || key[2] != '/' || strncmp(key, key + 3, 2) != 0)
			return 0;
		key += 3;
	}
	*name = key;
	return backend_name_listable(key);
}

static int
s3_list(struct backend *be, enum obj_type t, backend_list_cb cb, void *arg, struct mm_ctx *c)
{
	struct s3_be *sb = s3_of(be);
	struct s3_list_page page = { 0 };
	struct buf query = BUF_INIT, body = BUF_INIT, pfx = BUF_INIT;
	size_t plen = strlen(sb->cf.prefix);
	char num[16];
	int r;

	if ((unsigned)t >= OBJ_TYPE_COUNT || t == OBJ_CONFIG)
		return mm_fail(c, MM_EINVAL, "cannot list objects of type %d", (int)t);
	buf_init(&body, S3_LIST_BODY_MAX);
	if (buf_append(&pfx, sb->cf.prefix, plen) != 0 ||
	    buf_append(&pfx, backend_type_dir(t), strlen(backend_type_dir(t))) != 0 ||
	    buf_append(&pfx, "/", 2) != 0) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		struct s3_req q = { .method = "GET" };

		/* libcurl 7.88 signs the query as given: it must already be in
		 * canonical form (parameters sorted, values encoded). */
		buf_reset(&query);
		if (page.next_token != NULL &&
		    (buf_append(&query, "continuation-token=", 19) != 0 ||
		     s3_append_encoded(&query, page.next_token, 0) != 0 || buf_append_u8(&query, '&') != 0)) {
			r = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(num, sizeof(num), "%d", sb->cf.list_keys);
		if (buf_append(&query, "list-type=2&max-keys=", 21) != 0 ||
		    buf_append(&query, num, strlen(num)) != 0 ||
		    buf_append(&query, "&prefix=", 8) != 0 ||
		    s3_append_encoded(&query, (const char *)pfx.data, 0) != 0 ||
		    buf_append_u8(&query, '\0') != 0) {
			r = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		q.query = (const char *)query.data;
		q.out = &body;
		buf_reset(&body);
		r = s3_request(sb, &q, c);
		req_release(&q);
		if (r != 0)
			goto out;
		page.n = 0;
		page.truncated = 0;
		if ((r = s3_xml_list((const char *)body.data, body.len, &page, c)) != 0) {
			mm_prefix(c, r, "list %s%s/", sb->cf.prefix, backend_type_dir(t));
			goto out;
		}
		atomic_store(&sb->bucket_seen, 1);
		for (size_t i = 0; i < page.n; i++) {
			const char *name;
			if (strncmp(page.items[i].key, sb->cf.prefix, plen) != 0 ||
			    !key_listable(t, page.items[i].key + plen, &name))
				continue;
			if ((r = cb(name, page.items[i].size, arg)) != 0)
				goto out;
		}
		if (!page.truncated)
			break;
	}
	r = 0;
out:
	s3_list_page_release(&page);
	buf_release(&query);
	buf_release(&body);
	buf_release(&pfx);
	return r;
}

static int
s3_create(struct backend *be, struct mm_ctx *c)
{
	struct s3_be *sb = s3_of(be);
	struct mm_ctx ignored = MM_CTX_INIT;
	struct buf loc = BUF_INIT;
	uint64_t size;
	int r;

	r = bucket_check(sb, c);
	if (r == MM_ENOBUCKET) {
		/* Make it, if the key may: CreateBucket, with the region unless it
		 * is the default one (which S3 wants without a constraint). */
		struct s3_req q = { .method = "PUT" };
		if (strcmp(sb->cf.region, "us-east-1") != 0 &&
		    (buf_append(&loc, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/"
				"doc/2006-03-01/\"><LocationConstraint>", 83) != 0 ||
		     buf_append(&loc, sb->cf.region, strlen(sb->cf.region)) != 0 ||
		     buf_append(&loc, "</LocationConstraint></CreateBucketConfiguration>", 49) != 0)) {
			r = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		q.body = loc.data;
		q.body_len = loc.len;
		r = s3_request(sb, &q, c);
		if (r != 0 && strcmp(q.xe.code, "BucketAlreadyOwnedByYou") == 0)
			r = 0;
		req_release(&q);
		if (r != 0) {
			mm_prefix(c, r, "bucket '%s' does not exist and cannot be created", sb->cf.bucket);
			goto out;
		}
	} else if (r != 0) {
		goto out;
	}
	r = s3_stat(be, OBJ_CONFIG, NULL, &size, &ignored);
	if (r == 0) {
		r = mm_fail(c, MM_EEXIST, "%s: a repository already exists", sb->be.location);
		goto out;
	}
	if (r != MM_ENOENT) {
		mm_fail(c, r, "%s", ignored.msg);
		goto out;
	}
	r = 0;
out:
	buf_release(&loc);
	return r;
}

static void
s3_free(struct backend *be)
{
	struct s3_be *sb = s3_of(be);

	for (size_t i = 0; i < sb->npool; i++)
		curl_easy_cleanup(sb->pool[i]);
	if (sb->share != NULL)
		curl_share_cleanup(sb->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&sb->share_mu[i]);
	pthread_mutex_destroy(&sb->pool_mu);
	for (size_t i = 0; i < S3_RA_SLOTS; i++)
		buf_release(&sb->ra[i].data);
	pthread_mutex_destroy(&sb->ra_mu);
	s3_conf_release(&sb->cf);
	free(sb->base);
	free(sb->bucket_path);
	free(sb->be.location);
	free(sb);
}

static const struct backend_ops s3_ops = {
	.write = s3_write,
	.read = s3_read,
	.stat = s3_stat,
	.remove = s3_remove,
	.list = s3_list,
	.create = s3_create,
	.free = s3_free,
};

/* ---- opening -------------------------------------------------------------- */

static void
share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *arg)
{
	struct s3_be *sb = arg;

	(void)h, (void)a;
	if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&sb->share_mu[d]);
}

static void
share_unlock(CURL *h, curl_lock_data d, void *arg)
{
	struct s3_be *sb = arg;

	(void)h;
	if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&sb->share_mu[d]);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void
curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
backend_s3_open(const char *url, struct backend **out, struct mm_ctx *c)
{
	struct s3_be *sb = NULL;
	struct buf b = BUF_INIT;
	char port[16] = "";
	int r;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return mm_fail(c, MM_EIO, "libcurl cannot start: %s",
			       curl_easy_strerror(curl_init_result));
	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&sb->share_mu[i], NULL);
	pthread_mutex_init(&sb->pool_mu, NULL);
	pthread_mutex_init(&sb->ra_mu, NULL);
	sb->be.ops = &s3_ops;
	if ((r = s3_conf_load(url, &sb->cf, c)) != 0)
		goto out;
	if (sb->cf.port != 0)
		snprintf(port, sizeof(port), ":%d", sb->cf.port);
	if (buf_append(&b, sb->cf.scheme, strlen(sb->cf.scheme)) != 0 ||
	    buf_append(&b, "://", 3) != 0 ||
	    (sb->cf.vhost && (buf_append(&b, sb->cf.bucket, strlen(sb->cf.bucket)) != 0 ||
			      buf_append_u8(&b, '.') != 0)) ||
	    buf_append(&b, sb->cf.host, strlen(sb->cf.host)) != 0 ||
	    buf_append(&b, port, strlen(port) + 1) != 0)
		goto nomem;
	sb->base = (char *)b.data;
	b.data = NULL;
	if (sb->cf.vhost)
		sb->bucket_path = strdup("");
	else if ((sb->bucket_path = malloc(strlen(sb->cf.bucket) + 2)) != NULL)
		snprintf(sb->bucket_path, strlen(sb->cf.bucket) + 2, "/%s", sb->cf.bucket);
	if (sb->bucket_path == NULL || (sb->be.location = strdup(url)) == NULL)
		goto nomem;
	snprintf(sb->sigv4, sizeof(sb->sigv4), "aws:amz:%s:s3", sb->cf.region);
	if ((sb->share = curl_share_init()) == NULL)
		goto nomem;
	curl_share_setopt(sb->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(sb->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(sb->share, CURLSHOPT_USERDATA, sb);
	curl_share_setopt(sb->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(sb->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(sb->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	*out = &sb->be;
	sb = NULL;
	r = 0;
	goto out;
nomem:
	r = mm_fail(c, MM_ENOMEM, "out of memory");
out:
	buf_release(&b);
	if (sb != NULL)
		s3_free(&sb->be);
	return r;
}
