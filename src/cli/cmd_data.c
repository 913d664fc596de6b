/* backup, restore, ls: the commands that move files in and out. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"

/* A growing list of option arguments (--tag, --exclude, --include). */
static void
print_backup(const struct cli *cl, const struct snapshot *s)
{
	const struct snap_summary *m = &s->sum;
	char sid[9], added[32], total[32], read[32];

	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		cli_json_snapshot(&j, s);
		fputc('\n', stdout);
		return;
	}
	if (cl->quiet)
		return;
	cli_short_id(&s->id, sid);
	fmt_bytes(m->bytes_added, added, sizeof(added));
	fmt_bytes(m->bytes_total, total, sizeof(total));
	fmt_bytes(m->bytes_read, read, sizeof(read));
	printf("snapshot %s saved\n", sid);
	printf("files:  %llu new, %llu changed, %llu unchanged; %llu directories, %llu other\n",
	       (unsigned long long)m->files_new, (unsigned long long)m->files_changed,
	       (unsigned long long)m->files_unchanged, (unsigned long long)m->dirs,
	       (unsigned long long)m->others);
	printf("data:   %s in the snapshot, %s read, %s added to the repository (%llu blobs)\n",
	       total, read, added, (unsigned long long)m->blobs_added);
	printf("time:   %.2f s\n", (double)m->duration_ns / 1e9);
	if (m->errors)
		printf("errors: %llu entries could not be read (see warnings above)\n",
		       (unsigned long long)m->errors);
}

/* "YYYY-MM-DD HH:MM:SS" in local time. */
static int
parse_local_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) == NULL || *end != '\0')
		return MM_EINVAL;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1)
		return MM_EINVAL;
	*out = (int64_t)t * 1000000000;
	return 0;
}

