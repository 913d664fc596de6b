/*
 * Locks: one encrypted lock object per process (docs/repository-format.md,
 * Locks). Shared locks coexist, but two maintenance locks (prune, forget)
 * do not; an exclusive lock excludes every other. A lock of a process of
 * this host that is gone (or whose pid now names a younger process) is
 * dead and removed on the way; a lock not refreshed for LOCK_STALE_NS is
 * stale: still in the way, reported with its holder and age, until
 * 'mamori unlock' removes it. A thread refreshes our lock while it is held.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "repo/repo.h"
#include "repo/repo_internal.h"

/* A process started this long after a lock's last refresh cannot hold it
 * (start times are known to a tick, boot time to a second). */
#define LOCK_PID_SLACK_NS (2LL * 1000000000)

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

/* When pid started, in ns since the epoch (0 if unknown): field 22 of
 * /proc/PID/stat in clock ticks since boot, plus btime of /proc/stat. */
static int64_t
pid_start_ns(int64_t pid)
{
	struct buf b = BUF_INIT;
	struct mm_ctx ignore = MM_CTX_INIT;
	char path[64], *p, *end;
	unsigned long long ticks = 0, btime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	int field;

	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	if (hz <= 0 || file_read_all(path, 4096, &b, &ignore) != 0 || buf_append_u8(&b, 0) != 0)
		goto fail;
	/* The command name (field 2) may hold spaces and parentheses: skip to
	 * the last ')'. */
	if ((p = strrchr((char *)b.data, ')')) == NULL)
		goto fail;
	for (field = 2; field < 22 && *p != '\0'; p++)
		if (*p == ' ')
			field++;
	ticks = strtoull(p, &end, 10);
	if (end == p)
		goto fail;
	buf_release(&b);
	if (file_read_all("/proc/stat", 1u << 20, &b, &ignore) != 0 || buf_append_u8(&b, 0) != 0 ||
	    (p = strstr((char *)b.data, "\nbtime ")) == NULL)
		goto fail;
	btime = strtoull(p + 7, NULL, 10);
	buf_release(&b);
	return (int64_t)btime * 1000000000 + (int64_t)(ticks * (1000000000ULL / (unsigned long)hz));
fail:
	buf_release(&b);
	return 0;
}

enum lock_state
lock_state(const struct lock_info *l, int64_t now_ns)
{
	if (same_host(l) && l->pid > 0 && l->pid <= INT32_MAX) {
		int64_t started;

		if (kill((pid_t)l->pid, 0) != 0 && errno == ESRCH)
			return LOCK_DEAD;
		started = pid_start_ns(l->pid);
		if (started != 0 && started > l->time_ns + LOCK_PID_SLACK_NS)
			return LOCK_DEAD; /* the pid was reused */
	}
	if (now_ns - l->time_ns > LOCK_STALE_NS)
		return LOCK_STALE;
	return LOCK_LIVE;
}

int
lock_is_stale(const struct lock_info *l, int64_t now_ns)
{
	return lock_state(l, now_ns) != LOCK_LIVE;
}

static int
is_maintenance(const char *command)
{
	return command != NULL && (strcmp(command, "prune") == 0 || strcmp(command, "forget") == 0);
}

int
lock_conflicts(int exclusive, const char *command, const struct lock_info *o)
{
	return exclusive || o->exclusive || (is_maintenance(command) && is_maintenance(o->command));
}

struct lock_scan {
	struct repo *r;
	int exclusive;
	const char *command;
	int64_t now;
	int conflict, stale_only;
	char who[768];
	int (*cb)(const char *name, const struct lock_info *l, void *arg);
	void *arg;
	struct mm_ctx *c;
};

