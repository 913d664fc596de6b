/*
 * ledger: the tamper-evident record of what mamori did (docs/ledger.md),
 * the incidents kept in it (docs/incidents.md) and the continuity report.
 *
 * Records are appended to STATE_DIR/ledger, each framed with its length
 * and a checksum, chained by the SHA-256 of the previous record and the
 * leaves of an RFC 9162 Merkle tree. Signed checkpoints (tree size, root,
 * time, host; Ed25519) are kept in the state directory and in every
 * repository the host writes to. Nothing here prints.
 */
#ifndef MAMORI_LEDGER_H
#define MAMORI_LEDGER_H

#include <stdint.h>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "repo/repo.h"
#include "util/util.h"

#define LEDGER_HASH_LEN 32
#define LEDGER_BODY_MAX (64u * 1024)        /* a record body larger than this is damage */
#define LEDGER_FRAME_OVERHEAD 44u           /* magic 4, length 4, checksum 32, length 4 */
#define LEDGER_FIELDS_MAX 64
#define LEDGER_TEXT_MAX 8192                /* command, target, result, a field's value */
#define LEDGER_FILE_MAX ((uint64_t)4 << 30) /* a ledger read whole: 4 GiB */
#define LEDGER_CHECKPOINT_MAX 4096          /* a checkpoint note */
#define LEDGER_NO_UID UINT32_MAX
#define LEDGER_DEFAULT_STATE_DIR "/var/lib/mamori"

/* ---- clock --------------------------------------------------------------- */
enum ledger_clock_state {
	LEDGER_CLOCK_UNKNOWN = 0,
	LEDGER_CLOCK_SYNCED = 1,   /* adjtimex: synchronised */
	LEDGER_CLOCK_UNSYNCED = 2, /* adjtimex: TIME_ERROR / STA_UNSYNC */
};
/* Time is reached through this, so tests can fix it. */
struct ledger_clock {
	int64_t (*now)(void *arg); /* ns since the epoch */
	int (*state)(void *arg);   /* enum ledger_clock_state */
	void *arg;
};
/* CLOCK_REALTIME and adjtimex(2). */
extern const struct ledger_clock ledger_system_clock;
/* The kernel's synchronisation state (adjtimex, modes 0). */
int ledger_clock_kernel_state(void);
const char *ledger_clock_state_name(int state); /* "synchronised", ... */

/* ---- records -------------------------------------------------------------- */
struct ledger_field {
	char *key, *value;
};
struct ledger_rec {
	uint64_t seq;      /* 1, 2, 3, ... */
	int64_t time_ns;
	uint8_t clock;     /* enum ledger_clock_state when written */
	char *host;
	uint32_t uid;
	char *user;
	uint32_t sudo_uid; /* LEDGER_NO_UID: not under sudo */
	char *sudo_user;
	uint32_t login_uid; /* /proc/self/loginuid; LEDGER_NO_UID when unset */
	char *command;     /* "backup", "incident", "note", ... */
	char *target;      /* the repository, an incident ID, ... */
	int32_t exit_code;
	char *result;      /* short outcome: a snapshot ID, an error message */
	struct ledger_field *fields;
	size_t nfields;
	uint8_t prev[LEDGER_HASH_LEN]; /* SHA-256 of the previous record's body */
};
#define LEDGER_REC_INIT { 0 }
void ledger_rec_release(struct ledger_rec *r);
/* Copy s (NULL: "") into a field. */
int ledger_rec_add_field(struct ledger_rec *r, const char *key, const char *value) MM_MUST_CHECK;
/* The value of the first field named key, or NULL. */
const char *ledger_rec_field(const struct ledger_rec *r, const char *key);
int ledger_rec_encode(const struct ledger_rec *r, struct buf *out) MM_MUST_CHECK;
/* Checks every length against its limit; MM_ECORRUPT with the reason. */
int ledger_rec_decode(const uint8_t *p, size_t n, struct ledger_rec *out,
		      struct mm_ctx *c) MM_MUST_CHECK;
