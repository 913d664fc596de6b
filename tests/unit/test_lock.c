/* Unit tests for locks: maintenance locks, upgrade, dead and stale locks,
 * their removal, and the refresher thread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "repo/repo.h"

struct fx {
	char dir[64];
	char repo[96];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct repo_init_opts o;
	struct mm_ctx c = MM_CTX_INIT;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mamori-test-lock-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	memset(&o, 0, sizeof(o));
	o.fast_kdf = 1;
	assert_int_equal(repo_init(f->repo, "pw", &o, &c), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct repo *
open_ok(const struct fx *f)
{
	struct repo *r = NULL;
	struct mm_ctx c = MM_CTX_INIT;

	assert_int_equal(repo_open(f->repo, "pw", &r, &c), 0);
	return r;
}

static int
count_cb(const char *name, const struct lock_info *l, void *arg)
{
	(void)name;
	(void)l;
	(*(int *)arg)++;
	return 0;
}

static int
nlocks(struct repo *r)
{
	struct mm_ctx c = MM_CTX_INIT;
	int n = 0;

	assert_int_equal(repo_list_locks(r, count_cb, &n, &c), 0);
	return n;
}

/* Write a lock object as another process would have. */
static void
plant(struct repo *r, const char *host, int64_t pid, int64_t time_ns, int exclusive)
{
	struct lock_info l = { 0 };
	struct buf plain = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	char name[65];

	l.host = (char *)host;
	l.user = (char *)"sato";
	l.pid = pid;
	l.time_ns = time_ns;
	l.exclusive = exclusive;
	l.command = (char *)"backup";
	assert_int_equal(lock_encode(&l, &plain), 0);
	assert_int_equal(repo_object_write(r, OBJ_LOCK, &plain, name, &c), 0);
	buf_release(&plain);
}

static void
test_maintenance_locks(void **state)
{
	struct fx *f = *state;
	struct repo *a = open_ok(f), *b = open_ok(f), *p = open_ok(f);
	struct mm_ctx c = MM_CTX_INIT;

	assert_int_equal(repo_lock(p, 0, "prune", &c), 0);
	assert_int_equal(repo_lock(a, 0, "backup", &c), 0); /* backups run beside prune */
	assert_int_equal(repo_lock(b, 0, "forget", &c), MM_ELOCKED); /* not two maintenances */
	assert_non_null(strstr(c.msg, "(prune)"));
	assert_int_equal(repo_lock(b, 0, "prune", &c), MM_ELOCKED);
	/* Upgrade to exclusive while a backup holds a shared lock: refused, and
	 * the shared prune lock stays. */
	assert_int_equal(repo_lock(p, 1, "prune", &c), MM_ELOCKED);
	assert_non_null(strstr(c.msg, "(backup)"));
	assert_int_equal(nlocks(b), 2);
	assert_int_equal(repo_lock(b, 0, "forget", &c), MM_ELOCKED);
	repo_unlock(a);
	assert_int_equal(repo_lock(p, 1, "prune", &c), 0);
	assert_int_equal(nlocks(b), 1);
	assert_int_equal(repo_lock(a, 0, "backup", &c), MM_ELOCKED);
	assert_non_null(strstr(c.msg, "an exclusive lock held by"));
	repo_free(p);
	assert_int_equal(repo_lock(a, 0, "backup", &c), 0);
	repo_free(a);
	repo_free(b);
}

