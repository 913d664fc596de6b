/* The SNTP client: addresses, the system clock and UDP, the query loop,
 * the judgement of each source. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "timesync/timesync.h"

/* ---- addresses ---------------------------------------------------------- */

static uint16_t
addr_port(const struct ts_addr *a)
{
	if (a->sa.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
}

void
ts_addr_host(const struct ts_addr *a, char *out, size_t n)
{
	char h[INET6_ADDRSTRLEN] = "?";

	if (a->sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->sa)->sin6_addr, h, sizeof(h));
	else if (a->sa.ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->sa)->sin_addr, h, sizeof(h));
	snprintf(out, n, "%s", h);
}

void
ts_addr_format(const struct ts_addr *a, char *out, size_t n)
{
	char h[INET6_ADDRSTRLEN];

	ts_addr_host(a, h, sizeof(h));
	if (a->sa.ss_family == AF_INET6)
		snprintf(out, n, "[%s]:%u", h, addr_port(a));
	else
		snprintf(out, n, "%s:%u", h, addr_port(a));
}

int
ts_addr_equal(const struct ts_addr *a, const struct ts_addr *b)
{
	if (a->sa.ss_family != b->sa.ss_family || addr_port(a) != addr_port(b))
		return 0;
	if (a->sa.ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)&a->sa)->sin6_addr,
			      &((const struct sockaddr_in6 *)&b->sa)->sin6_addr, 16) == 0;
	return ((const struct sockaddr_in *)&a->sa)->sin_addr.s_addr ==
	       ((const struct sockaddr_in *)&b->sa)->sin_addr.s_addr;
}

/* ---- the system clock --------------------------------------------------- */

static int64_t
sys_now(void *arg)
{
	return time_now_ns();
}

static double
sys_mono(void *arg)
{
	return time_mono();
}

static void
sys_sleep(void *arg, double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const struct ts_clock ts_system_clock = { sys_now, sys_mono, sys_sleep, NULL };

/* ---- UDP ---------------------------------------------------------------- */

struct udp_sock {
	int fd;
	int v6;
};

static int
udp_open(void *arg, const struct ts_addr *a, void **out, struct mm_ctx *c)
{
	struct udp_sock *s;
	int on = 1, v6 = a->sa.ss_family == AF_INET6;
	int fd = socket(a->sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return mm_fail_errno(c, errno, "socket");
	/* ICMP errors (port unreachable) for an unconnected socket come back on
	 * its error queue, so replies from any address can still be seen. */
	if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR,
		       &on, sizeof(on)) != 0) {
		close(fd);
		return mm_fail_errno(c, errno, "setsockopt IP_RECVERR");
	}
	/* the kernel's arrival time of each datagram (best effort) */
	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	if ((s = malloc(sizeof(*s))) == NULL) {
		close(fd);
		return mm_fail(c, MM_ENOMEM, "out of memory");
	}
	s->fd = fd;
	s->v6 = v6;
	*out = s;
	return 0;
}

static int
udp_send(void *sock, const struct ts_addr *to, const void *p, size_t n, struct mm_ctx *c)
{
	struct udp_sock *s = sock;

	if (sendto(s->fd, p, n, 0, (const struct sockaddr *)&to->sa, to->len) != (ssize_t)n)
		return mm_fail_errno(c, errno, "send");
	return 0;
}