/* Fill host, uid/user, sudo_uid/sudo_user and login_uid from this process. */
int ledger_rec_set_actor(struct ledger_rec *r) MM_MUST_CHECK;
/* Append the frame of a record body (magic, length, body, checksum, length). */
int ledger_frame(const uint8_t *body, size_t n, struct buf *out) MM_MUST_CHECK;

/* One frame found in a ledger file. */
struct ledger_item {
	uint64_t off;    /* of the frame */
	uint32_t len;    /* of the body, at off + 8 */
	int checksum_ok;
};
/* The frames of a ledger file, read front to back (ledger_scan). */
struct ledger_scan {
	struct ledger_item *items;
	size_t n;
	uint64_t good_end; /* end of the last frame with a sound header */
	uint64_t size;     /* of the bytes scanned */
	int tail;          /* what follows good_end: enum ledger_tail */
};
enum ledger_tail {
	LEDGER_TAIL_NONE = 0,
	LEDGER_TAIL_TORN,    /* an incomplete last frame: a crash during an append */
	LEDGER_TAIL_DAMAGED, /* bytes that are no frame: damage or tampering */
};
void ledger_scan_release(struct ledger_scan *s);
/* Split bytes into frames; never fails on hostile bytes (only MM_ENOMEM). */
int ledger_scan_bytes(const uint8_t *p, size_t n, struct ledger_scan *out) MM_MUST_CHECK;

/* ---- Merkle tree (RFC 9162, section 2.1) --------------------------------------- */
/* leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right). */
void merkle_leaf_hash(const void *p, size_t n, uint8_t out[LEDGER_HASH_LEN]);
void merkle_node_hash(const uint8_t l[LEDGER_HASH_LEN], const uint8_t r[LEDGER_HASH_LEN],
		      uint8_t out[LEDGER_HASH_LEN]);
/* Every complete aligned subtree of n leaves, so that the root of any prefix
 * and any proof costs O(log^2 n) hashes. */
struct merkle_tree {
	size_t n;
	uint8_t (*level[64])[LEDGER_HASH_LEN];
};
int merkle_tree_build(struct merkle_tree *t, const uint8_t (*leaves)[LEDGER_HASH_LEN],
		      size_t n) MM_MUST_CHECK;
void merkle_tree_release(struct merkle_tree *t);
/* MTH of the first n leaves (n <= t->n; n 0: SHA-256 of nothing). */
void merkle_tree_root(const struct merkle_tree *t, size_t n, uint8_t out[LEDGER_HASH_LEN]);
/* PROOF(m, D[n]) of RFC 9162 2.1.4.1, 0 < m <= n <= t->n: hashes appended. */
int merkle_tree_consistency(const struct merkle_tree *t, size_t m, size_t n,
			    struct buf *proof) MM_MUST_CHECK;
/* RFC 9162 2.1.4.2: 0 when the proof shows the tree of size m with root_m
 * is a prefix of the tree of size n with root_n, else MM_ETAMPER. */
int merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t root_m[LEDGER_HASH_LEN],
			      const uint8_t root_n[LEDGER_HASH_LEN], const uint8_t *proof,
			      size_t proof_len) MM_MUST_CHECK;

/* ---- keys and checkpoints ---------------------------------------------------- */
#define LEDGER_PUBKEY_LEN 32
#define LEDGER_ORIGIN_MAX 64
struct ledger_key {
	struct mm_sigkey *sk; /* the private part only when loaded from ledger.key */
	uint8_t pub[LEDGER_PUBKEY_LEN];
	char origin[LEDGER_ORIGIN_MAX]; /* "mamori.ledger/" + 16 hex digits of SHA-256(pub) */
	uint8_t key_id[4];              /* signed-note key hash */
};
void ledger_key_release(struct ledger_key *k);
/* From PEM bytes: a private key (PKCS #8) or a public one. */
int ledger_key_from_pem(const uint8_t *pem, size_t n, struct ledger_key *k,
			struct mm_ctx *c) MM_MUST_CHECK;
