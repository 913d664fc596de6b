/* Unit tests for src/util: every check states the exact expected outcome. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

/* A fresh scratch directory; each test removes what it made. */
static char *
scratch_dir(void)
{
	char tmpl[] = "/tmp/mamori-test-util-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void
test_buf_growth(void **state)
{
	struct buf b;
	uint8_t chunk[100];
	size_t i;

	(void)state;
	memset(chunk, 0xab, sizeof(chunk));
	buf_init(&b, 1000);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 1000);

	assert_int_equal(buf_append_u8(&b, 1), 0);
	assert_int_equal(b.cap, 64);
	assert_int_equal(buf_append(&b, chunk, 100), 0);
	assert_int_equal(b.len, 101);
	assert_int_equal(b.cap, 128);
	for (i = 0; i < 8; i++)
		assert_int_equal(buf_append(&b, chunk, 100), 0);
	assert_int_equal(b.len, 901);
	assert_int_equal(b.cap, 1000); /* 512 -> 1024 clamped at max */
	assert_int_equal(buf_append(&b, chunk, 99), 0);
	assert_int_equal(b.len, 1000);
	assert_int_equal(buf_append_u8(&b, 0), MM_ELIMIT);
	assert_int_equal(b.len, 1000);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), MM_ELIMIT);

	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 1000);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 1000);
}

static void
test_buf_encoding(void **state)
{
	static const uint8_t want[] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
		0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0x02, 0x00, 'h', 'i', 0x00, 0x00,
		0x03, 0x00, 0x00, 0x00, 'a', 'b', 'c',
	};
	struct buf b = BUF_INIT, s = BUF_INIT;
	static uint8_t big[65536];
	size_t i;

	(void)state;
	assert_int_equal(buf_append_u8(&b, 0x01), 0);
	assert_int_equal(buf_append_u16(&b, 0x0302), 0);
	assert_int_equal(buf_append_u32(&b, 0x07060504), 0);
	assert_int_equal(buf_append_u64(&b, 0x0f0e0d0c0b0a0908ULL), 0);
	assert_int_equal(buf_append_str16(&b, "hi"), 0);
	assert_int_equal(buf_append_str16(&b, NULL), 0);
	assert_int_equal(buf_append_bytes32(&b, "abc", 3), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	assert_int_equal(buf_append_bytes16(&b, big, 65536), MM_ELIMIT);
	assert_int_equal(b.len, sizeof(want));
	assert_int_equal(buf_append_bytes16(&b, big, 65535), 0);
	assert_int_equal(b.len, sizeof(want) + 2 + 65535);

	/* A secret buffer grows by copy-and-wipe; contents must survive. */
	s.secret = 1;
	for (i = 0; i < 300; i++)
		assert_int_equal(buf_append_u8(&s, (uint8_t)i), 0);
	assert_int_equal(s.cap, 512);
	for (i = 0; i < 300; i++)
		assert_int_equal(s.data[i], (uint8_t)i);
	buf_reset(&s);
	assert_int_equal(buf_append(&s, "key", 3), 0);
	buf_swap(&b, &s);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "key", 3);
	assert_int_equal(s.len, sizeof(want) + 2 + 65535);
	assert_int_equal(b.secret, 1);
	assert_int_equal(s.secret, 1);
	buf_release(&b);
	buf_release(&s);
}

static void
test_rd(void **state)
{
	static const uint8_t in[] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	};
	static const uint8_t str[] = { 0x02, 0x00, 'o', 'k', 0x03, 0x00, 'a',
		0x00, 'b' };
	static const uint8_t len5[] = { 0x05, 0x00, 'a', 'b', 'c', 'd', 'e' };
	static const uint8_t len32[] = { 0x03, 0x00, 0x00, 0x00, 'x', 'y' };
	struct rd r;
	uint8_t out[4];
	const uint8_t *p;
	size_t n = 99;
	char *s;

	(void)state;
	rd_init(&r, in, sizeof(in));
	assert_int_equal(rd_u8(&r), 0x01);
	assert_int_equal(rd_u16(&r), 0x0302);
	assert_int_equal(rd_u32(&r), 0x07060504);
	assert_int_equal(r.bad, 0);
	assert_int_equal(rd_left(&r), 0);
	assert_int_equal(rd_u8(&r), 0);
	assert_int_equal(r.bad, 1);

	/* Sticky: a later read that would fit still fails. */
	rd_init(&r, in, sizeof(in));
	assert_int_equal(rd_u64(&r), 0);
	assert_int_equal(r.bad, 1);
	assert_int_equal(r.off, 0);
	assert_int_equal(rd_u8(&r), 0);
	assert_null(rd_ptr(&r, 0));
	memset(out, 0xee, sizeof(out));
	rd_copy(&r, out, sizeof(out));
	assert_memory_equal(out, "\0\0\0\0", 4);

	/* Length limits. */
	rd_init(&r, len5, sizeof(len5));
	p = rd_bytes16(&r, 4, &n);
	assert_null(p);
	assert_int_equal(n, 0);
	assert_int_equal(r.bad, 1);
	rd_init(&r, len5, sizeof(len5));
	p = rd_bytes16(&r, 5, &n);
	assert_ptr_equal(p, len5 + 2);
	assert_int_equal(n, 5);
	assert_int_equal(r.bad, 0);
	rd_init(&r, len32, sizeof(len32));
	assert_null(rd_bytes32(&r, 100, &n)); /* claims 3, only 2 left */
	assert_int_equal(r.bad, 1);

	/* Strings: a good one, then one holding a NUL. */
	rd_init(&r, str, sizeof(str));
	s = rd_str16(&r, 10);
	assert_string_equal(s, "ok");
	free(s);
	assert_null(rd_str16(&r, 10));
	assert_int_equal(r.bad, 1);
}

