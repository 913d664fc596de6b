/*
 * s3_http: one S3 request over libcurl, signed by libcurl (CURLOPT_AWS_SIGV4)
 * with the body's SHA-256 in x-amz-content-sha256; bounded timeouts,
 * retries with exponential backoff and jitter for what can pass, and the
 * verdict on a failure in words an administrator can act on.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend/backend.h"
#include "backend/s3_internal.h"
#include "crypto/crypto.h"

/* ---- one request ------------------------------------------------------ */


static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *q = arg;
	size_t n = size * nmemb, left = q->body_len - q->body_pos;

	if (n > left)
		n = left;
	if (n > 0)
		memcpy(dst, q->body + q->body_pos, n);
	q->body_pos += n;
	return n;
}

static int
seek_cb(void *arg, curl_off_t off, int origin)
{
	struct s3_req *q = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > q->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	q->body_pos = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static int
status_ok(long st)
{
	return st >= 200 && st < 300;
}

static size_t
header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *q = arg;
	size_t n = size * nmemb;
	char line[256];
	size_t l = n < sizeof(line) - 1 ? n : sizeof(line) - 1;

	memcpy(line, p, l);
	line[l] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) {
		const char *sp = strchr(line, ' ');
		q->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
		q->have_length = 0;
		/* A store that ignores Range sends the whole object. */
		q->skip = q->ranged && q->status == 200 ? q->off : 0;
		return n;
	}
	if (strncasecmp(line, "date:", 5) == 0) {
		time_t t = curl_getdate(line + 5, NULL);
		if (t > 0) {
			q->server_date = t;
			q->local_date = time(NULL);
		}
	} else if (strncasecmp(line, "content-length:", 15) == 0) {
		char *end;
		unsigned long long v = strtoull(line + 15, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end == '\0') {
			q->length = v;
			q->have_length = 1;
		}
	}
	return n;
}

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct s3_req *q = arg;
	size_t n = size * nmemb, take = n;

	if (!status_ok(q->status) || q->out == NULL) {
		size_t room = S3_ERRBODY_MAX - q->err.len;
		if (take > room)
			take = room;
		if (take > 0 && buf_append(&q->err, p, take) != 0)
			return 0;
		return n; /* the rest of a long error body is not needed */
	}
	if (q->skip > 0) {
		uint64_t s = q->skip < n ? q->skip : n;
		q->skip -= s;
		p += s;
		take -= (size_t)s;
	}
	if (q->ranged && q->len != 0 && q->got + take > q->len)
		take = (size_t)(q->len - q->got); /* a store that ignored Range */
	if (take > 0 && buf_append(q->out, p, take) != 0) {
		q->too_big = 1;
		return 0;
	}
	q->got += take;
	return n;
}

/* Percent-encode a key as S3 wants it in a path: unreserved bytes and '/'
 * stay, everything else is %XX. */
int
s3_append_encoded(struct buf *b, const char *s, int keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";
	int e = 0;

	for (; *s != '\0' && e == 0; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
			e = buf_append_u8(b, ch);
		} else {
			char t[3] = { '%', hexd[ch >> 4], hexd[ch & 15] };
			e = buf_append(b, t, 3);
		}
	}
	return e;
}

static int
build_url(struct s3_be *sb, const struct s3_req *q, struct buf *url)
{
	int e;

	if ((e = buf_append(url, sb->base, strlen(sb->base))) != 0 ||
	    (e = buf_append(url, sb->bucket_path, strlen(sb->bucket_path))) != 0)
		return e;
	if (q->key != NULL) {
		if ((e = buf_append_u8(url, '/')) != 0 ||
		    (e = s3_append_encoded(url, sb->cf.prefix, 1)) != 0 ||
		    (e = s3_append_encoded(url, q->key, 1)) != 0)
			return e;
	} else if (sb->bucket_path[0] == '\0' && (e = buf_append_u8(url, '/')) != 0) {
		return e;
	}
	if (q->query != NULL && ((e = buf_append_u8(url, '?')) != 0 ||
				 (e = buf_append(url, q->query, strlen(q->query))) != 0))
		return e;
	return buf_append_u8(url, '\0');
}

