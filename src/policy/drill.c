/*
 * Restore drills: restore a dataset's newest snapshot (or a sample of its
 * files) into a scratch folder, verify every restored byte against the
 * snapshot, measure, and project how long the whole plan would take.
 * Results are drills/NAME objects in the dataset's repository
 * (docs/repository-format.md), so every site that reads it sees them.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"

/* Messages are cut at the end of their buffers on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define DRILL_VERSION 1

void
drill_record_release(struct drill_record *d)
{
	free(d->dataset);
	free(d->host);
	free(d->error);
	memset(d, 0, sizeof(*d));
}

static uint64_t
dbl_bits(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof(u));
	return u;
}

static double
bits_dbl(uint64_t u)
{
	double v;
	memcpy(&v, &u, sizeof(v));
	return v;
}

int
drill_record_encode(const struct drill_record *d, struct buf *out)
{
	int e;

	if ((e = buf_append(out, "MMDR", 4)) != 0 || (e = buf_append_u16(out, DRILL_VERSION)) != 0 ||
	    (e = buf_append_str16(out, d->dataset)) != 0 ||
	    (e = buf_append_str16(out, d->host ? d->host : "")) != 0 ||
	    (e = buf_append_u64(out, (uint64_t)d->time_ns)) != 0 ||
	    (e = buf_append_str16(out, d->snapshot)) != 0 ||
	    (e = buf_append_u64(out, d->files)) != 0 ||
	    (e = buf_append_u64(out, d->bytes)) != 0 ||
	    (e = buf_append_u64(out, d->bytes_total)) != 0 ||
	    (e = buf_append_u64(out, dbl_bits(d->seconds))) != 0 ||
	    (e = buf_append_u64(out, dbl_bits(d->projected))) != 0 ||
	    (e = buf_append_u64(out, dbl_bits(d->cumulative))) != 0 ||
	    (e = buf_append_u64(out, (uint64_t)d->rto)) != 0 ||
	    (e = buf_append_u64(out, dbl_bits(d->sample))) != 0 ||
	    (e = buf_append_u8(out, d->ok ? 1 : 0)) != 0 ||
	    (e = buf_append_str16(out, d->error ? d->error : "")) != 0)
		return e;
	return 0;
}

int
drill_record_decode(const uint8_t *p, size_t n, struct drill_record *d, struct mm_ctx *c)
{
	struct rd r;
	char *snap = NULL;
	uint8_t ok;

	memset(d, 0, sizeof(*d));
	rd_init(&r, p, n);
	if (n < 6 || memcmp(p, "MMDR", 4) != 0)
		return mm_fail(c, MM_ECORRUPT, "not a drill record");
	rd_copy(&r, (uint8_t[4]){ 0 }, 4);
	if (rd_u16(&r) != DRILL_VERSION)
		return mm_fail(c, MM_EUNSUPPORTED, "drill record of an unknown version");
	d->dataset = rd_str16(&r, REPO_NAME_MAX);
	d->host = rd_str16(&r, REPO_NAME_MAX);
	d->time_ns = (int64_t)rd_u64(&r);
	snap = rd_str16(&r, 64);
	d->files = rd_u64(&r);
	d->bytes = rd_u64(&r);
	d->bytes_total = rd_u64(&r);
	d->seconds = bits_dbl(rd_u64(&r));
	d->projected = bits_dbl(rd_u64(&r));
	d->cumulative = bits_dbl(rd_u64(&r));
	d->rto = (int64_t)rd_u64(&r);
	d->sample = bits_dbl(rd_u64(&r));
	ok = rd_u8(&r);
	d->error = rd_str16(&r, 4096);
	if (r.bad || rd_left(&r) != 0 || !d->dataset || !d->host || !snap || !d->error || ok > 1) {
		free(snap);
		drill_record_release(d);
		return mm_fail(c, MM_ECORRUPT, "drill record is malformed");
	}
	d->ok = ok;
	snprintf(d->snapshot, sizeof(d->snapshot), "%s", snap);
	free(snap);
	return 0;
}

struct drill_scan {
	struct repo *r;
	const char *dataset;
	struct drill_record best;
	int found;
	int err;
	struct mm_ctx *c;
};

static int
scan_drill(const char *name, uint64_t size, void *arg)
{
	struct drill_scan *s = arg;
	struct buf plain = BUF_INIT;
	struct drill_record d;
	struct mm_ctx ignore = MM_CTX_INIT;

	(void)size;
	if (repo_object_read(s->r, OBJ_DRILL, name, DRILL_RECORD_MAX, &plain, &ignore) != 0 ||
	    drill_record_decode(plain.data, plain.len, &d, &ignore) != 0) {
		buf_release(&plain);
		return 0; /* an unreadable record is skipped (check reports objects) */
	}
	buf_release(&plain);
	if (strcmp(d.dataset, s->dataset) == 0 && (!s->found || d.time_ns > s->best.time_ns)) {
		drill_record_release(&s->best);
		s->best = d;
		s->found = 1;
	} else {
		drill_record_release(&d);
	}
	return 0;
}

