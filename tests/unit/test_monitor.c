/* Unit tests for the monitor: each probe against recorded /proc and /sys
 * files (written into a folder that stands for /), a fixed file-system
 * reading and a fixed clock, with the exact state and message expected;
 * the rules (for, flapping, recovery, restart) and configuration errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "monitor/monitor.h"

struct fx {
	char root[64];
	int64_t now_s;
	struct mon_fs fs;
	struct mon_env env;
};

static int64_t
fixed_now(void *arg)
{
	return ((struct fx *)arg)->now_s * 1000000000;
}

static int
fixed_statfs(void *arg, const char *path, struct mon_fs *out)
{
	(void)path;
	*out = ((struct fx *)arg)->fs;
	return 0;
}

static void
put(struct fx *f, const char *rel, const char *text)
{
	char path[512], dir[600];
	FILE *fp;

	snprintf(path, sizeof(path), "%s%s", f->root, rel);
	snprintf(dir, sizeof(dir), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(dir), 0);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/mamori-mon-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->now_s = 1764600000;
	f->env.root = f->root;
	f->env.statfs = fixed_statfs;
	f->env.arg = f;
	f->env.clock.now_ns = fixed_now;
	f->env.clock.arg = f;
	f->env.sample_s = 0.01;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Run one probe of type with target and thresholds; returns the judged state. */
static enum mon_state
probe(struct fx *f, const char *type, const char *target, struct mon_memo *memo,
      struct mon_result *r, struct mon_check *k)
{
	struct mm_ctx c = MM_CTX_INIT;

	k->name = (char *)"t";
	k->probe = mon_probe_find(type);
	assert_non_null(k->probe);
	k->target = (char *)target;
	mon_result_init(r);
	assert_int_equal(k->probe->run(k, &f->env, memo, r, &c), 0);
	return mon_judge(k, r);
}

static const struct mon_threshold pct80 = { 1, 1, 80 }, pct90 = { 1, 1, 90 },
	pct95 = { 1, 1, 95 };

static void
test_disk_forecast(void **state)
{
	struct fx *f = *state;
	struct mon_memo memo = MON_MEMO_INIT;
	struct mon_check k = { 0 };
	struct mon_result r;
	char hist[128];
	const uint64_t G = 1024ull * 1024 * 1024;

	k.warn = pct80;
	k.crit = pct90;
	/* Two hours ago 80 GiB were used, an hour ago 82: +2 GiB/h. */
	snprintf(hist, sizeof(hist), "%lld:%llu %lld:%llu", (long long)f->now_s - 7200,
		 (unsigned long long)(80 * G), (long long)f->now_s - 3600,
		 (unsigned long long)(82 * G));
	assert_int_equal(mon_memo_set(&memo, "hist", hist), 0);
	f->fs = (struct mon_fs){ 100 * G, 16 * G, 14 * G, 1000, 900, 0 };
	assert_int_equal(probe(f, "disk", "/srv", &memo, &r, &k), MON_WARNING);
	/* used 84 GiB of 98 usable: 85.7 % */
	assert_string_equal(r.message, "/srv 86 % full (14 GiB free), +2 GiB/h, full in about 7 h");
	mon_result_release(&r);
	/* Read-only: critical, with the cause. */
	f->fs.readonly = 1;
	f->now_s += 60;
	assert_int_equal(probe(f, "disk", "/srv", &memo, &r, &k), MON_CRITICAL);
	assert_non_null(strstr(r.message, "mounted read-only (the kernel remounts"));
	mon_result_release(&r);
	/* Inodes running out while space is fine. */
	f->fs = (struct mon_fs){ 100 * G, 90 * G, 90 * G, 1000, 40, 0 };
	f->now_s += 60;
	mon_memo_del(&memo, "hist");
	assert_int_equal(probe(f, "disk", "/srv", &memo, &r, &k), MON_CRITICAL);
	assert_string_equal(r.message, "/srv 10 % full (90 GiB free); inodes 96 % used (many "
			    "small files: inodes run out before space)");
	mon_result_release(&r);
	/* An absolute threshold is the space left. */
	k.warn = (struct mon_threshold){ 1, 0, (double)(100 * G) };
	k.crit = (struct mon_threshold){ 1, 0, (double)(5 * G) };
	assert_int_equal(probe(f, "disk", "/srv", &memo, &r, &k), MON_WARNING);
	mon_result_release(&r);
	mon_memo_release(&memo);
}