int
cmd_backup(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "exclude", required_argument, NULL, 'e' },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "host", required_argument, NULL, 'H' },
		{ "threads", required_argument, NULL, 'T' },
		{ "time", required_argument, NULL, 'm' },
		{ "stdin-from-command", no_argument, NULL, 'C' },
		{ "stdin-filename", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_strv tags = { 0 }, excl = { 0 };
	const char *stdin_name = NULL;
	int from_command = 0;
	struct backup_opts o;
	struct snapshot s;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, e, rc = EXIT_OK;
	char *end, hex[2 * MM_ID_LEN + 1];

	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	while ((ch = getopt_long(argc, argv, "t:e:xH:", opts, NULL)) != -1) {
		switch (ch) {
		case 't': e = cli_strv_add(&tags, optarg); break;
		case 'e': e = cli_strv_add(&excl, optarg); break;
		case 'x': o.one_file_system = 1; e = 0; break;
		case 'H': o.host = optarg; e = 0; break;
		case 'm':
			if (parse_local_time(optarg, &o.time_ns) != 0) {
				rc = cli_usage(cl, "backup", "--time takes a local time "
					       "\"YYYY-MM-DD HH:MM:SS\"");
				goto out;
			}
			e = 0;
			break;
		case 'C': from_command = 1; e = 0; break;
		case 'N': stdin_name = optarg; e = 0; break;
		case 'T':
			o.threads = (unsigned)strtoul(optarg, &end, 10);
			e = (*end || o.threads > 256) ? MM_EINVAL : 0;
			if (e) {
				rc = cli_usage(cl, "backup", "--threads takes a number from 0 to 256");
				goto out;
			}
			break;
		default: rc = cli_usage(cl, "backup", "unknown option"); goto out;
		}
		if (e) {
			rc = cli_fail(cl, MM_ENOMEM, NULL);
			goto out;
		}
	}
	if (stdin_name != NULL && !from_command) {
		rc = cli_usage(cl, "backup", "--stdin-filename goes with --stdin-from-command");
		goto out;
	}
	if (from_command && (optind >= argc || strcmp(argv[optind - 1], "--") != 0)) {
		rc = cli_usage(cl, "backup", "which command? e.g. mamori backup "
			       "--stdin-from-command -- pg_dump --format=custom db");
		goto out;
	}
	if (optind >= argc) {
		rc = cli_usage(cl, "backup", "which paths? e.g. mamori backup /srv/data");
		goto out;
	}
	o.paths = (const char *const *)argv + optind;
	o.npaths = (size_t)(argc - optind);
	o.tags = tags.v;
	o.ntags = tags.n;
	o.excludes = excl.v;
	o.nexcludes = excl.n;
	o.rep.warn = cli_warn;
	o.rep.progress = cli_progress;
	o.rep.arg = cl;
	if ((rc = cli_open(cl, 1, 0, "backup", &r)) != 0)
		goto out;
	if (from_command)
		e = ops_backup_command(r, &o, argv + optind, stdin_name ? stdin_name : "stdin", &s, &c);
	else
		e = ops_backup(r, &o, &s, &c);
	cli_progress_done(cl);
	if (e != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	print_backup(cl, &s);
	hex_encode(s.id.b, MM_ID_LEN, hex);
	cli_set_result(cl, "snapshot %s", hex); /* for the ledger */
	rc = s.sum.errors ? EXIT_PARTIAL : EXIT_OK;
out:
	snapshot_release(&s);
	repo_free(r);
	free(tags.v);
	free(excl.v);
	return rc;
}

int
cmd_restore(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "include", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_strv inc = { 0 };
	struct restore_opts o;
	struct restore_result res;
	struct snapshot s;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, e, rc;

	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	memset(&res, 0, sizeof(res));
	while ((ch = getopt_long(argc, argv, "t:i:", opts, NULL)) != -1) {
		if (ch == 't')
			o.target = optarg;
		else if (ch == 'i' && cli_strv_add(&inc, optarg) != 0)
			return cli_fail(cl, MM_ENOMEM, NULL);
		else if (ch != 'i') {
			rc = cli_usage(cl, "restore", "unknown option");
			goto out;
		}
	}
	if (optind + 1 != argc || o.target == NULL) {
		rc = cli_usage(cl, "restore", "usage: mamori restore SNAPSHOT --target DIR "
			       "[--include PATH]...");
		goto out;
	}
	o.includes = inc.v;
	o.nincludes = inc.n;
	o.rep.warn = cli_warn;
	o.rep.progress = cli_progress;
	o.rep.arg = cl;
	if ((rc = cli_open(cl, 1, 0, "restore", &r)) != 0)
		goto out;
	if ((e = repo_snapshot_find(r, argv[optind], &s, &c)) != 0 ||
	    (e = ops_restore(r, &s, &o, &res, &c)) != 0) {
		cli_progress_done(cl);
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	cli_progress_done(cl);
	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_uint(&j, "files", res.files);
		json_kv_uint(&j, "dirs", res.dirs);
		json_kv_uint(&j, "others", res.others);
		json_kv_uint(&j, "bytes", res.bytes);
		json_kv_uint(&j, "errors", res.errors);
		json_key(&j, "seconds");
		json_double(&j, res.seconds);
		json_obj_end(&j);
		fputc('\n', stdout);
	} else if (!cl->quiet) {
		char b[32], sid[9];
		fmt_bytes(res.bytes, b, sizeof(b));
		cli_short_id(&s.id, sid);
		printf("restored snapshot %s to %s: %llu files, %llu directories, %llu other, "
		       "%s in %.2f s\n", sid, o.target, (unsigned long long)res.files,
		       (unsigned long long)res.dirs, (unsigned long long)res.others, b, res.seconds);
		if (res.errors)
			printf("errors: %llu entries could not be restored (see warnings above)\n",
			       (unsigned long long)res.errors);
	}
	rc = res.errors ? EXIT_PARTIAL : EXIT_OK;
out:
	snapshot_release(&s);
	repo_free(r);
	free(inc.v);
	return rc;
}

struct ls_state {
	const struct cli *cl;
	struct json j;
	int lng;
};

static void
print_long(const struct node *n)
{
	static const char tc[] = "?-dlpcbs";
	char mode[11], when[32];
	uint32_t m = n->mode;

	mode[0] = n->type < sizeof(tc) - 1 ? tc[n->type] : '?';
	for (int i = 0; i < 9; i++)
		mode[1 + i] = (m & (0400u >> i)) ? "rwxrwxrwx"[i] : '-';
	mode[10] = '\0';
	time_format_local(n->mtime_ns, when, sizeof(when));
	printf("%s %-8s %-8s %12llu %s ", mode, n->user && n->user[0] ? n->user : "?",
	       n->group && n->group[0] ? n->group : "?", (unsigned long long)n->size, when);
}

static int
ls_one(void *arg, const char *path, const struct node *n)
{
	struct ls_state *st = arg;

	if (st->cl->json) {
		cli_json_node(&st->j, path, n);
		return 0;
	}
	if (st->lng)
		print_long(n);
	cli_print_name(stdout, (const uint8_t *)path, strlen(path));
	if (st->lng && n->type == NODE_SYMLINK) {
		fputs(" -> ", stdout);
		cli_print_name(stdout, n->target, n->target_len);
	}
	fputc('\n', stdout);
	return 0;
}

int
cmd_ls(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct ls_state st;
	struct snapshot s;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, e, rc;

	memset(&st, 0, sizeof(st));
	memset(&s, 0, sizeof(s));
	st.cl = cl;
	while ((ch = getopt_long(argc, argv, "l", opts, NULL)) != -1) {
		if (ch != 'l')
			return cli_usage(cl, "ls", "unknown option");
		st.lng = 1;
	}
	if (optind >= argc || argc - optind > 2)
		return cli_usage(cl, "ls", "usage: mamori ls [-l] SNAPSHOT [PATH]");
	if ((rc = cli_open(cl, 0, 0, "ls", &r)) != 0)
		return rc;
	if ((e = repo_snapshot_find(r, argv[optind], &s, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (cl->json) {
		json_init(&st.j, stdout);
		json_arr_begin(&st.j);
	}
	e = ops_walk(r, &s, argc - optind == 2 ? argv[optind + 1] : NULL, ls_one, &st, &c);
	if (cl->json) {
		json_arr_end(&st.j);
		fputc('\n', stdout);
	}
	rc = e ? cli_fail(cl, e, &c) : EXIT_OK;
out:
	snapshot_release(&s);
	repo_free(r);
	return rc;
}
