/*
 * The SFTP version 3 codec, locations and ssh's error messages (see
 * sftp_internal.h). Everything here works on bytes in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/sftp_internal.h"

/* ---- encoding ---------------------------------------------------------------- */

int
sftp_put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return buf_append(b, x, sizeof(x));
}

int
sftp_put_u64(struct buf *b, uint64_t v)
{
	int e;

	if ((e = sftp_put_u32(b, (uint32_t)(v >> 32))) != 0)
		return e;
	return sftp_put_u32(b, (uint32_t)v);
}

int
sftp_put_string(struct buf *b, const void *p, size_t n)
{
	int e;

	if (n > SFTP_PACKET_MAX)
		return MM_ELIMIT;
	if ((e = sftp_put_u32(b, (uint32_t)n)) != 0)
		return e;
	return n ? buf_append(b, p, n) : 0;
}

int
sftp_put_cstr(struct buf *b, const char *s)
{
	return sftp_put_string(b, s, strlen(s));
}

int
sftp_put_perm_attrs(struct buf *b, uint32_t mode)
{
	int e;

	if ((e = sftp_put_u32(b, SFTP_ATTR_PERMISSIONS)) != 0)
		return e;
	return sftp_put_u32(b, mode);
}

int
sftp_put_begin(struct buf *b, uint8_t type, uint32_t id)
{
	int e;

	buf_reset(b);
	if ((e = sftp_put_u32(b, 0)) != 0 || (e = buf_append_u8(b, type)) != 0)
		return e;
	return type == SFTP_INIT ? 0 : sftp_put_u32(b, id);
}

int
sftp_put_end(struct buf *b)
{
	uint32_t n;

	if (b->len < 5 || b->len - 4 > SFTP_PACKET_MAX)
		return MM_ELIMIT;
	n = (uint32_t)(b->len - 4);
	b->data[0] = (uint8_t)(n >> 24);
	b->data[1] = (uint8_t)(n >> 16);
	b->data[2] = (uint8_t)(n >> 8);
	b->data[3] = (uint8_t)n;
	return 0;
}

/* ---- decoding ---------------------------------------------------------------- */

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int
sftp_frame_len(const uint8_t hdr[4], uint32_t max, uint32_t *len)
{
	uint32_t n = be32(hdr);

	if (n == 0 || n > max)
		return MM_ELIMIT;
	*len = n;
	return 0;
}

/* Big-endian reads over struct rd (whose own helpers are little-endian). */
static uint32_t
get_u32(struct rd *r)
{
	const uint8_t *p = rd_ptr(r, 4);

	return p ? be32(p) : 0;
}

static uint64_t
get_u64(struct rd *r)
{
	uint64_t hi = get_u32(r);

	return hi << 32 | get_u32(r);
}

/* A string: its bytes in place; NULL (and r->bad) when it runs past the end. */
static const uint8_t *
get_string(struct rd *r, size_t *n)
{
	uint32_t len = get_u32(r);

	if (r->bad || len > rd_left(r)) {
		r->bad = 1;
		*n = 0;
		return NULL;
	}
	*n = len;
	return rd_ptr(r, len);
}

static void
get_attrs(struct rd *r, struct sftp_attrs *a)
{
	memset(a, 0, sizeof(*a));
	a->flags = get_u32(r);
	if (a->flags & SFTP_ATTR_SIZE)
		a->size = get_u64(r);
	if (a->flags & SFTP_ATTR_UIDGID) {
		a->uid = get_u32(r);
		a->gid = get_u32(r);
	}
	if (a->flags & SFTP_ATTR_PERMISSIONS)
		a->perm = get_u32(r);
	if (a->flags & SFTP_ATTR_ACMODTIME) {
		a->atime = get_u32(r);
		a->mtime = get_u32(r);
	}
	if (a->flags & SFTP_ATTR_EXTENDED) {
		uint32_t count = get_u32(r);
		size_t n;

		/* Each pair is at least 8 bytes: a count that cannot fit is bad
		 * before the loop runs. */
		if (count > rd_left(r) / 8) {
			r->bad = 1;
			return;
		}
		for (uint32_t i = 0; i < count && !r->bad; i++) {
			(void)get_string(r, &n);
			(void)get_string(r, &n);
		}
	}
}