static void
test_memory_and_oom(void **state)
{
	struct fx *f = *state;
	struct mon_memo memo = MON_MEMO_INIT;
	struct mon_check k = { 0 };
	struct mon_result r;

	k.warn = pct90;
	k.crit = pct95;
	put(f, "/proc/meminfo", "MemTotal:       16777216 kB\nMemFree:          100000 kB\n"
	    "MemAvailable:    1048576 kB\nSwapTotal:       4194304 kB\nSwapFree:        1048576 kB\n");
	put(f, "/proc/vmstat", "nr_free_pages 1\noom_kill 3\n");
	assert_int_equal(probe(f, "memory", NULL, &memo, &r, &k), MON_WARNING);
	assert_string_equal(r.message, "memory 93 % used (1 GiB available of 16 GiB), swap 75 % "
			    "used (the system is swapping: a process uses more memory than there is; "
			    "see the largest in `ps aux --sort=-rss`)");
	mon_result_release(&r);
	put(f, "/proc/vmstat", "nr_free_pages 1\noom_kill 5\n");
	assert_int_equal(probe(f, "memory", NULL, &memo, &r, &k), MON_CRITICAL);
	assert_non_null(strstr(r.message, "; the kernel's out-of-memory killer ended 2 processes "
			       "since the last cycle"));
	mon_result_release(&r);
	mon_memo_release(&memo);
}

static void
test_cpu_iowait(void **state)
{
	struct fx *f = *state;
	struct mon_memo memo = MON_MEMO_INIT;
	struct mon_check k = { 0 };
	struct mon_result r;

	k.warn = pct80;
	k.crit = pct95;
	/* Previous totals: 1000 jiffies of which idle 500, iowait 100, steal 0. */
	assert_int_equal(mon_memo_set(&memo, "cpu", "1000 500 100 0"), 0);
	/* Now +900: user 300 system 150, idle +150, iowait +700, steal 0. */
	put(f, "/proc/stat", "cpu  300 0 150 650 800 0 0 0 0 0\ncpu0 150 0 75 325 400 0 0 0 0 0\n"
	    "cpu1 150 0 75 325 400 0 0 0 0 0\nintr 1\n");
	put(f, "/proc/loadavg", "4.00 3.00 2.00 1/100 1234\n");
	assert_int_equal(probe(f, "cpu", NULL, &memo, &r, &k), MON_OK);
	assert_string_equal(r.message, "CPU 6 % busy (iowait 78 %, steal 0 %), load 2.00 per core; "
			    "the CPUs wait for the disks: the bottleneck is storage, not CPU (see "
			    "`iostat -x`)");
	assert_string_equal(mon_memo_get(&memo, "cpu"), "1900 650 800 0");
	mon_result_release(&r);
	mon_memo_release(&memo);
}

static void
test_network(void **state)
{
	struct fx *f = *state;
	struct mon_memo memo = MON_MEMO_INIT;
	struct mon_check k = { 0 };
	struct mon_result r;

	k.warn = (struct mon_threshold){ 1, 0, 1 };
	put(f, "/sys/class/net/eth0/operstate", "up\n");
	put(f, "/sys/class/net/eth0/statistics/rx_errors", "10\n");
	put(f, "/sys/class/net/eth0/statistics/tx_errors", "0\n");
	put(f, "/sys/class/net/eth0/statistics/rx_dropped", "5\n");
	put(f, "/sys/class/net/eth0/statistics/tx_dropped", "0\n");
	assert_int_equal(probe(f, "network", "eth0", &memo, &r, &k), MON_OK);
	assert_string_equal(r.message, "eth0 link up");
	mon_result_release(&r);
	put(f, "/sys/class/net/eth0/statistics/rx_errors", "22\n");
	assert_int_equal(probe(f, "network", "eth0", &memo, &r, &k), MON_WARNING);
	assert_string_equal(r.message, "eth0 link up; since the last cycle 12 receive and 0 transmit "
			    "errors, 0 and 0 packets dropped (errors: a bad cable or port, or a "
			    "duplex mismatch)");
	mon_result_release(&r);
	put(f, "/sys/class/net/eth0/operstate", "down\n");
	assert_int_equal(probe(f, "network", "eth0", &memo, &r, &k), MON_CRITICAL);
	assert_string_equal(r.message, "eth0 link down (no link: cable, switch port, or the "
			    "interface is down: `ip link set eth0 up`)");
	mon_result_release(&r);
	assert_int_equal(probe(f, "network", "eth9", &memo, &r, &k), MON_CRITICAL);
	assert_non_null(strstr(r.message, "interface eth9 does not exist"));
	mon_result_release(&r);
	mon_memo_release(&memo);
}

/* The backups and time probes read the policy and time-sync modules'
 * results through hooks: here, fixed readings. */
static struct mon_backup_reading fake_ds[2];
static size_t fake_nds;
static struct mon_time_reading fake_time;

