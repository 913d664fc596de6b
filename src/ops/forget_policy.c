/*
 * forget's retention policy: parsing, formatting and its decision, a pure
 * function over times and tags (forget.c applies it to a repository). A
 * file of its own so that reading a configuration (mamori-agent) does not
 * bring in the repository code.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/ops.h"

static const char *const reason_names[FORGET_REASONS] = {
	"last", "hourly", "daily", "weekly", "monthly", "yearly", "within", "tag",
};

const char *
forget_reason_name(unsigned i)
{
	return i < FORGET_REASONS ? reason_names[i] : "?";
}

void
forget_policy_release(struct forget_policy *p)
{
	for (size_t i = 0; i < p->ntags; i++)
		free(p->tags[i]);
	free(p->tags);
	memset(p, 0, sizeof(*p));
}

static int
duration_zero(const struct forget_duration *d)
{
	return d->years == 0 && d->months == 0 && d->days == 0 && d->hours == 0;
}

int
forget_policy_empty(const struct forget_policy *p)
{
	return p->last == 0 && p->hourly == 0 && p->daily == 0 && p->weekly == 0 &&
	       p->monthly == 0 && p->yearly == 0 && duration_zero(&p->within) && p->ntags == 0;
}

int
forget_policy_add_tag(struct forget_policy *p, const char *tags)
{
	char **nv, *t;

	if (tags[0] == '\0' || strlen(tags) > REPO_NAME_MAX)
		return MM_EINVAL;
	if ((t = strdup(tags)) == NULL)
		return MM_ENOMEM;
	if ((nv = realloc(p->tags, (p->ntags + 1) * sizeof(*nv))) == NULL) {
		free(t);
		return MM_ENOMEM;
	}
	p->tags = nv;
	p->tags[p->ntags++] = t;
	return 0;
}

int
forget_count_parse(const char *s, int *out)
{
	char *end;
	long v;

	if (strcmp(s, "unlimited") == 0) {
		*out = FORGET_UNLIMITED;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return MM_EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > FORGET_COUNT_MAX)
		return MM_EINVAL;
	*out = (int)v;
	return 0;
}

int
forget_duration_parse(const char *s, struct forget_duration *out)
{
	static const char units[] = "ymdh";
	struct forget_duration d = { 0, 0, 0, 0 };
	int *field[4] = { &d.years, &d.months, &d.days, &d.hours };
	size_t next = 0;

	if (*s == '\0')
		return MM_EINVAL;
	while (*s != '\0') {
		const char *u;
		char *end;
		long v;

		if (!isdigit((unsigned char)*s))
			return MM_EINVAL;
		errno = 0;
		v = strtol(s, &end, 10);
		if (errno != 0 || v > 1000000 || *end == '\0' ||
		    (u = strchr(units, *end)) == NULL)
			return MM_EINVAL;
		if ((size_t)(u - units) < next)
			return MM_EINVAL; /* out of order or repeated */
		next = (size_t)(u - units) + 1;
		*field[u - units] = (int)v;
		s = end + 1;
	}
	*out = d;
	return 0;
}

void
forget_duration_format(const struct forget_duration *d, char *out, size_t n)
{
	size_t len = 0;
	const int v[4] = { d->years, d->months, d->days, d->hours };

	if (n == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < 4; i++) {
		if (v[i] != 0 && len < n) {
			int w = snprintf(out + len, n - len, "%d%c", v[i], "ymdh"[i]);
			len += w > 0 ? (size_t)w : 0;
		}
	}
	if (out[0] == '\0')
		snprintf(out, n, "0h");
}

static int *
count_field(struct forget_policy *p, const char *rule)
{
	if (strcmp(rule, "last") == 0)
		return &p->last;
	if (strcmp(rule, "hourly") == 0)
		return &p->hourly;
	if (strcmp(rule, "daily") == 0)
		return &p->daily;
	if (strcmp(rule, "weekly") == 0)
		return &p->weekly;
	if (strcmp(rule, "monthly") == 0)
		return &p->monthly;
	if (strcmp(rule, "yearly") == 0)
		return &p->yearly;
	return NULL;
}