int
policy_last_drill(struct repo *r, const char *dataset, struct drill_record *out, struct mm_ctx *c)
{
	struct drill_scan s;
	int e;

	memset(&s, 0, sizeof(s));
	s.r = r;
	s.dataset = dataset;
	s.c = c;
	if ((e = backend_list(r->be, OBJ_DRILL, scan_drill, &s, c)) != 0) {
		drill_record_release(&s.best);
		return e;
	}
	if (!s.found)
		return 0;
	*out = s.best;
	return 1;
}

/* ---- the drill ---------------------------------------------------------- */

static uint32_t
path_hash(const char *p)
{
	uint32_t h = 2166136261u;

	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

struct sample {
	double pct;
	char **v;
	size_t n, cap;
	char *first;
	uint64_t bytes;
};

static int
sample_walk(void *arg, const char *path, const struct node *n)
{
	struct sample *s = arg;

	if (n->type != NODE_FILE)
		return 0;
	if (s->first == NULL && (s->first = strdup(path)) == NULL)
		return MM_ENOMEM;
	if ((double)(path_hash(path) % 10000) >= s->pct * 100)
		return 0;
	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 64;
		char **nv = realloc(s->v, nc * sizeof(*nv));
		if (nv == NULL)
			return MM_ENOMEM;
		s->v = nv;
		s->cap = nc;
	}
	if ((s->v[s->n] = strdup(path)) == NULL)
		return MM_ENOMEM;
	s->n++;
	return 0;
}

static void
sample_release(struct sample *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->first);
}

struct verify {
	struct repo *r;
	const char *root;
	const struct sample *sample; /* NULL: every file */
	uint64_t files, bytes;
	int err;
	struct mm_ctx *c;
};

static int
selected(const struct sample *s, const char *path)
{
	if (s == NULL)
		return 1;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], path) == 0)
			return 1;
	return 0;
}

static int
verify_file(struct verify *v, const char *path, const struct node *n)
{
	struct buf blob = BUF_INIT;
	uint8_t *tmp = NULL;
	size_t cap = 0;
	uint64_t off = 0;
	char *full = NULL;
	int fd = -1, e = 0;
	struct stat st;

	if ((full = path_join(v->root, path + 1)) == NULL)
		return mm_fail(v->c, MM_ENOMEM, "out of memory");
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		e = mm_fail(v->c, MM_EVERIFY, "%s: not restored: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != n->size) {
		e = mm_fail(v->c, MM_EVERIFY, "%s: restored with %lld bytes, the snapshot has %llu",
			    path, (long long)st.st_size, (unsigned long long)n->size);
		goto out;
	}
	for (size_t i = 0; i < n->ncontent; i++) {
		struct mm_ctx bc = MM_CTX_INIT;
		int pe;

		buf_reset(&blob);
		if ((e = repo_blob_read(v->r, &n->content[i], &blob, &bc)) != 0) {
			e = mm_fail(v->c, MM_EVERIFY, "%s: cannot read its data from the repository: %s",
				    path, bc.msg[0] ? bc.msg : mm_strerror(e));
			goto out;
		}
		if (blob.len > cap) {
			uint8_t *nt = realloc(tmp, blob.len);
			if (nt == NULL) {
				e = mm_fail(v->c, MM_ENOMEM, "out of memory");
				goto out;
			}
			tmp = nt;
			cap = blob.len;
		}
		if ((pe = pread_full(fd, tmp, blob.len, off)) != 0 || memcmp(tmp, blob.data, blob.len) != 0) {
			e = mm_fail(v->c, MM_EVERIFY, "%s: restored bytes differ from the snapshot in "
				    "%llu bytes from offset %llu", path, (unsigned long long)blob.len,
				    (unsigned long long)off);
			goto out;
		}
		off += blob.len;
	}
	v->files++;
	v->bytes += off;
out:
	if (fd >= 0)
		close(fd);
	free(full);
	free(tmp);
	buf_release(&blob);
	return e;
}

