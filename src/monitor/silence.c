/*
 * Silences: planned work on what a check watches (a switch replaced, the
 * tax system's server patched at night) should not page anyone. A silenced
 * check is still probed and judged, its state saved and its changes sent
 * to syslog; what is held back is the alert to the sinks (and the incident
 * it would open). When the silence ends, a check whose state is not the
 * one last alerted alerts then, once.
 *
 * STATE_DIR/silences, written by `mamori monitor silence`, read by the
 * agent at every cycle:
 *   mamori-monitor-silences 1
 *   silence CHECK UNTIL REASON     (CHECK "*": every check; fields
 *                                   percent-encoded; UNTIL in seconds)
 */
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor_internal.h"

#define SILENCES_MAGIC "mamori-monitor-silences 1"
#define SILENCES_FILE_MAX (1024u * 1024)
#define SILENCES_MAX 4096

void
mon_silences_release(struct mon_silences *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int
add(struct mon_silences *s, const char *check, int64_t until, const char *reason)
{
	struct mon_silence *v;

	if (s->n >= SILENCES_MAX)
		return MM_ELIMIT;
	if ((v = realloc(s->v, (s->n + 1) * sizeof(*v))) == NULL)
		return MM_ENOMEM;
	s->v = v;
	memset(&v[s->n], 0, sizeof(v[0]));
	snprintf(v[s->n].check, sizeof(v[0].check), "%s", check);
	snprintf(v[s->n].reason, sizeof(v[0].reason), "%s", reason);
	v[s->n++].until = until;
	return 0;
}

int
mon_silences_load(const char *state_dir, struct mon_silences *out, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	char *path = path_join(state_dir, "silences"), *line, *save = NULL;
	int e;

	memset(out, 0, sizeof(*out));
	if (path == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if ((e = file_read_all(path, SILENCES_FILE_MAX, &b, c)) == MM_ENOENT) {
		e = 0;
		goto out;
	}
	if (e != 0 || (e = buf_append_u8(&b, '\0')) != 0)
		goto out;
	line = strtok_r((char *)b.data, "\n", &save);
	if (line == NULL || strcmp(line, SILENCES_MAGIC) != 0) {
		e = mm_fail(c, MM_ECORRUPT, "%s is not a silences file (move it away: no check "
			    "is silenced then)", path);
		goto out;
	}
	while (e == 0 && (line = strtok_r(NULL, "\n", &save)) != NULL) {
		char check[256], reason[1024];
		long long until;
		if (sscanf(line, "silence %255s %lld %1023s", check, &until, reason) != 3)
			continue;
		mon_pct_decode(check);
		mon_pct_decode(reason);
		e = add(out, check, until, reason);
	}
	if (e == MM_ENOMEM || e == MM_ELIMIT)
		e = mm_fail(c, e, "%s: too many silences", path);
out:
	if (e != 0)
		mon_silences_release(out);
	buf_release(&b);
	free(path);
	return e;
}

static int
save(const char *state_dir, const struct mon_silences *s, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	char *path = path_join(state_dir, "silences"), num[32];
	int e;

	if (path == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	e = buf_append(&b, SILENCES_MAGIC "\n", sizeof(SILENCES_MAGIC));
	for (size_t i = 0; i < s->n && e == 0; i++) {
		snprintf(num, sizeof(num), " %lld ", (long long)s->v[i].until);
		if ((e = buf_append(&b, "silence ", 8)) == 0 &&
		    (e = mon_pct_encode(&b, s->v[i].check)) == 0 &&
		    (e = buf_append(&b, num, strlen(num))) == 0 &&
		    (e = mon_pct_encode(&b, s->v[i].reason)) == 0)
			e = buf_append_u8(&b, '\n');
	}
	if (e != 0)
		e = mm_fail(c, e, "out of memory");
	else if ((e = mkdir_p(state_dir, 0700, c)) == 0)
		e = file_write_atomic(path, b.data, b.len, 0600, c);
	buf_release(&b);
	free(path);
	return e;
}

const struct mon_silence *
mon_silenced(const struct mon_silences *s, const char *check, int64_t now)
{
	for (size_t i = 0; i < s->n; i++)
		if (now < s->v[i].until &&
		    (strcmp(s->v[i].check, check) == 0 || strcmp(s->v[i].check, "*") == 0))
			return &s->v[i];
	return NULL;
}

/* Keep what is still running and not named: the base of both changes.
 * Ending "*" (unsilence --all) ends every silence. */
static int
keep_others(const struct mon_silences *old, const char *const *names, size_t n, int ending,
	    int64_t now, struct mon_silences *out, size_t *dropped)
{
	int e = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < old->n && e == 0; i++) {
		int named = 0;
		for (size_t j = 0; j < n; j++)
			named |= strcmp(old->v[i].check, names[j]) == 0 ||
				 (ending && strcmp(names[j], "*") == 0);
		if (named && now < old->v[i].until)
			(*dropped)++;
		if (!named && now < old->v[i].until)
			e = add(out, old->v[i].check, old->v[i].until, old->v[i].reason);
	}
	return e;
}

int
mon_silence_change(const char *state_dir, const char *const *names, size_t n, int64_t until,
		   const char *reason, int64_t now, size_t *removed, struct mm_ctx *c)
{
	struct mon_silences old, s;
	size_t dropped = 0;
	int e;

	if (state_dir == NULL)
		return mm_fail(c, MM_EINVAL, "silences are kept in [monitor] state-dir: set it");
	if ((e = mon_silences_load(state_dir, &old, c)) != 0)
		return e;
	e = keep_others(&old, names, n, until <= now, now, &s, &dropped);
	for (size_t j = 0; j < n && e == 0 && until > now; j++)
		e = add(&s, names[j], until, reason ? reason : "");
	if (e != 0)
		e = mm_fail(c, e, e == MM_ELIMIT ? "too many silences" : "out of memory");
	else
		e = save(state_dir, &s, c);
	if (e == 0 && removed != NULL)
		*removed = dropped;
	mon_silences_release(&old);
	mon_silences_release(&s);
	return e;
}
