/* The [repository NAME] and [dataset NAME] sections of the configuration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

/* Messages are cut at the end of their buffers on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static int
check_options(const struct conf_value *v, char *err, size_t n)
{
	for (size_t i = 0; i < v->argc; i++) {
		const char *o = v->argv[i];
		char e2[200];
		int64_t t;

		if (strncmp(o, "threads=", 8) == 0 && conf_parse_int(o + 8, 0, 256, &t, e2, sizeof(e2)) == 0)
			continue;
		/* the backend checks its own when it opens */
		if ((strncmp(o, "sftp.", 5) == 0 || strncmp(o, "s3.", 3) == 0) && strchr(o, '=') != NULL)
			continue;
		snprintf(err, n, "unknown option '%s'; expected threads=N (0 to 256) or a backend "
			 "option sftp.KEY=VALUE or s3.KEY=VALUE (as -o, docs/cli.md)", o);
		return MM_EINVAL;
	}
	return 0;
}

/* The retention in forget's configuration form (docs/cli.md, forget). */
static int
check_keep(const struct conf_value *v, char *err, size_t n)
{
	struct forget_policy fp = FORGET_POLICY_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	int e = forget_policy_parse(v->raw, &fp, &c);

	if (e == 0 && forget_policy_empty(&fp)) {
		snprintf(c.msg, sizeof(c.msg), "keeps nothing; give at least one rule with a count "
			 "above 0, such as 'hourly=24 daily=14 weekly=8 monthly=12 yearly=5'");
		e = MM_EINVAL;
	}
	forget_policy_release(&fp);
	if (e != 0)
		snprintf(err, n, "%s", c.msg);
	return e == MM_ENOMEM ? e : e != 0 ? MM_EINVAL : 0;
}

/* "weekly 5%": a calendar, then optionally the share of packs to read. */
static int
parse_check(const char *s, struct conf_calendar *cal, double *pct, char *err, size_t n)
{
	char cal_text[200];
	const char *sp = strrchr(s, ' ');
	size_t len = strlen(s);

	*pct = 0;
	if (len > 0 && s[len - 1] == '%') {
		const char *word = sp ? sp + 1 : s;
		if (sp == NULL) {
			snprintf(err, n, "'%s': expected a calendar and a share, such as 'weekly 5%%'", s);
			return MM_EINVAL;
		}
		if (conf_parse_percent(word, pct, err, n) != 0)
			return MM_EINVAL;
		len = (size_t)(sp - s);
	}
	if (len >= sizeof(cal_text)) {
		snprintf(err, n, "too long");
		return MM_EINVAL;
	}
	memcpy(cal_text, s, len);
	cal_text[len] = '\0';
	return conf_calendar_parse(cal_text, cal, err, n);
}

static int
check_check(const struct conf_value *v, char *err, size_t n)
{
	struct conf_calendar cal;
	double pct;

	return parse_check(v->raw, &cal, &pct, err, n);
}

static const struct conf_key repo_keys[] = {
	{ .name = "url", .type = CONF_STRING, .required = 1,
	  .expect = "where the repository is, such as /backup/repo" },
	{ .name = "password-file", .type = CONF_STRING },
	{ .name = "password-command", .type = CONF_COMMAND },
	{ .name = "options", .type = CONF_LIST, .check = check_options },
};
static const struct conf_kind repo_kind = {
	"repository", 1, repo_keys, sizeof(repo_keys) / sizeof(repo_keys[0]),
};

static const struct conf_key dataset_keys[] = {
	{ .name = "paths", .type = CONF_LIST },
	{ .name = "excludes", .type = CONF_LIST },
	{ .name = "command", .type = CONF_COMMAND },
	{ .name = "filename", .type = CONF_STRING },
	{ .name = "repository", .type = CONF_STRING, .required = 1,
	  .expect = "the name of a [repository NAME] section" },
	{ .name = "copy-to", .type = CONF_STRING },
	{ .name = "priority", .type = CONF_INT, .required = 1, .min = 1, .max = 1000,
	  .expect = "1 to 1000, 1 is restored first" },
	{ .name = "rpo", .type = CONF_DURATION, .required = 1,
	  .expect = "a duration such as 1h" },
	{ .name = "rto", .type = CONF_DURATION },
	{ .name = "schedule", .type = CONF_CALENDAR },
	{ .name = "keep", .type = CONF_STRING, .check = check_keep },
	{ .name = "check", .type = CONF_STRING, .check = check_check },
	{ .name = "pre", .type = CONF_COMMAND },
	{ .name = "post", .type = CONF_COMMAND },
};
static const struct conf_kind dataset_kind = {
	"dataset", 1, dataset_keys, sizeof(dataset_keys) / sizeof(dataset_keys[0]),
};

int
policy_register(struct conf_schema *s)
{
	int e;

	if ((e = conf_schema_add(s, &repo_kind)) != 0)
		return e;
	return conf_schema_add(s, &dataset_kind);
}

