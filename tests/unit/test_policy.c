/* Unit tests for src/policy: loading, due times, drill records, state. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"

#define S 1000000000LL

static char *
write_tmp(const char *text)
{
	char tmpl[] = "/tmp/mamori-test-policy-XXXXXX";
	int fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return strdup(tmpl);
}

static void
test_load_and_order(void **state)
{
	struct conf_schema sc = CONF_SCHEMA_INIT;
	struct policy p;
	struct mm_ctx c = MM_CTX_INIT;
	const struct policy_dataset *sel[3];
	char *names[] = { "c" };
	size_t n;
	char *path = write_tmp(
		"[repository r]\nurl = /tmp/x\noptions = threads=3\n"
		"[dataset c]\npaths = /a '/b c'\nrepository = r\npriority = 2\nrpo = 1h\n"
		"[dataset b]\ncommand = pg_dump -Fc db\nrepository = r\npriority = 1\nrpo = 15m\n"
		"rto = 4h\nschedule = hourly\ncheck = weekly 5%\nkeep = daily=7\n"
		"[dataset a]\npaths = /a\nrepository = r\npriority = 2\nrpo = 1d\n");

	(void)state;
	memset(&p, 0, sizeof(p));
	p.state_dir = "/tmp";
	assert_int_equal(policy_register(&sc), 0);
	assert_int_equal(policy_load(&sc, path, &p, &c), 0);
	assert_int_equal(p.nds, 3);
	assert_string_equal(p.ds[0].name, "b"); /* priority, then name */
	assert_string_equal(p.ds[1].name, "a");
	assert_string_equal(p.ds[2].name, "c");
	assert_string_equal(p.ds[0].command[2], "db");
	assert_null(p.ds[0].command[3]);
	assert_int_equal(p.ds[0].rpo, 900);
	assert_int_equal(p.ds[0].rto, 14400);
	assert_true(p.ds[0].has_check && p.ds[0].check_percent == 5.0);
	assert_string_equal(p.ds[0].check_when.text, "weekly");
	assert_string_equal(p.ds[0].keep, "daily=7");
	assert_int_equal(p.ds[2].npaths, 2);
	assert_string_equal(p.ds[2].paths[1], "/b c");
	assert_int_equal(p.ds[2].repo->threads, 3);
	assert_string_equal(p.state_dir, "/tmp");
	assert_int_equal(policy_select(&p, names, 1, sel, &n, &c), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sel[0]->name, "c");
	names[0] = "zz";
	assert_int_equal(policy_select(&p, names, 1, sel, &n, &c), MM_ENOENT);
	{
		char want[200];
		snprintf(want, sizeof(want), "no dataset 'zz' in %s", path);
		assert_string_equal(c.msg, want);
	}
	policy_release(&p);
	unlink(path);
	free(path);
}

static void
test_due(void **state)
{
	struct policy_dataset d;
	char err[300];
	int64_t t0 = 1796083200LL * S; /* 2026-12-01T00:00:00Z, a Tuesday */

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	memset(&d, 0, sizeof(d));
	d.rpo = 3600;
	assert_int_equal(policy_backup_due(&d, 0, t0), 1);          /* never */
	assert_int_equal(policy_backup_due(&d, t0, t0 + 1799 * S), 0);
	assert_int_equal(policy_backup_due(&d, t0, t0 + 1800 * S), 1); /* half the RPO */
	d.has_schedule = 1;
	assert_int_equal(conf_calendar_parse("*-*-* 02:00", &d.schedule, err, sizeof(err)), 0);
	d.rpo = 86400;
	assert_int_equal(policy_backup_due(&d, t0, t0 + 7199 * S), 0);
	assert_int_equal(policy_backup_due(&d, t0, t0 + 7200 * S), 1); /* 02:00 */
	assert_int_equal(policy_backup_due(&d, t0 + 7200 * S, t0 + 7300 * S), 0);
	d.rpo = 3600; /* the schedule missed, 80 % of the RPO */
	assert_int_equal(policy_backup_due(&d, t0 + 7200 * S, t0 + (7200 + 2879) * S), 0);
	assert_int_equal(policy_backup_due(&d, t0 + 7200 * S, t0 + (7200 + 2880) * S), 1);
}

