/* What is kept between runs, locks per dataset, passwords, repositories. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "policy/policy.h"

/* Messages are cut at the end of their buffers on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static char *
state_path(const struct policy *p, const char *name, const char *ext)
{
	size_t n = strlen(p->state_dir) + strlen(name) + strlen(ext) + 2;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s/%s%s", p->state_dir, name, ext);
	return s;
}

int
policy_lock(const struct policy *p, const char *name, int *fd, struct mm_ctx *c)
{
	char *path = NULL;
	int f = -1, e;

	if ((e = mkdir_p(p->state_dir, 0700, c)) != 0)
		return mm_prefix(c, e, "state folder %s", p->state_dir);
	if ((path = state_path(p, name, ".lock")) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if ((f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		e = mm_fail_errno(c, errno, "cannot open %s", path);
		goto out;
	}
	if (flock(f, LOCK_EX | LOCK_NB) != 0) {
		e = errno == EWOULDBLOCK
			    ? mm_fail(c, MM_EBUSY, "dataset %s: a run is already in progress "
				      "(%s is locked)", name, path)
			    : mm_fail_errno(c, errno, "cannot lock %s", path);
		close(f);
		goto out;
	}
	*fd = f;
	e = 0;
out:
	free(path);
	return e;
}

int
policy_state_read(const struct policy *p, const char *name, struct policy_state *st,
		  struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	char *path = state_path(p, name, ".state"), *line;
	int e;

	memset(st, 0, sizeof(*st));
	if (path == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if ((e = file_read_all(path, 64 * 1024, &b, c)) != 0) {
		if (e == MM_ENOENT) {
			c->msg[0] = '\0';
			e = 0;
		}
		goto out;
	}
	if ((e = buf_append_u8(&b, '\0')) != 0)
		goto out;
	for (line = (char *)b.data; line != NULL && *line != '\0';) {
		char *nl = strchr(line, '\n'), *eq;
		const char *k = line, *v;

		if (nl != NULL)
			*nl = '\0';
		if ((eq = strchr(line, '=')) != NULL) {
			*eq = '\0';
			v = eq + 1;
			if (strcmp(k, "backup_ns") == 0) st->backup_ns = strtoll(v, NULL, 10);
			else if (strcmp(k, "backup_ok") == 0) st->backup_ok = strcmp(v, "1") == 0;
			else if (strcmp(k, "backup_snapshot") == 0)
				snprintf(st->backup_snapshot, sizeof(st->backup_snapshot), "%s", v);
			else if (strcmp(k, "check_ns") == 0) st->check_ns = strtoll(v, NULL, 10);
			else if (strcmp(k, "check_ok") == 0) st->check_ok = strcmp(v, "1") == 0;
			else if (strcmp(k, "copy_ns") == 0) st->copy_ns = strtoll(v, NULL, 10);
			else if (strcmp(k, "copy_ok") == 0) st->copy_ok = strcmp(v, "1") == 0;
			else if (strcmp(k, "forget_ns") == 0) st->forget_ns = strtoll(v, NULL, 10);
			else if (strcmp(k, "forget_ok") == 0) st->forget_ok = strcmp(v, "1") == 0;
			else if (strcmp(k, "prune_pending") == 0) st->prune_pending = strcmp(v, "1") == 0;
			else if (strcmp(k, "error") == 0) snprintf(st->error, sizeof(st->error), "%s", v);
		}
		line = nl ? nl + 1 : NULL;
	}
out:
	buf_release(&b);
	free(path);
	return e;
}

int
policy_state_write(const struct policy *p, const char *name, const struct policy_state *st,
		   struct mm_ctx *c)
{
	char text[2048], err[520];
	char *path;
	int n, e;

	/* one line per key: a newline in a message would end it */
	snprintf(err, sizeof(err), "%s", st->error);
	for (char *q = err; *q; q++)
		if (*q == '\n' || *q == '\r')
			*q = ' ';
	n = snprintf(text, sizeof(text),
		     "# mamori state of dataset %s; written by mamori run, do not edit\n"
		     "backup_ns=%" PRId64 "\nbackup_ok=%d\nbackup_snapshot=%s\n"
		     "check_ns=%" PRId64 "\ncheck_ok=%d\ncopy_ns=%" PRId64 "\ncopy_ok=%d\n"
		     "forget_ns=%" PRId64 "\nforget_ok=%d\nprune_pending=%d\nerror=%s\n",
		     name, st->backup_ns, st->backup_ok, st->backup_snapshot, st->check_ns,
		     st->check_ok, st->copy_ns, st->copy_ok, st->forget_ns, st->forget_ok,
		     st->prune_pending, err);
	if (n < 0 || (size_t)n >= sizeof(text))
		return mm_fail(c, MM_ELIMIT, "state too long");
	if ((e = mkdir_p(p->state_dir, 0700, c)) != 0)
		return mm_prefix(c, e, "state folder %s", p->state_dir);
	if ((path = state_path(p, name, ".state")) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	e = file_write_atomic(path, text, (size_t)n, 0600, c);
	free(path);
	return e;
}

