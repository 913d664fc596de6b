/* Unit tests for the wire codecs: round trips, every truncation rejected,
 * hostile names and counts refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"

static void
make_id(struct mm_id *id, uint8_t seed)
{
	for (size_t i = 0; i < MM_ID_LEN; i++)
		id->b[i] = (uint8_t)(seed * 31 + i);
}

static void
fill_node(struct node *n, const char *name, size_t len, uint8_t type)
{
	n->name = malloc(len);
	memcpy(n->name, name, len);
	n->name_len = len;
	n->type = type;
	n->mode = 0100644;
	n->uid = 1000;
	n->gid = 1000;
	n->user = strdup("tanaka");
	n->group = strdup("住民課");
	n->size = 12345;
	n->mtime_ns = 1700000000123456789LL;
	n->ctime_ns = 1700000001000000001LL;
	n->atime_ns = -5; /* before 1970 must survive too */
	n->inode = 987654321;
	n->dev = 2049;
	n->nlink = 2;
}

/* A tree with a file (content, xattrs), a dir, a symlink, a non-UTF-8 name. */
static void
sample_tree(struct tree *t)
{
	struct node *n;

	n = tree_add(t);
	fill_node(n, "a-file", 6, NODE_FILE);
	n->ncontent = 3;
	n->content = calloc(3, sizeof(*n->content));
	for (uint8_t i = 0; i < 3; i++)
		make_id(&n->content[i], i);
	n->nxattrs = 1;
	n->xattrs = calloc(1, sizeof(*n->xattrs));
	n->xattrs[0].name = strdup("user.comment");
	n->xattrs[0].value = malloc(3);
	memcpy(n->xattrs[0].value, "\0\1\2", 3);
	n->xattrs[0].len = 3;
	n = tree_add(t);
	fill_node(n, "b-dir", 5, NODE_DIR);
	make_id(&n->subtree, 9);
	n = tree_add(t);
	fill_node(n, "c-link", 6, NODE_SYMLINK);
	n->target = malloc(5);
	memcpy(n->target, "../x\xff", 5);
	n->target_len = 5;
	n = tree_add(t);
	fill_node(n, "\xff\xfe-bytes", 8, NODE_FIFO);
	assert_int_equal(tree_sort(t), 0);
}

static void
test_tree_round_trip(void **state)
{
	struct tree t = TREE_INIT, u = TREE_INIT;
	struct buf b = BUF_INIT, b2 = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	sample_tree(&t);
	assert_int_equal(tree_encode(&t, &b), 0);
	assert_int_equal(tree_decode(b.data, b.len, &u, &c), 0);
	assert_int_equal(u.n, 4);
	/* Deterministic: re-encoding the decoded tree gives the same bytes. */
	assert_int_equal(tree_encode(&u, &b2), 0);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.data, b2.data, b.len);
	{
		struct node *f = tree_find(&u, (const uint8_t *)"a-file", 6);
		assert_non_null(f);
		assert_int_equal(f->ncontent, 3);
		assert_int_equal(f->nxattrs, 1);
		assert_memory_equal(f->xattrs[0].value, "\0\1\2", 3);
		assert_true(f->atime_ns == -5);
		assert_string_equal(f->group, "住民課");
		f = tree_find(&u, (const uint8_t *)"\xff\xfe-bytes", 8);
		assert_non_null(f);
		assert_int_equal(f->type, NODE_FIFO);
		f = tree_find(&u, (const uint8_t *)"c-link", 6);
		assert_int_equal(f->target_len, 5);
		assert_null(tree_find(&u, (const uint8_t *)"zzz", 3));
	}
	tree_release(&t);
	tree_release(&u);
	buf_release(&b);
	buf_release(&b2);
}

