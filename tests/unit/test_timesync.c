/* Unit tests for src/timesync: packets, arithmetic, selection, the query
 * loop behind a fake clock and network, config discovery, lint, the
 * kernel state. Every check states the exact expected outcome. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timesync/timesync.h"

#define NTP_1970 (UINT64_C(2208988800) << 32)

static void
test_decode_truncated(void **state)
{
	uint8_t b[NTP_PACKET_LEN] = { 0 };
	struct ntp_packet p;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	assert_int_equal(ntp_packet_decode(b, 47, &p, &c), MM_EBOGUS);
	assert_string_equal(c.msg, "truncated reply: 47 bytes, an NTP header has 48");
	assert_int_equal(ntp_packet_decode(b, 0, &p, &c), MM_EBOGUS);
	assert_string_equal(c.msg, "truncated reply: 0 bytes, an NTP header has 48");
}

static void
test_encode_decode(void **state)
{
	struct ntp_packet a, b;
	uint8_t raw[NTP_PACKET_LEN];
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.leap = 3;
	a.version = 4;
	a.mode = 4;
	a.stratum = 2;
	a.poll = 6;
	a.precision = -23;
	a.root_delay = 0x00018000; /* 1.5 s */
	a.root_disp = 0x00004000;  /* 0.25 s */
	a.refid = 0xc0000201;
	a.ref = 1;
	a.org = UINT64_C(0x0102030405060708);
	a.rx = 3;
	a.tx = UINT64_C(0xfffffffffffffffe);
	ntp_packet_encode(&a, raw);
	assert_int_equal(raw[0], 0xe4); /* 11 100 100 */
	assert_int_equal(raw[24], 0x01);
	assert_int_equal(raw[31], 0x08);
	assert_int_equal(ntp_packet_decode(raw, sizeof(raw), &b, &c), 0);
	assert_int_equal(b.leap, 3);
	assert_int_equal(b.version, 4);
	assert_int_equal(b.mode, 4);
	assert_int_equal(b.stratum, 2);
	assert_int_equal(b.precision, -23);
	assert_true(b.org == a.org && b.tx == a.tx && b.rx == 3 && b.ref == 1);
	assert_true(ntp_short_to_sec(b.root_delay) == 1.5);
	assert_true(ntp_short_to_sec(b.root_disp) == 0.25);
}

static struct ntp_packet
good_reply(ntp_ts org)
{
	struct ntp_packet p;

	memset(&p, 0, sizeof(p));
	p.version = 4;
	p.mode = 4;
	p.stratum = 2;
	p.org = org;
	p.rx = NTP_1970 + 100;
	p.tx = NTP_1970 + 200;
	return p;
}

static void
test_reply_checks(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct ntp_packet p;
	char kiss[5];

	(void)state;
	p = good_reply(42);
	assert_int_equal(ntp_reply_check(&p, 42, 0, &c), 0);
	p.mode = 3;
	assert_int_equal(ntp_reply_check(&p, 42, 0, &c), MM_EBOGUS);
	assert_string_equal(c.msg, "reply in mode 3, not 4 (server)");
	p = good_reply(42);
	p.version = 5;
	assert_int_equal(ntp_reply_check(&p, 42, 0, &c), MM_EBOGUS);
	assert_string_equal(c.msg, "reply of NTP version 5");
	p = good_reply(41);
	assert_int_equal(ntp_reply_check(&p, 42, 0, &c), MM_EBOGUS);
	assert_string_equal(c.msg, "origin timestamp does not match our request "
			    "(a stale, replayed or spoofed packet)");
	p = good_reply(42);
	p.tx = 0;
	assert_int_equal(ntp_reply_check(&p, 42, 0, &c), MM_EBOGUS);
	assert_string_equal(c.msg, "reply with a zero transmit timestamp");
	p = good_reply(42);
	assert_int_equal(ntp_reply_check(&p, 42, p.tx, &c), MM_EBOGUS);
	assert_string_equal(c.msg, "duplicate reply (same transmit timestamp twice)");
	p = good_reply(42);
	p.rx = 0;
	assert_int_equal(ntp_reply_check(&p, 42, 0, &c), MM_EBOGUS);
	assert_string_equal(c.msg, "reply with a zero receive timestamp");

	/* a kiss passes the on-wire checks and is recognised */
	p = good_reply(42);
	p.stratum = 0;
	p.leap = 3;
	p.refid = 0x52415445; /* RATE */
	assert_int_equal(ntp_reply_check(&p, 42, 0, &c), 0);
	assert_int_equal(ntp_packet_is_kiss(&p, kiss), 1);
	assert_string_equal(kiss, "RATE");
	assert_non_null(strstr(ntp_kiss_meaning("RATE"), "polls too often"));
	assert_non_null(strstr(ntp_kiss_meaning("DENY"), "denies this host"));
	assert_non_null(strstr(ntp_kiss_meaning("RSTR"), "restricts this host"));
	assert_null(ntp_kiss_meaning("ZZZZ"));
	p.stratum = 1;
	assert_int_equal(ntp_packet_is_kiss(&p, kiss), 0);
}

