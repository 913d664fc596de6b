/*
 * The agent's hands for what it does not load: a check of an outsourced
 * type, or an alert for a webhook or an e-mail server, is done by a
 * `mamori monitor check|send --wire` child and answered in the monitor's
 * wire format. A child that fails, hangs or answers nonsense makes the
 * check UNKNOWN (or the delivery retried) with the reason, never the agent
 * stop.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define ANSWER_MAX (256u * 1024)

static double
helper_timeout(double check_timeout_s)
{
	return (check_timeout_s > 0 ? check_timeout_s : 5.0) + 120.0;
}

/* The first line of what the helper printed, for a message. */
static void
first_line(const struct buf *b, char *out, size_t n)
{
	size_t len = 0;

	while (len < b->len && len + 1 < n && b->data[len] != '\n')
		len++;
	memcpy(out, b->data, len);
	out[len] = '\0';
}

int
agent_outsource(void *arg, const struct mon_check *const *k, size_t n, struct mon_result *out,
		 struct mm_ctx *c)
{
	const struct agent_helper *h = arg;
	char *fixed[] = { (char *)h->program, "monitor", "check", "--wire", "--config",
			  (char *)h->config, "--" };
	const size_t nf = sizeof(fixed) / sizeof(fixed[0]);
	struct buf b = BUF_INIT;
	struct mm_ctx pc = MM_CTX_INIT, dc = MM_CTX_INIT;
	double timeout = 0;
	char **argv;
	int e;

	if ((argv = calloc(nf + n + 1, sizeof(*argv))) == NULL)
		return mm_fail(c, MM_ENOMEM, "out of memory");
	memcpy(argv, fixed, sizeof(fixed));
	for (size_t i = 0; i < n; i++) {
		argv[nf + i] = k[i]->name;
		timeout += helper_timeout(k[i]->timeout_s);
	}
	e = proc_exchange(argv, NULL, 0, ANSWER_MAX, timeout, &b, &pc);
	/* `monitor check` exits with the worst state: its answer says more. */
	if (b.len > 0 && mon_results_decode((const char *)b.data, b.len, out, n, &dc) == 0) {
		e = 0;
		goto out;
	}
	if (b.len > 0)
		e = mm_fail(c, MM_ECHILD, "%s answered with something else than check results: %s",
			    h->program, dc.msg);
	else
		e = mm_fail(c, e ? e : MM_ECHILD, "%s, which runs the http and backups checks, "
			    "failed: %s", h->program, e ? pc.msg : "it printed nothing");
out:
	buf_release(&b);
	free(argv);
	return e;
}

static int
helper_send(void *arg, const struct mon_sink *s, const struct mon_alert *a, struct mm_ctx *c)
{
	const struct agent_helper *h = arg;
	char *argv[] = { (char *)h->program, "monitor", "send", "--wire", "--config",
			 (char *)h->config, "--", s->name, NULL };
	struct buf in = BUF_INIT, b = BUF_INIT;
	struct mm_ctx pc = MM_CTX_INIT;
	char line[700];
	int e;

	if ((e = mon_alert_encode(a, &in)) != 0) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto out;
	}
	e = proc_exchange(argv, in.data, in.len, ANSWER_MAX, s->timeout_s + 60.0, &b, &pc);
	first_line(&b, line, sizeof(line));
	if (e == 0 && strcmp(line, "sent") == 0)
		goto out;
	if (strncmp(line, "error ", 6) == 0)
		e = mm_fail(c, MM_EREMOTE, "%s", line + 6);
	else if (e != 0)
		e = mm_fail(c, e, "%s did not send it: %s", h->program, pc.msg);
	else
		e = mm_fail(c, MM_ECHILD, "%s answered '%.80s', not 'sent'", h->program, line);
out:
	buf_release(&in);
	buf_release(&b);
	return e;
}

const struct mon_net agent_net = { NULL, helper_send };
