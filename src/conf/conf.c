/*
 * The configuration file: libinih reads the INI syntax, this file checks
 * every section and key against the schema the modules registered.
 *
 * inih is used through ini_parse_stream with our own line reader: the
 * reader counts lines (Debian's libinih is built without line numbers in
 * the handler), notices section headers (so empty and repeated sections
 * are seen) and continuation lines (so they extend the value before them
 * rather than looking like a repeated key).
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int
conf_schema_add(struct conf_schema *s, const struct conf_kind *k)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->kinds[i]->name, k->name) == 0)
			return MM_EEXIST;
	if (s->n == CONF_KINDS_MAX)
		return MM_ELIMIT;
	s->kinds[s->n++] = k;
	return 0;
}

static void
value_release(struct conf_value *v)
{
	free(v->raw);
	conf_argv_free(v->argv);
}

void
conf_release(struct conf *cf)
{
	for (size_t i = 0; i < cf->nsecs; i++) {
		struct conf_section *s = &cf->secs[i];
		for (size_t j = 0; j < s->nvals; j++)
			value_release(&s->vals[j]);
		free(s->vals);
		free(s->name);
	}
	free(cf->secs);
	free(cf->path);
	memset(cf, 0, sizeof(*cf));
}

const struct conf_value *
conf_get(const struct conf_section *sec, const char *key)
{
	for (size_t i = 0; i < sec->nvals; i++)
		if (strcmp(sec->vals[i].key->name, key) == 0)
			return &sec->vals[i];
	return NULL;
}

const struct conf_section *
conf_find(const struct conf *cf, const char *kind, const char *name)
{
	for (size_t i = 0; i < cf->nsecs; i++) {
		const struct conf_section *s = &cf->secs[i];
		if (strcmp(s->kind->name, kind) != 0)
			continue;
		if ((name == NULL && s->name == NULL) ||
		    (name != NULL && s->name != NULL && strcmp(name, s->name) == 0))
			return s;
	}
	return NULL;
}

struct loader {
	const struct conf_schema *schema;
	const char *fname;
	struct conf *cf;
	struct mm_ctx *c;
	int err;
	/* the reader's view */
	const char *text;
	size_t off;
	unsigned line;
	int line_is_cont;  /* the line read last continues the value before it */
	int last_was_key;  /* the last non-blank line was key = value or its continuation */
	/* the current section: index into cf->secs, or -1 */
	long cur;
	int cur_bad;       /* the current section is in error: skip its keys */
};

static int
fail_at(struct loader *l, unsigned line, const char *fmt, ...) MM_PRINTF(3, 4);

static int
fail_at(struct loader *l, unsigned line, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	if (l->err != 0)
		return 0; /* the first error is the one reported */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->err = mm_fail(l->c, MM_ECONFIG, "%s:%u: %s", l->fname, line, msg);
	return 0;
}

