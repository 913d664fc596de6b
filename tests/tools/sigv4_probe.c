/*
 * sigv4_probe: send one request signed by libcurl's CURLOPT_AWS_SIGV4, the
 * way the S3 backend does (user and password as key ID and secret, the
 * "aws:amz:REGION:SERVICE" string, custom headers signed, X-Amz-Date taken
 * from the request when it carries one), so tests/tools/sigv4-vectors can
 * compare the Authorization header libcurl computes with the published
 * AWS test vectors.
 *
 *   sigv4_probe METHOD URL REGION SERVICE KEY_ID SECRET AS_IS BODYFILE [HEADER...]
 *
 * AS_IS 1 sends the path as written (no dot-segment removal); BODYFILE "-"
 * means no body. Exit 0 when an HTTP answer came.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

int
main(int argc, char **argv)
{
	struct curl_slist *hd = NULL;
	char sig[256], *body = NULL;
	long blen = 0;
	CURL *h;
	CURLcode cr;

	if (argc < 9) {
		fprintf(stderr, "usage: sigv4_probe METHOD URL REGION SERVICE KEY_ID SECRET AS_IS "
				"BODYFILE [HEADER...]\n");
		return 2;
	}
	if (strcmp(argv[8], "-") != 0) {
		FILE *f = fopen(argv[8], "rb");
		if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (blen = ftell(f)) < 0 ||
		    fseek(f, 0, SEEK_SET) != 0 || (body = malloc((size_t)blen + 1)) == NULL ||
		    fread(body, 1, (size_t)blen, f) != (size_t)blen) {
			perror(argv[8]);
			return 2;
		}
		fclose(f);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = curl_easy_init();
	snprintf(sig, sizeof(sig), "aws:amz:%s:%s", argv[3], argv[4]);
	for (int i = 9; i < argc; i++)
		hd = curl_slist_append(hd, argv[i]);
	curl_easy_setopt(h, CURLOPT_URL, argv[2]);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, argv[1]);
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sig);
	curl_easy_setopt(h, CURLOPT_USERNAME, argv[5]);
	curl_easy_setopt(h, CURLOPT_PASSWORD, argv[6]);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, strcmp(argv[7], "1") == 0 ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, blen);
	}
	cr = curl_easy_perform(h);
	if (cr != CURLE_OK)
		fprintf(stderr, "sigv4_probe: %s\n", curl_easy_strerror(cr));
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	free(body);
	return cr == CURLE_OK ? 0 : 1;
}
