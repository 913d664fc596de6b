/* Unit tests for the retention policy: a table of snapshot times, a policy
 * and a time zone, with the reasons each snapshot is kept for ("-": removed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/ops.h"

#define MAXN 12

struct fcase {
	const char *name;
	const char *tz;
	const char *policy;             /* forget_policy_parse form */
	const char *times[MAXN];        /* UTC, "YYYY-MM-DD HH:MM:SS", any order */
	const char *tags[MAXN];         /* comma-separated tags of each snapshot */
	const char *expect[MAXN];       /* reasons joined by '+', "-" removed */
};

static const struct fcase cases[] = {
	{ "keep-last 3 of 5", "UTC", "last=3",
	  { "2026-05-01 10:00:00", "2026-05-02 10:00:00", "2026-05-03 10:00:00",
	    "2026-05-04 10:00:00", "2026-05-05 10:00:00" }, { 0 },
	  { "-", "-", "last", "last", "last" } },
	{ "input order does not matter", "UTC", "last=2",
	  { "2026-05-05 10:00:00", "2026-05-01 10:00:00", "2026-05-04 10:00:00" }, { 0 },
	  { "last", "-", "last" } },
	{ "daily across a month boundary: the newest of each day", "UTC", "daily=3",
	  { "2026-01-30 10:00:00", "2026-01-30 20:00:00", "2026-01-31 09:00:00",
	    "2026-02-01 00:30:00", "2026-02-01 23:59:59" }, { 0 },
	  { "-", "daily", "daily", "-", "daily" } },
	{ "days without snapshots do not count", "UTC", "daily=2",
	  { "2026-03-01 10:00:00", "2026-03-10 10:00:00", "2026-03-20 10:00:00" }, { 0 },
	  { "-", "daily", "daily" } },
	{ "monthly and yearly across a year boundary", "UTC", "monthly=2 yearly=3",
	  { "2024-06-01 00:00:00", "2025-11-30 12:00:00", "2025-12-01 08:00:00",
	    "2025-12-31 23:00:00", "2026-01-01 00:10:00" }, { 0 },
	  { "yearly", "-", "-", "monthly+yearly", "monthly+yearly" } },
	{ "ISO week 53 of 2026 runs into 2027; week 1 starts on Monday 4 January",
	  "UTC", "weekly=2",
	  { "2026-12-28 09:00:00", "2027-01-01 09:00:00", "2027-01-03 23:00:00",
	    "2027-01-04 01:00:00", "2027-01-05 09:00:00" }, { 0 },
	  { "-", "-", "weekly", "-", "weekly" } },
	{ "ISO week 1 of 2025 starts on Monday 30 December 2024", "UTC", "weekly=2",
	  { "2024-12-29 12:00:00", "2024-12-30 12:00:00", "2025-01-02 12:00:00" }, { 0 },
	  { "weekly", "-", "weekly" } },
	{ "the same instants, daily in UTC", "UTC", "daily=2",
	  { "2026-02-28 12:00:00", "2026-03-01 14:30:00", "2026-03-01 16:00:00" }, { 0 },
	  { "daily", "-", "daily" } },
	{ "the same instants, daily in Tokyo (UTC+9): two days", "Asia/Tokyo", "daily=2",
	  { "2026-02-28 12:00:00", "2026-03-01 14:30:00", "2026-03-01 16:00:00" }, { 0 },
	  { "-", "daily", "daily" } },
	{ "the same instants, monthly in New York (UTC-5): February", "America/New_York",
	  "monthly=2",
	  { "2026-02-28 12:00:00", "2026-03-01 03:30:00", "2026-03-01 16:00:00" }, { 0 },
	  { "-", "monthly", "monthly" } },
	{ "the same instants, monthly in UTC", "UTC", "monthly=2",
	  { "2026-02-28 12:00:00", "2026-03-01 03:30:00", "2026-03-01 16:00:00" }, { 0 },
	  { "monthly", "-", "monthly" } },
	{ "DST ends in Berlin: the repeated 02:00 hour is one bucket", "Europe/Berlin",
	  "hourly=3",
	  { "2026-10-25 00:30:00", "2026-10-25 01:30:00", "2026-10-25 02:30:00",
	    "2026-10-24 23:10:00" }, { 0 },
	  { "-", "hourly", "hourly", "hourly" } },
	{ "the same hours in UTC are three buckets", "UTC", "hourly=3",
	  { "2026-10-25 00:30:00", "2026-10-25 01:30:00", "2026-10-25 02:30:00",
	    "2026-10-24 23:10:00" }, { 0 },
	  { "hourly", "hourly", "hourly", "-" } },
	{ "keep-within 1d over the start of DST in Berlin is 23 hours", "Europe/Berlin",
	  "within=1d",
	  { "2026-03-28 10:30:00", "2026-03-28 11:30:00", "2026-03-29 10:00:00" }, { 0 },
	  { "-", "within", "within" } },
	{ "keep-within 1d in UTC is 24 hours", "UTC", "within=1d",
	  { "2026-03-28 09:59:59", "2026-03-28 10:30:00", "2026-03-29 10:00:00" }, { 0 },
	  { "-", "within", "within" } },
	{ "keep-within 1m from 31 March: 31 February is 3 March; strictly after", "UTC",
	  "within=1m",
	  { "2026-03-02 12:00:00", "2026-03-03 12:00:00", "2026-03-03 12:00:01",
	    "2026-03-31 12:00:00" }, { 0 },
	  { "-", "-", "within", "within" } },
	{ "keep-within 1y2h is relative to the newest snapshot, not now", "UTC",
	  "within=1y2h",
	  { "2019-01-01 09:00:00", "2019-01-01 10:00:01", "2020-01-01 12:00:00" }, { 0 },
	  { "-", "within", "within" } },
	{ "keep-tag: every tag of one list", "UTC", "tag=a,b tag=c",
	  { "2026-01-01 00:00:00", "2026-01-02 00:00:00", "2026-01-03 00:00:00",
	    "2026-01-04 00:00:00" },
	  { "a", "b,a", "c,x", "" },
	  { "-", "tag", "tag", "-" } },
	{ "rules combine; each counts on its own", "UTC", "last=2 daily=2 weekly=unlimited",
	  { "2026-06-01 08:00:00", "2026-06-08 08:00:00", "2026-06-09 08:00:00",
	    "2026-06-09 18:00:00" }, { 0 },
	  { "weekly", "daily", "last", "last+daily+weekly" } },
	{ "daily=unlimited keeps one a day", "UTC", "daily=unlimited",
	  { "2020-01-01 01:00:00", "2020-01-01 02:00:00", "2021-07-04 02:00:00" }, { 0 },
	  { "-", "daily", "daily" } },
	{ "equal times: the later one counts as newer", "UTC", "last=1",
	  { "2026-01-01 00:00:00", "2026-01-01 00:00:00" }, { 0 },
	  { "-", "last" } },
};