static void
test_hex(void **state)
{
	static const uint8_t in[] = { 0x00, 0x3f, 0xa2, 0xff };
	uint8_t out[4];
	char h[9];

	(void)state;
	hex_encode(in, sizeof(in), h);
	assert_string_equal(h, "003fa2ff");
	memset(out, 0, sizeof(out));
	assert_int_equal(hex_decode("003FA2ff", out, 4), 0);
	assert_memory_equal(out, in, 4);
	assert_int_equal(hex_decode("003fa2f", out, 4), MM_EINVAL);
	assert_int_equal(hex_decode("003fa2ff00", out, 4), MM_EINVAL);
	assert_int_equal(hex_decode("003fa2fg", out, 4), MM_EINVAL);
	assert_int_equal(hex_decode("", out, 0), 0);
	assert_int_equal(hex_prefix_len("3fa2xyz"), 4);
	assert_int_equal(hex_prefix_len(""), 0);
}

static void
test_json(void **state)
{
	/* a"b, newline, "日本" in UTF-8, an invalid 0xff byte, a tab. */
	static const char name[] = "a\"b\n\xe6\x97\xa5\xe6\x9c\xac\xff\t";
	static const char want[] =
	    "{\"name\":\"a\\\"b\\n\xe6\x97\xa5\xe6\x9c\xac\\u00ff\\t\","
	    "\"n\":-3,\"u\":18446744073709551615,\"ok\":true,"
	    "\"list\":[1,\"x\",null,[],{}],\"d\":0.5,\"inf\":null,"
	    "\"ctl\":\"\\u0001\"}";
	struct json j;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(f);
	json_init(&j, f);
	json_obj_begin(&j);
	json_kv_str(&j, "name", name);
	json_kv_int(&j, "n", -3);
	json_kv_uint(&j, "u", UINT64_MAX);
	json_kv_bool(&j, "ok", 1);
	json_key(&j, "list");
	json_arr_begin(&j);
	json_int(&j, 1);
	json_str(&j, "x");
	json_null(&j);
	json_arr_begin(&j);
	json_arr_end(&j);
	json_obj_begin(&j);
	json_obj_end(&j);
	json_arr_end(&j);
	json_key(&j, "d");
	json_double(&j, 0.5);
	json_key(&j, "inf");
	json_double(&j, INFINITY);
	json_key(&j, "ctl");
	json_strn(&j, "\x01zz", 1);
	json_obj_end(&j);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
}