static void
test_refid_text(void **state)
{
	struct ntp_packet p;
	char t[16];

	(void)state;
	memset(&p, 0, sizeof(p));
	p.stratum = 1;
	p.refid = 0x47505300; /* "GPS\0" */
	ntp_refid_text(&p, t, sizeof(t));
	assert_string_equal(t, "GPS");
	p.refid = 0x50505301; /* "PPS\1" */
	ntp_refid_text(&p, t, sizeof(t));
	assert_string_equal(t, "PPS.");
	p.stratum = 3;
	p.refid = 0xc0000201;
	ntp_refid_text(&p, t, sizeof(t));
	assert_string_equal(t, "192.0.2.1");
}

static void
test_arithmetic(void **state)
{
	struct ntp_sample s;
	ntp_ts t;

	(void)state;
	assert_true(ntp_ts_from_unix_ns(0) == NTP_1970);
	assert_true(ntp_ts_from_unix_ns(1500000000) == NTP_1970 + (UINT64_C(1) << 32) +
		    (UINT64_C(1) << 31));
	/* one nanosecond before 1970 */
	t = ntp_ts_from_unix_ns(-1);
	assert_true(t >> 32 == UINT64_C(2208988799));
	/* 2036-02-07T06:28:16Z is second 0 of era 1 */
	assert_true(ntp_ts_from_unix_ns(INT64_C(2085978496) * 1000000000) == 0);
	/* differences across the era wrap */
	assert_true(ntp_ts_diff(UINT64_C(1) << 32, UINT64_C(0xffffffff) << 32) == 2.0);
	assert_true(ntp_ts_diff(UINT64_C(0xffffffff) << 32, UINT64_C(1) << 32) == -2.0);
	assert_true(ntp_ts_diff(UINT64_C(0x80000000), 0) == 0.5);

	/* server 10 s ahead, 4 ms round trip of which 1 ms in the server */
	ntp_sample_compute(NTP_1970, NTP_1970 + (UINT64_C(10) << 32) + 4294967, /* +10.001 */
			   NTP_1970 + (UINT64_C(10) << 32) + 8589934,               /* +10.002 */
			   NTP_1970 + 17179869,                                      /* +0.004 */
			   -20, &s);
	assert_true(fabs(s.offset - 9.9995) < 1e-6);
	assert_true(fabs(s.delay - 0.003) < 1e-6);
	/* server 37 s behind, across the era wrap: t1 just before, t4 after */
	ntp_sample_compute(UINT64_C(0xffffffff) << 32, UINT64_C(0xffffffda) << 32,
			   UINT64_C(0xffffffda) << 32, UINT64_C(1) << 32, -20, &s);
	assert_true(fabs(s.offset - (-38.0)) < 1e-9);
	assert_true(fabs(s.delay - 2.0) < 1e-9);
}

