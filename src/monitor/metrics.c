/*
 * Output of a cycle: Prometheus text exposition (base units, _bytes,
 * _seconds, _total, one HELP and TYPE per family) and the one-line status
 * of the monitoring plugins (Nagios, Icinga).
 */
#include <math.h>
#include <string.h>

#include "monitor/monitor_internal.h"

struct family {
	const char *name, *type, *help;
};

static const struct family families[] = {
	{ "mamori_check_state", "gauge", "State of each check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN." },
	{ "mamori_check_value", "gauge", "The value each check judges, in the probe's base unit (percent for percentage thresholds)." },
	{ "mamori_monitor_cycle_seconds", "gauge", "How long the last cycle of every probe took." },
	{ "mamori_filesystem_size_bytes", "gauge", "Size of the file system." },
	{ "mamori_filesystem_free_bytes", "gauge", "Free space, including what is reserved for root." },
	{ "mamori_filesystem_avail_bytes", "gauge", "Space available to unprivileged users." },
	{ "mamori_filesystem_files", "gauge", "Inodes of the file system." },
	{ "mamori_filesystem_files_free", "gauge", "Free inodes." },
	{ "mamori_filesystem_readonly", "gauge", "1 when the file system is mounted read-only." },
	{ "mamori_filesystem_growth_bytes_per_second", "gauge", "Growth of used space over the last hours (least squares)." },
	{ "mamori_memory_total_bytes", "gauge", "MemTotal." },
	{ "mamori_memory_available_bytes", "gauge", "MemAvailable: memory that can be had without swapping." },
	{ "mamori_swap_total_bytes", "gauge", "SwapTotal." },
	{ "mamori_swap_free_bytes", "gauge", "SwapFree." },
	{ "mamori_oom_kills_total", "counter", "Processes killed by the kernel's out-of-memory killer since boot." },
	{ "mamori_cpu_busy_ratio", "gauge", "Share of CPU time not idle and not waiting for I/O over the interval." },
	{ "mamori_cpu_iowait_ratio", "gauge", "Share of CPU time waiting for I/O over the interval." },
	{ "mamori_cpu_steal_ratio", "gauge", "Share of CPU time taken by the hypervisor over the interval." },
	{ "mamori_cpu_cores", "gauge", "Online CPUs." },
	{ "mamori_load1_per_core", "gauge", "One-minute load average divided by the CPUs." },
	{ "mamori_network_up", "gauge", "1 when the interface has a link." },
	{ "mamori_network_receive_errors_total", "counter", "Receive errors of the interface." },
	{ "mamori_network_transmit_errors_total", "counter", "Transmit errors of the interface." },
	{ "mamori_network_receive_drop_total", "counter", "Received packets dropped." },
	{ "mamori_network_transmit_drop_total", "counter", "Packets dropped before transmission." },
	{ "mamori_tcp_up", "gauge", "1 when a TCP connection to the service succeeded." },
	{ "mamori_tcp_connect_seconds", "gauge", "Time to connect to the service." },
	{ "mamori_http_up", "gauge", "1 when the URL answered with the expected status." },
	{ "mamori_http_status", "gauge", "HTTP status of the last request (0: no answer)." },
	{ "mamori_http_duration_seconds", "gauge", "Time of the whole request." },
	{ "mamori_service_active", "gauge", "1 when the systemd unit is active." },
	{ "mamori_processes", "gauge", "Processes running with that name." },
	{ "mamori_md_arrays", "gauge", "md RAID arrays looked at." },
	{ "mamori_watched_files_changed", "gauge", "Watched files that differ from their baseline." },
	{ "mamori_backup_state", "gauge", "The policy's verdict for the dataset: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN." },
	{ "mamori_backup_age_seconds", "gauge", "Age of the dataset's newest snapshot." },
	{ "mamori_backup_rpo_seconds", "gauge", "The dataset's recovery point objective." },
	{ "mamori_backup_check_ok", "gauge", "1 when the last check of the dataset's repository passed." },
	{ "mamori_backup_drill_ok", "gauge", "1 when the last restore drill of the dataset passed." },
	{ "mamori_backup_drill_restore_seconds", "gauge", "Projected time to restore the whole dataset, from its last drill." },
	{ "mamori_login_failures", "gauge", "Failed logins of the user from the address since the last cycle." },
	{ "mamori_logins", "gauge", "Successful logins of the user from the address since the last cycle." },
	{ "mamori_time_synchronised", "gauge", "1 when the kernel clock is synchronised." },
	{ "mamori_time_offset_seconds", "gauge", "The kernel's estimate of the clock offset." },
	{ "mamori_time_max_error_seconds", "gauge", "The kernel's maximum error of the clock." },
	{ "mamori_time_server_offset_seconds", "gauge", "Combined offset of the servers measured (positive: this clock is behind)." },
};

