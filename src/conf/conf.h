/*
 * conf: the configuration file (/etc/mamori/mamori.conf, docs/config.md).
 * INI syntax read by libinih, checked against a schema that modules fill:
 * each module registers its section kinds ("repository", "dataset",
 * "monitor", ...) with a table of keys, each key with a type. Unknown
 * sections and keys, duplicate sections and keys, and values of the wrong
 * type are errors naming the file, the line and what is expected.
 *
 * Also here, for every module that reads the file: the value parsers
 * (durations, sizes, percentages, argument vectors) and a calendar (the
 * common subset of systemd's OnCalendar syntax).
 */
#ifndef MAMORI_CONF_H
#define MAMORI_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ---- value parsers ------------------------------------------------------- */

/* "90s", "15m", "1h", "7d", "2w", or several: "1h30m". Seconds into *out.
 * Returns 0 or MM_EINVAL with the reason in err. */
int conf_parse_duration(const char *s, int64_t *out, char *err, size_t errsz) MM_MUST_CHECK;
/* "512", "64K", "10MiB", "1.5G" (powers of 1024), "10MB" (powers of 1000). */
int conf_parse_size(const char *s, uint64_t *out, char *err, size_t errsz) MM_MUST_CHECK;
/* "5%", "0.5%": 0..100 into *out (the '%' is required). */
int conf_parse_percent(const char *s, double *out, char *err, size_t errsz) MM_MUST_CHECK;
/* "42": a decimal integer in [min, max]. */
int conf_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char *err,
		   size_t errsz) MM_MUST_CHECK;
/* Format seconds back as the largest exact units: "1h30m", "90s", "0s". */
void conf_format_duration(int64_t secs, char *out, size_t n);

/*
 * Split a command line into an argument vector, never through a shell:
 * words are separated by blanks; '...' is literal; "..." is literal except
 * \" and \\; outside quotes a backslash takes the next character literally.
 * Unquoted | & < > $ ` ( ) are refused (they would mean something to a
 * shell, and there is none). *argv is a NULL-terminated new allocation
 * (free with conf_argv_free); *argc its length.
 */
int conf_split_argv(const char *s, char ***argv, size_t *argc, char *err,
		    size_t errsz) MM_MUST_CHECK;
void conf_argv_free(char **argv);

/* ---- calendar (systemd.time(7) OnCalendar, common subset) ---------------- */
struct conf_calendar {
	uint8_t wday;      /* bit 0 Monday .. bit 6 Sunday */
	uint64_t year[4];  /* bit i: year 2000 + i (2000..2255) */
	uint16_t month;    /* bit 1..12 */
	uint32_t mday;     /* bit 1..31 */
	uint32_t hour;     /* bit 0..23 */
	uint64_t minute;   /* bit 0..59 */
	uint64_t second;   /* bit 0..59 */
	char text[128];    /* as written */
};
/*
 * Accepted: minutely, hourly, daily, weekly, monthly, quarterly,
 * semiannually, yearly, annually; or "[WEEKDAYS] [Y-M-D] [H:M[:S]]" where
 * WEEKDAYS is a comma list of Mon..Sun names or NAME..NAME ranges, and each
 * date and time component is '*', a number, a range A..B, a list A,B, or
 * any of these with /STEP. Missing date: every day; missing time: 00:00:00.
 * Refused with a message: '~' (days from the month's end), time zones,
 * fractional seconds, '@' timestamps, and anything else.
 */
int conf_calendar_parse(const char *s, struct conf_calendar *out, char *err,
			size_t errsz) MM_MUST_CHECK;
/* The first time strictly after `after` (seconds since the epoch, local
 * time zone) that matches; 0 when none within 10 years. */
int64_t conf_calendar_next(const struct conf_calendar *cal, int64_t after);

/* ---- schema -------------------------------------------------------------- */
enum conf_type {
	CONF_STRING,   /* any text */
	CONF_INT,      /* decimal integer in [min, max] */
	CONF_DURATION, /* conf_parse_duration: v.i in seconds */
	CONF_SIZE,     /* conf_parse_size: v.u */
	CONF_PERCENT,  /* conf_parse_percent: v.d */
	CONF_LIST,     /* words split as conf_split_argv: v.argv/v.argc */
	CONF_COMMAND,  /* the same, non-empty, run without a shell */
	CONF_CALENDAR, /* conf_calendar_parse: v.cal */
};

struct conf_value;
/* Extra validation of a parsed value: 0, or MM_EINVAL with what is
 * expected written into err (the caller adds file and line). */
typedef int (*conf_check_fn)(const struct conf_value *v, char *err, size_t errsz);

struct conf_key {
	const char *name;
	enum conf_type type;
	int required;
	int64_t min, max;    /* CONF_INT only */
	conf_check_fn check; /* may be NULL */
	const char *expect;  /* words for messages: "a duration such as 1h" */
};

struct conf_kind {
	const char *name;    /* "dataset": sections [dataset NAME] */
	int named;           /* 1: [KIND NAME] required; 0: [KIND] only */
	const struct conf_key *keys;
	size_t nkeys;
};

#define CONF_KINDS_MAX 32
struct conf_schema {
	const struct conf_kind *kinds[CONF_KINDS_MAX];
	size_t n;
};
#define CONF_SCHEMA_INIT { { NULL }, 0 }
/* Register a section kind (the table must outlive the schema). MM_EEXIST
 * when the name is taken, MM_ELIMIT when the schema is full. */
int conf_schema_add(struct conf_schema *s, const struct conf_kind *k) MM_MUST_CHECK;

/* ---- a parsed file ------------------------------------------------------- */
struct conf_value {
	const struct conf_key *key;
	unsigned line;
	char *raw;         /* the text as written */
	int64_t i;
	uint64_t u;
	double d;
	char **argv;
	size_t argc;
	struct conf_calendar cal;
};

struct conf_section {
	const struct conf_kind *kind;
	char *name;        /* NULL for unnamed kinds */
	unsigned line;
	struct conf_value *vals;
	size_t nvals;
};

struct conf {
	char *path;
	struct conf_section *secs;
	size_t nsecs;
};
#define CONF_INIT { NULL, NULL, 0 }

/* Section names: 1..64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
#define CONF_NAME_MAX 64
/* A line longer than this (libinih's line buffer, 200 bytes with the
 * newline and NUL) is an error; continue long values on indented lines. */
#define CONF_LINE_MAX 198
#define CONF_FILE_MAX (1024u * 1024)

/*
 * Parse the file at path against the schema. Errors: MM_ENOENT/MM_EIO (the
 * file), MM_ECONFIG with "FILE:LINE: what is wrong; what is expected".
 */
int conf_load(const struct conf_schema *s, const char *path, struct conf *out,
	      struct mm_ctx *c) MM_MUST_CHECK;
/* The same over text in memory; `name` stands for the file in messages. */
int conf_load_string(const struct conf_schema *s, const char *name, const char *text,
		     struct conf *out, struct mm_ctx *c) MM_MUST_CHECK;
void conf_release(struct conf *cf);

/* The value of key in section sec, or NULL when not set. */
const struct conf_value *conf_get(const struct conf_section *sec, const char *key);
/* The section of kind with name (NULL for unnamed kinds), or NULL. */
const struct conf_section *conf_find(const struct conf *cf, const char *kind,
				     const char *name);

#endif
