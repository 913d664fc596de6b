/*
 * The common subset of systemd's OnCalendar syntax (systemd.time(7)), and
 * the next time a calendar expression names.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf/conf.h"

#define CAL_YEAR0 2000
#define CAL_YEARS 256

static const char cal_forms[] =
	"accepted: minutely, hourly, daily, weekly, monthly, quarterly, semiannually, "
	"yearly, annually, or [WEEKDAYS] [YEAR-MONTH-DAY] [HOUR:MINUTE[:SECOND]] with "
	"each part *, N, A..B, A,B or */STEP (e.g. 'Mon..Fri *-*-* 08..18:00/30')";

static int
cal_bad(char *err, size_t n, const char *what, const char *s)
{
	snprintf(err, n, "calendar '%s': %s; %s", s, what, cal_forms);
	return MM_EINVAL;
}

static void
setbit(uint64_t *bits, unsigned i)
{
	bits[i / 64] |= UINT64_C(1) << (i % 64);
}

static int
getbit(const uint64_t *bits, unsigned i)
{
	return (int)((bits[i / 64] >> (i % 64)) & 1);
}

static int
num(const char **p, unsigned *out)
{
	unsigned v = 0;
	int digits = 0;

	while (**p >= '0' && **p <= '9' && digits < 5) {
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
		digits++;
	}
	if (digits == 0)
		return -1;
	*out = v;
	return 0;
}

/* One component ("*", "5", "1..5", "1,3", "0/15", "*\/2", "8..18/2") into
 * bits for values lo..hi. */
static int
component(const char *s, unsigned lo, unsigned hi, uint64_t *bits)
{
	const char *p = s;

	if (*p == '\0')
		return -1;
	for (;;) {
		unsigned a = lo, b = hi, step = 1;

		if (*p == '*') {
			p++;
		} else {
			if (num(&p, &a) != 0)
				return -1;
			b = a;
			if (p[0] == '.' && p[1] == '.') {
				p += 2;
				if (num(&p, &b) != 0)
					return -1;
			}
		}
		if (*p == '/') {
			p++;
			if (num(&p, &step) != 0 || step == 0)
				return -1;
			if (s[0] != '*' && b == a)
				b = hi; /* "0/15": from 0 in steps of 15 */
		}
		if (a < lo || b > hi || a > b)
			return -1;
		for (unsigned v = a; v <= b; v += step)
			setbit(bits, v);
		if (*p == ',') {
			p++;
			continue;
		}
		return *p == '\0' ? 0 : -1;
	}
}

static int
weekday(const char *s, size_t n)
{
	static const char *const names[7][2] = {
		{ "mon", "monday" }, { "tue", "tuesday" }, { "wed", "wednesday" },
		{ "thu", "thursday" }, { "fri", "friday" }, { "sat", "saturday" },
		{ "sun", "sunday" },
	};
	for (int i = 0; i < 7; i++)
		for (int j = 0; j < 2; j++)
			if (strlen(names[i][j]) == n && strncasecmp(names[i][j], s, n) == 0)
				return i;
	return -1;
}

static int
weekdays(const char *s, uint8_t *out)
{
	const char *p = s;

	*out = 0;
	while (*p != '\0') {
		const char *end = p;
		int a, b;

		while (*end != '\0' && *end != ',' && *end != '.')
			end++;
		if ((a = weekday(p, (size_t)(end - p))) < 0)
			return -1;
		b = a;
		p = end;
		if (p[0] == '.' && p[1] == '.') {
			p += 2;
			end = p;
			while (*end != '\0' && *end != ',')
				end++;
			if ((b = weekday(p, (size_t)(end - p))) < 0)
				return -1;
			p = end;
		} else if (*p == '.') {
			return -1;
		}
		for (int d = a;; d = (d + 1) % 7) {
			*out |= (uint8_t)(1u << d);
			if (d == b)
				break;
		}
		if (*p == ',')
			p++;
	}
	return *out ? 0 : -1;
}

static void
cal_all(struct conf_calendar *c)
{
	memset(c, 0, sizeof(*c));
	c->wday = 0x7f;
	memset(c->year, 0xff, sizeof(c->year));
	c->month = 0x1ffe;
	c->mday = 0xfffffffe;
}

