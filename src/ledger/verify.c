/*
 * Verification (docs/ledger.md, "Verification"): frames, sequence numbers,
 * the hash chain, then every checkpoint of this ledger against the Merkle
 * tree of its records. Each problem names the first record it concerns.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

void
ledger_verify_release(struct ledger_verify *v)
{
	free(v->f);
	buf_release(&v->last.note);
	memset(v, 0, sizeof(*v));
}

static int
add_finding(struct ledger_verify *v, int kind, uint64_t seq, const char *fmt, ...)
	MM_PRINTF(4, 5);

static int
add_finding(struct ledger_verify *v, int kind, uint64_t seq, const char *fmt, ...)
{
	struct ledger_finding *nf;
	va_list ap;

	if ((nf = realloc(v->f, (v->nf + 1) * sizeof(*nf))) == NULL)
		return MM_ENOMEM;
	v->f = nf;
	nf = &v->f[v->nf++];
	nf->kind = kind;
	nf->seq = seq;
	va_start(ap, fmt);
	vsnprintf(nf->msg, sizeof(nf->msg), fmt, ap);
	va_end(ap);
	if (seq != 0 && (v->first_bad == 0 || seq < v->first_bad))
		v->first_bad = seq;
	if (kind == LF_TORN) {
		v->torn = 1;
		v->torn_seq = seq;
	}
	return 0;
}

int
ledger_verify_verdict(const struct ledger_verify *v)
{
	size_t i;

	for (i = 0; i < v->nf; i++) {
		if (v->f[i].kind != LF_TORN)
			return MM_ETAMPER;
	}
	return v->nf > 0 ? MM_ETORN : 0;
}

/* Per frame: what the chain pass learnt. */
struct frame_state {
	uint64_t seq;  /* as read (0 when it did not decode) */
	int flagged;   /* a finding names this frame already */
	int link_ok;   /* its previous-record hash matches the frame before */
	uint8_t hash[LEDGER_HASH_LEN];
	char why[200]; /* why it did not decode */
};

/* Pass 1: checksums and decoding, hashes and links of every frame. */
static void
read_frames(const uint8_t *p, const struct ledger_scan *s, struct frame_state *fs,
	    uint8_t (*leaves)[LEDGER_HASH_LEN], struct ledger_verify *v)
{
	static const uint8_t zero[LEDGER_HASH_LEN];
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct ledger_item *it = &s->items[i];
		const uint8_t *body = p + it->off + 8;
		struct ledger_rec r = LEDGER_REC_INIT;
		struct mm_ctx dc = MM_CTX_INIT;

		merkle_leaf_hash(body, it->len, leaves[i]);
		crypto_sha256(body, it->len, fs[i].hash);
		if (ledger_rec_decode(body, it->len, &r, &dc) != 0) {
			snprintf(fs[i].why, sizeof(fs[i].why), "%.199s", dc.msg);
			continue;
		}
		fs[i].seq = r.seq;
		fs[i].link_ok = memcmp(r.prev, i == 0 ? zero : fs[i - 1].hash, LEDGER_HASH_LEN) == 0;
		snprintf(v->host, sizeof(v->host), "%s", r.host);
		if (strcmp(r.command, "ledger") == 0 && ledger_rec_field(&r, "torn_bytes") != NULL)
			v->recovered++;
		ledger_rec_release(&r);
	}
}

