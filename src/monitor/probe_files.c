/*
 * Watched files (/etc/passwd, /etc/group, /etc/sudoers, sshd_config, ...):
 * each file's SHA-256, owner and mode against a baseline recorded on the
 * first cycle. A difference is reported on every cycle until an
 * administrator accepts it (`mamori monitor accept CHECK`), as file
 * integrity checkers do: a change nobody looked at must not go quiet.
 * For passwd and group files the accounts and the members of privileged
 * groups are kept too, so the report says "new account bob (uid 0)".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "monitor/monitor_internal.h"

#define WATCH_FILE_MAX (64u * 1024 * 1024)

static const char *const priv_groups[] = { "root", "sudo", "wheel", "adm", "admin", "shadow",
					   "disk", "docker", "lxd" };

static int
is_priv_group(const char *g, size_t n)
{
	for (size_t i = 0; i < sizeof(priv_groups) / sizeof(priv_groups[0]); i++)
		if (strlen(priv_groups[i]) == n && memcmp(priv_groups[i], g, n) == 0)
			return 1;
	return 0;
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* passwd: "name:uid name:uid ..."; group: "group:m1,m2 ..." of privileged groups. */
static int
summarise(const char *path, const char *text, struct buf *out)
{
	int passwd = strcmp(base_name(path), "passwd") == 0;
	int group = strcmp(base_name(path), "group") == 0;
	int e = 0;

	if (!passwd && !group)
		return 0;
	for (const char *p = text; *p && e == 0;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *f[4] = { p, NULL, NULL, NULL };
		size_t nf = 1;
		for (size_t i = 0; i < len && nf < 4; i++)
			if (p[i] == ':')
				f[nf++] = p + i + 1;
		if (nf >= 3 && p[0] != '#') {
			size_t nlen = (size_t)(f[1] - 1 - p);
			if (passwd) {
				const char *u = f[2];
				size_t ulen = strcspn(u, ":\n");
				if (out->len)
					e = buf_append_u8(out, ' ');
				if (!e) e = buf_append(out, p, nlen);
				if (!e) e = buf_append_u8(out, ':');
				if (!e) e = buf_append(out, u, ulen);
			} else if (nf == 4 && is_priv_group(p, nlen)) {
				const char *m = f[3];
				size_t mlen = (size_t)(p + len - m);
				if (out->len)
					e = buf_append_u8(out, ' ');
				if (!e) e = buf_append(out, p, nlen);
				if (!e) e = buf_append_u8(out, ':');
				if (!e) e = buf_append(out, m, mlen);
			}
		}
		p += len + (nl ? 1 : 0);
	}
	return e;
}

/* Is word (up to ':' in s) listed in the space-separated list? Returns the
 * entry or NULL. */
static const char *
find_entry(const char *list, const char *name, size_t nlen)
{
	for (const char *p = list; p && *p;) {
		if (strncmp(p, name, nlen) == 0 && p[nlen] == ':')
			return p;
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return NULL;
}

/* Report accounts added, removed or given another uid; members added to
 * privileged groups. Returns 1 when a privilege was gained. */
static int
diff_summary(const char *path, const char *old, const char *cur, struct mon_result *out)
{
	int passwd = strcmp(base_name(path), "passwd") == 0, priv = 0;

	for (const char *p = cur; p && *p;) {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);
		const char *colon = memchr(p, ':', len);
		if (colon) {
			size_t nlen = (size_t)(colon - p);
			const char *o = find_entry(old, p, nlen);
			size_t vlen = len - nlen - 1;
			size_t olen = o ? strcspn(o, " ") - nlen - 1 : 0;
			if (passwd && !o) {
				mon_append(out, "; new account %.*s (uid %.*s)", (int)nlen, p, (int)vlen,
					   colon + 1);
				if (vlen == 1 && colon[1] == '0')
					priv = 1;
			} else if (passwd && (olen != vlen || memcmp(o + nlen + 1, colon + 1, vlen))) {
				mon_append(out, "; account %.*s: uid %.*s -> %.*s", (int)nlen, p,
					   (int)olen, o + nlen + 1, (int)vlen, colon + 1);
				if (vlen == 1 && colon[1] == '0')
					priv = 1;
			} else if (!passwd) {
				/* New members of a privileged group. */
				const char *m = colon + 1, *end = p + len;
				while (m < end) {
					const char *comma = memchr(m, ',', (size_t)(end - m));
					size_t ml = comma ? (size_t)(comma - m) : (size_t)(end - m);
					int known = 0;
					if (o) {
						const char *om = o + nlen + 1, *oend = om + olen;
						while (om < oend && !known) {
							const char *oc = memchr(om, ',', (size_t)(oend - om));
							size_t ol = oc ? (size_t)(oc - om) : (size_t)(oend - om);
							known = ol == ml && memcmp(om, m, ml) == 0;
							om += ol + 1;
						}
					}
					if (ml > 0 && !known) {
						mon_append(out, "; %.*s added to group %.*s", (int)ml, m,
							   (int)nlen, p);
						priv = 1;
					}
					m += ml + 1;
				}
			}
		}
		p = sp ? sp + 1 : NULL;
	}
	if (passwd)
		for (const char *p = old; p && *p;) {
			const char *sp = strchr(p, ' ');
			size_t len = sp ? (size_t)(sp - p) : strlen(p);
			const char *colon = memchr(p, ':', len);
			if (colon && !find_entry(cur, p, (size_t)(colon - p)))
				mon_append(out, "; account %.*s removed", (int)(colon - p), p);
			p = sp ? sp + 1 : NULL;
		}
	return priv;
}

