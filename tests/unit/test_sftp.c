/*
 * sftp: the SFTP v3 codec (exact bytes out, hostile bytes in), locations,
 * the reading of ssh's errors and the -o options. The backend itself is
 * tested against a real sshd in tests/cli/sftp.bats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/sftp_internal.h"

/* A reply body assembled by hand: type, then fields (big-endian). */
struct pk {
	uint8_t b[4096];
	size_t n;
};

static void
pk_u8(struct pk *p, uint8_t v)
{
	p->b[p->n++] = v;
}

static void
pk_u32(struct pk *p, uint32_t v)
{
	pk_u8(p, (uint8_t)(v >> 24));
	pk_u8(p, (uint8_t)(v >> 16));
	pk_u8(p, (uint8_t)(v >> 8));
	pk_u8(p, (uint8_t)v);
}

static void
pk_u64(struct pk *p, uint64_t v)
{
	pk_u32(p, (uint32_t)(v >> 32));
	pk_u32(p, (uint32_t)v);
}

static void
pk_str(struct pk *p, const char *s)
{
	pk_u32(p, (uint32_t)strlen(s));
	memcpy(p->b + p->n, s, strlen(s));
	p->n += strlen(s);
}

static void
test_encode_exact(void **state)
{
	static const uint8_t init[] = { 0, 0, 0, 5, 1, 0, 0, 0, 3 };
	static const uint8_t open[] = {
		0, 0, 0, 27, 3, 0, 0, 0, 7,            /* length, OPEN, id 7 */
		0, 0, 0, 6, '/', 'r', '/', 'c', 'f', 'g', /* path */
		0, 0, 0, 0x1a,                         /* WRITE|CREAT|TRUNC */
		0, 0, 0, 4, 0, 0, 1, 0x80,             /* attrs: permissions 0600 */
	};
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(sftp_put_begin(&b, SFTP_INIT, 99), 0);
	assert_int_equal(sftp_put_u32(&b, 3), 0);
	assert_int_equal(sftp_put_end(&b), 0);
	assert_int_equal(b.len, sizeof(init));
	assert_memory_equal(b.data, init, sizeof(init));

	assert_int_equal(sftp_put_begin(&b, SFTP_OPEN, 7), 0);
	assert_int_equal(sftp_put_cstr(&b, "/r/cfg"), 0);
	assert_int_equal(sftp_put_u32(&b, SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_TRUNC), 0);
	assert_int_equal(sftp_put_perm_attrs(&b, 0600), 0);
	assert_int_equal(sftp_put_end(&b), 0);
	assert_int_equal(b.len, sizeof(open));
	assert_memory_equal(b.data, open, sizeof(open));

	/* u64 is big-endian too. */
	buf_reset(&b);
	assert_int_equal(sftp_put_u64(&b, 0x0102030405060708ull), 0);
	assert_memory_equal(b.data, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	/* A packet over the limit is refused, not sent. */
	assert_int_equal(sftp_put_begin(&b, SFTP_WRITE, 1), 0);
	assert_int_equal(buf_reserve(&b, SFTP_PACKET_MAX + 16), 0);
	memset(b.data + b.len, 'x', SFTP_PACKET_MAX);
	b.len += SFTP_PACKET_MAX;
	assert_int_equal(sftp_put_end(&b), MM_ELIMIT);
	buf_release(&b);
}

static void
test_frame_len(void **state)
{
	uint32_t n = 0;

	(void)state;
	assert_int_equal(sftp_frame_len((const uint8_t *)"\0\0\0\0", SFTP_PACKET_MAX, &n), MM_ELIMIT);
	assert_int_equal(sftp_frame_len((const uint8_t *)"\xff\xff\xff\xff", SFTP_PACKET_MAX, &n),
			 MM_ELIMIT);
	/* "This account is..." printed by a login shell reads as a huge length. */
	assert_int_equal(sftp_frame_len((const uint8_t *)"This", SFTP_PACKET_MAX, &n), MM_ELIMIT);
	assert_int_equal(sftp_frame_len((const uint8_t *)"\0\x08\0\0", SFTP_PACKET_MAX, &n), 0);
	assert_int_equal(n, 512 * 1024);
	assert_int_equal(sftp_frame_len((const uint8_t *)"\0\x08\0\x01", SFTP_PACKET_MAX, &n),
			 MM_ELIMIT);
}

static void
test_decode_status(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct sftp_reply rep;
	struct pk p = { .n = 0 };
	char tmp[32];

	(void)state;
	pk_u8(&p, SFTP_STATUS);
	pk_u32(&p, 42);
	pk_u32(&p, SFTP_FX_NO_SUCH_FILE);
	pk_str(&p, "No such file");
	pk_str(&p, "en");
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), 0);
	assert_int_equal(rep.type, SFTP_STATUS);
	assert_int_equal(rep.id, 42);
	assert_int_equal(rep.status, SFTP_FX_NO_SUCH_FILE);
	assert_int_equal(rep.msg_len, 12);
	assert_memory_equal(rep.msg, "No such file", 12);
	assert_string_equal(sftp_status_name(rep.status, tmp, sizeof(tmp)), "no such file or folder");

	/* Without message and language (older servers). */
	p.n = 0;
	pk_u8(&p, SFTP_STATUS);
	pk_u32(&p, 1);
	pk_u32(&p, 77); /* a code of a later version */
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), 0);
	assert_int_equal(rep.status, 77);
	assert_int_equal(rep.msg_len, 0);
	assert_string_equal(sftp_status_name(77, tmp, sizeof(tmp)), "unknown status 77");

	/* A message longer than the packet. */
	p.n = 0;
	pk_u8(&p, SFTP_STATUS);
	pk_u32(&p, 1);
	pk_u32(&p, 4);
	pk_u32(&p, 0x7fffffff);
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), MM_EPROTOCOL);
	assert_string_equal(c.msg, "the SFTP server sent a malformed reply (truncated)");
}