/* Load a public key (PEM SubjectPublicKeyInfo, or a private key). */
int ledger_key_load_public(const char *path, struct ledger_key *k, struct mm_ctx *c) MM_MUST_CHECK;
/* PEM of the public key. */
int ledger_key_public_pem(const struct ledger_key *k, struct buf *out) MM_MUST_CHECK;

struct ledger_ckpt {
	char origin[LEDGER_ORIGIN_MAX];
	uint64_t size;
	uint8_t root[LEDGER_HASH_LEN];
	int64_t time_ns;
	char host[256];
	uint8_t key_id[4];
	uint8_t sig[64];
	size_t body_len;        /* bytes of note that are signed */
	struct buf note;        /* the whole note as stored */
	char source[256];       /* where it was found, for messages */
};
void ledger_ckpt_release(struct ledger_ckpt *cp);
/* Parse a checkpoint note (docs/ledger.md); MM_ECORRUPT with the reason. */
int ledger_ckpt_parse(const uint8_t *p, size_t n, struct ledger_ckpt *out,
		      struct mm_ctx *c) MM_MUST_CHECK;
/* Make and sign a note. */
int ledger_ckpt_make(const struct ledger_key *k, uint64_t size,
		     const uint8_t root[LEDGER_HASH_LEN], int64_t time_ns, const char *host,
		     struct ledger_ckpt *out, struct mm_ctx *c) MM_MUST_CHECK;
/* 0 when signed by k; MM_ESIG otherwise. */
int ledger_ckpt_check_sig(const struct ledger_ckpt *cp, const struct ledger_key *k) MM_MUST_CHECK;
/* The object name: hex SHA-256 of the note (out: 65). */
void ledger_ckpt_name(const struct ledger_ckpt *cp, char out[65]);
/* Store into a repository's checkpoints/ (no password needed: notes are signed). */
int ledger_ckpt_store(struct backend *be, const struct ledger_ckpt *cp,
		      struct mm_ctx *c) MM_MUST_CHECK;
/* Every checkpoint in a repository; names are checked against the bytes
 * (a mismatch is returned as a finding-worthy MM_ECORRUPT through bad). */
struct ledger_ckpts {
	struct ledger_ckpt *v;
	size_t n, cap;
	size_t unreadable; /* objects that were not valid notes */
};
void ledger_ckpts_release(struct ledger_ckpts *l);
int ledger_ckpts_add(struct ledger_ckpts *l, const uint8_t *p, size_t n, const char *source,
		     struct mm_ctx *c) MM_MUST_CHECK;
int ledger_ckpts_from_repo(struct backend *be, struct ledger_ckpts *l,
			   struct mm_ctx *c) MM_MUST_CHECK;
int ledger_ckpts_from_dir(const char *dir, struct ledger_ckpts *l,
			  struct mm_ctx *c) MM_MUST_CHECK;

/* ---- verification ------------------------------------------------------------- */
enum ledger_finding_kind {
	LF_TORN = 1,   /* the last record is incomplete (crash during append) */
	LF_FRAME,      /* bytes that are not a record frame */
	LF_CHECKSUM,   /* a frame's checksum does not match its bytes */
	LF_DECODE,     /* a record body that does not decode */
	LF_MISSING,    /* a sequence number skipped */
	LF_REPEATED,   /* a sequence number seen again (inserted or reordered) */
	LF_CHAIN,      /* a record's previous-record hash does not match */
	LF_CUT,        /* fewer records than a checkpoint covers */
	LF_ROOT,       /* a checkpoint's root does not match the ledger's prefix */
	LF_SIG,        /* a checkpoint's signature does not verify */
	LF_FOREIGN,    /* a checkpoint of this host signed by another ledger key */
};
struct ledger_finding {
	int kind;
	uint64_t seq; /* the first record it concerns, 0 for none */
	char msg[512];
};
struct ledger_verify {
	uint64_t records;         /* complete frames */
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t first_bad;       /* lowest seq named by a finding (0: none) */
	int torn;                 /* an LF_TORN finding is present */
	uint64_t torn_seq;
	size_t checkpoints;       /* this ledger's checkpoints that were checked */
	size_t checkpoints_ok;
	size_t other_hosts;       /* checkpoints of other ledgers, ignored */
	struct ledger_ckpt last;  /* the newest verified checkpoint (size 0: none) */
	size_t recovered;         /* torn tails moved aside, as the ledger records */
	struct ledger_finding *f;
	size_t nf;
	char host[256];           /* the host of the last record */
};
void ledger_verify_release(struct ledger_verify *v);
/* Verify ledger bytes against checkpoints signed by key. Returns 0 when the
 * verification ran (the verdict is in v: nf == 0 intact, only LF_TORN a
 * torn tail, else tampered); an error only when it could not run. */
