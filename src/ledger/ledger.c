/*
 * The ledger in its state directory: the append protocol (a lock, one
 * write per record, fsync; a torn last record moved aside and recorded),
 * reading, the host key, checkpoints, verification and export.
 *
 *   STATE_DIR/ledger            the records, framed (docs/ledger.md)
 *   STATE_DIR/ledger.key        the host's Ed25519 key, PEM, 0600
 *   STATE_DIR/ledger.pub        its public key, PEM
 *   STATE_DIR/checkpoints/NAME  signed checkpoints, NAME = hex SHA-256
 *   STATE_DIR/torn/OFFSET.bin   torn tails moved aside
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/ledger.h"

#define PENDING_SUFFIX ".unrecorded"

int64_t
ledger_now(const struct ledger *lg)
{
	return lg->clk.now(lg->clk.arg);
}

int
ledger_open(const char *state_dir, unsigned flags, const struct ledger_clock *clk,
	    struct ledger **out, struct mm_ctx *c)
{
	struct ledger *lg;
	struct stat st;
	int e;

	if (state_dir == NULL || state_dir[0] == '\0')
		return mm_fail(c, MM_EINVAL, "no state directory given");
	if (flags & LEDGER_CREATE) {
		if ((e = mkdir_p(state_dir, 0700, c)) != 0)
			return mm_prefix(c, e, "state directory");
	} else if (stat(state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		return mm_fail(c, MM_ENOENT, "no ledger at %s (no such state directory; give "
			       "--state-dir or set MAMORI_STATE_DIR)", state_dir);
	}
	if ((lg = calloc(1, sizeof(*lg))) == NULL || (lg->dir = strdup(state_dir)) == NULL ||
	    (lg->path = path_join(state_dir, "ledger")) == NULL) {
		ledger_free(lg);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	lg->clk = clk ? *clk : ledger_system_clock;
	*out = lg;
	return 0;
}

void
ledger_free(struct ledger *lg)
{
	if (lg == NULL)
		return;
	ledger_key_release(&lg->key);
	free(lg->dir);
	free(lg->path);
	free(lg);
}

/* ---- reading ----------------------------------------------------------------------- */

static int
read_fd(int fd, const char *path, struct buf *out, struct mm_ctx *c)
{
	struct stat st;
	int e;

	if (fstat(fd, &st) != 0)
		return mm_fail_errno(c, errno, "%s", path);
	if ((uint64_t)st.st_size > LEDGER_FILE_MAX)
		return mm_fail(c, MM_ELIMIT, "%s: larger than %" PRIu64 " bytes", path, LEDGER_FILE_MAX);
	buf_init(out, (size_t)LEDGER_FILE_MAX);
	if ((e = buf_reserve(out, (size_t)st.st_size)) != 0)
		return mm_fail(c, e, "%s: out of memory", path);
	if (st.st_size > 0 && (e = pread_full(fd, out->data, (size_t)st.st_size, 0)) != 0)
		return mm_fail_errno(c, -e, "read %s", path);
	out->len = (size_t)st.st_size;
	return 0;
}

int
ledger_read(struct ledger *lg, struct buf *out, struct mm_ctx *c)
{
	int fd = open(lg->path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0) {
		if (errno == ENOENT) {
			buf_init(out, (size_t)LEDGER_FILE_MAX);
			return 0;
		}
		return mm_fail_errno(c, errno, "open %s", lg->path);
	}
	/* A shared lock: an append in progress is waited for, not read torn. */
	if (flock(fd, LOCK_SH) != 0) {
		e = mm_fail_errno(c, errno, "lock %s", lg->path);
		close(fd);
		return e;
	}
	e = read_fd(fd, lg->path, out, c);
	close(fd);
	return e;
}

void
ledger_records_free(struct ledger_rec *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ledger_rec_release(&v[i]);
	free(v);
}

int
ledger_records(const uint8_t *p, size_t n, struct ledger_rec **out, size_t *nrec,
	       struct mm_ctx *c)
{
	struct ledger_scan s;
	struct ledger_rec *v = NULL;
	size_t i, k = 0;
	int e;

