/* forget, prune, unlock: the commands that keep a repository in shape. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void
reasons_text(unsigned r, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < FORGET_REASONS && len < n; i++) {
		if (r & (1u << i)) {
			int w = snprintf(out + len, n - len, "%s%s", len ? ", " : "",
					 forget_reason_name(i));
			len += w > 0 ? (size_t)w : 0;
		}
	}
}

static void
print_forget_json(const struct forget_result *res, const struct forget_opts *o)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_bool(&j, "dry_run", o->dry_run);
	json_key(&j, "groups");
	json_arr_begin(&j);
	for (size_t g = 0; g < res->ngroups; g++) {
		const struct forget_group *gr = &res->groups[g];

		json_obj_begin(&j);
		if (gr->host)
			json_kv_str(&j, "host", gr->host);
		else
			json_kv_str(&j, "host", NULL);
		json_key(&j, "paths");
		if (gr->paths) {
			json_arr_begin(&j);
			for (size_t k = 0; k < gr->npaths; k++)
				json_str(&j, gr->paths[k]);
			json_arr_end(&j);
		} else {
			json_null(&j);
		}
		json_key(&j, "snapshots");
		json_arr_begin(&j);
		for (size_t k = 0; k < gr->n; k++) {
			const struct snapshot *s = &res->snaps[gr->members[k]];
			unsigned rs = res->reasons[gr->members[k]];
			char hex[65], sid[9], when[40];

			hex_encode(s->id.b, MM_ID_LEN, hex);
			cli_short_id(&s->id, sid);
			time_format_utc(s->time_ns, when, sizeof(when));
			json_obj_begin(&j);
			json_kv_str(&j, "id", hex);
			json_kv_str(&j, "short_id", sid);
			json_kv_str(&j, "time", when);
			json_kv_bool(&j, "keep", rs != 0);
			json_key(&j, "reasons");
			json_arr_begin(&j);
			for (unsigned i = 0; i < FORGET_REASONS; i++)
				if (rs & (1u << i))
					json_str(&j, forget_reason_name(i));
			json_arr_end(&j);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_kv_uint(&j, "kept", res->kept);
	json_kv_uint(&j, "removed", res->removed);
	json_obj_end(&j);
	fputc('\n', stdout);
}

static void
print_forget_text(const struct forget_result *res, const struct forget_opts *o)
{
	for (size_t g = 0; g < res->ngroups; g++) {
		const struct forget_group *gr = &res->groups[g];

		printf("%s", g ? "\n" : "");
		if (gr->host)
			printf("host %s", gr->host);
		if (gr->paths) {
			printf("%spaths", gr->host ? ", " : "");
			for (size_t k = 0; k < gr->npaths; k++)
				printf(" %s", gr->paths[k]);
		}
		if (!gr->host && !gr->paths)
			printf("all snapshots");
		printf(":\n");
		for (size_t k = 0; k < gr->n; k++) {
			const struct snapshot *s = &res->snaps[gr->members[k]];
			unsigned rs = res->reasons[gr->members[k]];
			char sid[9], when[32], why[128];

			cli_short_id(&s->id, sid);
			time_format_local(s->time_ns, when, sizeof(when));
			reasons_text(rs, why, sizeof(why));
			printf("  %-6s  %s  %s  %s\n", rs ? "keep" : "remove", sid, when, why);
		}
	}
	printf("%s%zu snapshot%s kept, %zu %s\n", res->ngroups ? "\n" : "", res->kept,
	       res->kept == 1 ? "" : "s", res->removed,
	       o->dry_run ? "would be removed (dry run)" : "removed");
}

static int
keep_count(struct cli *cl, const char *opt, const char *arg, int *out)
{
	if (forget_count_parse(arg, out) != 0)
		return cli_usage(cl, "forget", "%s takes a count from 0 to %d or 'unlimited'",
				 opt, FORGET_COUNT_MAX);
	return 0;
}

int
cmd_forget(struct cli *cl, int argc, char **argv)
{
	enum { O_LAST = 256, O_HOURLY, O_DAILY, O_WEEKLY, O_MONTHLY, O_YEARLY, O_WITHIN,
	       O_TAG, O_HOST, O_PATH, O_GROUP, O_DRY, O_NONE, O_PRUNE, O_MAXUNUSED,
	       O_MAXREPACK };
	static const struct option opts[] = {
		{ "keep-last", required_argument, NULL, O_LAST },
		{ "keep-hourly", required_argument, NULL, O_HOURLY },
		{ "keep-daily", required_argument, NULL, O_DAILY },
		{ "keep-weekly", required_argument, NULL, O_WEEKLY },
		{ "keep-monthly", required_argument, NULL, O_MONTHLY },
		{ "keep-yearly", required_argument, NULL, O_YEARLY },
		{ "keep-within", required_argument, NULL, O_WITHIN },
		{ "keep-tag", required_argument, NULL, O_TAG },
		{ "host", required_argument, NULL, O_HOST },
		{ "path", required_argument, NULL, O_PATH },
		{ "group-by", required_argument, NULL, O_GROUP },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "keep-none", no_argument, NULL, O_NONE },
		{ "prune", no_argument, NULL, O_PRUNE },
		{ "max-unused", required_argument, NULL, O_MAXUNUSED },
		{ "max-repack-size", required_argument, NULL, O_MAXREPACK },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_strv hosts = { 0 }, paths = { 0 };
	struct forget_opts o;
	struct forget_result res;
	struct prune_opts pa;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, e, rc = EXIT_OK, prune = 0;
	char *abs;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	o.group_by = FORGET_GROUP_HOST | FORGET_GROUP_PATHS;
	cli_prune_args_init(&pa);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		e = 0;
		switch (ch) {
		case O_LAST: rc = keep_count(cl, "--keep-last", optarg, &o.policy.last); break;
		case O_HOURLY: rc = keep_count(cl, "--keep-hourly", optarg, &o.policy.hourly); break;
		case O_DAILY: rc = keep_count(cl, "--keep-daily", optarg, &o.policy.daily); break;
		case O_WEEKLY: rc = keep_count(cl, "--keep-weekly", optarg, &o.policy.weekly); break;
		case O_MONTHLY: rc = keep_count(cl, "--keep-monthly", optarg, &o.policy.monthly); break;
		case O_YEARLY: rc = keep_count(cl, "--keep-yearly", optarg, &o.policy.yearly); break;
		case O_WITHIN:
			if (forget_duration_parse(optarg, &o.policy.within) != 0)
				rc = cli_usage(cl, "forget", "--keep-within takes a duration such as "
					       "1y6m, 14d, 36h or 2d12h");
			break;
		case O_TAG:
			if ((e = forget_policy_add_tag(&o.policy, optarg)) == MM_EINVAL)
				rc = cli_usage(cl, "forget", "--keep-tag takes a tag (or tags "
					       "joined by commas)");
			break;
		case O_HOST: e = cli_strv_add(&hosts, optarg); break;
		case O_PATH:
			/* Snapshots record absolute paths: match what backup stored. */
			if ((e = ops_abspath(optarg, &abs)) == 0 && (e = cli_strv_add(&paths, abs)) != 0)
				free(abs);
			break;
		case O_GROUP:
			if (forget_group_parse(optarg, &o.group_by) != 0)
				rc = cli_usage(cl, "forget", "--group-by takes host,paths, host, "
					       "paths or none");
			break;
		case O_DRY: o.dry_run = 1; break;
		case O_NONE: o.keep_none = 1; break;
		case O_PRUNE: prune = 1; break;
		case O_MAXUNUSED:
		case O_MAXREPACK:
			rc = cli_prune_arg(cl, "forget", ch == O_MAXUNUSED ? 'u' : 'R', optarg, &pa);
			break;
		default: rc = cli_usage(cl, "forget", "unknown option"); break;
		}
		if (e != 0 && rc == EXIT_OK)
			rc = cli_fail(cl, e, NULL);
		if (rc != EXIT_OK)
			goto out;
	}
	if (optind != argc) {
		rc = cli_usage(cl, "forget", "takes no arguments; choose snapshots with "
			       "--host and --path");
		goto out;
	}
	if (forget_policy_empty(&o.policy) && !o.keep_none) {
		fprintf(stderr, "%s forget: the policy keeps nothing, so every snapshot would "
			"be forgotten; give a --keep-* rule, or --keep-none if that is meant\n",
			cl->prog);
		rc = EXIT_NOPOLICY;
		goto out;
	}
	o.hosts = hosts.v;
	o.nhosts = hosts.n;
	o.paths = paths.v;
	o.npaths = paths.n;
	if ((rc = cli_open(cl, 1, 0, "forget", &r)) != 0)
		goto out;
	e = ops_forget(r, &o, &res, &c);
	if (cl->json)
		print_forget_json(&res, &o);
	else if (!cl->quiet && !cl->json)
		print_forget_text(&res, &o);
	if (e != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (prune && !o.dry_run) {
		/* The forget lock goes; prune takes its own (same kind). */
		repo_free(r);
		r = NULL;
		if (!cl->quiet && !cl->json)
			putchar('\n');
		rc = cli_run_prune(cl, &pa);
	}
out:
	forget_result_release(&res);
	forget_policy_release(&o.policy);
	repo_free(r);
	for (size_t i = 0; i < paths.n; i++)
		free((char *)paths.v[i]);
	free(paths.v);
	free(hosts.v);
	return rc;
}