void
policy_release(struct policy *p)
{
	free(p->repos);
	free(p->ds);
	conf_release(&p->cf);
	p->repos = NULL;
	p->ds = NULL;
	p->nrepos = p->nds = 0;
}

static const char *
raw_of(const struct conf_section *s, const char *key)
{
	const struct conf_value *v = conf_get(s, key);
	return v ? v->raw : NULL;
}

static int
ds_cmp(const void *a, const void *b)
{
	const struct policy_dataset *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

static const struct policy_repo *
find_repo(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->nrepos; i++)
		if (strcmp(p->repos[i].name, name) == 0)
			return &p->repos[i];
	return NULL;
}

static int
repo_ref(struct policy *p, const struct conf_section *s, const char *key,
	 const struct policy_repo **out, struct mm_ctx *c)
{
	const struct conf_value *v = conf_get(s, key);
	char names[600];
	size_t len = 0;

	*out = NULL;
	if (v == NULL)
		return 0;
	if ((*out = find_repo(p, v->raw)) != NULL)
		return 0;
	names[0] = '\0';
	for (size_t i = 0; i < p->nrepos && len < sizeof(names); i++) {
		int w = snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
				 p->repos[i].name);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	if (p->nrepos == 0)
		return mm_fail(c, MM_ECONFIG, "%s:%u: %s in [dataset %s]: no [repository %s] in this "
			       "file; define one", p->cf.path, v->line, key, s->name, v->raw);
	return mm_fail(c, MM_ECONFIG, "%s:%u: %s in [dataset %s]: no [repository %s] in this file; "
		       "expected one of: %s", p->cf.path, v->line, key, s->name, v->raw, names);
}

static int
load_dataset(struct policy *p, const struct conf_section *s, struct policy_dataset *d,
	     struct mm_ctx *c)
{
	const struct conf_value *v;
	const char *f = p->cf.path;
	int e;

	memset(d, 0, sizeof(*d));
	d->name = s->name;
	d->line = s->line;
	if ((v = conf_get(s, "paths")) != NULL) {
		d->paths = (const char *const *)v->argv;
		d->npaths = v->argc;
	}
	if ((v = conf_get(s, "excludes")) != NULL) {
		d->excludes = (const char *const *)v->argv;
		d->nexcludes = v->argc;
	}
	if ((v = conf_get(s, "command")) != NULL)
		d->command = v->argv;
	if ((v = conf_get(s, "pre")) != NULL)
		d->pre = v->argv;
	if ((v = conf_get(s, "post")) != NULL)
		d->post = v->argv;
	d->filename = raw_of(s, "filename");
	if ((d->command == NULL) == (d->npaths == 0))
		return mm_fail(c, MM_ECONFIG, "%s:%u: [dataset %s] needs either paths (files and "
			       "folders) or command (a dump on standard output), not %s", f, s->line,
			       s->name, d->command ? "both" : "neither");
	if (d->filename && !d->command)
		return mm_fail(c, MM_ECONFIG, "%s:%u: filename in [dataset %s]: only a dataset with "
			       "a command has a filename", f, conf_get(s, "filename")->line, s->name);
	if (d->nexcludes && d->command)
		return mm_fail(c, MM_ECONFIG, "%s:%u: excludes in [dataset %s]: a dataset with a "
			       "command has no paths to exclude from", f, conf_get(s, "excludes")->line,
			       s->name);
	if (d->filename && (strchr(d->filename, '/') || strcmp(d->filename, ".") == 0 ||
			    strcmp(d->filename, "..") == 0 || strlen(d->filename) > 255))
		return mm_fail(c, MM_ECONFIG, "%s:%u: filename in [dataset %s]: '%s' must be a plain "
			       "file name (no '/')", f, conf_get(s, "filename")->line, s->name,
			       d->filename);
	if ((e = repo_ref(p, s, "repository", &d->repo, c)) != 0 ||
	    (e = repo_ref(p, s, "copy-to", &d->copy_to, c)) != 0)
		return e;
	if (d->copy_to == d->repo && d->copy_to != NULL)
		return mm_fail(c, MM_ECONFIG, "%s:%u: copy-to in [dataset %s]: the offsite copy must "
			       "go to another repository than '%s'", f, conf_get(s, "copy-to")->line,
			       s->name, d->repo->name);
	d->priority = conf_get(s, "priority")->i;
	d->rpo = conf_get(s, "rpo")->i;
	if (d->rpo <= 0)
		return mm_fail(c, MM_ECONFIG, "%s:%u: rpo in [dataset %s]: must be more than 0s", f,
			       conf_get(s, "rpo")->line, s->name);
	if ((v = conf_get(s, "rto")) != NULL)
		d->rto = v->i;
	if ((v = conf_get(s, "schedule")) != NULL) {
		d->has_schedule = 1;
		d->schedule = v->cal;
	}
	d->keep = raw_of(s, "keep");
	if ((v = conf_get(s, "check")) != NULL) {
		char err[600];
		d->has_check = 1;
		if (parse_check(v->raw, &d->check_when, &d->check_percent, err, sizeof(err)) != 0)
			return mm_fail(c, MM_ECONFIG, "%s:%u: check: %s", f, v->line, err);
	}
	return 0;
}

