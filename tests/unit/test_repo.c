/* Unit tests for src/repo: init/open, passwords, locks, object naming,
 * blobs and snapshots on a real local repository in a scratch folder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo/repo.h"

struct fx {
	char dir[64];
	char repo[96];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct repo_init_opts o;
	struct mm_ctx c = MM_CTX_INIT;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/mamori-test-repo-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	memset(&o, 0, sizeof(o));
	o.key_name = "tanaka";
	o.fast_kdf = 1;
	assert_int_equal(repo_init(f->repo, "pw", &o, &c), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct repo *
open_ok(const struct fx *f)
{
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;

	assert_int_equal(repo_open(f->repo, "pw", &r, &c), 0);
	assert_int_equal(repo_load_index(r, &c), 0);
	return r;
}

/* The only file in dir/sub, or "" when there is none. */
static void
only_file(const char *dir, const char *sub, char *out, size_t n)
{
	char path[256];
	struct dirent *d;
	DIR *dh;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	out[0] = '\0';
	if ((dh = opendir(path)) == NULL)
		return;
	while ((d = readdir(dh)) != NULL) {
		struct stat st;
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", path, d->d_name);
		if (d->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
			snprintf(out, n, "%s", p);
	}
	closedir(dh);
}

static void
test_init_twice_refused(void **state)
{
	struct fx *f = *state;
	struct repo_init_opts o;
	struct mm_ctx c = MM_CTX_INIT;

	memset(&o, 0, sizeof(o));
	o.fast_kdf = 1;
	assert_int_equal(repo_init(f->repo, "other", &o, &c), MM_EEXIST);
	assert_non_null(strstr(c.msg, "already"));
}

static void
test_open_wrong_password_and_no_repo(void **state)
{
	struct fx *f = *state;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	char nowhere[128];

	assert_int_equal(repo_open(f->repo, "PW", &r, &c), MM_EPASSWORD);
	assert_null(r);
	assert_non_null(strstr(c.msg, "wrong password"));
	snprintf(nowhere, sizeof(nowhere), "%s/none", f->dir);
	assert_int_equal(repo_open(nowhere, "pw", &r, &c), MM_ENOREPO);
	r = open_ok(f);
	assert_int_equal(r->cfg.version, REPO_VERSION);
	assert_int_equal(r->cfg.chunker.avg_size, CHUNKER_AVG_DEFAULT);
	repo_free(r);
}

static void
test_blob_round_trip_and_dedup(void **state)
{
	struct fx *f = *state;
	struct repo *r = open_ok(f);
	struct mm_ctx c = MM_CTX_INIT;
	struct buf out = BUF_INIT;
	struct mm_id a, b;
	static uint8_t big[200000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i % 251 == 0 ? i : 'a'); /* compressible */
	assert_int_equal(repo_blob_save(r, BLOB_DATA, big, sizeof(big), &a, &c), 0);
	assert_int_equal(repo_blob_save(r, BLOB_DATA, big, sizeof(big), &b, &c), 0);
	assert_memory_equal(a.b, b.b, MM_ID_LEN);
	assert_int_equal(r->stored_blobs, 1);
	assert_int_equal(repo_flush(r, &c), 0);
	assert_int_equal(repo_blob_read(r, &a, &out, &c), 0);
	assert_int_equal(out.len, sizeof(big));
	assert_memory_equal(out.data, big, sizeof(big));
	/* Compressed: the pack is far smaller than the data. */
	assert_true(r->stored_bytes < sizeof(big) / 4);
	repo_free(r);
	/* After reopening, the index knows the blob. */
	r = open_ok(f);
	buf_reset(&out);
	assert_int_equal(repo_blob_read(r, &a, &out, &c), 0);
	assert_int_equal(out.len, sizeof(big));
	repo_free(r);
	buf_release(&out);
}

static void
test_altered_pack_detected(void **state)
{
	struct fx *f = *state;
	struct repo *r = open_ok(f);
	struct mm_ctx c = MM_CTX_INIT;
	struct buf out = BUF_INIT;
	struct mm_id id;
	char pack[512];
	FILE *fp;
	int ch;

	assert_int_equal(repo_blob_save(r, BLOB_DATA, "some data", 9, &id, &c), 0);
	assert_int_equal(repo_flush(r, &c), 0);
	repo_free(r);
	/* data/ has one sub-level per first two hex digits in the local layout;
	 * find the pack via the helper on each possible folder. */
	pack[0] = '\0';
	for (int i = 0; i < 256 && pack[0] == '\0'; i++) {
		char sub[16];
		snprintf(sub, sizeof(sub), "repo/data/%02x", i);
		only_file(f->dir, sub, pack, sizeof(pack));
	}
	if (pack[0] == '\0')
		only_file(f->dir, "repo/data", pack, sizeof(pack));
	assert_true(pack[0] != '\0');
	fp = fopen(pack, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 20, SEEK_SET), 0);
	ch = fgetc(fp);
	assert_int_equal(fseek(fp, 20, SEEK_SET), 0);
	fputc(ch ^ 0x01, fp);
	fclose(fp);
	r = open_ok(f);
	assert_int_equal(repo_blob_read(r, &id, &out, &c), MM_EAUTH);
	assert_int_equal(out.len, 0);
	repo_free(r);
	buf_release(&out);
}