static void
test_drill_record(void **state)
{
	struct drill_record d, o;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.dataset = "住民記録";
	d.host = "srv1";
	d.time_ns = 42;
	snprintf(d.snapshot, sizeof(d.snapshot), "%064d", 7);
	d.files = 3;
	d.bytes = 1000;
	d.bytes_total = 4000;
	d.seconds = 0.5;
	d.projected = 2.0;
	d.cumulative = 3.5;
	d.rto = 14400;
	d.sample = 25;
	d.ok = 1;
	d.error = "";
	assert_int_equal(drill_record_encode(&d, &b), 0);
	assert_memory_equal(b.data, "MMDR\x01\x00", 6);
	assert_int_equal(drill_record_decode(b.data, b.len, &o, &c), 0);
	assert_string_equal(o.dataset, "住民記録");
	assert_string_equal(o.host, "srv1");
	assert_string_equal(o.snapshot, d.snapshot);
	assert_int_equal(o.files, 3);
	assert_true(o.seconds == 0.5 && o.projected == 2.0 && o.cumulative == 3.5 && o.sample == 25);
	assert_int_equal(o.rto, 14400);
	assert_int_equal(o.ok, 1);
	drill_record_release(&o);
	/* every truncation and a trailing byte are refused */
	for (size_t n = 0; n < b.len; n++)
		assert_int_not_equal(drill_record_decode(b.data, n, &o, &c), 0);
	assert_int_equal(buf_append_u8(&b, 0), 0);
	assert_int_equal(drill_record_decode(b.data, b.len, &o, &c), MM_ECORRUPT);
	b.data[4] = 9;
	assert_int_equal(drill_record_decode(b.data, b.len, &o, &c), MM_EUNSUPPORTED);
	buf_release(&b);
}

static void
test_state_and_lock(void **state)
{
	char tmpl[] = "/tmp/mamori-test-policy-XXXXXX";
	struct policy p;
	struct policy_state st, back;
	struct mm_ctx c = MM_CTX_INIT;
	int fd, fd2;
	char cmd[100];

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	memset(&p, 0, sizeof(p));
	p.state_dir = tmpl;
	assert_int_equal(policy_state_read(&p, "a", &st, &c), 0); /* none yet */
	assert_int_equal(st.backup_ns, 0);
	st.backup_ns = 123;
	st.backup_ok = 1;
	st.check_ns = 456;
	snprintf(st.error, sizeof(st.error), "check: two\nlines");
	assert_int_equal(policy_state_write(&p, "a", &st, &c), 0);
	assert_int_equal(policy_state_read(&p, "a", &back, &c), 0);
	assert_int_equal(back.backup_ns, 123);
	assert_int_equal(back.backup_ok, 1);
	assert_int_equal(back.check_ns, 456);
	assert_int_equal(back.check_ok, 0);
	assert_string_equal(back.error, "check: two lines");
	assert_int_equal(policy_lock(&p, "a", &fd, &c), 0);
	assert_int_equal(policy_lock(&p, "a", &fd2, &c), MM_EBUSY);
	assert_int_equal(policy_lock(&p, "b", &fd2, &c), 0);
	close(fd2);
	close(fd);
	assert_int_equal(policy_lock(&p, "a", &fd, &c), 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "rm -r %s", tmpl);
	assert_int_equal(system(cmd), 0);
}

static void
test_parse_time(void **state)
{
	int64_t ns;

	(void)state;
	assert_int_equal(policy_parse_time("2026-12-01T00:00:00Z", &ns), 0);
	assert_int_equal(ns, 1796083200LL * S);
	assert_int_equal(policy_parse_time("@60", &ns), 0);
	assert_int_equal(ns, 60 * S);
	assert_int_equal(policy_parse_time("yesterday", &ns), MM_EINVAL);
	assert_int_equal(policy_parse_time("2026-12-01 00:00:00", &ns), MM_EINVAL);
}

/* The library end to end with a clock the test moves: run, then status
 * as time passes (the command-line test does the same through the CLI). */
static int64_t
test_clock(void *arg)
{
	return *(int64_t *)arg;
}

