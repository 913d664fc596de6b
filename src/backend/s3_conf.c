/*
 * s3_conf: what an "s3:" location and the environment say. The URL gives
 * the endpoint, bucket and prefix; credentials and region come from the
 * AWS variables or the shared files (~/.aws/credentials, ~/.aws/config,
 * read with inih) as the AWS tools read them; MAMORI_S3_* tune addressing,
 * timeouts and retries (docs/cli.md, docs/offsite.md).
 */
#include <ini.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/s3_internal.h"

#define S3_CONNECT_TIMEOUT_DEFAULT 10
#define S3_TIMEOUT_DEFAULT 60
#define S3_RETRIES_DEFAULT 5
#define S3_RETRY_DELAY_DEFAULT 1.0

static void
free_secret(char *s)
{
	if (s != NULL) {
		mm_wipe(s, strlen(s));
		free(s);
	}
}

void
s3_conf_release(struct s3_conf *cf)
{
	free(cf->scheme);
	free(cf->host);
	free(cf->bucket);
	free(cf->prefix);
	free(cf->region);
	free(cf->access_key);
	free_secret(cf->secret_key);
	free_secret(cf->token);
	free(cf->cred_source);
	free(cf->ca_file);
	memset(cf, 0, sizeof(*cf));
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* A setting: -o s3.KEY=VALUE on the command line, else MAMORI_S3_KEY. */
static const char *
setting(const char *opt, const char *envname)
{
	const char *v = backend_option_get(opt);

	return v != NULL && v[0] != '\0' ? v : env(envname);
}

/* ---- the URL ------------------------------------------------------------ */

/* Bucket names as S3 allows them (3..63 of a-z 0-9 . -, starting and ending
 * with a letter or digit); stores that allow more (old RGW buckets with
 * capitals or '_') are reached by path-style addressing. */
static int
bucket_valid(const char *b, size_t n, int *dns_safe)
{
	*dns_safe = n >= 3 && n <= 63;
	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = b[i];
		int lower = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
		if (!lower && ch != '.' && ch != '_' && !(ch >= 'A' && ch <= 'Z'))
			return 0;
		if (!lower)
			*dns_safe = 0; /* '.' breaks wildcard TLS certificates too */
	}
	if (b[0] == '-' || b[n - 1] == '-')
		*dns_safe = 0;
	return 1;
}

/* A prefix is kept as written and percent-encoded when sent; only bytes that
 * would make keys ambiguous or unprintable are refused. */
static int
prefix_valid(const char *p)
{
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '?' || *p == '#' || *p == '\\')
			return 0;
	return 1;
}

