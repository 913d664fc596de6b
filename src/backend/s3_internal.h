/*
 * s3: shared between the S3 backend's files (s3.c requests and objects,
 * s3_conf.c location, credentials and settings, s3_xml.c answers). Not API.
 */
#ifndef MAMORI_S3_INTERNAL_H
#define MAMORI_S3_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "backend/backend.h"
#include "util/util.h"

enum s3_lookup { S3_LOOKUP_AUTO = 0, S3_LOOKUP_PATH, S3_LOOKUP_DNS };

/* Everything a location and the environment say about how to reach a bucket. */
struct s3_conf {
	char *scheme;     /* "http" or "https" */
	char *host;       /* host name or address, [v6] kept bracketed */
	int port;         /* 0: the scheme's default */
	char *bucket;
	char *prefix;     /* "" or "a/b/" (always ends with '/') */
	int vhost;        /* virtual-host-style: BUCKET.HOST/KEY */
	char *region;
	char *access_key;
	char *secret_key; /* wiped on release */
	char *token;      /* session token or NULL; wiped on release */
	char *cred_source; /* "the environment", "profile 'x' of FILE", for messages */
	char *ca_file;    /* MAMORI_S3_CA_FILE or NULL */
	long connect_timeout_s;
	long timeout_s;   /* longest wait without a byte moving */
	int retries;
	double retry_delay_s; /* first backoff; doubled each time, capped */
	int list_keys;    /* keys per listing page (max-keys), 1..1000 */
};

/* Parse "http[s]://HOST[:PORT]/BUCKET[/PREFIX]" (after "s3:") and read the
 * credentials, region and settings. MM_EINVAL with a message naming what
 * is wrong and what to write instead. */
int s3_conf_load(const char *url, struct s3_conf *cf, struct mm_ctx *c) MM_MUST_CHECK;
void s3_conf_release(struct s3_conf *cf);

/* The parts of an S3 XML answer mamori uses. */
struct s3_error {
	char code[64];
	char message[256];
	char region[64];     /* AuthorizationHeaderMalformed / PermanentRedirect */
	char endpoint[256];  /* PermanentRedirect */
};
/* Parse an <Error> body; unknown or malformed bodies leave fields empty. */
void s3_xml_error(const char *p, size_t n, struct s3_error *e);

#define S3_LIST_KEY_MAX 1024
struct s3_list_item {
	char key[S3_LIST_KEY_MAX + 1];
	uint64_t size;
};
struct s3_list_page {
	struct s3_list_item *items;
	size_t n, cap;
	int truncated;
	char *next_token; /* NextContinuationToken or NULL */
};
/* Parse a ListObjectsV2 answer into page (items appended). MM_ECORRUPT
 * for a body that is not one. */
int s3_xml_list(const char *p, size_t n, struct s3_list_page *page, struct mm_ctx *c) MM_MUST_CHECK;
void s3_list_page_release(struct s3_list_page *page);

/* ---- the backend and its requests (s3.c, s3_http.c) ---- */

#define S3_POOL_MAX 16
#define S3_ERRBODY_MAX (64u * 1024)
#define S3_LIST_BODY_MAX (16u * 1024 * 1024)
#define S3_BACKOFF_CAP_S 30.0
/* Read-ahead for small reads of packs (a tree, a small file's blob): one
 * GET fetches the aligned window around them, kept in a few slots, so
 * walking 7000 folders costs a few hundred requests, not 7000. */
#define S3_RA_WINDOW (1u << 20)
#define S3_RA_SLOTS 16
struct s3_ra {
	char name[65];     /* pack; "" when free */
	uint64_t start;    /* offset of data in the pack */
	struct buf data;
	uint64_t last;     /* for least-recently-used replacement */
};
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_be {
	struct backend be; /* first: the vtable sees a struct backend */
	struct s3_conf cf;
	char *base;        /* "https://HOST:PORT" or "https://BUCKET.HOST:PORT" */
	char *bucket_path; /* "/BUCKET" (path style) or "" */
	char sigv4[128];   /* "aws:amz:REGION:s3" */
	CURLSH *share;
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_mu;
	CURL *pool[S3_POOL_MAX];
	size_t npool;
	atomic_int bucket_seen; /* a request inside the bucket succeeded */
	pthread_mutex_t ra_mu;
	struct s3_ra ra[S3_RA_SLOTS];
	uint64_t ra_tick;
};

static inline struct s3_be *
s3_of(struct backend *be)
{
	return (struct s3_be *)be;
}

/* One request and what came back. */
struct s3_req {
	const char *method;  /* GET PUT HEAD DELETE */
	const char *key;     /* below the prefix, e.g. "data/ab/ab12..."; NULL: the bucket */
	const char *query;   /* canonical: sorted, encoded; or NULL */
	const uint8_t *body;
	size_t body_len;
	int ranged;
	uint64_t off;
	size_t len;          /* ranged: 0 means to the end */
	struct buf *out;     /* body of a 2xx answer is appended here (may be NULL) */
	/* results */
	long status;
	uint64_t length;     /* Content-Length of the answer */
	int have_length;
	time_t server_date;  /* 0: none */
	time_t local_date;   /* our clock when the answer came */
	struct buf err;      /* body of an answer that is not 2xx */
	struct s3_error xe;
	/* transfer state */
	size_t body_pos;
	size_t out_start;
	uint64_t skip;       /* a 200 to a ranged GET: bytes to drop first */
	uint64_t got;
	int too_big;
};

/* Send q, retrying what may pass (s3_http.c): 0 for a 2xx answer, else the
 * MM_E* code of the last failure with its explanation in c; q->status and
 * q->xe say what the store answered. Release q->err afterwards. */
int s3_request(struct s3_be *sb, struct s3_req *q, struct mm_ctx *c) MM_MUST_CHECK;
/* Append s percent-encoded (unreserved bytes kept, and '/' if keep_slash). */
int s3_append_encoded(struct buf *b, const char *s, int keep_slash) MM_MUST_CHECK;

#endif
