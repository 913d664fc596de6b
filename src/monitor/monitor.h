/*
 * monitor: probes of the host, its services and its backups, rules with
 * thresholds that name the cause, alert sinks and Prometheus exposition
 * (docs/monitoring.md).
 *
 * A probe reads the system through a struct mon_env, so tests point it at
 * recorded /proc and /sys files (env->root) and at a fixed file-system
 * reading and clock. Probes keep what they need between cycles (counters
 * for rates, a disk's history for its forecast, a baseline of watched
 * files) in a small key/value memory that the agent saves in its state
 * folder, so a restart neither forgets a trend nor repeats an alert.
 */
#ifndef MAMORI_MONITOR_H
#define MAMORI_MONITOR_H

#include <stdint.h>
#include <stdio.h>

#include "conf/conf.h"
#include "util/util.h"

enum mon_state { MON_OK = 0, MON_WARNING = 1, MON_CRITICAL = 2, MON_UNKNOWN = 3 };
const char *mon_state_name(enum mon_state s); /* "OK", "WARNING", ... */

/* ---- what probes read ---------------------------------------------------- */
struct mon_fs {
	uint64_t size, free, avail;     /* bytes; avail: for unprivileged users */
	uint64_t files, ffree;          /* inodes */
	int readonly;
};
/* What the backups and time probes read. The monitor does not judge
 * backups or clocks itself: the caller hands in the policy module's status
 * and the time-sync module's diagnosis through these hooks (the CLI wires
 * them), so each rule lives in one place. */
struct mon_backup_reading {
	char dataset[128];
	enum mon_state state;   /* the policy's verdict for the dataset */
	char reason[1300];      /* its worst finding, in words */
	int have_snapshot;
	int64_t age_s, rpo_s, rto_s; /* rto 0: none */
	int have_check, check_ok;
	int64_t check_age_s;
	int have_drill, drill_ok;
	int64_t drill_age_s;
	double drill_seconds;   /* projected restore of the whole dataset */
};
struct mon_time_reading {
	int synchronised;       /* the kernel says so (adjtimex) */
	double offset;          /* kernel's offset estimate, seconds */
	double est_error, max_error;
	char daemons[64];       /* "chronyd", "" when none runs */
	int nservers;           /* servers measured (0: none asked) */
	int have_server_offset;
	double server_offset;   /* combined offset of the servers, seconds (+: we are behind) */
	char detail[768];       /* the diagnosis of the servers that failed, "" if none */
};
struct mon_alert;
struct mon_sink;
struct mon_check;
struct mon_result;
/*
 * What needs libcurl (the http probe, webhook and e-mail alerts) goes
 * through this table, so the resident agent (mamori-agent) is built
 * without libcurl and the two dozen libraries it brings: the mamori
 * program hands in mon_net_curl; the agent hands such work to a mamori
 * child process (src/agent).
 */
struct mon_http_answer {
	int failed;        /* no HTTP answer: cause says why */
	long status;       /* the HTTP status when one came */
	double seconds;    /* total time of the request */
	char cause[600];   /* "connection refused or unreachable: ..." */
};
struct mon_net {
	int (*http_get)(const char *url, double timeout_s, struct mon_http_answer *out,
			struct mm_ctx *c);
	/* Deliver one alert to a webhook or e-mail sink. */
	int (*send)(void *arg, const struct mon_sink *s, const struct mon_alert *a,
		    struct mm_ctx *c);
	/* Optional (the agent): deliver to any sink in the background, so a
	 * receiver that hangs never holds up the probes. One delivery at a time
	 * per id ("CHECK/SINK"); tag names the alert ("problem 2 1 TIME").
	 * finish says how it goes: 0 under way (for any tag: a newer alert
	 * waits for the older one, so they arrive in order), 1 the delivery of
	 * this tag ended (*failed, the reason in c), -1 none of this tag (one
	 * for an older alert that ended is forgotten). */
	int (*start)(void *arg, const char *id, const char *tag, const struct mon_sink *s,
		     const struct mon_alert *a, struct mm_ctx *c);
	int (*finish)(void *arg, const char *id, const char *tag, int *failed,
		      struct mm_ctx *c);
};
extern const struct mon_net mon_net_curl; /* monitor/curl.c */
struct mon_hooks {
	/* Every dataset of the policy (dataset NULL) or the one named: *out is
	 * a new array of *n readings the caller frees. */
	int (*backups)(void *arg, const char *dataset, struct mon_backup_reading **out, size_t *n,
		       struct mm_ctx *c);
	/* The kernel clock's state, and servers measured when servers is not
	 * NULL ("HOST[:PORT] ..."). */
	int (*clock)(void *arg, const char *servers, double timeout_s, struct mon_time_reading *out,
		     struct mm_ctx *c);
	void *arg;
	/* Each alert the rules decide on (problem, recovery, flapping), called
	 * by mon_cycle_commit after syslog: the CLI records it in the ledger,
	 * where a CRITICAL opens an incident and a recovery notes its end. */
	void (*alert)(void *alert_arg, const struct mon_alert *a);
	void *alert_arg;
};
struct mon_env {
	const char *root; /* prefix of /proc, /sys, /etc paths: "" for the live system */
	struct mon_hooks hooks; /* backups and time (NULL: those checks are UNKNOWN) */
	/* statvfs of path; NULL: the real one. Returns 0 or -errno. */
	int (*statfs)(void *arg, const char *path, struct mon_fs *out);
	struct mm_clock clock;
	void *arg;
	double sample_s; /* check mode with no earlier reading: rate window (0: 0.5 s) */
	const struct mon_net *net; /* NULL: http checks and webhook/e-mail alerts fail */
	void *net_arg;
	/* When set, the checks whose probe is `outsourced` (http, backups: they
	 * need libraries the agent does not load) are run by this instead, all
	 * of a cycle in one call: out[i] is k[i]'s result. An error makes them
	 * all UNKNOWN with its message. */
	int (*outsource)(void *arg, const struct mon_check *const *k, size_t n,
			 struct mon_result *out, struct mm_ctx *c);
	void *outsource_arg;
	/* 1 (the agent): a check with `every` reuses its last result, kept in
	 * its memory, until that much time has passed. */
	int reuse;
};

