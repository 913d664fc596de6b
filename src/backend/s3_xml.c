/*
 * s3_xml: the two S3 answers mamori reads, <Error> and <ListBucketResult>,
 * through expat. Elements are matched by local name (S3 puts them in its
 * namespace, some stores do not); text is gathered with a bound, so a
 * hostile body cannot make it grow.
 */
#include <expat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backend/s3_internal.h"

#define XML_DEPTH_MAX 16
#define XML_TEXT_MAX 2048

struct xml_state {
	XML_Parser p;
	int depth;
	char path[XML_DEPTH_MAX][32]; /* local names from the root, truncated */
	char text[XML_TEXT_MAX + 1];
	size_t tlen;
	int overflow; /* text longer than XML_TEXT_MAX */
	int bad;      /* structure mamori refuses */
	void (*end)(struct xml_state *x, const char *name);
	void *arg;
};

static const char *
local_name(const char *name)
{
	/* expat is created with a namespace separator of ' ': "URI name". */
	const char *sp = strrchr(name, ' ');

	return sp != NULL ? sp + 1 : name;
}

static void XMLCALL
on_start(void *ud, const char *name, const char **attrs)
{
	struct xml_state *x = ud;

	(void)attrs;
	if (x->depth >= XML_DEPTH_MAX) {
		x->bad = 1;
		XML_StopParser(x->p, XML_FALSE);
		return;
	}
	snprintf(x->path[x->depth], sizeof(x->path[0]), "%s", local_name(name));
	x->depth++;
	x->tlen = 0;
	x->overflow = 0;
	x->text[0] = '\0';
}

static void XMLCALL
on_end(void *ud, const char *name)
{
	struct xml_state *x = ud;

	x->text[x->tlen] = '\0';
	if (x->end != NULL)
		x->end(x, local_name(name));
	if (x->depth > 0)
		x->depth--;
	x->tlen = 0;
	x->overflow = 0;
}

static void XMLCALL
on_text(void *ud, const char *s, int len)
{
	struct xml_state *x = ud;
	size_t n = (size_t)len;

	if (n > XML_TEXT_MAX - x->tlen) {
		n = XML_TEXT_MAX - x->tlen;
		x->overflow = 1;
	}
	memcpy(x->text + x->tlen, s, n);
	x->tlen += n;
}

/* The parent of the element being closed (depth - 2), or "". */
static const char *
parent_name(const struct xml_state *x)
{
	return x->depth >= 2 ? x->path[x->depth - 2] : "";
}

/* Parse n bytes; 0 when the document is well formed and nothing was refused.
 * DTDs and entities are not needed by S3 answers: a document that declares
 * any is refused (no entity expansion, however small). */
static void XMLCALL
on_doctype(void *ud, const char *name, const char *sysid, const char *pubid, int internal)
{
	struct xml_state *x = ud;

	(void)name, (void)sysid, (void)pubid, (void)internal;
	x->bad = 1;
	XML_StopParser(x->p, XML_FALSE);
}

static int
xml_run(struct xml_state *x, const char *p, size_t n)
{
	int ok;

	if (n > INT_MAX)
		return -1;
	if ((x->p = XML_ParserCreateNS(NULL, ' ')) == NULL)
		return -1;
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, on_start, on_end);
	XML_SetCharacterDataHandler(x->p, on_text);
	XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
	ok = XML_Parse(x->p, p, (int)n, XML_TRUE) == XML_STATUS_OK;
	XML_ParserFree(x->p);
	x->p = NULL;
	return ok && !x->bad ? 0 : -1;
}

/* ---- <Error> ---------------------------------------------------------- */