	if ((e = ledger_scan_bytes(p, n, &s)) != 0)
		return mm_fail(c, e, "out of memory");
	if (s.n > 0 && (v = calloc(s.n, sizeof(*v))) == NULL) {
		ledger_scan_release(&s);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	for (i = 0; i < s.n; i++) {
		struct mm_ctx ignore = MM_CTX_INIT;

		/* Unreadable records are the business of verify, not of show. */
		if (s.items[i].checksum_ok &&
		    ledger_rec_decode(p + s.items[i].off + 8, s.items[i].len, &v[k], &ignore) == 0)
			k++;
	}
	ledger_scan_release(&s);
	*out = v;
	*nrec = k;
	return 0;
}

/* ---- appending ---------------------------------------------------------------------- */

/* The state of the file's end, read under the writer's lock. */
struct tail {
	uint64_t size, good_end;
	uint64_t last_seq;
	uint8_t last_hash[LEDGER_HASH_LEN];
	int torn;
};

/* The last frame from the back (its trailer gives its length): O(1) for
 * the usual case. */
static int
tail_fast(int fd, uint64_t size, struct tail *t)
{
	uint8_t le[4];
	struct buf b = BUF_INIT;
	struct ledger_scan s;
	struct ledger_rec r = LEDGER_REC_INIT;
	struct mm_ctx ignore = MM_CTX_INIT;
	uint64_t len, start;
	int ok = 0;

	if (size < LEDGER_FRAME_OVERHEAD + 1 || pread_full(fd, le, 4, size - 4) != 0)
		return 0;
	len = (uint64_t)le[0] | (uint64_t)le[1] << 8 | (uint64_t)le[2] << 16 | (uint64_t)le[3] << 24;
	if (len == 0 || len > LEDGER_BODY_MAX || len + LEDGER_FRAME_OVERHEAD > size)
		return 0;
	start = size - len - LEDGER_FRAME_OVERHEAD;
	buf_init(&b, LEDGER_BODY_MAX + LEDGER_FRAME_OVERHEAD);
	if (buf_reserve(&b, (size_t)(len + LEDGER_FRAME_OVERHEAD)) != 0 ||
	    pread_full(fd, b.data, (size_t)(len + LEDGER_FRAME_OVERHEAD), start) != 0)
		goto out;
	b.len = (size_t)(len + LEDGER_FRAME_OVERHEAD);
	if (ledger_scan_bytes(b.data, b.len, &s) != 0)
		goto out;
	if (s.n == 1 && s.items[0].checksum_ok && s.tail == LEDGER_TAIL_NONE &&
	    ledger_rec_decode(b.data + 8, (size_t)len, &r, &ignore) == 0) {
		t->good_end = size;
		t->last_seq = r.seq;
		crypto_sha256(b.data + 8, (size_t)len, t->last_hash);
		ok = 1;
	}
	ledger_scan_release(&s);
	ledger_rec_release(&r);
out:
	buf_release(&b);
	return ok;
}

static int
read_tail(int fd, const char *path, struct tail *t, struct mm_ctx *c)
{
	struct stat st;
	struct buf all = BUF_INIT;
	struct ledger_scan s;
	struct ledger_rec r = LEDGER_REC_INIT;
	const struct ledger_item *it;
	int e;

	memset(t, 0, sizeof(*t));
	if (fstat(fd, &st) != 0)
		return mm_fail_errno(c, errno, "%s", path);
	t->size = (uint64_t)st.st_size;
	if (t->size == 0 || tail_fast(fd, t->size, t))
		return 0;
	/* The end is no sound frame: read it all to find where records end. */
	if ((e = read_fd(fd, path, &all, c)) != 0)
		goto out;
	if ((e = ledger_scan_bytes(all.data, all.len, &s)) != 0) {
		e = mm_fail(c, e, "out of memory");
		goto out;
	}
	if (s.tail == LEDGER_TAIL_DAMAGED || (s.n > 0 && !s.items[s.n - 1].checksum_ok)) {
		e = mm_fail(c, MM_ETAMPER, "%s: the last record is damaged, not torn by a crash; "
			    "nothing is appended to it (run 'mamori log verify')", path);
		ledger_scan_release(&s);
		goto out;
	}
	t->good_end = s.good_end;
	t->torn = s.tail == LEDGER_TAIL_TORN;
	if (s.n > 0) {
		it = &s.items[s.n - 1];
		if (ledger_rec_decode(all.data + it->off + 8, it->len, &r, c) != 0) {
			e = mm_prefix(c, MM_ETAMPER, "%s: the last whole record", path);
			ledger_scan_release(&s);
			goto out;
		}
		t->last_seq = r.seq;
		crypto_sha256(all.data + it->off + 8, it->len, t->last_hash);
	}
	ledger_scan_release(&s);
	e = 0;
out:
	ledger_rec_release(&r);
	buf_release(&all);
	return e;
}

static int
write_record(struct ledger *lg, int fd, struct tail *t, const struct ledger_entry *en,
	     struct mm_ctx *c)
{
	struct ledger_rec r = LEDGER_REC_INIT;
	struct buf body = BUF_INIT, frame = BUF_INIT;
	size_t i;
	int e;

