/* Unit tests for the continuity report: the sections other modules fill
 * through the report API, escaping of hostile text, the labels. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

#define NS INT64_C(1000000000)
#define NOW (INT64_C(1796119200) * NS)

static char *
render(struct report *rep)
{
	struct buf b = BUF_INIT;

	assert_int_equal(report_render(rep, &b), 0);
	assert_int_equal(buf_append_u8(&b, 0), 0);
	return (char *)b.data;
}

static void
test_empty_sections_say_not_configured(void **state)
{
	struct report *rep;
	char *html;

	(void)state;
	assert_int_equal(report_new(REPORT_EN, NOW, "web01", &rep), 0);
	html = render(rep);
	assert_non_null(strstr(html, "<!DOCTYPE html>\n<html lang=\"en\">"));
	assert_non_null(strstr(html, "<section id=\"datasets\" data-configured=\"no\">"));
	assert_non_null(strstr(html, "<section id=\"drills\" data-configured=\"no\">"));
	assert_non_null(strstr(html, "<section id=\"monitoring\" data-configured=\"no\"><h2>Monitoring"
				     "</h2><p class=\"not-configured\"><strong>Not configured</strong>"));
	assert_non_null(strstr(html, "<section id=\"clock\" data-configured=\"no\">"));
	assert_non_null(strstr(html, "<p>No open or recent incidents.</p>"));
	assert_null(strstr(html, "<script"));
	free(html);
	report_free(rep);
}

static void
test_filled_and_escaped(void **state)
{
	struct report *rep;
	struct report_dataset d;
	struct report_check ch = { "disk:/srv", "WARNING", "91% <full> & \xff", NOW - 3600 * NS };
	struct report_clock cl = { "synchronised", "ntp.nict.jp", -0.0021, "stratum 1" };
	char *html;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.name = "住民記録<b>";
	d.rpo_ns = 24 * 3600 * NS;
	d.rto_ns = 4 * 3600 * NS;
	d.last_backup_ns = NOW - 3600 * NS;
	d.last_drill_ns = NOW - 86400 * NS;
	d.drill_restore_ns = 5 * 3600 * NS;
	d.status = "CRITICAL";
	assert_int_equal(report_new(REPORT_JA, NOW, "庁舎-web01", &rep), 0);
	assert_int_equal(report_add_dataset(rep, &d), 0);
	assert_int_equal(report_add_check(rep, &ch), 0);
	assert_int_equal(report_set_clock(rep, &cl), 0);
	assert_int_equal(report_add_repository(rep, "/backup/repo\"x", NULL, 0, 0,
					       "wrong password (no key matches)"), 0);
	assert_int_equal(report_set_ledger(rep, "/var/lib/mamori/ledger", NULL, "no ledger"), 0);
	html = render(rep);
	assert_non_null(strstr(html, "<html lang=\"ja\">"));
	assert_non_null(strstr(html, "<h1>事業継続レポート</h1>"));
	assert_non_null(strstr(html, "<section id=\"datasets\" data-configured=\"yes\">"));
	assert_non_null(strstr(html, "<td class=\"dataset-name\">住民記録&lt;b&gt;</td><td>1d 0h</td>"
				     "<td>4h 0m</td>"));
	assert_non_null(strstr(html, "<span class=\"badge crit\">CRITICAL</span>"));
	/* A drill slower than the RTO is drawn red. */
	assert_non_null(strstr(html, "<section id=\"drills\" data-configured=\"yes\">"));
	assert_non_null(strstr(html, "class=\"bar-crit\""));
	assert_non_null(strstr(html, "<td>disk:/srv</td><td><span class=\"badge warn\">WARNING</span>"
				     "</td><td>91% &lt;full&gt; &amp; \\xff</td>"));
	assert_non_null(strstr(html, "<dd>ntp.nict.jp</dd><dt>時刻のずれ</dt><dd>-0.002100 s</dd>"));
	assert_non_null(strstr(html, "<span class=\"repo-name\">/backup/repo&quot;x</span>"));
	assert_non_null(strstr(html, "読み取れません: wrong password (no key matches)"));
	assert_non_null(strstr(html, "<title>事業継続レポート — 庁舎-web01 — "));
	free(html);
	report_free(rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_sections_say_not_configured),
		cmocka_unit_test(test_filled_and_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
