/*
 * timesync: an SNTP/NTPv4 client with RFC 5905 on-wire checks, source
 * selection (intersection of correctness intervals), a diagnosis that
 * names the cause, discovery of the configured servers, a linter for
 * ntp.conf / chrony.conf, and the kernel clock state.
 *
 * The clock and the network are reached through small vtables so tests can
 * feed packets and fix the time. Nothing here prints or exits.
 */
#ifndef MAMORI_TIMESYNC_H
#define MAMORI_TIMESYNC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/timex.h>

#include "util/util.h"

/* Error codes of this module (the range -34..-37 is timesync's). */
enum {
	MM_EKOD = -34,      /* the server sent a kiss-o'-death */
	MM_EBOGUS = -35,    /* a reply failed the on-wire checks */
	MM_EUNSYNC = -36,   /* the server (or this host) is not synchronised */
	MM_ENOSOURCE = -37, /* no usable time source */
};
/* Words for the codes above, else mm_strerror(code). */
const char *ts_strerror(int code);

/* ---- NTP timestamps and packets (packet.c) ------------------------------ */

/* 32.32 fixed point seconds since 1900 (era 0) or since 2036 (era 1)... */
typedef uint64_t ntp_ts;
#define NTP_PACKET_LEN 48
#define NTP_UNIX_OFFSET UINT64_C(2208988800) /* 1900-01-01 to 1970-01-01 */

/* Unix nanoseconds to an NTP timestamp (the era is dropped, as on the wire). */
ntp_ts ntp_ts_from_unix_ns(int64_t ns);
/* Signed seconds a - b, correct across an era wrap when |a - b| < 68 years. */
double ntp_ts_diff(ntp_ts a, ntp_ts b);
/* NTP short format (16.16) to seconds. */
double ntp_short_to_sec(uint32_t v);

struct ntp_packet {
	uint8_t leap;      /* 0..3; 3 = alarm (not synchronised) */
	uint8_t version;   /* 1..4 */
	uint8_t mode;      /* 3 client, 4 server */
	uint8_t stratum;   /* 0 kiss-o'-death, 1 primary, 2..15, 16 unsynchronised */
	int8_t poll;
	int8_t precision;  /* log2 seconds */
	uint32_t root_delay;  /* 16.16 */
	uint32_t root_disp;   /* 16.16 */
	uint32_t refid;       /* host order; the four bytes as sent, big-endian */
	ntp_ts ref, org, rx, tx;
};

/* Encode into 48 bytes. */
void ntp_packet_encode(const struct ntp_packet *p, uint8_t out[NTP_PACKET_LEN]);
/* Decode; fewer than 48 bytes is MM_EBOGUS ("truncated: N bytes"). Extension
 * fields and a MAC after the header are ignored. */
int ntp_packet_decode(const uint8_t *b, size_t n, struct ntp_packet *out,
		      struct mm_ctx *c) MM_MUST_CHECK;
/* The reference ID as text: four characters for stratum 0 and 1 (kiss code
 * or refclock name, non-printable bytes as '.'), else an IPv4 address
 * (for IPv6 peers a hash, shown the same way). out >= 16. */
void ntp_refid_text(const struct ntp_packet *p, char *out, size_t n);

/* What a reply's kiss code means; NULL for an unknown one. */
const char *ntp_kiss_meaning(const char code[5]);

/*
 * The on-wire checks of a reply to a request whose transmit timestamp was
 * sent_tx (RFC 5905 8, "bogus" and "duplicate" tests): server mode, version
 * 1..4, non-zero receive and transmit timestamps, origin equal to sent_tx,
 * transmit not a repeat of last_tx (0: no earlier reply).
 * Returns 0, or MM_EBOGUS with the reason in c; a kiss-o'-death passes
 * these checks (its verdict is the caller's: ntp_packet_is_kiss).
 */
int ntp_reply_check(const struct ntp_packet *reply, ntp_ts sent_tx, ntp_ts last_tx,
		    struct mm_ctx *c) MM_MUST_CHECK;
