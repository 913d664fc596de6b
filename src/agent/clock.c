/* The time probe's reading, from the time-sync module: shared by mamori
 * and the agent so the clock is judged in one place. */
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "timesync/timesync.h"

/* Details are cut at the end of their buffers on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

int
agent_clock_read(const char *root, const char *servers, double timeout_s,
		 struct mon_time_reading *out, struct mm_ctx *c)
{
	struct ts_kernel k;
	struct ts_result r = TS_RESULT_INIT;
	struct ts_check_opts o = TS_CHECK_OPTS_INIT;
	char proc[1100], list[1024], *save = NULL, *tok;
	int e;

	memset(out, 0, sizeof(*out));
	if ((e = ts_kernel_read(&k, c)) != 0)
		return e;
	snprintf(proc, sizeof(proc), "%s/proc", root);
	(void)ts_daemons_running(proc, &k);
	out->synchronised = k.synchronised;
	out->offset = k.offset;
	out->est_error = k.est_error;
	out->max_error = k.max_error;
	for (unsigned bit = 1; bit <= TS_DAEMON_OPENNTPD; bit <<= 1)
		if (k.daemons & bit) {
			size_t l = strlen(out->daemons);
			snprintf(out->daemons + l, sizeof(out->daemons) - l, "%s%s", l ? ", " : "",
				 ts_daemon_name(bit));
		}
	if (servers == NULL)
		return 0;
	snprintf(list, sizeof(list), "%s", servers);
	for (tok = strtok_r(list, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save))
		if ((e = ts_result_add(&r, tok, 123, 0, "monitor", c)) != 0)
			goto out;
	/* Two samples a server keep a cycle short; `mamori time check` takes more. */
	o.samples = 2;
	o.timeout = timeout_s;
	o.interval = 0.05;
	if ((e = ts_check_run(&r, &o, &ts_system_clock, &ts_udp_net, c)) != 0)
		goto out;
	out->nservers = (int)r.n;
	out->have_server_offset = r.have_offset;
	out->server_offset = r.offset;
	for (size_t i = 0; i < r.n; i++) {
		char adv[512];
		size_t l = strlen(out->detail);
		if (r.src[i].verdict == TS_GOOD)
			continue;
		ts_source_advice(&r.src[i], adv, sizeof(adv));
		snprintf(out->detail + l, sizeof(out->detail) - l, "%s%s %s: %s", l ? "; " : "",
			 r.src[i].name, ts_verdict_name(r.src[i].verdict), adv);
	}
	e = 0;
out:
	ts_result_release(&r);
	return e;
}

