/* Unit tests for src/ledger: Merkle tree, records, checkpoints, the
 * tampering matrix, torn tails. Every check states the exact outcome. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/ledger.h"

#define NS INT64_C(1000000000)
#define T0 (INT64_C(1796000000) * NS)

static int64_t fixed_ns = T0;
static int64_t now_fixed(void *a) { (void)a; return fixed_ns; }
static int state_fixed(void *a) { (void)a; return LEDGER_CLOCK_SYNCED; }
static const struct ledger_clock clk = { now_fixed, state_fixed, NULL };

static char *
scratch_dir(void)
{
	char tmpl[] = "/tmp/mamori-test-ledger-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void
rm_rf(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static void
unhex(const char *s, uint8_t *out)
{
	assert_int_equal(hex_decode(s, out, strlen(s) / 2), 0);
}

/* ---- Merkle ------------------------------------------------------------------------ */

/* The Certificate Transparency reference leaves and roots (RFC 6962 / 9162). */
static const char *const ct_leaves[] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
static const char *const ct_roots[] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void
ct_tree(struct merkle_tree *t)
{
	uint8_t leaves[8][32], data[16];
	size_t i;

	for (i = 0; i < 8; i++) {
		unhex(ct_leaves[i], data);
		merkle_leaf_hash(data, strlen(ct_leaves[i]) / 2, leaves[i]);
	}
	assert_int_equal(merkle_tree_build(t, (const uint8_t (*)[32])leaves, 8), 0);
}

static void
test_merkle_reference_roots(void **state)
{
	struct merkle_tree t;
	uint8_t root[32], want[32];
	size_t n;

	(void)state;
	ct_tree(&t);
	for (n = 0; n <= 8; n++) {
		merkle_tree_root(&t, n, root);
		unhex(ct_roots[n], want);
		assert_memory_equal(root, want, 32);
	}
	merkle_tree_release(&t);
}