	r.seq = t->last_seq + 1;
	r.time_ns = ledger_now(lg);
	r.clock = (uint8_t)lg->clk.state(lg->clk.arg);
	r.exit_code = en->exit_code;
	memcpy(r.prev, t->last_hash, LEDGER_HASH_LEN);
	if ((e = ledger_rec_set_actor(&r)) != 0 ||
	    (r.command = strdup(en->command ? en->command : "")) == NULL ||
	    (r.target = strdup(en->target ? en->target : "")) == NULL ||
	    (r.result = strdup(en->result ? en->result : "")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < en->nfields; i++) {
		if ((e = ledger_rec_add_field(&r, en->fields[i].key, en->fields[i].value)) != 0) {
			e = mm_fail(c, e, "ledger record: too many fields");
			goto out;
		}
	}
	if ((e = ledger_rec_encode(&r, &body)) != 0 ||
	    (e = ledger_frame(body.data, body.len, &frame)) != 0) {
		e = mm_fail(c, e, "ledger record: %s", e == MM_ELIMIT ?
			    "a field is longer than the record format allows" : "out of memory");
		goto out;
	}
	/* One write: with O_APPEND the frame lands whole at the end, or (a
	 * crash in the middle) as a torn tail the next append moves aside. */
	if (lg->test_stop_after > 0 && lg->test_stop_after < frame.len) {
		if ((e = write_full(fd, frame.data, lg->test_stop_after)) != 0 || fsync(fd) != 0) {
			e = mm_fail_errno(c, e ? -e : errno, "append to %s", lg->path);
			goto out;
		}
		(void)kill(getpid(), SIGSTOP);
		if ((e = write_full(fd, frame.data + lg->test_stop_after,
				    frame.len - lg->test_stop_after)) != 0) {
			e = mm_fail_errno(c, -e, "append to %s", lg->path);
			goto out;
		}
	} else if ((e = write_full(fd, frame.data, frame.len)) != 0) {
		e = mm_fail_errno(c, -e, "append to %s", lg->path);
		goto out;
	}
	if (fsync(fd) != 0) {
		e = mm_fail_errno(c, errno, "fsync %s", lg->path);
		goto out;
	}
	t->last_seq = r.seq;
	crypto_sha256(body.data, body.len, t->last_hash);
	t->size += frame.len;
	t->good_end = t->size;
	e = 0;
out:
	ledger_rec_release(&r);
	buf_release(&body);
	buf_release(&frame);
	return e;
}

/* Record a torn tail that was moved into torn/NAME, then drop the suffix
 * that marks it as not yet recorded. */
static int
record_torn(struct ledger *lg, int fd, struct tail *t, const char *tdir, const char *name,
	    struct mm_ctx *c)
{
	char off[32], bytes[32], file[300], *pending = NULL, *done = NULL;
	struct ledger_field f[4];
	struct ledger_entry en;
	struct stat st;
	size_t nl = strlen(name) - strlen(PENDING_SUFFIX);
	int e;