static CURL *
handle_take(struct s3_be *sb)
{
	CURL *h = NULL;

	pthread_mutex_lock(&sb->pool_mu);
	if (sb->npool > 0)
		h = sb->pool[--sb->npool];
	pthread_mutex_unlock(&sb->pool_mu);
	if (h == NULL)
		h = curl_easy_init();
	else
		curl_easy_reset(h);
	return h;
}

static void
handle_give(struct s3_be *sb, CURL *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&sb->pool_mu);
	if (sb->npool < S3_POOL_MAX) {
		sb->pool[sb->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&sb->pool_mu);
	if (h != NULL)
		curl_easy_cleanup(h);
}

/* "x-amz-checksum-sha256: BASE64" from the hex digest: 0, or -1. */
static int
checksum_header(const char *sha_hex, char *out, size_t n)
{
	struct buf b64 = BUF_INIT;
	uint8_t sha[32];
	int r = -1;

	if (strlen(sha_hex) == 64 && hex_decode(sha_hex, sha, sizeof(sha)) == 0 &&
	    crypto_base64_encode(sha, sizeof(sha), &b64) == 0)
		r = snprintf(out, n, "x-amz-checksum-sha256: %.*s", (int)b64.len,
			     (const char *)b64.data) < (int)n ? 0 : -1;
	buf_release(&b64);
	return r;
}

/* One attempt: 0 with q->status set (any HTTP answer), or a CURLcode. */
static CURLcode
perform(struct s3_be *sb, CURL *h, struct s3_req *q, const char *url, const char *sha_hex,
	long *os_errno, double *connect_time, char *errbuf)
{
	struct curl_slist *hd = NULL, *t;
	char line[2200], range[64];
	CURLcode cr;

	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", sha_hex);
	if ((hd = curl_slist_append(NULL, line)) == NULL)
		return CURLE_OUT_OF_MEMORY;
	/* The same digest as an integrity checksum: the store refuses a body
	 * that arrived different (BadDigest), and AWS asks for one on every PUT
	 * into a bucket with Object Lock retention. */
	if (strcmp(q->method, "PUT") == 0 && checksum_header(sha_hex, line, sizeof(line)) == 0) {
		if ((t = curl_slist_append(hd, line)) == NULL) {
			curl_slist_free_all(hd);
			return CURLE_OUT_OF_MEMORY;
		}
		hd = t;
	}
	if (sb->cf.token != NULL) {
		snprintf(line, sizeof(line), "x-amz-security-token: %s", sb->cf.token);
		if ((t = curl_slist_append(hd, line)) == NULL) {
			mm_wipe(line, sizeof(line));
			curl_slist_free_all(hd);
			return CURLE_OUT_OF_MEMORY;
		}
		hd = t;
	}
	mm_wipe(line, sizeof(line));
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_SHARE, sb->share);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mamori/" MAMORI_VERSION);
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sb->sigv4);
	curl_easy_setopt(h, CURLOPT_USERNAME, sb->cf.access_key);
	curl_easy_setopt(h, CURLOPT_PASSWORD, sb->cf.secret_key);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, sb->cf.connect_timeout_s);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, sb->cf.timeout_s);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (sb->cf.ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, sb->cf.ca_file);
	if (strcmp(q->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, q);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, q);
	} else if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	}
	if (q->ranged) {
		if (q->len != 0)
			snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)q->off,
				 (unsigned long long)(q->off + q->len - 1));
		else
			snprintf(range, sizeof(range), "%llu-", (unsigned long long)q->off);
		curl_easy_setopt(h, CURLOPT_RANGE, range);
	}
	errbuf[0] = '\0';
	cr = curl_easy_perform(h);
	*os_errno = 0;
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, os_errno);
	*connect_time = 0;
	curl_easy_getinfo(h, CURLINFO_CONNECT_TIME, connect_time);
	if (cr == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &q->status);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hd);
	return cr;
}

/* What an attempt's outcome means: the MM_E* code (0 for success), whether
 * another attempt may do better, and words for the administrator. */
struct verdict {
	int code;
	int retry;
	char msg[700];
};

