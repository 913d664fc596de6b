/*
 * backend: the local and in-memory implementations behind the same calls,
 * the object layout, and choosing a backend from a location.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"

/* Three 64-hex names; A and B share the data/ab subdirectory. */
#define NAME_A "ab00000000000000000000000000000000000000000000000000000000000001"
#define NAME_B "ab00000000000000000000000000000000000000000000000000000000000002"
#define NAME_C "cd00000000000000000000000000000000000000000000000000000000000003"

struct fixture {
	char dir[64];         /* mkdtemp directory (local only) */
	char *repo;           /* dir/repo (local only) */
	mode_t old_umask;
	struct backend *be;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup_local(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mm_ctx c = MM_CTX_INIT;
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	/* umask 0: the modes seen are the modes the backend asked for. */
	f->old_umask = umask(0);
	snprintf(f->dir, sizeof(f->dir), "%s/mm-backend-XXXXXX",
		 tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(f->repo = path_join(f->dir, "repo"));
	assert_int_equal(backend_local_open(f->repo, &f->be, &c), 0);
	assert_int_equal(f->be->ops->create(f->be, &c), 0);
	*state = f;
	return 0;
}

static int
setup_mem(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mm_ctx c = MM_CTX_INIT;

	assert_non_null(f);
	f->old_umask = umask(0);
	assert_int_equal(backend_open("mem:", &f->be, &c), 0);
	assert_int_equal(f->be->ops->create(f->be, &c), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	backend_free(f->be);
	if (f->dir[0] != '\0')
		nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->repo);
	umask(f->old_umask);
	free(f);
	return 0;
}

/* ---- list collection ---------------------------------------------------- */

struct seen {
	char names[8][65];
	uint64_t sizes[8];
	int n;
};

static int
collect(const char *name, uint64_t size, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	assert_int_equal(strlen(name), 64);
	memcpy(s->names[s->n], name, 65);
	s->sizes[s->n] = size;
	s->n++;
	return 0;
}

/* Size seen for name, or -1 when it was not listed. */
static int64_t
seen_size(const struct seen *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->names[i], name) == 0)
			return (int64_t)s->sizes[i];
	}
	return -1;
}

static int
stop_at_first(const char *name, uint64_t size, void *arg)
{
	(void)name;
	(void)size;
	(*(int *)arg)++;
	return 42;
}

/* ---- tests run against both backends ------------------------------------- */

static void
test_create_twice(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;

	/* No config yet: create again is allowed (nothing is there). */
	assert_int_equal(f->be->ops->create(f->be, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_CONFIG, "config", "cfg", 3, &c), 0);
	assert_int_equal(f->be->ops->create(f->be, &c), MM_EEXIST);
	assert_non_null(strstr(c.msg, "config"));
	/* The config object is never replaced. */
	assert_int_equal(backend_write(f->be, OBJ_CONFIG, "config", "new", 3, &c), MM_EEXIST);
}

static void
test_write_read_stat(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct buf b = BUF_INIT;
	uint64_t size = 0;
	static const char data[] = "0123456789abcdef";

	assert_int_equal(backend_write(f->be, OBJ_PACK, NAME_A, data, 16, &c), 0);

	assert_int_equal(backend_read(f->be, OBJ_PACK, NAME_A, 0, 0, &b, &c), 0);
	assert_int_equal(b.len, 16);
	assert_memory_equal(b.data, data, 16);

	/* A range is appended after what the buffer holds. */
	assert_int_equal(backend_read(f->be, OBJ_PACK, NAME_A, 4, 3, &b, &c), 0);
	assert_int_equal(b.len, 19);
	assert_memory_equal(b.data + 16, "456", 3);

	/* len 0 from an offset: to the end; at the end: nothing. */
	buf_reset(&b);
	assert_int_equal(backend_read(f->be, OBJ_PACK, NAME_A, 10, 0, &b, &c), 0);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "abcdef", 6);
	assert_int_equal(backend_read(f->be, OBJ_PACK, NAME_A, 16, 0, &b, &c), 0);
	assert_int_equal(b.len, 6);
	/* Exactly the last byte. */
	assert_int_equal(backend_read(f->be, OBJ_PACK, NAME_A, 15, 1, &b, &c), 0);
	assert_int_equal(b.len, 7);
	assert_int_equal(b.data[6], 'f');

	assert_int_equal(backend_stat(f->be, OBJ_PACK, NAME_A, &size, &c), 0);
	assert_int_equal(size, 16);

	/* Same name again: replaced (same name means same content). */
	assert_int_equal(backend_write(f->be, OBJ_PACK, NAME_A, data, 8, &c), 0);
	assert_int_equal(backend_stat(f->be, OBJ_PACK, NAME_A, &size, &c), 0);
	assert_int_equal(size, 8);

	/* An empty object. */
	assert_int_equal(backend_write(f->be, OBJ_INDEX, NAME_C, "", 0, &c), 0);
	assert_int_equal(backend_stat(f->be, OBJ_INDEX, NAME_C, &size, &c), 0);
	assert_int_equal(size, 0);
	buf_reset(&b);
	assert_int_equal(backend_read(f->be, OBJ_INDEX, NAME_C, 0, 0, &b, &c), 0);
	assert_int_equal(b.len, 0);

	/* Types are separate namespaces. */
	assert_int_equal(backend_stat(f->be, OBJ_KEY, NAME_A, &size, &c), MM_ENOENT);

	buf_release(&b);
}