static void
test_merkle_reference_proofs(void **state)
{
	static const struct {
		size_t m, n, k;
		const char *h[3];
	} v[] = {
		{ 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
		{ 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
		{ 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	};
	struct merkle_tree t;
	struct buf proof = BUF_INIT;
	uint8_t want[32], rm[32], rn[32];
	size_t i, k;

	(void)state;
	ct_tree(&t);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_reset(&proof);
		assert_int_equal(merkle_tree_consistency(&t, v[i].m, v[i].n, &proof), 0);
		assert_int_equal(proof.len, 32 * v[i].k);
		for (k = 0; k < v[i].k; k++) {
			unhex(v[i].h[k], want);
			assert_memory_equal(proof.data + 32 * k, want, 32);
		}
		merkle_tree_root(&t, v[i].m, rm);
		merkle_tree_root(&t, v[i].n, rn);
		assert_int_equal(merkle_verify_consistency(v[i].m, v[i].n, rm, rn, proof.data,
							   proof.len), 0);
	}
	buf_release(&proof);
	merkle_tree_release(&t);
}

/* Every pair of sizes up to 40: the proof verifies; any changed byte of it,
 * or a root of another size, fails. */
static void
test_merkle_consistency_all_sizes(void **state)
{
	uint8_t leaves[40][32], rm[32], rn[32], other[32];
	struct merkle_tree t;
	struct buf proof = BUF_INIT;
	size_t m, n, i;

	(void)state;
	for (i = 0; i < 40; i++) {
		uint8_t d[2] = { (uint8_t)i, (uint8_t)(i * 7) };

		merkle_leaf_hash(d, sizeof(d), leaves[i]);
	}
	assert_int_equal(merkle_tree_build(&t, (const uint8_t (*)[32])leaves, 40), 0);
	for (n = 1; n <= 40; n++) {
		for (m = 1; m <= n; m++) {
			buf_reset(&proof);
			assert_int_equal(merkle_tree_consistency(&t, m, n, &proof), 0);
			merkle_tree_root(&t, m, rm);
			merkle_tree_root(&t, n, rn);
			assert_int_equal(merkle_verify_consistency(m, n, rm, rn, proof.data, proof.len), 0);
			for (i = 0; i < proof.len; i += 13) {
				proof.data[i] ^= 0x20;
				assert_int_equal(merkle_verify_consistency(m, n, rm, rn, proof.data,
									   proof.len), MM_ETAMPER);
				proof.data[i] ^= 0x20;
			}
			if (m > 1) {
				merkle_tree_root(&t, m - 1, other);
				assert_int_equal(merkle_verify_consistency(m, n, other, rn, proof.data,
									   proof.len), MM_ETAMPER);
			}
		}
	}
	buf_release(&proof);
	merkle_tree_release(&t);
}

/* ---- records and checkpoints ---------------------------------------------------------- */

static void
test_record_round_trip(void **state)
{
	struct ledger_rec r = LEDGER_REC_INIT, d = LEDGER_REC_INIT;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	size_t cut;

	(void)state;
	r.seq = 42;
	r.time_ns = T0;
	r.clock = LEDGER_CLOCK_UNSYNCED;
	r.uid = 0;
	r.sudo_uid = 1000;
	r.login_uid = LEDGER_NO_UID;
	r.exit_code = -3;
	r.host = strdup("庁舎-web01");
	r.user = strdup("root");
	r.sudo_user = strdup("tanaka");
	r.command = strdup("backup");
	r.target = strdup("/backup/repo");
	r.result = strdup("snapshot 3fa2");
	memset(r.prev, 0xab, sizeof(r.prev));
	assert_int_equal(ledger_rec_add_field(&r, "args", "/srv/data --tag daily"), 0);
	assert_int_equal(ledger_rec_encode(&r, &b), 0);
	assert_int_equal(ledger_rec_decode(b.data, b.len, &d, &c), 0);
	assert_int_equal(d.seq, 42);
	assert_int_equal(d.time_ns, T0);
	assert_int_equal(d.clock, LEDGER_CLOCK_UNSYNCED);
	assert_int_equal(d.sudo_uid, 1000);
	assert_int_equal(d.login_uid, LEDGER_NO_UID);
	assert_int_equal(d.exit_code, -3);
	assert_string_equal(d.host, "庁舎-web01");
	assert_string_equal(d.sudo_user, "tanaka");
	assert_string_equal(ledger_rec_field(&d, "args"), "/srv/data --tag daily");
	assert_null(ledger_rec_field(&d, "nope"));
	assert_memory_equal(d.prev, r.prev, 32);
	ledger_rec_release(&d);
	/* Every truncation is refused, never read past. */
	for (cut = 0; cut < b.len; cut++) {
		struct mm_ctx cc = MM_CTX_INIT;

		assert_int_equal(ledger_rec_decode(b.data, cut, &d, &cc), MM_ECORRUPT);
	}
	ledger_rec_release(&r);
	buf_release(&b);
}

static void
make_key(const char *dir, struct ledger_key *k)
{
	struct ledger *lg;
	struct mm_ctx c = MM_CTX_INIT;

	assert_int_equal(ledger_open(dir, LEDGER_CREATE, &clk, &lg, &c), 0);
	assert_int_equal(ledger_load_key(lg, 1, &c), 0);
	*k = lg->key;
	memset(&lg->key, 0, sizeof(lg->key));
	ledger_free(lg);
}

static void
test_checkpoint_note(void **state)
{
	char *dir = scratch_dir();
	struct ledger_key k, other;
	struct ledger_ckpt cp, p;
	struct mm_ctx c = MM_CTX_INIT;
	uint8_t root[32];
	char *d2;

	(void)state;
	make_key(dir, &k);
	d2 = path_join(dir, "other");
	make_key(d2, &other);
	memset(root, 0x5a, sizeof(root));
	assert_int_equal(ledger_ckpt_make(&k, 17, root, T0, "web\n01", &cp, &c), 0);
	assert_int_equal(ledger_ckpt_parse(cp.note.data, cp.note.len, &p, &c), 0);
	assert_int_equal(p.size, 17);
	assert_int_equal(p.time_ns, T0);
	assert_string_equal(p.host, "web?01");
	assert_string_equal(p.origin, k.origin);
	assert_memory_equal(p.root, root, 32);
	assert_int_equal(ledger_ckpt_check_sig(&p, &k), 0);
	assert_int_equal(ledger_ckpt_check_sig(&p, &other), MM_ESIG);
	ledger_ckpt_release(&p);
	/* A changed size with the old signature fails. */
	cp.note.data[strlen(k.origin) + 2] = '8';
	assert_int_equal(ledger_ckpt_parse(cp.note.data, cp.note.len, &p, &c), 0);
	assert_int_equal(p.size, 18);
	assert_int_equal(ledger_ckpt_check_sig(&p, &k), MM_ESIG);
	ledger_ckpt_release(&p);
	/* Truncated notes are refused. */
	assert_int_equal(ledger_ckpt_parse(cp.note.data, cp.note.len - 1, &p, &c), MM_ECORRUPT);
	assert_int_equal(ledger_ckpt_parse(cp.note.data, 20, &p, &c), MM_ECORRUPT);
	ledger_ckpt_release(&cp);
	ledger_key_release(&k);
	ledger_key_release(&other);
	rm_rf(dir);
	free(dir);
	free(d2);
}

/* ---- the tampering matrix ------------------------------------------------------------- */

struct fixture {
	char *dir;
	struct ledger *lg;
	struct buf bytes;          /* the untouched ledger */
	struct ledger_ckpts cps;   /* its checkpoint(s) */
	struct ledger_scan scan;
};

static void
append_n(struct ledger *lg, int n, const char *what)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_field f = { "text", (char *)what };
	struct ledger_entry en = { "note", "", "", 0, &f, 1 };
	int i;

	for (i = 0; i < n; i++) {
		fixed_ns += NS;
		assert_int_equal(ledger_append(lg, &en, NULL, &c), 0);
	}
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_ckpt cp;
	char *cdir;

	assert_non_null(f);
	f->dir = scratch_dir();
	assert_int_equal(ledger_open(f->dir, LEDGER_CREATE, &clk, &f->lg, &c), 0);
	append_n(f->lg, 10, "replaced disk 2 in 庁舎");
	assert_int_equal(ledger_checkpoint(f->lg, &cp, &c), 0);
	assert_int_equal(cp.size, 10);
	ledger_ckpt_release(&cp);
	assert_int_equal(ledger_read(f->lg, &f->bytes, &c), 0);
	cdir = path_join(f->dir, "checkpoints");
	assert_int_equal(ledger_ckpts_from_dir(cdir, &f->cps, &c), 0);
	assert_int_equal(f->cps.n, 1);
	free(cdir);
	assert_int_equal(ledger_scan_bytes(f->bytes.data, f->bytes.len, &f->scan), 0);
	assert_int_equal(f->scan.n, 10);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ledger_scan_release(&f->scan);
	ledger_ckpts_release(&f->cps);
	buf_release(&f->bytes);
	ledger_free(f->lg);
	rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Verify bytes against the fixture's checkpoint; returns the verdict. */
static int
verify(struct fixture *f, const uint8_t *p, size_t n, struct ledger_verify *v)
{
	struct mm_ctx c = MM_CTX_INIT;

	assert_int_equal(ledger_verify_bytes(p, n, &f->cps, &f->lg->key, v, &c), 0);
	return ledger_verify_verdict(v);
}

static void
expect_bad(struct fixture *f, const struct buf *b, uint64_t first_bad, const char *what)
{
	struct ledger_verify v;
	int verdict = verify(f, b->data, b->len, &v);

	if (verdict != MM_ETAMPER || v.first_bad != first_bad) {
		size_t i;

		for (i = 0; i < v.nf; i++)
			fprintf(stderr, "  finding: %s\n", v.f[i].msg);
		fail_msg("%s: verdict %d, first bad %llu (want %llu)", what, verdict,
			 (unsigned long long)v.first_bad, (unsigned long long)first_bad);
	}
	ledger_verify_release(&v);
}

static void
test_untouched_verifies(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify v;

	assert_int_equal(verify(f, f->bytes.data, f->bytes.len, &v), 0);
	assert_int_equal(v.records, 10);
	assert_int_equal(v.nf, 0);
	assert_int_equal(v.checkpoints, 1);
	assert_int_equal(v.checkpoints_ok, 1);
	assert_int_equal(v.last.size, 10);
	ledger_verify_release(&v);
}

static void
copy_bytes(const struct fixture *f, struct buf *b)
{
	buf_init(b, 0);
	assert_int_equal(buf_append(b, f->bytes.data, f->bytes.len), 0);
}

/* Recompute a frame's checksum after its body was changed (a careful
 * attacker), by framing the body again in place. */
static void
reframe(struct buf *b, const struct ledger_item *it)
{
	struct buf fr = BUF_INIT;

	assert_int_equal(ledger_frame(b->data + it->off + 8, it->len, &fr), 0);
	assert_int_equal(fr.len, it->len + LEDGER_FRAME_OVERHEAD);
	memcpy(b->data + it->off, fr.data, fr.len);
	buf_release(&fr);
}

/* Offsets inside record 5's body of one byte of each field. */
static void
field_offsets(const uint8_t *body, size_t n, size_t *off, const char **name, size_t *count)
{
	size_t o = 0, k = 0, i, nf;
	uint16_t l;

#define AT(nm, len) do { off[k] = o; name[k++] = nm; o += (len); } while (0)
#define STR(nm) do { l = (uint16_t)(body[o] | body[o + 1] << 8); \
		     off[k] = l ? o + 2 : o; name[k++] = nm; o += 2u + l; } while (0)
	AT("magic", 4);
	AT("version", 2);
	AT("seq", 8);
	AT("time", 8);
	AT("clock", 1);
	STR("host");
	AT("uid", 4);
	STR("user");
	AT("sudo_uid", 4);
	STR("sudo_user");
	AT("login_uid", 4);
	STR("command");
	STR("target");
	AT("exit", 4);
	STR("result");
	nf = body[o] | body[o + 1] << 8;
	AT("nfields", 2);
	for (i = 0; i < nf; i++) {
		STR("field key");
		STR("field value");
	}
	AT("prev", 32);
#undef AT
#undef STR
	assert_int_equal(o, n);
	*count = k;
}

static void
test_flip_each_field(void **state)
{
	struct fixture *f = *state;
	const struct ledger_item *it = &f->scan.items[4]; /* record 5 */
	size_t off[64], count, i;
	const char *name[64];
	char what[128];
	struct buf b;

	field_offsets(f->bytes.data + it->off + 8, it->len, off, name, &count);
	assert_true(count >= 18);
	for (i = 0; i < count; i++) {
		size_t at = it->off + 8 + off[i];

		/* As it is: the frame's checksum catches it. */
		copy_bytes(f, &b);
		b.data[at] ^= 0x01;
		snprintf(what, sizeof(what), "flip in %s", name[i]);
		expect_bad(f, &b, 5, what);
		/* With the checksum recomputed: the chain catches it. */
		reframe(&b, it);
		snprintf(what, sizeof(what), "flip in %s, checksum fixed", name[i]);
		expect_bad(f, &b, 5, what);
		buf_release(&b);
	}
	/* The frame itself: magic, length, checksum, trailer. */
	{
		size_t at[] = { it->off, it->off + 4, it->off + 8 + it->len + 3,
				it->off + 8 + it->len + 32 };

		for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			copy_bytes(f, &b);
			b.data[at[i]] ^= 0x01;
			snprintf(what, sizeof(what), "flip in frame byte %zu", at[i] - it->off);
			expect_bad(f, &b, 5, what);
			buf_release(&b);
		}
	}
}