/* Encoding version 2: a copy records its origin; without one, version 1. */
static void
test_snapshot_origin(void **state)
{
	struct snapshot s, out;
	struct buf b = BUF_INIT, v1 = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.time_ns = 7;
	s.host = (char *)"h";
	s.user = (char *)"u";
	s.program = (char *)"p";
	make_id(&s.tree, 2);
	assert_int_equal(snapshot_encode(&s, &v1), 0);
	assert_int_equal(v1.data[4], 1);
	s.has_origin = 1;
	memset(s.origin_repo, 0x33, sizeof(s.origin_repo));
	make_id(&s.origin, 9);
	assert_int_equal(snapshot_encode(&s, &b), 0);
	assert_int_equal(b.data[4], 2);
	assert_int_equal(b.len, v1.len + 1 + 64); /* flags, then the origin */
	assert_int_equal(b.data[v1.len], SNAP_EXT_ORIGIN);
	memset(&out, 0, sizeof(out));
	assert_int_equal(snapshot_decode(b.data, b.len, &out, &c), 0);
	assert_int_equal(out.has_origin, 1);
	assert_memory_equal(out.origin_repo, s.origin_repo, 32);
	assert_memory_equal(out.origin.b, s.origin.b, MM_ID_LEN);
	snapshot_release(&out);
	for (size_t len = 0; len < b.len; len++)
		assert_int_not_equal(snapshot_decode(b.data, len, &out, &c), 0);
	assert_int_equal(snapshot_decode(v1.data, v1.len, &out, &c), 0);
	assert_int_equal(out.has_origin, 0);
	snapshot_release(&out);
	/* Both extensions (a copy later retagged): original first, then origin. */
	s.has_original = 1;
	make_id(&s.original, 5);
	buf_reset(&b);
	assert_int_equal(snapshot_encode(&s, &b), 0);
	assert_int_equal(b.len, v1.len + 1 + 32 + 64);
	assert_int_equal(b.data[v1.len], SNAP_EXT_ORIGINAL | SNAP_EXT_ORIGIN);
	assert_int_equal(snapshot_decode(b.data, b.len, &out, &c), 0);
	assert_int_equal(out.has_original, 1);
	assert_int_equal(out.has_origin, 1);
	assert_memory_equal(out.original.b, s.original.b, MM_ID_LEN);
	assert_memory_equal(out.origin.b, s.origin.b, MM_ID_LEN);
	snapshot_release(&out);
	/* A flag this build does not know is refused, not skipped. */
	b.data[v1.len] |= 0x04;
	assert_int_not_equal(snapshot_decode(b.data, b.len, &out, &c), 0);
	buf_release(&b);
	buf_release(&v1);
}

static void
test_tree_truncations_rejected(void **state)
{
	struct tree t = TREE_INIT, u;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	sample_tree(&t);
	assert_int_equal(tree_encode(&t, &b), 0);
	for (size_t len = 0; len < b.len; len++) {
		assert_int_not_equal(tree_decode(b.data, len, &u, &c), 0);
		assert_int_equal(u.n, 0);
		assert_null(u.nodes);
	}
	/* One byte too many is refused as well. */
	assert_int_equal(buf_append_u8(&b, 0), 0);
	assert_int_equal(tree_decode(b.data, b.len, &u, &c), MM_ECORRUPT);
	tree_release(&t);
	buf_release(&b);
}

/* Encode a one-entry tree named name[0..len) and decode it. */
static int
decode_named(const char *name, size_t len, struct mm_ctx *c)
{
	struct tree t = TREE_INIT, u = TREE_INIT;
	struct buf b = BUF_INIT;
	int e;

	fill_node(tree_add(&t), name, len, NODE_FILE);
	assert_int_equal(tree_encode(&t, &b), 0);
	e = tree_decode(b.data, b.len, &u, c);
	tree_release(&t);
	tree_release(&u);
	buf_release(&b);
	return e;
}

static void
test_tree_hostile_names(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	assert_int_equal(decode_named("..", 2, &c), MM_ECORRUPT);
	assert_non_null(strstr(c.msg, "'..'"));
	assert_int_equal(decode_named(".", 1, &c), MM_ECORRUPT);
	assert_int_equal(decode_named("a/b", 3, &c), MM_ECORRUPT);
	assert_non_null(strstr(c.msg, "'/'"));
	assert_int_equal(decode_named("../../etc/passwd", 16, &c), MM_ECORRUPT);
	assert_int_equal(decode_named("a\0b", 3, &c), MM_ECORRUPT);
	assert_int_equal(decode_named("", 0, &c), MM_ECORRUPT);
	assert_int_equal(decode_named("...", 3, &c), 0); /* an odd but harmless name */
}

static void
test_tree_unsorted_or_duplicate(void **state)
{
	struct tree t = TREE_INIT, u = TREE_INIT;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	fill_node(tree_add(&t), "b", 1, NODE_FILE);
	fill_node(tree_add(&t), "a", 1, NODE_FILE);
	assert_int_equal(tree_encode(&t, &b), 0); /* unsorted on purpose */
	assert_int_equal(tree_decode(b.data, b.len, &u, &c), MM_ECORRUPT);
	assert_non_null(strstr(c.msg, "sorted"));
	tree_release(&t);
	buf_reset(&b);
	fill_node(tree_add(&t), "a", 1, NODE_FILE);
	fill_node(tree_add(&t), "a", 1, NODE_FILE);
	assert_int_equal(tree_sort(&t), MM_ECORRUPT);
	assert_int_equal(tree_encode(&t, &b), 0);
	assert_int_equal(tree_decode(b.data, b.len, &u, &c), MM_ECORRUPT);
	tree_release(&t);
	buf_release(&b);
}

