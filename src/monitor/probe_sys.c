/*
 * Probes of the host itself: disk, memory, cpu, network interface, md RAID
 * and processes. They read /proc, /sys and statvfs under env->root, so a
 * test can hand them recorded files.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "monitor/monitor_internal.h"

/* ---- disk ------------------------------------------------------------------ */

static int
real_statfs(const char *path, struct mon_fs *out)
{
	struct statvfs sv;

	if (statvfs(path, &sv) != 0)
		return -errno;
	out->size = (uint64_t)sv.f_blocks * sv.f_frsize;
	out->free = (uint64_t)sv.f_bfree * sv.f_frsize;
	out->avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	out->files = sv.f_files;
	out->ffree = sv.f_ffree;
	out->readonly = (sv.f_flag & ST_RDONLY) != 0;
	return 0;
}

#define DISK_HIST_MAX 48
#define DISK_HIST_SPAN (6 * 3600) /* the forecast looks at the last 6 hours */

/* Growth in bytes per second from the history "t:used t:used ..." plus now,
 * by least squares; 0 when there is too little to tell. The new history is
 * written to hist_out. */
static double
disk_growth(const char *hist, int64_t now, uint64_t used, char *hist_out, size_t n)
{
	int64_t ts[DISK_HIST_MAX + 1];
	double us[DISK_HIST_MAX + 1];
	size_t k = 0, off = 0;
	const char *p = hist ? hist : "";
	double mt = 0, mu = 0, sxy = 0, sxx = 0;

	while (*p && k < DISK_HIST_MAX) {
		char *end;
		long long t = strtoll(p, &end, 10);
		if (*end != ':')
			break;
		double u = strtod(end + 1, &end);
		if (t > now - DISK_HIST_SPAN && t < now) {
			ts[k] = t;
			us[k] = u;
			k++;
		}
		p = end;
		while (*p == ' ')
			p++;
	}
	/* Keep at most DISK_HIST_MAX samples: drop the oldest. */
	if (k == DISK_HIST_MAX) {
		memmove(ts, ts + 1, (k - 1) * sizeof(ts[0]));
		memmove(us, us + 1, (k - 1) * sizeof(us[0]));
		k--;
	}
	ts[k] = now;
	us[k] = (double)used;
	k++;
	hist_out[0] = '\0';
	for (size_t i = 0; i < k && off < n; i++)
		off += (size_t)snprintf(hist_out + off, n - off, "%s%lld:%.0f", i ? " " : "",
					(long long)ts[i], us[i]);
	if (k < 3 || ts[k - 1] - ts[0] < 60)
		return 0;
	for (size_t i = 0; i < k; i++) {
		mt += (double)(ts[i] - ts[0]);
		mu += us[i];
	}
	mt /= (double)k;
	mu /= (double)k;
	for (size_t i = 0; i < k; i++) {
		double dx = (double)(ts[i] - ts[0]) - mt;
		sxy += dx * (us[i] - mu);
		sxx += dx * dx;
	}
	return sxx > 0 ? sxy / sxx : 0;
}

static void
fmt_eta(double secs, char *out, size_t n)
{
	if (secs < 3600)
		snprintf(out, n, "%.0f min", ceil(secs / 60));
	else if (secs < 2 * 86400)
		snprintf(out, n, "%.0f h", round(secs / 3600));
	else
		snprintf(out, n, "%.0f days", round(secs / 86400));
}

