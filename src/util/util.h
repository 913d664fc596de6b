/*
 * util: errors, bounded buffers, the wire codec every on-disk structure
 * uses, hex, paths, time, a JSON writer and a small thread pool.
 * Nothing here prints or exits; the CLI decides what the user sees.
 */
#ifndef MAMORI_UTIL_H
#define MAMORI_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MM_MUST_CHECK __attribute__((warn_unused_result))
#define MM_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- errors ---------------------------------------------------------- */

/* Every library function returns 0 or one of these (negative). */
enum mm_err {
	MM_OK = 0,
	MM_ENOMEM = -1,     /* out of memory */
	MM_EIO = -2,        /* input/output error (errno in the context) */
	MM_EINVAL = -3,     /* invalid argument from the caller */
	MM_ECORRUPT = -4,   /* repository data is malformed */
	MM_EAUTH = -5,      /* authentication tag or ID mismatch */
	MM_ENOREPO = -6,    /* no repository at that location */
	MM_ELOCKED = -7,    /* repository locked by another process */
	MM_EPASSWORD = -8,  /* no key matches the password */
	MM_ENOENT = -9,     /* object or path not found */
	MM_ENOSPC = -10,    /* no space left on device */
	MM_ELIMIT = -11,    /* a documented size limit was exceeded */
	MM_EEXIST = -12,    /* already exists */
	MM_EUNSUPPORTED = -13, /* format version or feature not supported */
	MM_ECRYPTO = -14,   /* the crypto library failed */
	MM_EPERM = -15,     /* permission denied */
	MM_EUNSAFE = -16,   /* a path would escape the restore target */
	MM_EAMBIGUOUS = -17, /* a snapshot prefix names several snapshots */
	MM_EINTR = -18,     /* interrupted by a signal */
	/* Remote stores and network peers (S3, SFTP, NTP, webhooks). */
	MM_ETIMEDOUT = -19, /* no answer within the time limit */
	MM_ECONNREFUSED = -20, /* the peer refused the connection */
	MM_ERESOLVE = -21,  /* a host name did not resolve */
	MM_ETLS = -22,      /* TLS handshake or certificate failure */
	MM_EDENIED = -23,   /* the remote side rejected our credentials or signature */
	MM_ESKEW = -24,     /* the remote side says our clock is wrong */
	MM_EREMOTE = -25,   /* any other failure reported by the remote side */
	/* Codes -26 and below are added by the modules that need them. */
	MM_ESTALELOCK = -26, /* locked only by stale locks: 'mamori unlock' removes them */
	/* Reading a repository (keys, diff, find, dump, stats, tag). */
	MM_ENOSNAPSHOT = -30, /* no snapshot matches the given ID or prefix */
	MM_ENOPATH = -31,   /* the path is not in the snapshot */
	MM_EVERSION = -32,  /* an object's format version is not one this build reads */
	MM_EACCESS = -33,   /* the repository's files are not accessible to this user */
	/* Configuration and continuity policy (src/conf, src/policy). */
	MM_ECONFIG = -54,   /* the configuration file is wrong (file:line says where) */
	MM_ECHILD = -55,    /* a command mamori ran failed (exit status or signal) */
	MM_EBUSY = -56,     /* a run for this dataset is already in progress */
	MM_EVERIFY = -57,   /* restored bytes differ from the snapshot */
	/* SFTP backend and snapshot copy (-42..-45). */
	MM_EHOSTKEY = -42,  /* the SSH host key is unknown or has changed */
	MM_ECONNLOST = -43, /* the connection dropped in the middle */
	MM_EPROTOCOL = -44, /* the peer broke its protocol (malformed reply) */
	MM_EKEYSDIFFER = -45, /* copy: the repositories do not share chunking and IDs */
	/* S3 backend (-38..-41; MM_ECONNLOST above is shared). */
	MM_ENOBUCKET = -38,   /* the bucket does not exist */
	MM_ESIGNATURE = -40,  /* the remote side rejected our signature (wrong secret key) */
	MM_EREMOTEFULL = -41, /* the remote store is full or over its quota */
	/* ledger (-46..-49) */
	MM_ETAMPER = -46,   /* the ledger or a checkpoint does not verify */
	MM_ETORN = -47,     /* the ledger ends in a torn record (crash during append) */
	MM_ESIG = -48,      /* a signature does not verify with the given key */
};

const char *mm_strerror(int code);
/* Map an errno value to an MM_E* code. */
int mm_from_errno(int e);

/*
 * Detail a user needs travels here, not in a global: the innermost failure
 * writes a message; callers may prefix context ("pack 3fa2…: ").
 */
struct mm_ctx {
	char msg[1024];
};
#define MM_CTX_INIT { { 0 } }

/* Sets the message (replacing any) and returns code, for "return mm_fail(...)". */
int mm_fail(struct mm_ctx *c, int code, const char *fmt, ...) MM_PRINTF(3, 4);
/* Like mm_fail, appending ": strerror(errno)". */
int mm_fail_errno(struct mm_ctx *c, int e, const char *fmt, ...) MM_PRINTF(3, 4);
/* Prefix the current message: "prefix: old". Returns code. */
int mm_prefix(struct mm_ctx *c, int code, const char *fmt, ...) MM_PRINTF(3, 4);

