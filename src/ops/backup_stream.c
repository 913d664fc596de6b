/*
 * A backup of a byte stream (a database dump on a command's standard
 * output) as one file in a new snapshot: read, chunk, store, and write the
 * snapshot only once the stream ended well.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ops/ops.h"
#include "repo/repo_internal.h"

#define STREAM_READ (1024u * 1024)

static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 255 && strchr(s, '/') == NULL && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0;
}

/* Read fd to its end into n's content list. */
static int
stream_chunks(struct repo *r, const struct backup_opts *o, int fd, struct node *n,
	      struct snap_summary *sum, struct mm_ctx *c)
{
	const struct chunker_params *cp = &r->cfg.chunker;
	size_t cap = (size_t)cp->max_size + STREAM_READ, len = 0, ncap = 0;
	uint8_t *win = malloc(cap);
	int eof = 0, e = 0;
	double t0 = time_mono();

	if (win == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	while (!eof || len > 0) {
		size_t cut;

		while (!eof && len < cap) {
			ssize_t got = read(fd, win + len, cap - len);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				e = mm_fail_errno(c, errno, "cannot read the command's output");
				goto out;
			}
			if (got == 0)
				eof = 1;
			len += (size_t)got;
			sum->bytes_read += (uint64_t)got;
		}
		if (len == 0)
			break;
		cut = chunker_next(cp, &r->gear, win, len, eof);
		if (cut == 0)
			cut = len; /* cannot happen with a full window; be safe */
		if (n->ncontent == ncap) {
			size_t nc = ncap ? 2 * ncap : 64;
			struct mm_id *nv = realloc(n->content, nc * sizeof(*nv));
			if (nv == NULL) {
				e = mm_fail(c, MM_ENOMEM, "out of memory");
				goto out;
			}
			n->content = nv;
			ncap = nc;
		}
		if ((e = repo_blob_save(r, BLOB_DATA, win, cut, &n->content[n->ncontent], c)) != 0)
			goto out;
		n->ncontent++;
		n->size += cut;
		memmove(win, win + cut, len - cut);
		len -= cut;
		if (o->rep.progress) {
			struct ops_progress p = { 0 };
			p.bytes_done = n->size;
			p.elapsed = time_mono() - t0;
			o->rep.progress(o->rep.arg, &p);
		}
	}
out:
	free(win);
	return e;
}

/* The snapshot of the stream, not yet saved. */
static int
stream_build(struct repo *r, const struct backup_opts *o, int fd, const char *filename,
	     struct snapshot *out, struct mm_ctx *c)
{
	struct snapshot s;
	struct tree t = TREE_INIT;
	struct node *n;
	double t0 = time_mono();
	int e;

	memset(&s, 0, sizeof(s));
	if (!name_ok(filename))
		return mm_fail(c, MM_EINVAL, "'%s' cannot be a file name in a snapshot (1 to 255 "
			       "bytes, no '/', not . or ..)", filename);
	s.time_ns = o->time_ns ? o->time_ns : time_now_ns();
	s.host = o->host ? strdup(o->host) : repo_hostname();
	s.user = repo_username();
	s.uid = (uint32_t)getuid();
	s.gid = (uint32_t)getgid();
	s.program = strdup("mamori " MAMORI_VERSION);
	s.paths = calloc(1, sizeof(char *));
	if (!s.host || !s.user || !s.program || !s.paths || (s.tags = calloc(o->ntags + 1,
									   sizeof(char *))) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < o->ntags; i++, s.ntags++)
		if ((s.tags[i] = strdup(o->tags[i])) == NULL) {
			e = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
	if ((s.paths[0] = malloc(strlen(filename) + 2)) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	s.paths[0][0] = '/';
	memcpy(s.paths[0] + 1, filename, strlen(filename) + 1);
	s.npaths = 1;
	if ((n = tree_add(&t)) == NULL || (n->name = (uint8_t *)strdup(filename)) == NULL ||
	    (n->user = repo_username()) == NULL || (n->group = strdup("")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	n->name_len = strlen(filename);
	n->type = NODE_FILE;
	n->mode = S_IFREG | 0600;
	n->uid = s.uid;
	n->gid = s.gid;
	n->mtime_ns = n->ctime_ns = n->atime_ns = s.time_ns;
	n->nlink = 1;
	if ((e = stream_chunks(r, o, fd, n, &s.sum, c)) != 0)
		goto out;
	s.sum.files_new = 1;
	s.sum.bytes_total = n->size;
	if ((e = repo_tree_save(r, &t, &s.tree, c)) != 0)
		goto out;
	s.sum.duration_ns = (int64_t)((time_mono() - t0) * 1e9);
	*out = s;
	memset(&s, 0, sizeof(s));
out:
	tree_release(&t);
	snapshot_release(&s);
	return e;
}

/* stored0, blobs0: the repository's counters before the stream. */
static int
stream_commit(struct repo *r, struct snapshot *s, uint64_t stored0, uint64_t blobs0,
	      struct snapshot *out, struct mm_ctx *c)
{
	int e;

	/* Packs and index durable first; the snapshot last. */
	if ((e = repo_flush(r, c)) != 0)
		return e;
	s->sum.bytes_added = r->stored_bytes - stored0;
	s->sum.blobs_added = r->stored_blobs - blobs0;
	if ((e = repo_snapshot_save(r, s, c)) != 0)
		return e;
	*out = *s;
	memset(s, 0, sizeof(*s));
	return 0;
}

int
ops_backup_fd(struct repo *r, const struct backup_opts *o, int fd, const char *filename,
	      struct snapshot *out, struct mm_ctx *c)
{
	struct snapshot s;
	uint64_t stored0 = r->stored_bytes, blobs0 = r->stored_blobs;
	int e;

	memset(&s, 0, sizeof(s));
	if ((e = stream_build(r, o, fd, filename, &s, c)) == 0)
		e = stream_commit(r, &s, stored0, blobs0, out, c);
	snapshot_release(&s);
	return e;
}

int
ops_backup_command(struct repo *r, const struct backup_opts *o, char *const argv[],
		   const char *filename, struct snapshot *out, struct mm_ctx *c)
{
	struct snapshot s;
	struct mm_ctx wc = MM_CTX_INIT;
	uint64_t stored0 = r->stored_bytes, blobs0 = r->stored_blobs;
	int fd = -1, pid = -1, e, we;

	memset(&s, 0, sizeof(s));
	if ((e = proc_spawn(argv, &fd, &pid, c)) != 0)
		return e;
	e = stream_build(r, o, fd, filename, &s, c);
	close(fd);
	if (e != 0)
		kill((pid_t)pid, SIGTERM); /* it would block on a full pipe */
	we = proc_wait(pid, argv[0], &wc);
	if (e == 0 && we != 0) {
		e = mm_fail(c, we, "%s; no snapshot was written", wc.msg);
		goto out;
	}
	if (e == 0)
		e = stream_commit(r, &s, stored0, blobs0, out, c);
out:
	snapshot_release(&s);
	return e;
}