static void
test_delete_swap_insert(void **state)
{
	struct fixture *f = *state;
	const struct ledger_item *r5 = &f->scan.items[4], *r6 = &f->scan.items[5];
	size_t l5 = r5->len + LEDGER_FRAME_OVERHEAD, l6 = r6->len + LEDGER_FRAME_OVERHEAD;
	struct ledger_rec forged = LEDGER_REC_INIT;
	struct buf b, body = BUF_INIT, fr = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	uint8_t *tmp;

	/* Delete record 5. */
	copy_bytes(f, &b);
	memmove(b.data + r5->off, b.data + r5->off + l5, b.len - r5->off - l5);
	b.len -= l5;
	expect_bad(f, &b, 5, "record 5 deleted");
	buf_release(&b);
	/* Swap records 5 and 6. */
	copy_bytes(f, &b);
	tmp = malloc(l5 + l6);
	memcpy(tmp, b.data + r6->off, l6);
	memcpy(tmp + l6, b.data + r5->off, l5);
	memcpy(b.data + r5->off, tmp, l5 + l6);
	free(tmp);
	expect_bad(f, &b, 5, "records 5 and 6 swapped");
	buf_release(&b);
	/* Insert a forged record 6 after record 5, linked to it correctly. */
	assert_int_equal(ledger_rec_decode(f->bytes.data + r5->off + 8, r5->len, &forged, &c), 0);
	forged.seq = 6;
	crypto_sha256(f->bytes.data + r5->off + 8, r5->len, forged.prev);
	free(forged.result);
	forged.result = strdup("nothing happened here");
	assert_int_equal(ledger_rec_encode(&forged, &body), 0);
	assert_int_equal(ledger_frame(body.data, body.len, &fr), 0);
	copy_bytes(f, &b);
	assert_int_equal(buf_append(&b, fr.data, fr.len), 0); /* room */
	memmove(b.data + r6->off + fr.len, b.data + r6->off, f->bytes.len - r6->off);
	memcpy(b.data + r6->off, fr.data, fr.len);
	expect_bad(f, &b, 6, "forged record 6 inserted");
	buf_release(&b);
	ledger_rec_release(&forged);
	buf_release(&body);
	buf_release(&fr);
}