static int
fake_backups(void *arg, const char *dataset, struct mon_backup_reading **out, size_t *n,
	     struct mm_ctx *c)
{
	(void)arg;
	(void)c;
	*out = calloc(2, sizeof(**out));
	assert_non_null(*out);
	*n = 0;
	for (size_t i = 0; i < fake_nds; i++)
		if (dataset == NULL || strcmp(dataset, fake_ds[i].dataset) == 0)
			(*out)[(*n)++] = fake_ds[i];
	return 0;
}

static int
fake_clock(void *arg, const char *servers, double timeout, struct mon_time_reading *out,
	   struct mm_ctx *c)
{
	(void)arg;
	(void)timeout;
	*out = fake_time;
	if (servers == NULL) {
		out->nservers = 0;
		out->have_server_offset = 0;
	}
	if (strcmp(fake_time.daemons, "fail") == 0)
		return mm_fail(c, MM_EIO, "adjtimex: Operation not permitted");
	return 0;
}

static void
test_backups_and_time(void **state)
{
	struct fx *f = *state;
	struct mon_memo memo = MON_MEMO_INIT;
	struct mon_check k = { 0 };
	struct mon_result r;

	assert_int_equal(probe(f, "backups", NULL, &memo, &r, &k), MON_UNKNOWN);
	assert_string_equal(r.message, "no continuity policy here: backups checks need [dataset] "
			    "sections in the same mamori.conf");
	mon_result_release(&r);
	f->env.hooks.backups = fake_backups;
	f->env.hooks.clock = fake_clock;
	memset(fake_ds, 0, sizeof(fake_ds));
	fake_nds = 2;
	snprintf(fake_ds[0].dataset, sizeof(fake_ds[0].dataset), "juminkiroku");
	fake_ds[0].have_snapshot = 1;
	fake_ds[0].age_s = 1800;
	fake_ds[0].rpo_s = 3600;
	fake_ds[0].have_drill = 1;
	fake_ds[0].drill_ok = 1;
	fake_ds[0].drill_seconds = 42;
	snprintf(fake_ds[1].dataset, sizeof(fake_ds[1].dataset), "zeimu");
	fake_ds[1].state = MON_CRITICAL;
	fake_ds[1].rpo_s = 4 * 3600;
	snprintf(fake_ds[1].reason, sizeof(fake_ds[1].reason), "newest snapshot 5.0 h old, over "
		 "its RPO of 4 h");
	assert_int_equal(probe(f, "backups", NULL, &memo, &r, &k), MON_CRITICAL);
	assert_string_equal(r.message, "zeimu: newest snapshot 5.0 h old, over its RPO of 4 h");
	assert_int_equal(r.nmetrics, 7);
	assert_string_equal(r.metrics[1].name, "mamori_backup_age_seconds");
	assert_string_equal(r.metrics[1].labels, "check=\"t\",dataset=\"juminkiroku\"");
	assert_true(r.metrics[1].value == 1800);
	assert_string_equal(r.metrics[5].name, "mamori_backup_state");
	assert_true(r.metrics[5].value == 2);
	mon_result_release(&r);
	assert_int_equal(probe(f, "backups", "juminkiroku", &memo, &r, &k), MON_OK);
	assert_string_equal(r.message, "juminkiroku: newest snapshot 30 min old (RPO 60 min)");
	mon_result_release(&r);

	/* time: the kernel's state, then servers measured */
	memset(&fake_time, 0, sizeof(fake_time));
	k.warn = (struct mon_threshold){ 1, 0, 0.1 };
	k.crit = (struct mon_threshold){ 1, 0, 1.0 };
	assert_int_equal(probe(f, "time", NULL, &memo, &r, &k), MON_CRITICAL);
	assert_string_equal(r.message, "clock not synchronised and no time daemon runs (start "
			    "chronyd or systemd-timesyncd)");
	mon_result_release(&r);
	snprintf(fake_time.daemons, sizeof(fake_time.daemons), "chronyd");
	assert_int_equal(probe(f, "time", NULL, &memo, &r, &k), MON_WARNING);
	assert_non_null(strstr(r.message, "clock not synchronised although chronyd runs"));
	mon_result_release(&r);
	fake_time.synchronised = 1;
	fake_time.offset = -0.0125;
	fake_time.est_error = 0.002;
	assert_int_equal(probe(f, "time", NULL, &memo, &r, &k), MON_OK);
	assert_string_equal(r.message, "clock synchronised by chronyd, offset -0.013 s (estimated "
			    "error 0.002 s)");
	mon_result_release(&r);
	fake_time.nservers = 2;
	fake_time.have_server_offset = 1;
	fake_time.server_offset = 0.25;
	assert_int_equal(probe(f, "time", "ntp1 ntp2", &memo, &r, &k), MON_WARNING);
	assert_string_equal(r.message, "clock behind by 0.250 s against 2 servers; kernel "
			    "synchronised");
	mon_result_release(&r);
	fake_time.have_server_offset = 0;
	snprintf(fake_time.detail, sizeof(fake_time.detail), "ntp1 unreachable: UDP 123 is blocked");
	assert_int_equal(probe(f, "time", "ntp1", &memo, &r, &k), MON_CRITICAL);
	assert_string_equal(r.message, "no usable time server: ntp1 unreachable: UDP 123 is "
			    "blocked; kernel synchronised");
	mon_result_release(&r);
	snprintf(fake_time.daemons, sizeof(fake_time.daemons), "fail");
	assert_int_equal(probe(f, "time", NULL, &memo, &r, &k), MON_UNKNOWN);
	assert_string_equal(r.message, "cannot read the clock: adjtimex: Operation not permitted");
	mon_result_release(&r);
	mon_memo_release(&memo);
}