static void
test_tree_hostile_count(void **state)
{
	/* Magic, version, and a count of 4 billion entries in 10 bytes. */
	const uint8_t p[] = { 'M', 'M', 'T', 'R', 1, 0, 0xff, 0xff, 0xff, 0xff };
	struct tree u;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	assert_int_equal(tree_decode(p, sizeof(p), &u, &c), MM_ECORRUPT);
	assert_null(u.nodes);
}

static void
test_pack_header(void **state)
{
	struct pack_entry e[3], *out = NULL;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	size_t n;

	(void)state;
	for (uint8_t i = 0; i < 3; i++) {
		e[i].type = i == 2 ? BLOB_TREE : BLOB_DATA;
		e[i].length = 1000u + i;
		e[i].raw_len = i == 1 ? 0 : 5000u;
		make_id(&e[i].id, i);
	}
	assert_int_equal(pack_header_encode(e, 3, &b), 0);
	assert_int_equal(pack_header_decode(b.data, b.len, &out, &n, &c), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, e, 0); /* silence unused */
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(out[i].type, e[i].type);
		assert_int_equal(out[i].length, e[i].length);
		assert_int_equal(out[i].raw_len, e[i].raw_len);
		assert_memory_equal(out[i].id.b, e[i].id.b, MM_ID_LEN);
	}
	free(out);
	for (size_t len = 0; len < b.len; len++) {
		assert_int_not_equal(pack_header_decode(b.data, len, &out, &n, &c), 0);
		assert_null(out);
	}
	b.data[0] = 'X';
	assert_int_equal(pack_header_decode(b.data, b.len, &out, &n, &c), MM_ECORRUPT);
	b.data[0] = 'M';
	b.data[4] = 2; /* a future version */
	assert_int_equal(pack_header_decode(b.data, b.len, &out, &n, &c), MM_EVERSION);
	buf_release(&b);
}

static void
test_config(void **state)
{
	struct repo_config cf = { 0 }, out;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	cf.version = REPO_VERSION;
	memset(cf.id, 7, sizeof(cf.id));
	cf.chunker.min_size = CHUNKER_MIN_DEFAULT;
	cf.chunker.avg_size = CHUNKER_AVG_DEFAULT;
	cf.chunker.max_size = CHUNKER_MAX_DEFAULT;
	cf.zstd_level = 3;
	cf.created_ns = 42;
	assert_int_equal(config_encode(&cf, &b), 0);
	assert_int_equal(config_decode(b.data, b.len, &out, &c), 0);
	assert_memory_equal(&out, &cf, sizeof(cf));
	for (size_t len = 0; len < b.len; len++)
		assert_int_not_equal(config_decode(b.data, len, &out, &c), 0);
	buf_reset(&b);
	cf.version = REPO_VERSION + 1;
	assert_int_equal(config_encode(&cf, &b), 0);
	assert_int_equal(config_decode(b.data, b.len, &out, &c), MM_EVERSION);
	assert_non_null(strstr(c.msg, "version 3"));
	assert_non_null(strstr(c.msg, "upgrade mamori"));
	/* Version 1 sealed blobs without associated data: refused, with what to do. */
	buf_reset(&b);
	cf.version = 1;
	assert_int_equal(config_encode(&cf, &b), 0);
	assert_int_equal(config_decode(b.data, b.len, &out, &c), MM_EVERSION);
	assert_non_null(strstr(c.msg, "make a new repository"));
	buf_release(&b);
}

/* Encoding version 2: ID and gear keys copied from another repository. A
 * config without them is still written as version 1, byte for byte. */
