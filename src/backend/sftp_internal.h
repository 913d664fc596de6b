/*
 * sftp: the SFTP version 3 wire codec (draft-ietf-secsh-filexfer-02 and
 * OpenSSH's PROTOCOL extensions), the location syntax and the reading of
 * ssh's error messages. Pure functions over bytes and strings, no I/O, so
 * unit tests and fuzz targets reach them directly. Not part of the API.
 *
 * SFTP integers are big-endian (unlike the repository format).
 */
#ifndef MAMORI_SFTP_INTERNAL_H
#define MAMORI_SFTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Packet types. */
enum {
	SFTP_INIT = 1, SFTP_VERSION = 2, SFTP_OPEN = 3, SFTP_CLOSE = 4,
	SFTP_READ = 5, SFTP_WRITE = 6, SFTP_LSTAT = 7, SFTP_FSTAT = 8,
	SFTP_OPENDIR = 11, SFTP_READDIR = 12, SFTP_REMOVE = 13, SFTP_MKDIR = 14,
	SFTP_RMDIR = 15, SFTP_REALPATH = 16, SFTP_STAT = 17, SFTP_RENAME = 18,
	SFTP_STATUS = 101, SFTP_HANDLE = 102, SFTP_DATA = 103, SFTP_NAME = 104,
	SFTP_ATTRS = 105, SFTP_EXTENDED = 200, SFTP_EXTENDED_REPLY = 201,
};
/* Status codes. */
enum {
	SFTP_FX_OK = 0, SFTP_FX_EOF = 1, SFTP_FX_NO_SUCH_FILE = 2,
	SFTP_FX_PERMISSION_DENIED = 3, SFTP_FX_FAILURE = 4, SFTP_FX_BAD_MESSAGE = 5,
	SFTP_FX_NO_CONNECTION = 6, SFTP_FX_CONNECTION_LOST = 7,
	SFTP_FX_OP_UNSUPPORTED = 8,
};
/* Open flags and attribute flags. */
#define SFTP_FXF_READ 0x01u
#define SFTP_FXF_WRITE 0x02u
#define SFTP_FXF_CREAT 0x08u
#define SFTP_FXF_TRUNC 0x10u
#define SFTP_FXF_EXCL 0x20u
#define SFTP_ATTR_SIZE 0x01u
#define SFTP_ATTR_UIDGID 0x02u
#define SFTP_ATTR_PERMISSIONS 0x04u
#define SFTP_ATTR_ACMODTIME 0x08u
#define SFTP_ATTR_EXTENDED 0x80000000u

/* Extensions the server announced in its VERSION reply. */
#define SFTP_EXT_POSIX_RENAME 0x1u /* posix-rename@openssh.com */
#define SFTP_EXT_FSYNC 0x2u        /* fsync@openssh.com */
#define SFTP_EXT_STATVFS 0x4u      /* statvfs@openssh.com */

/* Limits on what the server may send. A packet longer than this is a
 * protocol violation, not an allocation (OpenSSH sends at most 256 KiB). */
#define SFTP_PACKET_MAX (512u * 1024)
#define SFTP_HANDLE_MAX 256u       /* the draft's limit on handles */
#define SFTP_NAME_ENTRIES_MAX 65536u
/* The data of one READ or WRITE request. */
#define SFTP_IO_CHUNK (32u * 1024)

/* ---- encoding a request ---------------------------------------------------- */
/* Start a packet in b (emptied first): length placeholder, type, request id
 * (not for INIT, which has a version instead). */
int sftp_put_begin(struct buf *b, uint8_t type, uint32_t id) MM_MUST_CHECK;
int sftp_put_u32(struct buf *b, uint32_t v) MM_MUST_CHECK;
int sftp_put_u64(struct buf *b, uint64_t v) MM_MUST_CHECK;
int sftp_put_string(struct buf *b, const void *p, size_t n) MM_MUST_CHECK;
int sftp_put_cstr(struct buf *b, const char *s) MM_MUST_CHECK;
/* Attributes with only the permission bits (flags = PERMISSIONS). */
int sftp_put_perm_attrs(struct buf *b, uint32_t mode) MM_MUST_CHECK;
/* Fill in the length; MM_ELIMIT if the packet is too long to send. */
int sftp_put_end(struct buf *b) MM_MUST_CHECK;

/* ---- decoding a reply ------------------------------------------------------ */
/* The length in the first 4 bytes of a packet, checked: 1..max. */
int sftp_frame_len(const uint8_t hdr[4], uint32_t max, uint32_t *len) MM_MUST_CHECK;

struct sftp_attrs {
	uint32_t flags;
	uint64_t size;
	uint32_t uid, gid;
	uint32_t perm;
	uint32_t atime, mtime;
};

