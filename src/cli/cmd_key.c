/* key list|add|remove|passwd: one key per administrator. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char key_usage[] =
	"usage: mamori key list | key add [--key-name NAME] [--new-password-file FILE] | "
	"key remove ID [--force] | key passwd [--new-password-file FILE]";

/* Keys need no index and no lock: they never touch data. */
static int
key_open(struct cli *cl, struct repo **out)
{
	struct mm_ctx c = MM_CTX_INIT;
	int e;

	if (cl->repo == NULL)
		return cli_usage(cl, NULL, "no repository given: use -r REPO or set MAMORI_REPOSITORY");
	if ((e = cli_password(cl, 0, &c)) != 0 || (e = repo_open(cl->repo, cl->password, out, &c)) != 0)
		return cli_fail(cl, e, &c);
	return 0;
}

static int
fast_kdf(void)
{
	const char *fast = getenv("MAMORI_TEST_KDF");

	return fast != NULL && strcmp(fast, "1") == 0;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		mm_wipe(s, strlen(s));
		free(s);
	}
}

static int
key_list(struct cli *cl, int argc, char **argv)
{
	struct repo_key *v = NULL;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	size_t n = 0;
	int e, rc;

	if (argc != 1)
		return cli_usage(cl, "key list", "takes no arguments");
	if ((rc = key_open(cl, &r)) != 0)
		return rc;
	if ((e = repo_key_list(r, &v, &n, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (cl->json) {
		struct json j;
		char when[40];

		json_init(&j, stdout);
		json_arr_begin(&j);
		for (size_t i = 0; i < n; i++) {
			json_obj_begin(&j);
			json_kv_str(&j, "id", v[i].id);
			json_key(&j, "short_id");
			json_strn(&j, v[i].id, 8);
			json_kv_bool(&j, "in_use", v[i].in_use);
			json_kv_uint(&j, "version", v[i].version);
			if (v[i].has_meta) {
				time_format_utc(v[i].meta.created_ns, when, sizeof(when));
				json_kv_str(&j, "name", v[i].meta.name);
				json_kv_str(&j, "user", v[i].meta.user);
				json_kv_str(&j, "host", v[i].meta.host);
				json_kv_str(&j, "created", when);
				json_kv_int(&j, "created_ns", v[i].meta.created_ns);
			}
			json_obj_end(&j);
		}
		json_arr_end(&j);
		fputc('\n', stdout);
		goto out;
	}
	printf("  %-8s  %-19s  %-24s  %s\n", "ID", "Created", "Added by", "Name");
	for (size_t i = 0; i < n; i++) {
		char when[32] = "?", who[2 * REPO_NAME_MAX + 2] = "?";

		if (v[i].has_meta) {
			time_format_local(v[i].meta.created_ns, when, sizeof(when));
			snprintf(who, sizeof(who), "%s@%s", v[i].meta.user, v[i].meta.host);
		}
		printf("%c %.8s  %-19s  ", v[i].in_use ? '*' : ' ', v[i].id, when);
		cli_print_padded(stdout, who, 24);
		fputs("  ", stdout);
		if (v[i].has_meta)
			cli_print_name(stdout, (const uint8_t *)v[i].meta.name,
				       strlen(v[i].meta.name));
		else
			fputs("(version 1 key: described only to its own password)", stdout);
		fputc('\n', stdout);
	}
	printf("%zu key%s; * the key in use\n", n, n == 1 ? "" : "s");
out:
	repo_key_list_free(v, n);
	repo_free(r);
	return rc;
}

static int
key_add(struct cli *cl, int argc, char **argv, int passwd)
{
	static const struct option opts[] = {
		{ "key-name", required_argument, NULL, 'n' },
		{ "new-password-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = passwd ? "key passwd" : "key add";
	const char *name = NULL, *file = NULL;
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	char *pw = NULL, id[65], old[65];
	int ch, e, rc;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'n' && !passwd)
			name = optarg;
		else if (ch == 'p')
			file = optarg;
		else
			return cli_usage(cl, cmd, "unknown option");
	}
	if (optind != argc)
		return cli_usage(cl, cmd, "takes no arguments (the password is never one)");
	if ((rc = key_open(cl, &r)) != 0)
		return rc;
	if ((e = cli_new_password(cl, file, &pw, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	memcpy(old, r->key_name, sizeof(old));
	if (passwd)
		e = repo_key_passwd(r, pw, fast_kdf(), id, &c);
	else
		e = repo_key_add(r, pw, name, fast_kdf(), id, &c);
	if (e != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_str(&j, "id", id);
		if (passwd)
			json_kv_str(&j, "replaced", old);
		json_kv_str(&j, "name", passwd ? r->key_meta.name : name ? name : "");
		json_obj_end(&j);
		fputc('\n', stdout);
	} else if (!cl->quiet) {
		if (passwd)
			printf("password changed: key %.8s replaces key %.8s\n", id, old);
		else
			printf("added key %.8s\n", id);
	}
out:
	free_secret(pw);
	repo_free(r);
	return rc;
}

static int
key_remove(struct cli *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;
	int ch, e, rc, force = 0;
	char id[65];

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'f')
			return cli_usage(cl, "key remove", "unknown option");
		force = 1;
	}
	if (optind + 1 != argc)
		return cli_usage(cl, "key remove", "which key? mamori key remove ID");
	if ((rc = key_open(cl, &r)) != 0)
		return rc;
	if ((e = repo_key_remove(r, argv[optind], force, id, &c)) != 0) {
		rc = cli_fail(cl, e, &c);
		goto out;
	}
	if (cl->json) {
		struct json j;
		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_str(&j, "removed", id);
		json_obj_end(&j);
		fputc('\n', stdout);
	} else if (!cl->quiet) {
		printf("removed key %.8s\n", id);
	}
out:
	repo_free(r);
	return rc;
}

int
cmd_key(struct cli *cl, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "list") == 0)
		return key_list(cl, argc - 1, argv + 1);
	if (strcmp(sub, "add") == 0)
		return key_add(cl, argc - 1, argv + 1, 0);
	if (strcmp(sub, "passwd") == 0)
		return key_add(cl, argc - 1, argv + 1, 1);
	if (strcmp(sub, "remove") == 0)
		return key_remove(cl, argc - 1, argv + 1);
	return cli_usage(cl, "key", "%s", key_usage);
}