/* ---- buffers ----------------------------------------------------------- */

/* A growable byte buffer with a hard maximum (0 means MM_BUF_DEFAULT_MAX). */
struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
	int secret; /* wiped with OPENSSL_cleanse-like zeroing on release/grow */
};
#define MM_BUF_DEFAULT_MAX ((size_t)1 << 30)
#define BUF_INIT { NULL, 0, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, keep memory */
int buf_reserve(struct buf *b, size_t extra) MM_MUST_CHECK; /* room for len + extra */
int buf_append(struct buf *b, const void *p, size_t n) MM_MUST_CHECK;
int buf_append_u8(struct buf *b, uint8_t v) MM_MUST_CHECK;
int buf_append_u16(struct buf *b, uint16_t v) MM_MUST_CHECK;   /* little endian */
int buf_append_u32(struct buf *b, uint32_t v) MM_MUST_CHECK;
int buf_append_u64(struct buf *b, uint64_t v) MM_MUST_CHECK;
int buf_append_bytes16(struct buf *b, const void *p, size_t n) MM_MUST_CHECK; /* u16 len + bytes */
int buf_append_bytes32(struct buf *b, const void *p, size_t n) MM_MUST_CHECK; /* u32 len + bytes */
int buf_append_str16(struct buf *b, const char *s) MM_MUST_CHECK;
/* Swap contents with another buffer. */
void buf_swap(struct buf *a, struct buf *b);
/* Wipe memory with a barrier the compiler cannot remove. */
void mm_wipe(void *p, size_t n);

/* A bounds-checked reader over bytes it does not own. */
struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	int bad; /* sticky: set when a read runs past the end */
};
void rd_init(struct rd *r, const void *p, size_t len);
uint8_t rd_u8(struct rd *r);
uint16_t rd_u16(struct rd *r);
uint32_t rd_u32(struct rd *r);
uint64_t rd_u64(struct rd *r);
/* Copy n bytes out; zero-fills and marks bad when short. */
void rd_copy(struct rd *r, void *out, size_t n);
/* Point at n bytes inside the input; NULL (and bad) when short. */
const uint8_t *rd_ptr(struct rd *r, size_t n);
/* u16/u32 length-prefixed bytes, with the length checked against max. */
const uint8_t *rd_bytes16(struct rd *r, size_t max, size_t *n);
const uint8_t *rd_bytes32(struct rd *r, size_t max, size_t *n);
/* A u16-prefixed string as a new NUL-terminated allocation (NULL if bad or
 * if the bytes hold a NUL). The caller frees. */
char *rd_str16(struct rd *r, size_t max);
static inline size_t rd_left(const struct rd *r) { return r->len - r->off; }

/* ---- hex --------------------------------------------------------------- */
void hex_encode(const uint8_t *in, size_t n, char *out); /* out: 2n+1 */
int hex_decode(const char *in, uint8_t *out, size_t n); /* exactly 2n hex chars */
/* Length of the longest hex prefix of s (stops at the first non-hex). */
size_t hex_prefix_len(const char *s);

/* ---- files ------------------------------------------------------------- */

/* Read a whole file up to max bytes into b. */
int file_read_all(const char *path, size_t max, struct buf *b, struct mm_ctx *c) MM_MUST_CHECK;
/* Durable write: temp file in the same directory, fsync, rename, fsync dir. */
int file_write_atomic(const char *path, const void *p, size_t n, int mode,
		      struct mm_ctx *c) MM_MUST_CHECK;
int fsync_dir(const char *dir, struct mm_ctx *c) MM_MUST_CHECK;
/* The end of a durable write: fsync and close *fd (set to -1), rename tmp to
 * path, fsync path's folder. On error tmp is left for the caller to unlink
 * unless the rename happened (then *renamed is 1). */
int file_commit(int *fd, const char *tmp, const char *path, int *renamed,
		struct mm_ctx *c) MM_MUST_CHECK;
/* The same without waiting: writeback of *fd is started (not awaited), then
 * close and rename. The caller makes path durable later with
 * file_make_durable before anything that depends on it is written. */
int file_commit_later(int *fd, const char *tmp, const char *path, int *renamed,
		      struct mm_ctx *c) MM_MUST_CHECK;
/* fsync the file at path (its data, started earlier, is mostly written). */
int file_make_durable(const char *path, struct mm_ctx *c) MM_MUST_CHECK;
/* mkdir -p with a mode for each created component. */
int mkdir_p(const char *path, int mode, struct mm_ctx *c) MM_MUST_CHECK;
/* Join into a new allocation: "a/b". */
char *path_join(const char *a, const char *b);
/* Write all of n bytes, retrying on short writes and EINTR. */
int write_full(int fd, const void *p, size_t n) MM_MUST_CHECK; /* 0 or -errno */
int pread_full(int fd, void *p, size_t n, uint64_t off) MM_MUST_CHECK; /* 0, -errno, or -EIO short */