/*
 * One reply, its fields pointing into the bytes it was decoded from (which
 * must outlive it). Which fields are set depends on type.
 */
struct sftp_reply {
	uint8_t type;
	uint32_t id;          /* every type but VERSION */
	uint32_t version;     /* VERSION */
	unsigned ext;         /* VERSION: SFTP_EXT_* announced */
	uint32_t status;      /* STATUS */
	const uint8_t *msg;   /* STATUS: the error message (may be empty) */
	size_t msg_len;
	const uint8_t *data;  /* HANDLE: the handle; DATA: the data; EXTENDED_REPLY: the rest */
	size_t data_len;
	struct sftp_attrs attrs; /* ATTRS */
	uint32_t count;       /* NAME: number of entries in data[0..data_len) */
};

/*
 * Decode the body of one packet (p, n: after the length: type and fields).
 * MM_ECORRUPT with a message for anything malformed: unknown type, a field
 * that runs past the end, a handle longer than SFTP_HANDLE_MAX, a NAME with
 * more entries than its bytes can hold, trailing bytes where the type has a
 * fixed form. Unknown status codes are kept as they are (the caller names
 * them), because servers may send codes of later versions.
 */
int sftp_reply_decode(const uint8_t *p, size_t n, struct sftp_reply *out,
		      struct mm_ctx *c) MM_MUST_CHECK;

/* Walk the entries of a NAME reply. */
struct sftp_names {
	struct rd r;      /* big-endian reads are done by hand on r.p */
	uint32_t left;
};
struct sftp_name {
	const uint8_t *name;
	size_t name_len;
	struct sftp_attrs attrs;
};
void sftp_names_init(struct sftp_names *it, const struct sftp_reply *rep);
/* 1 and *out set for an entry, 0 at the end, MM_ECORRUPT if malformed. */
int sftp_names_next(struct sftp_names *it, struct sftp_name *out, struct mm_ctx *c);

/* statvfs@openssh.com reply: free space for the diagnosis of a full disk. */
struct sftp_statvfs {
	uint64_t bsize, frsize, blocks, bfree, bavail;
};
int sftp_statvfs_decode(const struct sftp_reply *rep, struct sftp_statvfs *out,
			struct mm_ctx *c) MM_MUST_CHECK;

/* "no such file" for SFTP_FX_NO_SUCH_FILE, "status 42" for unknown codes. */
const char *sftp_status_name(uint32_t status, char *tmp, size_t n);

/* ---- locations -------------------------------------------------------------- */
/*
 * After "sftp:": "[USER@]HOST:PATH" or "//[USER@]HOST[:PORT]/PATH"; HOST
 * may be "[v6 address]". A user or host starting with '-' or holding
 * spaces, control bytes or '/' is refused (they go into ssh's arguments).
 */
struct sftp_location {
	char *user; /* NULL: ssh's default */
	char *host;
	char *path; /* the remote folder, as given ("/srv/repo", "repo") */
	unsigned port; /* 0: ssh's default */
};
int sftp_location_parse(const char *s, struct sftp_location *out, struct mm_ctx *c) MM_MUST_CHECK;
void sftp_location_release(struct sftp_location *l);

/* ---- ssh's errors ------------------------------------------------------------ */
/*
 * What ssh wrote on its standard error when it failed, read into a code
 * and a sentence an administrator can act on ("host key for HOST is not
 * known: ..."). The last meaningful line of ssh's text is quoted in why.
 * MM_ERESOLVE, MM_ECONNREFUSED, MM_ETIMEDOUT, MM_EHOSTKEY, MM_EDENIED,
 * MM_EREMOTE (no sftp subsystem), or MM_ECONNLOST when nothing else fits.
 */
int sftp_ssh_diagnose(const char *err, size_t n, char *why, size_t why_n);

/* ---- the connection layer (sftp_conn.c), shared with sftp.c ---------------- */
#include <pthread.h>
#include <sys/types.h>

#include "backend/backend.h"

#define SFTP_FILE_MODE 0600
#define SFTP_DIR_MODE 0700
#define SFTP_WINDOW 32            /* requests in flight in one read or write */
#define SFTP_TIMEOUT_DEFAULT 60   /* seconds */
#define SFTP_CONNS_DEFAULT 4
#define SFTP_CONNS_MAX 32
#define SFTP_RETRIES_DEFAULT 3
#define SFTP_ERRTAIL 4096         /* what we keep of ssh's standard error */
#define SFTP_ARGV_MAX 64

/* Packs never change once written: a connection keeps the handles of the
 * last few it read, so reading blob after blob of one pack costs one
 * request each instead of open + read + close. */