static int
watch_one(const char *path, const struct mon_env *env, struct mon_memo *memo,
	  struct mon_result *out, int *changed, int *first, struct mm_ctx *c)
{
	struct buf b = BUF_INIT, sum = BUF_INIT;
	char key[4200], val[160], hex[65], fpath[4096];
	uint8_t h[32];
	struct stat st;
	const char *old;
	int e = 0;

	snprintf(fpath, sizeof(fpath), "%s%s", env->root ? env->root : "", path);
	if (stat(fpath, &st) != 0) {
		snprintf(val, sizeof(val), "missing");
	} else {
		if ((e = mon_read(env, path, WATCH_FILE_MAX, &b, c)) != 0) {
			snprintf(val, sizeof(val), "unreadable");
			e = 0;
		} else {
			crypto_sha256(b.data, b.len, h);
			hex_encode(h, sizeof(h), hex);
			snprintf(val, sizeof(val), "%s %u %u %04o", hex, (unsigned)st.st_uid,
				 (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
			if ((e = summarise(path, (char *)b.data, &sum)) == 0)
				e = buf_append_u8(&sum, '\0');
			if (e)
				goto out;
		}
	}
	snprintf(key, sizeof(key), "f:%s", path);
	old = mon_memo_get(memo, key);
	if (old == NULL) {
		/* First sight: this is the baseline. */
		(*first)++;
		if ((e = mon_memo_set(memo, key, val)) != 0)
			goto out;
		snprintf(key, sizeof(key), "s:%s", path);
		if (sum.len && (e = mon_memo_set(memo, key, (char *)sum.data)) != 0)
			goto out;
		goto out;
	}
	if (strcmp(old, val) == 0)
		goto out;
	(*changed)++;
	mon_append(out, "%s%s", out->message[0] ? "; " : "", path);
	if (strcmp(val, "missing") == 0) {
		mon_append(out, " was removed");
	} else if (strcmp(old, "missing") == 0) {
		mon_append(out, " appeared");
	} else {
		unsigned ou = 0, og = 0, om = 0, nu = 0, ng = 0, nm = 0;
		char oh[65] = "", nh[65] = "";
		sscanf(old, "%64s %u %u %o", oh, &ou, &og, &om);
		sscanf(val, "%64s %u %u %o", nh, &nu, &ng, &nm);
		if (strcmp(oh, nh) != 0)
			mon_append(out, " content changed");
		if (ou != nu || og != ng)
			mon_append(out, " owner %u:%u -> %u:%u", ou, og, nu, ng);
		if (om != nm) {
			mon_append(out, " mode %04o -> %04o", om, nm);
			if ((nm & 0002) || ((nm & 04000) && !(om & 04000)))
				out->state = MON_CRITICAL; /* world-writable or new setuid */
		}
		snprintf(key, sizeof(key), "s:%s", path);
		if (sum.len > 1 && mon_memo_get(memo, key) &&
		    diff_summary(path, mon_memo_get(memo, key), (char *)sum.data, out))
			out->state = MON_CRITICAL;
		if (strcmp(base_name(path), "sudoers") == 0 && strcmp(oh, nh) != 0)
			out->state = MON_CRITICAL; /* who may become root changed */
	}
out:
	buf_release(&b);
	buf_release(&sum);
	return e ? mm_fail(c, e, "out of memory") : 0;
}

static int
probe_files(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	    struct mon_result *out, struct mm_ctx *c)
{
	char lab[256];
	int changed = 0, first = 0, e;

	for (size_t i = 0; i < k->nfiles; i++)
		if ((e = watch_one(k->files[i], env, memo, out, &changed, &first, c)) != 0)
			return e;
	if (changed == 0 && first > 0) {
		snprintf(out->message, sizeof(out->message), "baseline of %d watched file%s recorded "
			 "now (hash, owner, mode)", first, first == 1 ? "" : "s");
	} else if (changed == 0) {
		snprintf(out->message, sizeof(out->message), "%zu watched file%s unchanged since the "
			 "baseline", k->nfiles, k->nfiles == 1 ? "" : "s");
	} else {
		if (out->state < MON_WARNING)
			out->state = MON_WARNING;
		mon_append(out, " (if this change was intended: `mamori monitor accept %s`)", k->name);
	}
	out->value = changed;
	mon_label(lab, sizeof(lab), k->name, NULL, NULL);
	if ((e = mon_metric_add(out, "mamori_watched_files_changed", lab, changed)) != 0)
		return mm_fail(c, e, "out of memory");
	return 0;
}

const struct mon_probe mon_probe_files = { "files", NULL, 1, probe_files, 0, 0 };
