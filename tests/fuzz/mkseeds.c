/*
 * Writes the seed corpus of the fuzz targets: valid objects made by the
 * library's own encoders, and edge cases around each limit. Run by hand
 * when an encoding changes (the output is checked in):
 *   build-test/tests/mkseeds tests/fuzz/corpus
 * Files are named seed-*; crashes found by fuzzing are added as crash-*.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "ledger/ledger.h"
#include "repo/repo.h"

static const char *outdir;

static void
put(const char *target, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/seed-%s", outdir, target, name);
	if ((f = fopen(path, "wb")) == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
put_buf(const char *target, const char *name, const struct buf *b)
{
	put(target, name, b->data, b->len);
}

/* The valid object, cut short by one byte, and with one more byte. */
static void
put_variants(const char *target, const char *name, const struct buf *b)
{
	char n2[256];
	uint8_t *more;

	put_buf(target, name, b);
	snprintf(n2, sizeof(n2), "%s-short", name);
	put(target, n2, b->data, b->len - 1);
	if ((more = malloc(b->len + 1)) == NULL)
		exit(1);
	memcpy(more, b->data, b->len);
	more[b->len] = 0;
	snprintf(n2, sizeof(n2), "%s-trailing", name);
	put(target, n2, more, b->len + 1);
	free(more);
}

static void
must(int e)
{
	if (e != 0) {
		fprintf(stderr, "mkseeds: encoder failed: %d\n", e);
		exit(1);
	}
}

static void
config_seeds(void)
{
	struct repo_config cf;
	struct buf b = BUF_INIT;

	memset(&cf, 0, sizeof(cf));
	cf.version = REPO_VERSION;
	cf.chunker = (struct chunker_params){ 524288, 1048576, 8388608 };
	cf.zstd_level = 1;
	cf.created_ns = 1764600000000000000LL;

	memset(cf.id, 0xab, sizeof(cf.id));
	must(config_encode(&cf, &b));
	put_variants("config", "valid", &b);
	b.data[6] = 1; /* format version 1: refused with advice */
	put_buf("config", "version1", &b);
	b.data[6] = 3;
	put_buf("config", "version3", &b);
	buf_release(&b);
	cf.chunker.min_size = 65536;
	cf.chunker.avg_size = 65536;
	must(config_encode(&cf, &b));
	put_buf("config", "bad-chunker", &b);
	buf_release(&b);
	put("config", "empty", "", 0);
}

static void
keyfile_seeds(void)
{
	struct kdf_params kp = { 1, 256, 1, { 0 } };
	struct keyfile_meta m = { "admin", "root", "city-hall", 1764600000000000000LL };
	uint8_t master[MM_KEY_LEN];
	struct buf b = BUF_INIT;

	memset(master, 0x42, sizeof(master));
	memset(kp.salt, 0x5a, sizeof(kp.salt));
	must(keyfile_encode(&kp, fuzz_key, master, fuzz_key, &m, &b));
	put_variants("keyfile", "valid", &b);
	buf_release(&b);
	kp.m_cost_kib = 0xffffffffu; /* an allocation bomb in the header */
	must(keyfile_encode(&kp, fuzz_key, master, fuzz_key, &m, &b));
	put_buf("keyfile", "huge-memory", &b);
	buf_release(&b);
	kp.m_cost_kib = 256;
	kp.t_cost = 1000;
	must(keyfile_encode(&kp, fuzz_key, master, fuzz_key, &m, &b));
	put_buf("keyfile", "many-passes", &b);
	buf_release(&b);
	/* header || payload plaintext, as the target seals it */
	kp.t_cost = 1;
	{
		struct buf head = BUF_INIT;
		must(keyfile_encode(&kp, fuzz_key, master, fuzz_key, &m, &head));
		head.len = 35;
		must(buf_append(&head, master, sizeof(master)));
		must(buf_append_str16(&head, "admin"));
		must(buf_append_str16(&head, "root"));
		must(buf_append_str16(&head, "city-hall"));
		must(buf_append_u64(&head, 1));
		put_buf("keyfile", "plain-payload", &head);
		buf_release(&head);
	}
}