static void
kinds_list(const struct conf_schema *s, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->n && len < n; i++) {
		int w = snprintf(out + len, n - len, "%s[%s%s]", i ? ", " : "", s->kinds[i]->name,
				 s->kinds[i]->named ? " NAME" : "");
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static void
keys_list(const struct conf_kind *k, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < k->nkeys && len < n; i++) {
		int w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", k->keys[i].name);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONF_NAME_MAX || s[0] == '.' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

/* A section header "[KIND NAME]" as the reader saw it. */
static void
section_begin(struct loader *l, const char *hdr)
{
	char kind[300], rest[300];
	const struct conf_kind *k = NULL;
	struct conf_section *ns;
	const char *sp;
	char expected[600];

	l->cur = -1;
	l->cur_bad = 1;
	sp = strpbrk(hdr, " \t");
	if (strlen(hdr) >= sizeof(rest)) {
		fail_at(l, l->line, "section header too long");
		return;
	}
	if (sp == NULL) {
		snprintf(kind, sizeof(kind), "%s", hdr);
		rest[0] = '\0';
	} else {
		snprintf(kind, sizeof(kind), "%.*s", (int)(sp - hdr), hdr);
		while (*sp == ' ' || *sp == '\t')
			sp++;
		snprintf(rest, sizeof(rest), "%s", sp);
		for (size_t n = strlen(rest); n > 0 && (rest[n - 1] == ' ' || rest[n - 1] == '\t');)
			rest[--n] = '\0';
	}
	for (size_t i = 0; i < l->schema->n; i++)
		if (strcmp(l->schema->kinds[i]->name, kind) == 0)
			k = l->schema->kinds[i];
	if (k == NULL) {
		kinds_list(l->schema, expected, sizeof(expected));
		fail_at(l, l->line, "unknown section [%s]; expected one of: %s", hdr, expected);
		return;
	}
	if (k->named && rest[0] == '\0') {
		fail_at(l, l->line, "section [%s] needs a name: [%s NAME]", kind, kind);
		return;
	}
	if (!k->named && rest[0] != '\0') {
		fail_at(l, l->line, "section [%s] takes no name: write [%s]", hdr, kind);
		return;
	}
	if (k->named && !name_ok(rest)) {
		fail_at(l, l->line, "bad name '%s' in [%s]: use 1 to %d letters, digits, '.', "
			"'_' or '-', not starting with '.' or '-'", rest, hdr, CONF_NAME_MAX);
		return;
	}
	for (size_t i = 0; i < l->cf->nsecs; i++) {
		const struct conf_section *s = &l->cf->secs[i];
		if (s->kind == k && ((s->name == NULL && !k->named) ||
				     (s->name != NULL && strcmp(s->name, rest) == 0))) {
			fail_at(l, l->line, "duplicate section [%s] (first at line %u); "
				"each section may appear once", hdr, s->line);
			return;
		}
	}
	if ((ns = realloc(l->cf->secs, (l->cf->nsecs + 1) * sizeof(*ns))) == NULL) {
		l->err = mm_fail(l->c, MM_ENOMEM, "out of memory");
		return;
	}
	l->cf->secs = ns;
	ns = &ns[l->cf->nsecs];
	memset(ns, 0, sizeof(*ns));
	ns->kind = k;
	ns->line = l->line;
	if (k->named && (ns->name = strdup(rest)) == NULL) {
		l->err = mm_fail(l->c, MM_ENOMEM, "out of memory");
		return;
	}
	l->cur = (long)l->cf->nsecs++;
	l->cur_bad = 0;
}

static char *
reader(char *str, int num, void *stream)
{
	struct loader *l = stream;
	const char *p = l->text + l->off, *nl;
	size_t len;
	const char *q;

	if (*p == '\0')
		return NULL;
	nl = strchr(p, '\n');
	len = nl ? (size_t)(nl - p) + 1 : strlen(p);
	l->off += len;
	l->line++;
	if (len >= (size_t)num) {
		fail_at(l, l->line, "line too long (at most %d characters)", num - 2);
		/* give inih an empty line: nothing of the long one is used */
		str[0] = '\n';
		str[1] = '\0';
		l->line_is_cont = 0;
		return str;
	}
	memcpy(str, p, len);
	str[len] = '\0';
	q = str;
	l->line_is_cont = 0;
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q == '\0' || *q == '\n' || *q == '\r' || *q == '#' || *q == ';') {
		if (*q != '#' && *q != ';')
			l->last_was_key = 0;
		return str;
	}
	if (q != str && l->last_was_key) {
		l->line_is_cont = 1;
		return str;
	}
	if (*q == '[') {
		const char *end = strchr(q, ']');
		l->last_was_key = 0;
		if (end != NULL) {
			char hdr[300];
			const char *a = q + 1;
			size_t n;

			while (*a == ' ' || *a == '\t')
				a++;
			n = (size_t)(end - a);
			while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
				n--;
			if (n >= sizeof(hdr))
				n = sizeof(hdr) - 1;
			memcpy(hdr, a, n);
			hdr[n] = '\0';
			section_begin(l, hdr);
		}
		return str;
	}
	l->last_was_key = 1;
	return str;
}

static int
parse_value(struct loader *l, struct conf_value *v, const char *where)
{
	const struct conf_key *k = v->key;
	char err[600] = "";
	int e = 0;

	switch (k->type) {
	case CONF_STRING:
		break;
	case CONF_INT:
		e = conf_parse_int(v->raw, k->min, k->max, &v->i, err, sizeof(err));
		break;
	case CONF_DURATION:
		e = conf_parse_duration(v->raw, &v->i, err, sizeof(err));
		break;
	case CONF_SIZE:
		e = conf_parse_size(v->raw, &v->u, err, sizeof(err));
		break;
	case CONF_PERCENT:
		e = conf_parse_percent(v->raw, &v->d, err, sizeof(err));
		break;
	case CONF_LIST:
	case CONF_COMMAND:
		e = conf_split_argv(v->raw, &v->argv, &v->argc, err, sizeof(err));
		if (e == 0 && k->type == CONF_COMMAND && v->argc == 0) {
			snprintf(err, sizeof(err), "empty command");
			e = MM_EINVAL;
		}
		break;
	case CONF_CALENDAR:
		e = conf_calendar_parse(v->raw, &v->cal, err, sizeof(err));
		break;
	}
	if (e == 0 && k->check != NULL)
		e = k->check(v, err, sizeof(err));
	if (e == MM_ENOMEM)
		return l->err = mm_fail(l->c, MM_ENOMEM, "out of memory");
	if (e != 0)
		fail_at(l, v->line, "%s in %s: %s", k->name, where, err);
	return e;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct loader *l = user;
	struct conf_section *s;
	const struct conf_key *k = NULL;
	struct conf_value *nv;
	char where[200], expected[700];

	if (l->err != 0)
		return 1;
	if (l->cur < 0) {
		if (!l->cur_bad)
			fail_at(l, l->line, "'%s' outside of any section; put it under a "
				"section header such as [dataset NAME]", name);
		return 1;
	}
	if (l->cur_bad)
		return 1;
	s = &l->cf->secs[l->cur];
	if (s->name)
		snprintf(where, sizeof(where), "[%s %s]", s->kind->name, s->name);
	else
		snprintf(where, sizeof(where), "[%s]", s->kind->name);
	if (l->line_is_cont && s->nvals > 0 && strcmp(s->vals[s->nvals - 1].key->name, name) == 0) {
		struct conf_value *last = &s->vals[s->nvals - 1];
		size_t a = strlen(last->raw), b = strlen(value);
		char *nr = realloc(last->raw, a + b + 2);

		if (nr == NULL)
			return l->err = mm_fail(l->c, MM_ENOMEM, "out of memory"), 1;
		nr[a] = ' ';
		memcpy(nr + a + 1, value, b + 1);
		last->raw = nr;
		conf_argv_free(last->argv);
		last->argv = NULL;
		(void)parse_value(l, last, where);
		return 1;
	}
	for (size_t i = 0; i < s->kind->nkeys; i++)
		if (strcmp(s->kind->keys[i].name, name) == 0)
			k = &s->kind->keys[i];
	if (k == NULL) {
		keys_list(s->kind, expected, sizeof(expected));
		fail_at(l, l->line, "unknown key '%s' in %s; expected one of: %s", name, where,
			expected);
		return 1;
	}
	for (size_t i = 0; i < s->nvals; i++)
		if (s->vals[i].key == k) {
			fail_at(l, l->line, "duplicate key '%s' in %s (first at line %u); "
				"give each key once", name, where, s->vals[i].line);
			return 1;
		}
	if (value[0] == '\0') {
		fail_at(l, l->line, "%s in %s: empty value; expected %s", name, where,
			k->expect ? k->expect : "a value");
		return 1;
	}
	if ((nv = realloc(s->vals, (s->nvals + 1) * sizeof(*nv))) == NULL)
		return l->err = mm_fail(l->c, MM_ENOMEM, "out of memory"), 1;
	s->vals = nv;
	nv = &nv[s->nvals];
	memset(nv, 0, sizeof(*nv));
	nv->key = k;
	nv->line = l->line;
	if ((nv->raw = strdup(value)) == NULL)
		return l->err = mm_fail(l->c, MM_ENOMEM, "out of memory"), 1;
	s->nvals++;
	(void)parse_value(l, nv, where);
	return 1;
}

static int
check_required(struct loader *l)
{
	for (size_t i = 0; i < l->cf->nsecs && l->err == 0; i++) {
		const struct conf_section *s = &l->cf->secs[i];
		for (size_t j = 0; j < s->kind->nkeys; j++) {
			const struct conf_key *k = &s->kind->keys[j];
			if (k->required && conf_get(s, k->name) == NULL) {
				if (s->name)
					fail_at(l, s->line, "[%s %s] lacks the key '%s' (%s)",
						s->kind->name, s->name, k->name,
						k->expect ? k->expect : "required");
				else
					fail_at(l, s->line, "[%s] lacks the key '%s' (%s)",
						s->kind->name, k->name, k->expect ? k->expect : "required");
				break;
			}
		}
	}
	return l->err;
}

int
conf_load_string(const struct conf_schema *schema, const char *name, const char *text,
		 struct conf *out, struct mm_ctx *c)
{
	struct loader l;
	struct conf cf = CONF_INIT;
	int r;

	memset(&l, 0, sizeof(l));
	l.schema = schema;
	l.fname = name;
	l.cf = &cf;
	l.c = c;
	l.text = text;
	l.cur = -1;
	if ((cf.path = strdup(name)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	r = ini_parse_stream(reader, &l, handler, &l);
	if (l.err == 0 && r > 0)
		fail_at(&l, (unsigned)r, "syntax error; expected [SECTION], KEY = VALUE, "
			"or a comment starting with # or ;");
	else if (l.err == 0 && r != 0)
		l.err = mm_fail(c, MM_ENOMEM, "cannot parse %s (out of memory)", name);
	if (l.err == 0)
		(void)check_required(&l);
	if (l.err != 0) {
		conf_release(&cf);
		return l.err;
	}
	*out = cf;
	return 0;
}

int
conf_load(const struct conf_schema *s, const char *path, struct conf *out, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	int r;

	if ((r = file_read_all(path, CONF_FILE_MAX, &b, c)) != 0)
		return mm_prefix(c, r, "configuration file");
	if ((r = buf_append_u8(&b, '\0')) != 0)
		goto out;
	if (memchr(b.data, '\0', b.len - 1) != NULL) {
		r = mm_fail(c, MM_ECONFIG, "%s: holds a NUL byte; is it a text file?", path);
		goto out;
	}
	r = conf_load_string(s, path, (const char *)b.data, out, c);
out:
	buf_release(&b);
	return r;
}