/* Pass 2: each frame against the number it should carry. */
static int
check_frames(const uint8_t *p, const struct ledger_scan *s, struct frame_state *fs,
	     uint8_t (*leaves)[LEDGER_HASH_LEN], struct ledger_verify *v)
{
	uint64_t expected = 1, sq;
	size_t i;
	int e;

	read_frames(p, s, fs, leaves, v);
	for (i = 0; i < s->n; i++, expected++) {
		const struct ledger_item *it = &s->items[i];

		sq = fs[i].seq;
		if (!it->checksum_ok) {
			fs[i].flagged = 1;
			if ((e = add_finding(v, LF_CHECKSUM, expected, "record %" PRIu64 " (offset %"
					     PRIu64 "): checksum mismatch, its bytes were changed",
					     expected, it->off)) != 0)
				return e;
			if (sq > expected)
				expected = sq;
			continue;
		}
		if (sq == 0) {
			fs[i].flagged = 1;
			if ((e = add_finding(v, LF_DECODE, expected, "record %" PRIu64 " (offset %"
					     PRIu64 ") does not decode: %s", expected, it->off,
					     fs[i].why)) != 0)
				return e;
			continue;
		}
		if (sq == expected)
			continue;
		fs[i].flagged = 1;
		if (fs[i].link_ok && i + 1 < s->n && fs[i + 1].seq == expected + 1 &&
		    !fs[i + 1].link_ok) {
			/* In its place and linked, but carrying another number:
			 * its sequence field was altered. */
			e = add_finding(v, LF_CHAIN, expected, "record %" PRIu64 " was altered: it "
					"carries the number %" PRIu64, expected, sq);
			fs[i + 1].flagged = 1;
		} else if (sq > expected) {
			e = sq == expected + 1 ?
			    add_finding(v, LF_MISSING, expected, "record %" PRIu64 " is missing: record %"
					PRIu64 " follows record %" PRIu64, expected, sq, expected - 1) :
			    add_finding(v, LF_MISSING, expected, "records %" PRIu64 " to %" PRIu64
					" are missing: record %" PRIu64 " follows record %" PRIu64,
					expected, sq - 1, sq, expected - 1);
			expected = sq; /* resynchronise: report each break once */
		} else {
			e = add_finding(v, LF_REPEATED, sq, "record %" PRIu64 " appears again after "
					"record %" PRIu64 " (inserted, repeated or out of order)", sq,
					expected - 1);
			expected--; /* the numbering goes on where it was */
		}
		if (e != 0)
			return e;
	}
	/* Links. A record altered after the next one was written breaks one
	 * link (into the next); a record whose own previous-hash was altered
	 * breaks two (into it, and into the next, as its hash changed too). */
	for (i = 0; i < s->n; i++) {
		if (fs[i].seq == 0 || fs[i].link_ok || fs[i].flagged || (i > 0 && fs[i - 1].flagged))
			continue;
		if (i + 1 < s->n && fs[i + 1].seq != 0 && !fs[i + 1].link_ok && !fs[i + 1].flagged) {
			e = add_finding(v, LF_CHAIN, fs[i].seq, "record %" PRIu64 " was altered: its "
					"link to record %" PRIu64 " does not match", fs[i].seq,
					fs[i].seq - 1);
			fs[i].flagged = 1;
		} else if (i == 0) {
			e = add_finding(v, LF_CHAIN, fs[i].seq, "record %" PRIu64 " was altered: the "
					"first record must link to nothing", fs[i].seq);
			fs[i].flagged = 1;
		} else {
			uint64_t bad = fs[i - 1].seq ? fs[i - 1].seq : fs[i].seq - 1;

			e = add_finding(v, LF_CHAIN, bad, "record %" PRIu64 " was altered: record %"
					PRIu64 " links to a different record %" PRIu64, bad,
					fs[i].seq, bad);
			fs[i - 1].flagged = 1;
		}
		if (e != 0)
			return e;
	}
	if (s->tail == LEDGER_TAIL_TORN)
		return add_finding(v, LF_TORN, expected, "record %" PRIu64 " is torn (crash during "
				   "append): %" PRIu64 " bytes at offset %" PRIu64, expected,
				   s->size - s->good_end, s->good_end);
	if (s->tail == LEDGER_TAIL_DAMAGED)
		return add_finding(v, LF_FRAME, expected, "record %" PRIu64 ": offset %" PRIu64
				   " holds no record frame (%" PRIu64 " bytes of damage or inserted "
				   "bytes; nothing after it can be read)", expected, s->good_end,
				   s->size - s->good_end);
	return 0;
}

