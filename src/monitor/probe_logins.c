/*
 * Security: failed and successful logins per user and source address since
 * the last cycle, from sshd's messages in the journal (libsystemd's
 * sd-journal). The reading goes through a small source interface: the
 * journal on a live system, or, when env->root is set (tests), a file of
 * recorded entries ROOT/journal.txt, one "SECONDS IDENTIFIER: MESSAGE" per
 * line, behind the same interface. Where the last cycle stopped is kept in
 * the check's memory (a journal cursor, or a line number), so an agent
 * restart neither misses nor counts twice.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "monitor/monitor_internal.h"

#define LOGIN_LOOKBACK_S 600  /* without a cursor: the last 10 minutes */
#define LOGIN_PAIRS_MAX 32    /* user/address pairs reported (the rest summed) */
#define LOGIN_ENTRIES_MAX 100000 /* entries read in one cycle */
#define LOGIN_FILE_MAX (16u * 1024 * 1024)

struct pair {
	char user[64], addr[64];
	unsigned failed, ok;
};
struct tally {
	struct pair p[LOGIN_PAIRS_MAX];
	size_t n;
	unsigned failed, ok, other_failed, other_ok;
};

/* ---- the source interface ------------------------------------------------ */
struct login_src {
	/* Position after the cursor (NULL: since `since` seconds). */
	int (*seek)(struct login_src *s, const char *cursor, int64_t since, struct mm_ctx *c);
	/* The next message: 1, 0 at the end, or an error. */
	int (*next)(struct login_src *s, const char **msg, struct mm_ctx *c);
	/* Where to start next time (a new allocation), or NULL. */
	char *(*cursor)(struct login_src *s);
	void (*close)(struct login_src *s);
	/* journal */
	sd_journal *j;
	char msgbuf[2048];
	/* recorded file */
	struct buf b;
	char *pos;
	long line, start_line;
};

static int
j_seek(struct login_src *s, const char *cursor, int64_t since, struct mm_ctx *c)
{
	int r;

	if (cursor != NULL && cursor[0] != '\0') {
		if ((r = sd_journal_seek_cursor(s->j, cursor)) < 0)
			return mm_fail(c, MM_EIO, "journal: bad cursor: %s", strerror(-r));
		/* The entry at the cursor was counted last time. */
		if ((r = sd_journal_next(s->j)) > 0 && sd_journal_test_cursor(s->j, cursor) <= 0)
			(void)sd_journal_previous(s->j);
		return 0;
	}
	if ((r = sd_journal_seek_realtime_usec(s->j, (uint64_t)since * 1000000)) < 0)
		return mm_fail(c, MM_EIO, "journal: %s", strerror(-r));
	return 0;
}

static int
j_next(struct login_src *s, const char **msg, struct mm_ctx *c)
{
	const void *d;
	size_t n;
	int r;

	for (;;) {
		if ((r = sd_journal_next(s->j)) < 0)
			return mm_fail(c, MM_EIO, "journal: %s", strerror(-r));
		if (r == 0)
			return 0;
		if (sd_journal_get_data(s->j, "MESSAGE", &d, &n) < 0 || n < 8)
			continue;
		n -= 8; /* "MESSAGE=" */
		if (n >= sizeof(s->msgbuf))
			n = sizeof(s->msgbuf) - 1;
		memcpy(s->msgbuf, (const char *)d + 8, n);
		s->msgbuf[n] = '\0';
		*msg = s->msgbuf;
		return 1;
	}
}

static char *
j_cursor(struct login_src *s)
{
	char *cur = NULL;

	/* At the end: step back onto the last entry to name it. */
	if (sd_journal_previous(s->j) > 0 && sd_journal_get_cursor(s->j, &cur) >= 0)
		return cur;
	return NULL;
}

static void
j_close(struct login_src *s)
{
	sd_journal_close(s->j);
}