static void
test_files(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct buf b = BUF_INIT;
	char *dir = scratch_dir(), *path, *msg;
	static const char data[] = "hello, durable world";
	struct stat st;

	(void)state;
	path = path_join(dir, "f.bin");
	assert_non_null(path);
	assert_int_equal(file_write_atomic(path, data, sizeof(data) - 1, 0600,
	    &c), 0);
	assert_int_equal(file_read_all(path, 1024, &b, &c), 0);
	assert_int_equal(b.len, sizeof(data) - 1);
	assert_memory_equal(b.data, data, sizeof(data) - 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Overwrite with a shorter file; exactly at the limit is fine. */
	assert_int_equal(file_write_atomic(path, "abcd", 4, 0600, &c), 0);
	assert_int_equal(file_read_all(path, 4, &b, &c), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "abcd", 4);
	assert_int_equal(file_read_all(path, 3, &b, &c), MM_ELIMIT);
	assert_int_equal(b.len, 0);
	assert_int_equal(asprintf(&msg, "%s: file is 4 bytes, limit is 3",
	    path) > 0, 1);
	assert_string_equal(c.msg, msg);
	free(msg);

	free(path);
	path = path_join(dir, "missing");
	assert_int_equal(file_read_all(path, 10, &b, &c), MM_ENOENT);
	assert_int_equal(asprintf(&msg, "%s: No such file or directory",
	    path) > 0, 1);
	assert_string_equal(c.msg, msg);
	free(msg);
	assert_int_equal(unlink(path) == 0 ? 0 : errno, ENOENT);
	free(path);

	path = path_join(dir, "f.bin");
	assert_int_equal(unlink(path), 0);
	free(path);
	assert_int_equal(rmdir(dir), 0); /* no temp file left behind */
	buf_release(&b);
	free(dir);
}

static void
test_mkdir_p(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	char *dir = scratch_dir(), *deep, *file, *sub;
	struct stat st;

	(void)state;
	deep = path_join(dir, "a//b/c/");
	assert_int_equal(mkdir_p(deep, 0700, &c), 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mkdir_p(deep, 0700, &c), 0); /* exists: fine */

	file = path_join(dir, "a/file");
	assert_int_equal(file_write_atomic(file, "x", 1, 0600, &c), 0);
	sub = path_join(file, "sub");
	assert_int_equal(mkdir_p(sub, 0700, &c), MM_EEXIST);
	assert_int_equal(mkdir_p(file, 0700, &c), MM_EEXIST);
	assert_int_equal(mkdir_p("", 0700, &c), MM_EINVAL);

	assert_int_equal(unlink(file), 0);
	free(sub);
	free(file);
	free(deep);
	deep = path_join(dir, "a/b/c");
	assert_int_equal(rmdir(deep), 0);
	free(deep);
	deep = path_join(dir, "a/b");
	assert_int_equal(rmdir(deep), 0);
	free(deep);
	deep = path_join(dir, "a");
	assert_int_equal(rmdir(deep), 0);
	free(deep);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
}

static void
test_path_join(void **state)
{
	char *s;

	(void)state;
	s = path_join("a", "b");
	assert_string_equal(s, "a/b");
	free(s);
	s = path_join("a/", "b");
	assert_string_equal(s, "a/b");
	free(s);
	s = path_join("", "b");
	assert_string_equal(s, "b");
	free(s);
	s = path_join("/", "b");
	assert_string_equal(s, "/b");
	free(s);
}

static void
test_fmt_bytes(void **state)
{
	static const struct {
		uint64_t n;
		const char *want;
	} cases[] = {
		{ 0, "0 B" },
		{ 512, "512 B" },
		{ 1023, "1023 B" },
		{ 1024, "1 KiB" },
		{ 1536, "1.5 KiB" },
		{ 1289748, "1.23 MiB" },
		{ 10485760, "10 MiB" },
		{ 13207024435ULL, "12.3 GiB" },
		{ 1048064, "1 MiB" }, /* 1023.5 KiB rounds up a unit */
		{ 1022976, "999 KiB" },
		{ UINT64_MAX, "16 EiB" },
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt_bytes(cases[i].n, out, sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
}

static void
test_time(void **state)
{
	char out[32];

	(void)state;
	time_format_utc(INT64_C(1795555034) * 1000000000 + 999999999, out,
	    sizeof(out));
	assert_string_equal(out, "2026-11-24T21:17:14Z");
	time_format_utc(-1, out, sizeof(out));
	assert_string_equal(out, "1969-12-31T23:59:59Z");
	assert_true(time_now_ns() > INT64_C(1600000000) * 1000000000);
	assert_true(time_mono() > 0.0);
}

static atomic_uint counter;

static void
bump(void *arg)
{
	(void)arg;
	atomic_fetch_add(&counter, 1);
}

static struct pool *nested_pool;

/* A job that feeds its own pool more jobs than the queue holds. */
static void
spawner(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 10; i++)
		assert_int_equal(pool_submit(nested_pool, bump, NULL), 0);
	atomic_fetch_add(&counter, 1);
}

static void
test_pool_nested(void **state)
{
	(void)state;
	atomic_store(&counter, 0);
	assert_int_equal(pool_new(1, &nested_pool), 0); /* queue of 4 */
	assert_int_equal(pool_submit(nested_pool, spawner, NULL), 0);
	pool_wait(nested_pool);
	assert_int_equal(atomic_load(&counter), 11);
	pool_free(nested_pool);
	nested_pool = NULL;
}

static void
test_pool(void **state)
{
	struct pool *p = NULL;
	int i;

	(void)state;
	atomic_store(&counter, 0);
	assert_int_equal(pool_new(4, &p), 0);
	assert_int_equal(pool_size(p), 4);
	for (i = 0; i < 1000; i++)
		assert_int_equal(pool_submit(p, bump, NULL), 0);
	pool_wait(p);
	assert_int_equal(atomic_load(&counter), 1000);
	pool_free(p);
	pool_free(NULL);
	assert_true(cpu_count() >= 1);
}

static void
test_errors(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	assert_int_equal(mm_fail(&c, MM_EAUTH, "tag mismatch at offset %d",
	    1048576), MM_EAUTH);
	assert_string_equal(c.msg, "tag mismatch at offset 1048576");
	assert_int_equal(mm_prefix(&c, MM_EAUTH, "pack %.4s", "3fa2beef"),
	    MM_EAUTH);
	assert_string_equal(c.msg, "pack 3fa2: tag mismatch at offset 1048576");
	assert_int_equal(mm_prefix(&c, MM_EAUTH, "check"), MM_EAUTH);
	assert_string_equal(c.msg,
	    "check: pack 3fa2: tag mismatch at offset 1048576");

	c.msg[0] = '\0';
	assert_int_equal(mm_prefix(&c, MM_EIO, "config"), MM_EIO);
	assert_string_equal(c.msg, "config");
	assert_int_equal(mm_fail_errno(&c, ENOSPC, "write %s", "x"),
	    MM_ENOSPC);
	assert_string_equal(c.msg, "write x: No space left on device");
	assert_int_equal(mm_fail(NULL, MM_ELOCKED, "ignored"), MM_ELOCKED);

	assert_int_equal(mm_from_errno(EACCES), MM_EPERM);
	assert_int_equal(mm_from_errno(EROFS), MM_EPERM);
	assert_int_equal(mm_from_errno(EEXIST), MM_EEXIST);
	assert_int_equal(mm_from_errno(EINTR), MM_EINTR);
	assert_int_equal(mm_from_errno(EBADF), MM_EIO);
	assert_string_equal(mm_strerror(MM_ELOCKED), "repository is locked");
	assert_string_equal(mm_strerror(MM_EPASSWORD),
	    "wrong password (no key matches)");
	assert_string_equal(mm_strerror(12345), "unknown error");
}

/* proc_exchange: input in, output out, and each way it ends. */
static void
test_proc_exchange(void **state)
{
	char *cat[] = { "cat", NULL };
	char *sleeper[] = { "sh", "-c", "exec sleep 30", NULL };
	char *chatty[] = { "sh", "-c", "yes hello", NULL };
	char *quitter[] = { "sh", "-c", "echo bye; exit 3", NULL };
	char *missing[] = { "/nonexistent/mamori", NULL };
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;
	double t0;

	(void)state;
	signal(SIGPIPE, SIG_IGN); /* as the agent does */
	assert_int_equal(proc_exchange(cat, "in and out\n", 11, 1024, 10, &b, &c), 0);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "in and out\n", 11);
	buf_reset(&b);
	t0 = time_mono();
	assert_int_equal(proc_exchange(sleeper, NULL, 0, 1024, 0.3, &b, &c), MM_ETIMEDOUT);
	assert_string_equal(c.msg, "sh did not finish within 0 s: killed");
	assert_true(time_mono() - t0 < 20); /* killed, not waited for */
	assert_int_equal(proc_exchange(chatty, NULL, 0, 1000, 10, &b, &c), MM_ELIMIT);
	assert_string_equal(c.msg, "sh printed more than 1000 bytes: killed");
	buf_reset(&b);
	assert_int_equal(proc_exchange(quitter, "unread", 6, 1024, 10, &b, &c), MM_ECHILD);
	assert_string_equal(c.msg, "sh exited with status 3");
	assert_int_equal(b.len, 4);
	assert_int_equal(proc_exchange(missing, NULL, 0, 1024, 10, &b, &c), MM_ENOENT);
	assert_string_equal(c.msg, "cannot run /nonexistent/mamori: No such file or directory");
	buf_release(&b);
}

/* mm_dl_load: a library or a symbol that is missing says which, and what
 * to install. */
static void
test_dl_load(void **state)
{
	static const char *const good[] = { "strlen" };
	static const char *const bad[] = { "strlen", "mamori_no_such_function" };
	void *fns[2] = { NULL, NULL };
	struct mm_ctx c = MM_CTX_INIT;
	size_t (*len)(const char *);

	(void)state;
	assert_int_equal(mm_dl_load("libc.so.6", "libc6", good, 1, fns, &c), 0);
	len = (size_t (*)(const char *))fns[0];
	assert_int_equal(len("mamori"), 6);
	assert_int_equal(mm_dl_load("libmamori-none.so.9", "mamori-none", good, 1, fns, &c),
			 MM_EUNSUPPORTED);
	assert_non_null(strstr(c.msg, "cannot load libmamori-none.so.9 ("));
	assert_non_null(strstr(c.msg, "): install the mamori-none package"));
	assert_int_equal(mm_dl_load("libc.so.6", "libc6", bad, 2, fns, &c), MM_EUNSUPPORTED);
	assert_non_null(strstr(c.msg, "libc.so.6 has no mamori_no_such_function ("));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_buf_encoding),
		cmocka_unit_test(test_rd),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_fmt_bytes),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_pool_nested),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_proc_exchange),
		cmocka_unit_test(test_dl_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