static int
probe_disk(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	   struct mon_result *out, struct mm_ctx *c)
{
	struct mon_fs fs = { 0 };
	char lab[256], hist[DISK_HIST_MAX * 40], freeb[32], rate[128] = "", eta[32];
	uint64_t used, denom;
	double growth, ipct = 0;
	int64_t now = mm_clock_now(&env->clock) / 1000000000;
	int e;

	e = env->statfs ? env->statfs(env->arg, k->target, &fs) : real_statfs(k->target, &fs);
	if (e != 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "cannot read the file system of %s: %s",
			 k->target, strerror(-e));
		return 0;
	}
	used = fs.size - fs.free;
	denom = used + fs.avail;
	out->pct = denom ? (double)used * 100.0 / (double)denom : 0;
	out->value = (double)fs.avail;
	out->judged = 1;
	snprintf(out->unit, sizeof(out->unit), "bytes");
	if (fs.files > 0)
		ipct = (double)(fs.files - fs.ffree) * 100.0 / (double)fs.files;
	growth = disk_growth(mon_memo_get(memo, "hist"), now, used, hist, sizeof(hist));
	if ((e = mon_memo_set(memo, "hist", hist)) != 0)
		return mm_fail(c, e, "out of memory");
	fmt_bytes(fs.avail, freeb, sizeof(freeb));
	if (growth > 0) {
		char g[32];
		fmt_bytes((uint64_t)(growth * 3600), g, sizeof(g));
		fmt_eta((double)fs.avail / growth, eta, sizeof(eta));
		snprintf(rate, sizeof(rate), ", +%s/h, full in about %s", g, eta);
	}
	snprintf(out->message, sizeof(out->message), "%s %.0f %% full (%s free)%s%s", k->target,
		 ceil(out->pct), freeb, rate, fs.readonly ? "; mounted read-only" : "");
	if (fs.readonly) {
		out->state = MON_CRITICAL;
		mon_append(out, " (the kernel remounts a file system read-only after I/O "
			   "errors: see `dmesg` and check the disk)");
	}
	if (ipct >= out->pct && ipct >= 50) {
		/* Running out of inodes looks like a full disk to programs. */
		mon_append(out, "; inodes %.0f %% used", floor(ipct));
		if (ipct > out->pct) {
			out->pct = ipct;
			mon_append(out, " (many small files: inodes run out before space)");
		}
	}
	mon_label(lab, sizeof(lab), k->name, "path", k->target);
	if ((e = mon_metric_add(out, "mamori_filesystem_size_bytes", lab, (double)fs.size)) ||
	    (e = mon_metric_add(out, "mamori_filesystem_free_bytes", lab, (double)fs.free)) ||
	    (e = mon_metric_add(out, "mamori_filesystem_avail_bytes", lab, (double)fs.avail)) ||
	    (e = mon_metric_add(out, "mamori_filesystem_files", lab, (double)fs.files)) ||
	    (e = mon_metric_add(out, "mamori_filesystem_files_free", lab, (double)fs.ffree)) ||
	    (e = mon_metric_add(out, "mamori_filesystem_readonly", lab, fs.readonly)) ||
	    (e = mon_metric_add(out, "mamori_filesystem_growth_bytes_per_second", lab, growth)))
		return mm_fail(c, e, "out of memory");
	return 0;
}

/* ---- memory ------------------------------------------------------------------- */

/* "Name:   1234 kB" from meminfo-like text, in bytes; -1 if absent. */
static double
kv_kb(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ':')
			return strtod(p + n + 1, NULL) * 1024.0;
	return -1;
}

