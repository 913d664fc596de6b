/*
 * repo: the on-disk format, version 1 (docs/repository-format.md):
 * config, key files, packs, index, trees, snapshots and locks.
 *
 * Blob writes are thread-safe: repo_blob_seal() is a pure function any
 * worker may call; repo_blob_put() serialises pack assembly under the
 * repository's own mutex.
 */
#ifndef MAMORI_REPO_H
#define MAMORI_REPO_H

#include <pthread.h>
#include <stdint.h>

#include "backend/backend.h"
#include "chunker/chunker.h"
#include "crypto/crypto.h"
#include "util/util.h"

/* 2: blobs sealed with their ID, type and raw length as associated data.
 * 1 (development builds only) sealed them without: refused. */
#define REPO_VERSION 2

/* Documented limits: anything larger read from a repository is corrupt. */
#define REPO_CONFIG_MAX (64u * 1024)
#define REPO_KEYFILE_MAX (64u * 1024)
#define REPO_LOCK_MAX (64u * 1024)
#define REPO_SNAPSHOT_MAX (16u * 1024 * 1024)
#define REPO_INDEX_MAX (256u * 1024 * 1024)
#define REPO_PACK_HEADER_MAX (64u * 1024 * 1024)
#define REPO_BLOB_MAX (1024u * 1024 * 1024) /* a tree of a huge directory */
#define REPO_PACK_TARGET (16u * 1024 * 1024)
#define REPO_NAME_MAX 4096   /* key name, host, user, tag */
#define REPO_PATH_MAX 65535

enum blob_type { BLOB_DATA = 0, BLOB_TREE = 1 };

struct repo_config {
	uint32_t version;
	uint8_t id[32];
	struct chunker_params chunker;
	int32_t zstd_level;
	int64_t created_ns;
	/* Encoding version 2: the ID and gear keys are not derived from this
	 * repository's master key but copied from another repository's (init
	 * --copy-chunker-params-from), so both give equal data equal IDs. */
	int shared_keys;
	uint8_t id_key[MM_KEY_LEN];
	uint8_t gear_key[MM_KEY_LEN];
};

/* Where a blob lives. raw_len 0 means stored uncompressed. */
struct blob_loc {
	uint32_t pack;   /* index into the repository's pack table */
	uint32_t offset;
	uint32_t length; /* stored bytes: nonce + ciphertext + tag */
	uint32_t raw_len;
	uint8_t type;
};

/* A blob ready to go into a pack (compressed, encrypted). */
struct sealed_blob {
	struct mm_id id;
	uint8_t type;
	uint32_t raw_len; /* 0: not compressed */
	uint32_t plain_len;
	struct buf data;  /* nonce || ciphertext || tag */
};

/* The in-memory index: blob ID -> location. Open addressing over a dense
 * array of 48-byte entries (see docs/performance.md for the budget). */
struct index_entry {
	struct mm_id id;
	uint32_t pack;  /* bit 31: tree blob */
	uint32_t offset;
	uint32_t length;
	uint32_t raw_len;
};
/* Entries live in blocks of INDEX_BLOCK so that growing never copies
 * them or leaves half an array unused: the index costs 48 bytes per blob
 * plus at most 11.5 bytes of hash slots (issue: at most 64 bytes a blob). */
#define INDEX_BLOCK_SHIFT 12
#define INDEX_BLOCK ((size_t)1 << INDEX_BLOCK_SHIFT)
struct index {
	struct index_entry **blocks;
	size_t n, nblocks, blocks_cap;
	uint32_t *slots; /* 0 empty, else entry index + 1 */
	size_t nslots;   /* power of two */
	struct mm_id *packs;
	size_t npacks, packs_cap;
};
#define INDEX_INIT { 0 }
void index_init(struct index *ix);
void index_release(struct index *ix);
int index_add_pack(struct index *ix, const struct mm_id *pack, uint32_t *out) MM_MUST_CHECK;
/* Adds unless present; *added (may be NULL) says which. */
int index_add(struct index *ix, const struct mm_id *id, const struct blob_loc *loc,
	      int *added) MM_MUST_CHECK;