/* ---- time -------------------------------------------------------------- */
int64_t time_now_ns(void); /* CLOCK_REALTIME */
double time_mono(void);    /* CLOCK_MONOTONIC seconds */
/* RFC 3339 in UTC with seconds: "2026-11-24T21:17:14Z" (out >= 32). */
void time_format_utc(int64_t ns, char *out, size_t n);
/* Local time, "2026-11-24 21:17:14" (out >= 32). */
void time_format_local(int64_t ns, char *out, size_t n);

/* A clock the library reads for decisions that depend on the date (is a
 * backup due, how old is it); tests put a fixed or moving one behind it. */
struct mm_clock {
	int64_t (*now_ns)(void *arg);
	void *arg;
};
/* now_ns(arg), or CLOCK_REALTIME when c or c->now_ns is NULL. */
int64_t mm_clock_now(const struct mm_clock *c);

/* ---- child processes --------------------------------------------------- */
/*
 * Start argv[0] (looked up in PATH when it has no '/') with posix_spawnp:
 * never through a shell. Its standard input is /dev/null; with out_fd its
 * standard output is a pipe whose read end (close-on-exec) is returned,
 * else it shares ours; standard error is always ours.
 */
int proc_spawn(char *const argv[], int *out_fd, int *pid, struct mm_ctx *c) MM_MUST_CHECK;
/* Wait for pid: 0 when it exited with status 0, else MM_ECHILD with
 * "NAME exited with status N" or "NAME was killed by signal N (SIGX)". */
int proc_wait(int pid, const char *name, struct mm_ctx *c) MM_MUST_CHECK;
/* spawn + wait, output to ours. */
int proc_run(char *const argv[], struct mm_ctx *c) MM_MUST_CHECK;
/* Start argv with pipes for both its standard input (*in_fd, ours to
 * write and close) and output (*out_fd); standard error is ours. */
int proc_spawn_piped(char *const argv[], int *in_fd, int *out_fd, int *pid,
		     struct mm_ctx *c) MM_MUST_CHECK;
/*
 * Run argv with `in` (inlen bytes, may be 0) on its standard input and
 * collect its standard output into out (at most max bytes: more is
 * MM_ELIMIT) for at most timeout_s seconds, after which it is killed
 * (MM_ETIMEDOUT). 0 when it exited with status 0, else proc_wait's
 * MM_ECHILD; out holds what it printed in every case. The caller ignores
 * SIGPIPE, so a child that exits without reading does not kill it.
 */
int proc_exchange(char *const argv[], const void *in, size_t inlen, size_t max, double timeout_s,
		  struct buf *out, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- libraries loaded when first used ------------------------------------ */
/*
 * dlopen(soname) and dlsym each of names[0..n) into fns[0..n), so that a
 * library only one command needs (libarchive for dump, libmicrohttpd for
 * metrics --listen) is not loaded and relocated by every command. The
 * library stays loaded. 0, or MM_EUNSUPPORTED naming the library or the
 * symbol that is missing and the Debian package to install.
 */
int mm_dl_load(const char *soname, const char *package, const char *const *names, size_t n,
	       void **fns, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- human sizes ------------------------------------------------------- */
void fmt_bytes(uint64_t n, char *out, size_t sz); /* "1.23 GiB" */

/* ---- JSON writer --------------------------------------------------------- */
/*
 * Streaming writer: objects/arrays nest, commas are placed for the caller,
 * strings are escaped (bytes that are not valid UTF-8 become \u00XX of each
 * byte so the output stays valid JSON).
 */
struct json {
	FILE *f;
	int depth;
	uint8_t first[64]; /* per depth: no element written yet */
	int pending_key;
};
void json_init(struct json *j, FILE *f);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *k);
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_double(struct json *j, double v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
/* key + value helpers */
void json_kv_str(struct json *j, const char *k, const char *v);
void json_kv_int(struct json *j, const char *k, int64_t v);
void json_kv_uint(struct json *j, const char *k, uint64_t v);
void json_kv_bool(struct json *j, const char *k, int v);

/* ---- thread pool --------------------------------------------------------- */
struct pool;
typedef void (*pool_fn)(void *arg);
/* nthreads 0 = number of online CPUs. */
int pool_new(unsigned nthreads, struct pool **out) MM_MUST_CHECK;
int pool_submit(struct pool *p, pool_fn fn, void *arg) MM_MUST_CHECK;
/* Queue fn(arg) only if the queue has room now: 0 queued, 1 full (not
 * queued, nothing happened), <0 an error. */
int pool_try_submit(struct pool *p, pool_fn fn, void *arg) MM_MUST_CHECK;
void pool_wait(struct pool *p); /* until every submitted job has finished */
void pool_free(struct pool *p);
unsigned pool_size(const struct pool *p);
unsigned cpu_count(void);

#endif