static void
test_config_shared_keys(void **state)
{
	struct repo_config cf = { 0 }, out;
	struct buf b = BUF_INIT, v1 = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	cf.version = REPO_VERSION;
	cf.chunker.min_size = CHUNKER_MIN_DEFAULT;
	cf.chunker.avg_size = CHUNKER_AVG_DEFAULT;
	cf.chunker.max_size = CHUNKER_MAX_DEFAULT;
	cf.zstd_level = 1;
	assert_int_equal(config_encode(&cf, &v1), 0);
	assert_int_equal(v1.len, 66);
	assert_int_equal(v1.data[4], 1);
	cf.shared_keys = 1;
	memset(cf.id_key, 0xa1, sizeof(cf.id_key));
	memset(cf.gear_key, 0xb2, sizeof(cf.gear_key));
	assert_int_equal(config_encode(&cf, &b), 0);
	assert_int_equal(b.len, 66 + 64);
	assert_int_equal(b.data[4], 2);
	assert_memory_equal(b.data + 6, v1.data + 6, 60); /* the same fields first */
	assert_int_equal(config_decode(b.data, b.len, &out, &c), 0);
	assert_memory_equal(&out, &cf, sizeof(cf));
	for (size_t len = 0; len < b.len; len++)
		assert_int_not_equal(config_decode(b.data, len, &out, &c), 0);
	b.data[4] = 3;
	assert_int_equal(config_decode(b.data, b.len, &out, &c), MM_EVERSION);
	assert_string_equal(c.msg, "config: encoding version 3 is not supported (this mamori "
			    "reads versions 1 to 2; upgrade mamori)");
	buf_release(&b);
	buf_release(&v1);
}

static void
test_keyfile(void **state)
{
	struct kdf_params kp;
	uint8_t kek[MM_KEY_LEN], master[MM_KEY_LEN], got[MM_KEY_LEN];
	struct keyfile_meta m = { (char *)"tanaka", (char *)"root", (char *)"cityhall-01", 99 };
	struct keyfile_meta out;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	struct kdf_params kp2;

	(void)state;
	assert_int_equal(crypto_kdf_default(&kp, 1), 0);
	memset(kek, 1, sizeof(kek));
	memset(master, 2, sizeof(master));
	assert_int_equal(keyfile_encode(&kp, kek, master, NULL, &m, &b), 0);
	assert_int_equal(keyfile_kdf_params(b.data, b.len, &kp2, &c), 0);
	assert_memory_equal(&kp2, &kp, sizeof(kp));
	assert_int_equal(keyfile_decode(b.data, b.len, kek, got, &out, &c), 0);
	assert_memory_equal(got, master, MM_KEY_LEN);
	assert_string_equal(out.name, "tanaka");
	assert_string_equal(out.host, "cityhall-01");
	assert_true(out.created_ns == 99);
	keyfile_meta_release(&out);
	/* Wrong KEK (wrong password) */
	kek[0] ^= 1;
	assert_int_equal(keyfile_decode(b.data, b.len, kek, got, &out, &c), MM_EAUTH);
	kek[0] ^= 1;
	/* Weakening the stored KDF parameters breaks the tag (they are AAD). */
	b.data[7] ^= 1;
	assert_int_not_equal(keyfile_decode(b.data, b.len, kek, got, &out, &c), 0);
	b.data[7] ^= 1;
	for (size_t len = 0; len < b.len; len++)
		assert_int_not_equal(keyfile_decode(b.data, len, kek, got, &out, &c), 0);
	/* Hostile memory cost: refused before any allocation. */
	b.data[11] = 0xff;
	b.data[12] = 0xff;
	b.data[13] = 0xff;
	b.data[14] = 0xff;
	assert_int_equal(keyfile_kdf_params(b.data, b.len, &kp2, &c), MM_ELIMIT);
	buf_release(&b);
}

/* Version 2: a copy of the description sealed under the repository's enc
 * key, readable by every key holder; both copies must agree. */
