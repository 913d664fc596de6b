/* Bounded growable buffers and the bounds-checked little-endian reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/util.h"

#define BUF_MIN_CAP 64

void
mm_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/* Frees what b holds (wiping it first if secret); keeps max and secret. */
void
buf_release(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL) {
		if (b->secret)
			mm_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	if (b->secret && b->data != NULL)
		mm_wipe(b->data, b->len);
	b->len = 0;
}

static size_t
buf_max(const struct buf *b)
{
	return b->max != 0 ? b->max : MM_BUF_DEFAULT_MAX;
}

int
buf_reserve(struct buf *b, size_t extra)
{
	size_t need, max = buf_max(b), ncap;
	uint8_t *n;

	if (extra > SIZE_MAX - b->len)
		return MM_ELIMIT;
	need = b->len + extra;
	if (need <= b->cap && b->data != NULL)
		return 0;
	if (need > max)
		return MM_ELIMIT;
	ncap = b->cap != 0 ? b->cap : BUF_MIN_CAP;
	while (ncap < need) {
		if (ncap > max / 2) {
			ncap = max;
			break;
		}
		ncap *= 2;
	}
	if (ncap > max)
		ncap = max;
	if (b->secret) {
		/* Never let realloc leave a stale copy of a secret behind. */
		if ((n = malloc(ncap)) == NULL)
			return MM_ENOMEM;
		if (b->data != NULL) {
			memcpy(n, b->data, b->len);
			mm_wipe(b->data, b->cap);
			free(b->data);
		}
	} else {
		if ((n = realloc(b->data, ncap)) == NULL)
			return MM_ENOMEM;
	}
	b->data = n;
	b->cap = ncap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	if ((r = buf_reserve(b, n)) != 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_append_u8(struct buf *b, uint8_t v)
{
	return buf_append(b, &v, 1);
}

int
buf_append_u16(struct buf *b, uint16_t v)
{
	uint8_t t[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return buf_append(b, t, sizeof(t));
}

int
buf_append_u32(struct buf *b, uint32_t v)
{
	uint8_t t[4];
	int i;

	for (i = 0; i < 4; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	return buf_append(b, t, sizeof(t));
}

int
buf_append_u64(struct buf *b, uint64_t v)
{
	uint8_t t[8];
	int i;

	for (i = 0; i < 8; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	return buf_append(b, t, sizeof(t));
}

int
buf_append_bytes16(struct buf *b, const void *p, size_t n)
{
	int r;

	if (n > UINT16_MAX)
		return MM_ELIMIT;
	if ((r = buf_reserve(b, 2 + n)) != 0)
		return r;
	if ((r = buf_append_u16(b, (uint16_t)n)) != 0)
		return r;
	return buf_append(b, p, n);
}

int
buf_append_bytes32(struct buf *b, const void *p, size_t n)
{
	int r;

	if (n > UINT32_MAX)
		return MM_ELIMIT;
	if (n > SIZE_MAX - 4)
		return MM_ELIMIT;
	if ((r = buf_reserve(b, 4 + n)) != 0)
		return r;
	if ((r = buf_append_u32(b, (uint32_t)n)) != 0)
		return r;
	return buf_append(b, p, n);
}

int
buf_append_str16(struct buf *b, const char *s)
{
	if (s == NULL)
		return buf_append_bytes16(b, NULL, 0);
	return buf_append_bytes16(b, s, strlen(s));
}

/*
 * Swaps data, len and cap; each buffer keeps its own max.  If either was
 * secret both become secret, so secret bytes are always wiped on release.
 */
void
buf_swap(struct buf *a, struct buf *b)
{
	uint8_t *d = a->data;
	size_t len = a->len, cap = a->cap;
	int secret = a->secret || b->secret;

	a->data = b->data;
	a->len = b->len;
	a->cap = b->cap;
	b->data = d;
	b->len = len;
	b->cap = cap;
	a->secret = b->secret = secret;
}

/* ---- reader ------------------------------------------------------------ */

void
rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p != NULL ? len : 0;
	r->off = 0;
	r->bad = 0;
}

const uint8_t *
rd_ptr(struct rd *r, size_t n)
{
	static const uint8_t empty[1];
	const uint8_t *p;

	if (r->bad || n > r->len - r->off) {
		r->bad = 1;
		return NULL;
	}
	if (r->p == NULL)
		return empty; /* n == 0 here: a valid zero-length view */
	p = r->p + r->off;
	r->off += n;
	return p;
}

void
rd_copy(struct rd *r, void *out, size_t n)
{
	const uint8_t *p = rd_ptr(r, n);

	if (n == 0)
		return;
	if (p == NULL)
		memset(out, 0, n);
	else
		memcpy(out, p, n);
}

uint8_t
rd_u8(struct rd *r)
{
	const uint8_t *p = rd_ptr(r, 1);

	return p != NULL ? p[0] : 0;
}

uint16_t
rd_u16(struct rd *r)
{
	const uint8_t *p = rd_ptr(r, 2);

	if (p == NULL)
		return 0;
	return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t
rd_u32(struct rd *r)
{
	const uint8_t *p = rd_ptr(r, 4);

	if (p == NULL)
		return 0;
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	    ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint64_t
rd_u64(struct rd *r)
{
	const uint8_t *p = rd_ptr(r, 8);
	uint64_t v = 0;
	int i;

	if (p == NULL)
		return 0;
	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static const uint8_t *
rd_bytes_len(struct rd *r, uint64_t len, size_t max, size_t *n)
{
	const uint8_t *p = NULL;

	if (n != NULL)
		*n = 0;
	if (r->bad)
		return NULL;
	if (len > max) {
		r->bad = 1;
		return NULL;
	}
	if ((p = rd_ptr(r, (size_t)len)) != NULL && n != NULL)
		*n = (size_t)len;
	return p;
}

const uint8_t *
rd_bytes16(struct rd *r, size_t max, size_t *n)
{
	uint16_t len = rd_u16(r);

	return rd_bytes_len(r, len, max, n);
}

const uint8_t *
rd_bytes32(struct rd *r, size_t max, size_t *n)
{
	uint32_t len = rd_u32(r);

	return rd_bytes_len(r, len, max, n);
}

/* On any failure (short input, over max, an embedded NUL, no memory)
 * returns NULL and marks r bad. */
char *
rd_str16(struct rd *r, size_t max)
{
	const uint8_t *p;
	size_t n;
	char *s;

	if ((p = rd_bytes16(r, max, &n)) == NULL)
		return NULL;
	if (n > 0 && memchr(p, '\0', n) != NULL) {
		r->bad = 1;
		return NULL;
	}
	if ((s = malloc(n + 1)) == NULL) {
		r->bad = 1;
		return NULL;
	}
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}