static int
journal_open(struct login_src *s, struct mm_ctx *c)
{
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = sd_journal_open(&s->j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)) < 0)
		return mm_fail(c, MM_EIO, "cannot open the journal: %s (run as root or in group "
			       "systemd-journal / adm)", strerror(-r));
	if (sd_journal_add_match(s->j, "SYSLOG_IDENTIFIER=sshd", 0) < 0 ||
	    sd_journal_add_disjunction(s->j) < 0 ||
	    sd_journal_add_match(s->j, "SYSLOG_IDENTIFIER=sshd-session", 0) < 0) {
		sd_journal_close(s->j);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	s->seek = j_seek;
	s->next = j_next;
	s->cursor = j_cursor;
	s->close = j_close;
	return 0;
}

/* Recorded entries: "SECONDS IDENTIFIER: MESSAGE" lines. */
static int
f_seek(struct login_src *s, const char *cursor, int64_t since, struct mm_ctx *c)
{
	long want = -1;
	char *end;

	(void)c;
	if (cursor != NULL && cursor[0] != '\0') {
		want = strtol(cursor, &end, 10);
		if (*end || want < 0)
			want = -1;
	}
	s->pos = (char *)s->b.data;
	s->line = 0;
	while (*s->pos) {
		char *nl = strchr(s->pos, '\n');
		long long t = strtoll(s->pos, NULL, 10);
		if (want >= 0 ? s->line >= want : t >= since)
			break;
		s->line++;
		s->pos = nl ? nl + 1 : s->pos + strlen(s->pos);
	}
	return 0;
}

static int
f_next(struct login_src *s, const char **msg, struct mm_ctx *c)
{
	char *nl, *p;

	(void)c;
	while (*s->pos) {
		nl = strchr(s->pos, '\n');
		if (nl)
			*nl = '\0';
		p = s->pos;
		s->pos = nl ? nl + 1 : p + strlen(p);
		s->line++;
		/* "SECONDS sshd[PID]: MESSAGE" */
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
		if (strncmp(p, "sshd", 4) != 0 || (p = strstr(p, ": ")) == NULL)
			continue;
		*msg = p + 2;
		return 1;
	}
	return 0;
}

static char *
f_cursor(struct login_src *s)
{
	char *cur = NULL;

	if (asprintf(&cur, "%ld", s->line) < 0)
		return NULL;
	return cur;
}

static void
f_close(struct login_src *s)
{
	buf_release(&s->b);
}

static int
file_open(struct login_src *s, const struct mon_env *env, struct mm_ctx *c)
{
	int e;

	memset(s, 0, sizeof(*s));
	if ((e = mon_read(env, "/journal.txt", LOGIN_FILE_MAX, &s->b, c)) != 0)
		return e;
	s->seek = f_seek;
	s->next = f_next;
	s->cursor = f_cursor;
	s->close = f_close;
	return 0;
}

/* ---- sshd's words ---------------------------------------------------------- */
static void
word(const char *p, char *out, size_t n)
{
	size_t k = 0;

	while (*p && *p != ' ' && k + 1 < n) {
		unsigned char ch = (unsigned char)*p++;
		out[k++] = isprint(ch) ? (char)ch : '?';
	}
	out[k] = '\0';
}

/* "Failed password for [invalid user ]USER from ADDR port N ssh2",
 * "Accepted publickey for USER from ADDR port N ssh2: ...". */
int
mon_login_parse(const char *msg, int *ok, char *user, size_t un, char *addr, size_t an)
{
	const char *p, *f;

	if (strncmp(msg, "Failed ", 7) == 0)
		*ok = 0;
	else if (strncmp(msg, "Accepted ", 9) == 0)
		*ok = 1;
	else
		return 0;
	if ((p = strstr(msg, " for ")) == NULL || (f = strstr(p, " from ")) == NULL)
		return 0;
	p += 5;
	if (strncmp(p, "invalid user ", 13) == 0)
		p += 13;
	word(p, user, un);
	word(f + 6, addr, an);
	return user[0] != '\0' && addr[0] != '\0';
}

static void
tally_add(struct tally *t, const char *user, const char *addr, int ok)
{
	size_t i;

	ok ? t->ok++ : t->failed++;
	for (i = 0; i < t->n; i++)
		if (strcmp(t->p[i].user, user) == 0 && strcmp(t->p[i].addr, addr) == 0)
			break;
	if (i == t->n) {
		if (t->n == LOGIN_PAIRS_MAX) {
			ok ? t->other_ok++ : t->other_failed++;
			return;
		}
		snprintf(t->p[i].user, sizeof(t->p[i].user), "%s", user);
		snprintf(t->p[i].addr, sizeof(t->p[i].addr), "%s", addr);
		t->n++;
	}
	ok ? t->p[i].ok++ : t->p[i].failed++;
}