struct icase {
	size_t n;
	double lo[6], hi[6];
	int allow;
	double low, high;
};

static void
test_intersection(void **state)
{
	static const struct icase cases[] = {
		{ 1, { -1 }, { 1 }, 0, -1, 1 },
		{ 3, { -1, -0.5, 0 }, { 1, 1.5, 2 }, 0, 0, 1 },
		{ 4, { -0.1, -0.05, -0.08, 10 }, { 0.1, 0.15, 0.12, 10.2 }, 1, -0.05, 0.1 },
		{ 2, { -0.1, 5 }, { 0.1, 5.1 }, -1, 0, 0 },
		{ 3, { -0.1, 5, 10 }, { 0.1, 5.1, 10.1 }, -1, 0, 0 },
		{ 5, { 0, 0.1, 0.2, 7, -9 }, { 1, 1.1, 1.2, 8, -8 }, 2, 0.2, 1 },
		/* two that overlap only at their edges outvote the third */
		{ 3, { 0, 0.9, 10 }, { 1, 1.9, 11 }, 1, 0.9, 1 },
		/* touching intervals meet */
		{ 2, { 0, 1 }, { 1, 2 }, 0, 1, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double low = 99, high = 99;
		int a = ts_intersect(cases[i].lo, cases[i].hi, cases[i].n, &low, &high);
		assert_int_equal(a, cases[i].allow);
		if (a >= 0) {
			assert_true(low == cases[i].low);
			assert_true(high == cases[i].high);
		}
	}
}

static void
test_select(void **state)
{
	struct ts_result r = TS_RESULT_INIT;
	const double off[4] = { 0.010, 0.012, 0.008, 3.0 };

	(void)state;
	r.src = calloc(4, sizeof(*r.src));
	r.n = 4;
	for (size_t i = 0; i < 4; i++) {
		snprintf(r.src[i].name, sizeof(r.src[i].name), "s%zu", i);
		r.src[i].verdict = TS_GOOD;
		r.src[i].have_sample = 1;
		r.src[i].offset = off[i];
		r.src[i].root_dist = 0.005;
		r.src[i].delay = 0.001 * (double)(i + 1);
	}
	ts_select(&r);
	assert_int_equal(r.survivors, 3);
	assert_int_equal(r.falsetickers, 1);
	assert_int_equal(r.src[3].verdict, TS_FALSETICKER);
	assert_string_equal(r.src[3].detail, "offset +3.000000 s lies outside the interval "
			    "[+0.007000, +0.013000] s that the majority agrees on");
	assert_int_equal(r.src[0].verdict, TS_GOOD);
	assert_true(fabs(r.offset - 0.010) < 1e-12);
	assert_int_equal(r.step_needed, 0);
	assert_int_equal(ts_nagios_state(&r, 60, 120), 0);
	assert_int_equal(ts_nagios_state(&r, 0.005, 0.02), 1);
	assert_int_equal(ts_nagios_state(&r, 0.001, 0.002), 2);

	/* two that disagree: nobody can be outvoted */
	r.n = 2;
	r.src[0].verdict = r.src[1].verdict = TS_GOOD;
	r.src[1].offset = 1.0;
	ts_select(&r);
	assert_int_equal(r.have_offset, 0);
	assert_int_equal(r.src[0].verdict, TS_DISAGREE);
	assert_int_equal(ts_nagios_state(&r, 60, 120), 3);
	ts_result_release(&r);
}

/* ---- a fake clock and a fake server ------------------------------------- */

enum fake_mode { FAKE_GOOD, FAKE_KISS, FAKE_BADORG, FAKE_TIMEOUT, FAKE_REFUSED,
		 FAKE_LEAP3, FAKE_SHORT, FAKE_OTHER, FAKE_LATE };

struct fake {
	int64_t now;      /* ns, our clock */
	double mono;
	int64_t ahead;    /* ns the server is ahead */
	enum fake_mode mode;
	uint8_t req[NTP_PACKET_LEN];
	int pending;
	unsigned requests;
	ntp_ts prev_tx;   /* FAKE_LATE: the request before, answered late first */
	int late_due;
};

static int64_t
f_now(void *arg)
{
	struct fake *f = arg;

	f->now += 1000000; /* each reading 1 ms later */
	return f->now;
}

static double
f_mono(void *arg)
{
	struct fake *f = arg;

	return f->mono;
}

static void
f_sleep(void *arg, double s)
{
	struct fake *f = arg;

	f->mono += s;
	f->now += (int64_t)(s * 1e9);
}

static int
f_open(void *arg, const struct ts_addr *a, void **sock, struct mm_ctx *c)
{
	*sock = arg;
	return 0;
}

static int
f_send(void *sock, const struct ts_addr *to, const void *p, size_t n, struct mm_ctx *c)
{
	struct fake *f = sock;

	assert_int_equal(n, NTP_PACKET_LEN);
	if (f->requests > 0) {
		struct ntp_packet old;
		struct mm_ctx ig = MM_CTX_INIT;
		assert_int_equal(ntp_packet_decode(f->req, sizeof(f->req), &old, &ig), 0);
		f->prev_tx = old.tx;
		f->late_due = f->mode == FAKE_LATE;
	}
	memcpy(f->req, p, n);
	f->pending = 1;
	f->requests++;
	return 0;
}

static int
f_recv(void *sock, void *p, size_t cap, size_t *n, struct ts_addr *from, int64_t *rx_ns,
       double timeout, struct mm_ctx *c)
{
	struct fake *f = sock;
	struct ntp_packet q, rep;
	struct sockaddr_in *sin = (struct sockaddr_in *)&from->sa;

	*rx_ns = 0;
	if (!f->pending || f->mode == FAKE_TIMEOUT) {
		f->mono += timeout;
		return mm_fail(c, MM_ETIMEDOUT, "no reply");
	}
	f->pending = 0;
	if (f->mode == FAKE_REFUSED)
		return mm_fail(c, MM_ECONNREFUSED, "ICMP port unreachable");
	assert_int_equal(ntp_packet_decode(f->req, sizeof(f->req), &q, c), 0);
	assert_int_equal(q.mode, 3);
	assert_int_equal(q.version, 4);
	memset(&rep, 0, sizeof(rep));
	rep.version = 4;
	rep.mode = 4;
	rep.stratum = 2;
	rep.precision = -20;
	rep.refid = 0x7f000001;
	rep.root_delay = 0x00000100;
	rep.root_disp = 0x00000100;
	rep.org = f->mode == FAKE_BADORG ? q.tx ^ 1 : q.tx;
	if (f->late_due) {
		rep.org = f->prev_tx; /* the answer to the last round, late */
		f->late_due = 0;
		f->pending = 1;
	}
	rep.rx = ntp_ts_from_unix_ns(f->now + 500000 + f->ahead);
	rep.tx = ntp_ts_from_unix_ns(f->now + 600000 + f->ahead);
	if (f->mode == FAKE_KISS) {
		rep.stratum = 0;
		rep.leap = 3;
		rep.refid = 0x44454e59; /* DENY */
	}
	if (f->mode == FAKE_LEAP3)
		rep.leap = 3;
	assert_true(cap >= NTP_PACKET_LEN);
	ntp_packet_encode(&rep, p);
	*n = f->mode == FAKE_SHORT ? 20 : NTP_PACKET_LEN;
	memset(from, 0, sizeof(*from));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(123);
	sin->sin_addr.s_addr = htonl(f->mode == FAKE_OTHER ? 0x7f000002 : 0x7f000001);
	from->len = sizeof(*sin);
	return 0;
}

static void
f_close(void *sock)
{
}

static const struct ts_net_ops fake_ops = { f_open, f_send, f_recv, f_close };

static void
run_fake(struct fake *f, struct ts_result *r)
{
	struct ts_clock clk = { f_now, f_mono, f_sleep, f };
	struct ts_net net = { &fake_ops, f };
	struct ts_check_opts o = TS_CHECK_OPTS_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	assert_int_equal(ts_result_add(r, "127.0.0.1", 123, 0, NULL, &c), 0);
	assert_int_equal(r->n, 1);
	assert_int_equal(ts_check_run(r, &o, &clk, &net, &c), 0);
}

static void
test_check_good_and_ahead(void **state)
{
	struct fake f = { .now = INT64_C(1764600000) * 1000000000, .ahead = INT64_C(37) * 1000000000 };
	struct ts_result r = TS_RESULT_INIT;

	(void)state;
	run_fake(&f, &r);
	assert_int_equal(f.requests, 4);
	assert_int_equal(r.src[0].verdict, TS_GOOD);
	assert_int_equal(r.src[0].received, 4);
	assert_int_equal(r.src[0].sent, 4);
	assert_string_equal(r.src[0].refid, "127.0.0.1");
	/* t1 = now, t2 = now+0.5ms+37 s, t3 = +0.6 ms, t4 = now+1 ms:
	 * offset = 37 + (0.5 - 0.4) / 2 ms = 37.00005 s */
	assert_true(fabs(r.offset - 37.00005) < 1e-6);
	assert_true(fabs(r.src[0].delay - 0.0009) < 1e-6);
	assert_int_equal(r.step_needed, 1);
	assert_int_equal(ts_nagios_state(&r, 60, 120), 0);
	assert_int_equal(ts_nagios_state(&r, 10, 30), 2);
	ts_result_release(&r);
}

static void
test_check_faults(void **state)
{
	struct fake f;
	struct ts_result r = TS_RESULT_INIT;
	char adv[700];

	(void)state;
	memset(&f, 0, sizeof(f));
	f.now = INT64_C(1764600000) * 1000000000;
	f.mode = FAKE_KISS;
	run_fake(&f, &r);
	assert_int_equal(f.requests, 1); /* a kissed source is not asked again */
	assert_int_equal(r.src[0].verdict, TS_KOD);
	assert_string_equal(r.src[0].kiss, "DENY");
	ts_source_advice(&r.src[0], adv, sizeof(adv));
	assert_string_equal(adv, "kiss-o'-death DENY: the server denies this host access "
			    "(its access control refuses the address); use another server or "
			    "ask its operator");
	ts_result_release(&r);

	f.mode = FAKE_BADORG;
	f.requests = 0;
	run_fake(&f, &r);
	assert_int_equal(r.src[0].verdict, TS_UNREACHABLE);
	assert_int_equal(r.src[0].cause, TS_CAUSE_BOGUS);
	assert_int_equal(r.src[0].bogus, 4);
	assert_string_equal(r.src[0].detail, "origin timestamp does not match our request "
			    "(a stale, replayed or spoofed packet)");
	ts_result_release(&r);

	f.mode = FAKE_SHORT;
	run_fake(&f, &r);
	assert_int_equal(r.src[0].cause, TS_CAUSE_BOGUS);
	assert_string_equal(r.src[0].detail, "truncated reply: 20 bytes, an NTP header has 48");
	ts_result_release(&r);

	f.mode = FAKE_TIMEOUT;
	f.requests = 0;
	run_fake(&f, &r);
	assert_int_equal(f.requests, 1);
	assert_int_equal(r.src[0].verdict, TS_UNREACHABLE);
	assert_int_equal(r.src[0].cause, TS_CAUSE_TIMEOUT);
	ts_result_release(&r);

	f.mode = FAKE_REFUSED;
	f.requests = 0;
	run_fake(&f, &r);
	assert_int_equal(f.requests, 1);
	assert_int_equal(r.src[0].cause, TS_CAUSE_REFUSED);
	ts_source_advice(&r.src[0], adv, sizeof(adv));
	assert_string_equal(adv, "ICMP port unreachable: nothing listens on UDP port 123 "
			    "there; check that the NTP daemon runs on that host and the port "
			    "is right");
	ts_result_release(&r);

	f.mode = FAKE_LEAP3;
	run_fake(&f, &r);
	assert_int_equal(r.src[0].verdict, TS_UNSYNC);
	assert_int_equal(r.have_offset, 0);
	ts_result_release(&r);

	f.mode = FAKE_LATE;
	f.requests = 0;
	run_fake(&f, &r);
	assert_int_equal(r.src[0].verdict, TS_GOOD);
	assert_int_equal(r.src[0].received, 4);
	assert_int_equal(r.src[0].late, 3);
	assert_int_equal(r.src[0].bogus, 0);
	ts_result_release(&r);

	f.mode = FAKE_OTHER;
	run_fake(&f, &r);
	assert_int_equal(r.src[0].verdict, TS_UNREACHABLE);
	assert_int_equal(r.src[0].cause, TS_CAUSE_OTHER_ADDR);
	assert_int_equal(r.src[0].other_addr, 4);
	ts_result_release(&r);
}

/* Five silent servers cost one timeout, not five: requests go out together. */
static void
test_check_parallel_timeouts(void **state)
{
	struct fake f;
	struct ts_result r = TS_RESULT_INIT;
	struct ts_clock clk = { f_now, f_mono, f_sleep, &f };
	struct ts_net net = { &fake_ops, &f };
	struct ts_check_opts o = TS_CHECK_OPTS_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	char spec[32];

	(void)state;
	memset(&f, 0, sizeof(f));
	f.mode = FAKE_TIMEOUT;
	for (int i = 1; i <= 5; i++) {
		snprintf(spec, sizeof(spec), "127.0.0.%d", i);
		assert_int_equal(ts_result_add(&r, spec, 123, 0, NULL, &c), 0);
	}
	assert_int_equal(ts_check_run(&r, &o, &clk, &net, &c), 0);
	assert_int_equal(f.requests, 5);
	assert_true(f.mono == o.timeout);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(r.src[i].cause, TS_CAUSE_TIMEOUT);
	ts_result_release(&r);
}

static void
test_add_specs(void **state)
{
	struct ts_result r = TS_RESULT_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	char a[80];

	(void)state;
	assert_int_equal(ts_result_add(&r, "127.0.0.1:11123", 123, 0, NULL, &c), 0);
	assert_int_equal(ts_result_add(&r, "[::1]:124", 123, 0, NULL, &c), 0);
	assert_int_equal(ts_result_add(&r, "::1", 123, 0, NULL, &c), 0);
	assert_int_equal(r.n, 3);
	ts_addr_format(&r.src[0].addr, a, sizeof(a));
	assert_string_equal(a, "127.0.0.1:11123");
	ts_addr_format(&r.src[1].addr, a, sizeof(a));
	assert_string_equal(a, "[::1]:124");
	ts_addr_format(&r.src[2].addr, a, sizeof(a));
	assert_string_equal(a, "[::1]:123");
	assert_string_equal(r.src[0].origin, "command line");
	assert_int_equal(ts_result_add(&r, "127.0.0.1:0", 123, 0, NULL, &c), MM_EINVAL);
	assert_string_equal(c.msg, "bad port in '127.0.0.1:0' (1..65535)");
	assert_int_equal(ts_result_add(&r, "[::1", 123, 0, NULL, &c), MM_EINVAL);
	ts_result_release(&r);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
test_config_discover(void **state)
{
	char root[] = "/tmp/mamori-test-timesync-XXXXXX", p[256], a[80];
	struct ts_result r = TS_RESULT_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(ts_config_discover(root, &r, &c), MM_ENOSOURCE);
	snprintf(p, sizeof(p), "%s/etc", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/etc/systemd", root);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(p, "timesyncd.conf", "[Time]\n#NTP=\nFallbackNTP=127.0.0.9 127.0.0.10\n");
	assert_int_equal(ts_config_discover(root, &r, &c), 0);
	assert_int_equal(r.n, 2);
	assert_non_null(strstr(r.src[1].origin, "timesyncd.conf (FallbackNTP=)"));
	ts_result_release(&r);

	snprintf(p, sizeof(p), "%s/etc/chrony", root);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(p, "chrony.conf", "# test\nserver 127.0.0.2 iburst port 11123\n"
		   "sourcedir /etc/chrony/sources.d\n\npool 127.0.0.3\n");
	snprintf(p, sizeof(p), "%s/etc/chrony/sources.d", root);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(p, "a.sources", "server 127.0.0.4\n");
	write_file(p, "b.ignored", "server 127.0.0.5\n");
	assert_int_equal(ts_config_discover(root, &r, &c), 0);
	assert_int_equal(r.n, 3);
	ts_addr_format(&r.src[0].addr, a, sizeof(a));
	assert_string_equal(a, "127.0.0.2:11123");
	ts_addr_format(&r.src[1].addr, a, sizeof(a));
	assert_string_equal(a, "127.0.0.4:123");
	ts_addr_format(&r.src[2].addr, a, sizeof(a));
	assert_string_equal(a, "127.0.0.3:123");
	snprintf(p, sizeof(p), "%s/etc/chrony/chrony.conf:5", root);
	assert_string_equal(r.src[2].origin, p);
	snprintf(p, sizeof(p), "%s/etc/chrony/chrony.conf", root);
	assert_string_equal(r.config_file, p);
	ts_result_release(&r);

	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

static void
test_lint_rules(void **state)
{
	static const char conf[] =
		"server a.example iburst minpoll 2\n"   /* 1: poll-range */
		"server b.example maxpoll 4 minpoll 6\n" /* 2: poll-order, iburst */
		"server a.example iburst\n"              /* 3: duplicate */
		"tinker panic 0\n"                       /* 4 */
		"restrict default kod nomodify\n"        /* 5: restrict */
		"servr c.example\n";                     /* 6 */
	struct ts_lint l = TS_LINT_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	const char *rules[] = { "poll-range", "poll-order", "iburst", "duplicate",
				"panic-zero", "restrict", "unknown-directive", "sources",
				"driftfile" };
	const unsigned lines[] = { 1, 2, 2, 3, 4, 5, 6, 0, 0 };

	(void)state;
	assert_int_equal(ts_lint_text(conf, strlen(conf), TS_CONF_UNKNOWN, &l, &c), 0);
	assert_int_equal(l.kind, TS_CONF_NTP);
	assert_int_equal(l.sources, 2); /* the duplicate adds nothing */
	assert_int_equal(l.n, 9);
	/* sorted by line (the restrict finding points at the incomplete
	 * line), file-wide findings last */
	for (size_t i = 0; i < 9; i++) {
		assert_string_equal(l.f[i].rule, rules[i]);
		assert_int_equal(l.f[i].line, lines[i]);
	}
	assert_int_equal(ts_lint_worst(&l), 2);
	ts_lint_release(&l);

	assert_int_equal(ts_lint_text("hello\n", 6, TS_CONF_UNKNOWN, &l, &c), 0);
	assert_int_equal(l.kind, TS_CONF_UNKNOWN);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.f[0].rule, "kind");
	ts_lint_release(&l);
	assert_int_equal(ts_lint_text("", 0, TS_CONF_UNKNOWN, &l, &c), 0);
	assert_int_equal(ts_lint_worst(&l), 2);
	ts_lint_release(&l);
	/* undecidable content: the hint decides, and says so */
	assert_int_equal(ts_lint_text("server a iburst\nserver b iburst\nserver c iburst\n"
				      "driftfile /d\nrestrict default nomodify noquery\n", 95,
				      TS_CONF_UNKNOWN, &l, &c), 0);
	assert_int_equal(l.kind, TS_CONF_NTP);
	assert_int_equal(l.n, 0);
	ts_lint_release(&l);
	assert_int_equal(ts_lint_text("server a iburst\nserver b iburst\nserver c iburst\n"
				      "driftfile /d\n", 61, TS_CONF_NTP, &l, &c), 0);
	assert_int_equal(l.kind, TS_CONF_NTP);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.f[0].rule, "kind");
	assert_int_equal(l.f[0].sev, TS_SEV_INFO);
	assert_string_equal(l.f[1].rule, "restrict");
	assert_int_equal(ts_lint_worst(&l), 1);
	ts_lint_release(&l);
}

static void
test_kernel_timex(void **state)
{
	struct timex t;
	struct ts_kernel k;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.status = STA_PLL | STA_NANO;
	t.offset = -250000;          /* ns */
	t.freq = -12 * 65536 - 32768; /* -12.5 ppm */
	t.esterror = 1500;           /* us */
	t.maxerror = 250000;
	t.tai = 37;
	ts_kernel_from_timex(&t, TIME_INS, &k);
	assert_int_equal(k.synchronised, 1);
	assert_true(k.offset == -0.00025);
	assert_true(k.freq_ppm == -12.5);
	assert_true(fabs(k.est_error - 0.0015) < 1e-12);
	assert_true(fabs(k.max_error - 0.25) < 1e-12);
	assert_int_equal(k.tai, 37);
	assert_string_equal(k.leap, "insert");
	assert_int_equal(ts_kernel_exit(&k), 0);

	t.status = STA_UNSYNC; /* microseconds */
	t.offset = 1500;
	ts_kernel_from_timex(&t, TIME_ERROR, &k);
	assert_int_equal(k.synchronised, 0);
	assert_true(fabs(k.offset - 0.0015) < 1e-12);
	assert_string_equal(k.leap, "none");
	assert_int_equal(ts_kernel_exit(&k), 1);

	t.status = STA_DEL;
	ts_kernel_from_timex(&t, TIME_OK, &k);
	assert_int_equal(k.synchronised, 1);
	assert_string_equal(k.leap, "delete");
	ts_kernel_from_timex(&t, TIME_OOP, &k);
	assert_string_equal(k.leap, "in progress");
}

static void
test_daemons_from_proc(void **state)
{
	char root[] = "/tmp/mamori-test-proc-XXXXXX", p[512];
	struct ts_kernel k;

	(void)state;
	memset(&k, 0, sizeof(k));
	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof(p), "mkdir -p %s/17 %s/23 %s/99 %s/self && "
		 "echo chronyd > %s/17/comm && echo ntpd > %s/23/comm && "
		 "printf 'ntpd: ntp engine\\0' > %s/23/cmdline && echo bash > %s/99/comm",
		 root, root, root, root, root, root, root, root);
	assert_int_equal(system(p), 0);
	assert_int_equal(ts_daemons_running(root, &k), TS_DAEMON_CHRONYD | TS_DAEMON_OPENNTPD);
	assert_int_equal(k.pid_chronyd, 17);
	assert_int_equal(k.pid_openntpd, 23);
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_reply_checks),
		cmocka_unit_test(test_refid_text),
		cmocka_unit_test(test_arithmetic),
		cmocka_unit_test(test_intersection),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_check_good_and_ahead),
		cmocka_unit_test(test_check_faults),
		cmocka_unit_test(test_check_parallel_timeouts),
		cmocka_unit_test(test_add_specs),
		cmocka_unit_test(test_config_discover),
		cmocka_unit_test(test_lint_rules),
		cmocka_unit_test(test_kernel_timex),
		cmocka_unit_test(test_daemons_from_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