static void
describe(const struct lock_info *l, int64_t now, char *out, size_t n)
{
	char when[32];
	int64_t age = (now - l->time_ns) / 1000000000;

	time_format_local(l->time_ns, when, sizeof(when));
	if (age < 0)
		age = 0;
	snprintf(out, n, "%s lock held by %s@%s pid %lld (%s), refreshed %s, %lld min %lld s ago",
		 l->exclusive ? "an exclusive" : "a shared", l->user, l->host, (long long)l->pid,
		 l->command ? l->command : "?", when, (long long)(age / 60), (long long)(age % 60));
}

/* Read and decode a lock; 1 (and nothing) when it cannot be read: being
 * written, removed meanwhile, or damaged, it is not a holder. */
static int
read_lock(struct repo *r, const char *name, struct lock_info *l)
{
	struct buf plain = BUF_INIT;
	struct mm_ctx ignore = MM_CTX_INIT;
	int bad;

	memset(l, 0, sizeof(*l));
	bad = repo_object_read(r, OBJ_LOCK, name, REPO_LOCK_MAX, &plain, &ignore) != 0 ||
	      lock_decode(plain.data, plain.len, l, &ignore) != 0;
	buf_release(&plain);
	return bad;
}

static int
scan_lock(const char *name, uint64_t size, void *arg)
{
	struct lock_scan *s = arg;
	struct lock_info l;
	struct mm_ctx ignore = MM_CTX_INIT;
	enum lock_state st;
	int e = 0;

	if (strcmp(name, s->r->lock_name) == 0 || read_lock(s->r, name, &l) != 0)
		return 0;
	if (s->cb) {
		e = s->cb(name, &l, s->arg);
		goto out;
	}
	st = lock_state(&l, s->now);
	if (st == LOCK_DEAD) {
		(void)backend_remove(s->r->be, OBJ_LOCK, name, &ignore);
		goto out;
	}
	if (lock_conflicts(s->exclusive, s->command, &l)) {
		/* A live holder is named first: it is the one to wait for. */
		if (!s->conflict || (s->stale_only && st == LOCK_LIVE)) {
			describe(&l, s->now, s->who, sizeof(s->who));
			s->stale_only = st == LOCK_STALE;
		}
		s->conflict = 1;
	}
out:
	lock_info_release(&l);
	return e;
}

static int
find_conflict(struct repo *r, int exclusive, const char *command, struct lock_scan *s,
	      struct mm_ctx *c)
{
	memset(s, 0, sizeof(*s));
	s->r = r;
	s->exclusive = exclusive;
	s->command = command;
	s->now = time_now_ns();
	s->c = c;
	return backend_list(r->be, OBJ_LOCK, scan_lock, s, c);
}

static int
conflict_error(const struct lock_scan *s, struct mm_ctx *c)
{
	if (s->stale_only)
		return mm_fail(c, MM_ESTALELOCK, "repository is locked: %s; the lock is stale "
			       "(not refreshed for %lld min): if that process is gone, remove it "
			       "with 'mamori unlock'", s->who, LOCK_STALE_NS / 60000000000LL);
	return mm_fail(c, MM_ELOCKED, "repository is locked: %s", s->who);
}

/* Under lock_mu. */
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
		if (backend_remove(r->be, OBJ_LOCK, r->lock_name, &ignore) == MM_ENOENT)
			atomic_store(&r->lock_err, MM_ELOCKED); /* someone removed it */
	}
	memcpy(r->lock_name, name, sizeof(r->lock_name));
	atomic_store(&r->lock_time_ns, r->lock.time_ns);
out:
	buf_release(&plain);
	return e;
}

static int64_t
refresh_period(const struct repo *r)
{
	return r->lock_refresh_ns > 0 ? r->lock_refresh_ns : LOCK_REFRESH_NS;
}