/* One error from the queue: port unreachable becomes MM_ECONNREFUSED. */
static int
udp_errqueue(struct udp_sock *s, struct mm_ctx *c)
{
	char ctl[512], data[64];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr m;
	struct cmsghdr *cm;

	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl;
	m.msg_controllen = sizeof(ctl);
	if (recvmsg(s->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return mm_fail_errno(c, errno, "receive");
	for (cm = CMSG_FIRSTHDR(&m); cm != NULL; cm = CMSG_NXTHDR(&m, cm)) {
		struct sock_extended_err ee;
		if (!((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) ||
		      (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
			continue;
		memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
		if (ee.ee_errno == ECONNREFUSED)
			return mm_fail(c, MM_ECONNREFUSED, "ICMP port unreachable");
		return mm_fail_errno(c, (int)ee.ee_errno, "ICMP error");
	}
	return mm_fail(c, MM_EIO, "an error without detail on the socket");
}

/* One datagram with its source and kernel timestamp. */
static ssize_t
udp_recvmsg(struct udp_sock *s, void *p, size_t cap, struct ts_addr *from, int64_t *rx_ns)
{
	char ctl[256];
	struct iovec iov = { p, cap };
	struct msghdr m;
	struct cmsghdr *cm;
	ssize_t k;

	memset(&m, 0, sizeof(m));
	memset(from, 0, sizeof(*from));
	m.msg_name = &from->sa;
	m.msg_namelen = sizeof(from->sa);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl;
	m.msg_controllen = sizeof(ctl);
	*rx_ns = 0;
	if ((k = recvmsg(s->fd, &m, MSG_DONTWAIT | MSG_TRUNC)) < 0)
		return k;
	from->len = m.msg_namelen;
	for (cm = CMSG_FIRSTHDR(&m); cm != NULL; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			*rx_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	}
	return k;
}

static int
udp_recv(void *sock, void *p, size_t cap, size_t *n, struct ts_addr *from, int64_t *rx_ns,
	 double timeout, struct mm_ctx *c)
{
	struct udp_sock *s = sock;
	double end = time_mono() + timeout;

	for (;;) {
		struct pollfd pf = { s->fd, POLLIN, 0 };
		double left = end - time_mono();
		ssize_t k;
		int pr;

		if (left <= 0)
			return mm_fail(c, MM_ETIMEDOUT, "no reply");
		pr = poll(&pf, 1, (int)ceil(left * 1000));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return mm_fail_errno(c, errno, "poll");
		if (pr == 0)
			continue;
		if (pf.revents & POLLERR)
			return udp_errqueue(s, c);
		k = udp_recvmsg(s, p, cap, from, rx_ns);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k < 0 && errno == ECONNREFUSED)
			return mm_fail(c, MM_ECONNREFUSED, "ICMP port unreachable");
		if (k < 0)
			return mm_fail_errno(c, errno, "receive");
		*n = (size_t)k < cap ? (size_t)k : cap;
		return 0;
	}
}

static void
udp_close(void *sock)
{
	struct udp_sock *s = sock;

	if (s) {
		close(s->fd);
		free(s);
	}
}

static const struct ts_net_ops udp_ops = { udp_open, udp_send, udp_recv, udp_close };
const struct ts_net ts_udp_net = { &udp_ops, NULL };

/* ---- sources ------------------------------------------------------------ */

void
ts_result_release(struct ts_result *r)
{
	free(r->src);
	r->src = NULL;
	r->n = 0;
}

static struct ts_source *
result_new(struct ts_result *r, const char *name, const char *origin, uint16_t port,
	   struct mm_ctx *c)
{
	struct ts_source *v, *s;

	if (r->n >= TS_MAX_SOURCES) {
		mm_fail(c, MM_ELIMIT, "more than %d time sources", TS_MAX_SOURCES);
		return NULL;
	}
	if ((v = realloc(r->src, (r->n + 1) * sizeof(*v))) == NULL) {
		mm_fail(c, MM_ENOMEM, "out of memory");
		return NULL;
	}
	r->src = v;
	s = &v[r->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->origin, sizeof(s->origin), "%s", origin ? origin : "command line");
	s->port = port;
	return s;
}

/* Split "host", "host:port", "[v6]:port", "v6" into host and port. */
static int
split_spec(const char *spec, char *host, size_t hn, uint16_t *port, struct mm_ctx *c)
{
	const char *colon = strrchr(spec, ':'), *ps = NULL;
	size_t len = strlen(spec);

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
			return mm_fail(c, MM_EINVAL, "bad server '%s': use [ADDRESS]:PORT", spec);
		len = (size_t)(rb - spec - 1);
		if (len == 0 || len >= hn)
			return mm_fail(c, MM_EINVAL, "bad server '%s'", spec);
		memcpy(host, spec + 1, len);
		host[len] = '\0';
		ps = rb[1] == ':' ? rb + 2 : NULL;
	} else if (colon != NULL && strchr(spec, ':') == colon) {
		len = (size_t)(colon - spec);
		ps = colon + 1;
		if (len == 0 || len >= hn)
			return mm_fail(c, MM_EINVAL, "bad server '%s'", spec);
		memcpy(host, spec, len);
		host[len] = '\0';
	} else {
		if (len == 0 || len >= hn)
			return mm_fail(c, MM_EINVAL, "bad server '%s'", spec);
		memcpy(host, spec, len + 1); /* a bare IPv6 address keeps its colons */
	}
	if (ps != NULL) {
		char *end;
		long v = strtol(ps, &end, 10);
		if (*ps == '\0' || *end != '\0' || v < 1 || v > 65535)
			return mm_fail(c, MM_EINVAL, "bad port in '%s' (1..65535)", spec);
		*port = (uint16_t)v;
	}
	return 0;
}

int
ts_result_add(struct ts_result *r, const char *spec, uint16_t default_port, int all,
	      const char *origin, struct mm_ctx *c)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct ts_source *s;
	char host[256], portstr[8];
	uint16_t port = default_port;
	int e, added = 0;

	if ((e = split_spec(spec, host, sizeof(host), &port, c)) != 0)
		return e;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((e = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		if ((s = result_new(r, host, origin, port, c)) == NULL)
			return MM_ENOMEM;
		s->verdict = TS_UNRESOLVED;
		snprintf(s->detail, sizeof(s->detail), "%s", gai_strerror(e));
		return 0;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct ts_addr a;
		int dup = 0;
		if (ai->ai_addrlen > sizeof(a.sa))
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(&a.sa, ai->ai_addr, ai->ai_addrlen);
		a.len = ai->ai_addrlen;
		for (size_t i = 0; i < r->n; i++)
			dup |= r->src[i].have_addr && ts_addr_equal(&r->src[i].addr, &a);
		if (dup)
			continue;
		if ((s = result_new(r, host, origin, port, c)) == NULL) {
			freeaddrinfo(res);
			return MM_ELIMIT;
		}
		s->addr = a;
		s->have_addr = 1;
		added++;
		if (!all)
			break;
	}
	freeaddrinfo(res);
	return 0;
}

/* ---- the query loop ----------------------------------------------------- */

struct probe {
	struct ts_source *s;
	void *sock;
	int done;          /* no more requests: failed, kissed, or finished */
	ntp_ts last_tx;    /* the server's transmit time of the last good reply */
	ntp_ts tx, t1;     /* the last request: its random bits, our send time */
	ntp_ts old_tx[TS_MAX_SAMPLES]; /* earlier requests: a late reply is not bogus */
	unsigned nold;
	int waiting;       /* a request is out, no valid reply yet */
	struct ntp_sample smp[TS_MAX_SAMPLES];
	struct ntp_packet pkt[TS_MAX_SAMPLES];
	unsigned nsmp;
	char bogus_reason[256];
};

/* Send one request; p->tx and p->t1 remember it. */
static int
probe_send(struct probe *p, const struct ts_clock *clk, const struct ts_net *net,
	   struct mm_ctx *c)
{
	struct ntp_packet req;
	uint8_t out[NTP_PACKET_LEN];
	struct ts_source *s = p->s;
	int e;

	memset(&req, 0, sizeof(req));
	req.version = 4;
	req.mode = 3;
	/* A random transmit timestamp: the reply must echo it as origin, so an
	 * off-path attacker must guess 64 bits, and our clock is not revealed. */
	if (p->s->sent > 0 && p->nold < TS_MAX_SAMPLES)
		p->old_tx[p->nold++] = p->tx;
	if (RAND_bytes((unsigned char *)&p->tx, sizeof(p->tx)) != 1)
		return mm_fail(c, MM_ECRYPTO, "RAND_bytes failed");
	req.tx = p->tx;
	ntp_packet_encode(&req, out);
	p->t1 = ntp_ts_from_unix_ns(clk->now_ns(clk->arg));
	s->sent++;
	p->waiting = 1;
	if ((e = net->ops->send(p->sock, &s->addr, out, sizeof(out), c)) != 0) {
		s->cause = TS_CAUSE_NETWORK;
		snprintf(s->detail, sizeof(s->detail), "%.500s", c->msg);
		p->done = 1;
		p->waiting = 0;
	}
	return 0;
}

/* A server reply whose origin is one of our earlier requests. */
static int
probe_is_late(const struct probe *p, const struct ntp_packet *rep)
{
	if (rep->mode != 4)
		return 0;
	for (unsigned i = 0; i < p->nold; i++) {
		if (rep->org == p->old_tx[i])
			return 1;
	}
	return 0;
}

/* Wait until the deadline (monotonic) for the reply to the last request. */
static void
probe_wait(struct probe *p, double deadline, const struct ts_clock *clk,
	   const struct ts_net *net)
{
	struct ntp_packet rep;
	uint8_t in[1024];
	struct ts_source *s = p->s;
	ntp_ts t4;
	int e;

	while (p->waiting) {
		struct ts_addr from;
		size_t n = 0;
		int64_t rx_ns = 0;
		double left = deadline - clk->mono(clk->arg);
		struct mm_ctx rc = MM_CTX_INIT;
		char kiss[5];

		e = net->ops->recv(p->sock, in, sizeof(in), &n, &from, &rx_ns,
				   left > 0 ? left : 0, &rc);
		/* the kernel's arrival time when it gives one: a reply read
		 * late (after another source's) keeps its true timestamp */
		t4 = ntp_ts_from_unix_ns(rx_ns ? rx_ns : clk->now_ns(clk->arg));
		if (e == MM_ETIMEDOUT) {
			if (s->received == 0 && s->bogus == 0 && s->other_addr == 0)
				s->cause = TS_CAUSE_TIMEOUT;
			p->waiting = 0;
			return;
		}
		if (e != 0) {
			s->cause = e == MM_ECONNREFUSED ? TS_CAUSE_REFUSED : TS_CAUSE_NETWORK;
			if (e != MM_ECONNREFUSED)
				snprintf(s->detail, sizeof(s->detail), "%.500s", rc.msg);
			p->done = 1;
			p->waiting = 0;
			return;
		}
		if (!ts_addr_equal(&from, &s->addr)) {
			s->other_addr++;
			if (s->received == 0)
				s->cause = TS_CAUSE_OTHER_ADDR;
			continue;
		}
		if (ntp_packet_decode(in, n, &rep, &rc) == 0 && probe_is_late(p, &rep)) {
			s->late++; /* the answer to an earlier request, after its deadline */
			continue;
		}
		if ((e = ntp_packet_decode(in, n, &rep, &rc)) != 0 ||
		    (e = ntp_reply_check(&rep, p->tx, p->last_tx, &rc)) != 0) {
			s->bogus++;
			snprintf(p->bogus_reason, sizeof(p->bogus_reason), "%.250s", rc.msg);
			if (s->received == 0)
				s->cause = TS_CAUSE_BOGUS;
			continue; /* a bogus packet is dropped; the real reply may follow */
		}
		p->waiting = 0;
		if (ntp_packet_is_kiss(&rep, kiss)) {
			const char *m = ntp_kiss_meaning(kiss);
			memcpy(s->kiss, kiss, sizeof(s->kiss));
			snprintf(s->detail, sizeof(s->detail), "%s",
				 m ? m : "an unknown kiss code; the server refuses to serve");
			s->verdict = TS_KOD;
			p->done = 1; /* RFC 5905: stop asking a server that kissed us */
			return;
		}
		p->last_tx = rep.tx;
		s->received++;
		s->cause = TS_CAUSE_NONE;
		if (p->nsmp < TS_MAX_SAMPLES) {
			ntp_sample_compute(p->t1, rep.rx, rep.tx, t4, rep.precision,
					   &p->smp[p->nsmp]);
			p->pkt[p->nsmp++] = rep;
		}
	}
}

/* Judge one source from its samples. */
static void
probe_judge(struct probe *p, double max_dist)
{
	struct ts_source *s = p->s;
	const struct ntp_packet *k;
	unsigned best = 0;
	double jsum = 0;

	if (s->verdict == TS_KOD || s->verdict == TS_UNRESOLVED)
		return;
	if (p->nsmp == 0) {
		s->verdict = TS_UNREACHABLE;
		if (s->cause == TS_CAUSE_BOGUS)
			snprintf(s->detail, sizeof(s->detail), "%s", p->bogus_reason);
		if (s->cause == TS_CAUSE_NONE)
			s->cause = TS_CAUSE_TIMEOUT;
		return;
	}
	for (unsigned i = 1; i < p->nsmp; i++) {
		if (p->smp[i].delay < p->smp[best].delay)
			best = i;
	}
	for (unsigned i = 0; i < p->nsmp; i++) {
		double d = p->smp[i].offset - p->smp[best].offset;
		jsum += d * d;
	}
	k = &p->pkt[best];
	s->have_sample = 1;
	s->offset = p->smp[best].offset;
	s->delay = p->smp[best].delay;
	s->disp = p->smp[best].disp;
	s->jitter = p->nsmp > 1 ? sqrt(jsum / (double)(p->nsmp - 1)) : 0;
	s->leap = k->leap;
	s->stratum = k->stratum;
	s->version = k->version;
	s->precision = k->precision;
	s->root_delay = ntp_short_to_sec(k->root_delay);
	s->root_disp = ntp_short_to_sec(k->root_disp);
	s->root_dist = s->root_delay / 2 + s->root_disp + s->delay / 2 + s->disp;
	ntp_refid_text(k, s->refid, sizeof(s->refid));
	if (k->leap == 3 || k->stratum >= 16) {
		s->verdict = TS_UNSYNC;
		snprintf(s->detail, sizeof(s->detail),
			 "the server is not synchronised itself (%s): its time cannot be "
			 "trusted; check its own sources", k->leap == 3 ? "leap indicator 3, alarm"
									 : "stratum 16");
		return;
	}
	if (s->root_dist > max_dist) {
		s->verdict = TS_FAR;
		snprintf(s->detail, sizeof(s->detail),
			 "root distance %.3f s exceeds %.3f s: the server is too far from "
			 "a reference clock to be trusted", s->root_dist, max_dist);
		return;
	}
	s->verdict = TS_GOOD;
}

int
ts_check_run(struct ts_result *r, const struct ts_check_opts *o, const struct ts_clock *clk,
	     const struct ts_net *net, struct mm_ctx *c)
{
	struct probe *pr = NULL;
	double max_dist = o->max_dist > 0 ? o->max_dist : TS_MAX_DIST;
	unsigned samples = o->samples;
	int e = 0;

	if (samples < 1 || samples > TS_MAX_SAMPLES)
		return mm_fail(c, MM_EINVAL, "samples must be 1..%d", TS_MAX_SAMPLES);
	if (r->n == 0)
		return mm_fail(c, MM_ENOSOURCE, "no time servers to check");
	if ((pr = calloc(r->n, sizeof(*pr))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (size_t i = 0; i < r->n; i++) {
		pr[i].s = &r->src[i];
		if (!r->src[i].have_addr) {
			pr[i].done = 1;
			continue;
		}
		if ((e = net->ops->open(net->arg, &r->src[i].addr, &pr[i].sock, c)) != 0)
			goto out;
	}
	/* Rounds, o->interval apart: a request to every source at once, then
	 * their replies collected until one deadline, so a hundred silent
	 * servers cost one timeout, not a hundred. */
	for (unsigned k = 0; k < samples; k++) {
		double start = clk->mono(clk->arg), left, deadline;
		int active = 0;
		for (size_t i = 0; i < r->n; i++) {
			if (pr[i].done)
				continue;
			/* A source that never answered the first request is not
			 * asked again: the timeout would only repeat. */
			if (k > 0 && pr[i].s->received == 0 && pr[i].s->cause == TS_CAUSE_TIMEOUT) {
				pr[i].done = 1;
				continue;
			}
			if ((e = probe_send(&pr[i], clk, net, c)) != 0)
				goto out;
			active = 1;
		}
		if (!active)
			break;
		deadline = clk->mono(clk->arg) + o->timeout;
		for (size_t i = 0; i < r->n; i++)
			probe_wait(&pr[i], deadline, clk, net);
		left = o->interval - (clk->mono(clk->arg) - start);
		if (k + 1 < samples && left > 0)
			clk->sleep(clk->arg, left);
	}
	for (size_t i = 0; i < r->n; i++)
		probe_judge(&pr[i], max_dist);
	ts_select(r);
	e = 0;
out:
	for (size_t i = 0; pr != NULL && i < r->n; i++) {
		if (pr[i].sock)
			net->ops->close(pr[i].sock);
	}
	free(pr);
	return e;
}

int
ts_check_servers(const char *const *servers, size_t n, const char *root,
		 const struct ts_check_opts *o, struct ts_result *r, struct mm_ctx *c)
{
	struct ts_check_opts dflt = TS_CHECK_OPTS_INIT;
	char adv[700];
	int e;

	for (size_t i = 0; i < n; i++) {
		if ((e = ts_result_add(r, servers[i], 123, 0, NULL, c)) != 0)
			return e;
	}
	if (n == 0 && (e = ts_config_discover(root, r, c)) != 0)
		return e;
	if ((e = ts_check_run(r, o ? o : &dflt, &ts_system_clock, &ts_udp_net, c)) != 0)
		return e;
	if (r->have_offset)
		return 0;
	ts_source_advice(&r->src[0], adv, sizeof(adv));
	return mm_fail(c, MM_ENOSOURCE, "no usable time source (%s: %s)", r->src[0].name, adv);
}
