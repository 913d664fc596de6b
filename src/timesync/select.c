/* Source selection (RFC 5905 11.2.1), the combined offset, the words. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timesync/timesync.h"

const char *
ts_verdict_name(enum ts_verdict v)
{
	switch (v) {
	case TS_GOOD: return "good";
	case TS_UNRESOLVED: return "unresolved";
	case TS_UNREACHABLE: return "unreachable";
	case TS_KOD: return "kiss-o'-death";
	case TS_UNSYNC: return "unsynchronised";
	case TS_FAR: return "too far";
	case TS_FALSETICKER: return "falseticker";
	case TS_DISAGREE: return "no majority";
	}
	return "?";
}

struct edge {
	double v;
	int type; /* -1 lower end, +1 upper end */
};

static int
edge_cmp(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->type - y->type; /* at a tie lower ends first: touching intervals meet */
}

int
ts_intersect(const double *lo, const double *hi, size_t n, double *low, double *high)
{
	struct edge e[2 * TS_MAX_SOURCES];
	size_t m = 0, allow;

	if (n == 0 || n > TS_MAX_SOURCES)
		return -1;
	for (size_t i = 0; i < n; i++) {
		e[m++] = (struct edge){ lo[i], -1 };
		e[m++] = (struct edge){ hi[i], +1 };
	}
	qsort(e, m, sizeof(e[0]), edge_cmp);
	/* Allow ever more falsetickers until n - allow intervals share a point. */
	for (allow = 0; 2 * allow < n; allow++) {
		size_t need = n - allow;
		long chime = 0;
		double l = 0, h = 0;
		int got = 0;

		for (size_t i = 0; i < m; i++) {
			chime -= e[i].type;
			if (chime >= (long)need) {
				l = e[i].v;
				got = 1;
				break;
			}
		}
		chime = 0;
		for (size_t i = m; got && i-- > 0;) {
			chime += e[i].type;
			if (chime >= (long)need) {
				h = e[i].v;
				got = 2;
				break;
			}
		}
		if (got != 2 || l > h)
			continue;
		*low = l;
		*high = h;
		return (int)allow;
	}
	return -1;
}

void
ts_select(struct ts_result *r)
{
	double lo[TS_MAX_SOURCES], hi[TS_MAX_SOURCES];
	size_t idx[TS_MAX_SOURCES], n = 0;
	double wsum = 0, osum = 0, jsum = 0, best = INFINITY;

	r->survivors = r->falsetickers = 0;
	r->have_offset = 0;
	for (size_t i = 0; i < r->n && n < TS_MAX_SOURCES; i++) {
		struct ts_source *s = &r->src[i];
		if (s->verdict != TS_GOOD)
			continue;
		lo[n] = s->offset - s->root_dist;
		hi[n] = s->offset + s->root_dist;
		idx[n++] = i;
	}
	if (n == 0)
		return;
	if (ts_intersect(lo, hi, n, &r->low, &r->high) < 0) {
		for (size_t k = 0; k < n; k++) {
			struct ts_source *s = &r->src[idx[k]];
			s->verdict = TS_DISAGREE;
			snprintf(s->detail, sizeof(s->detail),
				 "no majority of sources agrees on the time, so none can be "
				 "outvoted");
		}
		return;
	}
	for (size_t k = 0; k < n; k++) {
		struct ts_source *s = &r->src[idx[k]];
		if (hi[k] < r->low || lo[k] > r->high) {
			s->verdict = TS_FALSETICKER;
			snprintf(s->detail, sizeof(s->detail),
				 "offset %+.6f s lies outside the interval [%+.6f, %+.6f] s "
				 "that the majority agrees on", s->offset, r->low, r->high);
			r->falsetickers++;
			continue;
		}
		r->survivors++;
		wsum += 1 / s->root_dist;
		osum += s->offset / s->root_dist;
		jsum += s->jitter * s->jitter;
		if (s->root_dist < best) {
			best = s->root_dist;
			r->delay = s->delay;
		}
	}
	r->have_offset = 1;
	r->offset = osum / wsum;
	r->jitter = sqrt(jsum / (double)r->survivors);
	r->step_needed = fabs(r->offset) > TS_STEP_THRESHOLD;
	r->slew_seconds = fabs(r->offset) / TS_SLEW_RATE;
}

int
ts_nagios_state(const struct ts_result *r, double warn, double crit)
{
	double a;

	if (!r->have_offset)
		return 3;
	a = fabs(r->offset);
	if (a >= crit)
		return 2;
	if (a >= warn)
		return 1;
	return 0;
}

void
ts_source_advice(const struct ts_source *s, char *out, size_t n)
{
	switch (s->verdict) {
	case TS_GOOD:
		snprintf(out, n, "good");
		return;
	case TS_UNRESOLVED:
		snprintf(out, n, "the name did not resolve (%s): check the spelling and "
			 "the DNS resolver (/etc/resolv.conf)", s->detail);
		return;
	case TS_UNREACHABLE:
		switch (s->cause) {
		case TS_CAUSE_REFUSED:
			snprintf(out, n, "ICMP port unreachable: nothing listens on UDP port %u "
				 "there; check that the NTP daemon runs on that host and the port "
				 "is right", s->port);
			return;
		case TS_CAUSE_TIMEOUT:
			snprintf(out, n, "no reply within the timeout: UDP %u is probably "
				 "blocked by a firewall or NAT on the path (check the host's "
				 "nftables/iptables, the border firewall, and that the server "
				 "runs)", s->port);
			return;
		case TS_CAUSE_OTHER_ADDR:
			snprintf(out, n, "replies came from another address than asked "
				 "(%u dropped): a NAT or a multihomed server answers from the wrong "
				 "address; ask the address that answers", s->other_addr);
			return;
		case TS_CAUSE_BOGUS:
			snprintf(out, n, "every reply failed the protocol checks (%u dropped, "
				 "last: %s); the server is broken or something on the path "
				 "rewrites or replays packets", s->bogus, s->detail);
			return;
		case TS_CAUSE_NETWORK:
			snprintf(out, n, "cannot send: %s; check the route to the server",
				 s->detail);
			return;
		case TS_CAUSE_NONE:
			break;
		}
		snprintf(out, n, "unreachable");
		return;
	case TS_KOD:
		snprintf(out, n, "kiss-o'-death %s: %s", s->kiss, s->detail);
		return;
	case TS_UNSYNC:
	case TS_FAR:
	case TS_FALSETICKER:
	case TS_DISAGREE:
		snprintf(out, n, "%s", s->detail);
		return;
	}
	snprintf(out, n, "?");
}
