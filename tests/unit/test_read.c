/* Unit tests for reading a repository without restoring it: diff and stats,
 * on the in-memory backend (mem:NAME). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

struct fx {
	struct backend *keep; /* holds the mem: store open */
	struct repo *r;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct repo_init_opts o;
	struct mm_ctx c = MM_CTX_INIT;

	assert_non_null(f);
	assert_int_equal(backend_open("mem:read", &f->keep, &c), 0);
	memset(&o, 0, sizeof(o));
	o.fast_kdf = 1;
	assert_int_equal(repo_init("mem:read", "pw", &o, &c), 0);
	assert_int_equal(repo_open("mem:read", "pw", &f->r, &c), 0);
	assert_int_equal(repo_load_index(f->r, &c), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	repo_free(f->r);
	backend_free(f->keep);
	free(f);
	return 0;
}

static struct node *
add(struct tree *t, const char *name, uint8_t type, uint32_t perm)
{
	struct node *n = tree_add(t);

	assert_non_null(n);
	n->name_len = strlen(name);
	n->name = malloc(n->name_len);
	memcpy(n->name, name, n->name_len);
	n->user = strdup("root");
	n->group = strdup("root");
	n->type = type;
	n->mode = perm | (type == NODE_DIR ? 0040000u : type == NODE_SYMLINK ? 0120000u : 0100000u);
	n->mtime_ns = 1000;
	n->nlink = 1;
	return n;
}

/* A file whose content is the data blob "text" (stored, so stats can count it). */
static struct node *
add_file(struct fx *f, struct tree *t, const char *name, const char *text)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct node *n = add(t, name, NODE_FILE, 0644);

	n->size = strlen(text);
	if (n->size > 0) {
		n->ncontent = 1;
		n->content = calloc(1, sizeof(*n->content));
		assert_int_equal(repo_blob_save(f->r, BLOB_DATA, text, n->size, &n->content[0], &c), 0);
	}
	return n;
}

static void
save_tree(struct fx *f, struct tree *t, struct mm_id *id)
{
	struct mm_ctx c = MM_CTX_INIT;

	assert_int_equal(tree_sort(t), 0);
	assert_int_equal(repo_tree_save(f->r, t, id, &c), 0);
	tree_release(t);
}

static void
snap(struct fx *f, const struct mm_id *root, int64_t when, struct snapshot *s)
{
	struct mm_ctx c = MM_CTX_INIT;

	memset(s, 0, sizeof(*s));
	s->time_ns = when;
	s->host = strdup("h");
	s->user = strdup("u");
	s->program = strdup("test");
	s->tree = *root;
	assert_int_equal(repo_flush(f->r, &c), 0);
	assert_int_equal(repo_snapshot_save(f->r, s, &c), 0);
}

/* Two snapshots: A and B share the folder "same"; the rest differs in
 * every way a diff names. */
static void
two_snapshots(struct fx *f, struct snapshot *a, struct snapshot *b)
{
	struct tree t = TREE_INIT, sub = TREE_INIT;
	struct mm_id same, gonedir, newdir, tdir, ra, rb;
	struct node *n;

	add_file(f, &sub, "deep.txt", "deep");
	save_tree(f, &sub, &same);
	add_file(f, &sub, "inner", "inner!");
	save_tree(f, &sub, &gonedir);
	add_file(f, &sub, "child", "c");
	save_tree(f, &sub, &newdir);
	save_tree(f, &sub, &tdir); /* empty */

	n = add(&t, "same", NODE_DIR, 0755);
	n->subtree = same;
	add_file(f, &t, "changed.txt", "hello");
	add_file(f, &t, "meta.txt", "m");
	add_file(f, &t, "gone.txt", "bye");
	n = add(&t, "gonedir", NODE_DIR, 0755);
	n->subtree = gonedir;
	add_file(f, &t, "t", "file");
	n = add(&t, "link", NODE_SYMLINK, 0777);
	n->target = (uint8_t *)strdup("a");
	n->target_len = 1;
	save_tree(f, &t, &ra);

	n = add(&t, "same", NODE_DIR, 0755);
	n->subtree = same;
	add_file(f, &t, "changed.txt", "hello, world");
	n = add_file(f, &t, "meta.txt", "m");
	n->mode = 0100600;
	n->mtime_ns = 2000;
	add_file(f, &t, "new.txt", "new");
	n = add(&t, "newdir", NODE_DIR, 0755);
	n->subtree = newdir;
	n = add(&t, "t", NODE_DIR, 0755);
	n->subtree = tdir;
	n = add(&t, "link", NODE_SYMLINK, 0777);
	n->target = (uint8_t *)strdup("b");
	n->target_len = 1;
	save_tree(f, &t, &rb);

	snap(f, &ra, 1000000000, a);
	snap(f, &rb, 2000000000, b);
}