static void
test_decode_hostile(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct sftp_reply rep;
	struct pk p = { .n = 0 };

	(void)state;
	/* A handle longer than the draft allows. */
	pk_u8(&p, SFTP_HANDLE);
	pk_u32(&p, 3);
	pk_u32(&p, 300);
	memset(p.b + p.n, 'h', 300);
	p.n += 300;
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), MM_EPROTOCOL);
	assert_string_equal(c.msg, "the SFTP server sent a malformed handle (empty or longer "
			    "than 256 bytes)");
	/* An empty handle. */
	p.n = 0;
	pk_u8(&p, SFTP_HANDLE);
	pk_u32(&p, 3);
	pk_u32(&p, 0);
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), MM_EPROTOCOL);
	/* DATA claiming 4 GiB. */
	p.n = 0;
	pk_u8(&p, SFTP_DATA);
	pk_u32(&p, 9);
	pk_u32(&p, 0xffffffff);
	pk_str(&p, "abc");
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), MM_EPROTOCOL);
	/* A NAME list claiming more entries than its bytes can hold. */
	p.n = 0;
	pk_u8(&p, SFTP_NAME);
	pk_u32(&p, 9);
	pk_u32(&p, 0xffffffff);
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), MM_EPROTOCOL);
	assert_string_equal(c.msg, "the SFTP server sent a malformed name list (more entries "
			    "than its bytes can hold)");
	/* ATTRS with an extended count that cannot fit. */
	p.n = 0;
	pk_u8(&p, SFTP_ATTRS);
	pk_u32(&p, 9);
	pk_u32(&p, SFTP_ATTR_EXTENDED);
	pk_u32(&p, 0x10000000);
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), MM_EPROTOCOL);
	/* Unknown packet type, and trailing bytes. */
	p.n = 0;
	pk_u8(&p, 250);
	pk_u32(&p, 9);
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), MM_EPROTOCOL);
	assert_string_equal(c.msg, "the SFTP server sent a packet of unknown type 250");
	p.n = 0;
	pk_u8(&p, SFTP_STATUS);
	pk_u32(&p, 9);
	pk_u32(&p, 0);
	pk_str(&p, "");
	pk_str(&p, "");
	pk_u8(&p, 0);
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), MM_EPROTOCOL);
	assert_string_equal(c.msg, "the SFTP server sent a malformed reply (trailing bytes)");
	/* Empty body. */
	assert_int_equal(sftp_reply_decode(p.b, 0, &rep, &c), MM_EPROTOCOL);
}