static int
bad(struct mm_ctx *c, const char *what)
{
	return mm_fail(c, MM_EPROTOCOL, "the SFTP server sent a malformed %s", what);
}

static unsigned
ext_bit(const uint8_t *name, size_t n)
{
	static const struct { const char *s; unsigned bit; } known[] = {
		{ "posix-rename@openssh.com", SFTP_EXT_POSIX_RENAME },
		{ "fsync@openssh.com", SFTP_EXT_FSYNC },
		{ "statvfs@openssh.com", SFTP_EXT_STATVFS },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].s) == n && memcmp(known[i].s, name, n) == 0)
			return known[i].bit;
	return 0;
}

int
sftp_reply_decode(const uint8_t *p, size_t n, struct sftp_reply *out, struct mm_ctx *c)
{
	struct rd r;
	size_t len;

	memset(out, 0, sizeof(*out));
	rd_init(&r, p, n);
	out->type = rd_u8(&r);
	if (r.bad)
		return bad(c, "empty packet");
	if (out->type == SFTP_VERSION) {
		out->version = get_u32(&r);
		while (!r.bad && rd_left(&r) > 0) {
			const uint8_t *name = get_string(&r, &len);
			size_t dlen;

			(void)get_string(&r, &dlen);
			if (!r.bad)
				out->ext |= ext_bit(name, len);
		}
		return r.bad ? bad(c, "version reply") : 0;
	}
	out->id = get_u32(&r);
	switch (out->type) {
	case SFTP_STATUS:
		out->status = get_u32(&r);
		/* Version 3 adds a message and a language tag; some servers
		 * leave them out. */
		if (!r.bad && rd_left(&r) > 0) {
			out->msg = get_string(&r, &out->msg_len);
			if (!r.bad && rd_left(&r) > 0)
				(void)get_string(&r, &len);
		}
		break;
	case SFTP_HANDLE:
		out->data = get_string(&r, &out->data_len);
		if (!r.bad && (out->data_len == 0 || out->data_len > SFTP_HANDLE_MAX))
			return bad(c, "handle (empty or longer than 256 bytes)");
		break;
	case SFTP_DATA:
		out->data = get_string(&r, &out->data_len);
		break;
	case SFTP_ATTRS:
		get_attrs(&r, &out->attrs);
		break;
	case SFTP_NAME:
		out->count = get_u32(&r);
		/* Each entry is at least two empty strings and a flags word. */
		if (!r.bad && (out->count > SFTP_NAME_ENTRIES_MAX || out->count > rd_left(&r) / 12))
			return bad(c, "name list (more entries than its bytes can hold)");
		out->data = r.p + r.off;
		out->data_len = rd_left(&r);
		(void)rd_ptr(&r, out->data_len); /* the walk checks the entries */
		break;
	case SFTP_EXTENDED_REPLY:
		out->data = r.p + r.off;
		out->data_len = rd_left(&r);
		(void)rd_ptr(&r, out->data_len);
		break;
	default:
		return mm_fail(c, MM_EPROTOCOL, "the SFTP server sent a packet of unknown type %u",
			       out->type);
	}
	if (r.bad)
		return bad(c, "reply (truncated)");
	if (rd_left(&r) != 0)
		return bad(c, "reply (trailing bytes)");
	return 0;
}

void
sftp_names_init(struct sftp_names *it, const struct sftp_reply *rep)
{
	rd_init(&it->r, rep->data, rep->data_len);
	it->left = rep->type == SFTP_NAME ? rep->count : 0;
}

