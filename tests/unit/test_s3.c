/*
 * s3 backend against a scripted HTTP server on 127.0.0.1 (a thread of this
 * test): what is sent (signature scope, x-amz-content-sha256, ranges,
 * canonical list queries), and how each failure is retried, timed out and
 * explained. The real store (Ceph RGW) is in tests/cli/s3.bats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "crypto/crypto.h"

#define NAME_A "ab00000000000000000000000000000000000000000000000000000000000001"
#define NAME_B "cd00000000000000000000000000000000000000000000000000000000000002"

enum mode { ANSWER = 0, HANG, CUT };

struct reply {
	enum mode mode;
	int status;
	const char *headers; /* extra lines, each ending in \r\n */
	const char *body;
	int date_offset;     /* seconds added to the Date header */
};

struct seen {
	char method[8];
	char target[1024];
	char sha[80];    /* x-amz-content-sha256 */
	char auth[600];
	char range[64];
	char host[128];
	char body_sha[65];
	size_t body_len;
};

#define SCRIPT_MAX 16
static struct {
	int lfd;
	int port;
	pthread_t th;
	pthread_mutex_t mu;
	struct reply script[SCRIPT_MAX];
	size_t nscript, next;
	struct seen seen[SCRIPT_MAX];
	size_t nseen;
	int hung[SCRIPT_MAX];
	size_t nhung;
	int stop;
} srv;

static void
header_value(const char *hdrs, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	out[0] = '\0';
	for (const char *l = hdrs; l != NULL && *l != '\0';) {
		const char *e = strstr(l, "\r\n");
		if (e == NULL)
			break;
		if ((size_t)(e - l) > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			const char *v = l + nl + 1;
			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(e - v), v);
			return;
		}
		l = e + 2;
	}
}

static void
serve_one(int fd)
{
	static char req[1 << 16];
	size_t n = 0, body_len = 0;
	char *end, cl[32], expect[32], date[64], resp[4096];
	struct reply rp = { .mode = ANSWER, .status = 500 };
	struct seen *s = NULL;
	struct sha256_ctx *h;
	uint8_t sum[32];
	time_t now;
	ssize_t k;

	while ((end = memmem(req, n, "\r\n\r\n", 4)) == NULL) {
		if (n == sizeof(req) - 1 || (k = read(fd, req + n, sizeof(req) - 1 - n)) <= 0)
			return;
		n += (size_t)k;
	}
	end[2] = '\0'; /* the header block keeps its last \r\n */
	pthread_mutex_lock(&srv.mu);
	if (srv.next < srv.nscript)
		rp = srv.script[srv.next++];
	if (srv.nseen < SCRIPT_MAX)
		s = &srv.seen[srv.nseen++];
	pthread_mutex_unlock(&srv.mu);
	header_value(strstr(req, "\r\n") + 2, "Content-Length", cl, sizeof(cl));
	header_value(strstr(req, "\r\n") + 2, "Expect", expect, sizeof(expect));
	body_len = cl[0] ? strtoul(cl, NULL, 10) : 0;
	if (s != NULL) {
		const char *hd = strstr(req, "\r\n") + 2;
		sscanf(req, "%7s %1023s", s->method, s->target);
		/* header_value wants the block to end with \r\n */
		header_value(hd, "x-amz-content-sha256", s->sha, sizeof(s->sha));
		header_value(hd, "Authorization", s->auth, sizeof(s->auth));
		header_value(hd, "Range", s->range, sizeof(s->range));
		header_value(hd, "Host", s->host, sizeof(s->host));
	}
	if (rp.mode == HANG) {
		pthread_mutex_lock(&srv.mu);
		srv.hung[srv.nhung++] = fd; /* closed at teardown */
		pthread_mutex_unlock(&srv.mu);
		return;
	}
	if (strncasecmp(expect, "100-continue", 12) == 0 &&
	    write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 25)
		return;
	h = crypto_sha256_new();
	{
		size_t have = n - (size_t)(end + 4 - req), got = 0;
		if (have > body_len)
			have = body_len;
		crypto_sha256_update(h, end + 4, have);
		got = have;
		while (got < body_len && (k = read(fd, req, sizeof(req))) > 0) {
			crypto_sha256_update(h, req, (size_t)k);
			got += (size_t)k;
		}
	}
	crypto_sha256_final(h, sum);
	if (s != NULL) {
		hex_encode(sum, 32, s->body_sha);
		s->body_len = body_len;
	}
	if (rp.mode == CUT) {
		close(fd);
		return;
	}
	now = time(NULL) + rp.date_offset;
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime(&now));
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 %d X\r\nDate: %s\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
		 rp.status, date, rp.headers ? rp.headers : "", rp.body ? strlen(rp.body) : 0,
		 rp.body && strcmp(s ? s->method : "", "HEAD") != 0 ? rp.body : "");
	if (write(fd, resp, strlen(resp)) < 0)
		return;
	close(fd);
}