static void
test_errors(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct buf b = BUF_INIT;
	uint64_t size = 0;

	assert_int_equal(backend_read(f->be, OBJ_SNAPSHOT, NAME_A, 0, 0, &b, &c), MM_ENOENT);
	assert_non_null(strstr(c.msg, "snapshots/" NAME_A ": no such object"));
	assert_int_equal(backend_stat(f->be, OBJ_SNAPSHOT, NAME_A, &size, &c), MM_ENOENT);
	assert_int_equal(backend_remove(f->be, OBJ_SNAPSHOT, NAME_A, &c), MM_ENOENT);
	assert_non_null(strstr(c.msg, "snapshots/" NAME_A ": no such object"));
	assert_int_equal(backend_read(f->be, OBJ_CONFIG, "config", 0, 0, &b, &c), MM_ENOENT);

	assert_int_equal(backend_write(f->be, OBJ_SNAPSHOT, NAME_A, "12345", 5, &c), 0);
	/* Past the end: corrupt, never a short read. */
	assert_int_equal(backend_read(f->be, OBJ_SNAPSHOT, NAME_A, 3, 3, &b, &c), MM_ECORRUPT);
	assert_non_null(strstr(c.msg, "snapshots/" NAME_A));
	assert_non_null(strstr(c.msg, "read of 3 bytes at offset 3"));
	assert_non_null(strstr(c.msg, "(size 5)"));
	assert_int_equal(backend_read(f->be, OBJ_SNAPSHOT, NAME_A, 6, 0, &b, &c), MM_ECORRUPT);
	assert_int_equal(backend_read(f->be, OBJ_SNAPSHOT, NAME_A, UINT64_MAX, 1, &b, &c),
			 MM_ECORRUPT);
	assert_int_equal(b.len, 0);

	/* Names that would leave their directory. */
	assert_int_equal(backend_write(f->be, OBJ_KEY, "../config", "x", 1, &c), MM_EINVAL);
	assert_int_equal(backend_write(f->be, OBJ_KEY, "a/b", "x", 1, &c), MM_EINVAL);
	assert_int_equal(backend_write(f->be, OBJ_KEY, "", "x", 1, &c), MM_EINVAL);
	assert_int_equal(backend_write(f->be, OBJ_KEY, NULL, "x", 1, &c), MM_EINVAL);
	assert_int_equal(backend_write(f->be, OBJ_PACK, "a", "x", 1, &c), MM_EINVAL);
	assert_int_equal(backend_list(f->be, OBJ_CONFIG, collect, NULL, &c), MM_EINVAL);

	buf_release(&b);
}