/* ---- memory between cycles ---------------------------------------------- */
struct mon_kv {
	char *key, *val;
};
struct mon_memo {
	struct mon_kv *kv;
	size_t n, cap;
};
#define MON_MEMO_INIT { NULL, 0, 0 }
#define MON_MEMO_MAX 4096            /* entries a check may keep */
#define MON_MEMO_VAL_MAX (64u * 1024) /* bytes of one value */
const char *mon_memo_get(const struct mon_memo *m, const char *key);
int mon_memo_set(struct mon_memo *m, const char *key, const char *val) MM_MUST_CHECK;
void mon_memo_del(struct mon_memo *m, const char *key);
void mon_memo_release(struct mon_memo *m);

/* ---- a check as configured ------------------------------------------------ */
struct mon_threshold {
	int set;
	int pct;      /* 1: a percentage of the probe's percent value */
	double value; /* in the probe's base unit (bytes, seconds, ...) or percent */
};
struct mon_probe;
struct mon_check {
	char *name;
	const struct mon_probe *probe;
	char *target;          /* path, interface, host:port, URL, unit, process, array */
	char **files;          /* files watched (type files) */
	size_t nfiles;
	long expect_status;    /* http: expected status (0: 200..399) */
	double timeout_s;      /* tcp/http/service: 0 means 5 s */
	struct mon_threshold warn, crit;
	int64_t for_s;         /* a breach must last this long before it counts */
	int64_t every_s;       /* the agent runs it at most this often (0: every cycle) */
};
void mon_check_release(struct mon_check *k);

/* ---- what a probe found --------------------------------------------------- */
struct mon_metric {
	char name[80];    /* mamori_disk_used_bytes */
	char labels[256]; /* check="data-disk",path="/srv" (already escaped) */
	double value;
};
struct mon_result {
	enum mon_state state; /* the probe's own verdict (UNKNOWN if it could not read) */
	int judged;           /* value below is compared with warn/crit */
	double value;         /* in the probe's base unit */
	double pct;           /* the percent form, when the probe has one (else -1) */
	char unit[16];        /* "%", "s", "bytes" for messages */
	char message[768];    /* the cause in words */
	struct mon_metric *metrics;
	size_t nmetrics, cap;
};
void mon_result_init(struct mon_result *r);
void mon_result_release(struct mon_result *r);
int mon_metric_add(struct mon_result *r, const char *name, const char *labels,
		   double value) MM_MUST_CHECK;

/* ---- probes --------------------------------------------------------------- */
struct mon_probe {
	const char *type;        /* the `type` in [check NAME] */
	const char *target_key;  /* which key names its target ("path", ...), or NULL */
	int higher_is_worse;     /* thresholds: 1 breach when value >= limit */
	int (*run)(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
		   struct mon_result *out, struct mm_ctx *c);
	int outsourced;          /* needs the whole mamori program (env->outsource) */
	int64_t default_every_s; /* `every` when the check does not say */
};
/* The probe for a type name, or NULL. */
const struct mon_probe *mon_probe_find(const char *type);
/* "disk, memory, cpu, ..." for messages. */
const char *mon_probe_types(void);