/* Stratum 0: out gets the four-letter code. */
int ntp_packet_is_kiss(const struct ntp_packet *p, char out[5]);

/* One measurement from the four timestamps (t1 our send, t2 server receive,
 * t3 server send, t4 our receive). */
struct ntp_sample {
	double offset;  /* seconds the server is ahead of us */
	double delay;   /* round trip minus the server's hold time */
	double disp;    /* dispersion of this sample */
};
void ntp_sample_compute(ntp_ts t1, ntp_ts t2, ntp_ts t3, ntp_ts t4,
			int8_t server_precision, struct ntp_sample *out);

/* ---- clock and network behind vtables ----------------------------------- */

struct ts_clock {
	int64_t (*now_ns)(void *arg);   /* the clock under test (CLOCK_REALTIME) */
	double (*mono)(void *arg);      /* seconds, monotonic, for timeouts */
	void (*sleep)(void *arg, double seconds);
	void *arg;
};
/* The system's clocks. */
extern const struct ts_clock ts_system_clock;

struct ts_addr {
	struct sockaddr_storage sa;
	socklen_t len;
};
/* "192.0.2.1:123", "[2001:db8::1]:123" (out >= 64). */
void ts_addr_format(const struct ts_addr *a, char *out, size_t n);
void ts_addr_host(const struct ts_addr *a, char *out, size_t n);
int ts_addr_equal(const struct ts_addr *a, const struct ts_addr *b);

struct ts_net_ops {
	/* A datagram socket for a's family. */
	int (*open)(void *arg, const struct ts_addr *a, void **sock, struct mm_ctx *c);
	int (*send)(void *sock, const struct ts_addr *to, const void *p, size_t n,
		    struct mm_ctx *c);
	/* Wait up to timeout seconds for one datagram: 0 (*n bytes from *from;
	 * *rx_ns its arrival time on the clock's scale, Unix ns, or 0 when
	 * unknown), MM_ETIMEDOUT, MM_ECONNREFUSED (ICMP port unreachable), or
	 * an error. */
	int (*recv)(void *sock, void *p, size_t cap, size_t *n, struct ts_addr *from,
		    int64_t *rx_ns, double timeout, struct mm_ctx *c);
	void (*close)(void *sock);
};
struct ts_net {
	const struct ts_net_ops *ops;
	void *arg;
};
/* UDP through the kernel: IP_RECVERR brings ICMP errors back. */
extern const struct ts_net ts_udp_net;

/* ---- sources and the check ---------------------------------------------- */

enum ts_verdict {
	TS_GOOD = 0,      /* selected: inside the intersection */
	TS_UNRESOLVED,    /* the name did not resolve */
	TS_UNREACHABLE,   /* no valid reply (see cause) */
	TS_KOD,           /* kiss-o'-death */
	TS_UNSYNC,        /* leap 3, stratum 0 or 16 */
	TS_FAR,           /* root distance above the limit */
	TS_FALSETICKER,   /* outside the intersection of the others */
	TS_DISAGREE,      /* no majority agrees: cannot tell who is wrong */
};
const char *ts_verdict_name(enum ts_verdict v);

enum ts_cause {
	TS_CAUSE_NONE = 0,
	TS_CAUSE_TIMEOUT,     /* nothing came back */
	TS_CAUSE_REFUSED,     /* ICMP port unreachable */
	TS_CAUSE_BOGUS,       /* only replies that failed the on-wire checks */
	TS_CAUSE_OTHER_ADDR,  /* replies came from another address */
	TS_CAUSE_NETWORK,     /* sending failed (no route, ...) */
};

#define TS_MAX_SAMPLES 16
#define TS_MAX_SOURCES 64
#define TS_MAX_DIST 1.5         /* seconds, RFC 5905 MAXDIST */
#define TS_STEP_THRESHOLD 0.128 /* seconds above which ntpd steps */
#define TS_SLEW_RATE 0.0005     /* 500 ppm, the kernel's largest slew */

struct ts_source {
	char name[256];      /* as configured or given */
	char origin[256];    /* file:line it came from, or "command line" */
	struct ts_addr addr;
	int have_addr;
	uint16_t port;