/* Every truncation of a valid reply fails cleanly (ASan watches reads). */
static void
test_decode_truncated(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct sftp_reply rep;
	struct pk v[5];
	int nv = 0;

	(void)state;
	memset(v, 0, sizeof(v));
	pk_u8(&v[nv], SFTP_ATTRS);
	pk_u32(&v[nv], 5);
	pk_u32(&v[nv], SFTP_ATTR_SIZE | SFTP_ATTR_UIDGID | SFTP_ATTR_PERMISSIONS |
	       SFTP_ATTR_ACMODTIME | SFTP_ATTR_EXTENDED);
	pk_u64(&v[nv], 123);
	pk_u32(&v[nv], 1);
	pk_u32(&v[nv], 2);
	pk_u32(&v[nv], 0100600);
	pk_u32(&v[nv], 10);
	pk_u32(&v[nv], 11);
	pk_u32(&v[nv], 1);
	pk_str(&v[nv], "k");
	pk_str(&v[nv], "v");
	nv++;
	pk_u8(&v[nv], SFTP_DATA);
	pk_u32(&v[nv], 6);
	pk_str(&v[nv], "payload");
	nv++;
	pk_u8(&v[nv], SFTP_HANDLE);
	pk_u32(&v[nv], 7);
	pk_str(&v[nv], "h1");
	nv++;
	pk_u8(&v[nv], SFTP_VERSION);
	pk_u32(&v[nv], 3);
	pk_str(&v[nv], "posix-rename@openssh.com");
	pk_str(&v[nv], "1");
	nv++;
	for (int i = 0; i < nv; i++) {
		assert_int_equal(sftp_reply_decode(v[i].b, v[i].n, &rep, &c), 0);
		for (size_t cut = 0; cut < v[i].n; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);
			int r;

			assert_non_null(copy);
			memcpy(copy, v[i].b, cut);
			r = sftp_reply_decode(copy, cut, &rep, &c);
			/* A VERSION cut between extensions is still whole. */
			if (!(i == 3 && (cut == 5 || cut == v[i].n)))
				assert_int_equal(r, MM_EPROTOCOL);
			free(copy);
		}
	}
	assert_int_equal(sftp_reply_decode(v[0].b, v[0].n, &rep, &c), 0);
	assert_int_equal(rep.attrs.size, 123);
	assert_int_equal(rep.attrs.perm, 0100600);
	assert_int_equal(rep.attrs.mtime, 11);
}

static void
test_decode_version_names(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct sftp_reply rep;
	struct sftp_names it;
	struct sftp_name e;
	struct pk p = { .n = 0 };

	(void)state;
	pk_u8(&p, SFTP_VERSION);
	pk_u32(&p, 3);
	pk_str(&p, "posix-rename@openssh.com");
	pk_str(&p, "1");
	pk_str(&p, "statvfs@openssh.com");
	pk_str(&p, "2");
	pk_str(&p, "fsync@openssh.com");
	pk_str(&p, "1");
	pk_str(&p, "unknown@example.org");
	pk_str(&p, "");
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), 0);
	assert_int_equal(rep.version, 3);
	assert_int_equal(rep.ext, SFTP_EXT_POSIX_RENAME | SFTP_EXT_FSYNC | SFTP_EXT_STATVFS);

	p.n = 0;
	pk_u8(&p, SFTP_NAME);
	pk_u32(&p, 4);
	pk_u32(&p, 2);
	pk_str(&p, "ab");
	pk_str(&p, "drwx------ ab");
	pk_u32(&p, SFTP_ATTR_PERMISSIONS);
	pk_u32(&p, 040700);
	pk_str(&p, "file");
	pk_str(&p, "");
	pk_u32(&p, SFTP_ATTR_SIZE);
	pk_u64(&p, 99);
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), 0);
	assert_int_equal(rep.count, 2);
	sftp_names_init(&it, &rep);
	assert_int_equal(sftp_names_next(&it, &e, &c), 1);
	assert_int_equal(e.name_len, 2);
	assert_memory_equal(e.name, "ab", 2);
	assert_int_equal(e.attrs.perm, 040700);
	assert_int_equal(sftp_names_next(&it, &e, &c), 1);
	assert_memory_equal(e.name, "file", 4);
	assert_int_equal(e.attrs.size, 99);
	assert_int_equal(sftp_names_next(&it, &e, &c), 0);

	/* The count says three, the bytes hold two. */
	p.b[8] = 3;
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), 0);
	sftp_names_init(&it, &rep);
	assert_int_equal(sftp_names_next(&it, &e, &c), 1);
	assert_int_equal(sftp_names_next(&it, &e, &c), 1);
	assert_int_equal(sftp_names_next(&it, &e, &c), MM_EPROTOCOL);
	assert_string_equal(c.msg, "the SFTP server sent a malformed name list (truncated)");
	/* The count says one, the bytes hold two. */
	p.b[8] = 1;
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), 0);
	sftp_names_init(&it, &rep);
	assert_int_equal(sftp_names_next(&it, &e, &c), 1);
	assert_int_equal(sftp_names_next(&it, &e, &c), MM_EPROTOCOL);
}