static void
describe_skew(const struct s3_req *q, char *out, size_t n)
{
	long long d = (long long)q->local_date - (long long)q->server_date;
	long long a = d < 0 ? -d : d;

	if (q->server_date == 0) {
		snprintf(out, n, "the store says the request time is too far from its own clock "
			 "(it sent no Date to compare with): check this machine's clock "
			 "(mamori timesync, chronyc tracking)");
		return;
	}
	snprintf(out, n, "the local clock is %lld min %lld s %s the store's (its Date header "
		 "says %lld s %s): S3 refuses requests more than 15 minutes off; set this "
		 "machine's clock right (chronyc tracking, timedatectl)",
		 a / 60, a % 60, d < 0 ? "behind" : "ahead of", a, d < 0 ? "later" : "earlier");
}

static void
http_verdict(struct s3_be *sb, const struct s3_req *q, const char *what, struct verdict *v)
{
	const char *code = q->xe.code;
	char skew[400];
	long st = q->status;

	v->retry = 0;
	if (strcmp(code, "RequestTimeTooSkewed") == 0 || strcmp(code, "RequestExpired") == 0) {
		v->code = MM_ESKEW;
		describe_skew(q, skew, sizeof(skew));
		snprintf(v->msg, sizeof(v->msg), "%s: clock skew: %s", what, skew);
	} else if (strcmp(code, "SignatureDoesNotMatch") == 0) {
		v->code = MM_ESIGNATURE;
		snprintf(v->msg, sizeof(v->msg), "%s: signature rejected: the secret key does not "
			 "match access key %s (from %s); check AWS_SECRET_ACCESS_KEY", what,
			 sb->cf.access_key, sb->cf.cred_source);
	} else if (strcmp(code, "InvalidAccessKeyId") == 0) {
		v->code = MM_EDENIED;
		snprintf(v->msg, sizeof(v->msg), "%s: access denied: the store does not know access "
			 "key %s (from %s)", what, sb->cf.access_key, sb->cf.cred_source);
	} else if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "InvalidToken") == 0 ||
		   strcmp(code, "TokenRefreshRequired") == 0) {
		v->code = MM_EDENIED;
		snprintf(v->msg, sizeof(v->msg), "%s: access denied: the session token (%s) is "
			 "expired or invalid; get fresh credentials", what, code);
	} else if (strcmp(code, "AuthorizationHeaderMalformed") == 0 && q->xe.region[0] != '\0') {
		v->code = MM_EDENIED;
		snprintf(v->msg, sizeof(v->msg), "%s: the bucket is in region %s, not %s: set "
			 "AWS_REGION=%s", what, q->xe.region, sb->cf.region, q->xe.region);
	} else if (strcmp(code, "NoSuchBucket") == 0) {
		v->code = MM_ENOBUCKET;
		snprintf(v->msg, sizeof(v->msg), "%s: bucket '%s' does not exist on %s; create it "
			 "(mamori init does when the key may) or correct the location", what,
			 sb->cf.bucket, sb->cf.host);
	} else if (strcmp(code, "NoSuchKey") == 0 || (st == 404 && code[0] == '\0')) {
		v->code = MM_ENOENT;
		snprintf(v->msg, sizeof(v->msg), "%s: no such object", what);
	} else if (strcmp(code, "QuotaExceeded") == 0 || strcmp(code, "InsufficientCapacity") == 0 ||
		   strcmp(code, "XMinioStorageFull") == 0 || strcmp(code, "EntityTooLarge") == 0 ||
		   st == 507) {
		v->code = MM_EREMOTEFULL;
		snprintf(v->msg, sizeof(v->msg), "%s: the store is full or the bucket's quota is "
			 "reached (%s%s%s): free space or raise the quota", what,
			 code[0] ? code : "HTTP 507", q->xe.message[0] ? ": " : "", q->xe.message);
	} else if (st == 403 || strcmp(code, "AccessDenied") == 0 ||
		   strcmp(code, "AllAccessDisabled") == 0 || strcmp(code, "AccountProblem") == 0) {
		v->code = MM_EDENIED;
		snprintf(v->msg, sizeof(v->msg), "%s: access denied (%s) for access key %s: the "
			 "bucket policy or the user's rights do not allow it", what,
			 code[0] ? code : "HTTP 403", sb->cf.access_key);
	} else if (st == 301 || st == 307 || strcmp(code, "PermanentRedirect") == 0) {
		v->code = MM_EREMOTE;
		snprintf(v->msg, sizeof(v->msg), "%s: the store sends mamori elsewhere (%s%s%s): "
			 "use that endpoint%s%s", what, code[0] ? code : "a redirect",
			 q->xe.endpoint[0] ? " to " : "", q->xe.endpoint,
			 q->xe.region[0] ? " or AWS_REGION=" : "", q->xe.region);
	} else {
		v->code = MM_EREMOTE;
		v->retry = st >= 500 || st == 429 || strcmp(code, "SlowDown") == 0 ||
			   strcmp(code, "RequestTimeout") == 0 || strcmp(code, "InternalError") == 0;
		snprintf(v->msg, sizeof(v->msg), "%s: the store answered HTTP %ld%s%s%s%s", what, st,
			 code[0] ? " " : "", code, q->xe.message[0] ? ": " : "", q->xe.message);
	}
}