static void
test_cut_short_after_checkpoint(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify v;
	struct buf b;

	/* Two whole records removed from the end: only the checkpoint knows. */
	copy_bytes(f, &b);
	b.len = f->scan.items[8].off;
	expect_bad(f, &b, 9, "cut to 8 records after a checkpoint of 10");
	assert_int_equal(verify(f, b.data, b.len, &v), MM_ETAMPER);
	assert_int_equal(v.nf, 1);
	assert_int_equal(v.f[0].kind, LF_CUT);
	assert_true(strncmp(v.f[0].msg, "records 9 to 10 were removed: the ledger holds 8 records, "
			    "the checkpoint of ", 76) == 0);
	ledger_verify_release(&v);
	buf_release(&b);
}

static void
test_fresh_chain_replaces_file(void **state)
{
	struct fixture *f = *state;
	char *d2 = path_join(f->dir, "attacker");
	struct ledger *lg2;
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_verify v;
	struct buf b = BUF_INIT;

	/* A valid chain of 12 records made elsewhere, put in place of ours. */
	assert_int_equal(ledger_open(d2, LEDGER_CREATE, &clk, &lg2, &c), 0);
	append_n(lg2, 12, "all is well");
	assert_int_equal(ledger_read(lg2, &b, &c), 0);
	assert_int_equal(verify(f, b.data, b.len, &v), MM_ETAMPER);
	assert_int_equal(v.first_bad, 1);
	assert_int_equal(v.nf, 1);
	assert_int_equal(v.f[0].kind, LF_ROOT);
	ledger_verify_release(&v);
	/* Its own key and checkpoints do not help it: ours is in the set. */
	{
		struct ledger_ckpt cp;
		struct ledger_verify v2;

		assert_int_equal(ledger_checkpoint(lg2, &cp, &c), 0);
		assert_int_equal(ledger_ckpts_add(&f->cps, cp.note.data, cp.note.len, "attacker", &c), 0);
		ledger_ckpt_release(&cp);
		assert_int_equal(ledger_verify_bytes(b.data, b.len, &f->cps, &lg2->key, &v2, &c), 0);
		assert_int_equal(ledger_verify_verdict(&v2), MM_ETAMPER);
		assert_int_equal(v2.first_bad, 1);
		assert_int_equal(v2.f[0].kind, LF_FOREIGN);
		ledger_verify_release(&v2);
	}
	buf_release(&b);
	ledger_free(lg2);
	free(d2);
}

