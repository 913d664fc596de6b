/* Unit tests for incidents: the life cycle, alerts from monitoring and the
 * derived times, all replayed from the ledger under a fixed clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

#define NS INT64_C(1000000000)
#define T0 (INT64_C(1796119200) * NS) /* 2026-12-01T10:00:00Z */

static int64_t now_ns = T0;
static int64_t clock_now(void *a) { (void)a; return now_ns; }
static int clock_state(void *a) { (void)a; return LEDGER_CLOCK_SYNCED; }
static const struct ledger_clock clk = { clock_now, clock_state, NULL };

struct fx {
	char dir[64];
	struct ledger *lg;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct mm_ctx c = MM_CTX_INIT;

	snprintf(f->dir, sizeof(f->dir), "/tmp/mamori-test-incident-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(ledger_open(f->dir, LEDGER_CREATE, &clk, &f->lg, &c), 0);
	now_ns = T0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	ledger_free(f->lg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int
rto_of(const char *dataset, int64_t *rto, void *arg)
{
	(void)arg;
	if (strcmp(dataset, "住民記録") == 0) {
		*rto = 2 * 3600 * NS;
		return 0;
	}
	return MM_ENOENT;
}

static void
test_life_cycle(void **state)
{
	struct fx *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	const char *ds[] = { "住民記録" };
	struct incident_open o;
	struct incident *v;
	struct incident_figures fig;
	struct ledger_verify vr;
	char id[32];
	size_t n;

	memset(&o, 0, sizeof(o));
	o.title = "File server disk failed";
	o.severity = 1;
	o.scope = "tax office shares";
	o.occurred_ns = T0;
	o.detected_ns = T0 + 600 * NS;
	o.rto_ns = 4 * 3600 * NS;
	o.datasets = ds;
	o.ndatasets = 1;
	now_ns = T0 + 700 * NS;
	assert_int_equal(ledger_incident_open(f->lg, &o, id, &c), 0);
	assert_string_equal(id, "INC-1");
	now_ns += 60 * NS;
	assert_int_equal(ledger_incident_note(f->lg, "INC-1", "disk 2 reports SMART errors", &c), 0);
	now_ns += 60 * NS;
	assert_int_equal(ledger_incident_action(f->lg, "1", "restore from last night", "tanaka",
						"2026-12-02", &c), 0);
	assert_int_equal(ledger_incident_note(f->lg, "INC-9", "no such", &c), MM_ENOENT);
	assert_string_equal(c.msg, "no incident INC-9 in the ledger (see 'mamori incident list')");
	assert_int_equal(ledger_incident_recover(f->lg, "INC-1", T0 + 3 * 3600 * NS, NULL, &c), 0);
	now_ns = T0 + 5 * 3600 * NS;
	assert_int_equal(ledger_incident_resolve(f->lg, "INC-1", "", "x", NULL, 0, &c), MM_EINVAL);
	assert_int_equal(ledger_incident_resolve(f->lg, "INC-1", "disk wear", "replace disks at 5 years",
						 "suzuki", 0, &c), 0);
	assert_int_equal(ledger_incident_resolve(f->lg, "INC-1", "again", "again", NULL, 0, &c),
			 MM_EEXIST);

	assert_int_equal(ledger_incidents(f->lg, &v, &n, &c), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, "INC-1");
	assert_int_equal(v[0].state, INCIDENT_RESOLVED);
	assert_int_equal(v[0].severity, 1);
	assert_string_equal(v[0].scope, "tax office shares");
	assert_int_equal(v[0].ndatasets, 1);
	assert_string_equal(v[0].datasets[0], "住民記録");
	assert_int_equal(v[0].occurred_ns, T0);
	assert_int_equal(v[0].detected_ns, T0 + 600 * NS);
	assert_int_equal(v[0].recovered_ns, T0 + 3 * 3600 * NS);
	assert_int_equal(v[0].resolved_ns, T0 + 5 * 3600 * NS);
	assert_string_equal(v[0].cause, "disk wear");
	assert_string_equal(v[0].prevention, "replace disks at 5 years");
	assert_string_equal(v[0].prevention_owner, "suzuki");
	assert_int_equal(v[0].nev, 5);
	assert_string_equal(v[0].ev[0].kind, "open");
	assert_string_equal(v[0].ev[1].kind, "note");
	assert_string_equal(v[0].ev[2].kind, "action");
	assert_string_equal(v[0].ev[2].owner, "tanaka");
	assert_string_equal(v[0].ev[2].due, "2026-12-02");
	assert_string_equal(v[0].ev[3].kind, "recover");
	assert_int_equal(v[0].ev[3].at_ns, T0 + 3 * 3600 * NS);
	assert_string_equal(v[0].ev[4].kind, "resolve");
	/* Detected after 10 min, recovered 3 h after it occurred: within 4 h. */
	incident_figures(&v[0], NULL, NULL, &fig);
	assert_int_equal(fig.ttd_ns, 600 * NS);
	assert_int_equal(fig.ttr_ns, 3 * 3600 * NS);
	assert_int_equal(fig.rto_ns, 4 * 3600 * NS);
	assert_int_equal(fig.rto_met, 1);
	/* The dataset's own RTO (2 h, from the policy) is stricter: exceeded. */
	incident_figures(&v[0], rto_of, NULL, &fig);
	assert_int_equal(fig.rto_ns, 2 * 3600 * NS);
	assert_int_equal(fig.rto_met, 0);
	incidents_free(v, n);
	/* Every event is a ledger record; the ledger verifies. */
	assert_int_equal(ledger_verify(f->lg, NULL, NULL, &vr, &c), 0);
	assert_int_equal(ledger_verify_verdict(&vr), 0);
	assert_int_equal(vr.records, 5);
	ledger_verify_release(&vr);
}

static void
test_alerts(void **state)
{
	struct fx *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct incident *v;
	struct incident_figures fig;
	const char *what;
	char id[32];
	size_t n;

	now_ns = T0;
	assert_int_equal(ledger_incident_alert(f->lg, "disk:/srv", ALERT_WARNING, "91% full", id,
					       &what, &c), 0);
	assert_string_equal(what, "recorded");
	assert_string_equal(id, "");
	now_ns = T0 + 120 * NS;
	assert_int_equal(ledger_incident_alert(f->lg, "disk:/srv", ALERT_CRITICAL, "99% full", id,
					       &what, &c), 0);
	assert_string_equal(what, "opened");
	assert_string_equal(id, "INC-2");
	now_ns += 300 * NS;
	assert_int_equal(ledger_incident_alert(f->lg, "disk:/srv", ALERT_CRITICAL, "100% full", id,
					       &what, &c), 0);
	assert_string_equal(what, "attached");
	assert_string_equal(id, "INC-2");
	/* Another check has its own incident. */
	assert_int_equal(ledger_incident_alert(f->lg, "ntp", ALERT_CRITICAL, "unsynchronised", id,
					       &what, &c), 0);
	assert_string_equal(what, "opened");
	assert_string_equal(id, "INC-4");
	now_ns = T0 + 1800 * NS;
	assert_int_equal(ledger_incident_alert(f->lg, "disk:/srv", ALERT_OK, "40% full", id, &what,
					       &c), 0);
	assert_string_equal(what, "recovered");
	assert_string_equal(id, "INC-2");
	/* Once recovered, OK again is only an alert record; a person resolves. */
	assert_int_equal(ledger_incident_alert(f->lg, "disk:/srv", ALERT_OK, "40% full", id, &what,
					       &c), 0);
	assert_string_equal(what, "recorded");
	assert_int_equal(ledger_incident_resolve(f->lg, "INC-2", "log rotation stopped",
						 "monitor logrotate", NULL, 0, &c), 0);
	/* A new CRITICAL after the resolution opens a new incident. */
	assert_int_equal(ledger_incident_alert(f->lg, "disk:/srv", ALERT_CRITICAL, "99% full", id,
					       &what, &c), 0);
	assert_string_equal(what, "opened");
	assert_string_equal(id, "INC-8");

	assert_int_equal(ledger_incidents(f->lg, &v, &n, &c), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].id, "INC-2");
	assert_string_equal(v[0].title, "disk:/srv: 99% full");
	assert_string_equal(v[0].check, "disk:/srv");
	assert_int_equal(v[0].severity, 2);
	assert_int_equal(v[0].state, INCIDENT_RESOLVED);
	assert_int_equal(v[0].nev, 4);
	assert_string_equal(v[0].ev[0].text, "CRITICAL alert of check disk:/srv: 99% full");
	assert_string_equal(v[0].ev[1].kind, "alert");
	assert_string_equal(v[0].ev[1].text, "CRITICAL alert of check disk:/srv: 100% full");
	assert_string_equal(v[0].ev[2].kind, "recover");
	assert_string_equal(v[0].ev[2].text, "check disk:/srv is OK again: 40% full");
	incident_figures(&v[0], NULL, NULL, &fig);
	assert_int_equal(fig.ttd_ns, 0);
	assert_int_equal(fig.ttr_ns, (1800 - 120) * NS);
	assert_int_equal(fig.rto_met, -1);
	assert_int_equal(v[1].state, INCIDENT_OPEN);
	assert_string_equal(v[1].check, "ntp");
	assert_int_equal(v[2].state, INCIDENT_OPEN);
	incidents_free(v, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_life_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