static void
test_list_remove(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct seen s = { 0 };
	int calls = 0;

	assert_int_equal(backend_list(f->be, OBJ_PACK, collect, &s, &c), 0);
	assert_int_equal(s.n, 0);

	assert_int_equal(backend_write(f->be, OBJ_PACK, NAME_A, "a", 1, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_PACK, NAME_B, "bb", 2, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_PACK, NAME_C, "ccc", 3, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_LOCK, NAME_A, "lock", 4, &c), 0);
	/* Not 64 lowercase hex: stored, but not what list reports. */
	assert_int_equal(backend_write(f->be, OBJ_LOCK, "notes", "n", 1, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_LOCK,
				       "AB00000000000000000000000000000000000000000000000000000000000001",
				       "n", 1, &c), 0);

	assert_int_equal(backend_list(f->be, OBJ_PACK, collect, &s, &c), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(seen_size(&s, NAME_A), 1);
	assert_int_equal(seen_size(&s, NAME_B), 2);
	assert_int_equal(seen_size(&s, NAME_C), 3);

	memset(&s, 0, sizeof(s));
	assert_int_equal(backend_list(f->be, OBJ_LOCK, collect, &s, &c), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(seen_size(&s, NAME_A), 4);

	memset(&s, 0, sizeof(s));
	assert_int_equal(backend_list(f->be, OBJ_KEY, collect, &s, &c), 0);
	assert_int_equal(s.n, 0);

	/* A non-zero callback return stops the listing and is returned. */
	assert_int_equal(backend_list(f->be, OBJ_PACK, stop_at_first, &calls, &c), 42);
	assert_int_equal(calls, 1);

	assert_int_equal(backend_remove(f->be, OBJ_PACK, NAME_B, &c), 0);
	assert_int_equal(backend_remove(f->be, OBJ_PACK, NAME_B, &c), MM_ENOENT);
	memset(&s, 0, sizeof(s));
	assert_int_equal(backend_list(f->be, OBJ_PACK, collect, &s, &c), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(seen_size(&s, NAME_B), -1);
}

/* An upload is invisible until commit, lands whole under its name, and an
 * aborted one leaves nothing behind (no stray temporary file either). */
static void
test_upload(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct backend_upload *u = NULL;
	struct buf got = BUF_INIT;
	struct seen s = { 0 };
	uint8_t big[300000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + i / 251);
	assert_int_equal(backend_upload_begin(f->be, OBJ_PACK, &u, &c), 0);
	assert_int_equal(backend_upload_append(u, "head", 4, &c), 0);
	assert_int_equal(backend_upload_append(u, big, sizeof(big), &c), 0);
	assert_int_equal(u->size, 4 + sizeof(big));
	assert_int_equal(backend_list(f->be, OBJ_PACK, collect, &s, &c), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(backend_upload_commit(u, NAME_A, &c), 0);
	assert_int_equal(backend_read(f->be, OBJ_PACK, NAME_A, 0, 0, &got, &c), 0);
	assert_int_equal(got.len, 4 + sizeof(big));
	assert_memory_equal(got.data, "head", 4);
	assert_memory_equal(got.data + 4, big, sizeof(big));

	assert_int_equal(backend_upload_begin(f->be, OBJ_PACK, &u, &c), 0);
	assert_int_equal(backend_upload_append(u, big, 1000, &c), 0);
	backend_upload_abort(u);
	backend_upload_abort(NULL);
	memset(&s, 0, sizeof(s));
	assert_int_equal(backend_list(f->be, OBJ_PACK, collect, &s, &c), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(seen_size(&s, NAME_A), 4 + sizeof(big));
	if (f->repo != NULL) {
		/* data/ holds only the ab/ folder of the committed pack. */
		char *data = path_join(f->repo, "data");
		DIR *d = opendir(data);
		struct dirent *de;
		int entries = 0;
		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				assert_string_equal(de->d_name, "ab");
				entries++;
			}
		closedir(d);
		free(data);
		assert_int_equal(entries, 1);
	}
	buf_release(&got);
}

/* Writers from several threads, as the repo's pack workers do. */
struct writer_arg {
	struct backend *be;
	int id;
	int rc;
};

static void *
writer(void *p)
{
	struct writer_arg *a = p;
	struct mm_ctx c = MM_CTX_INIT;
	char name[65];
	uint8_t data[64];
	int i;

	memset(data, a->id, sizeof(data));
	for (i = 0; i < 32 && a->rc == 0; i++) {
		snprintf(name, sizeof(name), "%02x%062x", a->id, i);
		a->rc = backend_write(a->be, OBJ_PACK, name, data, (size_t)(a->id + 1), &c);
	}
	return NULL;
}

static int
count_cb(const char *name, uint64_t size, void *arg)
{
	(void)name;
	(void)size;
	(*(int *)arg)++;
	return 0;
}

static void
test_threads(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct writer_arg args[4];
	pthread_t th[4];
	int i, n = 0;

	for (i = 0; i < 4; i++) {
		args[i] = (struct writer_arg){ f->be, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].rc, 0);
	}
	assert_int_equal(backend_list(f->be, OBJ_PACK, count_cb, &n, &c), 0);
	assert_int_equal(n, 4 * 32);
}

/* ---- local only ------------------------------------------------------------- */

static mode_t
mode_of(const char *dir, const char *rel)
{
	struct stat st;
	char *p = path_join(dir, rel);

	assert_non_null(p);
	assert_int_equal(lstat(p, &st), 0);
	free(p);
	return st.st_mode & 07777;
}

static int
exists(const char *dir, const char *rel)
{
	struct stat st;
	char *p = path_join(dir, rel);
	int r;

	assert_non_null(p);
	r = lstat(p, &st) == 0;
	free(p);
	return r;
}

static void
test_local_layout_modes(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	static const char *const dirs[] = { "keys", "data", "index", "snapshots", "locks" };
	size_t i;

	assert_int_equal(umask(0), 0);
	assert_int_equal(mode_of(f->dir, "repo"), 0700);
	for (i = 0; i < 5; i++)
		assert_int_equal(mode_of(f->repo, dirs[i]), 0700);
	/* data/XX are made on first write, not at create. */
	assert_false(exists(f->repo, "data/ab"));

	assert_int_equal(backend_write(f->be, OBJ_CONFIG, "config", "cfg", 3, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_PACK, NAME_A, "p", 1, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_KEY, NAME_C, "k", 1, &c), 0);
	assert_int_equal(mode_of(f->repo, "config"), 0600);
	assert_int_equal(mode_of(f->repo, "data/ab"), 0700);
	assert_int_equal(mode_of(f->repo, "data/ab/" NAME_A), 0600);
	assert_int_equal(mode_of(f->repo, "keys/" NAME_C), 0600);
	assert_false(exists(f->repo, "data/cd"));
	/* Every other object type, with the umask at 0. */
	assert_int_equal(backend_write(f->be, OBJ_INDEX, NAME_A, "i", 1, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_SNAPSHOT, NAME_A, "s", 1, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_LOCK, NAME_A, "l", 1, &c), 0);
	assert_int_equal(mode_of(f->repo, "index/" NAME_A), 0600);
	assert_int_equal(mode_of(f->repo, "snapshots/" NAME_A), 0600);
	assert_int_equal(mode_of(f->repo, "locks/" NAME_A), 0600);
	/* A pack streamed through an upload: its temporary, then the pack. */
	{
		struct backend_upload *u = NULL;
		struct stat st;

		assert_int_equal(backend_upload_begin(f->be, OBJ_PACK, &u, &c), 0);
		assert_int_equal(backend_upload_append(u, "pack", 4, &c), 0);
		assert_non_null(u->tmp);
		assert_int_equal(stat(u->tmp, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(backend_upload_commit(u, NAME_C, &c), 0);
		assert_int_equal(backend_sync(f->be, &c), 0);
		assert_int_equal(mode_of(f->repo, "data/cd"), 0700);
		assert_int_equal(mode_of(f->repo, "data/cd/" NAME_C), 0600);
	}
}

static void
test_local_list_skips_strays(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct seen s = { 0 };
	static const char *const strays[] = {
		"locks/xyz.tmp-123",
		"locks/" NAME_B ".tmp-123",
		"locks/" NAME_B "0",
		"data/ab/xyz.tmp-123",
		"data/zz/" NAME_C,     /* not a hex subdirectory */
		"data/ab/" NAME_C,     /* in the wrong subdirectory */
	};
	char *p;
	size_t i;
	int fd;

	assert_int_equal(backend_write(f->be, OBJ_LOCK, NAME_A, "l", 1, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_PACK, NAME_A, "p", 1, &c), 0);
	assert_non_null(p = path_join(f->repo, "data/zz"));
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	for (i = 0; i < sizeof(strays) / sizeof(strays[0]); i++) {
		assert_non_null(p = path_join(f->repo, strays[i]));
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
		free(p);
	}
	assert_int_equal(backend_list(f->be, OBJ_LOCK, collect, &s, &c), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], NAME_A);

	memset(&s, 0, sizeof(s));
	assert_int_equal(backend_list(f->be, OBJ_PACK, collect, &s, &c), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], NAME_A);
}

static void
test_local_errors_name_paths(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct buf b = BUF_INIT;
	char *want = NULL;
	char *p;

	/* ENOENT names the full file path. */
	assert_non_null(want = path_join(f->repo, "index/" NAME_A ": no such object"));
	assert_int_equal(backend_read(f->be, OBJ_INDEX, NAME_A, 0, 0, &b, &c), MM_ENOENT);
	assert_string_equal(c.msg, want);
	free(want);

	/* Other errors carry the errno text: a directory where a file should be. */
	assert_non_null(p = path_join(f->repo, "index/" NAME_B));
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	assert_int_equal(backend_read(f->be, OBJ_INDEX, NAME_B, 0, 0, &b, &c), MM_ECORRUPT);
	assert_non_null(strstr(c.msg, "not a regular file"));
	assert_int_equal(backend_remove(f->be, OBJ_INDEX, NAME_B, &c), MM_EIO);
	assert_non_null(strstr(c.msg, "index/" NAME_B ": Is a directory"));

	/* Past the end names the path and both sizes. */
	assert_int_equal(backend_write(f->be, OBJ_INDEX, NAME_A, "12345", 5, &c), 0);
	assert_non_null(want = path_join(f->repo, "index/" NAME_A
					 ": read of 10 bytes at offset 2 is past the end "
					 "of the object (size 5)"));
	assert_int_equal(backend_read(f->be, OBJ_INDEX, NAME_A, 2, 10, &b, &c), MM_ECORRUPT);
	assert_string_equal(c.msg, want);
	free(want);
	buf_release(&b);
}

/* A repository copied without its empty directories still works. */
static void
test_local_missing_dirs(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct seen s = { 0 };
	char *p;

	assert_non_null(p = path_join(f->repo, "locks"));
	assert_int_equal(rmdir(p), 0);
	free(p);
	assert_non_null(p = path_join(f->repo, "data"));
	assert_int_equal(rmdir(p), 0);
	free(p);
	assert_int_equal(backend_list(f->be, OBJ_LOCK, collect, &s, &c), 0);
	assert_int_equal(backend_list(f->be, OBJ_PACK, collect, &s, &c), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(backend_write(f->be, OBJ_LOCK, NAME_A, "l", 1, &c), 0);
	assert_int_equal(backend_write(f->be, OBJ_PACK, NAME_C, "p", 1, &c), 0);
	assert_int_equal(mode_of(f->repo, "locks"), 0700);
	assert_int_equal(mode_of(f->repo, "data"), 0700);
	assert_int_equal(backend_list(f->be, OBJ_PACK, collect, &s, &c), 0);
	assert_int_equal(s.n, 1);
}

/* A large object is read whole and by range, byte for byte. */
static void
test_local_large(void **state)
{
	struct fixture *f = *state;
	struct mm_ctx c = MM_CTX_INIT;
	struct buf b = BUF_INIT;
	size_t n = (size_t)17 << 20, i;
	uint8_t *data = malloc(n);

	assert_non_null(data);
	for (i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 24);
	assert_int_equal(backend_write(f->be, OBJ_PACK, NAME_B, data, n, &c), 0);
	assert_int_equal(backend_read(f->be, OBJ_PACK, NAME_B, 0, 0, &b, &c), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, data, n);
	buf_reset(&b);
	assert_int_equal(backend_read(f->be, OBJ_PACK, NAME_B, n - 4096, 4096, &b, &c), 0);
	assert_memory_equal(b.data, data + n - 4096, 4096);
	buf_release(&b);
	free(data);
}

/* ---- no fixture ------------------------------------------------------------- */

static void
test_obj_path(void **state)
{
	static const struct {
		enum obj_type t;
		const char *name, *want;
	} cases[] = {
		{ OBJ_CONFIG, "config", "config" },
		{ OBJ_CONFIG, NULL, "config" },
		{ OBJ_KEY, NAME_A, "keys/" NAME_A },
		{ OBJ_PACK, NAME_C, "data/cd/" NAME_C },
		{ OBJ_PACK, "3f", "data/3f/3f" },
		{ OBJ_INDEX, NAME_A, "index/" NAME_A },
		{ OBJ_SNAPSHOT, NAME_A, "snapshots/" NAME_A },
		{ OBJ_LOCK, NAME_A, "locks/" NAME_A },
	};
	size_t i;
	char *p;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(p = backend_obj_path(cases[i].t, cases[i].name));
		assert_string_equal(p, cases[i].want);
		free(p);
	}
	assert_null(backend_obj_path(OBJ_PACK, "3"));
	assert_null(backend_obj_path(OBJ_KEY, NULL));
	assert_null(backend_obj_path(OBJ_TYPE_COUNT, NAME_A));

	assert_string_equal(backend_type_dir(OBJ_CONFIG), "");
	assert_string_equal(backend_type_dir(OBJ_KEY), "keys");
	assert_string_equal(backend_type_dir(OBJ_PACK), "data");
	assert_string_equal(backend_type_dir(OBJ_INDEX), "index");
	assert_string_equal(backend_type_dir(OBJ_SNAPSHOT), "snapshots");
	assert_string_equal(backend_type_dir(OBJ_LOCK), "locks");
}

static void
test_open(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = NULL;

	(void)state;
	assert_int_equal(backend_open("s3:bucket/path", &be, &c), MM_EINVAL);
	assert_string_equal(c.msg, "s3:bucket/path: an S3 location is "
			    "s3:https://HOST[:PORT]/BUCKET[/PREFIX] (or s3:http:// for a store "
			    "without TLS)");
	assert_null(be);
	/* sftp: the location is checked before ssh runs (tests/cli/sftp.bats
	 * runs a real server). */
	assert_int_equal(backend_open("sftp:host", &be, &c), MM_EINVAL);
	assert_string_equal(c.msg, "sftp: 'host' names no folder: write sftp:[USER@]HOST:/PATH");
	assert_null(be);
	assert_int_equal(backend_open("", &be, &c), MM_EINVAL);
	assert_int_equal(backend_open("local:", &be, &c), MM_EINVAL);

	/* Opening does not touch the disk; the location is kept as written. */
	assert_int_equal(backend_open("local:no/such/dir", &be, &c), 0);
	assert_string_equal(be->location, "local:no/such/dir");
	backend_free(be);
	assert_int_equal(backend_open("relative/dir:with-colon", &be, &c), 0);
	assert_string_equal(be->location, "relative/dir:with-colon");
	backend_free(be);
	assert_int_equal(backend_open("/abs/path", &be, &c), 0);
	backend_free(be);
	assert_int_equal(backend_open("mem:", &be, &c), 0);
	assert_string_equal(be->location, "mem:");
	backend_free(be);

	backend_free(NULL);
}

int
main(void)
{
/* Each shared test twice, named "local: test" and "mem: test". */
#define BOTH(fn) \
	{ "local: " #fn, fn, setup_local, teardown, NULL }, \
	{ "mem: " #fn, fn, setup_mem, teardown, NULL }
	const struct CMUnitTest tests[] = {
		BOTH(test_create_twice),
		BOTH(test_write_read_stat),
		BOTH(test_errors),
		BOTH(test_list_remove),
		BOTH(test_threads),
		BOTH(test_upload),
		cmocka_unit_test_setup_teardown(test_local_layout_modes, setup_local, teardown),
		cmocka_unit_test_setup_teardown(test_local_list_skips_strays, setup_local, teardown),
		cmocka_unit_test_setup_teardown(test_local_errors_name_paths, setup_local, teardown),
		cmocka_unit_test_setup_teardown(test_local_missing_dirs, setup_local, teardown),
		cmocka_unit_test_setup_teardown(test_local_large, setup_local, teardown),
		cmocka_unit_test(test_obj_path),
		cmocka_unit_test(test_open),
	};
#undef BOTH

	return cmocka_run_group_tests(tests, NULL, NULL);
}