static void
pack_seeds(void)
{
	struct pack_entry e[3];
	struct buf b = BUF_INIT;
	uint32_t total = 0;

	memset(e, 0, sizeof(e));
	for (int i = 0; i < 3; i++) {
		e[i].type = i == 2 ? BLOB_TREE : BLOB_DATA;
		e[i].length = 1000 + 28 * (uint32_t)i;
		e[i].raw_len = i == 1 ? 4096 : 0;
		memset(e[i].id.b, 0x10 + i, MM_ID_LEN);
		total += e[i].length;
	}
	must(buf_append_u32(&b, total));
	must(pack_header_encode(e, 3, &b));
	put_variants("pack", "valid", &b);
	b.len = 0;
	must(buf_append_u32(&b, total + 1)); /* lengths do not add up */
	must(pack_header_encode(e, 3, &b));
	put_buf("pack", "wrong-total", &b);
	b.len = 0;
	must(buf_append_u32(&b, 0));
	must(pack_header_encode(e, 0, &b));
	put_buf("pack", "empty-header", &b);
	b.len = 0;
	must(buf_append_u32(&b, 0));
	must(pack_header_encode(e, 1, &b));
	b.data[4 + 6] = 0xff; /* count 255 with one entry */
	put_buf("pack", "count-beyond", &b);
	/* a raw trailer claiming a 4 GiB header */
	{
		const uint8_t t[8] = { 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
		put("pack", "trailer-huge", t, sizeof(t));
	}
	buf_release(&b);
}

static void
index_seeds(void)
{
	struct index ix;
	struct blob_loc loc = { 0, 0, 1028, 0, BLOB_DATA };
	struct mm_id pid, id;
	struct buf b = BUF_INIT;
	uint32_t pno;

	index_init(&ix);
	for (int p = 0; p < 2; p++) {
		memset(pid.b, 0xa0 + p, MM_ID_LEN);
		must(index_add_pack(&ix, &pid, &pno));
		for (int i = 0; i < 3; i++) {
			memset(id.b, 0x20 + p * 3 + i, MM_ID_LEN);
			loc.pack = pno;
			loc.offset = 1028u * (uint32_t)i;
			loc.type = i == 2 ? BLOB_TREE : BLOB_DATA;
			loc.raw_len = i == 1 ? 2000 : 0;
			must(index_add(&ix, &id, &loc, NULL));
		}
	}
	must(index_encode(&ix, 0, &b));
	put_variants("index", "valid", &b);
	buf_release(&b);
	index_release(&ix);
	index_init(&ix);
	must(index_encode(&ix, 0, &b));
	put_buf("index", "empty", &b);
	b.data[6] = 0xff; /* 255 packs in no bytes */
	put_buf("index", "count-beyond", &b);
	buf_release(&b);
	index_release(&ix);
}

static struct node *
add_node(struct tree *t, const char *name, uint8_t type)
{
	struct node *n = tree_add(t);

	if (n == NULL)
		exit(1);
	n->name_len = strlen(name);
	n->name = (uint8_t *)strdup(name);
	n->type = type;
	n->mode = type == NODE_DIR ? 040755 : type == NODE_SYMLINK ? 0120777 : 0100644;
	n->user = strdup("root");
	n->group = strdup("root");
	n->nlink = 1;
	n->mtime_ns = n->ctime_ns = n->atime_ns = 1764600000000000000LL;
	return n;
}

static void
tree_seeds(void)
{
	struct tree t = TREE_INIT;
	struct node *n;
	struct buf b = BUF_INIT;

	n = add_node(&t, "data.bin", NODE_FILE);
	n->size = 3000;
	n->ncontent = 2;
	n->content = calloc(2, sizeof(*n->content));
	memset(n->content[1].b, 7, MM_ID_LEN);
	n->nxattrs = 1;
	n->xattrs = calloc(1, sizeof(*n->xattrs));
	n->xattrs[0].name = strdup("user.note");
	n->xattrs[0].value = (uint8_t *)strdup("hello");
	n->xattrs[0].len = 5;
	n = add_node(&t, "link", NODE_SYMLINK);
	n->target = (uint8_t *)strdup("../data.bin");
	n->target_len = 11;
	n = add_node(&t, "sub", NODE_DIR);
	memset(n->subtree.b, 9, MM_ID_LEN);
	add_node(&t, "fifo", NODE_FIFO);
	n = add_node(&t, "\xe4\xbd\x8f\xe6\xb0\x91", NODE_FILE); /* 住民 */
	n->flags = NODE_F_CHANGED;
	must(tree_sort(&t));
	must(tree_encode(&t, &b));
	put_variants("tree", "valid", &b);
	buf_release(&b);
	tree_release(&t);
	/* One entry whose name has a '/' (the encoder does not check). */
	add_node(&t, "a/b", NODE_FILE);
	must(tree_encode(&t, &b));
	put_buf("tree", "slash", &b);
	buf_release(&b);
	tree_release(&t);
	add_node(&t, "..", NODE_DIR);
	must(tree_encode(&t, &b));
	put_buf("tree", "dotdot", &b);
	buf_release(&b);
	tree_release(&t);
	must(tree_encode(&t, &b));
	put_buf("tree", "empty", &b);
	b.data[6] = 0xff;
	b.data[7] = 0xff; /* 65535 entries in no bytes */
	put_buf("tree", "count-beyond", &b);
	buf_release(&b);
}

static void
snapshot_seeds(void)
{
	char *paths[] = { "/srv/data", "/etc" };
	char *tags[] = { "nightly" };
	struct snapshot s;
	struct buf b = BUF_INIT;

	memset(&s, 0, sizeof(s));
	s.time_ns = 1764600000000000000LL;
	s.host = "city-hall";
	s.user = "root";
	s.paths = paths;
	s.npaths = 2;
	s.tags = tags;
	s.ntags = 1;
	memset(s.tree.b, 3, MM_ID_LEN);
	s.program = "mamori 0.1.0";
	s.sum.files_new = 10;
	must(snapshot_encode(&s, &b));
	put_variants("snapshot", "valid", &b);
	buf_release(&b);
	s.has_parent = 1;
	memset(s.parent.b, 4, MM_ID_LEN);
	s.ntags = 0;
	must(snapshot_encode(&s, &b));
	put_buf("snapshot", "parent", &b);
	buf_release(&b);
	/* encoding version 2: rewritten by tag, with its original ID */
	s.has_original = 1;
	memset(s.original.b, 5, MM_ID_LEN);
	must(snapshot_encode(&s, &b));
	put_buf("snapshot", "original", &b);
	buf_release(&b);
}

static void
lock_seeds(void)
{
	struct lock_info l = { "city-hall", "root", 4242, 1764600000000000000LL, 1, "backup" };
	struct buf b = BUF_INIT;

	must(lock_encode(&l, &b));
	put_variants("lock", "valid", &b);
	buf_release(&b);
	l.exclusive = 0;
	l.command = "";
	must(lock_encode(&l, &b));
	put_buf("lock", "shared", &b);
	buf_release(&b);
}

/* A ledger of three records (one frame cut short for a torn tail), and a
 * checkpoint signed by a fixed throwaway key. */
static void
ledger_seeds(void)
{
	static const char pem[] = "-----BEGIN PRIVATE KEY-----\n"
		"MC4CAQAwBQYDK2VwBCIEIG1hbW9yaSBmdXp6IGtleSEBAgMEBQYHCAkKCwwNDg8Q\n"
		"-----END PRIVATE KEY-----\n";
	struct ledger_rec r = LEDGER_REC_INIT;
	struct ledger_key k;
	struct ledger_ckpt cp;
	struct mm_ctx c = MM_CTX_INIT;
	struct buf file = BUF_INIT, body = BUF_INIT;
	uint8_t leaves[3][32], root[32];
	struct merkle_tree t;
	int i;

	r.time_ns = 1764600000000000000LL;
	r.clock = LEDGER_CLOCK_SYNCED;
	r.host = "city-hall";
	r.user = "root";
	r.sudo_uid = 1000;
	r.sudo_user = "tanaka";
	r.login_uid = 1000;
	r.command = "backup";
	r.target = "/backup/repo";
	r.result = "snapshot 3fa2";
	for (i = 0; i < 3; i++) {
		r.seq = (uint64_t)i + 1;
		buf_reset(&body);
		must(ledger_rec_encode(&r, &body));
		if (i == 0)
			put_variants("ledger", "record", &body);
		merkle_leaf_hash(body.data, body.len, leaves[i]);
		crypto_sha256(body.data, body.len, r.prev);
		must(ledger_frame(body.data, body.len, &file));
	}
	put_variants("ledger", "three", &file);
	put("ledger", "torn", file.data, file.len - 20);
	must(ledger_key_from_pem((const uint8_t *)pem, strlen(pem), &k, &c));
	must(merkle_tree_build(&t, (const uint8_t (*)[32])leaves, 3));
	merkle_tree_root(&t, 3, root);
	must(ledger_ckpt_make(&k, 3, root, r.time_ns, "city-hall", &cp, &c));
	put_variants("checkpoint", "valid", &cp.note);
	ledger_ckpt_release(&cp);
	merkle_tree_release(&t);
	ledger_key_release(&k);
	buf_release(&file);
	buf_release(&body);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds CORPUS_FOLDER\n");
		return 2;
	}
	outdir = argv[1];
	config_seeds();
	keyfile_seeds();
	pack_seeds();
	index_seeds();
	tree_seeds();
	snapshot_seeds();
	lock_seeds();
	ledger_seeds();
	return 0;
}