int index_find(const struct index *ix, const struct mm_id *id, struct blob_loc *out);
/* Entry i (< ix->n) in insertion order. */
static inline const struct index_entry *
index_entry_at(const struct index *ix, size_t i)
{
	return &ix->blocks[i >> INDEX_BLOCK_SHIFT][i & (INDEX_BLOCK - 1)];
}
/* Bytes of memory the index holds (entries, slots, pack table). */
size_t index_memory(const struct index *ix);
/* Encode the packs [first, npacks) with their blobs as an index object
 * plaintext; decode appends to ix. */
int index_encode(const struct index *ix, uint32_t first_pack, struct buf *out) MM_MUST_CHECK;
/* The end of a group of packs from first_pack holding at least max_blobs
 * blobs (or all the rest): where one index object should stop. */
uint32_t index_group_end(const struct index *ix, uint32_t first_pack, size_t max_blobs);
#define INDEX_OBJECT_BLOBS 131072
/* The same for packs [first_pack, end_pack) only. */
int index_encode_range(const struct index *ix, uint32_t first_pack, uint32_t end_pack,
		       struct buf *out) MM_MUST_CHECK;
int index_decode(struct index *ix, const uint8_t *p, size_t n, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- pack header ------------------------------------------------------ */
struct pack_entry {
	uint8_t type;
	uint32_t length;
	uint32_t raw_len;
	struct mm_id id;
};
/* Header plaintext: entries in the order of the blobs in the pack. */
int pack_header_encode(const struct pack_entry *e, size_t n, struct buf *out) MM_MUST_CHECK;
int pack_header_decode(const uint8_t *p, size_t len, struct pack_entry **out, size_t *n,
		       struct mm_ctx *c) MM_MUST_CHECK;

/* ---- trees ---------------------------------------------------------- */
enum node_type {
	NODE_FILE = 1, NODE_DIR = 2, NODE_SYMLINK = 3, NODE_FIFO = 4,
	NODE_CHR = 5, NODE_BLK = 6, NODE_SOCK = 7,
};
#define NODE_F_CHANGED 0x1   /* the file changed while it was read */
#define NODE_F_ERROR 0x2     /* the file could not be read; content missing */

struct xattr {
	char *name;
	uint8_t *value;
	size_t len;
};
struct node {
	uint8_t *name;
	size_t name_len;
	uint8_t type;
	uint32_t flags;
	uint32_t mode; /* permission bits and type bits as st_mode */
	uint32_t uid, gid;
	char *user, *group;
	uint64_t size;
	int64_t mtime_ns, ctime_ns, atime_ns;
	uint64_t inode, dev, rdev;
	uint32_t nlink;
	uint8_t *target; /* symlink target bytes */
	size_t target_len;
	struct xattr *xattrs;
	size_t nxattrs;
	struct mm_id *content;
	size_t ncontent;
	struct mm_id subtree; /* directories */
};
struct tree {
	struct node *nodes;
	size_t n, cap;
};
#define TREE_INIT { NULL, 0, 0 }
#define TREE_ENTRIES_MAX (16u * 1024 * 1024)

void node_release(struct node *n);
void tree_release(struct tree *t);
/* Append a zeroed node; returns it (owned by the tree) or NULL. */
struct node *tree_add(struct tree *t);
/* Sort nodes by name bytes; MM_ECORRUPT if two names are equal. */
int tree_sort(struct tree *t) MM_MUST_CHECK;
int tree_encode(const struct tree *t, struct buf *out) MM_MUST_CHECK;
/* Validates everything: sorted unique names without '/' or NUL, not "." or
 * "..", sizes within limits, types known. */
int tree_decode(const uint8_t *p, size_t n, struct tree *out, struct mm_ctx *c) MM_MUST_CHECK;
/* Binary search by name; NULL if absent. */
struct node *tree_find(const struct tree *t, const uint8_t *name, size_t len);

/* ---- snapshots ---------------------------------------------------------- */
struct snap_summary {
	uint64_t files_new, files_changed, files_unchanged;
	uint64_t dirs, others;
	uint64_t bytes_total;  /* size of all files in the snapshot */
	uint64_t bytes_read;   /* bytes read from the source */
	uint64_t bytes_added;  /* bytes stored in new packs */
	uint64_t blobs_added;
	uint64_t errors;       /* entries that could not be read */
	int64_t duration_ns;
};
struct snapshot {
	struct mm_id id; /* the object name (not encoded) */
	int64_t time_ns;
	char *host, *user;
	uint32_t uid, gid;
	char **paths;
	size_t npaths;
	char **tags;
	size_t ntags;
	char **excludes;
	size_t nexcludes;
	int has_parent;
	struct mm_id parent;
	struct mm_id tree;
	char *program;
	struct snap_summary sum;
	/* Encoding version 2 carries these optional parts (docs/repository-format.md). */
	int has_original;        /* rewritten (tag): the ID this snapshot had first */
	struct mm_id original;
	int has_origin;          /* a copy (mamori copy) records where it came from */
	uint8_t origin_repo[32]; /* the source repository's ID */
	struct mm_id origin;     /* the snapshot's ID there */
};
#define SNAP_EXT_ORIGINAL 0x01
#define SNAP_EXT_ORIGIN 0x02
void snapshot_release(struct snapshot *s);
void snapshot_free(struct snapshot *s);
int snapshot_encode(const struct snapshot *s, struct buf *out) MM_MUST_CHECK;
int snapshot_decode(const uint8_t *p, size_t n, struct snapshot *out, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- key files and config ------------------------------------------- */
/* Key file encoding written by this build (1 is still read). */
#define KEYFILE_VERSION 2
struct keyfile_meta {
	char *name, *user, *host;
	int64_t created_ns;
};
/* enc (the repository's derived enc key) also seals a copy of m that every
 * key holder can read (version 2); enc NULL writes version 1 (tests of old
 * repositories only). */
int keyfile_encode(const struct kdf_params *kp, const uint8_t kek[MM_KEY_LEN],
		   const uint8_t master[MM_KEY_LEN], const uint8_t *enc,
		   const struct keyfile_meta *m, struct buf *out) MM_MUST_CHECK;
/* Parse only the plaintext KDF parameters. MM_EVERSION for a version this
 * build does not read. */
int keyfile_kdf_params(const uint8_t *p, size_t n, struct kdf_params *kp,
		       struct mm_ctx *c) MM_MUST_CHECK;
int keyfile_version(const uint8_t *p, size_t n, unsigned *version,
		    struct mm_ctx *c) MM_MUST_CHECK;
/* Unwrap with a KEK; MM_EAUTH when the password does not fit. */
int keyfile_decode(const uint8_t *p, size_t n, const uint8_t kek[MM_KEY_LEN],
		   uint8_t master[MM_KEY_LEN], struct keyfile_meta *m,
		   struct mm_ctx *c) MM_MUST_CHECK;
/* The description of a version 2 key with the repository's enc key, without
 * its password. MM_ENOENT for a version 1 key. */
int keyfile_meta_read(const uint8_t *p, size_t n, const uint8_t enc[MM_KEY_LEN],
		      struct keyfile_meta *m, struct mm_ctx *c) MM_MUST_CHECK;
void keyfile_meta_release(struct keyfile_meta *m);
int config_encode(const struct repo_config *cf, struct buf *out) MM_MUST_CHECK;
int config_decode(const uint8_t *p, size_t n, struct repo_config *cf,
		  struct mm_ctx *c) MM_MUST_CHECK;

/* ---- locks ------------------------------------------------------------ */
struct lock_info {
	char *host, *user;
	int64_t pid;
	int64_t time_ns; /* last refresh */
	int exclusive;
	char *command;
};
#define LOCK_STALE_NS (30LL * 60 * 1000000000) /* not refreshed for 30 min */
#define LOCK_REFRESH_NS (5LL * 60 * 1000000000)
int lock_encode(const struct lock_info *l, struct buf *out) MM_MUST_CHECK;
int lock_decode(const uint8_t *p, size_t n, struct lock_info *l, struct mm_ctx *c) MM_MUST_CHECK;
void lock_info_release(struct lock_info *l);

/* ---- the open repository ----------------------------------------------- */
struct sha256_ctx;
struct backend_upload;
struct pack_writer {
	int busy;        /* checked out by a putter (guarded by repo.mu) */
	int open;        /* a pack is being written */
	enum blob_type type;
	uint32_t packno; /* slot reserved in the index for this pack */
	uint64_t size;   /* bytes of the pack so far */
	struct backend_upload *up;
	struct buf out;  /* small blobs gathered before they go to the upload */
	struct pack_entry *entries;
	size_t n, cap;
};
/* At most this many packs are filled at once (one per putting thread). */
#define REPO_WRITERS_MAX 64

/* zstd contexts are costly to create (their tables are allocated and
 * cleared): workers borrow one from here and give it back. */
#define REPO_ZCACHE_MAX 64
struct zcache {
	pthread_mutex_t mu;
	void *c[REPO_ZCACHE_MAX];
	size_t n;
};

struct repo {
	struct backend *be;
	struct repo_config cfg;
	struct mm_keys keys;
	struct chunker_gear gear;
	char key_name[65]; /* the key file that opened it */
	struct keyfile_meta key_meta; /* and its description */
	struct index idx;
	uint32_t idx_saved;  /* packs [0, idx_saved) are in index objects already */
	/* Index objects repo_load_index skipped because they failed their
	 * name or tag check (one damaged object must not make every other
	 * pack unreadable): what was wrong with each, for check and the CLI. */
	struct mm_ctx *idx_damaged;
	size_t nidx_damaged;
	pthread_mutex_t mu;  /* guards idx, writers, stats */
	struct pack_writer writers[REPO_WRITERS_MAX];
	pthread_cond_t writer_free;
	int pack_failed; /* a pack write failed: no index may name its blobs */
	uint64_t stored_bytes; /* bytes written into new packs this session */
	uint64_t stored_blobs;
	char lock_name[65];
	_Atomic int64_t lock_time_ns;
	pthread_mutex_t lock_mu; /* one refresh at a time (walkers run in parallel) */
	struct lock_info lock;
	/* The refresher thread rewrites the lock every lock_refresh_ns while it
	 * is held, whatever the operation is doing (repo_lock starts it). */
	int64_t lock_refresh_ns;   /* 0: LOCK_REFRESH_NS (tests set less) */
	pthread_t refresher;
	int refresher_on;
	int refresh_stop;
	pthread_mutex_t refresh_mu;
	pthread_cond_t refresh_cv;
	_Atomic int lock_err;      /* a refresh failed, or our lock was removed */
	struct zcache zc, zd; /* compression and decompression contexts */
};

struct repo_init_opts {
	const char *key_name;  /* e.g. the administrator's name */
	struct chunker_params chunker; /* zero: defaults */
	/* Deduplicate like this open repository: its chunker parameters, ID
	 * key and gear key (not its encryption key). NULL: fresh keys. */
	const struct repo *share_from;
	int zstd_level;        /* 0: 1 */
	int fast_kdf;          /* test suites only */
};

int repo_init(const char *location, const char *password, const struct repo_init_opts *o,
	      struct mm_ctx *c) MM_MUST_CHECK;
/* MM_ENOREPO, MM_EPASSWORD, MM_EUNSUPPORTED (newer format) or 0. */
int repo_open(const char *location, const char *password, struct repo **out,
	      struct mm_ctx *c) MM_MUST_CHECK;
/* Flushes nothing: call repo_flush first. Releases the lock if held. */
void repo_free(struct repo *r);

/*
 * Lock: a lock object per process (docs/repository-format.md, Locks).
 * Shared locks coexist, except that two maintenance locks (a shared lock
 * whose command is "prune" or "forget") exclude each other; an exclusive
 * lock excludes every other. Locks of dead processes of this host are
 * removed on the way. MM_ELOCKED names the holder; MM_ESTALELOCK when the
 * only holders are stale (not refreshed for LOCK_STALE_NS): 'mamori
 * unlock' removes those. Called again on a repository already locked, it
 * changes the lock's kind (prune upgrades to exclusive); on failure the
 * old lock stays. Starts the refresher thread.
 */
int repo_lock(struct repo *r, int exclusive, const char *command, struct mm_ctx *c) MM_MUST_CHECK;
/* The same, retrying with a growing pause (0.1 s to 2 s) while another
 * process holds the repository, for at most wait_ns. */
int repo_lock_wait(struct repo *r, int exclusive, const char *command, int64_t wait_ns,
		   struct mm_ctx *c) MM_MUST_CHECK;
/* Rewrite the lock object if it is older than LOCK_REFRESH_NS; reports a
 * failure of the refresher thread, or that our lock was removed. */
int repo_lock_refresh(struct repo *r, struct mm_ctx *c) MM_MUST_CHECK;
/* Our lock object is still there (nobody ran 'unlock --remove-all'). */
int repo_lock_check(struct repo *r, struct mm_ctx *c) MM_MUST_CHECK;
void repo_unlock(struct repo *r);
/* List lock objects (for status and check). cb gets each decoded lock. */
int repo_list_locks(struct repo *r, int (*cb)(const char *name, const struct lock_info *l,
					      void *arg), void *arg, struct mm_ctx *c) MM_MUST_CHECK;
enum lock_state {
	LOCK_LIVE = 0,  /* its process may be working */
	LOCK_DEAD = 1,  /* this host, and its process is gone (or the pid reused) */
	LOCK_STALE = 2, /* not refreshed for LOCK_STALE_NS */
};
enum lock_state lock_state(const struct lock_info *l, int64_t now_ns);
/* LOCK_DEAD or LOCK_STALE. */
int lock_is_stale(const struct lock_info *l, int64_t now_ns);
/* Two locks that cannot be held at once. */
int lock_conflicts(int exclusive, const char *command, const struct lock_info *other);
/* Remove the locks of other processes that are dead or stale (all of
 * them with all). cb (may be NULL) hears of each lock and whether it was
 * removed. */
int repo_remove_locks(struct repo *r, int all,
		      void (*cb)(void *arg, const struct lock_info *l, enum lock_state st,
				 int removed), void *arg, struct mm_ctx *c) MM_MUST_CHECK;

/* ---- keys of an open repository (key.c) ------------------------------- */
struct repo_key {
	char id[65];       /* the key file's name */
	unsigned version;  /* its encoding version */
	int in_use;        /* the key that opened this repository */
	int has_meta;      /* meta is known (version 2, or the key in use) */
	struct keyfile_meta meta;
};
/* Every key file, oldest first (by creation time, then ID). */
int repo_key_list(struct repo *r, struct repo_key **out, size_t *n,
		  struct mm_ctx *c) MM_MUST_CHECK;
void repo_key_list_free(struct repo_key *v, size_t n);
/* A new key file for password, named name, recorded as made now by this
 * user on this host. fast_kdf: test suites only. */
int repo_key_add(struct repo *r, const char *password, const char *name, int fast_kdf,
		 char id_out[65], struct mm_ctx *c) MM_MUST_CHECK;
/* Remove the key whose ID starts with prefix. Refuses (MM_EINVAL) the last
 * key, and the key in use unless force. MM_EAMBIGUOUS lists candidates. */
int repo_key_remove(struct repo *r, const char *prefix, int force, char id_out[65],
		    struct mm_ctx *c) MM_MUST_CHECK;
/* Replace the key in use by a new one for new_password with the same name;
 * the new file is durable before the old one is removed. */
int repo_key_passwd(struct repo *r, const char *new_password, int fast_kdf,
		    char id_out[65], struct mm_ctx *c) MM_MUST_CHECK;

/* Load every index object into r->idx. An object that fails its name or
 * tag check is skipped and listed in r->idx_damaged (its packs are then
 * unindexed); one that is authentic but does not decode is an error. */
int repo_load_index(struct repo *r, struct mm_ctx *c) MM_MUST_CHECK;

/* Packs in the store that no index object names (left by an interrupted
 * backup) are read by their headers, checked against their names and
 * added with their blobs to r->idx, so those blobs are not sent again and
 * the next repo_flush indexes them. Skipped while another process holds a
 * live lock (a concurrent backup indexes its own packs). Call after
 * repo_load_index, holding a lock. */
struct resume_result {
	uint64_t packs, blobs, bytes;
	uint64_t unusable;    /* unindexed objects that are not whole packs of this key */
	int skipped_for_lock; /* another live lock was there */
};
int repo_resume_packs(struct repo *r, struct resume_result *res, struct mm_ctx *c) MM_MUST_CHECK;

/* Blob ID of plaintext under the repository's ID key. */
void repo_blob_id(const struct repo *r, const void *p, size_t n, struct mm_id *out);
/* Thread-safe: is this blob known (in the index or in a pack being written)? */
int repo_blob_known(struct repo *r, const struct mm_id *id);
/* Compress (when it pays) and encrypt. Any thread. */
int repo_blob_seal(struct repo *r, enum blob_type t, const struct mm_id *id,
		   const void *p, size_t n, struct sealed_blob *out) MM_MUST_CHECK;
void sealed_blob_release(struct sealed_blob *s);
/* Thread-safe: add a sealed blob to the pack of its type unless already
 * known; writes the pack when it reaches REPO_PACK_TARGET. *added says
 * whether it was new. */
int repo_blob_put(struct repo *r, struct sealed_blob *s, int *added, struct mm_ctx *c) MM_MUST_CHECK;
/* Convenience: id + seal + put. */
int repo_blob_save(struct repo *r, enum blob_type t, const void *p, size_t n,
		   struct mm_id *id, struct mm_ctx *c) MM_MUST_CHECK;
/* Write open packs and a new index object for every pack not yet indexed. */
int repo_flush(struct repo *r, struct mm_ctx *c) MM_MUST_CHECK;

/* Decrypt and decompress a blob whose stored bytes are at hand. The AEAD
 * tag binds the bytes to id, loc->type and loc->raw_len, so a blob that
 * opens is the one a key holder sealed under that ID. REPO_VERIFY_ID also
 * recomputes the ID from the plaintext (check --read-data): that catches a
 * writer that sealed the wrong bytes, e.g. memory corrupted before sealing. */
#define REPO_VERIFY_ID 1u
int repo_blob_open(struct repo *r, const struct mm_id *id, const struct blob_loc *loc,
		   const uint8_t *stored, unsigned flags, struct buf *out,
		   struct mm_ctx *c) MM_MUST_CHECK;
/* A blob's plaintext size as the index gives it (MM_ENOENT if unknown). */
int repo_blob_size(struct repo *r, const struct mm_id *id, uint64_t *size) MM_MUST_CHECK;
/* Read a blob through the index: MM_ENOENT if unknown, MM_EAUTH if altered. */
int repo_blob_read(struct repo *r, const struct mm_id *id, struct buf *out,
		   struct mm_ctx *c) MM_MUST_CHECK;
int repo_tree_load(struct repo *r, const struct mm_id *id, struct tree *out,
		   struct mm_ctx *c) MM_MUST_CHECK;
int repo_tree_save(struct repo *r, const struct tree *t, struct mm_id *id,
		   struct mm_ctx *c) MM_MUST_CHECK;

/* Encrypted whole objects (config, index, snapshot, lock): seal and name by
 * SHA-256 of the stored bytes. */
int repo_object_write(struct repo *r, enum obj_type t, const struct buf *plain,
		      char name_out[65], struct mm_ctx *c) MM_MUST_CHECK;
/* Read, check the name is the SHA-256 of the bytes, decrypt. */
int repo_object_read(struct repo *r, enum obj_type t, const char *name, size_t max,
		     struct buf *plain, struct mm_ctx *c) MM_MUST_CHECK;

int repo_snapshot_save(struct repo *r, struct snapshot *s, struct mm_ctx *c) MM_MUST_CHECK;
/* All snapshots, sorted by time (oldest first). */
int repo_snapshot_list(struct repo *r, struct snapshot **out, size_t *n,
		       struct mm_ctx *c) MM_MUST_CHECK;
void snapshot_list_free(struct snapshot *s, size_t n);
/* "latest", or a unique hex prefix of an ID. */
int repo_snapshot_find(struct repo *r, const char *spec, struct snapshot *out,
		       struct mm_ctx *c) MM_MUST_CHECK;

/* The sealed header's length from the trailer (the last 4 of tail_len
 * bytes that end a pack of pack_size bytes), checked against the size. */
int repo_pack_header_len(const uint8_t *tail, size_t tail_len, uint64_t pack_size,
			 uint32_t *hlen, struct mm_ctx *c) MM_MUST_CHECK;
/* Pack header from the last tail_len bytes of a pack of pack_size bytes
 * (at least the sealed header and the trailer). */
int repo_pack_parse_tail(const struct repo *r, const uint8_t *tail, size_t tail_len,
			 uint64_t pack_size, struct pack_entry **out, size_t *nentries,
			 struct mm_ctx *c) MM_MUST_CHECK;

#endif
