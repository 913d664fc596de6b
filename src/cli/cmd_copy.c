/* copy: snapshots from the repository of -r to another one. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void
print_text(const struct cli *cl, const char *to, const struct copy_result *res)
{
	char sent[32], stored[32], a[9], b[9];

	if (cl->quiet)
		return;
	for (size_t i = 0; i < res->n; i++) {
		cli_short_id(&res->from[i], a);
		cli_short_id(&res->to[i], b);
		printf("snapshot %s copied to %s as %s\n", a, to, b);
	}
	fmt_bytes(res->bytes_sent, sent, sizeof(sent));
	fmt_bytes(res->bytes_stored, stored, sizeof(stored));
	printf("snapshots: %llu copied, %llu already there\n",
	       (unsigned long long)res->snapshots_copied, (unsigned long long)res->snapshots_skipped);
	printf("blobs:     %llu sent (%llu trees), %llu already there\n",
	       (unsigned long long)res->blobs_sent, (unsigned long long)res->trees_sent,
	       (unsigned long long)res->blobs_skipped);
	printf("data:      %s sent, %s stored\n", sent, stored);
	printf("time:      %.2f s\n", res->seconds);
}

static void
print_json(const char *from, const char *to, const struct copy_result *res)
{
	struct json j;
	char hex[65];

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kv_str(&j, "from", from);
	json_kv_str(&j, "to", to);
	json_kv_uint(&j, "snapshots_copied", res->snapshots_copied);
	json_kv_uint(&j, "snapshots_skipped", res->snapshots_skipped);
	json_kv_uint(&j, "blobs_sent", res->blobs_sent);
	json_kv_uint(&j, "trees_sent", res->trees_sent);
	json_kv_uint(&j, "blobs_skipped", res->blobs_skipped);
	json_kv_uint(&j, "bytes_sent", res->bytes_sent);
	json_kv_uint(&j, "bytes_stored", res->bytes_stored);
	json_key(&j, "duration");
	json_double(&j, res->seconds);
	json_key(&j, "snapshots");
	json_arr_begin(&j);
	for (size_t i = 0; i < res->n; i++) {
		json_obj_begin(&j);
		hex_encode(res->from[i].b, MM_ID_LEN, hex);
		json_kv_str(&j, "source", hex);
		hex_encode(res->to[i].b, MM_ID_LEN, hex);
		json_kv_str(&j, "id", hex);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	fputc('\n', stdout);
}

int
cmd_copy(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "to-password-file", required_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct copy_opts o;
	struct copy_result res;
	struct repo *src = NULL, *dst = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	const char *to = NULL, *to_pwf = NULL;
	char *to_pw = NULL;
	int ch, e, rc;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': to = optarg; break;
		case 'P': to_pwf = optarg; break;
		case 'T': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (end == optarg || *end != '\0' || v < 0 || v > 256)
				return cli_usage(cl, "copy", "--threads takes a number from 0 to 256");
			o.threads = (unsigned)v;
			break;
		}
		default: return cli_usage(cl, "copy", "unknown option");
		}
	}
	if (to == NULL)
		return cli_usage(cl, "copy", "no target: give --to REPO2");
	o.snapshots = (const char *const *)argv + optind;
	o.nsnapshots = (size_t)(argc - optind);
	o.rep.warn = cli_warn;
	o.rep.progress = cl->progress ? cli_progress : NULL;
	o.rep.arg = cl;
	if ((rc = cli_open(cl, 1, 0, "copy", &src)) != 0)
		return rc;
	if ((e = cli_password_other(to_pwf, "MAMORI_TO_PASSWORD_FILE", to, &to_pw, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if ((rc = cli_open_at(cl, to, to_pw, 1, 0, "copy", &dst)) != 0)
		goto out;
	e = ops_copy(src, dst, &o, &res, &c);
	cli_progress_done(cl);
	if (e != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (cl->json)
		print_json(cl->repo, to, &res);
	else
		print_text(cl, to, &res);
	rc = EXIT_OK;
out:
	copy_result_release(&res);
	cli_password_free(to_pw);
	repo_free(dst);
	repo_free(src);
	return rc;
}