/* "name 1234" lines (/proc/vmstat); -1 if absent. */
static double
kv_num(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static int
probe_memory(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	     struct mon_result *out, struct mm_ctx *c)
{
	struct buf mi = BUF_INIT, vm = BUF_INIT;
	double total, avail, stotal, sfree, oom = -1, prev;
	char lab[256], a[32], t[32], num[32];
	const char *p;
	int e;

	if ((e = mon_read(env, "/proc/meminfo", 1 << 20, &mi, c)) != 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "%.700s", c->msg);
		e = 0;
		goto out;
	}
	total = kv_kb((char *)mi.data, "MemTotal");
	avail = kv_kb((char *)mi.data, "MemAvailable");
	stotal = kv_kb((char *)mi.data, "SwapTotal");
	sfree = kv_kb((char *)mi.data, "SwapFree");
	if (total <= 0 || avail < 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "/proc/meminfo has no MemTotal or "
			 "MemAvailable (a kernel older than 3.14?)");
		goto out;
	}
	if (mon_read(env, "/proc/vmstat", 1 << 20, &vm, NULL) == 0)
		oom = kv_num((char *)vm.data, "oom_kill");
	out->judged = 1;
	out->value = avail;
	out->pct = (total - avail) * 100.0 / total;
	snprintf(out->unit, sizeof(out->unit), "bytes");
	fmt_bytes((uint64_t)avail, a, sizeof(a));
	fmt_bytes((uint64_t)total, t, sizeof(t));
	snprintf(out->message, sizeof(out->message), "memory %.0f %% used (%s available of %s)",
		 floor(out->pct), a, t);
	if (stotal > 0) {
		double spct = (stotal - sfree) * 100.0 / stotal;
		mon_append(out, ", swap %.0f %% used", floor(spct));
		if (spct >= 50 && out->pct >= 80)
			mon_append(out, " (the system is swapping: a process uses more memory "
				   "than there is; see the largest in `ps aux --sort=-rss`)");
	}
	p = mon_memo_get(memo, "oom");
	prev = p ? strtod(p, NULL) : -1;
	if (oom >= 0 && prev >= 0 && oom > prev) {
		out->state = MON_CRITICAL;
		mon_append(out, "; the kernel's out-of-memory killer ended %.0f process%s since "
			   "the last cycle (`journalctl -k | grep -i oom` names them)", oom - prev,
			   oom - prev == 1 ? "" : "es");
	}
	if (oom >= 0) {
		snprintf(num, sizeof(num), "%.0f", oom);
		if ((e = mon_memo_set(memo, "oom", num)) != 0)
			goto nomem;
	}
	mon_label(lab, sizeof(lab), k->name, NULL, NULL);
	if ((e = mon_metric_add(out, "mamori_memory_total_bytes", lab, total)) ||
	    (e = mon_metric_add(out, "mamori_memory_available_bytes", lab, avail)) ||
	    (e = mon_metric_add(out, "mamori_swap_total_bytes", lab, stotal > 0 ? stotal : 0)) ||
	    (e = mon_metric_add(out, "mamori_swap_free_bytes", lab, sfree > 0 ? sfree : 0)))
		goto nomem;
	if (oom >= 0 && (e = mon_metric_add(out, "mamori_oom_kills_total", lab, oom)) != 0)
		goto nomem;
	e = 0;
	goto out;
nomem:
	e = mm_fail(c, e, "out of memory");
out:
	buf_release(&mi);
	buf_release(&vm);
	return e;
}

/* ---- cpu ----------------------------------------------------------------------- */

struct cpu_times {
	double total, idle, iowait, steal;
	unsigned cores;
};

static int
read_cpu(const struct mon_env *env, struct cpu_times *t, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	double v[10] = { 0 };
	char *p, *end;
	int e;

	memset(t, 0, sizeof(*t));
	if ((e = mon_read(env, "/proc/stat", 4 << 20, &b, c)) != 0)
		return e;
	p = (char *)b.data;
	if (strncmp(p, "cpu ", 4) != 0) {
		buf_release(&b);
		return mm_fail(c, MM_EIO, "/proc/stat does not start with a cpu line");
	}
	p += 4;
	for (int i = 0; i < 10; i++) {
		v[i] = strtod(p, &end);
		if (end == p)
			break;
		p = end;
	}
	/* user nice system idle iowait irq softirq steal guest guest_nice: guest
	 * time is already counted in user and nice. */
	for (int i = 0; i < 8; i++)
		t->total += v[i];
	t->idle = v[3];
	t->iowait = v[4];
	t->steal = v[7];
	for (p = (char *)b.data; (p = strstr(p, "\ncpu")) != NULL; p += 4)
		if (isdigit((unsigned char)p[4]))
			t->cores++;
	if (t->cores == 0)
		t->cores = 1;
	buf_release(&b);
	return 0;
}

