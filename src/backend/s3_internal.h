/*
 * s3: shared between the S3 backend's files (s3.c requests and objects,
 * s3_conf.c location, credentials and settings, s3_xml.c answers). Not API.
 */
#ifndef MAMORI_S3_INTERNAL_H
#define MAMORI_S3_INTERNAL_H

#include <stdint.h>

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

#endif
