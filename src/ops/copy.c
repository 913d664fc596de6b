/*
 * copy: snapshots from one repository into another with its own keys.
 *
 * Blob IDs are HMAC-SHA-256 under each repository's ID key, so the two
 * must share that key (and the chunker's parameters and gear key) for
 * equal data to have equal IDs: `init --copy-chunker-params-from` makes
 * such a target. Then trees are copied byte for byte (their IDs hold),
 * each blob is decrypted from the source, checked against its ID, and
 * sealed under the target's encryption key; a blob or tree the target
 * has is not sent. Without shared keys every tree would have to be
 * rewritten under new IDs; that is refused with what to do instead.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/*
 * Data blobs go through the pool's threads (read from the source, check,
 * seal, put), several at a time, so that sealing overlaps the transfers;
 * trees are walked and put by the calling thread. mu guards res and the
 * first error.
 */
struct copier {
	struct repo *src, *dst;
	struct copy_result *res;
	const struct ops_report *rep;
	double t0;
	struct mm_ctx *c;
	struct pool *pool;
	pthread_mutex_t mu;
	int err;              /* the first failure of a job */
	struct mm_ctx err_ctx;
};

struct blob_job {
	struct copier *k;
	struct mm_id id;
};

void
copy_result_release(struct copy_result *res)
{
	free(res->from);
	free(res->to);
	res->from = res->to = NULL;
	res->n = 0;
}