	enum ts_verdict verdict;
	enum ts_cause cause;
	char detail[512];    /* why, in words (kiss meaning, bogus reason, ...) */

	unsigned sent, received;     /* reach: received/sent valid replies */
	unsigned bogus, other_addr;  /* dropped replies */
	unsigned late;               /* replies to an earlier request, after its wait */
	char kiss[5];
	int have_sample;
	/* from the least-delay sample */
	double offset, delay, disp, jitter;
	uint8_t leap, stratum, version;
	int8_t precision;
	double root_delay, root_disp, root_dist;
	char refid[16];
};

struct ts_check_opts {
	unsigned samples;    /* per source, 1..TS_MAX_SAMPLES (default 4) */
	double timeout;      /* seconds to wait for each reply (default 1) */
	double interval;     /* seconds between samples of a source (default 0.5) */
	double max_dist;     /* 0: TS_MAX_DIST */
};
#define TS_CHECK_OPTS_INIT { 4, 1.0, 0.5, 0.0 }

struct ts_result {
	struct ts_source *src;  /* owned */
	size_t n;
	size_t survivors, falsetickers;
	int have_offset;        /* at least one survivor */
	double offset;          /* combined, weighted by 1/root distance */
	double delay, jitter;   /* of the best survivor; jitter combined */
	double low, high;       /* the intersection */
	int step_needed;        /* |offset| > TS_STEP_THRESHOLD */
	double slew_seconds;    /* how long a 500 ppm slew would take */
	char config_file[512];  /* where the servers came from, if discovered */
};
#define TS_RESULT_INIT { NULL, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, { 0 } }
void ts_result_release(struct ts_result *r);

/* Add a source to r from "HOST", "HOST:PORT", "[V6]:PORT" (resolved here;
 * one that does not resolve is kept with TS_UNRESOLVED). all: every address
 * the name resolves to becomes a source (a pool). */
int ts_result_add(struct ts_result *r, const char *spec, uint16_t default_port,
		  int all, const char *origin, struct mm_ctx *c) MM_MUST_CHECK;

/* Query every resolved source, judge it, select, combine. Returns 0 (the
 * verdicts are in r) or an error that stopped everything. */
int ts_check_run(struct ts_result *r, const struct ts_check_opts *o,
		 const struct ts_clock *clk, const struct ts_net *net,
		 struct mm_ctx *c) MM_MUST_CHECK;

/* For the other modules (monitor, ledger): check the given servers
 * ("HOST[:PORT]", n of them; n == 0: the configured ones, under root)
 * with the system clock and UDP. r gets every source's verdict, the
 * combined offset (r->have_offset) and r->step_needed; the return is 0
 * when at least one source survived, MM_ENOSOURCE (with the first
 * source's advice in c) when none did, or another error. */
int ts_check_servers(const char *const *servers, size_t n, const char *root,
		     const struct ts_check_opts *o, struct ts_result *r,
		     struct mm_ctx *c) MM_MUST_CHECK;

/* Selection alone (used by ts_check_run, and by tests): among the sources
 * whose verdict is TS_GOOD, mark falsetickers, compute the combined offset. */
void ts_select(struct ts_result *r);

/* Intersection over n correctness intervals [lo[i], hi[i]] (Marzullo's
 * algorithm as RFC 5905 11.2.1 uses it, on the endpoints only, as ntpd and
 * chronyd do today). Returns the number of falsetickers allowed (0..), or
 * -1 when no majority agrees; *low, *high get the intersection. */
int ts_intersect(const double *lo, const double *hi, size_t n, double *low, double *high);

/* What a failed or odd source means and what to do, in one sentence. */
void ts_source_advice(const struct ts_source *s, char *out, size_t n);

/* Nagios state from the combined offset: 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN (no offset). */
int ts_nagios_state(const struct ts_result *r, double warn, double crit);

/* ---- configured servers (config.c) -------------------------------------- */

