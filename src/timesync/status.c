/* The kernel clock state (adjtimex) and the time daemons that run. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

#include "timesync/timesync.h"

void
ts_kernel_from_timex(const struct timex *t, int state, struct ts_kernel *k)
{
	double unit = (t->status & STA_NANO) ? 1e-9 : 1e-6;

	memset(k, 0, sizeof(*k));
	k->state = state;
	k->synchronised = !(t->status & STA_UNSYNC) && state != TIME_ERROR;
	k->offset = (double)t->offset * unit;
	k->freq_ppm = (double)t->freq / 65536.0;
	k->est_error = (double)t->esterror * 1e-6;
	k->max_error = (double)t->maxerror * 1e-6;
	k->tai = t->tai;
	k->pll = !(t->status & STA_FLL);
	k->nano = (t->status & STA_NANO) != 0;
	k->ppsfreq = (t->status & STA_PPSFREQ) != 0;
	switch (state) {
	case TIME_INS: k->leap = "insert"; break;
	case TIME_DEL: k->leap = "delete"; break;
	case TIME_OOP: k->leap = "in progress"; break;
	case TIME_WAIT: k->leap = "done"; break;
	default:
		k->leap = (t->status & STA_INS) ? "insert" : (t->status & STA_DEL) ? "delete" : "none";
	}
}

int
ts_kernel_read(struct ts_kernel *out, struct mm_ctx *c)
{
	struct timex t;
	int st;

	memset(&t, 0, sizeof(t)); /* modes 0: read only, changes nothing */
	if ((st = adjtimex(&t)) < 0)
		return mm_fail_errno(c, errno, "adjtimex");
	ts_kernel_from_timex(&t, st, out);
	return 0;
}

const char *
ts_daemon_name(unsigned bit)
{
	switch (bit) {
	case TS_DAEMON_CHRONYD: return "chronyd";
	case TS_DAEMON_NTPD: return "ntpd";
	case TS_DAEMON_TIMESYNCD: return "systemd-timesyncd";
	case TS_DAEMON_OPENNTPD: return "openntpd";
	default: return "?";
	}
}

/* The first bytes of a /proc file, NUL-terminated, NULs as spaces. */
static size_t
read_small(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t k;

	if (f == NULL)
		return 0;
	k = fread(out, 1, n - 1, f);
	fclose(f);
	out[k] = '\0';
	for (size_t i = 0; i < k; i++) {
		if (out[i] == '\0')
			out[i] = ' ';
	}
	return k;
}

unsigned
ts_daemons_running(const char *proc, struct ts_kernel *k)
{
	DIR *d;
	struct dirent *de;
	unsigned found = 0;

	if (proc == NULL)
		proc = "/proc";
	if ((d = opendir(proc)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[512], comm[64], cmd[128];
		unsigned bit = 0;
		long pid;
		char *end;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid > 1 << 30)
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", proc, de->d_name);
		if (read_small(path, comm, sizeof(comm)) == 0)
			continue;
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, "chronyd") == 0) {
			bit = TS_DAEMON_CHRONYD;
		} else if (strcmp(comm, "systemd-timesyn") == 0 ||
			   strcmp(comm, "systemd-timesyncd") == 0) {
			bit = TS_DAEMON_TIMESYNCD;
		} else if (strcmp(comm, "ntpd") == 0 || strcmp(comm, "openntpd") == 0) {
			/* OpenNTPD's processes retitle themselves "ntpd: ntp engine". */
			snprintf(path, sizeof(path), "%s/%s/cmdline", proc, de->d_name);
			read_small(path, cmd, sizeof(cmd));
			bit = strcmp(comm, "openntpd") == 0 || strncmp(cmd, "ntpd: ", 6) == 0
				      ? TS_DAEMON_OPENNTPD : TS_DAEMON_NTPD;
		}
		if (bit == 0 || (found & bit))
			continue;
		found |= bit;
		if (k) {
			if (bit == TS_DAEMON_CHRONYD) k->pid_chronyd = (int)pid;
			if (bit == TS_DAEMON_NTPD) k->pid_ntpd = (int)pid;
			if (bit == TS_DAEMON_TIMESYNCD) k->pid_timesyncd = (int)pid;
			if (bit == TS_DAEMON_OPENNTPD) k->pid_openntpd = (int)pid;
		}
	}
	closedir(d);
	if (k)
		k->daemons = found;
	return found;
}

int
ts_kernel_exit(const struct ts_kernel *k)
{
	return k->synchronised ? 0 : 1;
}