struct seen {
	char lines[32][128];
	int n;
};

static int
record(void *arg, const struct diff_entry *d)
{
	static const char k[] = "?+-MUT";
	struct seen *s = arg;

	assert_true(s->n < 32);
	snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%c %s %x", k[d->kind], d->path, d->meta);
	return 0;
}

static void
test_diff(void **state)
{
	static const char *const want[] = {
		"M /changed.txt 0", "- /gone.txt 0", "- /gonedir 0", "- /gonedir/inner 0",
		"M /link 0", "U /meta.txt 5", "+ /new.txt 0", "+ /newdir 0", "+ /newdir/child 0",
		"T /t 0",
	};
	struct fx *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct snapshot a, b;
	struct diff_stats st;
	struct seen s;

	two_snapshots(f, &a, &b);
	memset(&s, 0, sizeof(s));
	assert_int_equal(ops_diff(f->r, &a, &b, record, &s, &st, &c), 0);
	assert_int_equal(s.n, 10);
	for (int i = 0; i < s.n; i++)
		assert_string_equal(s.lines[i], want[i]);
	assert_int_equal(st.added, 3);
	assert_int_equal(st.removed, 3);
	assert_int_equal(st.modified, 2);
	assert_int_equal(st.metadata, 1);
	assert_int_equal(st.type_changed, 1);
	assert_int_equal(st.bytes_added, 3 + 1);         /* new.txt, newdir/child */
	assert_int_equal(st.bytes_removed, 3 + 6 + 4);   /* gone.txt, gonedir/inner, t */
	/* Both roots, gonedir, newdir and the new t: never the shared "same". */
	assert_int_equal(st.trees_loaded, 5);
	/* The same snapshot on both sides: nothing, and no tree read. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(ops_diff(f->r, &a, &a, record, &s, &st, &c), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(st.trees_loaded, 0);
	/* Reversed: what was added is removed. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(ops_diff(f->r, &b, &a, record, &s, &st, &c), 0);
	assert_int_equal(st.added, 3);
	assert_int_equal(st.removed, 3);
	assert_string_equal(s.lines[1], "+ /gone.txt 0");
	assert_string_equal(s.lines[6], "- /new.txt 0");
	snapshot_release(&a);
	snapshot_release(&b);
}

static void
test_stats(void **state)
{
	struct fx *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct snapshot v[2];
	struct stats_result res;

	two_snapshots(f, &v[0], &v[1]);
	/* restore-size: A has same/deep.txt(4) changed(5) meta(1) gone(3)
	 * gonedir/inner(6) t(4) = 6 files, 23 bytes, 2 dirs, 1 link; B has
	 * same/deep.txt(4) changed(12) meta(1) new(3) newdir/child(1) =
	 * 5 files, 21 bytes, 4 dirs (same, newdir, t), 1 link. */
	assert_int_equal(ops_stats(f->r, v, 2, STATS_RESTORE_SIZE, &res, &c), 0);
	assert_int_equal(res.snapshots, 2);
	assert_int_equal(res.files, 11);
	assert_int_equal(res.restore_bytes, 23 + 21);
	assert_int_equal(res.dirs, 2 + 3);
	assert_int_equal(res.others, 2);
	/* "same" is shared: read once (A root, same, gonedir; B root, newdir, t). */
	assert_int_equal(res.trees_read, 6);
	/* files-by-contents: deep, hello, m, bye, inner!, file, hello world,
	 * new, c: 9 distinct contents (meta.txt is the same in both). */
	assert_int_equal(ops_stats(f->r, v, 2, STATS_FILES_BY_CONTENTS, &res, &c), 0);
	assert_int_equal(res.unique_files, 9);
	assert_int_equal(res.unique_bytes, 4 + 5 + 1 + 3 + 6 + 4 + 12 + 3 + 1);
	/* raw: the same 9 data blobs and the 6 distinct trees, as stored. */
	assert_int_equal(ops_stats(f->r, v, 2, STATS_RAW, &res, &c), 0);
	assert_int_equal(res.data_blobs, 9);
	assert_int_equal(res.tree_blobs, 6);
	assert_int_equal(res.blobs, 15);
	assert_int_equal(res.data_uncompressed_bytes, 39);
	assert_true(res.uncompressed_bytes > res.data_uncompressed_bytes);
	/* Every blob of this repository is referenced: the index's lengths. */
	{
		uint64_t stored = 0;
		assert_int_equal(f->r->idx.n, 15);
		for (size_t i = 0; i < f->r->idx.n; i++)
			stored += index_entry_at(&f->r->idx, i)->length;
		assert_int_equal(res.stored_bytes, stored);
	}
	assert_true(res.packs >= 2); /* data and tree blobs go to separate packs */
	/* One snapshot alone. */
	assert_int_equal(ops_stats(f->r, &v[1], 1, STATS_RESTORE_SIZE, &res, &c), 0);
	assert_int_equal(res.files, 5);
	assert_int_equal(res.restore_bytes, 21);
	snapshot_release(&v[0]);
	snapshot_release(&v[1]);
}

