/*
 * mkhostile: writes a validly encrypted snapshot whose trees a hostile key
 * holder made, into an existing repository, for tests/cli/hostile.bats.
 *   mkhostile REPO PASSWORD_FILE CASE [OUTSIDE]
 * The snapshot's root tree holds a folder "h" with the case's entries:
 *   slash      a file named "a/b"
 *   dotdot     a folder named ".." holding a file "escaped"
 *   nul        a file named "a\0b"
 *   dup        a symlink "link" to OUTSIDE, then a folder "link" holding a
 *              file "through" (names not unique: a file written through
 *              the symlink would land in OUTSIDE)
 *   symlink    only the symlink "link" to OUTSIDE, and a file "ok"
 *   unsorted   files "b" then "a"
 *   bigsize    a file of 2^62 bytes with no content, and a file "ok"
 *   countbomb  a tree blob claiming 16 Mi entries in a few bytes
 *   cycle      a folder "loop" whose tree is the tree holding it (a tree
 *              sealed under an ID that is not the HMAC of its bytes)
 *   hugeblob   a file whose only blob the index places in a real pack
 *              with a length of 3.75 GiB, and a file "ok"
 *   deep       nested folders "d" (OUTSIDE: how many, default 10000), a
 *              file "bottom" at the end
 * Prints the snapshot ID.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo/repo.h"

static struct repo *r;
static struct mm_ctx c = MM_CTX_INIT;

static void
die(const char *what, int e)
{
	fprintf(stderr, "mkhostile: %s: %s (%s)\n", what, mm_strerror(e), c.msg);
	exit(1);
}

static struct node *
add(struct tree *t, const char *name, size_t len, uint8_t type)
{
	struct node *n = tree_add(t);

	if (n == NULL)
		die("tree_add", MM_ENOMEM);
	n->name = malloc(len);
	memcpy(n->name, name, len);
	n->name_len = len;
	n->type = type;
	n->mode = type == NODE_DIR ? 040755 : type == NODE_SYMLINK ? 0120777 : 0100644;
	n->user = strdup("");
	n->group = strdup("");
	n->uid = (uint32_t)getuid();
	n->gid = (uint32_t)getgid();
	n->nlink = 1;
	n->mtime_ns = n->ctime_ns = n->atime_ns = 1764600000000000000LL;
	return n;
}

/* A file holding `text`, its blob saved. */
static void
add_file(struct tree *t, const char *name, const char *text)
{
	struct node *n = add(t, name, strlen(name), NODE_FILE);
	int e;

	n->size = strlen(text);
	if (n->size == 0)
		return;
	n->content = calloc(1, sizeof(*n->content));
	n->ncontent = 1;
	if ((e = repo_blob_save(r, BLOB_DATA, text, n->size, &n->content[0], &c)) != 0)
		die("blob", e);
}

static void
save(struct tree *t, struct mm_id *id)
{
	int e;

	if ((e = repo_tree_save(r, t, id, &c)) != 0)
		die("tree", e);
	tree_release(t);
}

/* Seal bytes as a tree blob under an ID of our choosing. */
static void
put_raw_tree(const struct mm_id *id, const void *p, size_t n)
{
	struct sealed_blob s;
	int added, e;

	if ((e = repo_blob_seal(r, BLOB_TREE, id, p, n, &s)) != 0)
		die("seal", e);
	if ((e = repo_blob_put(r, &s, &added, &c)) != 0)
		die("put", e);
	sealed_blob_release(&s);
}

