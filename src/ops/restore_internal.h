/* State shared by the files of the restore operation; not part of the API. */
#ifndef MAMORI_RESTORE_INTERNAL_H
#define MAMORI_RESTORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "ops/ops.h"

struct link_rec {
	char *target; /* relative path of the first file of the group */
	char *path;   /* relative path of this link */
};

struct dir_rec {
	char *path; /* relative to the target; "" is the target itself */
	size_t depth; /* of path: children are finished before parents */
	int owned;    /* created with our euid/egid already */
	struct node n;
};

/* How a folder is walked: RT_ALL restores everything in it (else only the
 * paths --include names); RT_OWNED: entries created in it get our effective
 * user and group and the mode asked for less the umask (the target's group
 * is ours, it has no default ACL, and every folder on the way was created
 * by us), so fchown and fchmod are needed only where those differ. */
#define RT_ALL 1u
#define RT_OWNED 2u

/* Owner names seen in the snapshot and what they map to here: getpwnam
 * reads /etc/passwd (or asks nscd) on every call, twice per file. */
#define OWNER_CACHE 64
struct owner_cache {
	pthread_mutex_t mu;
	size_t n;
	struct {
		char *name;
		int group;
		int found;
		uint32_t id;
	} e[OWNER_CACHE];
};

struct rs {
	struct repo *r;
	struct owner_cache owners;
	const struct restore_opts *o;
	struct restore_result *res;
	const struct snapshot *snap;
	struct pool *pool;
	int rootfd;
	int as_root;
	uid_t euid;
	gid_t egid;
	int umask_known; /* read from /proc/self/status, never changed */
	mode_t umask;
	pthread_mutex_t mu; /* warn, errors, the link and folder lists, fatal_ctx */
	uint64_t errors;
	_Atomic uint64_t files, bytes, dirs, others; /* counted by every thread */
	atomic_int no_direct; /* the target refused O_DIRECT once */
	atomic_uint walkers;  /* folder walks queued or running as pool jobs */
	unsigned walkers_max;
	atomic_int fatal;     /* a walk failed for good (out of memory, lock) */
	int fatal_err;
	struct mm_ctx fatal_ctx;
	atomic_int *matched; /* per include */
	struct index links_seen; /* (inode, dev) -> index into first_paths */
	char **first_paths;
	size_t nfirst, first_cap;
	struct link_rec *links;
	size_t nlinks, links_cap;
	struct dir_rec *dirlist;
	size_t ndirs, dirs_cap;
	double t0, last_progress;
	uint64_t bytes_total;
};

struct file_job {
	struct rs *s;
	int owned; /* created with our euid/egid */
	int dirfd;
	char *name;
	char *path; /* for messages */
	struct node n;
};

/* Report a problem with one entry (count: it counts as an error). */
void rs_warn(struct rs *s, int count, const char *fmt, ...) MM_PRINTF(3, 4);
void rs_progress(struct rs *s, const char *path);
/* Owner, mode, xattrs and times on an open file or directory; owned: it was
 * created with our euid/egid, so the owner is set only if it differs;
 * mode_set: it was created with its final permission bits. */
int rs_apply_meta_fd(struct rs *s, int fd, const struct node *n, const char *path, int owned,
		     int mode_set);
/* Can a file be created with its final permission bits? (see RT_OWNED) */
int rs_mode_at_create(const struct rs *s, const struct node *n, int owned);
/* Make room for a new non-directory entry: remove what is there unless it
 * is a directory. 0 or an errno. */
int rs_clear_entry(int dirfd, const char *name);

/* restore_write.c: a file_job (pool job) writes one file; a file of
 * RANGE_MIN bytes or more is written in ranges instead: 1 when it is
 * (name, rel and n taken), 0 to restore it the ordinary way, <0 an error. */
void rs_file_job_run(void *arg);
int rs_restore_in_ranges(struct rs *s, int dirfd, char *name, char *rel, struct node *n,
			 int owned, struct mm_ctx *c);

#endif