/* Every cut inside the last frame is a torn tail of record 11, never
 * tampering; so is a tail of zeros. */
static void
test_torn_tail_every_byte(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify v;
	struct buf b;
	size_t full, cut;

	append_n(f->lg, 1, "the last one");
	buf_init(&b, 0);
	{
		struct mm_ctx c = MM_CTX_INIT;

		assert_int_equal(ledger_read(f->lg, &b, &c), 0);
	}
	full = b.len;
	for (cut = f->bytes.len + 1; cut < full; cut++) {
		assert_int_equal(verify(f, b.data, cut, &v), MM_ETORN);
		assert_int_equal(v.records, 10);
		assert_int_equal(v.torn_seq, 11);
		assert_int_equal(v.nf, 1);
		ledger_verify_release(&v);
	}
	/* A power loss: the new length shows, the blocks hold zeros. */
	memset(b.data + f->bytes.len, 0, full - f->bytes.len);
	assert_int_equal(verify(f, b.data, full, &v), MM_ETORN);
	assert_int_equal(v.torn_seq, 11);
	ledger_verify_release(&v);
	buf_release(&b);
}

static size_t
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The next append moves a torn tail aside, records that it did, and the
 * ledger verifies again. */
static void
test_append_after_torn(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct ledger_verify v;
	struct ledger_rec *recs;
	struct buf b = BUF_INIT;
	size_t n;
	char *tdir = path_join(f->dir, "torn"), want[128];
	int fd;

	fd = open(f->lg->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "MMLG\x50\x00\x00\x00partial", 15), 15);
	close(fd);
	assert_int_equal(ledger_verify(f->lg, NULL, NULL, &v, &c), 0);
	assert_int_equal(ledger_verify_verdict(&v), MM_ETORN);
	snprintf(want, sizeof(want), "record 11 is torn (crash during append): 15 bytes at offset %zu",
		 f->bytes.len);
	assert_string_equal(v.f[0].msg, want);
	ledger_verify_release(&v);
	append_n(f->lg, 1, "after the crash");
	assert_int_equal(count_files(tdir), 1);
	assert_int_equal(ledger_verify(f->lg, NULL, NULL, &v, &c), 0);
	assert_int_equal(ledger_verify_verdict(&v), 0);
	assert_int_equal(v.records, 12);
	assert_int_equal(v.recovered, 1);
	ledger_verify_release(&v);
	assert_int_equal(ledger_read(f->lg, &b, &c), 0);
	assert_int_equal(ledger_records(b.data, b.len, &recs, &n, &c), 0);
	assert_int_equal(n, 12);
	assert_string_equal(recs[10].command, "ledger");
	assert_string_equal(ledger_rec_field(&recs[10], "torn_bytes"), "15");
	snprintf(want, sizeof(want), "torn/%zu.bin", f->bytes.len);
	assert_string_equal(ledger_rec_field(&recs[10], "saved_as"), want);
	assert_string_equal(ledger_rec_field(&recs[11], "text"), "after the crash");
	ledger_records_free(recs, n);
	buf_release(&b);
	free(tdir);
}

