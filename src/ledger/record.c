/*
 * Ledger records: the body codec, who is acting, the frame that makes an
 * append detectable when torn, and splitting a file into frames
 * (docs/ledger.md, "Record" and "Frame").
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "ledger/ledger.h"

#define REC_MAGIC "MMLR"
#define REC_VERSION 1
#define FRAME_MAGIC "MMLG"
#define KEY_MAX 64

/* ---- clock ------------------------------------------------------------------ */

int
ledger_clock_kernel_state(void)
{
	struct timex tx;
	int st;

	memset(&tx, 0, sizeof(tx));
	if ((st = adjtimex(&tx)) < 0)
		return LEDGER_CLOCK_UNKNOWN;
	if (st == TIME_ERROR || (tx.status & STA_UNSYNC) != 0)
		return LEDGER_CLOCK_UNSYNCED;
	return LEDGER_CLOCK_SYNCED;
}

static int64_t
system_now(void *arg)
{
	(void)arg;
	return time_now_ns();
}

static int
system_state(void *arg)
{
	(void)arg;
	return ledger_clock_kernel_state();
}

const struct ledger_clock ledger_system_clock = { system_now, system_state, NULL };

const char *
ledger_clock_state_name(int state)
{
	switch (state) {
	case LEDGER_CLOCK_SYNCED: return "synchronised";
	case LEDGER_CLOCK_UNSYNCED: return "unsynchronised";
	default: return "unknown";
	}
}

/* ---- records ----------------------------------------------------------------- */

void
ledger_rec_release(struct ledger_rec *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->host);
	free(r->user);
	free(r->sudo_user);
	free(r->command);
	free(r->target);
	free(r->result);
	for (i = 0; i < r->nfields; i++) {
		free(r->fields[i].key);
		free(r->fields[i].value);
	}
	free(r->fields);
	memset(r, 0, sizeof(*r));
}

int
ledger_rec_add_field(struct ledger_rec *r, const char *key, const char *value)
{
	struct ledger_field *nf;
	char *k, *v;

	if (r->nfields >= LEDGER_FIELDS_MAX)
		return MM_ELIMIT;
	if ((nf = realloc(r->fields, (r->nfields + 1) * sizeof(*nf))) == NULL)
		return MM_ENOMEM;
	r->fields = nf;
	k = strdup(key);
	v = strdup(value ? value : "");
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return MM_ENOMEM;
	}
	r->fields[r->nfields].key = k;
	r->fields[r->nfields].value = v;
	r->nfields++;
	return 0;
}

const char *
ledger_rec_field(const struct ledger_rec *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->nfields; i++) {
		if (strcmp(r->fields[i].key, key) == 0)
			return r->fields[i].value;
	}
	return NULL;
}

static int
put_text(struct buf *b, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n > max)
		return MM_ELIMIT;
	return buf_append_bytes16(b, s ? s : "", n);
}

int
ledger_rec_encode(const struct ledger_rec *r, struct buf *out)
{
	size_t start = out->len, i;
	int e;

	if (r->nfields > LEDGER_FIELDS_MAX)
		return MM_ELIMIT;
	if ((e = buf_append(out, REC_MAGIC, 4)) != 0 || (e = buf_append_u16(out, REC_VERSION)) != 0 ||
	    (e = buf_append_u64(out, r->seq)) != 0 ||
	    (e = buf_append_u64(out, (uint64_t)r->time_ns)) != 0 ||
	    (e = buf_append_u8(out, r->clock)) != 0 ||
	    (e = put_text(out, r->host, REPO_NAME_MAX)) != 0 ||
	    (e = buf_append_u32(out, r->uid)) != 0 ||
	    (e = put_text(out, r->user, REPO_NAME_MAX)) != 0 ||
	    (e = buf_append_u32(out, r->sudo_uid)) != 0 ||
	    (e = put_text(out, r->sudo_user, REPO_NAME_MAX)) != 0 ||
	    (e = buf_append_u32(out, r->login_uid)) != 0 ||
	    (e = put_text(out, r->command, KEY_MAX)) != 0 ||
	    (e = put_text(out, r->target, LEDGER_TEXT_MAX)) != 0 ||
	    (e = buf_append_u32(out, (uint32_t)r->exit_code)) != 0 ||
	    (e = put_text(out, r->result, LEDGER_TEXT_MAX)) != 0 ||
	    (e = buf_append_u16(out, (uint16_t)r->nfields)) != 0)
		return e;
	for (i = 0; i < r->nfields; i++) {
		if ((e = put_text(out, r->fields[i].key, KEY_MAX)) != 0 ||
		    (e = put_text(out, r->fields[i].value, LEDGER_TEXT_MAX)) != 0)
			return e;
	}
	if ((e = buf_append(out, r->prev, LEDGER_HASH_LEN)) != 0)
		return e;
	if (out->len - start > LEDGER_BODY_MAX)
		return MM_ELIMIT;
	return 0;
}

