/* A streaming JSON writer that always produces valid JSON text. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

#define JSON_MAX_DEPTH ((int)sizeof(((struct json *)0)->first) - 1)

void
json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = 1;
}

/* Index into first[]; nesting deeper than JSON_MAX_DEPTH shares the last
 * slot (commas may then be misplaced, but memory is never overrun). */
static int
slot(const struct json *j)
{
	if (j->depth < 0)
		return 0;
	return j->depth > JSON_MAX_DEPTH ? JSON_MAX_DEPTH : j->depth;
}

/* Before any value or key: the comma between elements of a container. */
static void
sep(struct json *j)
{
	int d = slot(j);

	if (j->pending_key) {
		j->pending_key = 0; /* the value after "key": takes no comma */
		return;
	}
	if (!j->first[d] && j->depth > 0)
		fputc(',', j->f);
	j->first[d] = 0;
}

static void
open_container(struct json *j, int ch)
{
	sep(j);
	fputc(ch, j->f);
	j->depth++;
	j->first[slot(j)] = 1;
}

static void
close_container(struct json *j, int ch)
{
	fputc(ch, j->f);
	j->pending_key = 0;
	if (j->depth > 0)
		j->depth--;
}

void
json_obj_begin(struct json *j)
{
	open_container(j, '{');
}

void
json_obj_end(struct json *j)
{
	close_container(j, '}');
}

void
json_arr_begin(struct json *j)
{
	open_container(j, '[');
}

void
json_arr_end(struct json *j)
{
	close_container(j, ']');
}

/* Length of a well-formed UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_len(const uint8_t *s, size_t n)
{
	uint32_t cp, min;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void
write_escaped(FILE *f, const uint8_t *s, size_t n)
{
	size_t i = 0, len;
	uint8_t c;

	fputc('"', f);
	while (i < n) {
		c = s[i];
		if (c >= 0x80) {
			if ((len = utf8_len(s + i, n - i)) == 0) {
				fprintf(f, "\\u%04x", c); /* not UTF-8: keep the byte */
				i++;
			} else {
				fwrite(s + i, 1, len, f);
				i += len;
			}
			continue;
		}
		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
			break;
		}
		i++;
	}
	fputc('"', f);
}

void
json_key(struct json *j, const char *k)
{
	j->pending_key = 0;
	sep(j);
	write_escaped(j->f, (const uint8_t *)(k != NULL ? k : ""),
	    k != NULL ? strlen(k) : 0);
	fputc(':', j->f);
	j->pending_key = 1;
}

void
json_strn(struct json *j, const char *s, size_t n)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	sep(j);
	write_escaped(j->f, (const uint8_t *)s, n);
}

void
json_str(struct json *j, const char *s)
{
	json_strn(j, s, s != NULL ? strlen(s) : 0);
}

void
json_int(struct json *j, int64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRId64, v);
}

void
json_uint(struct json *j, uint64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRIu64, v);
}

/* %.9g; NaN and infinities have no JSON form and become null. */
void
json_double(struct json *j, double v)
{
	char num[64];
	size_t i;

	if (isnan(v) || isinf(v)) {
		json_null(j);
		return;
	}
	snprintf(num, sizeof(num), "%.9g", v);
	for (i = 0; num[i] != '\0'; i++) {
		if (num[i] == ',')
			num[i] = '.'; /* a locale's decimal comma */
	}
	sep(j);
	fputs(num, j->f);
}

void
json_bool(struct json *j, int v)
{
	sep(j);
	fputs(v ? "true" : "false", j->f);
}

void
json_null(struct json *j)
{
	sep(j);
	fputs("null", j->f);
}

void
json_kv_str(struct json *j, const char *k, const char *v)
{
	json_key(j, k);
	json_str(j, v);
}

void
json_kv_int(struct json *j, const char *k, int64_t v)
{
	json_key(j, k);
	json_int(j, v);
}

void
json_kv_uint(struct json *j, const char *k, uint64_t v)
{
	json_key(j, k);
	json_uint(j, v);
}

void
json_kv_bool(struct json *j, const char *k, int v)
{
	json_key(j, k);
	json_bool(j, v);
}
