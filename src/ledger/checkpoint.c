/*
 * Checkpoints: signed notes of a tree size and root (the C2SP tlog
 * checkpoint and signed-note formats, docs/ledger.md "Checkpoint"), the host
 * key that signs them, and where they are kept (state directory, repository).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

#define ORIGIN_PREFIX "mamori.ledger/"
#define SIG_DASH "\xe2\x80\x94 " /* U+2014 EM DASH and a space */

/* ---- keys ----------------------------------------------------------------------- */

void
ledger_key_release(struct ledger_key *k)
{
	crypto_sig_free(k->sk);
	memset(k, 0, sizeof(*k));
}

/* origin and key ID from the public key. */
static int
key_derive(struct ledger_key *k)
{
	uint8_t h[32];
	char hex[17];
	struct buf b = BUF_INIT;
	int e;

	if ((e = crypto_sig_public(k->sk, k->pub)) != 0)
		return e;
	crypto_sha256(k->pub, sizeof(k->pub), h);
	hex_encode(h, 8, hex);
	snprintf(k->origin, sizeof(k->origin), "%s%s", ORIGIN_PREFIX, hex);
	/* signed note: SHA-256(name || "\n" || 0x01 || public key)[:4] */
	if ((e = buf_append(&b, k->origin, strlen(k->origin))) == 0 &&
	    (e = buf_append_u8(&b, '\n')) == 0 && (e = buf_append_u8(&b, 0x01)) == 0 &&
	    (e = buf_append(&b, k->pub, sizeof(k->pub))) == 0) {
		crypto_sha256(b.data, b.len, h);
		memcpy(k->key_id, h, 4);
	}
	buf_release(&b);
	return e;
}

int
ledger_key_from_pem(const uint8_t *pem, size_t n, struct ledger_key *k, struct mm_ctx *c)
{
	int e;

	memset(k, 0, sizeof(*k));
	if ((e = crypto_sig_load(pem, n, &k->sk)) != 0)
		return mm_fail(c, e, "not an Ed25519 key in PEM form");
	if ((e = key_derive(k)) != 0) {
		ledger_key_release(k);
		return mm_fail(c, e, "cannot read the public key");
	}
	return 0;
}

int
ledger_key_load_public(const char *path, struct ledger_key *k, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	int e;

	b.secret = 1;
	if ((e = file_read_all(path, 16384, &b, c)) == 0 &&
	    (e = ledger_key_from_pem(b.data, b.len, k, c)) != 0)
		e = mm_prefix(c, e, "%s", path);
	buf_release(&b);
	return e;
}

int
ledger_key_public_pem(const struct ledger_key *k, struct buf *out)
{
	return crypto_sig_public_pem(k->sk, out);
}

/* ---- notes ---------------------------------------------------------------------- */

void
ledger_ckpt_release(struct ledger_ckpt *cp)
{
	buf_release(&cp->note);
	memset(cp, 0, sizeof(*cp));
}

static void
clean_host(const char *in, char *out, size_t n)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < n; i++)
		out[i] = ((unsigned char)in[i] <= 0x20 || in[i] == 0x7f) ? '?' : in[i];
	out[i] = '\0';
	if (i == 0)
		snprintf(out, n, "unknown");
}

int
ledger_ckpt_make(const struct ledger_key *k, uint64_t size, const uint8_t root[LEDGER_HASH_LEN],
		 int64_t time_ns, const char *host, struct ledger_ckpt *out, struct mm_ctx *c)
{
	struct ledger_ckpt cp;
	uint8_t blob[4 + MM_SIG_LEN];
	char line[512];
	int e;

	memset(&cp, 0, sizeof(cp));
	buf_init(&cp.note, LEDGER_CHECKPOINT_MAX);
	snprintf(cp.origin, sizeof(cp.origin), "%s", k->origin);
	cp.size = size;
	memcpy(cp.root, root, LEDGER_HASH_LEN);
	cp.time_ns = time_ns;
	clean_host(host ? host : "", cp.host, sizeof(cp.host));
	memcpy(cp.key_id, k->key_id, 4);
	snprintf(line, sizeof(line), "%s\n%" PRIu64 "\n", cp.origin, size);
	if ((e = buf_append(&cp.note, line, strlen(line))) != 0 ||
	    (e = crypto_base64_encode(root, LEDGER_HASH_LEN, &cp.note)) != 0)
		goto out;
	snprintf(line, sizeof(line), "\ntime %" PRId64 "\nhost %s\n", time_ns, cp.host);
	if ((e = buf_append(&cp.note, line, strlen(line))) != 0)
		goto out;
	cp.body_len = cp.note.len;
	if ((e = crypto_sig_sign(k->sk, cp.note.data, cp.body_len, cp.sig)) != 0) {
		e = mm_fail(c, e, "cannot sign the checkpoint (%s)",
			    e == MM_EINVAL ? "only the public key is at hand" : "crypto library");
		goto out;
	}
	memcpy(blob, cp.key_id, 4);
	memcpy(blob + 4, cp.sig, MM_SIG_LEN);
	snprintf(line, sizeof(line), "\n" SIG_DASH "%s ", cp.origin);
	if ((e = buf_append(&cp.note, line, strlen(line))) != 0 ||
	    (e = crypto_base64_encode(blob, sizeof(blob), &cp.note)) != 0 ||
	    (e = buf_append_u8(&cp.note, '\n')) != 0)
		goto out;
	*out = cp;
	memset(&cp, 0, sizeof(cp));
	e = 0;
out:
	if (e != 0 && c->msg[0] == '\0')
		mm_fail(c, e, "cannot make a checkpoint");
	ledger_ckpt_release(&cp);
	return e;
}