/* Logins from a file of recorded journal entries (the same interface as
 * sd-journal): counted once, per user and address, across cycles. */
static void
test_logins(void **state)
{
	struct fx *f = *state;
	struct mon_memo memo = MON_MEMO_INIT;
	struct mon_check k = { 0 };
	struct mon_result r;
	char user[64], addr[64];
	int ok;

	assert_int_equal(mon_login_parse("Failed password for invalid user admin from 203.0.113.9 "
					 "port 51234 ssh2", &ok, user, sizeof(user), addr,
					 sizeof(addr)), 1);
	assert_int_equal(ok, 0);
	assert_string_equal(user, "admin");
	assert_string_equal(addr, "203.0.113.9");
	assert_int_equal(mon_login_parse("Accepted publickey for alice from 192.0.2.7 port 40000 "
					 "ssh2: ED25519 SHA256:x", &ok, user, sizeof(user), addr,
					 sizeof(addr)), 1);
	assert_int_equal(ok, 1);
	assert_int_equal(mon_login_parse("Server listening on 0.0.0.0 port 22.", &ok, user,
					 sizeof(user), addr, sizeof(addr)), 0);
	assert_int_equal(mon_login_parse("Failed password for", &ok, user, sizeof(user), addr,
					 sizeof(addr)), 0);

	k.warn = (struct mon_threshold){ 1, 0, 3 };
	k.crit = (struct mon_threshold){ 1, 0, 10 };
	/* Older than the look-back of a first cycle (10 min): not counted. */
	put(f, "/journal.txt",
	    "1764599000 sshd[10]: Failed password for root from 198.51.100.1 port 1 ssh2\n"
	    "1764599990 sshd[11]: Failed password for root from 203.0.113.9 port 2 ssh2\n"
	    "1764599991 sshd[11]: Failed password for root from 203.0.113.9 port 2 ssh2\n"
	    "1764599992 cron[12]: Failed password for nobody from 1.2.3.4 port 2 ssh2\n"
	    "1764599993 sshd[13]: Failed password for invalid user admin from 203.0.113.9 port 3 ssh2\n"
	    "1764599994 sshd[14]: Accepted publickey for alice from 192.0.2.7 port 4 ssh2: ED25519\n"
	    "1764599995 sshd[14]: pam_unix(sshd:session): session opened for user alice\n");
	assert_int_equal(probe(f, "logins", NULL, &memo, &r, &k), MON_WARNING);
	assert_string_equal(r.message, "3 failed logins: root from 203.0.113.9 (2), admin from "
			    "203.0.113.9 (1); 1 login: alice from 192.0.2.7 (1)");
	assert_true(r.value == 3);
	assert_int_equal(r.nmetrics, 6);
	assert_string_equal(r.metrics[0].name, "mamori_login_failures");
	assert_string_equal(r.metrics[0].labels, "check=\"t\",user=\"root\",address=\"203.0.113.9\"");
	assert_true(r.metrics[0].value == 2);
	assert_string_equal(mon_memo_get(&memo, "cursor"), "7");
	mon_result_release(&r);
	/* The next cycle: only what came since. */
	assert_int_equal(probe(f, "logins", NULL, &memo, &r, &k), MON_OK);
	assert_string_equal(r.message, "no login since the last look");
	mon_result_release(&r);
	put(f, "/journal.txt",
	    "1764599000 sshd[10]: Failed password for root from 198.51.100.1 port 1 ssh2\n"
	    "1764599990 sshd[11]: Failed password for root from 203.0.113.9 port 2 ssh2\n"
	    "1764599991 sshd[11]: Failed password for root from 203.0.113.9 port 2 ssh2\n"
	    "1764599992 cron[12]: Failed password for nobody from 1.2.3.4 port 2 ssh2\n"
	    "1764599993 sshd[13]: Failed password for invalid user admin from 203.0.113.9 port 3 ssh2\n"
	    "1764599994 sshd[14]: Accepted publickey for alice from 192.0.2.7 port 4 ssh2: ED25519\n"
	    "1764599995 sshd[14]: pam_unix(sshd:session): session opened for user alice\n"
	    "1764600001 sshd[15]: Accepted password for bob from 192.0.2.8 port 5 ssh2\n");
	assert_int_equal(probe(f, "logins", NULL, &memo, &r, &k), MON_OK);
	assert_string_equal(r.message, "1 login: bob from 192.0.2.8 (1)");
	mon_result_release(&r);
	mon_memo_release(&memo);
}