static int
date_part(const char *s, struct conf_calendar *c)
{
	char y[32], m[32], d[32];
	uint64_t mb = 0, db = 0;
	const char *d1 = strchr(s, '-'), *d2 = d1 ? strchr(d1 + 1, '-') : NULL;

	if (d1 == NULL)
		return -1;
	if (d2 == NULL) { /* MONTH-DAY */
		snprintf(y, sizeof(y), "*");
		if ((size_t)(d1 - s) >= sizeof(m) || strlen(d1 + 1) >= sizeof(d))
			return -1;
		snprintf(m, sizeof(m), "%.*s", (int)(d1 - s), s);
		snprintf(d, sizeof(d), "%s", d1 + 1);
	} else {
		if ((size_t)(d1 - s) >= sizeof(y) || (size_t)(d2 - d1 - 1) >= sizeof(m) ||
		    strlen(d2 + 1) >= sizeof(d) || strchr(d2 + 1, '-') != NULL)
			return -1;
		snprintf(y, sizeof(y), "%.*s", (int)(d1 - s), s);
		snprintf(m, sizeof(m), "%.*s", (int)(d2 - d1 - 1), d1 + 1);
		snprintf(d, sizeof(d), "%s", d2 + 1);
	}
	memset(c->year, 0, sizeof(c->year));
	if (strcmp(y, "*") == 0) {
		memset(c->year, 0xff, sizeof(c->year));
	} else {
		uint64_t yb[40] = { 0 }; /* bits for 0..2559 */
		if (component(y, CAL_YEAR0, CAL_YEAR0 + CAL_YEARS - 1, yb) != 0)
			return -1;
		for (unsigned i = 0; i < CAL_YEARS; i++)
			if (getbit(yb, CAL_YEAR0 + i))
				setbit(c->year, i);
	}
	if (component(m, 1, 12, &mb) != 0 || component(d, 1, 31, &db) != 0)
		return -1;
	c->month = (uint16_t)mb;
	c->mday = (uint32_t)db;
	return 0;
}

static int
time_part(const char *s, struct conf_calendar *c)
{
	char h[64], m[64], sec[64];
	uint64_t hb = 0, mb = 0, sb = 0;
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	if (c1 == NULL || (size_t)(c1 - s) >= sizeof(h) || strlen(s) >= sizeof(h))
		return -1;
	snprintf(h, sizeof(h), "%.*s", (int)(c1 - s), s);
	if (c2 == NULL) {
		snprintf(m, sizeof(m), "%s", c1 + 1);
		snprintf(sec, sizeof(sec), "00");
	} else {
		snprintf(m, sizeof(m), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
		snprintf(sec, sizeof(sec), "%s", c2 + 1);
	}
	if (component(h, 0, 23, &hb) != 0 || component(m, 0, 59, &mb) != 0 ||
	    component(sec, 0, 59, &sb) != 0)
		return -1;
	c->hour = (uint32_t)hb;
	c->minute = mb;
	c->second = sb;
	return 0;
}

int
conf_calendar_parse(const char *s, struct conf_calendar *out, char *err, size_t errsz)
{
	static const struct { const char *name; const char *expr; } shorthands[] = {
		{ "minutely", "*-*-* *:*:00" },
		{ "hourly", "*-*-* *:00:00" },
		{ "daily", "*-*-* 00:00:00" },
		{ "weekly", "Mon *-*-* 00:00:00" },
		{ "monthly", "*-*-01 00:00:00" },
		{ "quarterly", "*-01,04,07,10-01 00:00:00" },
		{ "semiannually", "*-01,07-01 00:00:00" },
		{ "yearly", "*-01-01 00:00:00" },
		{ "annually", "*-01-01 00:00:00" },
	};
	struct conf_calendar c;
	char words[3][64];
	size_t nw = 0, wi = 0;
	const char *p = s;

	if (strlen(s) >= sizeof(c.text))
		return cal_bad(err, errsz, "too long", s);
	for (size_t i = 0; i < sizeof(shorthands) / sizeof(shorthands[0]); i++)
		if (strcasecmp(s, shorthands[i].name) == 0) {
			int e = conf_calendar_parse(shorthands[i].expr, out, err, errsz);
			snprintf(out->text, sizeof(out->text), "%s", s);
			return e;
		}
	if (strpbrk(s, "~@") != NULL)
		return cal_bad(err, errsz, "'~' (days from the end of the month) and '@' "
			       "timestamps are not supported", s);
	while (*p != '\0') {
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, " \t");
		if (nw == 3)
			return cal_bad(err, errsz, "too many words (a time zone is not supported)", s);
		if (len >= sizeof(words[0]))
			return cal_bad(err, errsz, "a part is too long", s);
		memcpy(words[nw], p, len);
		words[nw][len] = '\0';
		nw++;
		p += len;
	}
	if (nw == 0)
		return cal_bad(err, errsz, "empty", s);
	cal_all(&c);
	c.hour = 1;
	c.minute = 1;
	c.second = 1;
	if (wi < nw && words[wi][0] >= 'A') {
		if (weekdays(words[wi], &c.wday) != 0)
			return cal_bad(err, errsz, "bad weekday list (use Mon..Sun, ranges Mon..Fri, "
				       "lists Sat,Sun)", s);
		wi++;
	}
	if (wi < nw && strchr(words[wi], '-') != NULL && strchr(words[wi], ':') == NULL) {
		if (date_part(words[wi], &c) != 0)
			return cal_bad(err, errsz, "bad date (expected YEAR-MONTH-DAY such as *-*-01)", s);
		wi++;
	}
	if (wi < nw && strchr(words[wi], ':') != NULL) {
		if (strchr(words[wi], '.') != NULL && strstr(words[wi], "..") == NULL)
			return cal_bad(err, errsz, "fractional seconds are not supported", s);
		if (time_part(words[wi], &c) != 0)
			return cal_bad(err, errsz, "bad time (expected HOUR:MINUTE[:SECOND] such as "
				       "02:00 or *:0/15)", s);
		wi++;
	}
	if (wi != nw)
		return cal_bad(err, errsz, "not understood (a time zone is not supported)", s);
	snprintf(c.text, sizeof(c.text), "%s", s);
	*out = c;
	return 0;
}