struct unlock_report {
	const struct cli *cl;
	struct json j;
	size_t removed, kept;
};

static const char *
state_name(enum lock_state st)
{
	return st == LOCK_DEAD ? "dead" : st == LOCK_STALE ? "stale" : "live";
}

static void
unlock_one(void *arg, const struct lock_info *l, enum lock_state st, int removed)
{
	struct unlock_report *u = arg;
	int64_t age = (time_now_ns() - l->time_ns) / 1000000000;

	if (age < 0)
		age = 0;
	if (removed)
		u->removed++;
	else
		u->kept++;
	if (u->cl->json) {
		json_obj_begin(&u->j);
		json_kv_str(&u->j, "host", l->host);
		json_kv_str(&u->j, "user", l->user);
		json_kv_int(&u->j, "pid", l->pid);
		json_kv_str(&u->j, "command", l->command);
		json_kv_bool(&u->j, "exclusive", l->exclusive);
		json_kv_int(&u->j, "age_seconds", age);
		json_kv_str(&u->j, "state", state_name(st));
		json_kv_bool(&u->j, "removed", removed);
		json_obj_end(&u->j);
	} else if (!u->cl->quiet) {
		printf("%s %s lock of %s@%s pid %lld (%s), refreshed %lld min %lld s ago\n",
		       removed ? "removed" : "kept", state_name(st), l->user, l->host,
		       (long long)l->pid, l->command, (long long)(age / 60), (long long)(age % 60));
	}
}