int
sftp_names_next(struct sftp_names *it, struct sftp_name *out, struct mm_ctx *c)
{
	size_t len;

	if (it->left == 0)
		return rd_left(&it->r) == 0 ? 0 : bad(c, "name list (trailing bytes)");
	it->left--;
	out->name = get_string(&it->r, &out->name_len);
	(void)get_string(&it->r, &len); /* the long name, for humans */
	get_attrs(&it->r, &out->attrs);
	if (it->r.bad)
		return bad(c, "name list (truncated)");
	return 1;
}

int
sftp_statvfs_decode(const struct sftp_reply *rep, struct sftp_statvfs *out, struct mm_ctx *c)
{
	struct rd r;

	if (rep->type != SFTP_EXTENDED_REPLY)
		return bad(c, "statvfs reply");
	rd_init(&r, rep->data, rep->data_len);
	out->bsize = get_u64(&r);
	out->frsize = get_u64(&r);
	out->blocks = get_u64(&r);
	out->bfree = get_u64(&r);
	out->bavail = get_u64(&r);
	/* files, ffree, favail, fsid, flag, namemax follow: not needed. */
	return r.bad ? bad(c, "statvfs reply") : 0;
}

const char *
sftp_status_name(uint32_t status, char *tmp, size_t n)
{
	static const char *const names[] = {
		"ok", "end of file", "no such file or folder", "permission denied", "failure",
		"bad message", "no connection", "connection lost", "operation not supported",
	};

	if (status < sizeof(names) / sizeof(names[0]))
		return names[status];
	snprintf(tmp, n, "unknown status %u", status);
	return tmp;
}

/* ---- locations --------------------------------------------------------------- */

static int
safe_word(const char *s, size_t n)
{
	if (n == 0 || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= ' ' || ch == 0x7f || ch == '/' || ch == '\\' || ch == '\'' || ch == '"')
			return 0;
	}
	return 1;
}

void
sftp_location_release(struct sftp_location *l)
{
	free(l->user);
	free(l->host);
	free(l->path);
	memset(l, 0, sizeof(*l));
}

int
sftp_location_parse(const char *s, struct sftp_location *out, struct mm_ctx *c)
{
	const char *at, *h, *hend, *rest, *path;
	int url = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "//", 2) == 0) {
		url = 1;
		s += 2;
	}
	/* The user ends at the last '@' before the host part. */
	rest = url ? s + strcspn(s, "/") : NULL;
	at = NULL;
	for (const char *q = s; *q != '\0' && (rest == NULL || q < rest); q++) {
		if (*q == '@')
			at = q;
		if (!url && *q == ':' && at == NULL && q > s && s[0] != '[')
			break; /* "host:path" without user */
	}
	h = at ? at + 1 : s;
	if (at != NULL && !safe_word(s, (size_t)(at - s))) {
		r = mm_fail(c, MM_EINVAL, "sftp: the user name in '%s' is empty or holds "
			    "characters ssh would not take", s);
		goto out;
	}
	if (h[0] == '[') {
		if ((hend = strchr(h, ']')) == NULL) {
			r = mm_fail(c, MM_EINVAL, "sftp: '[' without ']' in '%s'", s);
			goto out;
		}
		if ((out->host = strndup(h + 1, (size_t)(hend - h - 1))) == NULL)
			goto nomem;
		hend++;
	} else {
		hend = h + strcspn(h, url ? ":/" : ":");
		if ((out->host = strndup(h, (size_t)(hend - h))) == NULL)
			goto nomem;
	}
	if (!safe_word(out->host, strlen(out->host))) {
		r = mm_fail(c, MM_EINVAL, "sftp: the host in '%s' is empty or holds characters "
			    "ssh would not take", s);
		goto out;
	}
	if (url) {
		if (*hend == ':') {
			char *end;
			long port = strtol(hend + 1, &end, 10);

			if (end == hend + 1 || port < 1 || port > 65535 || *end != '/') {
				r = mm_fail(c, MM_EINVAL, "sftp: '%s': the port must be a number "
					    "from 1 to 65535 followed by /PATH", s);
				goto out;
			}
			out->port = (unsigned)port;
			hend = end;
		}
		if (*hend != '/' || hend[1] == '\0') {
			r = mm_fail(c, MM_EINVAL, "sftp: '%s' names no folder: write "
				    "sftp://[USER@]HOST[:PORT]/PATH", s);
			goto out;
		}
		path = hend;
	} else {
		if (*hend != ':' || hend[1] == '\0') {
			r = mm_fail(c, MM_EINVAL, "sftp: '%s' names no folder: write "
				    "sftp:[USER@]HOST:/PATH", s);
			goto out;
		}
		path = hend + 1;
	}
	for (const char *q = path; *q != '\0'; q++) {
		if ((unsigned char)*q < ' ' || *q == 0x7f) {
			r = mm_fail(c, MM_EINVAL, "sftp: the folder in '%s' holds control characters",
				    s);
			goto out;
		}
	}
	if (at != NULL && (out->user = strndup(s, (size_t)(at - s))) == NULL)
		goto nomem;
	if ((out->path = strdup(path)) == NULL)
		goto nomem;
	/* No trailing '/' (but keep "/" itself). */
	for (size_t l = strlen(out->path); l > 1 && out->path[l - 1] == '/'; l--)
		out->path[l - 1] = '\0';
	return 0;