static int
first_bit_from(uint64_t bits, unsigned from, unsigned hi)
{
	for (unsigned i = from; i <= hi; i++)
		if ((bits >> i) & 1)
			return (int)i;
	return -1;
}

int64_t
conf_calendar_next(const struct conf_calendar *cal, int64_t after)
{
	time_t t = (time_t)after;
	struct tm day;

	if (localtime_r(&t, &day) == NULL)
		return 0;
	for (int d = 0; d < 3700; d++) {
		struct tm tm = day;
		time_t base;
		int wd, y;

		tm.tm_mday += d;
		tm.tm_hour = 12; /* normalise the day away from DST edges */
		tm.tm_min = tm.tm_sec = 0;
		tm.tm_isdst = -1;
		if ((base = mktime(&tm)) == (time_t)-1)
			return 0;
		y = tm.tm_year + 1900 - CAL_YEAR0;
		wd = (tm.tm_wday + 6) % 7;
		if (y < 0 || y >= CAL_YEARS || !getbit(cal->year, (unsigned)y) ||
		    !((cal->month >> (tm.tm_mon + 1)) & 1) || !((cal->mday >> tm.tm_mday) & 1) ||
		    !((cal->wday >> wd) & 1))
			continue;
		for (int h = 0; h < 24; h++) {
			if (!((cal->hour >> h) & 1))
				continue;
			for (int m = first_bit_from(cal->minute, 0, 59); m >= 0;
			     m = first_bit_from(cal->minute, (unsigned)m + 1, 59)) {
				for (int s = first_bit_from(cal->second, 0, 59); s >= 0;
				     s = first_bit_from(cal->second, (unsigned)s + 1, 59)) {
					struct tm x = tm;
					time_t v;

					x.tm_hour = h;
					x.tm_min = m;
					x.tm_sec = s;
					x.tm_isdst = -1;
					if ((v = mktime(&x)) != (time_t)-1 && (int64_t)v > after &&
					    x.tm_hour == h)
						return (int64_t)v;
				}
			}
		}
		(void)base;
	}
	return 0;
}