int
cmd_unlock(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "remove-all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct unlock_report u;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, e, rc, all = 0;

	memset(&u, 0, sizeof(u));
	u.cl = cl;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'a')
			return cli_usage(cl, "unlock", "unknown option");
		all = 1;
	}
	if (optind != argc)
		return cli_usage(cl, "unlock", "takes no arguments");
	if ((rc = cli_open(cl, 0, 0, "unlock", &r)) != 0)
		return rc;
	if (cl->json) {
		json_init(&u.j, stdout);
		json_obj_begin(&u.j);
		json_key(&u.j, "locks");
		json_arr_begin(&u.j);
	}
	e = repo_remove_locks(r, all, unlock_one, &u, &c);
	if (cl->json) {
		json_arr_end(&u.j);
		json_kv_uint(&u.j, "removed", u.removed);
		json_kv_uint(&u.j, "kept", u.kept);
		json_obj_end(&u.j);
		fputc('\n', stdout);
	} else if (!cl->quiet) {
		printf("%zu lock%s removed, %zu live lock%s kept\n", u.removed,
		       u.removed == 1 ? "" : "s", u.kept, u.kept == 1 ? "" : "s");
	}
	rc = e ? cli_fail(cl, e, &c) : EXIT_OK;
	repo_free(r);
	return rc;
}

void
cli_prune_args_init(struct prune_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_unused_pct = 5;
}

int
cli_prune_arg(struct cli *cl, const char *cmd, int which, const char *arg, struct prune_opts *o)
{
	if (which == 'u' && prune_parse_limit(arg, &o->max_unused_pct, &o->max_unused_bytes) != 0)
		return cli_usage(cl, cmd, "--max-unused takes a percentage from 0%% to 99%% or a "
				 "size such as 500M or 2G");
	if (which == 'R' && prune_parse_size(arg, &o->max_repack_bytes) != 0)
		return cli_usage(cl, cmd, "--max-repack-size takes a size such as 500M or 2G");
	return 0;
}

/* MAMORI_TEST_PRUNE_TRACE=FILE appends each step to FILE;
 * MAMORI_TEST_PRUNE_KILL=N kills the process at step N (test suites). */
struct prune_hook {
	const char *trace;
	long kill_at;
	long n;
};

static void
prune_step(void *arg, const char *what)
{
	struct prune_hook *h = arg;
	FILE *f;

	h->n++;
	if (h->trace && (f = fopen(h->trace, "a")) != NULL) {
		fprintf(f, "%ld %s\n", h->n, what);
		fclose(f);
	}
	if (h->kill_at > 0 && h->n == h->kill_at)
		raise(SIGKILL);
}