static void
test_statvfs(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct sftp_reply rep;
	struct sftp_statvfs v;
	struct pk p = { .n = 0 };

	(void)state;
	pk_u8(&p, SFTP_EXTENDED_REPLY);
	pk_u32(&p, 8);
	pk_u64(&p, 4096);
	pk_u64(&p, 4096);
	pk_u64(&p, 1000);
	pk_u64(&p, 10);
	pk_u64(&p, 5);
	for (int i = 0; i < 6; i++)
		pk_u64(&p, 0);
	assert_int_equal(sftp_reply_decode(p.b, p.n, &rep, &c), 0);
	assert_int_equal(sftp_statvfs_decode(&rep, &v, &c), 0);
	assert_int_equal(v.frsize, 4096);
	assert_int_equal(v.bavail, 5);
	rep.data_len = 20; /* truncated */
	assert_int_equal(sftp_statvfs_decode(&rep, &v, &c), MM_EPROTOCOL);
}

static void
test_location(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct sftp_location l;

	(void)state;
	assert_int_equal(sftp_location_parse("backup@nas.example.jp:/srv/repo/", &l, &c), 0);
	assert_string_equal(l.user, "backup");
	assert_string_equal(l.host, "nas.example.jp");
	assert_string_equal(l.path, "/srv/repo");
	assert_int_equal(l.port, 0);
	sftp_location_release(&l);

	assert_int_equal(sftp_location_parse("nas:repo", &l, &c), 0);
	assert_null(l.user);
	assert_string_equal(l.host, "nas");
	assert_string_equal(l.path, "repo");
	sftp_location_release(&l);

	assert_int_equal(sftp_location_parse("//u@10.0.0.5:2222/srv/r", &l, &c), 0);
	assert_string_equal(l.user, "u");
	assert_string_equal(l.host, "10.0.0.5");
	assert_int_equal(l.port, 2222);
	assert_string_equal(l.path, "/srv/r");
	sftp_location_release(&l);

	assert_int_equal(sftp_location_parse("//[::1]:22/r", &l, &c), 0);
	assert_string_equal(l.host, "::1");
	assert_int_equal(l.port, 22);
	sftp_location_release(&l);

	assert_int_equal(sftp_location_parse("[fe80::1]:/r", &l, &c), 0);
	assert_string_equal(l.host, "fe80::1");
	assert_string_equal(l.path, "/r");
	sftp_location_release(&l);

	assert_int_equal(sftp_location_parse("//host/a", &l, &c), 0);
	assert_string_equal(l.host, "host");
	assert_int_equal(l.port, 0);
	assert_string_equal(l.path, "/a");
	sftp_location_release(&l);

	/* Refused: no path, option injection, bad ports, control bytes. */
	assert_int_equal(sftp_location_parse("host", &l, &c), MM_EINVAL);
	assert_string_equal(c.msg, "sftp: 'host' names no folder: write sftp:[USER@]HOST:/PATH");
	assert_int_equal(sftp_location_parse("host:", &l, &c), MM_EINVAL);
	assert_int_equal(sftp_location_parse("-oProxyCommand=x:/r", &l, &c), MM_EINVAL);
	assert_int_equal(sftp_location_parse("-l@h:/r", &l, &c), MM_EINVAL);
	assert_int_equal(sftp_location_parse("//h:0/r", &l, &c), MM_EINVAL);
	assert_int_equal(sftp_location_parse("//h:65536/r", &l, &c), MM_EINVAL);
	assert_int_equal(sftp_location_parse("//h:22", &l, &c), MM_EINVAL);
	assert_int_equal(sftp_location_parse("//h/", &l, &c), MM_EINVAL);
	assert_int_equal(sftp_location_parse("h o:/r", &l, &c), MM_EINVAL);
	assert_int_equal(sftp_location_parse("h:/r\n", &l, &c), MM_EINVAL);
	assert_int_equal(sftp_location_parse("[::1:/r", &l, &c), MM_EINVAL);
	assert_int_equal(sftp_location_parse(":/r", &l, &c), MM_EINVAL);
}