static void
curl_verdict(struct s3_be *sb, CURLcode cr, long os_errno, double connect_time,
	     const char *errbuf, const char *what, struct verdict *v)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cr);
	const char *host = sb->cf.host;

	v->retry = 0;
	switch (cr) {
	case CURLE_COULDNT_RESOLVE_HOST:
		v->code = MM_ERESOLVE;
		snprintf(v->msg, sizeof(v->msg), "%s: the name %s was not resolved: check the "
			 "location and the DNS setup (/etc/resolv.conf)", what, host);
		break;
	case CURLE_COULDNT_CONNECT:
		if (os_errno == ETIMEDOUT) {
			v->code = MM_ETIMEDOUT;
			v->retry = 1;
			snprintf(v->msg, sizeof(v->msg), "%s: connection to %s timed out (a firewall "
				 "dropping packets?)", what, host);
		} else if (os_errno == ECONNREFUSED) {
			v->code = MM_ECONNREFUSED;
			v->retry = 1;
			snprintf(v->msg, sizeof(v->msg), "%s: connection refused by %s port %d: "
				 "nothing listens there (is the gateway running? is the port right?)",
				 what, host, sb->cf.port ? sb->cf.port
						      : strcmp(sb->cf.scheme, "https") == 0 ? 443 : 80);
		} else {
			v->code = MM_ETIMEDOUT;
			v->retry = 1;
			snprintf(v->msg, sizeof(v->msg), "%s: cannot connect to %s: %s (no route? a "
				 "firewall?)", what, host, detail);
		}
		break;
	case CURLE_OPERATION_TIMEDOUT:
		v->code = MM_ETIMEDOUT;
		v->retry = 1;
		if (connect_time <= 0)
			snprintf(v->msg, sizeof(v->msg), "%s: connection to %s timed out after %ld s "
				 "(a firewall dropping packets?)", what, host, sb->cf.connect_timeout_s);
		else
			snprintf(v->msg, sizeof(v->msg), "%s: %s accepted the connection but sent "
				 "nothing for %ld s (s3.timeout): the gateway hangs or a proxy "
				 "holds the request", what, host, sb->cf.timeout_s);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		v->code = MM_ETLS;
		snprintf(v->msg, sizeof(v->msg), "%s: TLS with %s failed: %s (a private CA? set "
			 "MAMORI_S3_CA_FILE)", what, host, detail);
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		v->code = MM_ECONNLOST;
		v->retry = 1;
		snprintf(v->msg, sizeof(v->msg), "%s: the connection to %s was cut: %s", what, host,
			 detail);
		break;
	case CURLE_OUT_OF_MEMORY:
		v->code = MM_ENOMEM;
		snprintf(v->msg, sizeof(v->msg), "%s: out of memory", what);
		break;
	default:
		v->code = MM_EREMOTE;
		snprintf(v->msg, sizeof(v->msg), "%s: %s: %s", what, host, detail);
		break;
	}
}

/* Seconds to wait before attempt n (1, 2, ...): base * 2^(n-1), capped,
 * then a random point in its upper half, so many clients that failed
 * together do not come back together. */