static int
read_first_line(int fd, char **out, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	uint8_t tmp[512];
	ssize_t got;
	int e = 0;

	b.secret = 1;
	while ((got = read(fd, tmp, sizeof(tmp))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			e = mm_fail_errno(c, errno, "cannot read the password command's output");
			break;
		}
		if (b.len < 4096 && (e = buf_append(&b, tmp, (size_t)got)) != 0)
			break;
	}
	mm_wipe(tmp, sizeof(tmp));
	if (e == 0) {
		uint8_t *nl = b.len ? memchr(b.data, '\n', b.len) : NULL;
		if (nl)
			b.len = (size_t)(nl - b.data);
		if (b.len > 0 && b.data[b.len - 1] == '\r')
			b.len--;
		if (b.len == 0 || memchr(b.data, '\0', b.len) != NULL)
			e = mm_fail(c, MM_EINVAL, "the password command printed no password");
		else if ((e = buf_append_u8(&b, '\0')) == 0) {
			*out = (char *)b.data;
			return 0;
		}
	}
	buf_release(&b);
	return e;
}

int
policy_password(const struct policy_repo *pr, const char *fallback, char **out, struct mm_ctx *c)
{
	int e, fd = -1, pid, we;
	struct mm_ctx wc = MM_CTX_INIT;

	if (pr->password_file) {
		struct buf b = BUF_INIT;
		b.secret = 1;
		if ((e = file_read_all(pr->password_file, 4096, &b, c)) != 0)
			return mm_prefix(c, e, "repository %s: password file", pr->name);
		while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
			b.len--;
		if (b.len == 0 || memchr(b.data, '\0', b.len) != NULL) {
			buf_release(&b);
			return mm_fail(c, MM_EINVAL, "repository %s: password file %s is empty or holds "
				       "a NUL byte", pr->name, pr->password_file);
		}
		if ((e = buf_append_u8(&b, '\0')) != 0) {
			buf_release(&b);
			return mm_fail(c, e, "out of memory");
		}
		*out = (char *)b.data;
		return 0;
	}
	if (pr->password_command) {
		if ((e = proc_spawn(pr->password_command, &fd, &pid, c)) != 0)
			return mm_prefix(c, e, "repository %s: password-command", pr->name);
		e = read_first_line(fd, out, c);
		close(fd);
		we = proc_wait(pid, pr->password_command[0], &wc);
		if (e == 0 && we != 0) {
			mm_wipe(*out, strlen(*out));
			free(*out);
			*out = NULL;
			return mm_fail(c, we, "repository %s: password-command: %s", pr->name, wc.msg);
		}
		return e ? mm_prefix(c, e, "repository %s", pr->name) : 0;
	}
	if (fallback == NULL)
		return mm_fail(c, MM_EINVAL, "repository %s: no password: give it password-file or "
			       "password-command in the configuration, or set MAMORI_PASSWORD_FILE",
			       pr->name);
	if ((*out = strdup(fallback)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	return 0;
}

int
policy_open_repo(const struct policy_repo *pr, const char *fallback, int lock,
		 const char *command, struct repo **out, struct mm_ctx *c)
{
	struct repo *r = NULL;
	char *pw = NULL;
	int e;

	if ((e = policy_password(pr, fallback, &pw, c)) != 0)
		return e;
	/* this repository's backend options, and no other's */
	backend_options_clear();
	for (size_t i = 0; pr->options && pr->options[i] && e == 0; i++)
		if (strncmp(pr->options[i], "threads=", 8) != 0)
			e = backend_option_set(pr->options[i], c);
	if (e == 0)
		e = repo_open(pr->url, pw, &r, c);
	mm_wipe(pw, strlen(pw));
	free(pw);
	if (e != 0)
		return mm_prefix(c, e, "repository %s (%s)", pr->name, pr->url);
	if ((lock && (e = repo_lock(r, 0, command, c)) != 0) || (e = repo_load_index(r, c)) != 0) {
		repo_free(r);
		return mm_prefix(c, e, "repository %s", pr->name);
	}
	*out = r;
	return 0;
}

int
policy_last_snapshot(struct repo *r, const struct policy_dataset *d, struct snapshot *out,
		     struct mm_ctx *c)
{
	struct snapshot *v = NULL;
	char tag[128];
	size_t n = 0;
	int e, found = 0;

	snprintf(tag, sizeof(tag), POLICY_TAG_PREFIX "%s", d->name);
	if ((e = repo_snapshot_list(r, &v, &n, c)) != 0)
		return e;
	for (size_t i = n; i-- > 0 && !found;) {
		for (size_t j = 0; j < v[i].ntags; j++)
			if (strcmp(v[i].tags[j], tag) == 0) {
				*out = v[i];
				memset(&v[i], 0, sizeof(v[i])); /* transferred */
				found = 1;
				break;
			}
	}
	snapshot_list_free(v, n);
	return found;
}