static void
test_raid(void **state)
{
	struct fx *f = *state;
	struct mon_memo memo = MON_MEMO_INIT;
	struct mon_check k = { 0 };
	struct mon_result r;

	put(f, "/proc/mdstat", "Personalities : [raid1]\n"
	    "md0 : active raid1 sdb1[1](F) sda1[0]\n"
	    "      1046528 blocks super 1.2 [2/1] [U_]\n\n"
	    "md1 : active raid1 sdd1[1] sdc1[0]\n"
	    "      2093056 blocks super 1.2 [2/2] [UU]\n"
	    "      [=>...................]  resync =  8.5% (178432/2093056) finish=1.2min speed=25490K/sec\n\n"
	    "unused devices: <none>\n");
	assert_int_equal(probe(f, "raid", "all", &memo, &r, &k), MON_CRITICAL);
	assert_string_equal(r.message, "md0 (raid1) degraded: 1 of 2 devices working, failed: sdb1 "
			    "(replace the disk and add it with `mdadm --manage /dev/md0 --add`); md1 "
			    "(raid1) rebuilding: 8.5 % done, about 1 min left");
	mon_result_release(&r);
	assert_int_equal(probe(f, "raid", "md1", &memo, &r, &k), MON_WARNING);
	mon_result_release(&r);
	assert_int_equal(probe(f, "raid", "md7", &memo, &r, &k), MON_CRITICAL);
	assert_non_null(strstr(r.message, "array md7 not found"));
	mon_result_release(&r);
	mon_memo_release(&memo);
}