int
ledger_rec_decode(const uint8_t *p, size_t n, struct ledger_rec *out, struct mm_ctx *c)
{
	struct ledger_rec r = LEDGER_REC_INIT;
	struct rd d;
	const uint8_t *m;
	size_t nf, i;
	uint16_t v;
	int e;

	rd_init(&d, p, n);
	m = rd_ptr(&d, 4);
	v = rd_u16(&d);
	if (d.bad || memcmp(m, REC_MAGIC, 4) != 0) {
		e = mm_fail(c, MM_ECORRUPT, "not a ledger record (bad magic)");
		goto out;
	}
	if (v != REC_VERSION) {
		e = mm_fail(c, MM_EUNSUPPORTED, "record encoding version %u is not supported "
			    "(upgrade mamori)", v);
		goto out;
	}
	r.seq = rd_u64(&d);
	r.time_ns = (int64_t)rd_u64(&d);
	r.clock = rd_u8(&d);
	r.host = rd_str16(&d, REPO_NAME_MAX);
	r.uid = rd_u32(&d);
	r.user = rd_str16(&d, REPO_NAME_MAX);
	r.sudo_uid = rd_u32(&d);
	r.sudo_user = rd_str16(&d, REPO_NAME_MAX);
	r.login_uid = rd_u32(&d);
	r.command = rd_str16(&d, KEY_MAX);
	r.target = rd_str16(&d, LEDGER_TEXT_MAX);
	r.exit_code = (int32_t)rd_u32(&d);
	r.result = rd_str16(&d, LEDGER_TEXT_MAX);
	nf = rd_u16(&d);
	if (d.bad || nf > LEDGER_FIELDS_MAX) {
		e = mm_fail(c, MM_ECORRUPT, "record is truncated or has too many fields");
		goto out;
	}
	if (nf > 0 && (r.fields = calloc(nf, sizeof(*r.fields))) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nf && !d.bad; i++) {
		r.fields[i].key = rd_str16(&d, KEY_MAX);
		r.fields[i].value = rd_str16(&d, LEDGER_TEXT_MAX);
		r.nfields = i + 1;
	}
	rd_copy(&d, r.prev, LEDGER_HASH_LEN);
	if (d.bad) {
		e = mm_fail(c, MM_ECORRUPT, "record is truncated or malformed");
		goto out;
	}
	if (rd_left(&d) != 0) {
		e = mm_fail(c, MM_ECORRUPT, "record has %zu unexpected bytes at the end", rd_left(&d));
		goto out;
	}
	if (r.clock > LEDGER_CLOCK_UNSYNCED) {
		e = mm_fail(c, MM_ECORRUPT, "record has an unknown clock state %u", r.clock);
		goto out;
	}
	*out = r;
	memset(&r, 0, sizeof(r)); /* transferred */
	e = 0;
out:
	ledger_rec_release(&r);
	return e;
}

/* ---- actor ------------------------------------------------------------------- */

static char *
user_name(uid_t uid)
{
	struct passwd pw, *res = NULL;
	char tmp[4096], num[16];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		return strdup(res->pw_name);
	snprintf(num, sizeof(num), "%u", (unsigned)uid);
	return strdup(num);
}

static uint32_t
parse_uid(const char *s)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0')
		return LEDGER_NO_UID;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v >= LEDGER_NO_UID)
		return LEDGER_NO_UID;
	return (uint32_t)v;
}

/* The kernel's audit login uid: set once at login, kept through sudo and su. */
static uint32_t
login_uid(void)
{
	char b[32];
	ssize_t n;
	int fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return LEDGER_NO_UID;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return LEDGER_NO_UID;
	b[n] = '\0';
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == ' '))
		b[--n] = '\0';
	return parse_uid(b);
}