/* Find the servers the time daemon on this host is configured with, looking
 * in root (NULL or "/": the real root; tests give a folder) for
 * /etc/chrony/chrony.conf (with its confdir, sourcedir and include),
 * /etc/ntpsec/ntp.conf, /etc/ntp.conf, /etc/systemd/timesyncd.conf, in
 * that order; the first with servers wins. Adds them to r (pools
 * expanded) and names the file in r->config_file. MM_ENOSOURCE if none. */
int ts_config_discover(const char *root, struct ts_result *r, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- lint (lint.c) ------------------------------------------------------ */

enum ts_severity { TS_SEV_INFO = 0, TS_SEV_WARNING = 1, TS_SEV_ERROR = 2 };
enum ts_conf_kind { TS_CONF_UNKNOWN = 0, TS_CONF_NTP, TS_CONF_CHRONY };

struct ts_finding {
	unsigned line;      /* 0: the file as a whole */
	enum ts_severity sev;
	char rule[32];      /* stable name, docs/time.md */
	char msg[320];
};
struct ts_lint {
	enum ts_conf_kind kind;
	struct ts_finding *f;
	size_t n, cap;
	unsigned sources;   /* usable server/pool/peer lines */
};
#define TS_LINT_INIT { TS_CONF_UNKNOWN, NULL, 0, 0, 0 }
void ts_lint_release(struct ts_lint *l);
/* Which daemon's syntax the text is. */
enum ts_conf_kind ts_conf_detect(const char *text, size_t n);
/* Lint text (a whole file). hint: the kind to assume when the content
 * does not tell (from the file name), or TS_CONF_UNKNOWN. Findings are
 * sorted by line, file-wide ones (line 0) last. */
int ts_lint_text(const char *text, size_t n, enum ts_conf_kind hint, struct ts_lint *out,
		 struct mm_ctx *c) MM_MUST_CHECK;
/* As ts_lint_text; the hint comes from the name (chrony*, ntp*). */
int ts_lint_file(const char *path, struct ts_lint *out, struct mm_ctx *c) MM_MUST_CHECK;
/* 0 clean (info only), 1 warnings, 2 errors. */
int ts_lint_worst(const struct ts_lint *l);
const char *ts_severity_name(enum ts_severity s);

/* ---- the kernel clock (status.c) ---------------------------------------- */

enum ts_daemon {
	TS_DAEMON_NONE = 0,
	TS_DAEMON_CHRONYD = 1 << 0,
	TS_DAEMON_NTPD = 1 << 1,
	TS_DAEMON_TIMESYNCD = 1 << 2,
	TS_DAEMON_OPENNTPD = 1 << 3,
};

struct ts_kernel {
	int state;             /* adjtimex return: TIME_OK, TIME_INS, ..., TIME_ERROR */
	int synchronised;      /* STA_UNSYNC clear and state != TIME_ERROR */
	double offset;         /* seconds */
	double freq_ppm;
	double est_error;      /* seconds */
	double max_error;      /* seconds */
	int tai;               /* TAI - UTC, seconds (0: not set) */
	const char *leap;      /* "none", "insert", "delete", "in progress", "done" */
	int pll, nano, ppsfreq;
	unsigned daemons;      /* TS_DAEMON_* bits */
	int pid_chronyd, pid_ntpd, pid_timesyncd, pid_openntpd;
};
/* Interpret a timex as adjtimex(2) filled it, with its return value. */
void ts_kernel_from_timex(const struct timex *t, int state, struct ts_kernel *out);
/* Read the kernel's state (adjtimex with modes 0: changes nothing). */
int ts_kernel_read(struct ts_kernel *out, struct mm_ctx *c) MM_MUST_CHECK;
/* Which time daemons run, from proc (NULL: "/proc"). */
unsigned ts_daemons_running(const char *proc, struct ts_kernel *k);
const char *ts_daemon_name(unsigned bit);
/* Exit code for scripts (as ntpstat): 0 synchronised, 1 not synchronised
 * (the CLI adds 2: the state could not be read). */
int ts_kernel_exit(const struct ts_kernel *k);

#endif