int ledger_verify_bytes(const uint8_t *p, size_t n, const struct ledger_ckpts *cps,
			const struct ledger_key *key, struct ledger_verify *v,
			struct mm_ctx *c) MM_MUST_CHECK;
/* MM_OK, MM_ETORN or MM_ETAMPER from a finished verification. */
int ledger_verify_verdict(const struct ledger_verify *v);

/* ---- the ledger in a state directory --------------------------------------------- */
struct ledger {
	char *dir;
	char *path; /* dir/ledger */
	struct ledger_clock clk;
	struct ledger_key key; /* loaded (or created) by the first checkpoint */
	/* Tests only: write this many bytes of the next frame, stop the process
	 * (SIGSTOP), then write the rest: a crash can be placed at any byte. */
	size_t test_stop_after;
};
#define LEDGER_CREATE 1u /* create the state directory (0700) when missing */
int ledger_open(const char *state_dir, unsigned flags, const struct ledger_clock *clk,
		struct ledger **out, struct mm_ctx *c) MM_MUST_CHECK;
void ledger_free(struct ledger *lg);
int64_t ledger_now(const struct ledger *lg);

/* What a caller says about an operation; the ledger adds sequence number,
 * time, clock state, actor and previous hash. */
struct ledger_entry {
	const char *command, *target, *result;
	int exit_code;
	const struct ledger_field *fields;
	size_t nfields;
};
/* Append one record durably (O_APPEND, fsync, flock against other writers).
 * A torn last record is first moved into STATE_DIR/torn/ and a record saying
 * so is appended before this one. *seq (may be NULL) gets the number. */
int ledger_append(struct ledger *lg, const struct ledger_entry *e, uint64_t *seq,
		  struct mm_ctx *c) MM_MUST_CHECK;
/* Read the whole ledger (under a shared lock). A missing file is empty. */
int ledger_read(struct ledger *lg, struct buf *out, struct mm_ctx *c) MM_MUST_CHECK;
/* Decode every complete, readable record in order (for show and incidents). */
int ledger_records(const uint8_t *p, size_t n, struct ledger_rec **out, size_t *nrec,
		   struct mm_ctx *c) MM_MUST_CHECK;
void ledger_records_free(struct ledger_rec *v, size_t n);

/* The host key: STATE_DIR/ledger.key (0600), created on first use. */
int ledger_load_key(struct ledger *lg, int create, struct mm_ctx *c) MM_MUST_CHECK;
/* Verify the ledger against its own checkpoints, then sign a checkpoint of
 * its current size and keep it in STATE_DIR/checkpoints/. Refused
 * (MM_ETAMPER) when the ledger does not verify: a checkpoint never blesses
 * a damaged ledger. */
int ledger_checkpoint(struct ledger *lg, struct ledger_ckpt *out, struct mm_ctx *c) MM_MUST_CHECK;
/* Verify with the state directory's checkpoints plus extra ones; key NULL:
 * the state directory's (ledger.key, else ledger.pub). */
int ledger_verify(struct ledger *lg, const struct ledger_ckpts *extra,
		  const struct ledger_key *key, struct ledger_verify *v,
		  struct mm_ctx *c) MM_MUST_CHECK;
