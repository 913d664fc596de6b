/* Times and durations as people write them on the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ledger.h"

#define NS INT64_C(1000000000)

int
ledger_parse_duration(const char *s, int64_t *out)
{
	int64_t total = 0, v, unit;
	const char *p = s;
	char *end;

	if (s == NULL || *s == '\0')
		return MM_EINVAL;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return MM_EINVAL;
		v = strtoll(p, &end, 10);
		switch (*end) {
		case 's': unit = NS; break;
		case 'm': unit = 60 * NS; break;
		case 'h': unit = 3600 * NS; break;
		case 'd': unit = 86400 * NS; break;
		case 'w': unit = 7 * 86400 * NS; break;
		default: return MM_EINVAL;
		}
		if (v < 0 || v > INT64_MAX / unit || total > INT64_MAX - v * unit)
			return MM_EINVAL;
		total += v * unit;
		p = end + 1;
	}
	*out = total;
	return 0;
}

void
ledger_format_duration(int64_t ns, char *out, size_t n)
{
	int64_t s = ns / NS, d, h, m;
	const char *sign = "";

	if (s < 0) {
		sign = "-";
		s = -s;
	}
	d = s / 86400;
	h = s % 86400 / 3600;
	m = s % 3600 / 60;
	s %= 60;
	if (d > 0)
		snprintf(out, n, "%s%lldd %lldh", sign, (long long)d, (long long)h);
	else if (h > 0)
		snprintf(out, n, "%s%lldh %lldm", sign, (long long)h, (long long)m);
	else if (m > 0)
		snprintf(out, n, "%s%lldm %llds", sign, (long long)m, (long long)s);
	else
		snprintf(out, n, "%s%llds", sign, (long long)s);
}

/* Exactly n digits at p. */
static int
digits(const char *p, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		x = x * 10 + (p[i] - '0');
	}
	*v = x;
	return 0;
}

int
ledger_parse_time(const char *s, int64_t now_ns, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, zh, zm, local = 1;
	int64_t off = 0, dur, t;
	const char *p;
	char *end;
	time_t tt;

	if (s == NULL || *s == '\0')
		return MM_EINVAL;
	if (s[0] == '@') {
		long long v = strtoll(s + 1, &end, 10);

		if (end == s + 1 || *end != '\0' || v < -(INT64_MAX / NS) || v > INT64_MAX / NS)
			return MM_EINVAL;
		*out = (int64_t)v * NS;
		return 0;
	}
	if (ledger_parse_duration(s, &dur) == 0) {
		*out = now_ns - dur;
		return 0;
	}
	if (strlen(s) < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
		return MM_EINVAL;
	p = s + 10;
	if (*p == 'T' || *p == ' ') {
		if (digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi) || h > 23 || mi > 59)
			return MM_EINVAL;
		p += 6;
		if (*p == ':') {
			if (digits(p + 1, 2, &sec) || sec > 60)
				return MM_EINVAL;
			p += 3;
		}
	}
	if (*p == 'Z') {
		local = 0;
		p++;
	} else if (*p == '+' || *p == '-') {
		if (digits(p + 1, 2, &zh) || p[3] != ':' || digits(p + 4, 2, &zm) || zh > 23 || zm > 59)
			return MM_EINVAL;
		off = ((int64_t)zh * 3600 + zm * 60) * (*p == '+' ? 1 : -1);
		local = 0;
		p += 6;
	}
	if (*p != '\0')
		return MM_EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	tt = local ? mktime(&tm) : timegm(&tm);
	if (tt == (time_t)-1 && !(y == 1969 || y == 1970))
		return MM_EINVAL;
	t = (int64_t)tt - off;
	if (t > INT64_MAX / NS || t < -(INT64_MAX / NS))
		return MM_EINVAL;
	*out = t * NS;
	return 0;
}