static void
test_watched_files(void **state)
{
	struct fx *f = *state;
	struct mon_memo memo = MON_MEMO_INIT;
	struct mon_check k = { 0 };
	struct mon_result r;
	char *files[] = { (char *)"/etc/passwd", (char *)"/etc/group", NULL };
	char path[256];

	k.files = files;
	k.nfiles = 2;
	put(f, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n");
	put(f, "/etc/group", "root:x:0:\nsudo:x:27:alice\nusers:x:100:\n");
	assert_int_equal(probe(f, "files", NULL, &memo, &r, &k), MON_OK);
	assert_string_equal(r.message, "baseline of 2 watched files recorded now (hash, owner, mode)");
	mon_result_release(&r);
	assert_int_equal(probe(f, "files", NULL, &memo, &r, &k), MON_OK);
	assert_string_equal(r.message, "2 watched files unchanged since the baseline");
	mon_result_release(&r);
	/* A new account with uid 0, and bob in sudo. */
	put(f, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
	    "toor:x:0:0::/root:/bin/sh\n");
	put(f, "/etc/group", "root:x:0:\nsudo:x:27:alice,bob\nusers:x:100:\n");
	assert_int_equal(probe(f, "files", NULL, &memo, &r, &k), MON_CRITICAL);
	assert_string_equal(r.message, "/etc/passwd content changed; new account toor (uid 0); "
			    "/etc/group content changed; bob added to group sudo (if this change "
			    "was intended: `mamori monitor accept t`)");
	mon_result_release(&r);
	/* A mode change alone is a warning, world-writable is critical. */
	mon_memo_release(&memo);
	assert_int_equal(probe(f, "files", NULL, &memo, &r, &k), MON_OK);
	mon_result_release(&r);
	snprintf(path, sizeof(path), "%s/etc/group", f->root);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(probe(f, "files", NULL, &memo, &r, &k), MON_WARNING);
	assert_non_null(strstr(r.message, "/etc/group mode "));
	assert_non_null(strstr(r.message, " -> 0640"));
	mon_result_release(&r);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(probe(f, "files", NULL, &memo, &r, &k), MON_CRITICAL);
	mon_result_release(&r);
	mon_memo_release(&memo);
}

static void
test_rules(void **state)
{
	struct mon_rule_state st = { 0 };
	struct mon_check k = { 0 };
	const char *kind = NULL;
	int64_t t = 1000;

	(void)state;
	k.for_s = 60;
	/* A breach must last `for` before it counts, then alerts once. */
	assert_int_equal(mon_rule_step(&st, &k, MON_OK, t, &kind), 0);
	assert_int_equal(mon_rule_step(&st, &k, MON_CRITICAL, t += 30, &kind), 0);
	assert_int_equal(st.state, MON_OK);
	assert_int_equal(mon_rule_step(&st, &k, MON_CRITICAL, t += 30, &kind), 0);
	assert_int_equal(mon_rule_step(&st, &k, MON_CRITICAL, t += 30, &kind), 1);
	assert_string_equal(kind, "problem");
	assert_int_equal(st.state, MON_CRITICAL);
	assert_int_equal(mon_rule_step(&st, &k, MON_CRITICAL, t += 30, &kind), 0);
	/* Better at once, as a recovery. */
	assert_int_equal(mon_rule_step(&st, &k, MON_OK, t += 30, &kind), 1);
	assert_string_equal(kind, "recovery");
	/* A short blip does not alert. */
	assert_int_equal(mon_rule_step(&st, &k, MON_WARNING, t += 10, &kind), 0);
	assert_int_equal(mon_rule_step(&st, &k, MON_OK, t += 10, &kind), 0);
	/* Flapping: many changes pause alerts, one alert says so, one says it ended. */
	memset(&st, 0, sizeof(st));
	k.for_s = 0;
	int alerts = 0, flap = 0, ended = 0;
	for (int i = 0; i < 12; i++) {
		if (mon_rule_step(&st, &k, i % 2 ? MON_CRITICAL : MON_OK, t += 10, &kind)) {
			alerts++;
			flap += strcmp(kind, "flapping") == 0;
		}
	}
	assert_int_equal(flap, 1);
	assert_true(st.flapping);
	assert_int_equal(alerts, 6); /* problem, recovery x2 each, ..., then flapping */
	for (int i = 0; i < 25; i++)
		if (mon_rule_step(&st, &k, MON_OK, t += 10, &kind))
			ended += strcmp(kind, "flapping-ended") == 0;
	assert_int_equal(ended, 1);
	assert_false(st.flapping);
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "[check a]\ntype = dsik\npath = /\n",
		  "t.conf:2: type: unknown probe 'dsik'; expected one of disk, memory, cpu, network, "
		  "tcp, http, service, process, raid, files, backups, time, logins" },
		{ "[check a]\ntype = disk\n", "t.conf:1: [check a] needs path" },
		{ "[check a]\ntype = disk\npath = srv\n", "t.conf:3: path: 'srv' is not an absolute path" },
		{ "[check a]\ntype = disk\npath = /\nwarn = 90%\ncrit = 80%\n",
		  "t.conf:5: crit: 80% is less severe than warn (90%)" },
		{ "[check a]\ntype = memory\npath = /\n", "t.conf:3: path: a memory check takes no such key" },
		{ "[check a]\ntype = tcp\naddress = h:1\nwarn = 10%\n",
		  "t.conf:4: warn: a tcp check has no percentage; give a number" },
		{ "[check a]\ntype = tcp\naddress = h:1\nwarn = soon\n",
		  "t.conf:4: warn: 'soon' is not a time such as 500ms or 2s" },
		{ "[alert a]\ntype = email\nurl = smtp://127.0.0.1:25\n",
		  "t.conf:1: [alert a] type email needs from and to" },
		{ "[alert a]\ntype = pager\n",
		  "t.conf:2: type: unknown alert type 'pager'; expected webhook, email or command" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf_schema s = CONF_SCHEMA_INIT;
		struct conf cf = CONF_INIT;
		struct mon_config mc;
		struct mm_ctx c = MM_CTX_INIT;
		assert_int_equal(mon_conf_register(&s), 0);
		assert_int_equal(conf_load_string(&s, "t.conf", cases[i].text, &cf, &c), 0);
		assert_int_equal(mon_config_from(&cf, &mc, &c), MM_ECONFIG);
		assert_string_equal(c.msg, cases[i].msg);
		conf_release(&cf);
	}
}

static void
test_alert_json(void **state)
{
	struct mon_alert a = { "data-disk", "disk", "problem", MON_CRITICAL, MON_WARNING, 93.5, 1,
			       "warn 80%, crit 90%", "/srv 94 % full", "cityhall", 1764600000 };
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(mon_alert_json(&a, &b), 0);
	assert_int_equal(buf_append_u8(&b, 0), 0);
	assert_string_equal((char *)b.data,
			    "{\"check\":\"data-disk\",\"type\":\"disk\",\"kind\":\"problem\","
			    "\"state\":\"CRITICAL\",\"previous_state\":\"WARNING\",\"value\":93.5,"
			    "\"threshold\":\"warn 80%, crit 90%\",\"cause\":\"/srv 94 % full\","
			    "\"host\":\"cityhall\",\"time\":\"2025-12-01T14:40:00Z\","
			    "\"time_unix\":1764600000}");
	buf_release(&b);
}

/* ---- the wire format between the agent and mamori ---------------------------- */