/* The next line of [*p, end) without its newline; NULL at the end or when
 * the last line has none. */
static const char *
next_line(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nl;

	if (s >= end || (nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
		return NULL;
	*len = (size_t)(nl - s);
	*p = nl + 1;
	return s;
}

static int
parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	}
	return n > 0;
}

int
ledger_ckpt_parse(const uint8_t *p, size_t n, struct ledger_ckpt *out, struct mm_ctx *c)
{
	struct ledger_ckpt cp;
	const char *s = (const char *)p, *end = s + n, *cur = s, *l;
	uint8_t blob[4 + MM_SIG_LEN];
	uint64_t t;
	size_t len, dl = strlen(SIG_DASH);
	int found = 0, e;

	memset(&cp, 0, sizeof(cp));
	if (n == 0 || n > LEDGER_CHECKPOINT_MAX || memchr(p, '\0', n) != NULL)
		return mm_fail(c, MM_ECORRUPT, "not a checkpoint (too long or holds NUL bytes)");
	if ((l = next_line(&cur, end, &len)) == NULL || len >= sizeof(cp.origin) ||
	    len <= strlen(ORIGIN_PREFIX) || memcmp(l, ORIGIN_PREFIX, strlen(ORIGIN_PREFIX)) != 0 ||
	    !printable(l, len))
		return mm_fail(c, MM_ECORRUPT, "not a mamori ledger checkpoint (origin line)");
	memcpy(cp.origin, l, len);
	if ((l = next_line(&cur, end, &len)) == NULL || parse_u64(l, len, &cp.size) != 0)
		return mm_fail(c, MM_ECORRUPT, "checkpoint: bad tree size line");
	if ((l = next_line(&cur, end, &len)) == NULL ||
	    crypto_base64_decode(l, len, cp.root, LEDGER_HASH_LEN) != 0)
		return mm_fail(c, MM_ECORRUPT, "checkpoint: bad root hash line");
	if ((l = next_line(&cur, end, &len)) == NULL || len < 6 || memcmp(l, "time ", 5) != 0 ||
	    (l[5] == '-' ? parse_u64(l + 6, len - 6, &t) : parse_u64(l + 5, len - 5, &t)) != 0 ||
	    t > INT64_MAX)
		return mm_fail(c, MM_ECORRUPT, "checkpoint: bad time line");
	cp.time_ns = l[5] == '-' ? -(int64_t)t : (int64_t)t;
	if ((l = next_line(&cur, end, &len)) == NULL || len < 6 || memcmp(l, "host ", 5) != 0 ||
	    len - 5 >= sizeof(cp.host) || !printable(l + 5, len - 5))
		return mm_fail(c, MM_ECORRUPT, "checkpoint: bad host line");
	memcpy(cp.host, l + 5, len - 5);
	cp.body_len = (size_t)(cur - s);
	if ((l = next_line(&cur, end, &len)) == NULL || len != 0)
		return mm_fail(c, MM_ECORRUPT, "checkpoint: no blank line before the signatures");
	/* Signature lines: "— NAME BASE64(key ID || signature)"; ours is the
	 * one named by the origin (others, e.g. witnesses, are skipped). */
	while ((l = next_line(&cur, end, &len)) != NULL) {
		const char *sp;
		size_t nl;

		if (len < dl || memcmp(l, SIG_DASH, dl) != 0 ||
		    (sp = memchr(l + dl, ' ', len - dl)) == NULL)
			return mm_fail(c, MM_ECORRUPT, "checkpoint: malformed signature line");
		nl = (size_t)(sp - (l + dl));
		if (found || nl != strlen(cp.origin) || memcmp(l + dl, cp.origin, nl) != 0)
			continue;
		if (crypto_base64_decode(sp + 1, (size_t)(l + len - sp - 1), blob, sizeof(blob)) != 0)
			return mm_fail(c, MM_ECORRUPT, "checkpoint: malformed signature");
		memcpy(cp.key_id, blob, 4);
		memcpy(cp.sig, blob + 4, MM_SIG_LEN);
		found = 1;
	}
	if (cur != end)
		return mm_fail(c, MM_ECORRUPT, "checkpoint: does not end with a newline");
	if (!found)
		return mm_fail(c, MM_ECORRUPT, "checkpoint: no signature by %s", cp.origin);
	buf_init(&cp.note, LEDGER_CHECKPOINT_MAX);
	if ((e = buf_append(&cp.note, p, n)) != 0)
		return mm_fail(c, e, "out of memory");
	*out = cp;
	return 0;
}