static void *
refresher_main(void *arg)
{
	struct repo *r = arg;

	pthread_mutex_lock(&r->refresh_mu);
	while (!r->refresh_stop) {
		struct timespec ts;
		int64_t at;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + refresh_period(r);
		ts.tv_sec = (time_t)(at / 1000000000);
		ts.tv_nsec = (long)(at % 1000000000);
		while (!r->refresh_stop &&
		       pthread_cond_timedwait(&r->refresh_cv, &r->refresh_mu, &ts) != ETIMEDOUT)
			;
		if (r->refresh_stop)
			break;
		pthread_mutex_unlock(&r->refresh_mu);
		pthread_mutex_lock(&r->lock_mu);
		if (r->lock_name[0] != '\0') {
			struct mm_ctx c = MM_CTX_INIT;
			int e = write_lock(r, &c);
			if (e != 0)
				atomic_store(&r->lock_err, e);
		}
		pthread_mutex_unlock(&r->lock_mu);
		pthread_mutex_lock(&r->refresh_mu);
	}
	pthread_mutex_unlock(&r->refresh_mu);
	return NULL;
}

static void
refresher_stop(struct repo *r)
{
	if (!r->refresher_on)
		return;
	pthread_mutex_lock(&r->refresh_mu);
	r->refresh_stop = 1;
	pthread_cond_broadcast(&r->refresh_cv);
	pthread_mutex_unlock(&r->refresh_mu);
	pthread_join(r->refresher, NULL);
	r->refresher_on = 0;
	r->refresh_stop = 0;
}

static int
fill_lock(struct lock_info *l, int exclusive, const char *command)
{
	l->host = repo_hostname();
	l->user = repo_username();
	l->command = strdup(command ? command : "");
	l->pid = getpid();
	l->exclusive = exclusive;
	if (!l->host || !l->user || !l->command) {
		lock_info_release(l);
		return MM_ENOMEM;
	}
	return 0;
}

int
repo_lock(struct repo *r, int exclusive, const char *command, struct mm_ctx *c)
{
	struct lock_scan s;
	struct lock_info old;
	int e, relock;

	if ((e = find_conflict(r, exclusive, command, &s, c)) != 0)
		return e;
	if (s.conflict)
		return conflict_error(&s, c);
	pthread_mutex_lock(&r->lock_mu);
	relock = r->lock_name[0] != '\0';
	old = r->lock;
	memset(&r->lock, 0, sizeof(r->lock));
	if ((e = fill_lock(&r->lock, exclusive, command)) != 0) {
		r->lock = old;
		pthread_mutex_unlock(&r->lock_mu);
		return mm_fail(c, e, "out of memory");
	}
	if ((e = write_lock(r, c)) != 0) {
		lock_info_release(&r->lock);
		r->lock = old;
		pthread_mutex_unlock(&r->lock_mu);
		return e;
	}
	pthread_mutex_unlock(&r->lock_mu);
	/* Two processes may have looked at the same time: look again. */
	if ((e = find_conflict(r, exclusive, command, &s, c)) == 0 && s.conflict)
		e = conflict_error(&s, c);
	if (e != 0) {
		if (relock) {
			/* Back to the lock we had (e.g. prune's shared lock). */
			struct mm_ctx ignore = MM_CTX_INIT;
			pthread_mutex_lock(&r->lock_mu);
			lock_info_release(&r->lock);
			r->lock = old;
			memset(&old, 0, sizeof(old));
			if (write_lock(r, &ignore) != 0)
				atomic_store(&r->lock_err, MM_EIO);
			pthread_mutex_unlock(&r->lock_mu);
		} else {
			repo_unlock(r);
		}
		lock_info_release(&old);
		return e;
	}
	lock_info_release(&old);
	if (!r->refresher_on) {
		if (pthread_create(&r->refresher, NULL, refresher_main, r) != 0) {
			repo_unlock(r);
			return mm_fail(c, MM_ENOMEM, "cannot start the lock refresher thread");
		}
		r->refresher_on = 1;
	}
	return 0;
}

int
repo_lock_wait(struct repo *r, int exclusive, const char *command, int64_t wait_ns,
	       struct mm_ctx *c)
{
	double until = time_mono() + (double)wait_ns / 1e9;
	double pause = 0.1;
	int e;