#define SFTP_PACK_HANDLES 4
struct sftp_open_pack {
	char name[65];    /* "" when free */
	uint8_t h[SFTP_HANDLE_MAX];
	size_t hlen;
	uint64_t last;    /* for least-recently-used eviction */
};

struct sftp_conn {
	struct sftp_open_pack packs[SFTP_PACK_HANDLES];
	uint64_t tick;
	pid_t pid;
	int sk;            /* our end of ssh's standard input and output */
	int err;           /* ssh's standard error */
	uint32_t next_id;
	unsigned ext;      /* SFTP_EXT_* */
	int broken;        /* failed: closed when given back */
	int ready;         /* the VERSION reply came */
	struct buf rx;     /* received bytes; a packet starts at 0 */
	size_t consumed;   /* bytes of rx the last reply used */
	struct buf tx;
	char errtxt[SFTP_ERRTAIL];
	size_t errlen;
	struct sftp_conn *next;
};

struct sftp_be {
	struct backend be; /* first */
	struct sftp_location loc;
	char *argv[SFTP_ARGV_MAX + 1];
	char *words;       /* storage of the words of sftp.command / sftp.args */
	char *desc;        /* "user@host:path" for messages */
	int timeout;       /* seconds */
	unsigned max_conns;
	unsigned retries;
	_Atomic int lost;  /* an established connection dropped */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sftp_conn *idle;
	unsigned nconns;   /* open or being opened */
	_Atomic uint64_t tmpseq;
};

static inline struct sftp_be *
sftp_of(struct backend *be)
{
	return (struct sftp_be *)be;
}

/* CLOCK_MONOTONIC seconds. */
double sftp_now(void);
/* Borrow a connection (opening one when none is idle and fewer than
 * max_conns are open; else wait), and give it back: a broken one is closed. */
int sftp_conn_get(struct sftp_be *sb, struct sftp_conn **out, struct mm_ctx *c) MM_MUST_CHECK;
void sftp_conn_put(struct sftp_be *sb, struct sftp_conn *k);
/* End ssh (its input closed, then waited for, then killed) and free. */
void sftp_conn_free(struct sftp_conn *k);
uint32_t sftp_new_id(struct sftp_conn *k);
/* Send the packet in k->tx (sftp_put_begin ... filled, length set here). */
int sftp_send_tx(struct sftp_be *sb, struct sftp_conn *k, struct mm_ctx *c) MM_MUST_CHECK;
/* The next reply within the deadline; its pointers last until the next call. */
int sftp_recv(struct sftp_be *sb, struct sftp_conn *k, struct sftp_reply *rep,
	      struct mm_ctx *c) MM_MUST_CHECK;
/* k->tx sent, one reply whose id must be id. */
int sftp_roundtrip(struct sftp_be *sb, struct sftp_conn *k, uint32_t id, struct sftp_reply *rep,
		   struct mm_ctx *c) MM_MUST_CHECK;
/* A STATUS reply as a code (0 for OK) and a message naming what and path. */
int sftp_status_err(struct sftp_be *sb, const struct sftp_reply *rep, const char *what,
		    const char *path, struct mm_ctx *c);
/* Requests: a path (MKDIR with 0700, REMOVE, STAT, OPENDIR), stat, open
 * (CREAT with 0600), a handle (CLOSE, FSTAT, READDIR, an extension), close,
 * rename (replace: posix-rename@openssh.com where offered). */
int sftp_rq_path(struct sftp_be *sb, struct sftp_conn *k, uint8_t type, const char *path,
		 const char *what, int with_dir_attrs, struct sftp_reply *rep, struct mm_ctx *c);
int sftp_rq_stat(struct sftp_be *sb, struct sftp_conn *k, const char *path, struct sftp_attrs *a,
		 struct mm_ctx *c);
int sftp_rq_open(struct sftp_be *sb, struct sftp_conn *k, const char *path, uint32_t pflags,
		 uint8_t *h, size_t *hlen, struct mm_ctx *c);
int sftp_rq_handle(struct sftp_be *sb, struct sftp_conn *k, uint8_t type, const char *ext,
		   const uint8_t *h, size_t hlen, struct sftp_reply *rep, struct mm_ctx *c);
int sftp_rq_close(struct sftp_be *sb, struct sftp_conn *k, const uint8_t *h, size_t hlen,
		  const char *path, struct mm_ctx *c);
int sftp_rq_rename(struct sftp_be *sb, struct sftp_conn *k, const char *from, const char *to,
		   int replace, struct mm_ctx *c);
/* Free bytes in the file system of dir (statvfs@openssh.com); -1 unknown. */
int64_t sftp_free_space(struct sftp_be *sb, struct sftp_conn *k, const char *dir);

#endif