static void *
server(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(srv.lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_mutex_lock(&srv.mu);
		int stop = srv.stop;
		pthread_mutex_unlock(&srv.mu);
		if (stop) {
			close(fd);
			return NULL;
		}
		serve_one(fd);
	}
}

static int
setup(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	(void)state;
	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.mu, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(srv.lfd >= 0);
	assert_int_equal(bind(srv.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(srv.lfd, 16), 0);
	assert_int_equal(getsockname(srv.lfd, (struct sockaddr *)&a, &al), 0);
	srv.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&srv.th, NULL, server, NULL), 0);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
	unsetenv("AWS_REGION");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("MAMORI_S3_RETRIES", "2", 1);
	setenv("MAMORI_S3_RETRY_DELAY", "0.01", 1);
	setenv("MAMORI_S3_TIMEOUT", "30", 1);
	unsetenv("MAMORI_S3_BUCKET_LOOKUP");
	return 0;
}

static int
teardown(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd;

	(void)state;
	pthread_mutex_lock(&srv.mu);
	srv.stop = 1;
	pthread_mutex_unlock(&srv.mu);
	/* Wake accept with one last connection. */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)srv.port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	(void)connect(fd, (struct sockaddr *)&a, sizeof(a));
	pthread_join(srv.th, NULL);
	close(fd);
	close(srv.lfd);
	for (size_t i = 0; i < srv.nhung; i++)
		close(srv.hung[i]);
	pthread_mutex_destroy(&srv.mu);
	return 0;
}

static void
script(const struct reply *r, size_t n)
{
	pthread_mutex_lock(&srv.mu);
	memcpy(srv.script, r, n * sizeof(*r));
	srv.nscript = n;
	srv.next = 0;
	srv.nseen = 0;
	pthread_mutex_unlock(&srv.mu);
}

static struct backend *
open_be(const char *path)
{
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = NULL;
	char loc[256];

	snprintf(loc, sizeof(loc), "s3:http://127.0.0.1:%d%s", srv.port, path);
	assert_int_equal(backend_open(loc, &be, &c), 0);
	return be;
}

