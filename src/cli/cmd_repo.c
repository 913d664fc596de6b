/* init, snapshots, check, cat: the commands about the repository itself. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int
cmd_init(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key-name", required_argument, NULL, 'n' },
		{ "copy-chunker-params-from", required_argument, NULL, 'f' },
		{ "from-password-file", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct repo_init_opts o;
	struct mm_ctx c = MM_CTX_INIT;
	struct repo *from = NULL;
	const char *fast = getenv("MAMORI_TEST_KDF");
	const char *from_loc = NULL, *from_pwf = NULL;
	char *from_pw = NULL;
	int ch, e, rc;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': o.key_name = optarg; break;
		case 'f': from_loc = optarg; break;
		case 'F': from_pwf = optarg; break;
		default: return cli_usage(cl, "init", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage(cl, "init", "takes no arguments; the repository comes from -r");
	if (cl->repo == NULL)
		return cli_usage(cl, "init", "no repository given: use -r REPO or set MAMORI_REPOSITORY");
	if (from_pwf != NULL && from_loc == NULL)
		return cli_usage(cl, "init", "--from-password-file goes with --copy-chunker-params-from");
	o.fast_kdf = fast != NULL && strcmp(fast, "1") == 0;
	if (from_loc != NULL) {
		/* The source first: a wrong password there creates nothing. */
		if ((e = cli_password_other(from_pwf, "MAMORI_FROM_PASSWORD_FILE", from_loc, &from_pw,
					    &c)) != 0)
			return cli_fail(cl, e, &c);
		rc = cli_open_at(cl, from_loc, from_pw, 0, 0, "init", &from);
		cli_password_free(from_pw);
		if (rc != 0)
			return rc;
		o.share_from = from;
	}
	if ((e = cli_password(cl, 1, &c)) != 0 || (e = repo_init(cl->repo, cl->password, &o, &c)) != 0) {
		repo_free(from);
		return cli_fail(cl, e, &c);
	}
	repo_free(from);
	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_str(&j, "repository", cl->repo);
		json_kv_bool(&j, "created", 1);
		if (from_loc != NULL)
			json_kv_str(&j, "chunker_params_from", from_loc);
		json_obj_end(&j);
		fputc('\n', stdout);
	} else if (!cl->quiet) {
		printf("created mamori repository at %s\n", cl->repo);
		if (from_loc != NULL)
			printf("It deduplicates like %s (same chunker parameters and ID key), so "
			       "'mamori copy' can send only what is new.\n", from_loc);
		printf("Keep the password safe: without it the data cannot be read back.\n");
	}
	return EXIT_OK;
}

int
cmd_snapshots(struct cli *cl, int argc, char **argv)
{
	struct snapshot *v = NULL;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	size_t n = 0;
	int e, rc;

	if (argc != 1)
		return cli_usage(cl, "snapshots", "takes no arguments");
	if ((rc = cli_open(cl, 0, 0, "snapshots", &r)) != 0)
		return rc;
	if ((e = repo_snapshot_list(r, &v, &n, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		json_arr_begin(&j);
		for (size_t i = 0; i < n; i++)
			cli_json_snapshot(&j, &v[i]);
		json_arr_end(&j);
		fputc('\n', stdout);
		goto out;
	}
	printf("%-8s  %-19s  %-16s  %-10s  %s\n", "ID", "Time", "Host", "Size", "Paths");
	for (size_t i = 0; i < n; i++) {
		char sid[9], when[32], size[32];
		cli_short_id(&v[i].id, sid);
		time_format_local(v[i].time_ns, when, sizeof(when));
		fmt_bytes(v[i].sum.bytes_total, size, sizeof(size));
		printf("%-8s  %-19s  %-16s  %-10s  ", sid, when, v[i].host, size);
		for (size_t k = 0; k < v[i].npaths; k++)
			printf("%s%s", k ? " " : "", v[i].paths[k]);
		if (v[i].ntags) {
			printf("  [");
			for (size_t k = 0; k < v[i].ntags; k++)
				printf("%s%s", k ? "," : "", v[i].tags[k]);
			printf("]");
		}
		putchar('\n');
	}
	printf("%zu snapshot%s\n", n, n == 1 ? "" : "s");
out:
	snapshot_list_free(v, n);
	repo_free(r);
	return rc;
}

int
cmd_check(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "read-data", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct check_opts o;
	struct check_result res;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, e, rc;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'd')
			return cli_usage(cl, "check", "unknown option");
		o.read_data = 1;
	}
	if (optind != argc)
		return cli_usage(cl, "check", "takes no arguments");
	o.rep.warn = cli_warn;
	o.rep.progress = cli_progress;
	o.rep.arg = cl;
	if ((rc = cli_open(cl, 1, 0, "check", &r)) != 0)
		return rc;
	e = ops_check(r, &o, &res, &c);
	cli_progress_done(cl);
	if (e != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_uint(&j, "snapshots", res.snapshots);
		json_kv_uint(&j, "trees", res.trees);
		json_kv_uint(&j, "blobs", res.blobs);
		json_kv_uint(&j, "packs", res.packs);
		json_kv_uint(&j, "packs_read", res.packs_read);
		json_kv_uint(&j, "bytes_read", res.bytes_read);
		json_kv_uint(&j, "unindexed_packs", res.unindexed_packs);
		json_kv_uint(&j, "errors", res.errors);
		json_kv_bool(&j, "ok", res.errors == 0);
		json_obj_end(&j);
		fputc('\n', stdout);
	} else if (!cl->quiet) {
		printf("checked %llu snapshots, %llu trees, %llu blobs in %llu packs",
		       (unsigned long long)res.snapshots, (unsigned long long)res.trees,
		       (unsigned long long)res.blobs, (unsigned long long)res.packs);
		if (o.read_data) {
			char b[32];
			fmt_bytes(res.bytes_read, b, sizeof(b));
			printf("; read and verified %llu packs (%s)",
			       (unsigned long long)res.packs_read, b);
		}
		printf("\n");
		if (res.errors)
			printf("%llu errors found: the repository is damaged (see above)\n",
			       (unsigned long long)res.errors);
		else
			printf("no errors found\n");
	}
	rc = res.errors ? EXIT_FATAL : EXIT_OK;
out:
	repo_free(r);
	return rc;
}

