/*
 * ops_copy: snapshots into a second repository with its own keys that
 * shares the first one's chunking and IDs; what is there is not sent; a
 * target with other IDs is refused before anything is written; a source
 * blob that does not hash to its ID is reported, not copied.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/ops.h"

struct fx {
	char dir[64];
	char src_path[96], dst_path[96], other_path[96];
	struct repo *src, *dst, *other;
};

static struct repo *
open_repo(const char *path, const char *pw)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct repo *r = NULL;

	assert_int_equal(repo_open(path, pw, &r, &c), 0);
	assert_int_equal(repo_load_index(r, &c), 0);
	return r;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct repo_init_opts o;
	struct mm_ctx c = MM_CTX_INIT;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/mamori-test-copy-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->src_path, sizeof(f->src_path), "%s/src", f->dir);
	snprintf(f->dst_path, sizeof(f->dst_path), "%s/dst", f->dir);
	snprintf(f->other_path, sizeof(f->other_path), "%s/other", f->dir);
	memset(&o, 0, sizeof(o));
	o.fast_kdf = 1;
	assert_int_equal(repo_init(f->src_path, "pw1", &o, &c), 0);
	assert_int_equal(repo_init(f->other_path, "pw2", &o, &c), 0);
	f->src = open_repo(f->src_path, "pw1");
	o.share_from = f->src;
	assert_int_equal(repo_init(f->dst_path, "pw2", &o, &c), 0);
	f->dst = open_repo(f->dst_path, "pw2");
	f->other = open_repo(f->other_path, "pw2");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	repo_free(f->src);
	repo_free(f->dst);
	repo_free(f->other);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
backup(struct fx *f, const char *tag, struct snapshot *s)
{
	struct backup_opts bo;
	struct mm_ctx c = MM_CTX_INIT;
	char data[128];
	const char *paths[1] = { data }, *tags[1] = { tag };

	snprintf(data, sizeof(data), "%s/data", f->dir);
	memset(&bo, 0, sizeof(bo));
	bo.paths = paths;
	bo.npaths = 1;
	bo.tags = tags;
	bo.ntags = 1;
	bo.host = "cityhall";
	bo.threads = 2;
	assert_int_equal(ops_backup(f->src, &bo, s, &c), 0);
}

static size_t
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
test_copy_shared(void **state)
{
	struct fx *f = *state;
	struct copy_opts o;
	struct copy_result res;
	struct snapshot s1, s2, *v = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	char path[160];
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/data", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/data/a.txt", f->dir);
	write_file(path, "first file\n");
	backup(f, "daily", &s1);
	/* The shared keys: equal IDs, other encryption. */
	assert_memory_equal(f->src->keys.id, f->dst->keys.id, MM_KEY_LEN);
	assert_memory_equal(f->src->keys.gear, f->dst->keys.gear, MM_KEY_LEN);
	assert_memory_not_equal(f->src->keys.enc, f->dst->keys.enc, MM_KEY_LEN);
	assert_true(f->dst->cfg.shared_keys);

	memset(&o, 0, sizeof(o));
	assert_int_equal(ops_copy(f->src, f->dst, &o, &res, &c), 0);
	assert_int_equal(res.snapshots_copied, 1);
	assert_int_equal(res.snapshots_skipped, 0);
	/* a.txt, and the trees root, and one per folder down to data. */
	assert_int_equal(res.blobs_sent, 1 + res.trees_sent);
	assert_int_equal(res.bytes_sent > 11, 1);
	assert_int_equal(res.n, 1);
	assert_memory_equal(res.from[0].b, s1.id.b, MM_ID_LEN);
	copy_result_release(&res);

	assert_int_equal(repo_snapshot_list(f->dst, &v, &n, &c), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].has_origin);
	assert_memory_equal(v[0].origin_repo, f->src->cfg.id, 32);
	assert_memory_equal(v[0].origin.b, s1.id.b, MM_ID_LEN);
	assert_memory_equal(v[0].tree.b, s1.tree.b, MM_ID_LEN);
	assert_true(v[0].time_ns == s1.time_ns);
	assert_string_equal(v[0].host, "cityhall");
	assert_string_equal(v[0].tags[0], "daily");
	assert_int_equal(v[0].has_parent, 0);
	snapshot_list_free(v, n);

	/* Again: nothing. */
	assert_int_equal(ops_copy(f->src, f->dst, &o, &res, &c), 0);
	assert_int_equal(res.snapshots_copied, 0);
	assert_int_equal(res.snapshots_skipped, 1);
	assert_int_equal(res.blobs_sent, 0);
	copy_result_release(&res);

	/* A second snapshot with one more file: that file and the new trees. */
	snprintf(path, sizeof(path), "%s/data/b.txt", f->dir);
	write_file(path, "second file\n");
	backup(f, "daily", &s2);
	assert_int_equal(ops_copy(f->src, f->dst, &o, &res, &c), 0);
	assert_int_equal(res.snapshots_copied, 1);
	assert_int_equal(res.blobs_sent, 1 + res.trees_sent);
	assert_int_equal(res.bytes_sent > 12, 1);
	assert_int_equal(res.blobs_skipped, 1); /* a.txt */
	copy_result_release(&res);
	{
		struct check_opts co;
		struct check_result cr;

		memset(&co, 0, sizeof(co));
		co.read_data = 1;
		assert_int_equal(ops_check(f->dst, &co, &cr, &c), 0);
		assert_int_equal(cr.errors, 0);
		assert_int_equal(cr.snapshots, 2);
	}
	snapshot_release(&s1);
	snapshot_release(&s2);
}