static void
test_diagnose(void **state)
{
	static const struct { const char *err; int code; const char *why; } cases[] = {
		{ "ssh: Could not resolve hostname nosuch.invalid: Name or service not known\r\n",
		  MM_ERESOLVE, "ssh: Could not resolve hostname nosuch.invalid: Name or service not known" },
		{ "ssh: connect to host 127.0.0.1 port 9: Connection refused\n", MM_ECONNREFUSED,
		  "ssh: connect to host 127.0.0.1 port 9: Connection refused" },
		{ "Connection timed out during banner exchange\nConnection to 127.0.0.1 port 5 timed out\n",
		  MM_ETIMEDOUT, "Connection to 127.0.0.1 port 5 timed out" },
		{ "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict "
		  "checking.\nHost key verification failed.\n", MM_EHOSTKEY,
		  "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict "
		  "checking." },
		{ "@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@\n"
		  "Host key verification failed.\n", MM_EHOSTKEY,
		  "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @" },
		{ "nobody@127.0.0.1: Permission denied (publickey).\n", MM_EDENIED,
		  "nobody@127.0.0.1: Permission denied (publickey)." },
		{ "subsystem request failed on channel 0\n", MM_EREMOTE,
		  "subsystem request failed on channel 0" },
		{ "Timeout, server 127.0.0.1 not responding.\n", MM_ECONNLOST,
		  "Timeout, server 127.0.0.1 not responding." },
		{ "Connection closed by 127.0.0.1 port 2222\n\n", MM_ECONNLOST,
		  "Connection closed by 127.0.0.1 port 2222" },
		{ "", MM_ECONNLOST, "" },
	};
	char why[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sftp_ssh_diagnose(cases[i].err, strlen(cases[i].err), why,
						   sizeof(why)), cases[i].code);
		assert_string_equal(why, cases[i].why);
	}
	/* A tiny buffer is never overrun. */
	assert_int_equal(sftp_ssh_diagnose(cases[0].err, strlen(cases[0].err), why, 4), MM_ERESOLVE);
	assert_string_equal(why, "ssh");
}

static void
test_options(void **state)
{
	struct mm_ctx c = MM_CTX_INIT;
	char kv[32];

	(void)state;
	assert_null(backend_option_get("sftp.args"));
	assert_int_equal(backend_option_set("sftp.args=-F /x y", &c), 0);
	assert_int_equal(backend_option_set("sftp.timeout=5", &c), 0);
	assert_int_equal(backend_option_set("sftp.args=-v", &c), 0);
	assert_string_equal(backend_option_get("sftp.args"), "-v");
	assert_string_equal(backend_option_get("sftp.timeout"), "5");
	assert_int_equal(backend_option_set("novalue", &c), MM_EINVAL);
	assert_int_equal(backend_option_set("=x", &c), MM_EINVAL);
	for (int i = 2; i < BACKEND_OPTIONS_MAX; i++) {
		snprintf(kv, sizeof(kv), "k%d=v", i);
		assert_int_equal(backend_option_set(kv, &c), 0);
	}
	assert_int_equal(backend_option_set("one.more=v", &c), MM_ELIMIT);
	backend_options_clear();
	assert_null(backend_option_get("sftp.timeout"));

	/* Options are checked when an sftp backend opens. */
	{
		struct backend *be = NULL;

		assert_int_equal(backend_option_set("sftp.timeout=0", &c), 0);
		assert_int_equal(backend_open("sftp:h:/r", &be, &c), MM_EINVAL);
		assert_string_equal(c.msg, "-o sftp.timeout=0: give a whole number from 1 to 3600");
		backend_options_clear();
		assert_int_equal(backend_open("sftp:-x:/r", &be, &c), MM_EINVAL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_exact),
		cmocka_unit_test(test_frame_len),
		cmocka_unit_test(test_decode_status),
		cmocka_unit_test(test_decode_hostile),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_version_names),
		cmocka_unit_test(test_statvfs),
		cmocka_unit_test(test_location),
		cmocka_unit_test(test_diagnose),
		cmocka_unit_test(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