int
ledger_ckpt_check_sig(const struct ledger_ckpt *cp, const struct ledger_key *k)
{
	if (strcmp(cp->origin, k->origin) != 0 || memcmp(cp->key_id, k->key_id, 4) != 0)
		return MM_ESIG;
	return crypto_sig_verify(k->pub, cp->note.data, cp->body_len, cp->sig);
}

void
ledger_ckpt_name(const struct ledger_ckpt *cp, char out[65])
{
	uint8_t h[32];

	crypto_sha256(cp->note.data, cp->note.len, h);
	hex_encode(h, sizeof(h), out);
}

int
ledger_ckpt_store(struct backend *be, const struct ledger_ckpt *cp, struct mm_ctx *c)
{
	char name[65];

	ledger_ckpt_name(cp, name);
	return backend_write(be, OBJ_CHECKPOINT, name, cp->note.data, cp->note.len, c);
}

/* ---- collections --------------------------------------------------------------------- */

void
ledger_ckpts_release(struct ledger_ckpts *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		ledger_ckpt_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
ledger_ckpts_add(struct ledger_ckpts *l, const uint8_t *p, size_t n, const char *source,
		 struct mm_ctx *c)
{
	struct ledger_ckpt cp;
	int e;

	if ((e = ledger_ckpt_parse(p, n, &cp, c)) != 0) {
		if (e == MM_ECORRUPT)
			l->unreadable++;
		return mm_prefix(c, e, "%s", source);
	}
	snprintf(cp.source, sizeof(cp.source), "%s", source);
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct ledger_ckpt *nv = realloc(l->v, nc * sizeof(*nv));

		if (nv == NULL) {
			ledger_ckpt_release(&cp);
			return mm_fail(c, MM_ENOMEM, "out of memory");
		}
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = cp;
	return 0;
}

struct repo_scan {
	struct backend *be;
	struct ledger_ckpts *l;
	struct mm_ctx *c;
};

static int
add_repo_ckpt(const char *name, uint64_t size, void *arg)
{
	struct repo_scan *s = arg;
	struct buf b = BUF_INIT;
	struct mm_ctx ignore = MM_CTX_INIT;
	char src[256], want[65];
	uint8_t h[32];
	int e;

	if (size > LEDGER_CHECKPOINT_MAX) {
		s->l->unreadable++;
		return 0;
	}
	if ((e = backend_read(s->be, OBJ_CHECKPOINT, name, 0, 0, &b, s->c)) != 0)
		goto out;
	crypto_sha256(b.data, b.len, h);
	hex_encode(h, sizeof(h), want);
	snprintf(src, sizeof(src), "%s/checkpoints/%.16s", s->be->location, name);
	if (strcmp(want, name) != 0) {
		s->l->unreadable++; /* altered in the repository */
		e = 0;
		goto out;
	}
	e = ledger_ckpts_add(s->l, b.data, b.len, src, &ignore);
	if (e == MM_ECORRUPT)
		e = 0; /* counted as unreadable */
out:
	buf_release(&b);
	return e;
}

int
ledger_ckpts_from_repo(struct backend *be, struct ledger_ckpts *l, struct mm_ctx *c)
{
	struct repo_scan s = { be, l, c };

	return backend_list(be, OBJ_CHECKPOINT, add_repo_ckpt, &s, c);
}

int
ledger_ckpts_from_dir(const char *dir, struct ledger_ckpts *l, struct mm_ctx *c)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct mm_ctx ignore = MM_CTX_INIT;
	int e = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : mm_fail_errno(c, errno, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		struct buf b = BUF_INIT;
		char *path;

		if (de->d_name[0] == '.')
			continue;
		if ((path = path_join(dir, de->d_name)) == NULL) {
			e = mm_fail(c, MM_ENOMEM, "out of memory");
			break;
		}
		if (file_read_all(path, LEDGER_CHECKPOINT_MAX, &b, &ignore) != 0)
			l->unreadable++;
		else if ((e = ledger_ckpts_add(l, b.data, b.len, path, &ignore)) == MM_ECORRUPT)
			e = 0; /* counted as unreadable */
		else if (e != 0)
			e = mm_fail(c, e, "%s", ignore.msg);
		buf_release(&b);
		free(path);
		if (e != 0)
			break;
	}
	closedir(d);
	return e;
}