static void
test_wire_result(void **state)
{
	struct mon_result r, back, two[2];
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	mon_result_init(&r);
	r.state = MON_CRITICAL;
	r.judged = 1;
	r.value = 0.125;
	snprintf(r.unit, sizeof(r.unit), "s");
	snprintf(r.message, sizeof(r.message), "http://x/ answered HTTP 503 (50%% of\nthe time) -");
	assert_int_equal(mon_metric_add(&r, "mamori_http_up", "check=\"web\",url=\"http://x/\"", 0), 0);
	assert_int_equal(mon_metric_add(&r, "mamori_http_status", "", 503), 0);
	assert_int_equal(mon_result_encode(&r, &b), 0);
	assert_int_equal(mon_result_decode((const char *)b.data, b.len, &back, &c), 0);
	assert_int_equal(back.state, MON_CRITICAL);
	assert_int_equal(back.judged, 1);
	assert_true(back.value == 0.125 && back.pct == -1);
	assert_string_equal(back.unit, "s");
	assert_string_equal(back.message, r.message);
	assert_int_equal(back.nmetrics, 2);
	assert_string_equal(back.metrics[0].labels, "check=\"web\",url=\"http://x/\"");
	assert_string_equal(back.metrics[1].labels, "");
	assert_true(back.metrics[1].value == 503);
	mon_result_release(&back);
	/* two in a row; three asked for is refused and leaves out untouched */
	assert_int_equal(mon_result_encode(&r, &b), 0);
	mon_result_init(&two[0]);
	mon_result_init(&two[1]);
	assert_int_equal(mon_results_decode((const char *)b.data, b.len, two, 2, &c), 0);
	assert_int_equal(two[1].nmetrics, 2);
	mon_result_release(&two[0]);
	mon_result_release(&two[1]);
	assert_int_equal(mon_results_decode((const char *)b.data, b.len, two, 1, &c), MM_ECORRUPT);
	assert_string_equal(c.msg, "more check results than the 1 asked for");
	assert_null(two[0].metrics);
	buf_release(&b);
	mon_result_release(&r);
}

static void
expect_bad(const char *text, size_t len, const char *msg)
{
	struct mon_result r;
	struct mm_ctx c = MM_CTX_INIT;

	mon_result_init(&r);
	assert_int_equal(mon_result_decode(text, len, &r, &c), MM_ECORRUPT);
	assert_string_equal(c.msg, msg);
	assert_null(r.metrics);
}

/* A string literal and its length. */
#define LIT(s) s, sizeof(s) - 1

static void
test_wire_hostile(void **state)
{
	static const char head[] = "mamori-result 1\nstate 0\njudged 0\nvalue 0\npct -1\n";
	static const char nul[] = "mamori-result 1\nstate 0\0\n";
	char big[300];
	struct buf b = BUF_INIT;
	struct mon_alert_msg m;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	expect_bad(LIT(""), "not a check result (the first line is not 'mamori-result 1': are "
		   "mamori and mamori-agent from the same version?)");
	expect_bad(nul, sizeof(nul) - 1, "the answer holds a NUL byte");
	expect_bad(LIT("mamori-result 1\nstate 4\n"), "check result, line 2: 'state' is not understood");
	expect_bad(LIT("mamori-result 1\nstate 0\njudged 0\n"),
		   "check result: state, judged, value or pct is missing");
	expect_bad(LIT("mamori-result 1\nvalue nan\n"), "check result, line 2: 'value' is not understood");
	expect_bad(LIT("mamori-result 1\nrm -rf /\n"), "check result, line 2: 'rm' is not understood");
	/* a unit longer than its field */
	memset(big, 'u', sizeof(big));
	assert_int_equal(buf_append(&b, head, sizeof(head) - 1), 0);
	assert_int_equal(buf_append(&b, "unit ", 5), 0);
	assert_int_equal(buf_append(&b, big, 20), 0);
	expect_bad((const char *)b.data, b.len, "check result, line 6: 'unit' is not understood");
	buf_reset(&b);
	/* a metric without its value, a metric name too long */
	assert_int_equal(buf_append(&b, head, sizeof(head) - 1), 0);
	assert_int_equal(buf_append(&b, "metric a -\n", 11), 0);
	expect_bad((const char *)b.data, b.len, "check result, line 6: 'metric' is not understood");
	buf_reset(&b);
	assert_int_equal(buf_append(&b, head, sizeof(head) - 1), 0);
	assert_int_equal(buf_append(&b, "metric ", 7), 0);
	assert_int_equal(buf_append(&b, big, 100), 0);
	assert_int_equal(buf_append(&b, " - 1\n", 5), 0);
	expect_bad((const char *)b.data, b.len, "check result, line 6: 'metric' is not understood");
	/* alerts: a missing field, a state out of range */
	assert_int_equal(mon_alert_decode(LIT("mamori-alert 1\ncheck a\n"), &m, &c), MM_ECORRUPT);
	assert_string_equal(c.msg, "alert: a field is missing");
	assert_int_equal(mon_alert_decode(LIT("mamori-alert 1\nprevious -1\n"), &m, &c), MM_ECORRUPT);
	assert_string_equal(c.msg, "alert, line 2: 'previous' is not understood");
	buf_release(&b);
}