static int64_t
utc_ns(const char *s)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	assert_non_null(end);
	assert_int_equal(*end, '\0');
	return (int64_t)timegm(&tm) * 1000000000;
}

static void
reasons_str(unsigned r, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	if (r == 0) {
		snprintf(out, n, "-");
		return;
	}
	for (unsigned i = 0; i < FORGET_REASONS; i++)
		if (r & (1u << i))
			len += (size_t)snprintf(out + len, n - len, "%s%s", len ? "+" : "",
						forget_reason_name(i));
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		const struct fcase *fc = &cases[ci];
		struct forget_policy p = FORGET_POLICY_INIT;
		struct forget_item items[MAXN];
		char *tagbuf[MAXN] = { 0 };
		const char *tagv[MAXN][4];
		struct mm_ctx c = MM_CTX_INIT;
		size_t n = 0;

		memset(items, 0, sizeof(items));
		assert_int_equal(forget_policy_parse(fc->policy, &p, &c), 0);
		for (n = 0; n < MAXN && fc->times[n]; n++) {
			items[n].time_ns = utc_ns(fc->times[n]);
			if (fc->tags[n] && fc->tags[n][0]) {
				char *save = NULL, *t;
				tagbuf[n] = strdup(fc->tags[n]);
				for (t = strtok_r(tagbuf[n], ",", &save); t && items[n].ntags < 4;
				     t = strtok_r(NULL, ",", &save))
					tagv[n][items[n].ntags++] = t;
				items[n].tags = tagv[n];
			}
		}
		assert_int_equal(forget_apply(&p, fc->tz, items, n, &c), 0);
		for (size_t i = 0; i < n; i++) {
			char got[128];
			reasons_str(items[i].reasons, got, sizeof(got));
			if (strcmp(got, fc->expect[i]) != 0)
				fail_msg("case '%s' (%s): snapshot %s: got %s, want %s", fc->name,
					 fc->tz, fc->times[i], got, fc->expect[i]);
			free(tagbuf[i]);
		}
		forget_policy_release(&p);
	}
}

