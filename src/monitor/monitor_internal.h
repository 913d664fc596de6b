/* Shared by the monitor's files; not part of its API. */
#ifndef MAMORI_MONITOR_INTERNAL_H
#define MAMORI_MONITOR_INTERNAL_H

#include "monitor/monitor.h"

/* Read env->root + path whole (at most max bytes), NUL-terminated. */
int mon_read(const struct mon_env *env, const char *path, size_t max, struct buf *out,
	     struct mm_ctx *c) MM_MUST_CHECK;
/* Append formatted text to r->message (truncating at its size). */
void mon_append(struct mon_result *r, const char *fmt, ...) MM_PRINTF(2, 3);
/* Prometheus labels: check="NAME"[,key="value"], values escaped. */
void mon_label(char *out, size_t n, const char *check, const char *key, const char *val);

/* A field with no blank, '%' or control byte: percent-encoded, "-" when
 * empty. Decoding is in place. */
int mon_pct_encode(struct buf *b, const char *s) MM_MUST_CHECK;
void mon_pct_decode(char *s);

/* "CRITICAL data-disk on HOST", "RECOVERY ...": an alert's one line. */
void mon_alert_summary(const struct mon_alert *a, char *out, size_t n);

extern const struct mon_probe mon_probe_disk, mon_probe_memory, mon_probe_cpu,
	mon_probe_network, mon_probe_raid, mon_probe_process, mon_probe_tcp, mon_probe_http,
	mon_probe_service, mon_probe_files, mon_probe_backups, mon_probe_time, mon_probe_logins;

#endif
