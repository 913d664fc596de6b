/*
 * Locks: one encrypted lock object per process. Shared locks coexist;
 * an exclusive lock excludes every other. A lock is stale when it has not
 * been refreshed for LOCK_STALE_NS, or when it names a process of this host
 * that no longer exists; stale locks are ignored, and removed when they are
 * from this host.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo/repo.h"
#include "repo/repo_internal.h"

char *
repo_hostname(void)
{
	char h[256];

	if (gethostname(h, sizeof(h)) != 0)
		return strdup("unknown");
	h[sizeof(h) - 1] = '\0';
	return strdup(h);
}

char *
repo_username(void)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];
	char num[32];

	if (getpwuid_r(getuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		return strdup(res->pw_name);
	snprintf(num, sizeof(num), "%u", (unsigned)getuid());
	return strdup(num);
}

static int
same_host(const struct lock_info *l)
{
	char *h = repo_hostname();
	int same = h != NULL && l->host != NULL && strcmp(h, l->host) == 0;

	free(h);
	return same;
}

int
lock_is_stale(const struct lock_info *l, int64_t now_ns)
{
	if (now_ns - l->time_ns > LOCK_STALE_NS)
		return 1;
	if (same_host(l) && l->pid > 0 && l->pid <= INT32_MAX &&
	    kill((pid_t)l->pid, 0) != 0 && errno == ESRCH)
		return 1;
	return 0;
}

struct lock_scan {
	struct repo *r;
	int exclusive;
	int64_t now;
	int conflict;
	char who[512];
	int (*cb)(const char *name, const struct lock_info *l, void *arg);
	void *arg;
	struct mm_ctx *c;
};

static int
scan_lock(const char *name, uint64_t size, void *arg)
{
	struct lock_scan *s = arg;
	struct buf plain = BUF_INIT;
	struct lock_info l = { 0 };
	struct mm_ctx ignore = MM_CTX_INIT;
	char when[32];
	int e;

	if (strcmp(name, s->r->lock_name) == 0)
		return 0;
	/* A lock we cannot read (being written, or damaged) is not a holder. */
	if (repo_object_read(s->r, OBJ_LOCK, name, REPO_LOCK_MAX, &plain, &ignore) != 0 ||
	    lock_decode(plain.data, plain.len, &l, &ignore) != 0) {
		e = 0;
		goto out;
	}
	if (s->cb) {
		e = s->cb(name, &l, s->arg);
		goto out;
	}
	if (lock_is_stale(&l, s->now)) {
		if (same_host(&l))
			(void)backend_remove(s->r->be, OBJ_LOCK, name, &ignore);
		e = 0;
		goto out;
	}
	if (s->exclusive || l.exclusive) {
		s->conflict = 1;
		time_format_local(l.time_ns, when, sizeof(when));
		snprintf(s->who, sizeof(s->who), "%s lock held by %s@%s pid %lld (%s), refreshed %s",
			 l.exclusive ? "an exclusive" : "a", l.user, l.host, (long long)l.pid,
			 l.command ? l.command : "?", when);
	}
	e = 0;
out:
	lock_info_release(&l);
	buf_release(&plain);
	return e;
}

static int
find_conflict(struct repo *r, int exclusive, struct lock_scan *s, struct mm_ctx *c)
{
	memset(s, 0, sizeof(*s));
	s->r = r;
	s->exclusive = exclusive;
	s->now = time_now_ns();
	s->c = c;
	return backend_list(r->be, OBJ_LOCK, scan_lock, s, c);
}

static int
write_lock(struct repo *r, struct mm_ctx *c)
{
	struct buf plain = BUF_INIT;
	char name[65];
	int e;

	r->lock.time_ns = time_now_ns();
	if ((e = lock_encode(&r->lock, &plain)) != 0) {
		mm_fail(c, e, "cannot encode lock");
		goto out;
	}
	if ((e = repo_object_write(r, OBJ_LOCK, &plain, name, c)) != 0)
		goto out;
	if (r->lock_name[0] != '\0' && strcmp(name, r->lock_name) != 0) {
		struct mm_ctx ignore = MM_CTX_INIT;
		(void)backend_remove(r->be, OBJ_LOCK, r->lock_name, &ignore);
	}
	memcpy(r->lock_name, name, sizeof(r->lock_name));
	r->lock_time_ns = r->lock.time_ns;
out:
	buf_release(&plain);
	return e;
}

int
repo_lock(struct repo *r, int exclusive, const char *command, struct mm_ctx *c)
{
	struct lock_scan s;
	int e;

	if ((e = find_conflict(r, exclusive, &s, c)) != 0)
		return e;
	if (s.conflict)
		return mm_fail(c, MM_ELOCKED, "repository is locked: %s", s.who);
	r->lock.host = repo_hostname();
	r->lock.user = repo_username();
	r->lock.command = strdup(command ? command : "");
	r->lock.pid = getpid();
	r->lock.exclusive = exclusive;
	if (!r->lock.host || !r->lock.user || !r->lock.command) {
		lock_info_release(&r->lock);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	if ((e = write_lock(r, c)) != 0) {
		lock_info_release(&r->lock);
		return e;
	}
	/* Two processes may have looked at the same time: look again. */
	if ((e = find_conflict(r, exclusive, &s, c)) == 0 && s.conflict)
		e = mm_fail(c, MM_ELOCKED, "repository is locked: %s", s.who);
	if (e != 0)
		repo_unlock(r);
	return e;
}

/* Called from every walker thread: one of them rewrites the lock, the
 * others go on (the lock is fresh enough for another refresh period). */
int
repo_lock_refresh(struct repo *r, struct mm_ctx *c)
{
	int64_t t = atomic_load(&r->lock_time_ns);
	int e = 0;

	if (t == 0 || time_now_ns() - t < LOCK_REFRESH_NS)
		return 0; /* not locked, or fresh */
	if (pthread_mutex_trylock(&r->lock_mu) != 0)
		return 0;
	if (r->lock_name[0] != '\0' && time_now_ns() - r->lock_time_ns >= LOCK_REFRESH_NS)
		e = write_lock(r, c);
	pthread_mutex_unlock(&r->lock_mu);
	return e;
}

void
repo_unlock(struct repo *r)
{
	struct mm_ctx ignore = MM_CTX_INIT;

	if (r->lock_name[0] != '\0')
		(void)backend_remove(r->be, OBJ_LOCK, r->lock_name, &ignore);
	r->lock_name[0] = '\0';
	lock_info_release(&r->lock);
}

int
repo_list_locks(struct repo *r, int (*cb)(const char *name, const struct lock_info *l, void *arg),
		void *arg, struct mm_ctx *c)
{
	struct lock_scan s;

	memset(&s, 0, sizeof(s));
	s.r = r;
	s.now = time_now_ns();
	s.cb = cb;
	s.arg = arg;
	s.c = c;
	return backend_list(r->be, OBJ_LOCK, scan_lock, &s, c);
}