static void
test_times(void **state)
{
	int64_t t, d;
	char s[32];

	(void)state;
	assert_int_equal(ledger_parse_time("2026-12-01T10:00:00Z", 0, &t), 0);
	assert_int_equal(t, INT64_C(1796119200) * NS);
	assert_int_equal(ledger_parse_time("2026-12-01T19:00:00+09:00", 0, &t), 0);
	assert_int_equal(t, INT64_C(1796119200) * NS);
	assert_int_equal(ledger_parse_time("@1796119200", 0, &t), 0);
	assert_int_equal(t, INT64_C(1796119200) * NS);
	assert_int_equal(ledger_parse_time("2h", 10 * 3600 * NS, &t), 0);
	assert_int_equal(t, 8 * 3600 * NS);
	assert_int_equal(ledger_parse_time("2026-13-01", 0, &t), MM_EINVAL);
	assert_int_equal(ledger_parse_time("yesterday", 0, &t), MM_EINVAL);
	assert_int_equal(ledger_parse_duration("1h30m", &d), 0);
	assert_int_equal(d, 5400 * NS);
	assert_int_equal(ledger_parse_duration("4x", &d), MM_EINVAL);
	ledger_format_duration(5400 * NS, s, sizeof(s));
	assert_string_equal(s, "1h 30m");
	ledger_format_duration(2 * 86400 * NS + 4 * 3600 * NS, s, sizeof(s));
	assert_string_equal(s, "2d 4h");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merkle_reference_roots),
		cmocka_unit_test(test_merkle_reference_proofs),
		cmocka_unit_test(test_merkle_consistency_all_sizes),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_checkpoint_note),
		cmocka_unit_test_setup_teardown(test_untouched_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_each_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_swap_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_short_after_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fresh_chain_replaces_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_after_torn, setup, teardown),
		cmocka_unit_test(test_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