static int
probe_cpu(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	  struct mon_result *out, struct mm_ctx *c)
{
	struct cpu_times now, then = { 0 };
	struct buf la = BUF_INIT;
	const char *p = mon_memo_get(memo, "cpu");
	double dt, busy, iow, steal, load = -1;
	char lab[256], val[128];
	int e;

	if ((e = read_cpu(env, &now, c)) != 0)
		goto unknown;
	if (p == NULL || sscanf(p, "%lf %lf %lf %lf", &then.total, &then.idle, &then.iowait,
				 &then.steal) != 4 || then.total >= now.total) {
		/* No earlier reading (first cycle, or `monitor check`): sample now. */
		struct timespec ts;
		double s = env->sample_s > 0 ? env->sample_s : 0.5;
		then = now;
		ts.tv_sec = (time_t)s;
		ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		if ((e = read_cpu(env, &now, c)) != 0)
			goto unknown;
	}
	snprintf(val, sizeof(val), "%.0f %.0f %.0f %.0f", now.total, now.idle, now.iowait, now.steal);
	if ((e = mon_memo_set(memo, "cpu", val)) != 0)
		return mm_fail(c, e, "out of memory");
	dt = now.total - then.total;
	if (dt <= 0) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "no CPU time passed between two readings");
		return 0;
	}
	busy = 100.0 * (1.0 - ((now.idle - then.idle) + (now.iowait - then.iowait)) / dt);
	iow = 100.0 * (now.iowait - then.iowait) / dt;
	steal = 100.0 * (now.steal - then.steal) / dt;
	if (busy < 0)
		busy = 0;
	if (mon_read(env, "/proc/loadavg", 4096, &la, NULL) == 0)
		load = strtod((char *)la.data, NULL) / now.cores;
	buf_release(&la);
	out->judged = 1;
	out->pct = busy;
	out->value = load >= 0 ? load : 0;
	snprintf(out->unit, sizeof(out->unit), "per core");
	snprintf(out->message, sizeof(out->message), "CPU %.0f %% busy (iowait %.0f %%, steal %.0f %%)",
		 round(busy), round(iow), round(steal));
	if (load >= 0)
		mon_append(out, ", load %.2f per core", load);
	if (iow >= 20)
		mon_append(out, "; the CPUs wait for the disks: the bottleneck is storage, "
			   "not CPU (see `iostat -x`)");
	if (steal >= 10)
		mon_append(out, "; the hypervisor gives this machine too little CPU time "
			   "(steal): ask for more vCPUs or a less loaded host");
	mon_label(lab, sizeof(lab), k->name, NULL, NULL);
	if ((e = mon_metric_add(out, "mamori_cpu_busy_ratio", lab, busy / 100)) ||
	    (e = mon_metric_add(out, "mamori_cpu_iowait_ratio", lab, iow / 100)) ||
	    (e = mon_metric_add(out, "mamori_cpu_steal_ratio", lab, steal / 100)) ||
	    (e = mon_metric_add(out, "mamori_cpu_cores", lab, now.cores)))
		return mm_fail(c, e, "out of memory");
	if (load >= 0 && (e = mon_metric_add(out, "mamori_load1_per_core", lab, load)) != 0)
		return mm_fail(c, e, "out of memory");
	return 0;
unknown:
	out->state = MON_UNKNOWN;
	snprintf(out->message, sizeof(out->message), "%.700s", c->msg);
	return 0;
}

/* ---- network interface ------------------------------------------------------------ */

static double
read_counter(const struct mon_env *env, const char *ifname, const char *name)
{
	struct buf b = BUF_INIT;
	char path[512];
	double v = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, name);
	if (mon_read(env, path, 4096, &b, NULL) == 0)
		v = strtod((char *)b.data, NULL);
	buf_release(&b);
	return v;
}

static const char *const net_counters[] = { "rx_errors", "tx_errors", "rx_dropped", "tx_dropped" };