static void
print_prune(const struct cli *cl, const struct prune_opts *o, const struct prune_result *p)
{
	char total[32], used[32], unused[32], freed[32], repacked[32], after[32];

	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_bool(&j, "dry_run", o->dry_run);
		json_kv_uint(&j, "snapshots", p->snapshots);
		json_kv_uint(&j, "new_snapshots", p->new_snapshots);
		json_kv_uint(&j, "packs", p->packs);
		json_kv_uint(&j, "blobs", p->blobs);
		json_kv_uint(&j, "blobs_used", p->blobs_used);
		json_kv_uint(&j, "bytes_total", p->bytes_total);
		json_kv_uint(&j, "bytes_used", p->bytes_used);
		json_kv_uint(&j, "bytes_unused", p->bytes_unused);
		json_kv_uint(&j, "packs_deleted", p->packs_delete);
		json_kv_uint(&j, "packs_repacked", p->packs_repack);
		json_kv_uint(&j, "packs_kept", p->packs_keep);
		json_kv_uint(&j, "packs_unindexed", p->packs_unindexed);
		json_kv_uint(&j, "packs_rescued", p->packs_rescued);
		json_kv_uint(&j, "bytes_freed", p->bytes_freed);
		json_kv_uint(&j, "bytes_repacked", p->bytes_repacked);
		json_kv_uint(&j, "bytes_unused_after", p->bytes_unused_after);
		json_kv_uint(&j, "index_objects_removed", p->index_removed);
		json_key(&j, "seconds");
		json_double(&j, p->seconds);
		json_key(&j, "seconds_exclusive");
		json_double(&j, p->seconds_exclusive);
		json_obj_end(&j);
		fputc('\n', stdout);
		return;
	}
	if (cl->quiet)
		return;
	fmt_bytes(p->bytes_total, total, sizeof(total));
	fmt_bytes(p->bytes_used, used, sizeof(used));
	fmt_bytes(p->bytes_unused, unused, sizeof(unused));
	fmt_bytes(p->bytes_freed, freed, sizeof(freed));
	fmt_bytes(p->bytes_repacked, repacked, sizeof(repacked));
	fmt_bytes(p->bytes_unused_after, after, sizeof(after));
	printf("%llu snapshots use %llu of %llu blobs: %s of %s in %llu packs used, %s unused\n",
	       (unsigned long long)p->snapshots, (unsigned long long)p->blobs_used,
	       (unsigned long long)p->blobs, used, total, (unsigned long long)p->packs, unused);
	printf("%s %llu packs, repack %llu (%s copied), keep %llu; %llu unindexed leftovers; "
	       "%s freed, %s unused left\n", o->dry_run ? "would delete" : "deleted",
	       (unsigned long long)p->packs_delete, (unsigned long long)p->packs_repack, repacked,
	       (unsigned long long)p->packs_keep, (unsigned long long)p->packs_unindexed, freed,
	       after);
	if (p->new_snapshots || p->packs_rescued)
		printf("%llu snapshots appeared while pruning; %llu packs kept for them\n",
		       (unsigned long long)p->new_snapshots, (unsigned long long)p->packs_rescued);
	if (!o->dry_run)
		printf("time: %.2f s, of which %.2f s with the repository locked exclusively\n",
		       p->seconds, p->seconds_exclusive);
}

int
cli_run_prune(struct cli *cl, struct prune_opts *o)
{
	struct prune_hook h = { getenv("MAMORI_TEST_PRUNE_TRACE"), 0, 0 };
	const char *k = getenv("MAMORI_TEST_PRUNE_KILL");
	struct prune_result res;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int e, rc;

	if (k != NULL)
		h.kill_at = strtol(k, NULL, 10);
	o->lock_wait_ns = cl->lock_wait_ns;
	o->step = prune_step;
	o->step_arg = &h;
	if ((rc = cli_open(cl, 1, 0, "prune", &r)) != 0)
		return rc;
	e = ops_prune(r, o, &res, &c);
	if (e != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	print_prune(cl, o, &res);
	rc = EXIT_OK;
out:
	repo_free(r);
	return rc;
}

int
cmd_prune(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-unused", required_argument, NULL, 'u' },
		{ "max-repack-size", required_argument, NULL, 'R' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct prune_opts o;
	int ch, rc;

	cli_prune_args_init(&o);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'n')
			o.dry_run = 1;
		else if (ch == 'u' || ch == 'R') {
			if ((rc = cli_prune_arg(cl, "prune", ch, optarg, &o)) != 0)
				return rc;
		} else
			return cli_usage(cl, "prune", "unknown option");
	}
	if (optind != argc)
		return cli_usage(cl, "prune", "takes no arguments");
	return cli_run_prune(cl, &o);
}