static void
test_put_signed_with_body_hash(void **state)
{
	static const struct reply r[] = { { .status = 200 } };
	static const char body[] = "a key file";
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = open_be("/bkt/some/prefix/");
	char want[65], date[16];
	uint8_t sum[32];
	time_t now = time(NULL);

	(void)state;
	script(r, 1);
	assert_int_equal(backend_write(be, OBJ_KEY, NAME_A, body, sizeof(body) - 1, &c), 0);
	assert_int_equal(srv.nseen, 1);
	assert_string_equal(srv.seen[0].method, "PUT");
	assert_string_equal(srv.seen[0].target, "/bkt/some/prefix/keys/" NAME_A);
	crypto_sha256(body, sizeof(body) - 1, sum);
	hex_encode(sum, 32, want);
	/* Sent, signed, and the hash of what arrived. */
	assert_string_equal(srv.seen[0].sha, want);
	assert_string_equal(srv.seen[0].body_sha, want);
	strftime(date, sizeof(date), "%Y%m%d", gmtime(&now));
	assert_non_null(strstr(srv.seen[0].auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
	assert_non_null(strstr(srv.seen[0].auth, "/eu-west-3/s3/aws4_request"));
	assert_non_null(strstr(srv.seen[0].auth, "x-amz-content-sha256"));
	assert_non_null(strstr(srv.seen[0].auth, "Signature="));
	backend_free(be);
}

static void
test_retry_until_success(void **state)
{
	static const struct reply r[] = {
		{ .status = 503, .body = "<Error><Code>SlowDown</Code></Error>" },
		{ .mode = CUT },
		{ .status = 200 },
	};
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = open_be("/bkt");

	(void)state;
	script(r, 3);
	assert_int_equal(backend_write(be, OBJ_INDEX, NAME_A, "x", 1, &c), 0);
	assert_int_equal(srv.nseen, 3);
	assert_string_equal(srv.seen[2].target, "/bkt/index/" NAME_A);
	backend_free(be);
}

static void
test_retries_exhausted(void **state)
{
	static const struct reply r[] = {
		{ .status = 500, .body = "<Error><Code>InternalError</Code><Message>disk</Message></Error>" },
		{ .status = 502 },
		{ .status = 503, .body = "<Error><Code>ServiceUnavailable</Code><Message>busy"
					 "</Message></Error>" },
		{ .status = 200 },
	};
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = open_be("/bkt");

	(void)state;
	script(r, 4);
	assert_int_equal(backend_write(be, OBJ_INDEX, NAME_A, "x", 1, &c), MM_EREMOTE);
	assert_int_equal(srv.nseen, 3); /* 1 + MAMORI_S3_RETRIES */
	assert_string_equal(c.msg, "PUT index/" NAME_A ": the store answered HTTP 503 "
			    "ServiceUnavailable: busy (gave up after 3 attempts)");
	backend_free(be);
}

static void
test_timeout(void **state)
{
	static const struct reply r[] = { { .mode = HANG } };
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be;
	uint64_t size;

	(void)state;
	setenv("MAMORI_S3_RETRIES", "0", 1);
	setenv("MAMORI_S3_TIMEOUT", "1", 1);
	be = open_be("/bkt");
	script(r, 1);
	assert_int_equal(backend_stat(be, OBJ_KEY, NAME_A, &size, &c), MM_ETIMEDOUT);
	assert_string_equal(c.msg, "HEAD keys/" NAME_A ": 127.0.0.1 accepted the connection "
			    "but sent nothing for 1 s (s3.timeout): the gateway hangs or "
			    "a proxy holds the request");
	backend_free(be);
}

static void
test_refusals_explained(void **state)
{
	static const struct reply sig[] = {
		{ .status = 403, .body = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch"
					 "</Code></Error>" } };
	static const struct reply skew[] = {
		{ .status = 403, .date_offset = 1200,
		  .body = "<Error><Code>RequestTimeTooSkewed</Code></Error>" } };
	static const struct reply nob[] = {
		{ .status = 404, .body = "<Error><Code>NoSuchBucket</Code></Error>" } };
	static const struct reply full[] = {
		{ .status = 507, .body = "<Error><Code>InsufficientCapacity</Code></Error>" } };
	static const struct reply denied[] = {
		{ .status = 403, .body = "<Error><Code>AccessDenied</Code></Error>" } };
	static const struct reply head404[] = { { .status = 404 }, { .status = 404 } };
	static const struct reply head403[] = {
		{ .status = 403 },
		{ .status = 403, .body = "<Error><Code>SignatureDoesNotMatch</Code></Error>" } };
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = open_be("/bkt");
	struct buf b = BUF_INIT;
	uint64_t size;

	(void)state;
	script(sig, 1);
	assert_int_equal(backend_read(be, OBJ_CONFIG, NULL, 0, 0, &b, &c), MM_ESIGNATURE);
	assert_string_equal(c.msg, "GET config: signature rejected: the secret key does not match "
			    "access key AKIDEXAMPLE (from AWS_ACCESS_KEY_ID and "
			    "AWS_SECRET_ACCESS_KEY); check AWS_SECRET_ACCESS_KEY");
	script(skew, 1);
	assert_int_equal(backend_read(be, OBJ_CONFIG, NULL, 0, 0, &b, &c), MM_ESKEW);
	/* Date is whole seconds: 1200 s, or 1199 when a second turned in between. */
	assert_true(strstr(c.msg, "the local clock is 20 min 0 s behind the store's") != NULL ||
		    strstr(c.msg, "the local clock is 19 min 59 s behind the store's") != NULL);
	script(nob, 1);
	assert_int_equal(backend_read(be, OBJ_CONFIG, NULL, 0, 0, &b, &c), MM_ENOBUCKET);
	assert_string_equal(c.msg, "GET config: bucket 'bkt' does not exist on 127.0.0.1; create "
			    "it (mamori init does when the key may) or correct the location");
	script(full, 1);
	assert_int_equal(backend_write(be, OBJ_INDEX, NAME_A, "x", 1, &c), MM_EREMOTEFULL);
	script(denied, 1);
	assert_int_equal(backend_write(be, OBJ_INDEX, NAME_A, "x", 1, &c), MM_EDENIED);
	/* A HEAD 404 says nothing of the bucket: it is asked for. */
	script(head404, 2);
	assert_int_equal(backend_stat(be, OBJ_KEY, NAME_A, &size, &c), MM_ENOBUCKET);
	assert_string_equal(srv.seen[1].method, "HEAD");
	assert_string_equal(srv.seen[1].target, "/bkt");
	/* A HEAD 403 says nothing of why: a GET of one byte is asked. */
	script(head403, 2);
	assert_int_equal(backend_stat(be, OBJ_KEY, NAME_A, &size, &c), MM_ESIGNATURE);
	assert_string_equal(srv.seen[1].method, "GET");
	assert_string_equal(srv.seen[1].range, "bytes=0-0");
	assert_int_equal(b.len, 0);
	buf_release(&b);
	backend_free(be);
}

static void
test_ranged_read(void **state)
{
	static const struct reply r[] = {
		{ .status = 206, .body = "0123456789" },
		{ .status = 200, .body = "abcdefghijklmnopqrstuvwxyz" }, /* Range ignored */
		{ .status = 416, .body = "<Error><Code>InvalidRange</Code></Error>" },
	};
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = open_be("/bkt/p");
	struct buf b = BUF_INIT;

	(void)state;
	script(r, 3);
	assert_int_equal(backend_read(be, OBJ_INDEX, NAME_A, 10, 10, &b, &c), 0);
	assert_string_equal(srv.seen[0].target, "/bkt/p/index/" NAME_A);
	assert_string_equal(srv.seen[0].range, "bytes=10-19");
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "0123456789", 10);
	b.len = 0;
	assert_int_equal(backend_read(be, OBJ_INDEX, NAME_A, 3, 4, &b, &c), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "defg", 4);
	assert_int_equal(backend_read(be, OBJ_INDEX, NAME_A, 100, 4, &b, &c), MM_ECORRUPT);
	assert_int_equal(b.len, 4);
	buf_release(&b);
	backend_free(be);
}

static void
test_pack_read_ahead(void **state)
{
	/* The pack is 26 bytes: a window request gets all of it. */
	static const struct reply r[] = {
		{ .status = 206, .body = "abcdefghijklmnopqrstuvwxyz" },
		{ .status = 206, .body = "ABCDEFGHIJ" },
	};
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = open_be("/bkt");
	struct buf b = BUF_INIT;

	(void)state;
	script(r, 2);
	assert_int_equal(backend_read(be, OBJ_PACK, NAME_A, 3, 4, &b, &c), 0);
	assert_string_equal(srv.seen[0].target, "/bkt/data/ab/" NAME_A);
	assert_string_equal(srv.seen[0].range, "bytes=0-1048575");
	assert_memory_equal(b.data, "defg", 4);
	/* Later small reads inside the window need no request. */
	b.len = 0;
	assert_int_equal(backend_read(be, OBJ_PACK, NAME_A, 20, 6, &b, &c), 0);
	assert_memory_equal(b.data, "uvwxyz", 6);
	assert_int_equal(srv.nseen, 1);
	/* Past the end of what the window holds: the pack is shorter. */
	assert_int_equal(backend_read(be, OBJ_PACK, NAME_A, 24, 4, &b, &c), MM_ECORRUPT);
	assert_int_equal(srv.nseen, 2);
	/* Another pack is not served from this one's window. */
	b.len = 0;
	script(r + 1, 1);
	assert_int_equal(backend_read(be, OBJ_PACK, NAME_B, 0, 3, &b, &c), 0);
	assert_memory_equal(b.data, "ABC", 3);
	assert_string_equal(srv.seen[0].target, "/bkt/data/cd/" NAME_B);
	buf_release(&b);
	backend_free(be);
}

struct got {
	char names[8][65];
	uint64_t sizes[8];
	int n;
};

static int
collect(const char *name, uint64_t size, void *arg)
{
	struct got *g = arg;

	if (g->n < 8) {
		snprintf(g->names[g->n], 65, "%s", name);
		g->sizes[g->n++] = size;
	}
	return 0;
}

static void
test_list_pages(void **state)
{
	static const struct reply r[] = {
		{ .status = 200,
		  .body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			  "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			  "<IsTruncated>true</IsTruncated>"
			  "<NextContinuationToken>1/a+b=</NextContinuationToken>"
			  "<Contents><Key>p/q/data/ab/" NAME_A "</Key><Size>17</Size></Contents>"
			  "<Contents><Key>p/q/data/cd/" NAME_A "</Key><Size>1</Size></Contents>"
			  "<Contents><Key>p/q/data/ab/x</Key><Size>1</Size></Contents>"
			  "</ListBucketResult>" },
		{ .status = 200,
		  .body = "<ListBucketResult><IsTruncated>false</IsTruncated>"
			  "<Contents><Key>p/q/data/cd/" NAME_B "</Key><Size>18446744073709551614"
			  "</Size></Contents></ListBucketResult>" },
	};
	static const struct reply bad[] = {
		{ .status = 200, .body = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult>&a;"
					 "</ListBucketResult>" },
	};
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = open_be("/bkt/p/q");
	struct got g = { 0 };

	(void)state;
	script(r, 2);
	assert_int_equal(backend_list(be, OBJ_PACK, collect, &g, &c), 0);
	assert_int_equal(g.n, 2); /* misplaced and foreign keys are not reported */
	assert_string_equal(g.names[0], NAME_A);
	assert_int_equal(g.sizes[0], 17);
	assert_string_equal(g.names[1], NAME_B);
	assert_int_equal(g.sizes[1], 18446744073709551614ull);
	/* Canonical queries: sorted, every reserved byte encoded. */
	assert_string_equal(srv.seen[0].target, "/bkt?list-type=2&max-keys=1000&prefix=p%2Fq%2Fdata%2F");
	assert_string_equal(srv.seen[1].target, "/bkt?continuation-token=1%2Fa%2Bb%3D&"
			    "list-type=2&max-keys=1000&prefix=p%2Fq%2Fdata%2F");
	script(bad, 1);
	assert_int_equal(backend_list(be, OBJ_PACK, collect, &g, &c), MM_ECORRUPT);
	backend_free(be);
}

static void
test_credentials_from_files(void **state)
{
	static const struct reply r[] = { { .status = 200 } };
	char dir[] = "/tmp/mm-s3-XXXXXX", cred[64], conf[64];
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cred, sizeof(cred), "%s/credentials", dir);
	snprintf(conf, sizeof(conf), "%s/config", dir);
	assert_non_null(f = fopen(cred, "w"));
	fputs("[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = s1\n"
	      "[backup]\naws_access_key_id = BACKUPKEY\naws_secret_access_key = s2\n", f);
	fclose(f);
	assert_non_null(f = fopen(conf, "w"));
	fputs("[default]\nregion = us-west-2\n[profile backup]\nregion = ap-northeast-1\n", f);
	fclose(f);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_DEFAULT_REGION");
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
	setenv("AWS_CONFIG_FILE", conf, 1);
	setenv("AWS_PROFILE", "backup", 1);
	be = open_be("/bkt");
	script(r, 1);
	assert_int_equal(backend_write(be, OBJ_INDEX, NAME_A, "x", 1, &c), 0);
	assert_non_null(strstr(srv.seen[0].auth, "Credential=BACKUPKEY/"));
	assert_non_null(strstr(srv.seen[0].auth, "/ap-northeast-1/s3/aws4_request"));
	backend_free(be);
	/* AWS_REGION wins over the file; the default profile without AWS_PROFILE. */
	unsetenv("AWS_PROFILE");
	setenv("AWS_REGION", "eu-central-1", 1);
	be = open_be("/bkt");
	script(r, 1);
	assert_int_equal(backend_write(be, OBJ_INDEX, NAME_A, "x", 1, &c), 0);
	assert_non_null(strstr(srv.seen[0].auth, "Credential=DEFAULTKEY/"));
	assert_non_null(strstr(srv.seen[0].auth, "/eu-central-1/s3/aws4_request"));
	backend_free(be);
	/* No credentials anywhere: said so. */
	setenv("AWS_PROFILE", "nobody", 1);
	assert_int_equal(backend_open("s3:http://127.0.0.1:1/bkt", &be, &c), MM_EINVAL);
	assert_non_null(strstr(c.msg, "no S3 credentials"));
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
	unlink(cred);
	unlink(conf);
	rmdir(dir);
}