int
ledger_rec_set_actor(struct ledger_rec *r)
{
	char host[256];
	const char *su = getenv("SUDO_USER");

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	r->uid = (uint32_t)getuid();
	r->sudo_uid = parse_uid(getenv("SUDO_UID"));
	r->login_uid = login_uid();
	if ((r->host = strdup(host)) == NULL || (r->user = user_name(getuid())) == NULL ||
	    (r->sudo_user = strdup(su && strlen(su) < 256 ? su : "")) == NULL)
		return MM_ENOMEM;
	return 0;
}

/* ---- frames ------------------------------------------------------------------- */

static void
frame_checksum(const uint8_t *head, const uint8_t *body, size_t n, uint8_t out[32])
{
	struct sha256_ctx *h = crypto_sha256_new();

	if (h == NULL) {
		memset(out, 0, 32);
		return;
	}
	crypto_sha256_update(h, head, 8);
	crypto_sha256_update(h, body, n);
	crypto_sha256_final(h, out);
}

int
ledger_frame(const uint8_t *body, size_t n, struct buf *out)
{
	uint8_t head[8], sum[32];
	int e;

	if (n == 0 || n > LEDGER_BODY_MAX)
		return MM_ELIMIT;
	memcpy(head, FRAME_MAGIC, 4);
	head[4] = (uint8_t)n;
	head[5] = (uint8_t)(n >> 8);
	head[6] = (uint8_t)(n >> 16);
	head[7] = (uint8_t)(n >> 24);
	frame_checksum(head, body, n, sum);
	if ((e = buf_append(out, head, 8)) != 0 || (e = buf_append(out, body, n)) != 0 ||
	    (e = buf_append(out, sum, 32)) != 0 || (e = buf_append(out, head + 4, 4)) != 0)
		return e;
	return 0;
}

void
ledger_scan_release(struct ledger_scan *s)
{
	free(s->items);
	memset(s, 0, sizeof(*s));
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* After a power loss some file systems show an append's new length with
 * blocks of zeros: a final stretch that is or ends in zeros is a crash
 * artefact too, not tampering. */
static int
all_zeros(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != 0)
			return 0;
	}
	return 1;
}

static int
ends_in_zeros(const uint8_t *p, size_t n)
{
	size_t k = n < 16 ? n : 16;

	return k > 0 && all_zeros(p + n - k, k);
}

int
ledger_scan_bytes(const uint8_t *p, size_t n, struct ledger_scan *out)
{
	struct ledger_scan s;
	uint64_t off = 0;
	uint8_t sum[32];
	size_t cap = 0;
	uint32_t len;
	int ok;

	memset(&s, 0, sizeof(s));
	s.size = n;
	while (off < n) {
		size_t left = n - off;
		struct ledger_item *it;

		if (left < 8) {
			/* A header cut short. */
			s.tail = memcmp(p + off, FRAME_MAGIC, left < 4 ? left : 4) == 0 ||
				 all_zeros(p + off, left) ? LEDGER_TAIL_TORN : LEDGER_TAIL_DAMAGED;
			break;
		}
		len = le32(p + off + 4);
		if (memcmp(p + off, FRAME_MAGIC, 4) != 0 || len == 0 || len > LEDGER_BODY_MAX) {
			s.tail = all_zeros(p + off, left) ? LEDGER_TAIL_TORN : LEDGER_TAIL_DAMAGED;
			break;
		}
		if (left < (uint64_t)len + LEDGER_FRAME_OVERHEAD) {
			s.tail = LEDGER_TAIL_TORN; /* the append did not finish */
			break;
		}
		frame_checksum(p + off, p + off + 8, len, sum);
		ok = crypto_memcmp(sum, p + off + 8 + len, 32) == 0 && le32(p + off + 40 + len) == len;
		if (!ok && left == (uint64_t)len + LEDGER_FRAME_OVERHEAD && ends_in_zeros(p + off, left)) {
			s.tail = LEDGER_TAIL_TORN;
			break;
		}
		if (s.n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct ledger_item *ni = realloc(s.items, nc * sizeof(*ni));

			if (ni == NULL) {
				free(s.items);
				return MM_ENOMEM;
			}
			s.items = ni;
			cap = nc;
		}
		it = &s.items[s.n++];
		it->off = off;
		it->len = len;
		it->checksum_ok = ok;
		off += (uint64_t)len + LEDGER_FRAME_OVERHEAD;
		s.good_end = off;
	}
	*out = s;
	return 0;
}