static void
test_wire_alert(void **state)
{
	struct mon_alert a, *d;
	struct mon_alert_msg m;
	struct buf b = BUF_INIT;
	struct mm_ctx c = MM_CTX_INIT;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.check = "data-disk";
	a.type = "disk";
	a.kind = "recovery";
	a.state = MON_OK;
	a.previous = MON_CRITICAL;
	a.value = 42.5;
	a.has_value = 1;
	snprintf(a.threshold, sizeof(a.threshold), "warn 80%%, crit 90%%");
	a.cause = "/srv 42 % full (1 GiB free)";
	a.host = "";
	a.time = 1800000000;
	assert_int_equal(mon_alert_encode(&a, &b), 0);
	assert_int_equal(mon_alert_decode((const char *)b.data, b.len, &m, &c), 0);
	d = &m.a;
	assert_string_equal(d->check, "data-disk");
	assert_string_equal(d->type, "disk");
	assert_string_equal(d->kind, "recovery");
	assert_int_equal(d->state, MON_OK);
	assert_int_equal(d->previous, MON_CRITICAL);
	assert_true(d->value == 42.5 && d->has_value == 1);
	assert_string_equal(d->threshold, "warn 80%, crit 90%");
	assert_string_equal(d->cause, "/srv 42 % full (1 GiB free)");
	assert_string_equal(d->host, "");
	assert_int_equal(d->time, 1800000000);
	mon_alert_msg_release(&m);
	buf_release(&b);
}

/* Silences: set, replace, cover by name and by "*", end, expire. */
static void
test_silences(void **state)
{
	char dir[] = "/tmp/mamori-silence-XXXXXX";
	const char *web[] = { "web" }, *disk[] = { "disk" }, *all[] = { "*" };
	struct mon_silences q;
	struct mm_ctx c = MM_CTX_INIT;
	size_t removed = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(mon_silences_load(dir, &q, &c), 0); /* none yet */
	assert_int_equal(q.n, 0);
	assert_int_equal(mon_silence_change(dir, web, 1, 1000, "switch 50 % done", 0, NULL, &c), 0);
	assert_int_equal(mon_silence_change(dir, disk, 1, 500, "", 0, NULL, &c), 0);
	assert_int_equal(mon_silence_change(dir, web, 1, 2000, "longer", 10, NULL, &c), 0);
	assert_int_equal(mon_silences_load(dir, &q, &c), 0);
	assert_int_equal(q.n, 2);
	assert_string_equal(mon_silenced(&q, "web", 1999)->reason, "longer");
	assert_null(mon_silenced(&q, "web", 2000));
	assert_string_equal(mon_silenced(&q, "disk", 499)->reason, "");
	assert_null(mon_silenced(&q, "disk", 500));
	assert_null(mon_silenced(&q, "cpu", 1));
	mon_silences_release(&q);
	/* "*" covers every check; ending "*" ends every silence */
	assert_int_equal(mon_silence_change(dir, all, 1, 3000, "all", 600, NULL, &c), 0);
	assert_int_equal(mon_silences_load(dir, &q, &c), 0);
	assert_int_equal(q.n, 2); /* disk's ended at 500 and was dropped */
	assert_string_equal(mon_silenced(&q, "cpu", 2500)->reason, "all");
	mon_silences_release(&q);
	assert_int_equal(mon_silence_change(dir, all, 1, 0, NULL, 700, &removed, &c), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(mon_silences_load(dir, &q, &c), 0);
	assert_int_equal(q.n, 0);
	/* a file that is not ours is refused, saying what to do */
	assert_int_equal(mon_silence_change(dir, web, 1, 100, "x", 0, NULL, &c), 0);
	{
		char path[128];
		FILE *f;
		snprintf(path, sizeof(path), "%s/silences", dir);
		assert_non_null(f = fopen(path, "w"));
		fputs("hello\n", f);
		fclose(f);
		assert_int_equal(mon_silences_load(dir, &q, &c), MM_ECORRUPT);
		assert_non_null(strstr(c.msg, "is not a silences file (move it away"));
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_disk_forecast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_and_oom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_iowait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backups_and_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watched_files, setup, teardown),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_alert_json),
		cmocka_unit_test(test_wire_result),
		cmocka_unit_test(test_wire_hostile),
		cmocka_unit_test(test_wire_alert),
		cmocka_unit_test(test_silences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