int
policy_load(const struct conf_schema *schema, const char *path, struct policy *out,
	    struct mm_ctx *c)
{
	struct policy p;
	size_t nr = 0, nd = 0;
	int others = 0;
	int e;

	memset(&p, 0, sizeof(p));
	p.state_dir = out->state_dir;
	p.clock = out->clock;
	if ((e = conf_load(schema, path, &p.cf, c)) != 0)
		return e;
	for (size_t i = 0; i < p.cf.nsecs; i++) {
		if (p.cf.secs[i].kind == &repo_kind)
			nr++;
		else if (p.cf.secs[i].kind == &dataset_kind)
			nd++;
	}
	p.repos = calloc(nr ? nr : 1, sizeof(*p.repos));
	p.ds = calloc(nd ? nd : 1, sizeof(*p.ds));
	if (p.repos == NULL || p.ds == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p.cf.nsecs; i++) {
		const struct conf_section *s = &p.cf.secs[i];
		struct policy_repo *r = &p.repos[p.nrepos];
		const struct conf_value *v;

		if (s->kind != &repo_kind)
			continue;
		r->name = s->name;
		r->line = s->line;
		r->url = raw_of(s, "url");
		r->password_file = raw_of(s, "password-file");
		if ((v = conf_get(s, "password-command")) != NULL)
			r->password_command = v->argv;
		if (r->password_file && r->password_command) {
			e = mm_fail(c, MM_ECONFIG, "%s:%u: [repository %s] has both password-file and "
				    "password-command; keep one", p.cf.path, v->line, s->name);
			goto out;
		}
		if ((v = conf_get(s, "options")) != NULL)
			r->options = v->argv;
		if (v != NULL)
			for (size_t j = 0; j < v->argc; j++)
				if (strncmp(v->argv[j], "threads=", 8) == 0)
					r->threads = (unsigned)strtoul(v->argv[j] + 8, NULL, 10);
		p.nrepos++;
	}
	for (size_t i = 0; i < p.cf.nsecs; i++) {
		if (p.cf.secs[i].kind != &dataset_kind)
			continue;
		if ((e = load_dataset(&p, &p.cf.secs[i], &p.ds[p.nds], c)) != 0)
			goto out;
		p.nds++;
	}
	/* A file of other modules' sections only (a monitoring agent's
	 * checks, say) has an empty policy; a policy file without a dataset
	 * is a mistake. */
	for (size_t i = 0; i < p.cf.nsecs && p.nds == 0; i++)
		if (p.cf.secs[i].kind != &dataset_kind && p.cf.secs[i].kind != &repo_kind)
			others = 1;
	if (p.nds == 0 && !others) {
		e = mm_fail(c, MM_ECONFIG, "%s: no [dataset NAME] section; the policy needs at least "
			    "one dataset", p.cf.path);
		goto out;
	}
	qsort(p.ds, p.nds, sizeof(*p.ds), ds_cmp);
	*out = p;
	return 0;
out:
	policy_release(&p);
	return e;
}

const struct policy_dataset *
policy_find(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->nds; i++)
		if (strcmp(p->ds[i].name, name) == 0)
			return &p->ds[i];
	return NULL;
}

int
policy_select(const struct policy *p, char *const *names, size_t nnames,
	      const struct policy_dataset **out, size_t *n, struct mm_ctx *c)
{
	*n = 0;
	for (size_t i = 0; i < nnames; i++)
		if (policy_find(p, names[i]) == NULL)
			return mm_fail(c, MM_ENOENT, "no dataset '%s' in %s", names[i], p->cf.path);
	for (size_t i = 0; i < p->nds; i++) {
		int want = nnames == 0;
		for (size_t j = 0; j < nnames && !want; j++)
			want = strcmp(names[j], p->ds[i].name) == 0;
		if (want)
			out[(*n)++] = &p->ds[i];
	}
	return 0;
}

int
policy_parse_time(const char *s, int64_t *ns)
{
	struct tm tm;
	const char *end;
	char *e2;

	if (s[0] == '@') {
		long long v;
		errno = 0;
		v = strtoll(s + 1, &e2, 10);
		if (errno || *e2 || e2 == s + 1)
			return MM_EINVAL;
		*ns = (int64_t)v * 1000000000;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0')
		return MM_EINVAL;
	*ns = (int64_t)timegm(&tm) * 1000000000;
	return 0;
}
