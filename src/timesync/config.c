/* The servers this host's time daemon is configured with. */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timesync/timesync.h"

#define CONF_MAX (1u << 20)

struct disc {
	const char *root;
	struct ts_result *r;
	unsigned files; /* chrony: files read, to bound include loops */
};

static void
rooted(const struct disc *d, const char *path, char *out, size_t n)
{
	if (d->root == NULL || strcmp(d->root, "/") == 0 || path[0] != '/')
		snprintf(out, n, "%s", path);
	else
		snprintf(out, n, "%s%s", d->root, path);
}

/* Next whitespace-separated word of *p (modified in place), or NULL. */
static char *
word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	w = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}

/* The next line of a NUL-terminated buffer (its newline replaced), or NULL. */
static char *
next_line(struct buf *b, size_t *start, unsigned *lineno)
{
	char *line, *nl;

	if (*start + 1 >= b->len)
		return NULL;
	line = (char *)b->data + *start;
	if ((nl = strchr(line, '\n')) != NULL)
		*nl = '\0';
	*start += strlen(line) + 1;
	(*lineno)++;
	return line;
}

static int chrony_file(struct disc *d, const char *path, int depth, struct mm_ctx *c);

static int
chrony_glob(struct disc *d, const char *pattern, int depth, struct mm_ctx *c)
{
	char full[1024];
	glob_t g;
	int e = 0;

	rooted(d, pattern, full, sizeof(full));
	if (glob(full, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc && e == 0; i++)
		e = chrony_file(d, g.gl_pathv[i], depth + 1, c);
	globfree(&g);
	return e;
}

/* Read one chrony file (path already rooted). */
static int
chrony_file(struct disc *d, const char *path, int depth, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	struct mm_ctx ig = MM_CTX_INIT;
	char *line;
	size_t start = 0;
	unsigned lineno = 0;
	int e = 0;

	if (depth > 4 || ++d->files > 256)
		return 0;
	if (file_read_all(path, CONF_MAX, &b, &ig) != 0 || buf_append_u8(&b, 0) != 0) {
		buf_release(&b);
		return 0;
	}
	while (e == 0 && (line = next_line(&b, &start, &lineno)) != NULL) {
		char *p = line, *kw, *arg, origin[1100], pat[1024];
		uint16_t port = 123;
		int pool;
		if ((kw = word(&p)) == NULL || kw[0] == '#' || kw[0] == '!' || kw[0] == ';' ||
		    kw[0] == '%')
			continue;
		if (strcmp(kw, "confdir") == 0 || strcmp(kw, "sourcedir") == 0) {
			const char *ext = kw[0] == 'c' ? "*.conf" : "*.sources";
			while ((arg = word(&p)) != NULL && e == 0) {
				snprintf(pat, sizeof(pat), "%s/%s", arg, ext);
				e = chrony_glob(d, pat, depth, c);
			}
			continue;
		}
		if (strcmp(kw, "include") == 0) {
			if ((arg = word(&p)) != NULL)
				e = chrony_glob(d, arg, depth, c);
			continue;
		}
		pool = strcmp(kw, "pool") == 0;
		if (!pool && strcmp(kw, "server") != 0 && strcmp(kw, "peer") != 0)
			continue;
		if ((arg = word(&p)) == NULL)
			continue;
		for (char *o = word(&p); o != NULL; o = word(&p)) {
			if (strcmp(o, "port") == 0) {
				char *v = word(&p), *end;
				long n = v ? strtol(v, &end, 10) : 0;
				if (v && *end == '\0' && n > 0 && n < 65536)
					port = (uint16_t)n;
			}
		}
		snprintf(origin, sizeof(origin), "%s:%u", path, lineno);
		e = ts_result_add(d->r, arg, port, pool, origin, c);
	}
	buf_release(&b);
	return e;
}

/* ntpd / ntpsec: server, pool, peer lines. */
static int
ntp_file(struct disc *d, const char *path, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	struct mm_ctx ig = MM_CTX_INIT;
	size_t start = 0;
	unsigned lineno = 0;
	int e = 0;

	if (file_read_all(path, CONF_MAX, &b, &ig) != 0 || buf_append_u8(&b, 0) != 0) {
		buf_release(&b);
		return 0;
	}
	char *line;

	while (e == 0 && (line = next_line(&b, &start, &lineno)) != NULL) {
		char *p = line, *kw, *arg;
		char origin[1100];
		if ((kw = word(&p)) == NULL || kw[0] == '#')
			continue;
		if (strcmp(kw, "server") != 0 && strcmp(kw, "pool") != 0 && strcmp(kw, "peer") != 0)
			continue;
		if ((arg = word(&p)) == NULL || strncmp(arg, "127.127.", 8) == 0)
			continue; /* refclock pseudo-addresses are not servers */
		snprintf(origin, sizeof(origin), "%s:%u", path, lineno);
		e = ts_result_add(d->r, arg, 123, kw[0] == 'p' && kw[1] == 'o', origin, c);
	}
	buf_release(&b);
	return e;
}

struct tsd {
	struct disc *d;
	const char *path;
	char ntp[4096];
	char fallback[4096];
};

static int
tsd_handler(void *user, const char *section, const char *name, const char *value)
{
	struct tsd *t = user;

	if (strcmp(section, "Time") != 0)
		return 1;
	if (strcmp(name, "NTP") == 0)
		snprintf(t->ntp, sizeof(t->ntp), "%s", value);
	else if (strcmp(name, "FallbackNTP") == 0)
		snprintf(t->fallback, sizeof(t->fallback), "%s", value);
	return 1;
}

/* systemd-timesyncd: NTP= (else FallbackNTP=) in [Time]. */
static int
timesyncd_file(struct disc *d, const char *path, struct mm_ctx *c)
{
	struct tsd t;
	char *p, *w, origin[1100];
	int e = 0;

	memset(&t, 0, sizeof(t));
	t.d = d;
	t.path = path;
	if (ini_parse(path, tsd_handler, &t) < 0)
		return 0;
	p = t.ntp[0] ? t.ntp : t.fallback;
	snprintf(origin, sizeof(origin), "%s (%s)", path, t.ntp[0] ? "NTP=" : "FallbackNTP=");
	while (e == 0 && (w = word(&p)) != NULL)
		e = ts_result_add(d->r, w, 123, 0, origin, c);
	return e;
}

int
ts_config_discover(const char *root, struct ts_result *r, struct mm_ctx *c)
{
	static const struct { const char *path; int kind; } files[] = {
		{ "/etc/chrony/chrony.conf", 0 },
		{ "/etc/chrony.conf", 0 },
		{ "/etc/ntpsec/ntp.conf", 1 },
		{ "/etc/ntp.conf", 1 },
		{ "/etc/systemd/timesyncd.conf", 2 },
	};
	struct disc d = { root, r, 0 };
	char path[1024];
	int e;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;
		rooted(&d, files[i].path, path, sizeof(path));
		if ((f = fopen(path, "r")) == NULL)
			continue;
		fclose(f);
		if (files[i].kind == 0)
			e = chrony_file(&d, path, 0, c);
		else if (files[i].kind == 1)
			e = ntp_file(&d, path, c);
		else
			e = timesyncd_file(&d, path, c);
		if (e != 0)
			return e;
		if (r->n > 0) {
			snprintf(r->config_file, sizeof(r->config_file), "%.500s", path);
			return 0;
		}
	}
	return mm_fail(c, MM_ENOSOURCE, "no time servers given and none configured in "
		       "/etc/chrony/chrony.conf, /etc/ntpsec/ntp.conf, /etc/ntp.conf or "
		       "/etc/systemd/timesyncd.conf: name a server, e.g. 'mamori time check "
		       "ntp.nict.jp'");
}