/* tag: a new snapshot object with the new tags and the original ID; the
 * old object is gone; retagging again keeps the first original. */
static void
test_tag(void **state)
{
	static const char *const add[] = { "monthly", "audit" }, *const rem[] = { "audit" };
	struct fx *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct snapshot a, b, t1, t2, back;
	struct tag_opts o;
	char hex[65];

	two_snapshots(f, &a, &b);
	memset(&o, 0, sizeof(o));
	o.add = add;
	o.nadd = 2;
	assert_int_equal(ops_tag(f->r, &a, &o, &t1, &c), 0);
	assert_int_equal(t1.ntags, 2);
	assert_string_equal(t1.tags[0], "monthly");
	assert_true(t1.has_original);
	assert_memory_equal(t1.original.b, a.id.b, MM_ID_LEN);
	assert_memory_not_equal(t1.id.b, a.id.b, MM_ID_LEN);
	hex_encode(a.id.b, MM_ID_LEN, hex);
	assert_int_equal(repo_snapshot_find(f->r, hex, &back, &c), MM_ENOSNAPSHOT);
	hex_encode(t1.id.b, MM_ID_LEN, hex);
	assert_int_equal(repo_snapshot_find(f->r, hex, &back, &c), 0);
	assert_true(back.has_original);
	assert_memory_equal(back.original.b, a.id.b, MM_ID_LEN);
	assert_memory_equal(back.tree.b, a.tree.b, MM_ID_LEN);
	assert_int_equal(back.time_ns, a.time_ns);
	snapshot_release(&back);
	memset(&o, 0, sizeof(o));
	o.remove = rem;
	o.nremove = 1;
	assert_int_equal(ops_tag(f->r, &t1, &o, &t2, &c), 0);
	assert_int_equal(t2.ntags, 1);
	assert_memory_equal(t2.original.b, a.id.b, MM_ID_LEN);
	snapshot_release(&t1);
	/* Nothing to change: nothing written, the same ID. */
	assert_int_equal(ops_tag(f->r, &t2, &o, &t1, &c), 0);
	assert_memory_equal(t1.id.b, t2.id.b, MM_ID_LEN);
	snapshot_release(&t1);
	snapshot_release(&t2);
	snapshot_release(&a);
	snapshot_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tag, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