	snprintf(file, sizeof(file), "torn/%.*s", (int)nl, name);
	if ((pending = path_join(tdir, name)) == NULL ||
	    (done = strndup(pending, strlen(pending) - strlen(PENDING_SUFFIX))) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (stat(pending, &st) != 0) {
		e = mm_fail_errno(c, errno, "%s", pending);
		goto out;
	}
	snprintf(off, sizeof(off), "%.*s", (int)(nl > 4 ? nl - 4 : nl), name); /* "OFFSET.bin" */
	snprintf(bytes, sizeof(bytes), "%" PRIu64, (uint64_t)st.st_size);
	f[0] = (struct ledger_field){ "event", "torn-tail" };
	f[1] = (struct ledger_field){ "torn_offset", off };
	f[2] = (struct ledger_field){ "torn_bytes", bytes };
	f[3] = (struct ledger_field){ "saved_as", file };
	memset(&en, 0, sizeof(en));
	en.command = "ledger";
	en.target = lg->path;
	en.result = "a torn record (crash during an append) was moved aside";
	en.fields = f;
	en.nfields = 4;
	if ((e = write_record(lg, fd, t, &en, c)) != 0)
		goto out;
	if (rename(pending, done) != 0) {
		e = mm_fail_errno(c, errno, "rename %s", pending);
		goto out;
	}
	e = fsync_dir(tdir, c);
out:
	free(pending);
	free(done);
	return e;
}

/* Was torn/NAME already recorded by the last record (a crash between the
 * record and the rename)? */
static int
last_record_names(int fd, const struct tail *t, const char *file)
{
	struct buf b = BUF_INIT;
	struct ledger_scan s;
	struct ledger_rec r = LEDGER_REC_INIT;
	struct mm_ctx ignore = MM_CTX_INIT;
	const char *v;
	int yes = 0;

	if (read_fd(fd, "ledger", &b, &ignore) != 0 || ledger_scan_bytes(b.data, b.len, &s) != 0) {
		buf_release(&b);
		return 0;
	}
	if (s.n > 0 && ledger_rec_decode(b.data + s.items[s.n - 1].off + 8, s.items[s.n - 1].len,
					 &r, &ignore) == 0 &&
	    r.seq == t->last_seq && (v = ledger_rec_field(&r, "saved_as")) != NULL &&
	    strcmp(v, file) == 0)
		yes = 1;
	ledger_rec_release(&r);
	ledger_scan_release(&s);
	buf_release(&b);
	return yes;
}

/* Finish what a crash interrupted: torn tails saved but not yet recorded. */
static int
finish_pending(struct ledger *lg, int fd, struct tail *t, const char *tdir, struct mm_ctx *c)
{
	DIR *d = opendir(tdir);
	struct dirent *de;
	char names[8][256], file[300];
	size_t n = 0, i, l;
	int e = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : mm_fail_errno(c, errno, "%s", tdir);
	while ((de = readdir(d)) != NULL && n < 8) {
		l = strlen(de->d_name);
		if (l > strlen(PENDING_SUFFIX) && l < sizeof(names[0]) &&
		    strcmp(de->d_name + l - strlen(PENDING_SUFFIX), PENDING_SUFFIX) == 0)
			snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
	}
	closedir(d);
	for (i = 0; i < n && e == 0; i++) {
		l = strlen(names[i]) - strlen(PENDING_SUFFIX);
		snprintf(file, sizeof(file), "torn/%.*s", (int)l, names[i]);
		if (last_record_names(fd, t, file)) {
			char *pending = path_join(tdir, names[i]), *done = NULL;

			if (pending == NULL || (done = strndup(pending, strlen(pending) -
							       strlen(PENDING_SUFFIX))) == NULL)
				e = mm_fail(c, MM_ENOMEM, "out of memory");
			else if (rename(pending, done) != 0)
				e = mm_fail_errno(c, errno, "rename %s", pending);
			free(pending);
			free(done);
		} else {
			e = record_torn(lg, fd, t, tdir, names[i], c);
		}
	}
	return e;
}

/* Move the torn bytes after good_end into torn/OFFSET.bin.unrecorded
 * (durably), cut them off the ledger, and record the move. */
static int
move_torn(struct ledger *lg, int fd, struct tail *t, const char *tdir, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	char name[64], *path = NULL;
	size_t n = (size_t)(t->size - t->good_end);
	int e;

	snprintf(name, sizeof(name), "%" PRIu64 ".bin" PENDING_SUFFIX, t->good_end);
	if ((e = mkdir_p(tdir, 0700, c)) != 0)
		goto out;
	if ((path = path_join(tdir, name)) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = buf_reserve(&b, n)) != 0) {
		e = mm_fail(c, e, "out of memory");
		goto out;
	}
	if ((e = pread_full(fd, b.data, n, t->good_end)) != 0) {
		e = mm_fail_errno(c, -e, "read the torn tail of %s", lg->path);
		goto out;
	}
	b.len = n;
	if ((e = file_write_atomic(path, b.data, b.len, 0600, c)) != 0)
		goto out;
	if (ftruncate(fd, (off_t)t->good_end) != 0 || fsync(fd) != 0) {
		e = mm_fail_errno(c, errno, "cut the torn tail off %s", lg->path);
		goto out;
	}
	t->size = t->good_end;
	t->torn = 0;
	e = record_torn(lg, fd, t, tdir, name, c);
out:
	free(path);
	buf_release(&b);
	return e;
}

int
ledger_append(struct ledger *lg, const struct ledger_entry *en, uint64_t *seq, struct mm_ctx *c)
{
	struct tail t;
	char *tdir = NULL;
	int fd, e, created = 0;
	struct stat st;

	if (stat(lg->path, &st) != 0)
		created = 1;
	fd = open(lg->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return mm_fail_errno(c, errno, "open %s", lg->path);
	if (flock(fd, LOCK_EX) != 0) {
		e = mm_fail_errno(c, errno, "lock %s", lg->path);
		goto out;
	}
	if (created && (e = fsync_dir(lg->dir, c)) != 0)
		goto out;
	if ((tdir = path_join(lg->dir, "torn")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = read_tail(fd, lg->path, &t, c)) != 0)
		goto out;
	if (t.torn) {
		if ((e = move_torn(lg, fd, &t, tdir, c)) != 0)
			goto out;
	} else if ((e = finish_pending(lg, fd, &t, tdir, c)) != 0) {
		goto out;
	}
	if ((e = write_record(lg, fd, &t, en, c)) != 0)
		goto out;
	if (seq != NULL)
		*seq = t.last_seq;
	e = 0;
out:
	free(tdir);
	close(fd); /* releases the lock */
	return e;
}

/* ---- key ---------------------------------------------------------------------------- */

int
ledger_load_key(struct ledger *lg, int create, struct mm_ctx *c)
{
	struct buf pem = BUF_INIT, pub = BUF_INIT;
	char *path = NULL, *pubpath = NULL, *tmp = NULL;
	int e;

	if (lg->key.sk != NULL)
		return 0;
	pem.secret = 1;
	if ((path = path_join(lg->dir, "ledger.key")) == NULL ||
	    (pubpath = path_join(lg->dir, "ledger.pub")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		if (!create) {
			/* Verification only needs the public key. */
			if (access(pubpath, F_OK) == 0) {
				e = ledger_key_load_public(pubpath, &lg->key, c);
				goto out;
			}
			e = mm_fail(c, MM_ENOENT, "%s: no ledger key yet (the first checkpoint "
				    "makes one)", path);
			goto out;
		}
		/* Create it once even when two processes race: write a temporary
		 * file, then link it in place (fails if another won). */
		if ((e = crypto_sig_generate(&pem)) != 0) {
			e = mm_fail(c, e, "cannot generate the ledger key");
			goto out;
		}
		if ((tmp = malloc(strlen(path) + 32)) == NULL) {
			e = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(tmp, strlen(path) + 32, "%s.new-%ld", path, (long)getpid());
		if ((e = file_write_atomic(tmp, pem.data, pem.len, 0600, c)) != 0)
			goto out;
		if (link(tmp, path) != 0 && errno != EEXIST) {
			e = mm_fail_errno(c, errno, "create %s", path);
			unlink(tmp);
			goto out;
		}
		unlink(tmp);
		if ((e = fsync_dir(lg->dir, c)) != 0)
			goto out;
		buf_release(&pem);
		pem.secret = 1;
	}
	if ((e = file_read_all(path, 16384, &pem, c)) != 0 ||
	    (e = ledger_key_from_pem(pem.data, pem.len, &lg->key, c)) != 0) {
		e = mm_prefix(c, e, "%s", path);
		goto out;
	}
	/* The public half beside it, for export and for auditors. */
	if (access(pubpath, F_OK) != 0 &&
	    ((e = ledger_key_public_pem(&lg->key, &pub)) != 0 ||
	     (e = file_write_atomic(pubpath, pub.data, pub.len, 0644, c)) != 0))
		goto out;
	e = 0;
out:
	if (e != 0 && c->msg[0] == '\0')
		mm_fail(c, e, "ledger key");
	buf_release(&pem);
	buf_release(&pub);
	free(path);
	free(pubpath);
	free(tmp);
	return e;
}

/* ---- verification, checkpoints, export --------------------------------------------- */

int
ledger_verify(struct ledger *lg, const struct ledger_ckpts *extra, const struct ledger_key *key,
	      struct ledger_verify *v, struct mm_ctx *c)
{
	struct ledger_ckpts all;
	struct buf b = BUF_INIT;
	char *cdir = NULL;
	size_t i;
	int e;

	memset(&all, 0, sizeof(all));
	if (key == NULL) {
		if ((e = ledger_load_key(lg, 0, c)) != 0 && e != MM_ENOENT)
			return e;
		key = lg->key.sk ? &lg->key : NULL; /* no key yet: no checkpoints either */
	}
	if ((cdir = path_join(lg->dir, "checkpoints")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = ledger_ckpts_from_dir(cdir, &all, c)) != 0)
		goto out;
	for (i = 0; extra != NULL && i < extra->n; i++) {
		struct mm_ctx ignore = MM_CTX_INIT;

		if ((e = ledger_ckpts_add(&all, extra->v[i].note.data, extra->v[i].note.len,
					  extra->v[i].source, &ignore)) != 0) {
			e = mm_fail(c, e, "%s", ignore.msg);
			goto out;
		}
	}
	if ((e = ledger_read(lg, &b, c)) != 0)
		goto out;
	e = ledger_verify_bytes(b.data, b.len, &all, key, v, c);
	if (e == 0 && key == NULL && all.n > 0)
		e = mm_fail(c, MM_ENOENT, "checkpoints are present but no ledger key: give --pubkey");
out:
	ledger_ckpts_release(&all);
	buf_release(&b);
	free(cdir);
	return e;
}

int
ledger_checkpoint(struct ledger *lg, struct ledger_ckpt *out, struct mm_ctx *c)
{
	struct ledger_verify v;
	struct ledger_ckpt cp;
	char *cdir = NULL, *path = NULL, name[65];
	int e;

	memset(&v, 0, sizeof(v));
	memset(&cp, 0, sizeof(cp));
	if ((e = ledger_load_key(lg, 1, c)) != 0)
		return e;
	if ((e = ledger_verify(lg, NULL, &lg->key, &v, c)) != 0)
		goto out;
	if (ledger_verify_verdict(&v) == MM_ETAMPER) {
		e = mm_fail(c, MM_ETAMPER, "the ledger does not verify (%s): no checkpoint is made "
			    "(run 'mamori log verify')", v.nf > 0 ? v.f[0].msg : "");
		goto out;
	}
	if ((e = ledger_ckpt_make(&lg->key, v.records, v.root, ledger_now(lg),
				  v.host[0] ? v.host : "unknown", &cp, c)) != 0)
		goto out;
	ledger_ckpt_name(&cp, name);
	if ((cdir = path_join(lg->dir, "checkpoints")) == NULL ||
	    (path = path_join(cdir, name)) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = mkdir_p(cdir, 0700, c)) != 0 ||
	    (e = file_write_atomic(path, cp.note.data, cp.note.len, 0600, c)) != 0)
		goto out;
	snprintf(cp.source, sizeof(cp.source), "%s", path);
	*out = cp;
	memset(&cp, 0, sizeof(cp));
	e = 0;
out:
	ledger_ckpt_release(&cp);
	ledger_verify_release(&v);
	free(cdir);
	free(path);
	return e;
}

int
ledger_export(struct ledger *lg, const char *dir, struct mm_ctx *c)
{
	struct ledger_ckpts l;
	struct buf b = BUF_INIT, pub = BUF_INIT;
	char *p = NULL, *cdir = NULL, *sdir = NULL, name[65];
	size_t i;
	int e;

	memset(&l, 0, sizeof(l));
	if ((e = ledger_load_key(lg, 1, c)) != 0)
		return e;
	if ((cdir = path_join(dir, "checkpoints")) == NULL ||
	    (sdir = path_join(lg->dir, "checkpoints")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = mkdir_p(cdir, 0700, c)) != 0 || (e = ledger_read(lg, &b, c)) != 0)
		goto out;
	if ((p = path_join(dir, "ledger")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = file_write_atomic(p, b.data, b.len, 0600, c)) != 0)
		goto out;
	free(p);
	p = NULL;
	if ((e = ledger_ckpts_from_dir(sdir, &l, c)) != 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		ledger_ckpt_name(&l.v[i], name);
		free(p);
		if ((p = path_join(cdir, name)) == NULL) {
			e = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
		if ((e = file_write_atomic(p, l.v[i].note.data, l.v[i].note.len, 0600, c)) != 0)
			goto out;
	}
	free(p);
	if ((p = path_join(dir, "ledger.pub")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = ledger_key_public_pem(&lg->key, &pub)) != 0 ||
	    (e = file_write_atomic(p, pub.data, pub.len, 0644, c)) != 0)
		goto out;
	e = 0;
out:
	if (e != 0 && c->msg[0] == '\0')
		mm_fail(c, e, "export");
	ledger_ckpts_release(&l);
	buf_release(&b);
	buf_release(&pub);
	free(p);
	free(cdir);
	free(sdir);
	return e;
}