/* A blob's tag binds its ID, type and raw length: the same stored bytes
 * opened under another ID, type or length fail; bytes sealed under the
 * wrong ID open (the tag cannot know) but REPO_VERIFY_ID names them. */
static void
test_blob_bound_to_id(void **state)
{
	struct fx *f = *state;
	struct repo *r = open_ok(f);
	struct mm_ctx c = MM_CTX_INIT;
	struct sealed_blob sb;
	struct buf out = BUF_INIT;
	struct mm_id a, b;
	struct blob_loc loc = { 0 };

	repo_blob_id(r, "first", 5, &a);
	repo_blob_id(r, "other", 5, &b);
	assert_int_equal(repo_blob_seal(r, BLOB_DATA, &a, "first", 5, &sb), 0);
	loc.length = (uint32_t)sb.data.len;
	loc.type = BLOB_DATA;
	assert_int_equal(repo_blob_open(r, &a, &loc, sb.data.data, REPO_VERIFY_ID, &out, &c), 0);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "first", 5);
	assert_int_equal(repo_blob_open(r, &b, &loc, sb.data.data, 0, &out, &c), MM_EAUTH);
	assert_non_null(strstr(c.msg, "authentication failed"));
	loc.type = BLOB_TREE;
	assert_int_equal(repo_blob_open(r, &a, &loc, sb.data.data, 0, &out, &c), MM_EAUTH);
	loc.type = BLOB_DATA;
	sealed_blob_release(&sb);

	/* "other" sealed under a's ID: a writer's mistake only a rehash sees. */
	assert_int_equal(repo_blob_seal(r, BLOB_DATA, &a, "other", 5, &sb), 0);
	loc.length = (uint32_t)sb.data.len;
	assert_int_equal(repo_blob_open(r, &a, &loc, sb.data.data, 0, &out, &c), 0);
	assert_memory_equal(out.data, "other", 5);
	c.msg[0] = '\0';
	assert_int_equal(repo_blob_open(r, &a, &loc, sb.data.data, REPO_VERIFY_ID, &out, &c),
			 MM_EAUTH);
	assert_non_null(strstr(c.msg, "does not match its ID"));
	sealed_blob_release(&sb);
	buf_release(&out);
	repo_free(r);
}

/* Random chunks are stored as they are; a chunk that is random for most
 * of its length but holds a run of zeros (a disk image) is compressed. */
static void
test_compression_choice(void **state)
{
	struct fx *f = *state;
	struct repo *r = open_ok(f);
	struct sealed_blob sb;
	struct mm_id id;
	size_t n = 1u << 20;
	uint8_t *p = malloc(n);
	uint64_t x = 88172645463325252ull;

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
	repo_blob_id(r, p, n, &id);
	assert_int_equal(repo_blob_seal(r, BLOB_DATA, &id, p, n, &sb), 0);
	assert_int_equal(sb.raw_len, 0);
	assert_int_equal(sb.data.len, n + MM_AEAD_OVERHEAD);
	sealed_blob_release(&sb);
	memset(p + n / 2 + 4096, 0, n / 8);
	repo_blob_id(r, p, n, &id);
	assert_int_equal(repo_blob_seal(r, BLOB_DATA, &id, p, n, &sb), 0);
	assert_int_equal(sb.raw_len, n);
	assert_true(sb.data.len < n - n / 10);
	sealed_blob_release(&sb);
	free(p);
	repo_free(r);
}