static int
by_size(const void *a, const void *b)
{
	const struct ledger_ckpt *x = *(const struct ledger_ckpt *const *)a;
	const struct ledger_ckpt *y = *(const struct ledger_ckpt *const *)b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

static int
check_ckpts(const struct merkle_tree *t, const struct ledger_ckpts *cps,
	    const struct ledger_key *key, struct ledger_verify *v)
{
	const struct ledger_ckpt **sorted = NULL;
	struct buf proof = BUF_INIT;
	char when[32], seen_last[65] = "", name[65];
	uint64_t ok_size = 0;
	size_t i;
	int e = 0;

	if (cps == NULL || cps->n == 0)
		return 0;
	if ((sorted = calloc(cps->n, sizeof(*sorted))) == NULL)
		return MM_ENOMEM;
	for (i = 0; i < cps->n; i++)
		sorted[i] = &cps->v[i];
	qsort(sorted, cps->n, sizeof(*sorted), by_size);
	for (i = 0; i < cps->n && e == 0; i++) {
		const struct ledger_ckpt *cp = sorted[i];

		/* The same note from the state directory and a repository once. */
		ledger_ckpt_name(cp, name);
		if (strcmp(name, seen_last) == 0)
			continue;
		memcpy(seen_last, name, sizeof(name));
		time_format_utc(cp->time_ns, when, sizeof(when));
		if (strcmp(cp->origin, key->origin) != 0) {
			if (v->host[0] != '\0' && strcmp(cp->host, v->host) == 0)
				e = add_finding(v, LF_FOREIGN, 1, "records 1 to %" PRIu64 ": the checkpoint "
						"of %s (%s, %" PRIu64 " records) for this host %s is "
						"signed by another ledger key (%s, this ledger is %s): "
						"the ledger and its key were replaced", cp->size, when,
						cp->source, cp->size, cp->host, cp->origin, key->origin);
			else
				v->other_hosts++;
			continue;
		}
		v->checkpoints++;
		if (ledger_ckpt_check_sig(cp, key) != 0) {
			e = add_finding(v, LF_SIG, 0, "the checkpoint of %s (%s) names this ledger's key "
					"but its signature does not verify: forged or altered", when,
					cp->source);
			continue;
		}
		if (cp->size > t->n) {
			e = add_finding(v, LF_CUT, t->n + 1, "records %" PRIu64 " to %" PRIu64 " were "
					"removed: the ledger holds %zu records, the checkpoint of %s "
					"(%s) covers %" PRIu64, (uint64_t)t->n + 1, cp->size, t->n,
					when, cp->source, cp->size);
			continue;
		}
		buf_reset(&proof);
		if (cp->size > 0 && (e = merkle_tree_consistency(t, cp->size, t->n, &proof)) != 0)
			break;
		if (merkle_verify_consistency(cp->size, t->n, cp->root, v->root, proof.data,
					      proof.len) != 0) {
			/* Explained by a record named above, or somewhere after the
			 * last checkpoint that matched. */
			uint64_t at = ok_size + 1, k;

			for (k = 0; k < v->nf; k++) {
				if (v->f[k].seq > ok_size && v->f[k].seq <= cp->size &&
				    (at == ok_size + 1 || v->f[k].seq < at))
					at = v->f[k].seq;
			}
			e = add_finding(v, LF_ROOT, at, "records %" PRIu64 " to %" PRIu64
					" do not match the checkpoint of %s (%s): a record among them "
					"was changed, removed or inserted", at, cp->size,
					when, cp->source);
			continue;
		}
		v->checkpoints_ok++;
		ok_size = cp->size;
		if (cp->size >= v->last.size) {
			buf_release(&v->last.note);
			v->last = *cp;
			memset(&v->last.note, 0, sizeof(v->last.note));
		}
	}
	free(sorted);
	buf_release(&proof);
	return e;
}

int
ledger_verify_bytes(const uint8_t *p, size_t n, const struct ledger_ckpts *cps,
		    const struct ledger_key *key, struct ledger_verify *v, struct mm_ctx *c)
{
	struct ledger_scan s;
	struct frame_state *fs = NULL;
	uint8_t (*leaves)[LEDGER_HASH_LEN] = NULL;
	struct merkle_tree t;
	int e;

	memset(v, 0, sizeof(*v));
	memset(&t, 0, sizeof(t));
	if ((e = ledger_scan_bytes(p, n, &s)) != 0)
		return mm_fail(c, e, "out of memory");
	v->records = s.n;
	if (s.n > 0 && ((fs = calloc(s.n, sizeof(*fs))) == NULL ||
			(leaves = calloc(s.n, sizeof(*leaves))) == NULL)) {
		e = MM_ENOMEM;
		goto out;
	}
	if ((e = check_frames(p, &s, fs, leaves, v)) != 0 ||
	    (e = merkle_tree_build(&t, (const uint8_t (*)[LEDGER_HASH_LEN])leaves, s.n)) != 0)
		goto out;
	merkle_tree_root(&t, s.n, v->root);
	if (key != NULL)
		e = check_ckpts(&t, cps, key, v);
out:
	if (e != 0)
		mm_fail(c, e, "cannot verify the ledger: %s", mm_strerror(e));
	merkle_tree_release(&t);
	free(leaves);
	free(fs);
	ledger_scan_release(&s);
	return e;
}