nomem:
	r = mm_fail(c, MM_ENOMEM, "out of memory");
out:
	sftp_location_release(out);
	return r;
}

/* ---- ssh's errors ------------------------------------------------------------ */

/* The last line of err holding needle, copied into why (quoted); 1 if found. */
static int
find_line(const char *err, size_t n, const char *needle, char *why, size_t why_n)
{
	const char *hit = NULL, *p = err, *end = err + n;
	size_t nl = strlen(needle);

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;

		for (const char *q = p; q + nl <= le; q++) {
			if (memcmp(q, needle, nl) == 0) {
				hit = p;
				break;
			}
		}
		if (hit == p && why != NULL) {
			size_t ll = (size_t)(le - p);
			while (ll > 0 && (p[ll - 1] == '\r' || p[ll - 1] == ' '))
				ll--;
			if (why_n > 0)
				snprintf(why, why_n, "%.*s", (int)ll, p);
		}
		p = le + (eol ? 1 : 0);
	}
	return hit != NULL;
}

/* The last non-empty line, for the cases nothing else names. */
static void
last_line(const char *err, size_t n, char *why, size_t why_n)
{
	size_t end = n, start;

	while (end > 0 && (err[end - 1] == '\n' || err[end - 1] == '\r' || err[end - 1] == ' '))
		end--;
	start = end;
	while (start > 0 && err[start - 1] != '\n')
		start--;
	if (why_n > 0)
		snprintf(why, why_n, "%.*s", (int)(end - start), err + start);
}

int
sftp_ssh_diagnose(const char *err, size_t n, char *why, size_t why_n)
{
	static const struct { const char *needle; int code; } rules[] = {
		/* Order matters: the most specific first. */
		{ "REMOTE HOST IDENTIFICATION HAS CHANGED", MM_EHOSTKEY },
		{ "host key is known", MM_EHOSTKEY },
		{ "Host key verification failed", MM_EHOSTKEY },
		{ "Could not resolve hostname", MM_ERESOLVE },
		{ "Name or service not known", MM_ERESOLVE },
		{ "Connection refused", MM_ECONNREFUSED },
		{ "No route to host", MM_ECONNREFUSED },
		{ "Network is unreachable", MM_ECONNREFUSED },
		{ "timed out", MM_ETIMEDOUT },
		{ "Permission denied", MM_EDENIED },
		{ "Too many authentication failures", MM_EDENIED },
		{ "subsystem request failed", MM_EREMOTE },
		{ "not responding", MM_ECONNLOST }, /* keepalives unanswered */
	};

	if (why_n > 0)
		why[0] = '\0';
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (find_line(err, n, rules[i].needle, why, why_n))
			return rules[i].code;
	}
	last_line(err, n, why, why_n);
	return MM_ECONNLOST;
}
