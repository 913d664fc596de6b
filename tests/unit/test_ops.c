/* Unit tests for src/ops: a snapshot whose tree tries to escape the target
 * is refused and writes nothing outside it; backup/walk/check/restore agree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/ops.h"

struct fx {
	char dir[64];
	char repo[96];
	struct repo *r;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct repo_init_opts o;
	struct mm_ctx c = MM_CTX_INIT;

	strcpy(f->dir, "/tmp/mamori-test-ops-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	memset(&o, 0, sizeof(o));
	o.fast_kdf = 1;
	assert_int_equal(repo_init(f->repo, "pw", &o, &c), 0);
	assert_int_equal(repo_open(f->repo, "pw", &f->r, &c), 0);
	assert_int_equal(repo_load_index(f->r, &c), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	repo_free(f->r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
set_name(struct node *n, const char *name)
{
	n->name_len = strlen(name);
	n->name = malloc(n->name_len);
	memcpy(n->name, name, n->name_len);
	n->user = strdup("");
	n->group = strdup("");
}

/* A snapshot whose root holds one file with the given (hostile) name,
 * saved without going through any decoder. */
static void
hostile_snapshot(struct fx *f, const char *name, struct snapshot *s)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct tree t = TREE_INIT;
	struct buf enc = BUF_INIT;
	struct node *n;

	n = tree_add(&t);
	set_name(n, name);
	n->type = NODE_FILE;
	n->mode = 0100644;
	n->size = 5;
	n->ncontent = 1;
	n->content = malloc(sizeof(*n->content));
	assert_int_equal(repo_blob_save(f->r, BLOB_DATA, "owned", 5, &n->content[0], &c), 0);
	assert_int_equal(tree_encode(&t, &enc), 0);
	memset(s, 0, sizeof(*s));
	assert_int_equal(repo_blob_save(f->r, BLOB_TREE, enc.data, enc.len, &s->tree, &c), 0);
	assert_int_equal(repo_flush(f->r, &c), 0);
	s->host = (char *)"h";
	s->user = (char *)"u";
	s->program = (char *)"test";
	s->time_ns = 1;
	assert_int_equal(repo_snapshot_save(f->r, s, &c), 0);
	tree_release(&t);
	buf_release(&enc);
}

static void
test_hostile_names_refused(void **state)
{
	static const char *names[] = { "..", "../escaped", "a/../../escaped", "." };
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct restore_opts o;
		struct restore_result res;
		struct mm_ctx c = MM_CTX_INIT;
		struct snapshot s;
		char target[160], escaped[160];
		struct stat st;

		hostile_snapshot(f, names[i], &s);
		snprintf(target, sizeof(target), "%s/t%zu/inner", f->dir, i);
		snprintf(escaped, sizeof(escaped), "%s/t%zu/escaped", f->dir, i);
		memset(&o, 0, sizeof(o));
		o.target = target;
		o.threads = 2;
		assert_int_equal(ops_restore(f->r, &s, &o, &res, &c), 0);
		/* The tree is refused as a whole: an error, no file anywhere. */
		assert_int_equal(res.errors, 1);
		assert_int_equal(res.files, 0);
		assert_int_not_equal(stat(escaped, &st), 0);
		snprintf(escaped, sizeof(escaped), "%s/escaped", f->dir);
		assert_int_not_equal(stat(escaped, &st), 0);
	}
}

static int
count_path(void *arg, const char *path, const struct node *n)
{
	(void)n;
	(void)path;
	(*(int *)arg)++;
	return 0;
}

static void
test_backup_walk_check_restore(void **state)
{
	struct fx *f = *state;
	struct backup_opts bo;
	struct restore_opts ro;
	struct restore_result res;
	struct check_opts co;
	struct check_result cr;
	struct snapshot s;
	struct mm_ctx c = MM_CTX_INIT;
	char src[128], file[160], target[160], out[300];
	const char *paths[1];
	int count = 0, fd;
	char buf[32];

	snprintf(src, sizeof(src), "%s/src", f->dir);
	assert_int_equal(mkdir(src, 0755), 0);
	snprintf(file, sizeof(file), "%s/hello", src);
	fd = open(file, O_WRONLY | O_CREAT, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello, world\n", 13), 13);
	close(fd);
	paths[0] = src;
	memset(&bo, 0, sizeof(bo));
	bo.paths = paths;
	bo.npaths = 1;
	bo.threads = 2;
	assert_int_equal(repo_lock(f->r, 0, "backup", &c), 0);
	assert_int_equal(ops_backup(f->r, &bo, &s, &c), 0);
	assert_int_equal(s.sum.files_new, 1);
	/* Walk from the backed-up folder: the folder and its file. */
	assert_int_equal(ops_walk(f->r, &s, src, count_path, &count, &c), 0);
	assert_int_equal(count, 2);
	assert_int_equal(ops_walk(f->r, &s, "/no/such", count_path, &count, &c), MM_ENOPATH);
	memset(&co, 0, sizeof(co));
	co.read_data = 1;
	assert_int_equal(ops_check(f->r, &co, &cr, &c), 0);
	assert_int_equal(cr.errors, 0);
	assert_int_equal(cr.snapshots, 1);
	assert_true(cr.packs_read >= 2); /* a data pack and a tree pack */
	snprintf(target, sizeof(target), "%s/restore", f->dir);
	memset(&ro, 0, sizeof(ro));
	ro.target = target;
	assert_int_equal(ops_restore(f->r, &s, &ro, &res, &c), 0);
	assert_int_equal(res.errors, 0);
	assert_int_equal(res.files, 1);
	snprintf(out, sizeof(out), "%s%s/hello", target, src);
	fd = open(out, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 13);
	close(fd);
	assert_memory_equal(buf, "hello, world\n", 13);
	{
		struct stat st;
		assert_int_equal(stat(out, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0640);
	}
	snapshot_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_names_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_walk_check_restore, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