/* Write DIR/ledger, DIR/checkpoints/NAME and DIR/ledger.pub (the key is
 * made if no checkpoint made it yet). */
int ledger_export(struct ledger *lg, const char *dir, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- times and durations ------------------------------------------------------------ */
/* "2026-12-01T10:00:00Z", "...+09:00", "2026-12-01 10:00[:00]" (local),
 * "2026-12-01" (local midnight), "@SECONDS", or a duration ("90m", "2h",
 * "3d") meaning that long before now. */
int ledger_parse_time(const char *s, int64_t now_ns, int64_t *out) MM_MUST_CHECK;
/* "30s", "90m", "4h", "2d", "1h30m": ns. */
int ledger_parse_duration(const char *s, int64_t *out) MM_MUST_CHECK;
/* "1h 30m", "2d 4h", "45s" (out >= 32). */
void ledger_format_duration(int64_t ns, char *out, size_t n);

/* ---- incidents (docs/incidents.md) ------------------------------------------------- */
enum incident_state { INCIDENT_OPEN = 0, INCIDENT_RECOVERED = 1, INCIDENT_RESOLVED = 2 };
struct incident_event {
	uint64_t seq;      /* the ledger record */
	int64_t time_ns;   /* when it was recorded */
	int64_t at_ns;     /* when it happened, if given (else time_ns) */
	char *kind;        /* open, note, action, alert, recover, resolve */
	char *text;
	char *owner, *due;
	char *user;        /* who recorded it */
};
struct incident {
	char id[32];       /* "INC-<seq of the opening record>" */
	uint64_t open_seq;
	int state;
	char *title, *scope, *check;
	int severity;      /* 1 (highest) .. 4 */
	char **datasets;
	size_t ndatasets;
	int64_t occurred_ns, detected_ns, recovered_ns, resolved_ns; /* 0: not yet */
	int64_t rto_ns;    /* 0: unknown */
	char *cause, *prevention, *prevention_owner;
	struct incident_event *ev;
	size_t nev;
};
/* Derived figures; a negative value is "not known yet". */
struct incident_figures {
	int64_t ttd_ns;  /* detected - occurred */
	int64_t ttr_ns;  /* recovered - occurred (the RTO counts from the disruption) */
	int64_t rto_ns;
	int rto_met;     /* 1 within, 0 over, -1 unknown */
};
/* The RTO of a dataset, from the policy module when there is one. */
typedef int (*incident_rto_fn)(const char *dataset, int64_t *rto_ns, void *arg);
void incident_figures(const struct incident *in, incident_rto_fn rto, void *arg,
		      struct incident_figures *out);
const char *incident_state_name(int state);

struct incident_open {
	const char *title;   /* required */
	int severity;        /* 1..4; 0: 3 */
	const char *scope;
	int64_t occurred_ns, detected_ns; /* 0: detected now, occurred = detected */
	int64_t rto_ns;
	const char *const *datasets;
	size_t ndatasets;
	const char *check;   /* the monitoring check that opened it */
};
int ledger_incident_open(struct ledger *lg, const struct incident_open *o, char id[32],
			 struct mm_ctx *c) MM_MUST_CHECK;
/* note: text. action: text, owner, due. recover: text, at. */
int ledger_incident_note(struct ledger *lg, const char *id, const char *text,
			 struct mm_ctx *c) MM_MUST_CHECK;
int ledger_incident_action(struct ledger *lg, const char *id, const char *text,
			   const char *owner, const char *due, struct mm_ctx *c) MM_MUST_CHECK;
int ledger_incident_recover(struct ledger *lg, const char *id, int64_t at_ns, const char *text,
			    struct mm_ctx *c) MM_MUST_CHECK;
/* recovered_ns 0: the recovery already noted, else now. */
int ledger_incident_resolve(struct ledger *lg, const char *id, const char *cause,
			    const char *prevention, const char *owner, int64_t recovered_ns,
			    struct mm_ctx *c) MM_MUST_CHECK;
/* For the monitoring module: an alert of a check changed state. CRITICAL
 * opens an incident (or attaches to the open one of the same check); OK
 * notes the recovery of that incident; every call is a ledger record.
 * *what: "opened", "attached", "recovered" or "recorded"; id set when an
 * incident was involved (else ""). */
enum alert_state { ALERT_OK = 0, ALERT_WARNING = 1, ALERT_CRITICAL = 2, ALERT_UNKNOWN = 3 };
int alert_state_parse(const char *s); /* -1 when unknown */
int ledger_incident_alert(struct ledger *lg, const char *check, int state, const char *message,
			  char id[32], const char **what, struct mm_ctx *c) MM_MUST_CHECK;
/* Replay the ledger into incidents, oldest first. */
int ledger_incidents(struct ledger *lg, struct incident **out, size_t *n,
		     struct mm_ctx *c) MM_MUST_CHECK;
int incidents_from_records(const struct ledger_rec *recs, size_t nrec, struct incident **out,
			   size_t *n) MM_MUST_CHECK;
void incidents_free(struct incident *v, size_t n);
/* Find by "INC-42" or "42"; NULL when absent. */
struct incident *incident_find(struct incident *v, size_t n, const char *id);

/* ---- the continuity report (one self-contained HTML page) --------------------------------- */
/*
 * Sections are filled by whoever knows them: the CLI adds repositories,
 * the ledger's verification and the incidents; the policy, monitoring and
 * time-sync modules add datasets, checks and the clock. A section nobody
 * filled says "not configured". Everything given is copied (rendered and
 * HTML-escaped at once), so callers may free their data afterwards.
 */
enum report_lang { REPORT_EN = 0, REPORT_JA = 1 };
struct report;
int report_new(int lang, int64_t now_ns, const char *host, struct report **out) MM_MUST_CHECK;
void report_free(struct report *rep);
/* A repository and its snapshots (oldest first); err: why it could not be
 * read (then s may be NULL). rpo_ns > 0 draws the RPO in its chart. */
int report_add_repository(struct report *rep, const char *location, const struct snapshot *s,
			  size_t n, int64_t rpo_ns, const char *err) MM_MUST_CHECK;
/* For the policy module: one dataset's objectives and status. */
struct report_dataset {
	const char *name;
	int64_t rpo_ns, rto_ns;          /* 0: not set */
	int64_t last_backup_ns;          /* 0: never */
	int64_t last_offsite_ns;         /* 0: never / no offsite copy */
	int64_t last_drill_ns;           /* 0: never */
	int64_t drill_restore_ns;        /* measured restore time of the last drill, 0: none */
	const char *status;              /* "OK", "WARNING", "CRITICAL" */
};
int report_add_dataset(struct report *rep, const struct report_dataset *d) MM_MUST_CHECK;
/* For the monitoring module. */
struct report_check {
	const char *name, *state, *message;
	int64_t since_ns;
};
int report_add_check(struct report *rep, const struct report_check *ch) MM_MUST_CHECK;
/* For the time-sync module. */
struct report_clock {
	const char *state;  /* "synchronised", ... */
	const char *source; /* the selected server */
	double offset_s;
	const char *message;
};
int report_set_clock(struct report *rep, const struct report_clock *cl) MM_MUST_CHECK;
/* The ledger's verification (v NULL and error set when it could not run). */
int report_set_ledger(struct report *rep, const char *path, const struct ledger_verify *v,
		      const char *error) MM_MUST_CHECK;
/* Open incidents and those of the last 90 days, with their timelines. */
/* Before report_add_incidents: where the RTO of an incident's datasets
 * comes from (the configuration), for "time to recover against the RTO". */
void report_set_rto(struct report *rep, incident_rto_fn rto, void *arg);
int report_add_incidents(struct report *rep, const struct incident *v, size_t n) MM_MUST_CHECK;
/* The page. */
int report_render(const struct report *rep, struct buf *out) MM_MUST_CHECK;

#endif