static void
copy_text(char *dst, size_t cap, const struct xml_state *x)
{
	snprintf(dst, cap, "%s", x->text);
	/* Never carry control bytes into a message. */
	for (char *q = dst; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
}

static void
error_end(struct xml_state *x, const char *name)
{
	struct s3_error *e = x->arg;

	if (strcmp(parent_name(x), "Error") != 0)
		return;
	if (strcmp(name, "Code") == 0)
		copy_text(e->code, sizeof(e->code), x);
	else if (strcmp(name, "Message") == 0)
		copy_text(e->message, sizeof(e->message), x);
	else if (strcmp(name, "Region") == 0)
		copy_text(e->region, sizeof(e->region), x);
	else if (strcmp(name, "Endpoint") == 0)
		copy_text(e->endpoint, sizeof(e->endpoint), x);
}

void
s3_xml_error(const char *p, size_t n, struct s3_error *e)
{
	struct xml_state x;

	memset(e, 0, sizeof(*e));
	if (p == NULL || n == 0)
		return;
	memset(&x, 0, sizeof(x));
	x.end = error_end;
	x.arg = e;
	if (xml_run(&x, p, n) != 0)
		memset(e, 0, sizeof(*e)); /* half a body says nothing reliable */
}

/* ---- <ListBucketResult> --------------------------------------------- */

struct list_state {
	struct s3_list_page *page;
	struct s3_list_item cur;
	int have_key, have_size;
	int fail; /* MM_E* */
};

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v == ULLONG_MAX)
		return -1;
	*out = v;
	return 0;
}

static void
list_end(struct xml_state *x, const char *name)
{
	struct list_state *ls = x->arg;
	struct s3_list_page *pg = ls->page;
	const char *parent = parent_name(x);

	if (ls->fail != 0)
		return;
	if (strcmp(parent, "Contents") == 0) {
		if (strcmp(name, "Key") == 0) {
			if (x->overflow || x->tlen > S3_LIST_KEY_MAX) {
				ls->have_key = 0; /* not ours: far longer than any mamori key */
				return;
			}
			memcpy(ls->cur.key, x->text, x->tlen + 1);
			ls->have_key = 1;
		} else if (strcmp(name, "Size") == 0) {
			if (parse_u64(x->text, &ls->cur.size) != 0)
				ls->fail = MM_ECORRUPT;
			ls->have_size = 1;
		}
		return;
	}
	if (strcmp(name, "Contents") == 0 && strcmp(parent, "ListBucketResult") == 0) {
		if (ls->have_key && ls->have_size) {
			if (pg->n == pg->cap) {
				size_t ncap = pg->cap ? pg->cap * 2 : 256;
				struct s3_list_item *ni = realloc(pg->items, ncap * sizeof(*ni));
				if (ni == NULL) {
					ls->fail = MM_ENOMEM;
					return;
				}
				pg->items = ni;
				pg->cap = ncap;
			}
			pg->items[pg->n++] = ls->cur;
		}
		ls->have_key = ls->have_size = 0;
		return;
	}
	if (strcmp(parent, "ListBucketResult") != 0)
		return;
	if (strcmp(name, "IsTruncated") == 0) {
		pg->truncated = strcmp(x->text, "true") == 0;
	} else if (strcmp(name, "NextContinuationToken") == 0) {
		if (x->overflow) {
			ls->fail = MM_ECORRUPT;
			return;
		}
		free(pg->next_token);
		if ((pg->next_token = strdup(x->text)) == NULL)
			ls->fail = MM_ENOMEM;
	}
}

int
s3_xml_list(const char *p, size_t n, struct s3_list_page *page, struct mm_ctx *c)
{
	struct xml_state x;
	struct list_state ls;

	memset(&x, 0, sizeof(x));
	memset(&ls, 0, sizeof(ls));
	ls.page = page;
	x.end = list_end;
	x.arg = &ls;
	if (xml_run(&x, p, n) != 0 && ls.fail == 0)
		ls.fail = MM_ECORRUPT;
	if (ls.fail == MM_ENOMEM)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if (ls.fail != 0)
		return mm_fail(c, MM_ECORRUPT, "the object store's listing is not a "
			       "ListObjectsV2 answer mamori can read");
	if (page->truncated && (page->next_token == NULL || page->next_token[0] == '\0'))
		return mm_fail(c, MM_ECORRUPT, "the object store's listing is truncated but "
			       "gives no continuation token");
	return 0;
}

void
s3_list_page_release(struct s3_list_page *page)
{
	free(page->items);
	free(page->next_token);
	memset(page, 0, sizeof(*page));
}
