/* The value parsers every module reading the configuration file shares. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

/* "'VALUE' what": the value quoted, then what is wrong and expected. */
static int
bad(char *err, size_t n, const char *what, const char *s)
{
	snprintf(err, n, "'%s' %s", s, what);
	return MM_EINVAL;
}

int
conf_parse_duration(const char *s, int64_t *out, char *err, size_t errsz)
{
	static const char expect[] =
		"is not a duration; expected a number with a unit s, m, h, d or w, "
		"such as 90s, 15m, 1h, 7d or 1h30m";
	const char *p = s;
	int64_t total = 0;

	if (*p == '\0')
		return bad(err, errsz, expect, s);
	while (*p != '\0') {
		int64_t v = 0, mul;

		if (*p < '0' || *p > '9')
			return bad(err, errsz, expect, s);
		while (*p >= '0' && *p <= '9') {
			if (v > INT64_C(1) << 40)
				return bad(err, errsz, "is too long for a duration", s);
			v = v * 10 + (*p++ - '0');
		}
		switch (*p++) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		case 'w': mul = 7 * 86400; break;
		default: return bad(err, errsz, expect, s);
		}
		total += v * mul;
		if (total > INT64_C(100) * 366 * 86400)
			return bad(err, errsz, "is too long for a duration (at most 100 years)", s);
	}
	*out = total;
	return 0;
}

void
conf_format_duration(int64_t secs, char *out, size_t n)
{
	static const struct { int64_t mul; char u; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t len = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	if (secs <= 0) {
		snprintf(out, n, "0s");
		return;
	}
	for (size_t i = 0; i < 4 && len < n; i++) {
		if (secs >= units[i].mul) {
			int w = snprintf(out + len, n - len, "%" PRId64 "%c", secs / units[i].mul,
					 units[i].u);
			if (w < 0)
				return;
			len += (size_t)w;
			secs %= units[i].mul;
		}
	}
}

int
conf_parse_size(const char *s, uint64_t *out, char *err, size_t errsz)
{
	static const char expect[] =
		"is not a size; expected a number with an optional unit K, M, G, T "
		"(KiB, MiB, ...: powers of 1024) or KB, MB, GB, TB (powers of 1000), such as 512M";
	char *end;
	double v, mul = 1;

	if (s[0] < '0' || s[0] > '9')
		return bad(err, errsz, expect, s);
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s)
		return bad(err, errsz, expect, s);
	if (*end != '\0') {
		static const char units[] = "KMGT";
		const char *u = strchr(units, *end);

		if (u == NULL || *end == '\0')
			return bad(err, errsz, expect, s);
		end++;
		if (strcmp(end, "") == 0 || strcmp(end, "iB") == 0)
			mul = pow(1024, (double)(u - units + 1));
		else if (strcmp(end, "B") == 0)
			mul = pow(1000, (double)(u - units + 1));
		else
			return bad(err, errsz, expect, s);
	}
	v *= mul;
	if (v >= 18e18)
		return bad(err, errsz, "is too large for a size", s);
	*out = (uint64_t)v;
	return 0;
}

int
conf_parse_percent(const char *s, double *out, char *err, size_t errsz)
{
	static const char expect[] =
		"is not a percentage; expected a number from 0 to 100 followed by %, such as 5%";
	char *end;
	double v;

	if ((s[0] < '0' || s[0] > '9'))
		return bad(err, errsz, expect, s);
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || strcmp(end, "%") != 0 || !(v >= 0 && v <= 100))
		return bad(err, errsz, expect, s);
	*out = v;
	return 0;
}

int
conf_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char *err, size_t errsz)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		snprintf(err, errsz, "'%s' is not a whole number from %" PRId64 " to %" PRId64,
			 s, min, max);
		return MM_EINVAL;
	}
	*out = v;
	return 0;
}

void
conf_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (size_t i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

static int
argv_push(char ***v, size_t *n, struct buf *w)
{
	char **nv;

	if (buf_append_u8(w, '\0') != 0 || (nv = realloc(*v, (*n + 2) * sizeof(char *))) == NULL)
		return MM_ENOMEM;
	*v = nv;
	nv[*n] = (char *)w->data;
	nv[++*n] = NULL;
	memset(w, 0, sizeof(*w));
	return 0;
}

int
conf_split_argv(const char *s, char ***argv, size_t *argc, char *err, size_t errsz)
{
	struct buf w = BUF_INIT;
	char **v = NULL;
	size_t n = 0;
	int inword = 0, e = 0;
	const char *p = s;

	if ((v = calloc(1, sizeof(char *))) == NULL)
		return MM_ENOMEM;
	while (*p != '\0' && e == 0) {
		char ch = *p++;

		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
			if (inword && (e = argv_push(&v, &n, &w)) != 0)
				break;
			inword = 0;
			continue;
		}
		inword = 1;
		if (ch == '\'') {
			const char *q = strchr(p, '\'');
			if (q == NULL) {
				snprintf(err, errsz, "unterminated single quote");
				e = MM_EINVAL;
				break;
			}
			/* '' is an empty word: make sure the buffer exists */
			if ((e = buf_reserve(&w, (size_t)(q - p) + 1)) != 0 ||
			    (e = buf_append(&w, p, (size_t)(q - p))) != 0)
				break;
			p = q + 1;
		} else if (ch == '"') {
			if ((e = buf_reserve(&w, 1)) != 0)
				break;
			while (*p != '\0' && *p != '"') {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				if ((e = buf_append_u8(&w, (uint8_t)*p++)) != 0)
					break;
			}
			if (e == 0 && *p != '"') {
				snprintf(err, errsz, "unterminated double quote");
				e = MM_EINVAL;
				break;
			}
			p++;
		} else if (ch == '\\') {
			if (*p == '\0') {
				snprintf(err, errsz, "a backslash at the end escapes nothing");
				e = MM_EINVAL;
				break;
			}
			e = buf_append_u8(&w, (uint8_t)*p++);
		} else if (strchr("|&<>$`()", ch) != NULL) {
			snprintf(err, errsz,
				 "'%c' is shell syntax, and commands run without a shell: quote it "
				 "('%c') if it is meant literally, or put the pipeline in a script", ch, ch);
			e = MM_EINVAL;
		} else {
			e = buf_append_u8(&w, (uint8_t)ch);
		}
	}
	if (e == 0 && inword)
		e = argv_push(&v, &n, &w);
	buf_release(&w);
	if (e != 0) {
		if (e == MM_ENOMEM)
			snprintf(err, errsz, "out of memory");
		conf_argv_free(v);
		return e;
	}
	*argv = v;
	*argc = n;
	return 0;
}