/* sshd's "Failed password for [invalid user ]U from A port ..." and
 * "Accepted publickey for U from A ...": 1 (with *ok, user, addr), 0 if the
 * message is not a login. */
int mon_login_parse(const char *msg, int *ok, char *user, size_t un, char *addr, size_t an);

/* ---- rules: from a reading to a state and alerts ------------------------- */
#define MON_FLAP_WINDOW 20  /* cycles remembered for flap detection */
#define MON_FLAP_HIGH 6     /* this many changes in the window: flapping */
#define MON_FLAP_LOW 3      /* flapping ends at this many or fewer */
struct mon_rule_state {
	enum mon_state state;    /* confirmed state (after `for`) */
	int64_t since;           /* when it was confirmed (s) */
	enum mon_state pending;  /* a different raw state waiting for `for` */
	int64_t pending_since;
	enum mon_state alerted;  /* the last state an alert was sent for */
	uint32_t history;        /* bit i: cycle i ago changed raw state */
	enum mon_state last_raw;
	int flapping;
	int seen;                /* has been evaluated once */
};
/* Compare a result with the check's thresholds: the raw state this cycle. */
enum mon_state mon_judge(const struct mon_check *k, const struct mon_result *r);
/*
 * Advance a check's rule state with this cycle's raw state at time now.
 * Returns 1 when an alert should be sent (the confirmed state changed, and
 * the check is not flapping, or flapping just started or ended); *kind says
 * which: "problem", "recovery", "flapping", "flapping-ended".
 */
int mon_rule_step(struct mon_rule_state *st, const struct mon_check *k, enum mon_state raw,
		  int64_t now, const char **kind);

/* ---- alerts ---------------------------------------------------------------- */
enum mon_sink_type { MON_SINK_WEBHOOK, MON_SINK_EMAIL, MON_SINK_COMMAND };
struct mon_sink {
	char *name;
	enum mon_sink_type type;
	char *url;        /* webhook URL, or the SMTP server (smtp://host:port) */
	char *from;
	char **to;
	size_t nto;
	char **argv;      /* command */
	enum mon_state min_state; /* problems below this are not sent (recoveries are) */
	double timeout_s;
};
void mon_sink_release(struct mon_sink *s);
struct mon_alert {
	const char *check, *type, *kind;   /* kind: problem, recovery, flapping, ... */
	enum mon_state state, previous;
	double value;
	int has_value;
	char threshold[64];                /* "warn 80%, crit 90%" */
	const char *cause;                 /* the probe's message */
	const char *host;
	int64_t time;                      /* seconds since the epoch */
};
/* Deliver one alert to one sink (webhook and e-mail through env->net):
 * 0, or an error naming what failed. */
int mon_sink_send(const struct mon_sink *s, const struct mon_alert *a, const struct mon_env *env,
		  struct mm_ctx *c) MM_MUST_CHECK;
/* The JSON body of a webhook (also the payload documented). */
int mon_alert_json(const struct mon_alert *a, struct buf *out) MM_MUST_CHECK;
/* Write the alert to syslog (and so to the journal); silenced: the reason
 * of the silence that holds it back from the sinks, or NULL. */
void mon_alert_syslog(const struct mon_alert *a, const char *silenced);

/* ---- silences: planned work pages no one ---------------------------------- */
struct mon_silence {
	char check[128];   /* a check's name, or "*" for every check */
	int64_t until;     /* seconds since the epoch */
	char reason[256];
};
struct mon_silences {
	struct mon_silence *v;
	size_t n;
};
/* STATE_DIR/silences (none: empty). */
int mon_silences_load(const char *state_dir, struct mon_silences *out,
		      struct mm_ctx *c) MM_MUST_CHECK;
void mon_silences_release(struct mon_silences *s);
/* The silence that covers check at now, or NULL. */
const struct mon_silence *mon_silenced(const struct mon_silences *s, const char *check,
				       int64_t now);
/* Silence the named checks ("*": all) until `until` with a reason, or end
 * their silences (until <= now; *removed counts them; "*" ends every
 * silence). Silences that have ended are dropped from the file on the way. */
int mon_silence_change(const char *state_dir, const char *const *names, size_t n, int64_t until,
		       const char *reason, int64_t now, size_t *removed,
		       struct mm_ctx *c) MM_MUST_CHECK;

/* ---- the wire format between the agent and its mamori helper --------------
 * Text, one item per line, fields percent-encoded (docs/monitoring.md):
 *   mamori-result 1 | state N | judged N | value V | pct V | unit U |
 *   message M | metric NAME LABELS VALUE
 *   mamori-alert 1 | check C | type T | kind K | state N | previous N |
 *   value V | has-value N | threshold T | cause C | host H | time T
 * Decoding is strict: an unknown line, a missing field or a value out of
 * range is MM_ECORRUPT naming the line. */