static int
verify_walk(void *arg, const char *path, const struct node *n)
{
	struct verify *v = arg;

	if (n->type != NODE_FILE || (n->flags & NODE_F_ERROR) || !selected(v->sample, path))
		return 0;
	if ((v->err = verify_file(v, path, n)) != 0)
		return 1;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) != 0 ? -1 : 0;
	return unlink(path) != 0 ? -1 : 0;
}

static void
rm_tree(const char *path)
{
	(void)nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

struct first_warn {
	char msg[512];
	const struct ops_report *up;
};

static void
keep_first_warn(void *arg, const char *msg)
{
	struct first_warn *w = arg;

	if (w->msg[0] == '\0')
		snprintf(w->msg, sizeof(w->msg), "%s", msg);
	if (w->up && w->up->warn)
		w->up->warn(w->up->arg, msg);
}

static int
set_error(struct drill_record *d, const char *msg)
{
	free(d->error);
	d->error = strdup(msg);
	d->ok = 0;
	return d->error ? 0 : MM_ENOMEM;
}

/* Restore and verify one dataset into root (which does not exist yet).
 * *rp is the repository, left open for the caller to store the record. */
static int
drill_one(const struct policy_dataset *ds, const struct drill_opts *o, const char *root,
	  struct drill_record *d, struct repo **rp, struct mm_ctx *c)
{
	struct repo *r = NULL;
	struct snapshot s;
	struct sample smp;
	struct restore_opts ro;
	struct restore_result res;
	struct first_warn fw;
	struct verify v;
	struct mm_ctx rc = MM_CTX_INIT;
	const struct policy_repo *pr = o->offsite ? ds->copy_to : ds->repo;
	double t0;
	int e, found;

	memset(&s, 0, sizeof(s));
	memset(&smp, 0, sizeof(smp));
	memset(&fw, 0, sizeof(fw));
	*rp = NULL;
	if (pr == NULL) {
		e = set_error(d, "no copy-to repository to drill from");
		goto out;
	}
	if (policy_open_repo(pr, o->password, 1, "drill", &r, &rc) != 0) {
		e = set_error(d, rc.msg);
		goto out;
	}
	*rp = r;
	if ((found = policy_last_snapshot(r, ds, &s, &rc)) <= 0) {
		e = set_error(d, found < 0 ? rc.msg : o->offsite ? "no copy in the offsite repository" :
			      "never backed up");
		goto out;
	}
	hex_encode(s.id.b, MM_ID_LEN, d->snapshot);
	d->bytes_total = s.sum.bytes_total;
	memset(&ro, 0, sizeof(ro));
	ro.target = root;
	ro.threads = pr->threads;
	fw.up = &o->rep;
	ro.rep.warn = keep_first_warn;
	ro.rep.arg = &fw;
	d->sample = 100;
	if (o->sample > 0 && o->sample < 100) {
		smp.pct = o->sample;
		if (ops_walk(r, &s, NULL, sample_walk, &smp, &rc) != 0) {
			e = set_error(d, rc.msg);
			goto out;
		}
		if (smp.n == 0 && smp.first != NULL) { /* at least one file */
			if ((smp.v = malloc(sizeof(char *))) == NULL) {
				e = mm_fail(c, MM_ENOMEM, "out of memory");
				goto out;
			}
			smp.v[0] = smp.first;
			smp.first = NULL;
			smp.n = 1;
		}
		ro.includes = (const char *const *)smp.v;
		ro.nincludes = smp.n;
		d->sample = o->sample;
	}
	t0 = time_mono();
	if (d->sample == 100 || ro.nincludes > 0) {
		if (ops_restore(r, &s, &ro, &res, &rc) != 0) {
			e = set_error(d, rc.msg);
			goto out;
		}
		if (res.errors > 0) {
			e = set_error(d, fw.msg[0] ? fw.msg : "some files could not be restored");
			goto out;
		}
	}
	d->seconds = time_mono() - t0;
	memset(&v, 0, sizeof(v));
	v.r = r;
	v.root = root;
	v.sample = d->sample < 100 ? &smp : NULL;
	v.c = &rc;
	if (ops_walk(r, &s, NULL, verify_walk, &v, &rc) != 0 || v.err != 0) {
		e = set_error(d, rc.msg);
		goto out;
	}
	d->files = v.files;
	d->bytes = v.bytes;
	if (d->bytes > 0 && d->seconds > 0)
		d->projected = (double)d->bytes_total / ((double)d->bytes / d->seconds);
	else
		d->projected = d->seconds;
	d->ok = 1;
	e = 0;
out:
	sample_release(&smp);
	snapshot_release(&s);
	return e;
}

static int
store_record(struct repo *r, const struct drill_record *d, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	char name[65];
	int e;

	if ((e = drill_record_encode(d, &plain)) == 0)
		e = repo_object_write(r, OBJ_DRILL, &plain, name, c);
	buf_release(&plain);
	return e;
}

int
policy_drill(const struct policy *p, const struct policy_dataset *const *ds, size_t n,
	     const struct drill_opts *o, struct drill_record *out, struct mm_ctx *c)
{
	char *scratch = NULL;
	double cumulative = 0;
	int e = 0, made = 0;

	if (o->target != NULL) {
		if ((scratch = strdup(o->target)) == NULL)
			return mm_fail(c, MM_ENOMEM, "out of memory");
		if ((e = mkdir_p(scratch, 0700, c)) != 0)
			goto out;
	} else {
		const char *tmp = getenv("TMPDIR");
		size_t len = strlen(tmp && tmp[0] ? tmp : "/tmp") + 32;

		if ((scratch = malloc(len)) == NULL)
			return mm_fail(c, MM_ENOMEM, "out of memory");
		snprintf(scratch, len, "%s/mamori-drill-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
		if (mkdtemp(scratch) == NULL) {
			e = mm_fail_errno(c, errno, "cannot make a scratch folder %s", scratch);
			goto out;
		}
		made = 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct drill_record *d = &out[i];
		struct repo *r = NULL;
		struct stat st;
		char *root;

		memset(d, 0, sizeof(*d));
		if ((d->dataset = strdup(ds[i]->name)) == NULL || (d->host = strdup("")) == NULL ||
		    (d->error = strdup("")) == NULL || (root = path_join(scratch, ds[i]->name)) == NULL) {
			e = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		{
			char hn[256];
			if (gethostname(hn, sizeof(hn)) == 0) {
				hn[sizeof(hn) - 1] = '\0';
				free(d->host);
				if ((d->host = strdup(hn)) == NULL) {
					free(root);
					e = mm_fail(c, MM_ENOMEM, "out of memory");
					goto out;
				}
			}
		}
		d->time_ns = mm_clock_now(&p->clock);
		d->rto = ds[i]->rto;
		if (lstat(root, &st) == 0) {
			e = mm_fail(c, MM_EEXIST, "%s already exists: give drill an empty --target", root);
			free(root);
			goto out;
		}
		e = drill_one(ds[i], o, root, d, &r, c);
		rm_tree(root);
		free(root);
		if (e != 0) {
			repo_free(r);
			goto out;
		}
		if (d->ok)
			cumulative += d->projected;
		d->cumulative = cumulative;
		if (r != NULL) {
			struct mm_ctx wc = MM_CTX_INIT;
			if (store_record(r, d, &wc) != 0 && d->ok) {
				char msg[1100];
				snprintf(msg, sizeof(msg), "cannot store the drill's result: %s", wc.msg);
				if ((e = set_error(d, msg)) != 0) {
					repo_free(r);
					goto out;
				}
			}
			repo_free(r);
		}
	}
out:
	if (made)
		rm_tree(scratch);
	free(scratch);
	return e;
}
