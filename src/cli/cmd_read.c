/* diff, find, dump, stats, tag: reading a repository without restoring it. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static void
print_path(const char *p)
{
	cli_print_name(stdout, (const uint8_t *)p, strlen(p));
}

/* ---- diff ------------------------------------------------------------- */

struct diff_state {
	const struct cli *cl;
	struct json j;
};

static void
meta_names(struct json *j, unsigned m, FILE *f)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ DIFF_M_MODE, "mode" }, { DIFF_M_OWNER, "owner" },
		{ DIFF_M_MTIME, "mtime" }, { DIFF_M_XATTRS, "xattrs" },
	};
	int first = 1;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(m & names[i].bit))
			continue;
		if (j)
			json_str(j, names[i].name);
		else
			fprintf(f, "%s%s", first ? "" : ", ", names[i].name);
		first = 0;
	}
}

static void
diff_json(struct json *j, const struct diff_entry *d)
{
	static const char *kinds[] = { "?", "added", "removed", "modified", "metadata", "type" };
	const struct node *n = d->b ? d->b : d->a;

	json_obj_begin(j);
	json_kv_str(j, "change", kinds[d->kind]);
	json_kv_str(j, "path", d->path);
	if (d->kind == DIFF_TYPE) {
		json_kv_str(j, "old_type", cli_type_name(d->a->type));
		json_kv_str(j, "new_type", cli_type_name(d->b->type));
	} else {
		json_kv_str(j, "type", cli_type_name(n->type));
	}
	if (d->a && d->b && (d->a->type == NODE_FILE || d->b->type == NODE_FILE)) {
		json_kv_uint(j, "old_size", d->a->size);
		json_kv_uint(j, "new_size", d->b->size);
	} else if (n->type == NODE_FILE) {
		json_kv_uint(j, "size", n->size);
	}
	if (d->kind == DIFF_MODIFIED || d->kind == DIFF_METADATA) {
		json_key(j, "metadata");
		json_arr_begin(j);
		meta_names(j, d->meta, NULL);
		json_arr_end(j);
	}
	json_obj_end(j);
}

static int
diff_one(void *arg, const struct diff_entry *d)
{
	static const char marks[] = "?+-MUT";
	struct diff_state *st = arg;
	const struct node *n = d->b ? d->b : d->a;
	char x[32], y[32];

	if (st->cl->json) {
		diff_json(&st->j, d);
		return 0;
	}
	if (st->cl->quiet)
		return 0;
	printf("%c    ", marks[d->kind]);
	print_path(d->path);
	if (d->kind != DIFF_TYPE && n->type == NODE_DIR)
		putchar('/');
	switch (d->kind) {
	case DIFF_ADDED:
	case DIFF_REMOVED:
		if (n->type == NODE_FILE) {
			fmt_bytes(n->size, x, sizeof(x));
			printf("  (%s)", x);
		}
		break;
	case DIFF_MODIFIED:
		if (n->type == NODE_FILE) {
			fmt_bytes(d->a->size, x, sizeof(x));
			fmt_bytes(d->b->size, y, sizeof(y));
			printf("  (%s -> %s)", x, y);
		}
		if (d->meta) {
			fputs("  [", stdout);
			meta_names(NULL, d->meta, stdout);
			putchar(']');
		}
		break;
	case DIFF_METADATA:
		fputs("  [", stdout);
		meta_names(NULL, d->meta, stdout);
		putchar(']');
		break;
	case DIFF_TYPE:
		printf("  (%s -> %s)", cli_type_name(d->a->type), cli_type_name(d->b->type));
		break;
	}
	putchar('\n');
	return 0;
}