#define MON_WIRE_MAX (256u * 1024)
int mon_result_encode(const struct mon_result *r, struct buf *out) MM_MUST_CHECK;
int mon_result_decode(const char *text, size_t len, struct mon_result *out,
		      struct mm_ctx *c) MM_MUST_CHECK;
/* n results one after the other (each from its "mamori-result" line): out
 * is filled only when exactly n decode. */
int mon_results_decode(const char *text, size_t len, struct mon_result *out, size_t n,
		       struct mm_ctx *c) MM_MUST_CHECK;
/* A decoded alert owns its strings. */
struct mon_alert_msg {
	struct mon_alert a;
	char *check, *type, *kind, *cause, *host;
};
int mon_alert_encode(const struct mon_alert *a, struct buf *out) MM_MUST_CHECK;
int mon_alert_decode(const char *text, size_t len, struct mon_alert_msg *out,
		     struct mm_ctx *c) MM_MUST_CHECK;
void mon_alert_msg_release(struct mon_alert_msg *m);

/* ---- the agent's configuration --------------------------------------------- */
struct mon_config {
	int64_t interval_s;        /* [monitor] interval, default 10 s */
	char *state_dir;           /* [monitor] state-dir */
	char *host;                /* this host's name */
	struct mon_check *checks;
	size_t nchecks;
	struct mon_sink *sinks;
	size_t nsinks;
};
void mon_config_release(struct mon_config *mc);
/* Register [monitor], [check NAME] and [alert NAME] into a schema. */
int mon_conf_register(struct conf_schema *s) MM_MUST_CHECK;
/* Build the agent's configuration from a parsed file (MM_ECONFIG with
 * file:line when a check is inconsistent, e.g. a disk check without path). */
int mon_config_from(const struct conf *cf, struct mon_config *out, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- one cycle -------------------------------------------------------------- */
struct mon_checkrun {
	const struct mon_check *check;
	struct mon_result res;
	enum mon_state raw;       /* judged this cycle */
	struct mon_rule_state rule;
	struct mon_memo memo;
};
struct mon_cycle {
	struct mon_checkrun *runs;
	size_t n;
	double seconds;           /* how long the cycle took */
};
/*
 * Load each check's memory and rule state from state_dir (NULL: none),
 * run every check (or only those named), judge them. Does not save and
 * sends nothing: see mon_cycle_commit.
 */
int mon_cycle_run(const struct mon_config *mc, const struct mon_env *env,
		  const char *const *only, size_t nonly, struct mon_cycle *out,
		  struct mm_ctx *c) MM_MUST_CHECK;
/* Advance the rules, send the alerts that are due (warn() reports a sink
 * that failed; its alert is kept and retried next cycle with backoff), and
 * save the state durably in mc->state_dir. A silenced check's change goes
 * to syslog only; it alerts when its silence ends, if still changed. */
int mon_cycle_commit(const struct mon_config *mc, const struct mon_env *env,
		     struct mon_cycle *cy, void (*warn)(void *, const char *), void *arg,
		     struct mm_ctx *c) MM_MUST_CHECK;
void mon_cycle_release(struct mon_cycle *cy);
/* The agent stopping: account for the deliveries that ended since the last
 * cycle (env->net->finish) without starting new ones, and save the state. */
int mon_cycle_drain(const struct mon_config *mc, const struct mon_env *env,
		    void (*warn)(void *, const char *), void *arg, struct mm_ctx *c) MM_MUST_CHECK;
/* Forget the baselines of the named files checks: the next cycle records
 * the files as they are now (an administrator accepted the change). */
int mon_accept(const struct mon_config *mc, const char *const *names, size_t n,
	       struct mm_ctx *c) MM_MUST_CHECK;
/* A reading is shown (and judged) as a percentage unless an absolute
 * threshold was configured for it. */
int mon_shows_percent(const struct mon_check *k, const struct mon_result *r);
/* The worst state of the cycle (for --nagios and the exit code). */
enum mon_state mon_cycle_worst(const struct mon_cycle *cy);

/* ---- output ------------------------------------------------------------------ */
/* Prometheus text exposition (version 0.0.4) of every metric and state. */
int mon_metrics_write(const struct mon_config *mc, const struct mon_cycle *cy, FILE *f);
/* One Nagios plugin line: "MAMORI MONITOR CRITICAL - data-disk: ... | perfdata". */
void mon_nagios_write(const struct mon_cycle *cy, FILE *f);

#endif