static void
test_locks(void **state)
{
	struct fx *f = *state;
	struct repo *a = open_ok(f), *b = open_ok(f), *x = open_ok(f);
	struct mm_ctx c = MM_CTX_INIT;

	assert_int_equal(repo_lock(a, 0, "backup", &c), 0);
	assert_int_equal(repo_lock(b, 0, "backup", &c), 0); /* shared locks coexist */
	assert_int_equal(repo_lock(x, 1, "prune", &c), MM_ELOCKED);
	assert_non_null(strstr(c.msg, "backup"));
	repo_unlock(a);
	repo_unlock(b);
	assert_int_equal(repo_lock(x, 1, "prune", &c), 0);
	assert_int_equal(repo_lock(a, 0, "backup", &c), MM_ELOCKED);
	assert_non_null(strstr(c.msg, "exclusive"));
	repo_free(x); /* releases its lock */
	assert_int_equal(repo_lock(a, 0, "backup", &c), 0);
	repo_free(a);
	repo_free(b);
}

static void
test_stale_lock_rules(void **state)
{
	struct lock_info l = { 0 };
	char host[256];
	int64_t now = time_now_ns();

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	l.host = host;
	l.pid = getpid();
	l.time_ns = now;
	assert_int_equal(lock_is_stale(&l, now), 0);
	l.time_ns = now - LOCK_STALE_NS - 1;
	assert_int_equal(lock_is_stale(&l, now), 1);
	/* A process of this host that is gone: stale at once. */
	l.time_ns = now;
	l.pid = 0x7ffffff0;
	assert_int_equal(lock_is_stale(&l, now), 1);
	/* Another host's process: only age counts. */
	l.host = (char *)"elsewhere.invalid";
	assert_int_equal(lock_is_stale(&l, now), 0);
}

static void
test_snapshots_find(void **state)
{
	struct fx *f = *state;
	struct repo *r = open_ok(f);
	struct mm_ctx c = MM_CTX_INIT;
	struct snapshot s[3], got;
	char hex[65];
	struct tree t = TREE_INIT;

	memset(s, 0, sizeof(s));
	for (int i = 0; i < 3; i++) {
		s[i].time_ns = 1000000000LL * (i + 1);
		s[i].host = (char *)"h";
		s[i].user = (char *)"u";
		s[i].program = (char *)"mamori test";
		assert_int_equal(repo_tree_save(r, &t, &s[i].tree, &c), 0);
		assert_int_equal(repo_flush(r, &c), 0);
		assert_int_equal(repo_snapshot_save(r, &s[i], &c), 0);
	}
	memset(&got, 0, sizeof(got));
	assert_int_equal(repo_snapshot_find(r, "latest", &got, &c), 0);
	assert_int_equal(got.time_ns, 3000000000LL);
	snapshot_release(&got);
	hex_encode(s[0].id.b, 32, hex);
	hex[8] = '\0';
	memset(&got, 0, sizeof(got));
	assert_int_equal(repo_snapshot_find(r, hex, &got, &c), 0);
	assert_int_equal(got.time_ns, 1000000000LL);
	snapshot_release(&got);
	memset(&got, 0, sizeof(got));
	assert_int_equal(repo_snapshot_find(r, "zz", &got, &c), MM_ENOSNAPSHOT);
	/* 17 snapshots: two share a first digit (pigeonhole), so that digit
	 * is an ambiguous prefix, and the message names the candidates. */
	{
		struct snapshot more;
		char h[17][65];
		int amb = -1;

		for (int i = 0; i < 17; i++) {
			if (i >= 3) {
				memset(&more, 0, sizeof(more));
				more.time_ns = 1000000000LL * (i + 1);
				more.host = more.user = more.program = (char *)"x";
				more.tree = s[0].tree;
				assert_int_equal(repo_snapshot_save(r, &more, &c), 0);
				hex_encode(more.id.b, 32, h[i]);
			} else {
				hex_encode(s[i].id.b, 32, h[i]);
			}
		}
		for (int i = 0; i < 17 && amb < 0; i++)
			for (int k = i + 1; k < 17; k++)
				if (h[i][0] == h[k][0])
					amb = i;
		assert_true(amb >= 0);
		char p[2] = { h[amb][0], 0 };
		assert_int_equal(repo_snapshot_find(r, p, &got, &c), MM_EAMBIGUOUS);
		h[amb][8] = '\0';
		assert_non_null(strstr(c.msg, h[amb]));
		assert_non_null(strstr(c.msg, "give more digits"));
	}
	repo_free(r);
}