static double
backoff(const struct s3_conf *cf, int n)
{
	static _Thread_local uint64_t x;
	double d = cf->retry_delay_s;

	for (int i = 1; i < n && d < S3_BACKOFF_CAP_S; i++)
		d *= 2;
	if (d > S3_BACKOFF_CAP_S)
		d = S3_BACKOFF_CAP_S;
	if (x == 0)
		x = (uint64_t)time_now_ns() ^ (uint64_t)(uintptr_t)&x;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return d / 2 + d / 2 * (double)(x >> 11) / (double)(1ull << 53);
}

static void
sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* An answer to HEAD has no body, so a refusal does not say why (signature,
 * clock, rights): ask again with a GET of one byte (or of a one-key
 * listing) and take its explanation. */
static int
explain_head(struct s3_be *sb, const struct s3_req *head, int r, struct mm_ctx *c)
{
	struct mm_ctx gc = MM_CTX_INIT;
	struct s3_req g = { .method = "GET", .key = head->key };
	int gr;

	if (head->key != NULL) {
		g.ranged = 1;
		g.len = 1;
	} else {
		g.query = "list-type=2&max-keys=1";
	}
	gr = s3_request(sb, &g, &gc);
	if (gr != 0 && g.xe.code[0] != '\0') {
		memcpy(c->msg, gc.msg, sizeof(c->msg));
		r = gr;
	}
	buf_release(&g.err);
	return r;
}

/*
 * Send q (retrying what may pass) and return 0 for a 2xx answer, or the
 * MM_E* code of the last failure with its explanation in c. The caller
 * looks at q->status for answers it handles itself (404 on HEAD).
 */
int
s3_request(struct s3_be *sb, struct s3_req *q, struct mm_ctx *c)
{
	struct buf url = BUF_INIT;
	struct verdict v;
	char what[200], sha_hex[65], errbuf[CURL_ERROR_SIZE];
	uint8_t sha[32];
	CURL *h = NULL;
	int r, attempt;

	buf_init(&q->err, S3_ERRBODY_MAX);
	snprintf(what, sizeof(what), "%s %s%s%s", q->method, q->key ? sb->cf.prefix : "",
		 q->key ? q->key : "bucket ", q->key ? "" : sb->cf.bucket);
	if (build_url(sb, q, &url) != 0) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	if (q->body_len > 0) {
		crypto_sha256(q->body, q->body_len, sha);
		hex_encode(sha, sizeof(sha), sha_hex);
	} else {
		memcpy(sha_hex, S3_EMPTY_SHA256, sizeof(sha_hex));
	}
	if ((h = handle_take(sb)) == NULL) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	q->out_start = q->out != NULL ? q->out->len : 0;
	for (attempt = 0;; attempt++) {
		long os_errno;
		double ct;
		CURLcode cr;

		q->status = 0;
		q->have_length = 0;
		q->server_date = 0;
		q->body_pos = 0;
		q->got = 0;
		q->too_big = 0;
		q->skip = 0;
		buf_reset(&q->err);
		if (q->out != NULL)
			q->out->len = q->out_start;
		cr = perform(sb, h, q, (const char *)url.data, sha_hex, &os_errno, &ct, errbuf);
		if (q->too_big) {
			r = mm_fail(c, MM_ELIMIT, "%s: the answer is larger than mamori accepts", what);
			goto out;
		}
		if (cr == CURLE_OK && status_ok(q->status)) {
			if (q->key != NULL)
				atomic_store(&sb->bucket_seen, 1);
			r = 0;
			goto out;
		}
		if (cr == CURLE_OK) {
			s3_xml_error((const char *)q->err.data, q->err.len, &q->xe);
			http_verdict(sb, q, what, &v);
		} else {
			curl_verdict(sb, cr, os_errno, ct, errbuf, what, &v);
		}
		if (!v.retry || attempt >= sb->cf.retries)
			break;
		sleep_s(backoff(&sb->cf, attempt + 1));
	}
	if (v.retry && sb->cf.retries > 0)
		r = mm_fail(c, v.code, "%s (gave up after %d attempts)", v.msg, attempt + 1);
	else
		r = mm_fail(c, v.code, "%s", v.msg);
	if (strcmp(q->method, "HEAD") == 0 && (q->status == 400 || q->status == 403) &&
	    q->xe.code[0] == '\0')
		r = explain_head(sb, q, r, c);
out:
	handle_give(sb, h);
	buf_release(&url);
	return r;
}