	for (;;) {
		e = repo_lock(r, exclusive, command, c);
		if ((e != MM_ELOCKED && e != MM_ESTALELOCK) || time_mono() >= until)
			return e;
		{
			double left = until - time_mono();
			double p = pause < left ? pause : left;
			struct timespec ts;

			if (p < 0)
				p = 0;
			ts.tv_sec = (time_t)p;
			ts.tv_nsec = (long)((p - (double)ts.tv_sec) * 1e9);
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
		pause = pause * 1.5 < 2.0 ? pause * 1.5 : 2.0;
	}
}

/* Called from every walker thread: one of them rewrites the lock, the
 * others go on (the lock is fresh enough for another refresh period). */
int
repo_lock_refresh(struct repo *r, struct mm_ctx *c)
{
	int64_t t = atomic_load(&r->lock_time_ns);
	int e = atomic_load(&r->lock_err);

	if (e == MM_ELOCKED)
		return mm_fail(c, e, "our lock was removed by another process ('mamori unlock "
			       "--remove-all'?): stopping");
	if (e != 0)
		return mm_fail(c, e, "the lock could not be refreshed");
	if (t == 0 || time_now_ns() - t < refresh_period(r))
		return 0; /* not locked, or fresh */
	if (pthread_mutex_trylock(&r->lock_mu) != 0)
		return 0;
	if (r->lock_name[0] != '\0' && time_now_ns() - r->lock_time_ns >= refresh_period(r))
		e = write_lock(r, c);
	pthread_mutex_unlock(&r->lock_mu);
	return e;
}

int
repo_lock_check(struct repo *r, struct mm_ctx *c)
{
	char name[65];
	uint64_t size;
	int e;

	if ((e = repo_lock_refresh(r, c)) != 0)
		return e;
	/* Under lock_mu: the refresher must not replace the lock meanwhile. */
	pthread_mutex_lock(&r->lock_mu);
	memcpy(name, r->lock_name, sizeof(name));
	e = name[0] == '\0' ? MM_ENOENT : backend_stat(r->be, OBJ_LOCK, name, &size, c);
	pthread_mutex_unlock(&r->lock_mu);
	if (name[0] == '\0')
		return mm_fail(c, MM_ELOCKED, "the repository is not locked by us");
	if (e == MM_ENOENT)
		return mm_fail(c, MM_ELOCKED, "our lock was removed by another process "
			       "('mamori unlock --remove-all'?): stopping");
	return e;
}

void
repo_unlock(struct repo *r)
{
	struct mm_ctx ignore = MM_CTX_INIT;

	refresher_stop(r);
	if (r->lock_name[0] != '\0')
		(void)backend_remove(r->be, OBJ_LOCK, r->lock_name, &ignore);
	r->lock_name[0] = '\0';
	atomic_store(&r->lock_time_ns, 0);
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

struct remover {
	struct repo *r;
	int all;
	int64_t now;
	void (*cb)(void *arg, const struct lock_info *l, enum lock_state st, int removed);
	void *arg;
	int err;
	struct mm_ctx *c;
};

static int
remove_one(const char *name, const struct lock_info *l, void *arg)
{
	struct remover *m = arg;
	enum lock_state st = lock_state(l, m->now);
	int removed = 0, e;

	if (m->all || st != LOCK_LIVE) {
		e = backend_remove(m->r->be, OBJ_LOCK, name, m->c);
		if (e == 0 || e == MM_ENOENT)
			removed = 1;
		else if (m->err == 0)
			m->err = e;
	}
	if (m->cb)
		m->cb(m->arg, l, st, removed);
	return 0;
}

int
repo_remove_locks(struct repo *r, int all,
		  void (*cb)(void *arg, const struct lock_info *l, enum lock_state st, int removed),
		  void *arg, struct mm_ctx *c)
{
	struct remover m = { r, all, time_now_ns(), cb, arg, 0, c };
	int e;

	if ((e = repo_list_locks(r, remove_one, &m, c)) != 0)
		return e;
	return m.err;
}