int
forget_policy_parse(const char *s, struct forget_policy *p, struct mm_ctx *c)
{
	char word[REPO_NAME_MAX + 16];

	while (*s != '\0') {
		size_t len;
		char *eq;
		int *cnt, e;

		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		for (len = 0; s[len] != '\0' && !isspace((unsigned char)s[len]); len++)
			;
		if (len >= sizeof(word))
			return mm_fail(c, MM_EINVAL, "keep policy: a word of %zu bytes is too long", len);
		memcpy(word, s, len);
		word[len] = '\0';
		s += len;
		if ((eq = strchr(word, '=')) == NULL)
			return mm_fail(c, MM_EINVAL, "keep policy: '%s' is not RULE=VALUE "
				       "(e.g. daily=14)", word);
		*eq++ = '\0';
		if ((cnt = count_field(p, word)) != NULL) {
			if (forget_count_parse(eq, cnt) != 0)
				return mm_fail(c, MM_EINVAL, "keep policy: %s=%s: the value must be "
					       "a count from 0 to %d or 'unlimited'", word, eq,
					       FORGET_COUNT_MAX);
		} else if (strcmp(word, "within") == 0) {
			if (forget_duration_parse(eq, &p->within) != 0)
				return mm_fail(c, MM_EINVAL, "keep policy: within=%s: the value must "
					       "be a duration such as 1y6m, 14d or 36h", eq);
		} else if (strcmp(word, "tag") == 0) {
			if ((e = forget_policy_add_tag(p, eq)) != 0)
				return mm_fail(c, e, "keep policy: tag=%s: %s", eq,
					       e == MM_EINVAL ? "empty or too long" : "out of memory");
		} else {
			return mm_fail(c, MM_EINVAL, "keep policy: unknown rule '%s' (last, hourly, "
				       "daily, weekly, monthly, yearly, within, tag)", word);
		}
	}
	return 0;
}

void
forget_policy_format(const struct forget_policy *p, char *out, size_t n)
{
	const char *names[6] = { "last", "hourly", "daily", "weekly", "monthly", "yearly" };
	const int v[6] = { p->last, p->hourly, p->daily, p->weekly, p->monthly, p->yearly };
	size_t len = 0;
	int w;

	if (n == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < 6 && len < n; i++) {
		if (v[i] == 0)
			continue;
		if (v[i] == FORGET_UNLIMITED)
			w = snprintf(out + len, n - len, "%s%s=unlimited", len ? " " : "", names[i]);
		else
			w = snprintf(out + len, n - len, "%s%s=%d", len ? " " : "", names[i], v[i]);
		len += w > 0 ? (size_t)w : 0;
	}
	if (!duration_zero(&p->within) && len < n) {
		char d[64];
		forget_duration_format(&p->within, d, sizeof(d));
		w = snprintf(out + len, n - len, "%swithin=%s", len ? " " : "", d);
		len += w > 0 ? (size_t)w : 0;
	}
	for (size_t i = 0; i < p->ntags && len < n; i++) {
		w = snprintf(out + len, n - len, "%stag=%s", len ? " " : "", p->tags[i]);
		len += w > 0 ? (size_t)w : 0;
	}
}

/* ---- the engine ---------------------------------------------------------- */

/* localtime_r and mktime read TZ: a switch of zone is done under this
 * mutex and undone before it is released. */
static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;

static time_t
sec_of(int64_t ns)
{
	int64_t s = ns / 1000000000;

	if (ns % 1000000000 < 0)
		s--;
	return (time_t)s;
}

/* ISO 8601 week: year * 100 + week. */
static long
iso_week(const struct tm *tm)
{
	int wday = (tm->tm_wday + 6) % 7; /* Monday 0 */
	int year = tm->tm_year + 1900;
	int thu = tm->tm_yday - wday + 3; /* day of the year of this week's Thursday */
	int leap, days;

	if (thu < 0) {
		year--;
		leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
		thu += leap ? 366 : 365;
	} else {
		leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
		days = leap ? 366 : 365;
		if (thu >= days) {
			thu -= days;
			year++;
		}
	}
	return (long)year * 100 + thu / 7 + 1;
}

struct bucket_rule {
	int count;
	long last;
	int used;
};

/* Newest first; equal times: the later position is newer. */
static int
order_cmp(const void *a, const void *b, void *arg)
{
	const struct forget_item *it = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (it[x].time_ns != it[y].time_ns)
		return it[x].time_ns > it[y].time_ns ? -1 : 1;
	return x > y ? -1 : x < y;
}

static int
has_tags(const struct forget_item *it, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		int found = 0;

		for (size_t i = 0; i < it->ntags && !found; i++)
			found = len > 0 && strlen(it->tags[i]) == len &&
				memcmp(it->tags[i], p, len) == 0;
		if (len > 0 && !found)
			return 0;
		p += len;
		if (*p == ',')
			p++;
	}
	return 1;
}