static int
probe_network(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	      struct mon_result *out, struct mm_ctx *c)
{
	struct buf st = BUF_INIT;
	char path[512], lab[256], val[32];
	double cur[4], rise[4] = { 0 }, total = 0;
	int e, up;

	if (strchr(k->target, '/') != NULL || k->target[0] == '.') {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "%s is not an interface name", k->target);
		return 0;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", k->target);
	if (mon_read(env, path, 4096, &st, NULL) != 0) {
		out->state = MON_CRITICAL;
		snprintf(out->message, sizeof(out->message), "interface %s does not exist (renamed, "
			 "or its driver did not load: see `ip link` and `dmesg`)", k->target);
		return 0;
	}
	while (st.len && (st.data[st.len - 1] == '\n' || st.data[st.len - 1] == ' '))
		st.len--;
	/* "unknown": loopback and tunnels, which have no carrier to report. */
	up = (st.len == 2 && memcmp(st.data, "up", 2) == 0) ||
	     (st.len == 7 && memcmp(st.data, "unknown", 7) == 0);
	snprintf(out->message, sizeof(out->message), "%s link %.*s", k->target, (int)st.len,
		 (char *)st.data);
	buf_release(&st);
	for (int i = 0; i < 4; i++) {
		char key[32];
		const char *p;
		cur[i] = read_counter(env, k->target, net_counters[i]);
		snprintf(key, sizeof(key), "%s", net_counters[i]);
		p = mon_memo_get(memo, key);
		if (p && cur[i] >= 0 && strtod(p, NULL) <= cur[i])
			rise[i] = cur[i] - strtod(p, NULL);
		total += rise[i];
		snprintf(val, sizeof(val), "%.0f", cur[i]);
		if (cur[i] >= 0 && (e = mon_memo_set(memo, key, val)) != 0)
			return mm_fail(c, e, "out of memory");
	}
	out->judged = 1;
	out->value = total;
	out->pct = -1;
	snprintf(out->unit, sizeof(out->unit), "errors");
	if (!up) {
		out->state = MON_CRITICAL;
		mon_append(out, " (no link: cable, switch port, or the interface is down: "
			   "`ip link set %s up`)", k->target);
	}
	if (total > 0) {
		mon_append(out, "; since the last cycle %.0f receive and %.0f transmit errors, "
			   "%.0f and %.0f packets dropped", rise[0], rise[1], rise[2], rise[3]);
		if (rise[0] + rise[1] > 0)
			mon_append(out, " (errors: a bad cable or port, or a duplex mismatch)");
		else
			mon_append(out, " (drops: the host does not keep up with the traffic, "
				   "or packets for unknown protocols)");
	}
	mon_label(lab, sizeof(lab), k->name, "device", k->target);
	if ((e = mon_metric_add(out, "mamori_network_up", lab, up)) != 0)
		return mm_fail(c, e, "out of memory");
	static const char *const names[] = {
		"mamori_network_receive_errors_total", "mamori_network_transmit_errors_total",
		"mamori_network_receive_drop_total", "mamori_network_transmit_drop_total",
	};
	for (int i = 0; i < 4; i++)
		if (cur[i] >= 0 && (e = mon_metric_add(out, names[i], lab, cur[i])) != 0)
			return mm_fail(c, e, "out of memory");
	return 0;
}

/* ---- md RAID -------------------------------------------------------------------------- */

/* One array's block in /proc/mdstat, starting at its "mdN : ..." line. */
static void
raid_judge(const char *name, const char *block, struct mon_result *out, int *arrays)
{
	const char *st = strstr(block, "] [");
	const char *nl = strchr(block, '\n');
	const char *rec;
	int want = 0, have = 0;
	char level[32] = "", failed[256] = "";
	size_t fo = 0;

	(*arrays)++;
	sscanf(block, "%*s : %*s %31s", level);
	/* Members marked (F) have failed. */
	for (const char *p = block; nl && p < nl && (p = strstr(p, "(F)")) != NULL && p < nl; p += 3) {
		const char *s = p;
		while (s > block && s[-1] != ' ')
			s--;
		const char *b = memchr(s, '[', (size_t)(p - s));
		if (b && fo < sizeof(failed))
			fo += (size_t)snprintf(failed + fo, sizeof(failed) - fo, "%s%.*s",
					       fo ? ", " : "", (int)(b - s), s);
	}
	for (const char *p = block; (p = strchr(p, '[')) != NULL; p++)
		if (sscanf(p, "[%d/%d]", &want, &have) == 2)
			break;
	rec = strstr(block, "recovery =");
	if (!rec)
		rec = strstr(block, "resync =");
	(void)st;
	if (want > 0 && have < want) {
		out->state = MON_CRITICAL;
		mon_append(out, "%s%s (%s) degraded: %d of %d devices working", out->message[0] ? "; " : "",
			   name, level, have, want);
		if (failed[0])
			mon_append(out, ", failed: %s", failed);
		mon_append(out, " (replace the disk and add it with `mdadm --manage /dev/%s --add`)",
			   name);
	} else if (rec) {
		double pct = strtod(strchr(rec, '=') + 1, NULL);
		const char *fin = strstr(rec, "finish=");
		if (out->state < MON_WARNING)
			out->state = MON_WARNING;
		mon_append(out, "%s%s (%s) rebuilding: %.1f %% done", out->message[0] ? "; " : "", name,
			   level, pct);
		if (fin)
			mon_append(out, ", about %.0f min left", strtod(fin + 7, NULL));
	} else {
		mon_append(out, "%s%s (%s) healthy, %d of %d devices", out->message[0] ? "; " : "", name,
			   level, have, want);
	}
}