static const struct family *
family_of(const char *name)
{
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strcmp(families[i].name, name) == 0)
			return &families[i];
	return NULL;
}

static void
sample(FILE *f, const char *name, const char *labels, double v)
{
	if (isnan(v))
		fprintf(f, "%s{%s} NaN\n", name, labels);
	else if (isinf(v))
		fprintf(f, "%s{%s} %s\n", name, labels, v > 0 ? "+Inf" : "-Inf");
	else
		fprintf(f, "%s{%s} %.17g\n", name, labels, v);
}

static void
header(FILE *f, const struct family *fam)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, fam->type);
}

int
mon_metrics_write(const struct mon_config *mc, const struct mon_cycle *cy, FILE *f)
{
	char lab[256];

	(void)mc;
	header(f, family_of("mamori_check_state"));
	for (size_t i = 0; i < cy->n; i++) {
		const struct mon_checkrun *cr = &cy->runs[i];
		mon_label(lab, sizeof(lab), cr->check->name, "type", cr->check->probe->type);
		sample(f, "mamori_check_state", lab, cr->raw);
	}
	header(f, family_of("mamori_check_value"));
	for (size_t i = 0; i < cy->n; i++) {
		const struct mon_checkrun *cr = &cy->runs[i];
		if (!cr->res.judged)
			continue;
		mon_label(lab, sizeof(lab), cr->check->name, "type", cr->check->probe->type);
		sample(f, "mamori_check_value", lab, cr->res.pct >= 0 ? cr->res.pct : cr->res.value);
	}
	header(f, family_of("mamori_monitor_cycle_seconds"));
	fprintf(f, "mamori_monitor_cycle_seconds %.6f\n", cy->seconds);
	/* Probe metrics, one family at a time, in the order of the table. */
	for (size_t k = 3; k < sizeof(families) / sizeof(families[0]); k++) {
		int any = 0;
		for (size_t i = 0; i < cy->n; i++)
			for (size_t m = 0; m < cy->runs[i].res.nmetrics; m++) {
				const struct mon_metric *mt = &cy->runs[i].res.metrics[m];
				if (strcmp(mt->name, families[k].name) != 0)
					continue;
				if (!any++)
					header(f, &families[k]);
				sample(f, mt->name, mt->labels, mt->value);
			}
	}
	return ferror(f) ? MM_EIO : 0;
}

/* Perfdata labels: quoted when they hold spaces or '=' (plugin guidelines). */
static void
perf_label(FILE *f, const char *name)
{
	if (strpbrk(name, " ='") != NULL) {
		fputc('\'', f);
		for (; *name; name++)
			if (*name != '\'')
				fputc(*name, f);
		fputc('\'', f);
	} else {
		fputs(name, f);
	}
}

void
mon_nagios_write(const struct mon_cycle *cy, FILE *f)
{
	enum mon_state w = mon_cycle_worst(cy);
	size_t bad = 0;

	fprintf(f, "MAMORI MONITOR %s - ", mon_state_name(w));
	for (size_t i = 0; i < cy->n; i++)
		if (cy->runs[i].raw != MON_OK)
			bad++;
	if (bad == 0)
		fprintf(f, "%zu check%s OK", cy->n, cy->n == 1 ? "" : "s");
	for (size_t i = 0, shown = 0; i < cy->n; i++) {
		const struct mon_checkrun *cr = &cy->runs[i];
		if (cr->raw == MON_OK)
			continue;
		fprintf(f, "%s%s %s: %s", shown++ ? "; " : "", cr->check->name,
			mon_state_name(cr->raw), cr->res.message);
	}
	/* No "|" without perfdata (monitoring-plugins guidelines). */
	for (size_t i = 0, shown = 0; i < cy->n; i++) {
		const struct mon_checkrun *cr = &cy->runs[i];
		const struct mon_check *k = cr->check;
		int pct = mon_shows_percent(k, &cr->res);
		if (!cr->res.judged)
			continue;
		fputs(shown++ ? " " : " | ", f);
		perf_label(f, k->name);
		if (pct)
			fprintf(f, "=%.2f%%;", cr->res.pct);
		else
			fprintf(f, "=%.6g%s;", cr->res.value, strcmp(cr->res.unit, "s") == 0 ? "s" :
				strcmp(cr->res.unit, "bytes") == 0 ? "B" : "");
		if (k->warn.set && k->warn.pct == pct)
			fprintf(f, "%g", k->warn.value);
		fputc(';', f);
		if (k->crit.set && k->crit.pct == pct)
			fprintf(f, "%g", k->crit.value);
		fputs(pct ? ";0;100" : ";;", f);
	}
	fputc('\n', f);
}