static void
build(const char *kase, const char *outside, struct mm_id *h)
{
	struct tree t = TREE_INIT, sub = TREE_INIT;
	struct node *n;
	struct buf b = BUF_INIT;
	int e;

	if (strcmp(kase, "slash") == 0) {
		add_file(&t, "a/b", "slash\n");
	} else if (strcmp(kase, "dotdot") == 0) {
		add_file(&sub, "escaped", "dotdot\n");
		n = add(&t, "..", 2, NODE_DIR);
		save(&sub, &n->subtree);
	} else if (strcmp(kase, "nul") == 0) {
		add(&t, "a\0b", 3, NODE_FILE);
	} else if (strcmp(kase, "dup") == 0 || strcmp(kase, "symlink") == 0) {
		n = add(&t, "link", 4, NODE_SYMLINK);
		n->target_len = strlen(outside);
		n->target = malloc(n->target_len);
		memcpy(n->target, outside, n->target_len);
		if (strcmp(kase, "dup") == 0) {
			add_file(&sub, "through", "through the link\n");
			n = add(&t, "link", 4, NODE_DIR);
			save(&sub, &n->subtree);
		} else {
			add_file(&t, "ok", "fine\n");
		}
	} else if (strcmp(kase, "unsorted") == 0) {
		add_file(&t, "b", "b\n");
		add_file(&t, "a", "a\n");
	} else if (strcmp(kase, "bigsize") == 0) {
		n = add(&t, "big", 3, NODE_FILE);
		n->size = (uint64_t)1 << 62;
		add_file(&t, "ok", "fine\n");
	} else if (strcmp(kase, "countbomb") == 0) {
		static const uint8_t bomb[] = { 'M', 'M', 'T', 'R', 1, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
		repo_blob_id(r, bomb, sizeof(bomb), h);
		put_raw_tree(h, bomb, sizeof(bomb));
		return;
	} else if (strcmp(kase, "cycle") == 0) {
		/* h's tree: a folder "loop" whose subtree is h itself. */
		memset(h->b, 0xc1, sizeof(h->b));
		n = add(&t, "loop", 4, NODE_DIR);
		n->subtree = *h;
		if ((e = tree_encode(&t, &b)) != 0)
			die("encode", e);
		put_raw_tree(h, b.data, b.len);
		buf_release(&b);
		tree_release(&t);
		return;
	} else if (strcmp(kase, "hugeblob") == 0) {
		struct index ix;
		struct blob_loc loc;
		struct mm_id real, fake;
		uint32_t pno;
		char name[65];

		add_file(&t, "ok", "fine\n");
		/* The pack that holds ok's blob, once written. */
		real = t.nodes[0].content[0];
		if ((e = repo_flush(r, &c)) != 0)
			die("flush", e);
		if (index_find(&r->idx, &real, &loc) != 0)
			die("find", MM_ENOENT);
		memset(fake.b, 0xb0, sizeof(fake.b));
		index_init(&ix);
		if ((e = index_add_pack(&ix, &r->idx.packs[loc.pack & 0x7fffffffu], &pno)) != 0)
			die("index", e);
		loc.pack = pno;
		loc.offset = 0;
		loc.length = 0xf0000000u;
		loc.raw_len = 0;
		loc.type = BLOB_DATA;
		if ((e = index_add(&ix, &fake, &loc, NULL)) != 0 ||
		    (e = index_encode(&ix, 0, &b)) != 0)
			die("index", e);
		if ((e = repo_object_write(r, OBJ_INDEX, &b, name, &c)) != 0)
			die("index write", e);
		index_release(&ix);
		buf_release(&b);
		n = add(&t, "huge", 4, NODE_FILE);
		n->size = 100;
		n->content = calloc(1, sizeof(*n->content));
		n->content[0] = fake;
		n->ncontent = 1;
		if ((e = tree_sort(&t)) != 0)
			die("sort", e);
	} else if (strcmp(kase, "deep") == 0) {
		struct mm_id below;

		long levels = outside[0] == '/' ? 10000 : strtol(outside, NULL, 10);

		add_file(&t, "bottom", "at the bottom\n");
		for (long i = 0; i < levels; i++) {
			save(&t, &below);
			n = add(&t, "d", 1, NODE_DIR);
			n->subtree = below;
		}
	} else {
		fprintf(stderr, "mkhostile: unknown case %s\n", kase);
		exit(2);
	}
	save(&t, h);
}

int
main(int argc, char **argv)
{
	struct tree root = TREE_INIT;
	struct snapshot s;
	struct buf pw = BUF_INIT;
	struct node *n;
	char *paths[] = { "/h" };
	char hex[65];
	int e;

	if (argc < 4) {
		fprintf(stderr, "usage: mkhostile REPO PASSWORD_FILE CASE [OUTSIDE]\n");
		return 2;
	}
	if ((e = file_read_all(argv[2], 4096, &pw, &c)) != 0)
		die("password", e);
	while (pw.len > 0 && pw.data[pw.len - 1] == '\n')
		pw.len--;
	if ((e = buf_append_u8(&pw, 0)) != 0)
		die("password", e);
	if ((e = repo_open(argv[1], (char *)pw.data, &r, &c)) != 0 || (e = repo_load_index(r, &c)) != 0)
		die("open", e);
	buf_release(&pw);
	n = add(&root, "h", 1, NODE_DIR);
	build(argv[3], argc > 4 ? argv[4] : "/nonexistent", &n->subtree);
	memset(&s, 0, sizeof(s));
	save(&root, &s.tree);
	if ((e = repo_flush(r, &c)) != 0)
		die("flush", e);
	s.time_ns = time_now_ns();
	s.host = "hostile";
	s.user = "mallory";
	s.paths = paths;
	s.npaths = 1;
	s.program = "mkhostile";
	if ((e = repo_snapshot_save(r, &s, &c)) != 0)
		die("snapshot", e);
	hex_encode(s.id.b, MM_ID_LEN, hex);
	printf("%s\n", hex);
	repo_free(r);
	return 0;
}