static void
test_run_and_status_with_a_clock(void **state)
{
	char dir[] = "/tmp/mamori-test-policy-XXXXXX";
	char conf[4096], path[200], repo[200], src[200], cmd[300];
	struct conf_schema sc = CONF_SCHEMA_INIT;
	struct repo_init_opts io;
	struct policy p;
	struct mm_ctx c = MM_CTX_INIT;
	const struct policy_dataset *ds[2];
	struct run_result rr[2];
	struct dataset_status st[2];
	struct run_opts ro;
	int64_t now = 1796083200LL * S; /* 2026-12-01T00:00:00Z */
	size_t n;
	FILE *f;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_non_null(mkdtemp(dir));
	snprintf(repo, sizeof(repo), "%s/repo", dir);
	snprintf(src, sizeof(src), "%s/src", dir);
	assert_int_equal(mkdir_p(src, 0700, &c), 0);
	snprintf(path, sizeof(path), "%s/src/a.txt", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("住民記録\n", f);
	fclose(f);
	memset(&io, 0, sizeof(io));
	io.fast_kdf = 1;
	assert_int_equal(repo_init(repo, "pw", &io, &c), 0);
	snprintf(conf, sizeof(conf),
		 "[repository r]\nurl = %s\n"
		 "[dataset files]\npaths = %s\nrepository = r\npriority = 1\nrpo = 1h\nrto = 1h\n"
		 "[dataset dump]\ncommand = cat %s\nrepository = r\npriority = 2\nrpo = 1d\n",
		 repo, src, path);
	snprintf(path, sizeof(path), "%s/mamori.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(conf, f);
	fclose(f);
	memset(&p, 0, sizeof(p));
	snprintf(cmd, sizeof(cmd), "%s/state", dir);
	p.state_dir = cmd;
	p.clock.now_ns = test_clock;
	p.clock.arg = &now;
	assert_int_equal(policy_register(&sc), 0);
	assert_int_equal(policy_load(&sc, path, &p, &c), 0);
	assert_int_equal(policy_select(&p, NULL, 0, ds, &n, &c), 0);
	assert_int_equal(n, 2);

	assert_int_equal(policy_status(&p, ds, n, "pw", st, &c), 0);
	assert_int_equal(st[0].verdict, VERDICT_CRITICAL);
	assert_string_equal(st[0].reason, "never backed up");
	dataset_status_release(&st[0]);
	dataset_status_release(&st[1]);

	memset(&ro, 0, sizeof(ro));
	ro.password = "pw";
	assert_int_equal(policy_run(&p, ds, n, &ro, rr, &c), 0);
	assert_int_equal(rr[0].step[STEP_BACKUP], STEP_DONE);
	assert_int_equal(rr[1].step[STEP_BACKUP], STEP_DONE);
	assert_int_equal(rr[0].step[STEP_COPY], STEP_NOT_DUE);

	now += 10 * 60 * S;
	assert_int_equal(policy_status(&p, ds, n, "pw", st, &c), 0);
	assert_int_equal(st[0].verdict, VERDICT_OK);
	assert_int_equal(st[0].age, 600);
	assert_int_equal(st[0].snapshot_ns, 1796083200LL * S); /* the clock's time */
	assert_string_equal(st[0].reason, "last backup 10m ago, 16% of its RPO of 1h");
	dataset_status_release(&st[0]);
	dataset_status_release(&st[1]);

	now += 40 * 60 * S; /* 50 minutes */
	assert_int_equal(policy_status(&p, ds, n, "pw", st, &c), 0);
	assert_int_equal(st[0].verdict, VERDICT_WARNING);
	assert_int_equal(st[1].verdict, VERDICT_OK);
	dataset_status_release(&st[0]);
	dataset_status_release(&st[1]);

	now += 20 * 60 * S; /* 70 minutes */
	assert_int_equal(policy_status(&p, ds, n, "pw", st, &c), 0);
	assert_int_equal(st[0].verdict, VERDICT_CRITICAL);
	assert_string_equal(st[0].reason, "last backup 1h10m ago, over its RPO of 1h");
	dataset_status_release(&st[0]);
	dataset_status_release(&st[1]);

	/* a second run right away: files is due (past half its RPO), dump is not */
	assert_int_equal(policy_run(&p, ds, n, &ro, rr, &c), 0);
	assert_int_equal(rr[0].step[STEP_BACKUP], STEP_DONE);
	assert_int_equal(rr[1].step[STEP_BACKUP], STEP_NOT_DUE);
	policy_release(&p);
	snprintf(cmd, sizeof(cmd), "rm -r %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_and_order),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_drill_record),
		cmocka_unit_test(test_state_and_lock),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_run_and_status_with_a_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