static void
test_dead_and_stale(void **state)
{
	struct fx *f = *state;
	struct repo *r = open_ok(f);
	struct mm_ctx c = MM_CTX_INIT;
	struct lock_info l = { 0 };
	char host[256];
	int64_t now = time_now_ns();

	assert_int_equal(gethostname(host, sizeof(host)), 0);
	/* A lock of a process of this host that is gone: removed on the way. */
	plant(r, host, 0x7ffffff0, now, 1);
	assert_int_equal(nlocks(r), 1);
	assert_int_equal(repo_lock(r, 0, "backup", &c), 0);
	repo_unlock(r);
	assert_int_equal(nlocks(r), 0);
	/* Our own pid, but the lock is older than this process: the pid was
	 * reused, the lock is dead. */
	l.host = host;
	l.pid = getpid();
	l.time_ns = now - 3600LL * 1000000000;
	assert_int_equal(lock_state(&l, now), LOCK_DEAD);
	l.time_ns = now;
	assert_int_equal(lock_state(&l, now), LOCK_LIVE);
	/* Another host, not refreshed for 31 minutes: stale, in the way,
	 * reported with host, pid and age. */
	plant(r, "elsewhere.example", 4242, now - 31LL * 60 * 1000000000, 0);
	assert_int_equal(repo_lock(r, 1, "prune", &c), MM_ESTALELOCK);
	assert_non_null(strstr(c.msg, "sato@elsewhere.example pid 4242 (backup)"));
	assert_non_null(strstr(c.msg, ", 31 min "));
	assert_non_null(strstr(c.msg, "mamori unlock"));
	/* A live lock of another host as well: that one is named (wait for it). */
	plant(r, "other.example", 77, now, 0);
	assert_int_equal(repo_lock(r, 1, "prune", &c), MM_ELOCKED);
	assert_non_null(strstr(c.msg, "pid 77"));
	/* unlock removes the stale one only; --remove-all the rest. */
	assert_int_equal(repo_remove_locks(r, 0, NULL, NULL, &c), 0);
	assert_int_equal(nlocks(r), 1);
	assert_int_equal(repo_remove_locks(r, 1, NULL, NULL, &c), 0);
	assert_int_equal(nlocks(r), 0);
	repo_free(r);
}

static void
test_lock_wait(void **state)
{
	struct fx *f = *state;
	struct repo *a = open_ok(f), *b = open_ok(f);
	struct mm_ctx c = MM_CTX_INIT;
	double t0;

	assert_int_equal(repo_lock(a, 1, "prune", &c), 0);
	t0 = time_mono();
	assert_int_equal(repo_lock_wait(b, 0, "backup", 300000000, &c), MM_ELOCKED);
	assert_true(time_mono() - t0 >= 0.3);
	assert_non_null(strstr(c.msg, "(prune)"));
	repo_free(a);
	assert_int_equal(repo_lock_wait(b, 0, "backup", 300000000, &c), 0);
	repo_free(b);
}

static int
name_cb(const char *name, const struct lock_info *l, void *arg)
{
	(void)l;
	memcpy(arg, name, 65);
	return 0;
}

/* The refresher thread rewrites the lock while the holder does anything
 * (here: nothing at all). */
static void
test_refresher(void **state)
{
	struct fx *f = *state;
	struct repo *r = open_ok(f), *o = open_ok(f);
	struct mm_ctx c = MM_CTX_INIT;
	char first[65] = "", now[65] = "";
	int64_t t1;

	r->lock_refresh_ns = 20000000; /* 20 ms */
	assert_int_equal(repo_lock(r, 0, "backup", &c), 0);
	assert_int_equal(repo_list_locks(o, name_cb, first, &c), 0);
	t1 = atomic_load(&r->lock_time_ns);
	/* Wait (bounded) until the lock object has been rewritten twice. */
	for (int i = 0; i < 1000 && atomic_load(&r->lock_time_ns) <= t1 + 20000000; i++) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	assert_true(atomic_load(&r->lock_time_ns) > t1);
	assert_int_equal(repo_list_locks(o, name_cb, now, &c), 0);
	assert_string_not_equal(first, now);
	assert_int_equal(nlocks(o), 1); /* the old one is gone */
	assert_int_equal(repo_lock_check(r, &c), 0);
	repo_free(r);
	/* Someone removes our lock: the holder hears of it (a holder with the
	 * normal refresh period, so no refresh races the removal). */
	r = open_ok(f);
	assert_int_equal(repo_lock(r, 0, "backup", &c), 0);
	assert_int_equal(repo_remove_locks(o, 1, NULL, NULL, &c), 0);
	assert_int_equal(repo_lock_check(r, &c), MM_ELOCKED);
	assert_non_null(strstr(c.msg, "removed"));
	repo_free(r);
	repo_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_maintenance_locks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_and_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresher, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