static void
test_tz_restored(void **state)
{
	struct forget_policy p = FORGET_POLICY_INIT;
	struct forget_item it = { 0 };
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	p.daily = 1;
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	assert_int_equal(forget_apply(&p, "UTC", &it, 1, &c), 0);
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
	tzset();
	assert_int_equal(forget_apply(&p, "Europe/Berlin", &it, 1, &c), 0);
	assert_null(getenv("TZ"));
}

static void
test_empty_policy(void **state)
{
	struct forget_policy p = FORGET_POLICY_INIT;
	struct forget_item it = { 0 };
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	assert_true(forget_policy_empty(&p));
	assert_int_equal(forget_apply(&p, NULL, &it, 1, &c), MM_EINVAL);
	assert_non_null(strstr(c.msg, "--keep-none"));
	assert_int_equal(forget_policy_parse("daily=0 last=0", &p, &c), 0);
	assert_true(forget_policy_empty(&p));
}

static void
test_parse(void **state)
{
	struct forget_policy p = FORGET_POLICY_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	char out[256];
	static const char *const bad[] = {
		"daily", "daily=", "daily=-1", "daily=x", "daily=1000000001", "fortnightly=2",
		"within=", "within=3w", "within=1d1y", "within=1d2d", "within=d", "tag=",
		"within=5", NULL,
	};

	(void)state;
	assert_int_equal(forget_policy_parse("  hourly=24 daily=14\tweekly=8 monthly=12 "
					     "yearly=unlimited within=1y2m3d4h tag=a,b tag=c last=5 ",
					     &p, &c), 0);
	assert_int_equal(p.hourly, 24);
	assert_int_equal(p.daily, 14);
	assert_int_equal(p.weekly, 8);
	assert_int_equal(p.monthly, 12);
	assert_int_equal(p.yearly, FORGET_UNLIMITED);
	assert_int_equal(p.last, 5);
	assert_int_equal(p.within.years, 1);
	assert_int_equal(p.within.months, 2);
	assert_int_equal(p.within.days, 3);
	assert_int_equal(p.within.hours, 4);
	assert_int_equal(p.ntags, 2);
	assert_string_equal(p.tags[0], "a,b");
	forget_policy_format(&p, out, sizeof(out));
	assert_string_equal(out, "last=5 hourly=24 daily=14 weekly=8 monthly=12 "
			    "yearly=unlimited within=1y2m3d4h tag=a,b tag=c");
	forget_policy_release(&p);
	for (size_t i = 0; bad[i]; i++) {
		struct forget_policy q = FORGET_POLICY_INIT;
		c.msg[0] = '\0';
		if (forget_policy_parse(bad[i], &q, &c) != MM_EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(c.msg, "keep policy"));
		forget_policy_release(&q);
	}
	assert_int_equal(forget_policy_parse("fortnightly=2", &p, &c), MM_EINVAL);
	assert_string_equal(c.msg, "keep policy: unknown rule 'fortnightly' (last, hourly, "
			    "daily, weekly, monthly, yearly, within, tag)");
	forget_policy_release(&p);
}

static void
test_group_parse(void **state)
{
	unsigned g;

	(void)state;
	assert_int_equal(forget_group_parse("host,paths", &g), 0);
	assert_int_equal(g, FORGET_GROUP_HOST | FORGET_GROUP_PATHS);
	assert_int_equal(forget_group_parse("paths", &g), 0);
	assert_int_equal(g, FORGET_GROUP_PATHS);
	assert_int_equal(forget_group_parse("none", &g), 0);
	assert_int_equal(g, 0);
	assert_int_equal(forget_group_parse("tags", &g), MM_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_tz_restored),
		cmocka_unit_test(test_empty_policy),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_group_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