static void
test_copy_refused(void **state)
{
	struct fx *f = *state;
	struct copy_opts o;
	struct copy_result res;
	struct snapshot s;
	struct mm_ctx c = MM_CTX_INIT;
	char path[160];

	snprintf(path, sizeof(path), "%s/data", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	backup(f, "x", &s);
	memset(&o, 0, sizeof(o));
	assert_int_equal(ops_copy(f->src, f->other, &o, &res, &c), MM_EKEYSDIFFER);
	assert_non_null(strstr(c.msg, "--copy-chunker-params-from"));
	snprintf(path, sizeof(path), "%s/other/snapshots", f->dir);
	assert_int_equal(count_files(path), 0);
	assert_int_equal(ops_copy(f->src, f->src, &o, &res, &c), MM_EINVAL);
	assert_string_equal(c.msg, "copy: the source and the target are the same repository");
	snapshot_release(&s);
}

/* A key holder's writer sealed bytes under an ID they do not hash to:
 * the tag opens, but copy recomputes the ID and refuses the blob. */
static void
test_copy_wrong_id(void **state)
{
	struct fx *f = *state;
	struct copy_opts o;
	struct copy_result res;
	struct sealed_blob sb;
	struct snapshot s;
	struct tree t = TREE_INIT;
	struct node *nd;
	struct mm_id fake, tree_id;
	struct mm_ctx c = MM_CTX_INIT;
	int added = 0;

	memset(fake.b, 0x5a, sizeof(fake.b));
	memset(&sb, 0, sizeof(sb));
	assert_int_equal(repo_blob_seal(f->src, BLOB_DATA, &fake, "not what the ID says", 20, &sb), 0);
	assert_int_equal(repo_blob_put(f->src, &sb, &added, &c), 0);
	sealed_blob_release(&sb);
	nd = tree_add(&t);
	assert_non_null(nd);
	nd->name = (uint8_t *)strdup("f");
	nd->name_len = 1;
	nd->type = NODE_FILE;
	nd->mode = 0100644;
	nd->user = strdup("");
	nd->group = strdup("");
	nd->size = 20;
	nd->content = malloc(sizeof(*nd->content));
	nd->content[0] = fake;
	nd->ncontent = 1;
	assert_int_equal(repo_tree_save(f->src, &t, &tree_id, &c), 0);
	assert_int_equal(repo_flush(f->src, &c), 0);
	tree_release(&t);
	memset(&s, 0, sizeof(s));
	s.time_ns = 1;
	s.host = (char *)"h";
	s.user = (char *)"u";
	s.program = (char *)"test";
	s.tree = tree_id;
	assert_int_equal(repo_snapshot_save(f->src, &s, &c), 0);

	memset(&o, 0, sizeof(o));
	assert_int_equal(ops_copy(f->src, f->dst, &o, &res, &c), MM_EAUTH);
	assert_string_equal(c.msg, "copy: blob 5a5a5a5a5a5a5a5a in the source does not hash to its ID "
			    "(damaged when it was written; run 'mamori check --read-data' there)");
	copy_result_release(&res);
	{
		char path[160];
		snprintf(path, sizeof(path), "%s/dst/snapshots", f->dir);
		assert_int_equal(count_files(path), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_wrong_id, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