static int
host_is_ip(const char *h)
{
	if (h[0] == '[')
		return 1;
	for (; *h != '\0'; h++)
		if (!((*h >= '0' && *h <= '9') || *h == '.'))
			return 0;
	return 1;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
parse_url(const char *url, struct s3_conf *cf, struct mm_ctx *c)
{
	const char *p, *h, *hend, *b, *bend, *colon;
	char *pre = NULL;
	int dns_safe, r;
	size_t n;

	if (strncmp(url, "https://", 8) == 0) {
		cf->scheme = strdup("https");
		h = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		cf->scheme = strdup("http");
		h = url + 7;
	} else {
		return mm_fail(c, MM_EINVAL, "s3:%s: an S3 location is "
			       "s3:https://HOST[:PORT]/BUCKET[/PREFIX] (or s3:http:// for a "
			       "store without TLS)", url);
	}
	if (cf->scheme == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if ((hend = strchr(h, '/')) == NULL)
		hend = h + strlen(h);
	if (memchr(h, '@', (size_t)(hend - h)) != NULL)
		return mm_fail(c, MM_EINVAL, "s3:%s: credentials do not go in the location; set "
			       "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or use ~/.aws/credentials",
			       url);
	colon = NULL;
	if (h < hend && h[0] == '[') {
		const char *rb = memchr(h, ']', (size_t)(hend - h));
		if (rb == NULL)
			return mm_fail(c, MM_EINVAL, "s3:%s: unterminated [IPv6 address]", url);
		if (rb + 1 < hend && rb[1] == ':')
			colon = rb + 1;
		else if (rb + 1 != hend)
			return mm_fail(c, MM_EINVAL, "s3:%s: bad host", url);
	} else {
		colon = memchr(h, ':', (size_t)(hend - h));
	}
	n = (size_t)((colon != NULL ? colon : hend) - h);
	if (n == 0)
		return mm_fail(c, MM_EINVAL, "s3:%s: no host name", url);
	if ((cf->host = strndup(h, n)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (const char *q = cf->host; *q != '\0'; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		      *q == '.' || *q == '-' || *q == '[' || *q == ']' || *q == ':'))
			return mm_fail(c, MM_EINVAL, "s3:%s: '%s' is not a host name", url, cf->host);
	if (colon != NULL) {
		char *end;
		long port;

		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (end != hend || colon + 1 == hend || errno != 0 || port < 1 || port > 65535)
			return mm_fail(c, MM_EINVAL, "s3:%s: the port must be a number 1..65535", url);
		cf->port = (int)port;
	}
	b = *hend == '/' ? hend + 1 : hend;
	if ((bend = strchr(b, '/')) == NULL)
		bend = b + strlen(b);
	if (bend == b)
		return mm_fail(c, MM_EINVAL, "s3:%s: no bucket: write s3:%s://HOST/BUCKET[/PREFIX]",
			       url, cf->scheme);
	if (!bucket_valid(b, (size_t)(bend - b), &dns_safe))
		return mm_fail(c, MM_EINVAL, "s3:%s: '%.*s' is not a bucket name (letters, digits, "
			       "'.', '-')", url, (int)(bend - b), b);
	if ((cf->bucket = strndup(b, (size_t)(bend - b))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	/* The prefix, without leading, trailing or doubled slashes. */
	p = *bend == '/' ? bend + 1 : bend;
	if (!prefix_valid(p))
		return mm_fail(c, MM_EINVAL, "s3:%s: the prefix may not hold control bytes, '?', "
			       "'#' or '\\'", url);
	n = strlen(p);
	if ((pre = malloc(n + 2)) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	n = 0;
	for (; *p != '\0'; p++) {
		if (*p == '/' && (n == 0 || pre[n - 1] == '/'))
			continue;
		pre[n++] = *p;
	}
	if (n > 0 && pre[n - 1] != '/')
		pre[n++] = '/';
	pre[n] = '\0';
	for (char *seg = pre; *seg != '\0';) {
		char *sl = strchr(seg, '/');
		if ((sl - seg == 1 && seg[0] == '.') || (sl - seg == 2 && seg[0] == '.' && seg[1] == '.')) {
			free(pre);
			return mm_fail(c, MM_EINVAL, "s3:%s: the prefix may not hold '.' or '..'", url);
		}
		seg = sl + 1;
	}
	cf->prefix = pre;
	/* Addressing. */
	{
		const char *lk = setting("s3.bucket-lookup", "MAMORI_S3_BUCKET_LOOKUP");
		enum s3_lookup l = S3_LOOKUP_AUTO;

		if (lk == NULL || strcmp(lk, "auto") == 0)
			l = S3_LOOKUP_AUTO;
		else if (strcmp(lk, "path") == 0)
			l = S3_LOOKUP_PATH;
		else if (strcmp(lk, "dns") == 0)
			l = S3_LOOKUP_DNS;
		else
			return mm_fail(c, MM_EINVAL, "s3.bucket-lookup (MAMORI_S3_BUCKET_LOOKUP) "
				       "'%s': write auto, path or dns", lk);
		if (l == S3_LOOKUP_DNS && (!dns_safe || host_is_ip(cf->host)))
			return mm_fail(c, MM_EINVAL, "s3:%s: virtual-host-style addressing "
				       "(MAMORI_S3_BUCKET_LOOKUP=dns) needs a host name and a bucket "
				       "name that is a DNS label without '.'; use path", url);
		/* auto: AWS wants BUCKET.HOST; Ceph RGW and MinIO answer path style
		 * unless set up with a wildcard DNS name. */
		r = l == S3_LOOKUP_DNS ||
		    (l == S3_LOOKUP_AUTO && dns_safe && !host_is_ip(cf->host) &&
		     ends_with(cf->host, ".amazonaws.com"));
		cf->vhost = r;
	}
	return 0;
}

/* ---- credentials and region -------------------------------------------- */

struct ini_want {
	const char *section;  /* "default", "profile x" ... */
	const char *section2; /* config files name the default profile [default] too */
	char *access_key, *secret_key, *token, *region;
	int found;
};

static int
ini_take(char **dst, const char *value)
{
	char *v = strdup(value);

	if (v == NULL)
		return 0;
	free_secret(*dst);
	*dst = v;
	return 1;
}

static int
on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct ini_want *w = user;

	if (strcmp(section, w->section) != 0 &&
	    (w->section2 == NULL || strcmp(section, w->section2) != 0))
		return 1;
	w->found = 1;
	if (strcmp(name, "aws_access_key_id") == 0)
		return ini_take(&w->access_key, value);
	if (strcmp(name, "aws_secret_access_key") == 0)
		return ini_take(&w->secret_key, value);
	if (strcmp(name, "aws_session_token") == 0)
		return ini_take(&w->token, value);
	if (strcmp(name, "region") == 0)
		return ini_take(&w->region, value);
	return 1;
}

static void
ini_want_release(struct ini_want *w)
{
	free(w->access_key);
	free_secret(w->secret_key);
	free_secret(w->token);
	free(w->region);
}

/* Parse an INI file if it exists. 1: read, 0: absent, <0: error. */
static int
read_ini(const char *path, struct ini_want *w, struct mm_ctx *c)
{
	int line;

	if (access(path, F_OK) != 0)
		return 0;
	line = ini_parse(path, on_ini, w);
	if (line == -1)
		return mm_fail_errno(c, errno, "%s", path);
	if (line == -2)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	if (line > 0)
		return mm_fail(c, MM_EINVAL, "%s:%d: not a line of an INI file", path, line);
	return 1;
}

static char *
home_file(const char *rel)
{
	const char *home = env("HOME");
	struct passwd *pw;

	if (home == NULL && (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (home == NULL)
		return NULL;
	return path_join(home, rel);
}

static int
set_str(char **dst, const char *v)
{
	if (v == NULL)
		return 0;
	free(*dst);
	return (*dst = strdup(v)) == NULL ? MM_ENOMEM : 0;
}

static int
load_credentials(struct s3_conf *cf, struct mm_ctx *c)
{
	const char *profile = env("AWS_PROFILE");
	const char *akid = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
	char *credfile = NULL, *conffile = NULL, *psection = NULL;
	struct ini_want cw = { 0 }, fw = { 0 };
	char src[600];
	int r;

	if (profile == NULL)
		profile = "default";
	/* The region: the environment, else the profile in the config file. */
	if ((r = set_str(&cf->region, env("AWS_REGION"))) != 0 ||
	    (cf->region == NULL && (r = set_str(&cf->region, env("AWS_DEFAULT_REGION"))) != 0))
		goto nomem;
	if (env("AWS_CONFIG_FILE") != NULL)
		conffile = strdup(env("AWS_CONFIG_FILE"));
	else
		conffile = home_file(".aws/config");
	if (env("AWS_SHARED_CREDENTIALS_FILE") != NULL)
		credfile = strdup(env("AWS_SHARED_CREDENTIALS_FILE"));
	else
		credfile = home_file(".aws/credentials");
	if ((psection = malloc(strlen(profile) + 9)) == NULL)
		goto nomem;
	snprintf(psection, strlen(profile) + 9, "profile %s", profile);
	fw.section = psection;
	fw.section2 = strcmp(profile, "default") == 0 ? "default" : NULL;
	if (conffile != NULL && (r = read_ini(conffile, &fw, c)) < 0)
		goto out;
	if (cf->region == NULL && (r = set_str(&cf->region, fw.region)) != 0)
		goto nomem;
	if (akid != NULL || secret != NULL) {
		if (akid == NULL || secret == NULL) {
			r = mm_fail(c, MM_EINVAL, "%s is set but %s is not: set both (or neither, "
				    "to use ~/.aws/credentials)",
				    akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
				    akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
			goto out;
		}
		if ((r = set_str(&cf->access_key, akid)) != 0 ||
		    (r = set_str(&cf->secret_key, secret)) != 0 ||
		    (r = set_str(&cf->token, env("AWS_SESSION_TOKEN"))) != 0 ||
		    (r = set_str(&cf->cred_source, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")) != 0)
			goto nomem;
		r = 0;
		goto out;
	}
	cw.section = profile;
	if (credfile != NULL && (r = read_ini(credfile, &cw, c)) < 0)
		goto out;
	if (cw.access_key != NULL && cw.secret_key != NULL) {
		snprintf(src, sizeof(src), "profile '%s' of %s", profile, credfile);
		cf->access_key = cw.access_key;
		cf->secret_key = cw.secret_key;
		cf->token = cw.token;
		cw.access_key = cw.secret_key = cw.token = NULL;
	} else if (fw.access_key != NULL && fw.secret_key != NULL) {
		snprintf(src, sizeof(src), "profile '%s' of %s", profile, conffile);
		cf->access_key = fw.access_key;
		cf->secret_key = fw.secret_key;
		cf->token = fw.token;
		fw.access_key = fw.secret_key = fw.token = NULL;
	} else {
		r = mm_fail(c, MM_EINVAL, "no S3 credentials: set AWS_ACCESS_KEY_ID and "
			    "AWS_SECRET_ACCESS_KEY, or put profile '%s' in %s (AWS_PROFILE chooses "
			    "another)", profile, credfile ? credfile : "~/.aws/credentials");
		goto out;
	}
	if ((r = set_str(&cf->cred_source, src)) != 0)
		goto nomem;
	r = 0;
	goto out;
nomem:
	r = mm_fail(c, MM_ENOMEM, "out of memory");
out:
	ini_want_release(&cw);
	ini_want_release(&fw);
	free(credfile);
	free(conffile);
	free(psection);
	return r;
}

/* The region of an AWS endpoint name: s3.REGION.amazonaws.com, or
 * s3-REGION.amazonaws.com (older names). */
static int
region_from_host(const char *host, char *out, size_t cap)
{
	const char *p;
	size_t n;

	if (!ends_with(host, ".amazonaws.com"))
		return 0;
	if (strncmp(host, "s3.", 3) == 0 || strncmp(host, "s3-", 3) == 0)
		p = host + 3;
	else
		return 0;
	n = strcspn(p, ".");
	if (n == 0 || n >= cap || strncmp(p, "amazonaws", 9) == 0 || strncmp(p, "dualstack", 9) == 0)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

/* ---- settings ------------------------------------------------------------- */

static int
env_num(const char *opt, const char *name, double lo, double hi, double def, double *out,
	struct mm_ctx *c)
{
	const char *v = setting(opt, name);
	char *end;
	double d;

	*out = def;
	if (v == NULL)
		return 0;
	errno = 0;
	d = strtod(v, &end);
	if (end == v || *end != '\0' || errno != 0 || !(d >= lo && d <= hi))
		return mm_fail(c, MM_EINVAL, "%s (%s) '%s': write a number from %g to %g", opt, name, v,
			       lo, hi);
	*out = d;
	return 0;
}

int
s3_conf_load(const char *url, struct s3_conf *cf, struct mm_ctx *c)
{
	char reg[64];
	double d;
	int r;

	memset(cf, 0, sizeof(*cf));
	if ((r = parse_url(url, cf, c)) != 0 || (r = load_credentials(cf, c)) != 0)
		goto out;
	if (cf->region == NULL) {
		r = set_str(&cf->region, region_from_host(cf->host, reg, sizeof(reg)) ? reg
										       : "us-east-1");
		if (r != 0) {
			r = mm_fail(c, MM_ENOMEM, "out of memory");
			goto out;
		}
	}
	for (const char *q = cf->region; *q != '\0'; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-' ||
		      (*q >= 'A' && *q <= 'Z') || *q == '_') || q - cf->region >= 60) {
			r = mm_fail(c, MM_EINVAL, "region '%s' is not a region name (e.g. "
				    "eu-west-3)", cf->region);
			goto out;
		}
	if ((r = env_num("s3.connect-timeout", "MAMORI_S3_CONNECT_TIMEOUT", 1, 3600, S3_CONNECT_TIMEOUT_DEFAULT, &d, c)) != 0)
		goto out;
	cf->connect_timeout_s = (long)d;
	if ((r = env_num("s3.timeout", "MAMORI_S3_TIMEOUT", 1, 86400, S3_TIMEOUT_DEFAULT, &d, c)) != 0)
		goto out;
	cf->timeout_s = (long)d;
	if ((r = env_num("s3.retries", "MAMORI_S3_RETRIES", 0, 100, S3_RETRIES_DEFAULT, &d, c)) != 0)
		goto out;
	cf->retries = (int)d;
	if ((r = env_num("s3.retry-delay", "MAMORI_S3_RETRY_DELAY", 0, 600, S3_RETRY_DELAY_DEFAULT, &d, c)) != 0)
		goto out;
	cf->retry_delay_s = d;
	if ((r = env_num("s3.list-keys", "MAMORI_S3_LIST_KEYS", 1, 1000, 1000, &d, c)) != 0)
		goto out;
	cf->list_keys = (int)d;
	if (set_str(&cf->ca_file, setting("s3.ca-file", "MAMORI_S3_CA_FILE")) != 0) {
		r = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		s3_conf_release(cf);
	return r;
}