static int
probe_raid(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	   struct mon_result *out, struct mm_ctx *c)
{
	struct buf b = BUF_INIT;
	int arrays = 0, found = 0, e;
	const char *want = k->target && k->target[0] ? k->target : "all";
	char lab[256];

	if ((e = mon_read(env, "/proc/mdstat", 1 << 20, &b, c)) != 0) {
		out->state = strcmp(want, "all") == 0 ? MON_OK : MON_CRITICAL;
		snprintf(out->message, sizeof(out->message), "no md RAID on this host (/proc/mdstat "
			 "cannot be read)");
		buf_release(&b);
		return 0;
	}
	for (char *p = (char *)b.data; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char name[64];
		if (strncmp(p, "md", 2) != 0 || sscanf(p, "%63s :", name) != 1)
			continue;
		if (strcmp(want, "all") != 0 && strcmp(want, name) != 0)
			continue;
		found = 1;
		raid_judge(name, p, out, &arrays);
	}
	if (!found) {
		out->state = strcmp(want, "all") == 0 ? MON_OK : MON_CRITICAL;
		snprintf(out->message, sizeof(out->message), strcmp(want, "all") == 0 ?
			 "no md arrays" : "array %s not found in /proc/mdstat (not assembled? "
			 "`mdadm --assemble --scan`)", want);
	}
	mon_label(lab, sizeof(lab), k->name, NULL, NULL);
	buf_release(&b);
	if ((e = mon_metric_add(out, "mamori_md_arrays", lab, arrays)) != 0)
		return mm_fail(c, e, "out of memory");
	(void)memo;
	return 0;
}

/* ---- processes ------------------------------------------------------------------------- */

static int
probe_process(const struct mon_check *k, const struct mon_env *env, struct mon_memo *memo,
	      struct mon_result *out, struct mm_ctx *c)
{
	char dir[4096], lab[256];
	struct dirent *d;
	DIR *dp;
	int count = 0, e;

	snprintf(dir, sizeof(dir), "%s/proc", env->root ? env->root : "");
	if ((dp = opendir(dir)) == NULL) {
		out->state = MON_UNKNOWN;
		snprintf(out->message, sizeof(out->message), "cannot list %.600s: %s", dir, strerror(errno));
		return 0;
	}
	while ((d = readdir(dp)) != NULL) {
		struct buf b = BUF_INIT;
		char path[300];
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		if (mon_read(env, path, 4096, &b, NULL) == 0) {
			while (b.len && b.data[b.len - 1] == '\n')
				b.len--;
			if (b.len == strlen(k->target) && memcmp(b.data, k->target, b.len) == 0)
				count++;
		}
		buf_release(&b);
	}
	closedir(dp);
	out->judged = 0;
	out->value = count;
	if (count == 0) {
		out->state = MON_CRITICAL;
		snprintf(out->message, sizeof(out->message), "no process named %s is running "
			 "(crashed or not started: check its service and its log)", k->target);
	} else {
		snprintf(out->message, sizeof(out->message), "%d process%s named %s running", count,
			 count == 1 ? "" : "es", k->target);
	}
	mon_label(lab, sizeof(lab), k->name, "process", k->target);
	if ((e = mon_metric_add(out, "mamori_processes", lab, count)) != 0)
		return mm_fail(c, e, "out of memory");
	(void)memo;
	return 0;
}

const struct mon_probe mon_probe_disk = { "disk", "path", 0, probe_disk, 0, 0 };
const struct mon_probe mon_probe_memory = { "memory", NULL, 0, probe_memory, 0, 0 };
const struct mon_probe mon_probe_cpu = { "cpu", NULL, 1, probe_cpu, 0, 0 };
const struct mon_probe mon_probe_network = { "network", "interface", 1, probe_network, 0, 0 };
const struct mon_probe mon_probe_raid = { "raid", "array", 1, probe_raid, 0, 0 };
const struct mon_probe mon_probe_process = { "process", "process", 1, probe_process, 0, 0 };
