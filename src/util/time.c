/* Clocks, timestamp formatting and human-readable sizes. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

#define NS_PER_SEC INT64_C(1000000000)

int64_t
time_now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t
mm_clock_now(const struct mm_clock *c)
{
	if (c != NULL && c->now_ns != NULL)
		return c->now_ns(c->arg);
	return time_now_ns();
}

double
time_mono(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0.0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Floor division so times before 1970 land on the right second. */
static time_t
ns_to_sec(int64_t ns)
{
	int64_t s = ns / NS_PER_SEC;

	if (ns % NS_PER_SEC < 0)
		s--;
	return (time_t)s;
}

void
time_format_utc(int64_t ns, char *out, size_t n)
{
	time_t t = ns_to_sec(ns);
	struct tm tm;

	if (n == 0)
		return;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "?");
}

void
time_format_local(int64_t ns, char *out, size_t n)
{
	time_t t = ns_to_sec(ns);
	struct tm tm;

	if (n == 0)
		return;
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, n, "?");
}

/*
 * "0 B", "512 B", "1.5 KiB", "1.23 MiB", "12.3 GiB": three significant
 * digits (below 10 two decimals, below 100 one, otherwise none), with
 * trailing zeros after the point dropped ("1 KiB", not "1.00 KiB").
 */
void
fmt_bytes(uint64_t n, char *out, size_t sz)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB",
	    "EiB" };
	char num[32];
	double v = (double)n;
	size_t u = 0, len;
	int prec;

	if (sz == 0)
		return;
	if (n < 1024) {
		snprintf(out, sz, "%" PRIu64 " B", n);
		return;
	}
	/* 1023.6 KiB would print as "1024 KiB"; show "1 MiB" instead. */
	while (v >= 1023.5 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	/* Thresholds account for rounding (9.996 prints as "10.0"). */
	prec = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
	snprintf(num, sizeof(num), "%.*f", prec, v);
	if (prec > 0) {
		len = strlen(num);
		while (len > 0 && num[len - 1] == '0')
			num[--len] = '\0';
		if (len > 0 && num[len - 1] == '.')
			num[--len] = '\0';
	}
	snprintf(out, sz, "%s %s", num, units[u]);
}