static int
by_failed(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->failed != y->failed)
		return x->failed > y->failed ? -1 : 1;
	if (x->ok != y->ok)
		return x->ok > y->ok ? -1 : 1;
	return strcmp(x->user, y->user);
}

static int
probe_logins(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	     struct mon_result *out, struct mm_ctx *c)
{
	struct login_src s;
	struct tally *t = NULL;
	struct mm_ctx sc = MM_CTX_INIT;
	int64_t now = mm_clock_now(&env->clock) / 1000000000;
	const char *msg;
	char *cur = NULL, lab[256], a[128], b[128];
	size_t shown = 0;
	long read = 0;
	int e, r;

	e = env->root && env->root[0] ? file_open(&s, env, &sc) : journal_open(&s, &sc);
	if (e != 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "%.700s", sc.msg);
		return 0;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = s.seek(&s, mon_memo_get(memo, "cursor"), now - LOGIN_LOOKBACK_S, &sc)) != 0)
		goto unknown;
	while (read++ < LOGIN_ENTRIES_MAX && (r = s.next(&s, &msg, &sc)) != 0) {
		char user[64], addr[64];
		int ok;
		if (r < 0) {
			e = r;
			goto unknown;
		}
		if (mon_login_parse(msg, &ok, user, sizeof(user), addr, sizeof(addr)))
			tally_add(t, user, addr, ok);
	}
	if ((cur = s.cursor(&s)) != NULL && (e = mon_memo_set(memo, "cursor", cur)) != 0) {
		e = mm_fail(c, e, "out of memory");
		goto out;
	}
	qsort(t->p, t->n, sizeof(t->p[0]), by_failed);
	out->judged = 1;
	out->value = t->failed;
	snprintf(out->unit, sizeof(out->unit), "logins");
	if (t->failed == 0 && t->ok == 0)
		snprintf(out->message, sizeof(out->message), "no login since the last look");
	for (size_t i = 0; i < t->n && t->failed; i++) {
		if (t->p[i].failed == 0)
			continue;
		if (shown == 0)
			mon_append(out, "%u failed login%s:", t->failed, t->failed == 1 ? "" : "s");
		if (shown++ < 5)
			mon_append(out, "%s %s from %s (%u)", shown > 1 ? "," : "", t->p[i].user,
				   t->p[i].addr, t->p[i].failed);
	}
	if (shown > 5)
		mon_append(out, ", ...");
	shown = 0;
	for (size_t i = 0; i < t->n && t->ok; i++) {
		if (t->p[i].ok == 0)
			continue;
		if (shown == 0)
			mon_append(out, "%s%u login%s:", t->failed ? "; " : "", t->ok,
				   t->ok == 1 ? "" : "s");
		if (shown++ < 5)
			mon_append(out, "%s %s from %s (%u)", shown > 1 ? "," : "", t->p[i].user,
				   t->p[i].addr, t->p[i].ok);
	}
	if (shown > 5)
		mon_append(out, ", ...");
	for (size_t i = 0; i < t->n && e == 0; i++) {
		/* check="N",user="U",address="A" */
		mon_label(a, sizeof(a), k->name, "user", t->p[i].user);
		mon_label(b, sizeof(b), "", "address", t->p[i].addr);
		snprintf(lab, sizeof(lab), "%s,%s", a, strchr(b, ',') + 1);
		e = mon_metric_add(out, "mamori_login_failures", lab, t->p[i].failed);
		if (!e)
			e = mon_metric_add(out, "mamori_logins", lab, t->p[i].ok);
	}
	if (e != 0)
		e = mm_fail(c, e, "out of memory");
	goto out;
unknown:
	out->state = MON_UNKNOWN;
	snprintf(out->message, sizeof(out->message), "%.700s", sc.msg);
	e = 0;
out:
	free(cur);
	free(t);
	s.close(&s);
	return e;
}

const struct mon_probe mon_probe_logins = { "logins", NULL, 1, probe_logins, 0, 0 };