/* A repository made before key file version 2 (its only key is version 1)
 * still opens; key list describes that key from its own password, and a
 * key added next to it is version 2 and described to every key holder. */
static void
test_keys_v1_and_v2(void **state)
{
	struct fx *f = *state;
	struct repo *r = open_ok(f);
	struct keyfile_meta m = { (char *)"old admin", (char *)"root", (char *)"host-1", 42 };
	struct repo_key *v = NULL;
	struct kdf_params kp;
	struct buf kf = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	uint8_t kek[MM_KEY_LEN], sum[32];
	char v1[65], v2[65], gone[65];
	size_t n = 0;

	assert_int_equal(crypto_kdf_default(&kp, 1), 0);
	assert_int_equal(crypto_kdf(&kp, "old", 3, kek), 0);
	assert_int_equal(keyfile_encode(&kp, kek, r->keys.master, NULL, &m, &kf), 0);
	crypto_sha256(kf.data, kf.len, sum);
	hex_encode(sum, sizeof(sum), v1);
	assert_int_equal(backend_write(r->be, OBJ_KEY, v1, kf.data, kf.len, &c), 0);
	buf_release(&kf);
	/* Only the version 1 key is left. */
	assert_int_equal(backend_remove(r->be, OBJ_KEY, r->key_name, &c), 0);
	repo_free(r);
	r = NULL;
	assert_int_equal(repo_open(f->repo, "old", &r, &c), 0);
	assert_string_equal(r->key_name, v1);
	assert_string_equal(r->key_meta.name, "old admin");
	assert_int_equal(repo_key_add(r, "new", "sato", 1, v2, &c), 0);
	assert_int_equal(repo_key_list(r, &v, &n, &c), 0);
	assert_int_equal(n, 2);
	/* Oldest first: the version 1 key was made at 42 ns. */
	assert_string_equal(v[0].id, v1);
	assert_int_equal(v[0].version, 1);
	assert_true(v[0].in_use && v[0].has_meta);
	assert_string_equal(v[0].meta.host, "host-1");
	assert_string_equal(v[1].id, v2);
	assert_int_equal(v[1].version, 2);
	assert_true(!v[1].in_use && v[1].has_meta);
	assert_string_equal(v[1].meta.name, "sato");
	repo_key_list_free(v, n);
	repo_free(r);
	/* Opened by the new key, the version 1 key is listed without a description. */
	assert_int_equal(repo_open(f->repo, "new", &r, &c), 0);
	assert_int_equal(repo_key_list(r, &v, &n, &c), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, v1);
	assert_false(v[0].has_meta);
	repo_key_list_free(v, n);
	/* The key in use needs force; the last key is never removed. */
	assert_int_equal(repo_key_remove(r, v2, 0, gone, &c), MM_EINVAL);
	assert_int_equal(repo_key_remove(r, v1, 0, gone, &c), 0);
	assert_string_equal(gone, v1);
	assert_int_equal(repo_key_remove(r, v2, 1, gone, &c), MM_EINVAL);
	assert_non_null(strstr(c.msg, "only key"));
	repo_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_twice_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_wrong_password_and_no_repo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_round_trip_and_dedup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_altered_pack_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_bound_to_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compression_choice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locks, setup, teardown),
		cmocka_unit_test(test_stale_lock_rules),
		cmocka_unit_test_setup_teardown(test_snapshots_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_v1_and_v2, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