static void
apply_sorted(const struct forget_policy *p, struct forget_item *items, const size_t *order,
	     size_t n)
{
	struct bucket_rule rules[6] = {
		{ p->last, 0, 0 }, { p->hourly, 0, 0 }, { p->daily, 0, 0 },
		{ p->weekly, 0, 0 }, { p->monthly, 0, 0 }, { p->yearly, 0, 0 },
	};
	int64_t within_after = 0;
	int use_within = !duration_zero(&p->within);

	/* Threshold: the newest time moved back by calendar years, months and
	 * days in local time (mktime normalises 31 March - 1 month to 3 March,
	 * as restic's Go AddDate does), then by hours; kept if strictly newer. */
	if (use_within && n > 0) {
		int64_t newest = items[order[0]].time_ns;
		time_t t = sec_of(newest);
		struct tm tm;

		localtime_r(&t, &tm);
		tm.tm_year -= p->within.years;
		tm.tm_mon -= p->within.months;
		tm.tm_mday -= p->within.days;
		tm.tm_isdst = -1;
		within_after = ((int64_t)mktime(&tm) - (int64_t)p->within.hours * 3600) * 1000000000 +
			       (newest - (int64_t)t * 1000000000);
	}
	for (size_t k = 0; k < n; k++) {
		struct forget_item *it = &items[order[k]];
		time_t t = sec_of(it->time_ns);
		struct tm tm;
		long v[6];

		localtime_r(&t, &tm);
		v[0] = (long)k; /* every snapshot is its own "last" bucket */
		v[1] = ((long)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday) * 100 +
		       tm.tm_hour;
		v[2] = (long)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
		v[3] = iso_week(&tm);
		v[4] = (long)(tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
		v[5] = tm.tm_year + 1900;
		it->reasons = 0;
		for (size_t i = 0; i < 6; i++) {
			struct bucket_rule *b = &rules[i];
			if (b->count == 0 || (b->used && b->last == v[i]))
				continue;
			it->reasons |= 1u << i;
			b->used = 1;
			b->last = v[i];
			if (b->count > 0)
				b->count--;
		}
		if (use_within && it->time_ns > within_after)
			it->reasons |= FORGET_KEEP_WITHIN;
		for (size_t i = 0; i < p->ntags; i++)
			if (has_tags(it, p->tags[i]))
				it->reasons |= FORGET_KEEP_TAG;
	}
}

int
forget_apply(const struct forget_policy *p, const char *tz, struct forget_item *items, size_t n,
	     struct mm_ctx *c)
{
	char *saved = NULL;
	size_t *order;
	int had = 0;

	if (forget_policy_empty(p))
		return mm_fail(c, MM_EINVAL, "the policy keeps nothing: give a --keep-* rule "
			       "(or --keep-none to forget every snapshot)");
	if ((order = malloc((n ? n : 1) * sizeof(*order))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), order_cmp, items);
	if (tz != NULL) {
		const char *cur;

		pthread_mutex_lock(&tz_mu);
		cur = getenv("TZ");
		had = cur != NULL;
		if ((had && (saved = strdup(cur)) == NULL) || setenv("TZ", tz, 1) != 0) {
			pthread_mutex_unlock(&tz_mu);
			free(saved);
			free(order);
			return mm_fail(c, MM_ENOMEM, "out of memory");
		}
		tzset();
	}
	apply_sorted(p, items, order, n);
	if (tz != NULL) {
		if (had)
			(void)setenv("TZ", saved, 1);
		else
			(void)unsetenv("TZ");
		tzset();
		pthread_mutex_unlock(&tz_mu);
	}
	free(saved);
	free(order);
	return 0;
}

int
forget_group_parse(const char *s, unsigned *out)
{
	if (strcmp(s, "host,paths") == 0 || strcmp(s, "paths,host") == 0)
		*out = FORGET_GROUP_HOST | FORGET_GROUP_PATHS;
	else if (strcmp(s, "host") == 0)
		*out = FORGET_GROUP_HOST;
	else if (strcmp(s, "paths") == 0)
		*out = FORGET_GROUP_PATHS;
	else if (strcmp(s, "none") == 0 || s[0] == '\0')
		*out = 0;
	else
		return MM_EINVAL;
	return 0;
}