static void
test_keyfile_v2(void **state)
{
	struct kdf_params kp;
	struct mm_keys k;
	uint8_t kek[MM_KEY_LEN], got[MM_KEY_LEN], other[MM_KEY_LEN];
	struct keyfile_meta m = { (char *)"sato", (char *)"admin", (char *)"school-07", 1234 };
	struct keyfile_meta out;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	unsigned ver = 0;

	(void)state;
	memset(&k, 0, sizeof(k));
	memset(k.master, 7, sizeof(k.master));
	assert_int_equal(crypto_keys_derive(&k), 0);
	assert_int_equal(crypto_kdf_default(&kp, 1), 0);
	memset(kek, 3, sizeof(kek));
	assert_int_equal(keyfile_encode(&kp, kek, k.master, k.enc, &m, &b), 0);
	assert_int_equal(keyfile_version(b.data, b.len, &ver, &c), 0);
	assert_int_equal(ver, 2);
	assert_int_equal(keyfile_meta_read(b.data, b.len, k.enc, &out, &c), 0);
	assert_string_equal(out.name, "sato");
	assert_string_equal(out.user, "admin");
	assert_string_equal(out.host, "school-07");
	assert_true(out.created_ns == 1234);
	keyfile_meta_release(&out);
	assert_int_equal(keyfile_decode(b.data, b.len, kek, got, &out, &c), 0);
	assert_memory_equal(got, k.master, MM_KEY_LEN);
	assert_string_equal(out.name, "sato");
	keyfile_meta_release(&out);
	/* Another repository's enc key does not read the description. */
	memset(other, 9, sizeof(other));
	assert_int_equal(keyfile_meta_read(b.data, b.len, other, &out, &c), MM_EAUTH);
	for (size_t len = 0; len < b.len; len++)
		assert_int_not_equal(keyfile_decode(b.data, len, kek, got, &out, &c), 0);
	/* The description altered: fails its tag. */
	b.data[b.len - 20] ^= 1;
	assert_int_not_equal(keyfile_decode(b.data, b.len, kek, got, &out, &c), 0);
	b.data[b.len - 20] ^= 1;
	/* A newer encoding version: MM_EVERSION, saying to upgrade. */
	b.data[4] = 3;
	assert_int_equal(keyfile_kdf_params(b.data, b.len, &kp, &c), MM_EVERSION);
	assert_non_null(strstr(c.msg, "upgrade mamori"));
	b.data[4] = 0;
	assert_int_equal(keyfile_kdf_params(b.data, b.len, &kp, &c), MM_EVERSION);
	crypto_keys_wipe(&k);
	buf_release(&b);
}

static void
test_snapshot(void **state)
{
	char *paths[] = { (char *)"/srv/data", (char *)"/etc" };
	char *tags[] = { (char *)"nightly" };
	struct snapshot s, out;
	struct buf b = BUF_INIT, b2 = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.time_ns = 1795566230700471650LL;
	s.host = (char *)"cityhall-01";
	s.user = (char *)"root";
	s.paths = paths;
	s.npaths = 2;
	s.tags = tags;
	s.ntags = 1;
	s.has_parent = 1;
	make_id(&s.parent, 1);
	make_id(&s.tree, 2);
	s.program = (char *)"mamori 0.1.0";
	s.sum.files_new = 10;
	s.sum.bytes_added = 1 << 20;
	s.sum.duration_ns = 123;
	assert_int_equal(snapshot_encode(&s, &b), 0);
	memset(&out, 0, sizeof(out));
	assert_int_equal(snapshot_decode(b.data, b.len, &out, &c), 0);
	assert_string_equal(out.paths[1], "/etc");
	assert_string_equal(out.tags[0], "nightly");
	assert_int_equal(out.nexcludes, 0);
	assert_int_equal(out.has_parent, 1);
	assert_memory_equal(out.tree.b, s.tree.b, MM_ID_LEN);
	assert_int_equal(out.sum.files_new, 10);
	assert_int_equal(snapshot_encode(&out, &b2), 0);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.data, b2.data, b.len);
	snapshot_release(&out);
	for (size_t len = 0; len < b.len; len++) {
		assert_int_not_equal(snapshot_decode(b.data, len, &out, &c), 0);
		assert_null(out.host);
	}
	buf_release(&b);
	buf_release(&b2);
}

static void
test_lock(void **state)
{
	struct lock_info l = { (char *)"h", (char *)"u", 1234, 5678, 1, (char *)"backup" }, out;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	assert_int_equal(lock_encode(&l, &b), 0);
	assert_int_equal(lock_decode(b.data, b.len, &out, &c), 0);
	assert_string_equal(out.command, "backup");
	assert_true(out.pid == 1234 && out.time_ns == 5678 && out.exclusive == 1);
	lock_info_release(&out);
	for (size_t len = 0; len < b.len; len++)
		assert_int_not_equal(lock_decode(b.data, len, &out, &c), 0);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_round_trip),
		cmocka_unit_test(test_tree_truncations_rejected),
		cmocka_unit_test(test_tree_hostile_names),
		cmocka_unit_test(test_tree_unsorted_or_duplicate),
		cmocka_unit_test(test_tree_hostile_count),
		cmocka_unit_test(test_pack_header),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_keyfile),
		cmocka_unit_test(test_keyfile_v2),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_snapshot_origin),
		cmocka_unit_test(test_config_shared_keys),
		cmocka_unit_test(test_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