static void
short_hex(const struct mm_id *id, char out[17])
{
	char hex[65];

	hex_encode(id->b, MM_ID_LEN, hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

static void
progress(struct copier *k)
{
	struct ops_progress p;

	if (k->rep->progress == NULL)
		return;
	memset(&p, 0, sizeof(p));
	pthread_mutex_lock(&k->mu);
	p.files_done = k->res->blobs_sent + k->res->blobs_skipped;
	p.bytes_done = k->res->bytes_sent;
	pthread_mutex_unlock(&k->mu);
	p.elapsed = time_mono() - k->t0;
	k->rep->progress(k->rep->arg, &p);
}

/* Send one blob of src to dst unless dst has it; plain holds its bytes or
 * is empty (then it is read here). Any thread. */
static int
copy_blob(struct copier *k, enum blob_type t, const struct mm_id *id, struct buf *plain,
	  struct mm_ctx *c)
{
	struct sealed_blob s;
	struct mm_id again;
	char hex[17];
	int added = 0, e;

	if (repo_blob_known(k->dst, id)) {
		pthread_mutex_lock(&k->mu);
		k->res->blobs_skipped++;
		pthread_mutex_unlock(&k->mu);
		return 0;
	}
	if (plain->len == 0 && (e = repo_blob_read(k->src, id, plain, c)) != 0) {
		short_hex(id, hex);
		return mm_prefix(c, e, "copy: %s blob %s in the source", t == BLOB_TREE ? "tree" :
				 "data", hex);
	}
	/* The tag already bound the bytes to the ID; recomputing it also
	 * catches a source writer that sealed the wrong bytes. */
	repo_blob_id(k->dst, plain->data, plain->len, &again);
	if (crypto_memcmp(again.b, id->b, MM_ID_LEN) != 0) {
		short_hex(id, hex);
		return mm_fail(c, MM_EAUTH, "copy: blob %s in the source does not hash to its ID "
			       "(damaged when it was written; run 'mamori check --read-data' there)",
			       hex);
	}
	memset(&s, 0, sizeof(s));
	if ((e = repo_blob_seal(k->dst, t, id, plain->data, plain->len, &s)) != 0) {
		short_hex(id, hex);
		return mm_fail(c, e, "copy: cannot seal blob %s", hex);
	}
	e = repo_blob_put(k->dst, &s, &added, c);
	pthread_mutex_lock(&k->mu);
	if (e == 0 && added) {
		k->res->blobs_sent++;
		k->res->trees_sent += t == BLOB_TREE;
		k->res->bytes_sent += plain->len;
		k->res->bytes_stored += s.data.len;
	} else if (e == 0) {
		k->res->blobs_skipped++;
	}
	pthread_mutex_unlock(&k->mu);
	sealed_blob_release(&s);
	return e;
}

static void
blob_job_run(void *arg)
{
	struct blob_job *j = arg;
	struct copier *k = j->k;
	struct mm_ctx c = MM_CTX_INIT;
	struct buf plain = BUF_INIT;
	int e, failed;

	pthread_mutex_lock(&k->mu);
	failed = k->err != 0;
	pthread_mutex_unlock(&k->mu);
	buf_init(&plain, REPO_BLOB_MAX);
	if (!failed && (e = copy_blob(k, BLOB_DATA, &j->id, &plain, &c)) != 0) {
		pthread_mutex_lock(&k->mu);
		if (k->err == 0) {
			k->err = e;
			k->err_ctx = c;
		}
		pthread_mutex_unlock(&k->mu);
	}
	buf_release(&plain);
	free(j);
}

/* Hand a data blob to the pool (unless dst has it or a job failed). */
static int
queue_blob(struct copier *k, const struct mm_id *id)
{
	struct blob_job *j;
	int e;

	pthread_mutex_lock(&k->mu);
	e = k->err;
	pthread_mutex_unlock(&k->mu);
	if (e != 0)
		return e;
	if (repo_blob_known(k->dst, id)) {
		pthread_mutex_lock(&k->mu);
		k->res->blobs_skipped++;
		pthread_mutex_unlock(&k->mu);
		return 0;
	}
	if ((j = malloc(sizeof(*j))) == NULL)
		return mm_fail(k->c, MM_ENOMEM, "out of memory");
	j->k = k;
	j->id = *id;
	if ((e = pool_submit(k->pool, blob_job_run, j)) != 0) {
		free(j);
		return mm_fail(k->c, e, "cannot queue a blob");
	}
	return 0;
}

/* Wait for the queued blobs; their first failure, if any. */
static int
wait_blobs(struct copier *k)
{
	int e;

	pool_wait(k->pool);
	pthread_mutex_lock(&k->mu);
	e = k->err;
	if (e != 0)
		*k->c = k->err_ctx;
	pthread_mutex_unlock(&k->mu);
	return e;
}

/* A tree and everything below it; children before their parent. */
static int
copy_tree(struct copier *k, const struct mm_id *id, unsigned depth)
{
	struct buf plain = BUF_INIT;
	struct tree t = TREE_INIT;
	char hex[17];
	int e;

	if (repo_blob_known(k->dst, id)) {
		/* dst indexed it, so it indexed everything below it too. */
		pthread_mutex_lock(&k->mu);
		k->res->blobs_skipped++;
		pthread_mutex_unlock(&k->mu);
		return 0;
	}
	if (depth > 4096) {
		short_hex(id, hex);
		return mm_fail(k->c, MM_ECORRUPT, "copy: tree %s is nested more than 4096 deep", hex);
	}
	buf_init(&plain, REPO_BLOB_MAX);
	if ((e = repo_blob_read(k->src, id, &plain, k->c)) != 0 ||
	    (e = tree_decode(plain.data, plain.len, &t, k->c)) != 0) {
		short_hex(id, hex);
		mm_prefix(k->c, e, "copy: tree %s in the source", hex);
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct node *nd = &t.nodes[i];

		if (nd->type == NODE_DIR) {
			if ((e = copy_tree(k, &nd->subtree, depth + 1)) != 0)
				goto out;
			continue;
		}
		for (size_t j = 0; j < nd->ncontent; j++)
			if ((e = queue_blob(k, &nd->content[j])) != 0)
				goto out;
		progress(k);
	}
	/* The tree goes in with its blobs queued, not yet stored: nothing
	 * names it before the flush that follows the wait for them. */
	e = copy_blob(k, BLOB_TREE, id, &plain, k->c);
out:
	tree_release(&t);
	buf_release(&plain);
	return e;
}

static int
same_strings(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

/* Is a snapshot like s (tree, time, host, paths) in v? */
static int
already_there(const struct snapshot *s, const struct snapshot *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (memcmp(v[i].tree.b, s->tree.b, MM_ID_LEN) == 0 && v[i].time_ns == s->time_ns &&
		    strcmp(v[i].host, s->host) == 0 &&
		    same_strings(v[i].paths, v[i].npaths, s->paths, s->npaths))
			return 1;
	}
	return 0;
}

static int
copy_one(struct copier *k, const struct snapshot *s)
{
	struct snapshot out;
	struct mm_id *nf, *nt;
	int e, e2;

	e = copy_tree(k, &s->tree, 0);
	/* Every queued blob finished (even after an error: nothing runs on). */
	if ((e2 = wait_blobs(k)) != 0 && e == 0)
		e = e2;
	if (e != 0 || (e = repo_flush(k->dst, k->c)) != 0)
		return e;
	/* The same snapshot, but its parent is the source's: drop it, and
	 * say where the copy came from. */
	out = *s;
	out.has_parent = 0;
	out.has_origin = 1;
	memcpy(out.origin_repo, k->src->cfg.id, sizeof(out.origin_repo));
	out.origin = s->id;
	if ((e = repo_snapshot_save(k->dst, &out, k->c)) != 0)
		return mm_prefix(k->c, e, "copy: snapshot");
	if ((nf = realloc(k->res->from, (k->res->n + 1) * sizeof(*nf))) == NULL)
		return mm_fail(k->c, MM_ENOMEM, "out of memory");
	k->res->from = nf;
	if ((nt = realloc(k->res->to, (k->res->n + 1) * sizeof(*nt))) == NULL)
		return mm_fail(k->c, MM_ENOMEM, "out of memory");
	k->res->to = nt;
	k->res->from[k->res->n] = s->id;
	k->res->to[k->res->n] = out.id;
	k->res->n++;
	k->res->snapshots_copied++;
	return 0;
}

/* Which of v (n snapshots of src) to copy: all, or those the specs name. */
static int
select_snapshots(struct copier *k, const struct copy_opts *o, const struct snapshot *v,
		 size_t n, uint8_t *want)
{
	for (size_t i = 0; i < n; i++)
		want[i] = o->nsnapshots == 0;
	for (size_t j = 0; j < o->nsnapshots; j++) {
		struct snapshot s;
		size_t i;
		int e;

		memset(&s, 0, sizeof(s));
		if ((e = repo_snapshot_find(k->src, o->snapshots[j], &s, k->c)) != 0)
			return mm_prefix(k->c, e, "copy: source");
		for (i = 0; i < n; i++)
			if (memcmp(v[i].id.b, s.id.b, MM_ID_LEN) == 0)
				want[i] = 1;
		snapshot_release(&s);
	}
	return 0;
}

int
ops_copy(struct repo *src, struct repo *dst, const struct copy_opts *o,
	 struct copy_result *res, struct mm_ctx *c)
{
	struct copier k = { src, dst, res, &o->rep, time_mono(), c, NULL,
			     PTHREAD_MUTEX_INITIALIZER, 0, MM_CTX_INIT };
	struct snapshot *sv = NULL, *dv = NULL;
	size_t sn = 0, dn = 0;
	uint8_t *want = NULL;
	int e;

	memset(res, 0, sizeof(*res));
	if (memcmp(src->cfg.id, dst->cfg.id, sizeof(src->cfg.id)) == 0)
		return mm_fail(c, MM_EINVAL, "copy: the source and the target are the same "
			       "repository");
	if (crypto_memcmp(src->keys.id, dst->keys.id, MM_KEY_LEN) != 0 ||
	    crypto_memcmp(src->keys.gear, dst->keys.gear, MM_KEY_LEN) != 0 ||
	    memcmp(&src->cfg.chunker, &dst->cfg.chunker, sizeof(src->cfg.chunker)) != 0)
		return mm_fail(c, MM_EKEYSDIFFER, "copy: the target was not made to deduplicate "
			       "like the source (its chunker parameters and ID key differ, so the "
			       "same data has other IDs there and every tree would have to be "
			       "rewritten); make an empty target with 'mamori -r TARGET init "
			       "--copy-chunker-params-from SOURCE' and copy into that");
	if ((e = repo_snapshot_list(src, &sv, &sn, c)) != 0 ||
	    (e = repo_snapshot_list(dst, &dv, &dn, c)) != 0)
		goto out;
	if ((e = pool_new(o->threads, &k.pool)) != 0) {
		e = mm_fail(c, e, "cannot start threads");
		goto out;
	}
	if ((want = calloc(sn ? sn : 1, 1)) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = select_snapshots(&k, o, sv, sn, want)) != 0)
		goto out;
	for (size_t i = 0; i < sn; i++) {
		if (!want[i])
			continue;
		if (already_there(&sv[i], dv, dn)) {
			res->snapshots_skipped++;
			continue;
		}
		if ((e = repo_lock_refresh(dst, c)) != 0 || (e = repo_lock_refresh(src, c)) != 0 ||
		    (e = copy_one(&k, &sv[i])) != 0)
			goto out;
	}
	e = 0;
out:
	if (k.pool != NULL)
		pool_free(k.pool);
	pthread_mutex_destroy(&k.mu);
	res->seconds = time_mono() - k.t0;
	free(want);
	snapshot_list_free(sv, sn);
	snapshot_list_free(dv, dn);
	return e;
}
