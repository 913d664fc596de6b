/*
 * Everything of the monitor that speaks through libcurl: the http probe's
 * request, webhook and e-mail alerts. The mamori program uses this table
 * (mon_net_curl); the resident agent is built without it and hands such
 * work to a mamori child (src/agent), so it never maps libcurl.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/monitor_internal.h"

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static int
curl_failed(CURLcode cc, long status, const char *what, const char *url, const char *errbuf,
	    struct mm_ctx *c)
{
	int code = MM_EREMOTE;

	if (cc == CURLE_OK)
		return mm_fail(c, MM_EREMOTE, "%s %s answered %ld", what, url, status);
	if (cc == CURLE_COULDNT_RESOLVE_HOST)
		code = MM_ERESOLVE;
	else if (cc == CURLE_COULDNT_CONNECT)
		code = MM_ECONNREFUSED;
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		code = MM_ETIMEDOUT;
	else if (cc == CURLE_LOGIN_DENIED)
		code = MM_EDENIED;
	return mm_fail(c, code, "%s %s: %s", what, url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

static int
send_webhook(const struct mon_sink *s, const struct mon_alert *a, struct mm_ctx *c)
{
	struct buf body = BUF_INIT;
	struct curl_slist *hdr = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURL *h = NULL;
	CURLcode cc;
	int e;

	if ((e = mon_alert_json(a, &body)) != 0)
		return mm_fail(c, e, "out of memory");
	if ((h = curl_easy_init()) == NULL ||
	    (hdr = curl_slist_append(NULL, "Content-Type: application/json")) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "cannot start libcurl");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body.data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body.len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(s->timeout_s * 1000));
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	e = cc == CURLE_OK && status >= 200 && status < 300 ? 0 :
	    curl_failed(cc, status, "webhook", s->url, errbuf, c);
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	buf_release(&body);
	return e;
}

struct mail_src {
	const char *p;
	size_t left;
};

static size_t
mail_read(char *out, size_t sz, size_t n, void *arg)
{
	struct mail_src *m = arg;
	size_t k = sz * n < m->left ? sz * n : m->left;

	memcpy(out, m->p, k);
	m->p += k;
	m->left -= k;
	return k;
}

/* A header value without CR or LF, so nothing can be injected. */
static void
header_safe(char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			*s = ' ';
}

static int
send_email(const struct mon_sink *s, const struct mon_alert *a, struct mm_ctx *c)
{
	char subject[300], date[64], when[32], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpt = NULL;
	struct buf msg = BUF_INIT, json = BUF_INIT;
	struct mail_src src;
	struct tm tm;
	time_t t = (time_t)a->time;
	char *text = NULL;
	CURL *h = NULL;
	CURLcode cc;
	int e = MM_ENOMEM, n;

	mon_alert_summary(a, subject, sizeof(subject));
	header_safe(subject);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	time_format_utc(a->time * 1000000000, when, sizeof(when));
	if (mon_alert_json(a, &json) != 0 || buf_append_u8(&json, 0) != 0)
		goto nomem;
	n = asprintf(&text, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: [mamori] %s\r\n"
		     "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		     "Content-Transfer-Encoding: 8bit\r\n\r\n"
		     "%s\r\n\r\nCheck: %s (%s)\r\nState: %s (was %s)\r\nCause: %s\r\n"
		     "Thresholds: %s\r\nHost: %s\r\nTime: %s\r\n\r\n%s\r\n",
		     date, s->from, s->to[0], subject, subject, a->check, a->type,
		     mon_state_name(a->state), mon_state_name(a->previous), a->cause,
		     a->threshold[0] ? a->threshold : "-", a->host, when, (char *)json.data);
	if (n < 0)
		goto nomem;
	/* A line of only "." would end the message early in SMTP: libcurl
	 * escapes such lines itself (dot-stuffing), so the text goes as is. */
	if (buf_append(&msg, text, (size_t)n) != 0)
		goto nomem;
	for (size_t i = 0; i < s->nto; i++) {
		struct curl_slist *l = curl_slist_append(rcpt, s->to[i]);
		if (l == NULL)
			goto nomem;
		rcpt = l;
	}
	if ((h = curl_easy_init()) == NULL)
		goto nomem;
	src.p = (const char *)msg.data;
	src.left = msg.len;
	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, s->from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &src);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(s->timeout_s * 1000));
	cc = curl_easy_perform(h);
	e = cc == CURLE_OK ? 0 : curl_failed(cc, 0, "mail server", s->url, errbuf, c);
	goto out;
nomem:
	e = mm_fail(c, MM_ENOMEM, "out of memory");
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	free(text);
	buf_release(&msg);
	buf_release(&json);
	return e;
}

static void
http_cause(CURLcode cc, const char *detail, struct mon_http_answer *out)
{
	const char *why;

	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		why = "the host name did not resolve: check DNS or the URL";
		break;
	case CURLE_COULDNT_CONNECT:
		why = "connection refused or unreachable: is the web server running?";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		why = "no answer in time: a firewall, or a server that hangs";
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		why = "the TLS certificate is not trusted: expired, self-signed or for another name";
		break;
	case CURLE_SSL_CONNECT_ERROR:
		why = "the TLS handshake failed: protocol or cipher mismatch";
		break;
	default:
		why = curl_easy_strerror(cc);
	}
	snprintf(out->cause, sizeof(out->cause), "%s (%s)", why, detail[0] ? detail :
		 curl_easy_strerror(cc));
}


static int
curl_http_get(const char *url, double timeout_s, struct mon_http_answer *out, struct mm_ctx *c)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = curl_easy_init();
	CURLcode cc;

	if (h == NULL)
		return mm_fail(c, MM_ENOMEM, "cannot start libcurl");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mamori-monitor/" MAMORI_VERSION);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &out->seconds);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK) {
		out->failed = 1;
		http_cause(cc, errbuf, out);
	}
	return 0;
}

static int
curl_send(void *arg, const struct mon_sink *s, const struct mon_alert *a, struct mm_ctx *c)
{
	(void)arg;
	if (s->type == MON_SINK_EMAIL)
		return send_email(s, a, c);
	return send_webhook(s, a, c);
}

const struct mon_net mon_net_curl = { curl_http_get, curl_send, NULL, NULL };