int
cmd_diff(struct cli *cl, int argc, char **argv)
{
	struct diff_state st;
	struct diff_stats ds;
	struct snapshot a, b;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int e, rc;

	memset(&st, 0, sizeof(st));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	st.cl = cl;
	if (argc != 3)
		return cli_usage(cl, "diff", "usage: mamori diff SNAPSHOT1 SNAPSHOT2");
	if ((rc = cli_open(cl, 0, 0, "diff", &r)) != 0)
		return rc;
	if ((e = repo_snapshot_find(r, argv[1], &a, &c)) != 0 ||
	    (e = repo_snapshot_find(r, argv[2], &b, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (cl->json) {
		json_init(&st.j, stdout);
		json_obj_begin(&st.j);
		json_key(&st.j, "changes");
		json_arr_begin(&st.j);
	}
	e = ops_diff(r, &a, &b, diff_one, &st, &ds, &c);
	if (cl->json) {
		json_arr_end(&st.j);
		json_key(&st.j, "summary");
		json_obj_begin(&st.j);
		json_kv_uint(&st.j, "added", ds.added);
		json_kv_uint(&st.j, "removed", ds.removed);
		json_kv_uint(&st.j, "modified", ds.modified);
		json_kv_uint(&st.j, "metadata", ds.metadata);
		json_kv_uint(&st.j, "type_changed", ds.type_changed);
		json_kv_uint(&st.j, "bytes_added", ds.bytes_added);
		json_kv_uint(&st.j, "bytes_removed", ds.bytes_removed);
		json_obj_end(&st.j);
		json_obj_end(&st.j);
		fputc('\n', stdout);
	}
	if (e != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (!cl->json && !cl->quiet) {
		char x[32], y[32];
		fmt_bytes(ds.bytes_added, x, sizeof(x));
		fmt_bytes(ds.bytes_removed, y, sizeof(y));
		printf("%llu added (%s), %llu removed (%s), %llu modified, %llu metadata only, "
		       "%llu type changed\n", (unsigned long long)ds.added, x,
		       (unsigned long long)ds.removed, y, (unsigned long long)ds.modified,
		       (unsigned long long)ds.metadata, (unsigned long long)ds.type_changed);
	}
	rc = EXIT_OK;
out:
	snapshot_release(&a);
	snapshot_release(&b);
	repo_free(r);
	return rc;
}

/* ---- find ------------------------------------------------------------- */

/* "2026-11-30", "2026-11-30 12:00[:00]" or with 'T'; local time unless a
 * trailing 'Z' (UTC). end_of_day: a bare date means its last nanosecond. */
static int
parse_when(const char *s, int end_of_day, int64_t *out)
{
	struct tm tm;
	const char *p;
	int utc = 0, date_only = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return MM_EINVAL;
	if (*p == '\0') {
		date_only = 1;
	} else {
		if (*p != ' ' && *p != 'T')
			return MM_EINVAL;
		const char *q = strptime(p + 1, "%H:%M:%S", &tm);
		if (q == NULL && (q = strptime(p + 1, "%H:%M", &tm)) == NULL)
			return MM_EINVAL;
		p = q;
	}
	if (*p == 'Z') {
		utc = 1;
		p++;
	}
	if (*p != '\0')
		return MM_EINVAL;
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		return MM_EINVAL;
	*out = (int64_t)t * 1000000000;
	if (date_only && end_of_day)
		*out += 86400LL * 1000000000 - 1;
	return 0;
}

struct find_state {
	const struct cli *cl;
	const struct snapshot *s;
	struct json j;
	uint64_t matches;
};

static int
find_print(void *arg, const char *path, const struct node *n)
{
	struct find_state *st = arg;
	char sid[9], when[32];

	st->matches++;
	cli_short_id(&st->s->id, sid);
	if (st->cl->json) {
		char hex[65], t[40];
		hex_encode(st->s->id.b, MM_ID_LEN, hex);
		json_obj_begin(&st->j);
		json_kv_str(&st->j, "snapshot", hex);
		json_kv_str(&st->j, "short_id", sid);
		time_format_utc(st->s->time_ns, t, sizeof(t));
		json_kv_str(&st->j, "snapshot_time", t);
		json_kv_str(&st->j, "path", path);
		json_kv_str(&st->j, "type", cli_type_name(n->type));
		json_kv_uint(&st->j, "size", n->size);
		time_format_utc(n->mtime_ns, t, sizeof(t));
		json_kv_str(&st->j, "mtime", t);
		json_kv_int(&st->j, "mtime_ns", n->mtime_ns);
		json_obj_end(&st->j);
		return 0;
	}
	if (st->cl->quiet)
		return 0;
	time_format_local(n->mtime_ns, when, sizeof(when));
	printf("%s  %s  %12llu  ", sid, when, (unsigned long long)n->size);
	print_path(path);
	if (n->type == NODE_DIR)
		putchar('/');
	putchar('\n');
	return 0;
}

int
cmd_find(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "snapshot", required_argument, NULL, 's' },
		{ "path", required_argument, NULL, 'p' },
		{ "oldest", required_argument, NULL, 'O' },
		{ "newest", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_strv snaps = { 0 };
	struct snapshot *v = NULL;
	size_t n = 0, searched = 0, nopath = 0;
	struct find_opts o;
	struct find_state st;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, e, rc = EXIT_OK;

	memset(&o, 0, sizeof(o));
	memset(&st, 0, sizeof(st));
	st.cl = cl;
	while ((ch = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (cli_strv_add(&snaps, optarg) != 0) {
				rc = cli_fail(cl, MM_ENOMEM, NULL);
				goto out;
			}
			break;
		case 'p': o.path = optarg; break;
		case 'O':
		case 'N':
			if (parse_when(optarg, ch == 'N', ch == 'O' ? &o.oldest_ns : &o.newest_ns) != 0) {
				rc = cli_usage(cl, "find", "--%s takes a time such as 2026-11-30 or "
					       "'2026-11-30 12:00:00' (local) or 2026-11-30T03:00:00Z",
					       ch == 'O' ? "oldest" : "newest");
				goto out;
			}
			break;
		default: rc = cli_usage(cl, "find", "unknown option"); goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage(cl, "find", "usage: mamori find PATTERN... [--snapshot S]... "
			       "[--path P] [--oldest TIME] [--newest TIME]");
		goto out;
	}
	o.patterns = (const char *const *)argv + optind;
	o.npatterns = (size_t)(argc - optind);
	if ((rc = cli_open(cl, 0, 0, "find", &r)) != 0)
		goto out;
	if (snaps.n == 0) {
		if ((e = repo_snapshot_list(r, &v, &n, &c)) != 0) {
			rc = cli_fail(cl, e, &c);
			goto out;
		}
	} else {
		if ((v = calloc(snaps.n, sizeof(*v))) == NULL) {
			rc = cli_fail(cl, MM_ENOMEM, NULL);
			goto out;
		}
		for (; n < snaps.n; n++) {
			if ((e = repo_snapshot_find(r, snaps.v[n], &v[n], &c)) != 0) {
				rc = cli_fail(cl, e, &c);
				goto out;
			}
		}
	}
	if (cl->json) {
		json_init(&st.j, stdout);
		json_arr_begin(&st.j);
	}
	for (size_t i = 0; i < n; i++) {
		st.s = &v[i];
		e = ops_find(r, &v[i], &o, find_print, &st, &c);
		if (e == MM_ENOPATH) {
			nopath++; /* not in this snapshot */
			continue;
		}
		if (e != 0)
			break;
		searched++;
	}
	if (cl->json) {
		json_arr_end(&st.j);
		fputc('\n', stdout);
	}
	if (e != 0 && e != MM_ENOPATH) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (n > 0 && nopath == n) {
		mm_fail(&c, MM_ENOPATH, "%s: no such path in the snapshot%s searched", o.path,
			n == 1 ? "" : "s");
		rc = cli_fail(cl, MM_ENOPATH, &c);
		goto out;
	}
	if (!cl->json && !cl->quiet)
		printf("%llu match%s in %zu snapshot%s\n", (unsigned long long)st.matches,
		       st.matches == 1 ? "" : "es", searched, searched == 1 ? "" : "s");
	rc = EXIT_OK;
out:
	snapshot_list_free(v, n);
	repo_free(r);
	free(snaps.v);
	return rc;
}

/* ---- dump ------------------------------------------------------------- */

struct dump_out {
	int fd;
	int tty;   /* standard output is a terminal */
	int first; /* nothing written yet */
};

static int
dump_write(void *arg, const void *p, size_t n, struct mm_ctx *c)
{
	struct dump_out *d = arg;
	int e;

	if (d->first && d->tty && memchr(p, '\0', n) != NULL)
		return mm_fail(c, MM_EINVAL, "refusing to write binary data to a terminal: "
			       "redirect standard output to a file or a pipe");
	d->first = 0;
	if ((e = write_full(d->fd, p, n)) != 0)
		return mm_fail_errno(c, -e, "write to standard output");
	return 0;
}

int
cmd_dump(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "archive", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct dump_out d = { STDOUT_FILENO, 0, 1 };
	struct ops_report rep = { cli_warn, NULL, cl };
	struct dump_result res;
	struct snapshot s;
	struct node n;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, e, rc, tar = 0;

	memset(&s, 0, sizeof(s));
	memset(&n, 0, sizeof(n));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'a' && strcmp(optarg, "tar") == 0)
			tar = 1;
		else if (ch == 'a')
			return cli_usage(cl, "dump", "--archive takes 'tar' (the only format)");
		else
			return cli_usage(cl, "dump", "unknown option");
	}
	if (optind + 2 != argc)
		return cli_usage(cl, "dump", "usage: mamori dump SNAPSHOT PATH [--archive tar]");
	d.tty = isatty(STDOUT_FILENO);
	if ((rc = cli_open(cl, 1, 0, "dump", &r)) != 0)
		return rc;
	if ((e = repo_snapshot_find(r, argv[optind], &s, &c)) != 0 ||
	    (e = ops_lookup(r, &s, argv[optind + 1], &n, &c)) != 0)
		goto fail;
	if (n.type != NODE_FILE)
		tar = 1;
	if (tar && d.tty) {
		e = mm_fail(&c, MM_EINVAL, "refusing to write a tar archive to a terminal: "
			    "redirect standard output to a file or a pipe (mamori dump ... > x.tar)");
		goto fail;
	}
	if (tar)
		e = ops_dump_tar(r, &s, argv[optind + 1], dump_write, &d, &rep, &res, &c);
	else
		e = ops_dump_file(r, &n, dump_write, &d, &c);
	if (e != 0)
		goto fail;
	rc = tar && res.skipped ? EXIT_PARTIAL : EXIT_OK;
	goto out;
fail:
	rc = cli_fail(cl, e, &c);
out:
	node_release(&n);
	snapshot_release(&s);
	repo_free(r);
	return rc;
}

/* ---- stats ------------------------------------------------------------ */

static void
print_size(const char *label, uint64_t n)
{
	char b[32];

	fmt_bytes(n, b, sizeof(b));
	printf("%-20s %s (%llu bytes)\n", label, b, (unsigned long long)n);
}

int
cmd_stats(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *modes[] = { "restore-size", "raw", "files-by-contents" };
	enum stats_mode mode = STATS_RESTORE_SIZE;
	struct stats_result res;
	struct snapshot *v = NULL;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	size_t n = 0, want;
	double comp, dedup;
	int ch, e, rc;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'm')
			return cli_usage(cl, "stats", "unknown option");
		if (strcmp(optarg, "restore-size") == 0)
			mode = STATS_RESTORE_SIZE;
		else if (strcmp(optarg, "raw") == 0)
			mode = STATS_RAW;
		else if (strcmp(optarg, "files-by-contents") == 0)
			mode = STATS_FILES_BY_CONTENTS;
		else
			return cli_usage(cl, "stats", "--mode takes restore-size, raw or "
					 "files-by-contents");
	}
	want = (size_t)(argc - optind);
	if ((rc = cli_open(cl, 0, 0, "stats", &r)) != 0)
		return rc;
	if (want == 0) {
		e = repo_snapshot_list(r, &v, &n, &c);
	} else if ((v = calloc(want, sizeof(*v))) == NULL) {
		e = mm_fail(&c, MM_ENOMEM, "out of memory");
	} else {
		for (e = 0; n < want && e == 0; n++)
			e = repo_snapshot_find(r, argv[optind + (int)n], &v[n], &c);
	}
	if (e != 0 || (e = ops_stats(r, v, n, mode, &res, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	comp = res.stored_bytes ? (double)res.uncompressed_bytes / (double)res.stored_bytes : 0;
	dedup = res.data_uncompressed_bytes ?
		(double)res.restore_bytes / (double)res.data_uncompressed_bytes : 0;
	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_str(&j, "mode", modes[mode]);
		json_kv_uint(&j, "snapshots", res.snapshots);
		json_kv_uint(&j, "files", res.files);
		json_kv_uint(&j, "dirs", res.dirs);
		json_kv_uint(&j, "others", res.others);
		json_kv_uint(&j, "restore_bytes", res.restore_bytes);
		if (mode == STATS_FILES_BY_CONTENTS) {
			json_kv_uint(&j, "unique_files", res.unique_files);
			json_kv_uint(&j, "unique_bytes", res.unique_bytes);
		}
		if (mode == STATS_RAW) {
			json_kv_uint(&j, "blobs", res.blobs);
			json_kv_uint(&j, "data_blobs", res.data_blobs);
			json_kv_uint(&j, "tree_blobs", res.tree_blobs);
			json_kv_uint(&j, "packs", res.packs);
			json_kv_uint(&j, "stored_bytes", res.stored_bytes);
			json_kv_uint(&j, "uncompressed_bytes", res.uncompressed_bytes);
			json_kv_uint(&j, "data_uncompressed_bytes", res.data_uncompressed_bytes);
			json_key(&j, "compression_ratio");
			json_double(&j, comp);
			json_key(&j, "dedup_ratio");
			json_double(&j, dedup);
		}
		json_obj_end(&j);
		fputc('\n', stdout);
		goto out;
	}
	if (cl->quiet)
		goto out;
	printf("%-20s %llu\n", "snapshots:", (unsigned long long)res.snapshots);
	if (mode == STATS_FILES_BY_CONTENTS) {
		printf("%-20s %llu (in %llu paths)\n", "distinct files:",
		       (unsigned long long)res.unique_files, (unsigned long long)res.files);
		print_size("size:", res.unique_bytes);
		goto out;
	}
	printf("%-20s %llu\n", "files:", (unsigned long long)res.files);
	printf("%-20s %llu\n", "directories:", (unsigned long long)res.dirs);
	printf("%-20s %llu\n", "other entries:", (unsigned long long)res.others);
	print_size("restore size:", res.restore_bytes);
	if (mode == STATS_RAW) {
		printf("%-20s %llu (%llu data, %llu tree) in %llu packs\n", "blobs:",
		       (unsigned long long)res.blobs, (unsigned long long)res.data_blobs,
		       (unsigned long long)res.tree_blobs, (unsigned long long)res.packs);
		print_size("uncompressed size:", res.uncompressed_bytes);
		print_size("stored size:", res.stored_bytes);
		printf("%-20s %.2fx\n", "compression ratio:", comp);
		printf("%-20s %.2fx\n", "dedup ratio:", dedup);
	}
out:
	snapshot_list_free(v, n);
	repo_free(r);
	return rc;
}

/* ---- tag -------------------------------------------------------------- */

static void
print_tags(char **t, size_t n)
{
	putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		cli_print_name(stdout, (const uint8_t *)t[i], strlen(t[i]));
	}
	putchar(']');
}

int
cmd_tag(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "add", required_argument, NULL, 'a' },
		{ "remove", required_argument, NULL, 'r' },
		{ "set", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_strv add = { 0 }, rem = { 0 }, set = { 0 };
	struct snapshot *v = NULL;
	struct tag_opts o;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	struct json j;
	size_t n = 0, want;
	int ch, e = 0, rc;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': e = cli_strv_add(&add, optarg); break;
		case 'r': e = cli_strv_add(&rem, optarg); break;
		case 's':
			o.set_given = 1;
			e = optarg[0] ? cli_strv_add(&set, optarg) : 0; /* --set '' clears */
			break;
		default: rc = cli_usage(cl, "tag", "unknown option"); goto out;
		}
		if (e != 0) {
			rc = cli_fail(cl, MM_ENOMEM, NULL);
			goto out;
		}
	}
	if (optind >= argc || (add.n == 0 && rem.n == 0 && !o.set_given)) {
		rc = cli_usage(cl, "tag", "usage: mamori tag [--add T]... [--remove T]... "
			       "[--set T]... SNAPSHOT...");
		goto out;
	}
	o.add = add.v;
	o.nadd = add.n;
	o.remove = rem.v;
	o.nremove = rem.n;
	o.set = set.v;
	o.nset = set.n;
	want = (size_t)(argc - optind);
	if ((rc = cli_open(cl, 1, 1, "tag", &r)) != 0)
		goto out;
	/* Every name resolved before anything is written. */
	if ((v = calloc(want, sizeof(*v))) == NULL) {
		rc = cli_fail(cl, MM_ENOMEM, NULL);
		goto out;
	}
	for (; n < want; n++) {
		if ((e = repo_snapshot_find(r, argv[optind + (int)n], &v[n], &c)) != 0) {
			rc = cli_fail(cl, e, &c);
			goto out;
		}
	}
	if (cl->json) {
		json_init(&j, stdout);
		json_arr_begin(&j);
	}
	for (size_t i = 0; i < n; i++) {
		struct snapshot t;
		char old[9], now[9], hex[65];
		int changed;

		memset(&t, 0, sizeof(t));
		if ((e = ops_tag(r, &v[i], &o, &t, &c)) != 0)
			break;
		changed = memcmp(t.id.b, v[i].id.b, MM_ID_LEN) != 0;
		cli_short_id(&v[i].id, old);
		cli_short_id(&t.id, now);
		if (cl->json) {
			json_obj_begin(&j);
			hex_encode(t.id.b, MM_ID_LEN, hex);
			json_kv_str(&j, "id", hex);
			hex_encode(v[i].id.b, MM_ID_LEN, hex);
			json_kv_str(&j, "old_id", hex);
			if (t.has_original) {
				hex_encode(t.original.b, MM_ID_LEN, hex);
				json_kv_str(&j, "original", hex);
			}
			json_kv_bool(&j, "changed", changed);
			json_key(&j, "tags");
			json_arr_begin(&j);
			for (size_t k = 0; k < t.ntags; k++)
				json_str(&j, t.tags[k]);
			json_arr_end(&j);
			json_obj_end(&j);
		} else if (!cl->quiet) {
			if (changed)
				printf("snapshot %s is now %s ", old, now);
			else
				printf("snapshot %s unchanged ", old);
			print_tags(t.tags, t.ntags);
			putchar('\n');
		}
		snapshot_release(&t);
	}
	if (cl->json) {
		json_arr_end(&j);
		fputc('\n', stdout);
	}
	rc = e ? cli_fail(cl, e, &c) : EXIT_OK;
out:
	snapshot_list_free(v, n);
	repo_free(r);
	free(add.v);
	free(rem.v);
	free(set.v);
	return rc;
}
