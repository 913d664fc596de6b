/*
 * agent: the resident monitoring agent, mamori-agent (docs/monitoring.md).
 *
 * `mamori monitor run` checks the configuration and then becomes this
 * smaller program, which maps neither libcurl nor the repository code with
 * their libraries: it runs the probes that read the system itself, and
 * hands the checks and alerts that need more (http, backups, webhook and
 * e-mail) to a short-lived `mamori monitor check|send --wire` child, the
 * whole mamori program, over the monitor's wire format.
 */
#ifndef MAMORI_AGENT_H
#define MAMORI_AGENT_H

#include "monitor/monitor.h"

/* The time probe's reading: the kernel clock, the time daemons running
 * under root's /proc ("" for the live system), and the servers measured
 * when servers is not NULL. mamori and the agent both use it. */
int agent_clock_read(const char *root, const char *servers, double timeout_s,
		     struct mon_time_reading *out, struct mm_ctx *c) MM_MUST_CHECK;

/* An alert being delivered by a `mamori monitor send` child. */
struct agent_delivery {
	char *id, *tag;
	int pid, fd;         /* the child and its standard output */
	double deadline;     /* time_mono() after which it is killed */
	struct buf out;
};
/* How the agent reaches the whole mamori program. */
struct agent_helper {
	const char *program; /* the mamori executable */
	const char *config;  /* the configuration file both read */
	struct agent_delivery *fl; /* deliveries under way */
	size_t nfl;
};
/* Wait until every delivery under way has ended or passed its deadline
 * (then it is killed): the agent stopping. */
void agent_helper_settle(struct agent_helper *h);
/* Kill what is still under way and free the table. */
void agent_helper_release(struct agent_helper *h);
/* env->outsource: `PROGRAM monitor check --wire --config CONFIG NAME...`,
 * given each check's timeout plus two minutes; its answers decoded into
 * out[0..n). */
int agent_outsource(void *arg, const struct mon_check *const *k, size_t n,
		    struct mon_result *out, struct mm_ctx *c) MM_MUST_CHECK;
/* env->net for the agent: every alert through a `PROGRAM monitor send
 * --wire` child in the background (start/finish); no http_get (http
 * checks are outsourced). arg: a struct agent_helper. */
extern const struct mon_net agent_net;

#endif
