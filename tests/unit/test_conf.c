/* Unit tests for src/conf: values, calendar, schema errors with exact messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"

static void
test_duration(void **state)
{
	char err[300];
	int64_t v;

	(void)state;
	assert_int_equal(conf_parse_duration("90s", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 90);
	assert_int_equal(conf_parse_duration("15m", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 900);
	assert_int_equal(conf_parse_duration("1h30m", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 5400);
	assert_int_equal(conf_parse_duration("7d", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 604800);
	assert_int_equal(conf_parse_duration("2w", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1209600);
	assert_int_equal(conf_parse_duration("10", &v, err, sizeof(err)), MM_EINVAL);
	assert_string_equal(err, "'10' is not a duration; expected a number with a unit s, m, h, d "
			    "or w, such as 90s, 15m, 1h, 7d or 1h30m");
	assert_int_equal(conf_parse_duration("1y", &v, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_parse_duration("", &v, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_parse_duration("99999999999999999d", &v, err, sizeof(err)), MM_EINVAL);
	conf_format_duration(5400, err, sizeof(err));
	assert_string_equal(err, "1h30m");
	conf_format_duration(90061, err, sizeof(err));
	assert_string_equal(err, "1d1h1m1s");
	conf_format_duration(0, err, sizeof(err));
	assert_string_equal(err, "0s");
}

static void
test_size_percent_int(void **state)
{
	char err[300];
	uint64_t u;
	double d;
	int64_t i;

	(void)state;
	assert_int_equal(conf_parse_size("512", &u, err, sizeof(err)), 0);
	assert_int_equal(u, 512);
	assert_int_equal(conf_parse_size("64K", &u, err, sizeof(err)), 0);
	assert_int_equal(u, 65536);
	assert_int_equal(conf_parse_size("10MiB", &u, err, sizeof(err)), 0);
	assert_int_equal(u, 10485760);
	assert_int_equal(conf_parse_size("1.5G", &u, err, sizeof(err)), 0);
	assert_int_equal(u, 1610612736);
	assert_int_equal(conf_parse_size("10MB", &u, err, sizeof(err)), 0);
	assert_int_equal(u, 10000000);
	assert_int_equal(conf_parse_size("10X", &u, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_parse_size("-1", &u, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_parse_percent("5%", &d, err, sizeof(err)), 0);
	assert_true(d == 5.0);
	assert_int_equal(conf_parse_percent("0.5%", &d, err, sizeof(err)), 0);
	assert_true(d == 0.5);
	assert_int_equal(conf_parse_percent("5", &d, err, sizeof(err)), MM_EINVAL);
	assert_string_equal(err, "'5' is not a percentage; expected a number from 0 to 100 "
			    "followed by %, such as 5%");
	assert_int_equal(conf_parse_percent("101%", &d, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_parse_int("7", 1, 9, &i, err, sizeof(err)), 0);
	assert_int_equal(i, 7);
	assert_int_equal(conf_parse_int("0", 1, 9, &i, err, sizeof(err)), MM_EINVAL);
	assert_string_equal(err, "'0' is not a whole number from 1 to 9");
}

static void
test_argv(void **state)
{
	char err[300];
	char **v;
	size_t n;

	(void)state;
	assert_int_equal(conf_split_argv("pg_dump --format=custom  juminkiroku", &v, &n, err,
					 sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "pg_dump");
	assert_string_equal(v[1], "--format=custom");
	assert_string_equal(v[2], "juminkiroku");
	assert_null(v[3]);
	conf_argv_free(v);
	assert_int_equal(conf_split_argv("a 'b c' \"d \\\"e\\\\\" f\\ g '' x\\|y '|'", &v, &n, err,
					 sizeof(err)), 0);
	assert_int_equal(n, 7);
	assert_string_equal(v[1], "b c");
	assert_string_equal(v[2], "d \"e\\");
	assert_string_equal(v[3], "f g");
	assert_string_equal(v[4], "");
	assert_string_equal(v[5], "x|y");
	assert_string_equal(v[6], "|");
	conf_argv_free(v);
	assert_int_equal(conf_split_argv("pg_dump db | gzip", &v, &n, err, sizeof(err)), MM_EINVAL);
	assert_string_equal(err, "'|' is shell syntax, and commands run without a shell: quote it "
			    "('|') if it is meant literally, or put the pipeline in a script");
	assert_int_equal(conf_split_argv("a 'b", &v, &n, err, sizeof(err)), MM_EINVAL);
	assert_string_equal(err, "unterminated single quote");
	assert_int_equal(conf_split_argv("a \"b", &v, &n, err, sizeof(err)), MM_EINVAL);
	assert_string_equal(err, "unterminated double quote");
	assert_int_equal(conf_split_argv("", &v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	conf_argv_free(v);
}

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

static void
test_calendar(void **state)
{
	struct conf_calendar c;
	char err[600];
	/* 2026-12-01 is a Tuesday */
	int64_t t0 = utc(2026, 12, 1, 10, 7, 0);

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(conf_calendar_parse("hourly", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_calendar_next(&c, t0), utc(2026, 12, 1, 11, 0, 0));
	assert_string_equal(c.text, "hourly");
	assert_int_equal(conf_calendar_parse("daily", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_calendar_next(&c, t0), utc(2026, 12, 2, 0, 0, 0));
	assert_int_equal(conf_calendar_parse("weekly", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_calendar_next(&c, t0), utc(2026, 12, 7, 0, 0, 0));
	assert_int_equal(conf_calendar_parse("monthly", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_calendar_next(&c, t0), utc(2027, 1, 1, 0, 0, 0));
	assert_int_equal(conf_calendar_parse("*-*-* 02:00", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_calendar_next(&c, t0), utc(2026, 12, 2, 2, 0, 0));
	assert_int_equal(conf_calendar_parse("Mon..Fri *-*-* 08..18:00/30", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_calendar_next(&c, t0), utc(2026, 12, 1, 10, 30, 0));
	assert_int_equal(conf_calendar_next(&c, utc(2026, 12, 4, 18, 30, 0)), utc(2026, 12, 7, 8, 0, 0));
	assert_int_equal(conf_calendar_parse("Sat,Sun 03:15", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_calendar_next(&c, t0), utc(2026, 12, 5, 3, 15, 0));
	assert_int_equal(conf_calendar_parse("*:0/15", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_calendar_next(&c, t0), utc(2026, 12, 1, 10, 15, 0));
	assert_int_equal(conf_calendar_parse("2027-03-01", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_calendar_next(&c, t0), utc(2027, 3, 1, 0, 0, 0));
	assert_int_equal(conf_calendar_parse("*-*-01,15 12:00:30", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_calendar_next(&c, t0), utc(2026, 12, 1, 12, 0, 30));
	assert_int_equal(conf_calendar_next(&c, utc(2026, 12, 1, 12, 0, 30)), utc(2026, 12, 15, 12, 0, 30));

	assert_int_equal(conf_calendar_parse("*-*~01", &c, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_calendar_parse("daily Europe/Berlin", &c, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_calendar_parse("*-*-* 02:00 UTC", &c, err, sizeof(err)), MM_EINVAL);
	assert_string_equal(err, "calendar '*-*-* 02:00 UTC': not understood (a time zone is not "
			    "supported); accepted: minutely, hourly, daily, weekly, monthly, quarterly, "
			    "semiannually, yearly, annually, or [WEEKDAYS] [YEAR-MONTH-DAY] "
			    "[HOUR:MINUTE[:SECOND]] with each part *, N, A..B, A,B or */STEP (e.g. "
			    "'Mon..Fri *-*-* 08..18:00/30')");
	assert_int_equal(conf_calendar_parse("25:00", &c, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_calendar_parse("Mon..Foo", &c, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_calendar_parse("*-13-01", &c, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_calendar_parse("02:00:00.5", &c, err, sizeof(err)), MM_EINVAL);
	assert_int_equal(conf_calendar_parse("", &c, err, sizeof(err)), MM_EINVAL);
}

static int
check_even(const struct conf_value *v, char *err, size_t n)
{
	if (v->i % 2 != 0) {
		snprintf(err, n, "expected an even number");
		return MM_EINVAL;
	}
	return 0;
}

static const struct conf_key fruit_keys[] = {
	{ .name = "color", .type = CONF_STRING, .required = 1, .expect = "a color" },
	{ .name = "ripe", .type = CONF_DURATION },
	{ .name = "weight", .type = CONF_SIZE },
	{ .name = "share", .type = CONF_PERCENT },
	{ .name = "count", .type = CONF_INT, .min = 0, .max = 100, .check = check_even },
	{ .name = "tags", .type = CONF_LIST },
	{ .name = "cmd", .type = CONF_COMMAND },
	{ .name = "when", .type = CONF_CALENDAR },
};
static const struct conf_kind fruit = { "fruit", 1, fruit_keys, 8 };
static const struct conf_key global_keys[] = {
	{ .name = "owner", .type = CONF_STRING },
};
static const struct conf_kind global = { "global", 0, global_keys, 1 };

static void
expect_error(const char *text, const char *msg)
{
	struct conf_schema s = CONF_SCHEMA_INIT;
	struct conf cf = CONF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	assert_int_equal(conf_schema_add(&s, &fruit), 0);
	assert_int_equal(conf_schema_add(&s, &global), 0);
	assert_int_equal(conf_load_string(&s, "t.conf", text, &cf, &c), MM_ECONFIG);
	assert_string_equal(c.msg, msg);
	assert_null(cf.secs);
}

static void
test_schema_ok(void **state)
{
	struct conf_schema s = CONF_SCHEMA_INIT;
	struct conf cf = CONF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	const struct conf_section *sec;
	const struct conf_value *v;

	(void)state;
	assert_int_equal(conf_schema_add(&s, &fruit), 0);
	assert_int_equal(conf_schema_add(&s, &fruit), MM_EEXIST);
	assert_int_equal(conf_schema_add(&s, &global), 0);
	assert_int_equal(conf_load_string(&s, "t.conf",
		"# comment\n"
		"[global]\n"
		"owner = 市役所 情報政策課\n"
		"\n"
		"[fruit apple]\n"
		"color = red ; inline comment\n"
		"ripe = 1h30m\n"
		"weight = 2K\n"
		"share = 12.5%\n"
		"count = 42\n"
		"tags = a 'b c'\n"
		"   d\n"
		"cmd = pg_dump --format=custom db\n"
		"when = Mon..Fri *-*-* 08..18:00/30\n"
		"[fruit pear]\n"
		"color=green\n", &cf, &c), 0);
	assert_int_equal(cf.nsecs, 3);
	sec = conf_find(&cf, "global", NULL);
	assert_non_null(sec);
	assert_string_equal(conf_get(sec, "owner")->raw, "市役所 情報政策課");
	sec = conf_find(&cf, "fruit", "apple");
	assert_non_null(sec);
	assert_int_equal(sec->line, 5);
	assert_string_equal(conf_get(sec, "color")->raw, "red");
	assert_int_equal(conf_get(sec, "ripe")->i, 5400);
	assert_int_equal(conf_get(sec, "weight")->u, 2048);
	assert_true(conf_get(sec, "share")->d == 12.5);
	assert_int_equal(conf_get(sec, "count")->i, 42);
	v = conf_get(sec, "tags");
	assert_int_equal(v->argc, 3);
	assert_string_equal(v->argv[1], "b c");
	assert_string_equal(v->argv[2], "d");
	assert_int_equal(conf_get(sec, "cmd")->argc, 3);
	assert_int_equal(conf_get(sec, "cmd")->line, 13);
	assert_string_equal(conf_get(sec, "when")->cal.text, "Mon..Fri *-*-* 08..18:00/30");
	assert_null(conf_get(sec, "nothing"));
	assert_non_null(conf_find(&cf, "fruit", "pear"));
	assert_null(conf_find(&cf, "fruit", "plum"));
	conf_release(&cf);
}

static void
test_schema_errors(void **state)
{
	char long_line[400];

	(void)state;
	expect_error("[fruit apple]\ncolor = red\ncolour = blue\n",
		     "t.conf:3: unknown key 'colour' in [fruit apple]; expected one of: color, "
		     "ripe, weight, share, count, tags, cmd, when");
	expect_error("[vegetable leek]\n",
		     "t.conf:1: unknown section [vegetable leek]; expected one of: [fruit NAME], "
		     "[global]");
	expect_error("[fruit a]\ncolor = red\n[fruit a]\ncolor = red\n",
		     "t.conf:3: duplicate section [fruit a] (first at line 1); each section may "
		     "appear once");
	expect_error("[fruit a]\ncolor = red\nripe = 1h\nripe = 2h\n",
		     "t.conf:4: duplicate key 'ripe' in [fruit a] (first at line 3); give each key once");
	expect_error("[fruit a]\ncolor = red\nripe = soon\n",
		     "t.conf:3: ripe in [fruit a]: 'soon' is not a duration; expected a number with "
		     "a unit s, m, h, d or w, such as 90s, 15m, 1h, 7d or 1h30m");
	expect_error("[fruit a]\ncolor = red\ncount = 3\n",
		     "t.conf:3: count in [fruit a]: expected an even number");
	expect_error("[fruit a]\ncolor = red\nwhen = sometimes\n",
		     "t.conf:3: when in [fruit a]: calendar 'sometimes': bad weekday list (use "
		     "Mon..Sun, ranges Mon..Fri, lists Sat,Sun); accepted: minutely, hourly, daily, "
		     "weekly, monthly, quarterly, semiannually, yearly, annually, or [WEEKDAYS] "
		     "[YEAR-MONTH-DAY] [HOUR:MINUTE[:SECOND]] with each part *, N, A..B, A,B or "
		     "*/STEP (e.g. 'Mon..Fri *-*-* 08..18:00/30')");
	expect_error("[fruit a]\ncolor = red\ncmd = a > b\n",
		     "t.conf:3: cmd in [fruit a]: '>' is shell syntax, and commands run without a "
		     "shell: quote it ('>') if it is meant literally, or put the pipeline in a script");
	expect_error("[fruit a]\nripe = 1h\n", "t.conf:1: [fruit a] lacks the key 'color' (a color)");
	expect_error("[fruit]\n", "t.conf:1: section [fruit] needs a name: [fruit NAME]");
	expect_error("[global x]\n", "t.conf:1: section [global x] takes no name: write [global]");
	expect_error("[fruit a/b]\n", "t.conf:1: bad name 'a/b' in [fruit a/b]: use 1 to 64 letters, "
		     "digits, '.', '_' or '-', not starting with '.' or '-'");
	expect_error("color = red\n", "t.conf:1: 'color' outside of any section; put it under a "
		     "section header such as [dataset NAME]");
	expect_error("[fruit a]\ncolor = red\nthis is not ini\n",
		     "t.conf:3: syntax error; expected [SECTION], KEY = VALUE, or a comment "
		     "starting with # or ;");
	expect_error("[fruit a]\ncolor =\n", "t.conf:2: color in [fruit a]: empty value; expected a color");
	memset(long_line, 'x', sizeof(long_line));
	memcpy(long_line, "[fruit a]\ncolor = ", 18);
	long_line[sizeof(long_line) - 2] = '\n';
	long_line[sizeof(long_line) - 1] = '\0';
	expect_error(long_line, "t.conf:2: line too long (at most 198 characters)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size_percent_int),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_calendar),
		cmocka_unit_test(test_schema_ok),
		cmocka_unit_test(test_schema_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