static void
cat_config(const struct repo *r)
{
	struct json j;
	char id[65], when[40];

	hex_encode(r->cfg.id, sizeof(r->cfg.id), id);
	time_format_utc(r->cfg.created_ns, when, sizeof(when));
	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_uint(&j, "version", r->cfg.version);
	json_kv_str(&j, "id", id);
	json_kv_str(&j, "created", when);
	json_key(&j, "chunker");
	json_obj_begin(&j);
	json_kv_str(&j, "algorithm", "fastcdc");
	json_kv_uint(&j, "min_size", r->cfg.chunker.min_size);
	json_kv_uint(&j, "avg_size", r->cfg.chunker.avg_size);
	json_kv_uint(&j, "max_size", r->cfg.chunker.max_size);
	json_obj_end(&j);
	json_kv_int(&j, "zstd_level", r->cfg.zstd_level);
	json_kv_bool(&j, "shared_ids", r->cfg.shared_keys);
	json_obj_end(&j);
	fputc('\n', stdout);
}

static void
cat_index(const struct repo *r)
{
	const struct index *ix = &r->idx;
	struct json j;
	char hex[65];

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_uint(&j, "packs", ix->npacks);
	json_kv_uint(&j, "blobs", ix->n);
	json_key(&j, "entries");
	json_arr_begin(&j);
	for (size_t i = 0; i < ix->n; i++) {
		const struct index_entry *e = index_entry_at(ix, i);
		json_obj_begin(&j);
		hex_encode(e->id.b, MM_ID_LEN, hex);
		json_kv_str(&j, "id", hex);
		json_kv_str(&j, "type", (e->pack >> 31) ? "tree" : "data");
		hex_encode(ix->packs[e->pack & 0x7fffffffu].b, MM_ID_LEN, hex);
		json_kv_str(&j, "pack", hex);
		json_kv_uint(&j, "offset", e->offset);
		json_kv_uint(&j, "length", e->length);
		json_kv_uint(&j, "raw_length", e->raw_len);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	fputc('\n', stdout);
}

static int
cat_tree(struct cli *cl, struct repo *r, const char *spec)
{
	struct tree t = TREE_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	struct mm_id id;
	struct json j;
	int e;

	if (hex_decode(spec, id.b, MM_ID_LEN) != 0)
		return cli_usage(cl, "cat", "a tree is named by its full 64-digit ID");
	if ((e = repo_tree_load(r, &id, &t, &c)) != 0)
		return cli_fail(cl, e, &c);
	json_init(&j, stdout);
	json_arr_begin(&j);
	for (size_t i = 0; i < t.n; i++)
		cli_json_node(&j, NULL, &t.nodes[i]);
	json_arr_end(&j);
	fputc('\n', stdout);
	tree_release(&t);
	return EXIT_OK;
}

int
cmd_cat(struct cli *cl, int argc, char **argv)
{
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	const char *what = argc > 1 ? argv[1] : "";
	int need_id = strcmp(what, "snapshot") == 0 || strcmp(what, "tree") == 0;
	int rc, e;

	if (!need_id && strcmp(what, "config") != 0 && strcmp(what, "index") != 0)
		return cli_usage(cl, "cat", "usage: mamori cat config|index|snapshot ID|tree ID");
	if (argc != 2 + need_id)
		return cli_usage(cl, "cat", "usage: mamori cat config|index|snapshot ID|tree ID");
	if ((rc = cli_open(cl, 0, 0, "cat", &r)) != 0)
		return rc;
	if (strcmp(what, "config") == 0) {
		cat_config(r);
	} else if (strcmp(what, "index") == 0) {
		cat_index(r);
	} else if (strcmp(what, "tree") == 0) {
		rc = cat_tree(cl, r, argv[2]);
	} else {
		struct snapshot s;
		struct json j;

		memset(&s, 0, sizeof(s));
		if ((e = repo_snapshot_find(r, argv[2], &s, &c)) != 0) {
			rc = cli_fail(cl, e, &c);
		} else {
			json_init(&j, stdout);
			cli_json_snapshot(&j, &s);
			fputc('\n', stdout);
		}
		snapshot_release(&s);
	}
	repo_free(r);
	return rc;
}