static void
test_bad_locations(void **state)
{
	static const char *const bad[] = {
		"s3:ftp://h/b", "s3:http://h", "s3:http://h/", "s3:http://h:0/b", "s3:http://h:99999/b",
		"s3:http://user:pw@h/b", "s3:http://h/b/../x", "s3:http://h/bad*bucket",
		"s3:http://h/b/a?x",
	};
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(backend_open(bad[i], &be, &c), MM_EINVAL);
	setenv("MAMORI_S3_BUCKET_LOOKUP", "dns", 1);
	assert_int_equal(backend_open("s3:http://127.0.0.1/b", &be, &c), MM_EINVAL);
	setenv("MAMORI_S3_BUCKET_LOOKUP", "sometimes", 1);
	assert_int_equal(backend_open("s3:http://h/b", &be, &c), MM_EINVAL);
	assert_string_equal(c.msg, "s3.bucket-lookup (MAMORI_S3_BUCKET_LOOKUP) 'sometimes': write "
			    "auto, path or dns");
	unsetenv("MAMORI_S3_BUCKET_LOOKUP");
	setenv("MAMORI_S3_TIMEOUT", "0", 1);
	assert_int_equal(backend_open("s3:http://h/b", &be, &c), MM_EINVAL);
	/* -o wins over the environment. */
	assert_int_equal(backend_option_set("s3.timeout=5", &c), 0);
	assert_int_equal(backend_open("s3:http://h/b", &be, &c), 0);
	backend_free(be);
	assert_int_equal(backend_option_set("s3.retries=x", &c), 0);
	assert_int_equal(backend_open("s3:http://h/b", &be, &c), MM_EINVAL);
	assert_string_equal(c.msg, "s3.retries (MAMORI_S3_RETRIES) 'x': write a number from 0 to 100");
	backend_options_clear();
}

static void
test_virtual_host(void **state)
{
	static const struct reply r[] = { { .status = 200 } };
	struct mm_ctx c = MM_CTX_INIT;
	struct backend *be = NULL;
	char loc[128], host[64];

	(void)state;
	/* curl answers *.localhost with the loopback address itself. */
	setenv("MAMORI_S3_BUCKET_LOOKUP", "dns", 1);
	snprintf(loc, sizeof(loc), "s3:http://localhost:%d/bkt/pre", srv.port);
	assert_int_equal(backend_open(loc, &be, &c), 0);
	script(r, 1);
	assert_int_equal(backend_write(be, OBJ_INDEX, NAME_A, "x", 1, &c), 0);
	snprintf(host, sizeof(host), "bkt.localhost:%d", srv.port);
	assert_string_equal(srv.seen[0].host, host);
	assert_string_equal(srv.seen[0].target, "/pre/index/" NAME_A);
	backend_free(be);
	unsetenv("MAMORI_S3_BUCKET_LOOKUP");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_signed_with_body_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_until_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_explained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ranged_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_read_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials_from_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_locations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtual_host, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
