/*
 * The agent's hands for what it does not load: the checks of an
 * outsourced type are run by a `mamori monitor check --wire` child each
 * cycle, and every alert is delivered by a `mamori monitor send --wire`
 * child in the background, answered in the monitor's wire format. A child that fails, hangs or answers nonsense makes the
 * check UNKNOWN (or the delivery retried) with the reason, never the agent
 * stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* How a delivery that ended went: 0 sent, else the reason in c. */
static int
send_verdict(const struct agent_helper *h, int e, const struct mm_ctx *pc, const struct buf *b,
	     struct mm_ctx *c)
{
	char line[700];

	first_line(b, line, sizeof(line));
	if (e == 0 && strcmp(line, "sent") == 0)
		return 0;
	if (strncmp(line, "error ", 6) == 0)
		return mm_fail(c, MM_EREMOTE, "%s", line + 6);
	if (e != 0)
		return mm_fail(c, e, "%s did not send it: %s", h->program, pc->msg);
	return mm_fail(c, MM_ECHILD, "%s answered '%.80s', not 'sent'", h->program, line);
}

static void
delivery_free(struct agent_delivery *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->id);
	free(d->tag);
	buf_release(&d->out);
}

static void
delivery_drop(struct agent_helper *h, size_t i)
{
	delivery_free(&h->fl[i]);
	h->fl[i] = h->fl[--h->nfl];
}

static int
helper_start(void *arg, const char *id, const char *tag, const struct mon_sink *s,
	     const struct mon_alert *a, struct mm_ctx *c)
{
	struct agent_helper *h = arg;
	char *argv[] = { (char *)h->program, "monitor", "send", "--wire", "--config",
			 (char *)h->config, "--", s->name, NULL };
	struct agent_delivery d, *grown;
	struct buf in = BUF_INIT;
	int in_fd = -1, e, r;

	memset(&d, 0, sizeof(d));
	d.fd = -1;
	buf_init(&d.out, ANSWER_MAX);
	if ((e = mon_alert_encode(a, &in)) != 0 || (d.id = strdup(id)) == NULL ||
	    (d.tag = strdup(tag)) == NULL ||
	    (grown = realloc(h->fl, (h->nfl + 1) * sizeof(*h->fl))) == NULL) {
		e = mm_fail(c, MM_ENOMEM, "out of memory");
		goto fail;
	}
	h->fl = grown;
	if ((e = proc_spawn_piped(argv, &in_fd, &d.fd, &d.pid, c)) != 0)
		goto fail;
	/* An alert is a few hundred bytes: the pipe takes it whole. A child
	 * that exits without reading it (EPIPE) is judged by what it answers. */
	if ((r = write_full(in_fd, in.data, in.len)) != 0 && r != -EPIPE) {
		e = mm_fail_errno(c, -r, "cannot hand the alert to %s", h->program);
		kill((pid_t)d.pid, SIGKILL);
		(void)waitpid((pid_t)d.pid, NULL, 0);
		goto fail;
	}
	(void)fcntl(d.fd, F_SETFL, O_NONBLOCK);
	d.deadline = time_mono() + s->timeout_s + 10.0; /* mamori starts in milliseconds */
	h->fl[h->nfl++] = d;
	close(in_fd);
	buf_release(&in);
	return 0;
fail:
	if (in_fd >= 0)
		close(in_fd);
	delivery_free(&d);
	buf_release(&in);
	return e;
}

/* Read what the child printed so far: 0 more may come, 1 at its end
 * (EOF), 2 it printed more than an answer can be. */
static int
drain_output(struct agent_delivery *d)
{
	uint8_t chunk[4096];
	ssize_t n;

	while ((n = read(d->fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&d->out, chunk, (size_t)n) != 0)
			return 2;
	return n == 0;
}

static int
helper_finish(void *arg, const char *id, const char *tag, int *failed, struct mm_ctx *c)
{
	struct agent_helper *h = arg;
	struct mm_ctx pc = MM_CTX_INIT;
	struct agent_delivery *d = NULL;
	size_t i;
	int ended, st, e = 0;

	for (i = 0; i < h->nfl && d == NULL; i++)
		if (strcmp(h->fl[i].id, id) == 0)
			d = &h->fl[i];
	if (d == NULL)
		return -1;
	i--;
	/* Its output ends when it exits: then the wait is at once. */
	ended = drain_output(d);
	if (ended == 0 && time_mono() < d->deadline)
		return 0;
	if (ended != 1) {
		kill((pid_t)d->pid, SIGKILL);
		(void)waitpid((pid_t)d->pid, &st, 0);
		e = mm_fail(&pc, ended ? MM_ELIMIT : MM_ETIMEDOUT, "%s %s: killed", h->program,
			    ended ? "printed more than an answer" : "did not finish within its time");
	} else if (waitpid((pid_t)d->pid, &st, 0) != (pid_t)d->pid) {
		e = mm_fail_errno(&pc, errno, "cannot wait for %s", h->program);
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		e = mm_fail(&pc, MM_ECHILD, "%s %s %d", h->program, WIFEXITED(st) ?
			    "exited with status" : "was killed by signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	if (strcmp(d->tag, tag) != 0) {
		delivery_drop(h, i); /* an older alert's: the queue holds a newer one */
		return -1;
	}
	*failed = send_verdict(h, e, &pc, &d->out, c) != 0;
	delivery_drop(h, i);
	return 1;
}

void
agent_helper_settle(struct agent_helper *h)
{
	for (size_t i = 0; i < h->nfl; i++) {
		struct agent_delivery *d = &h->fl[i];
		while (time_mono() < d->deadline) {
			struct pollfd pf = { d->fd, POLLIN, 0 };
			int left = (int)((d->deadline - time_mono()) * 1000) + 1;
			if ((poll(&pf, 1, left) < 0 && errno != EINTR) || drain_output(d) != 0)
				break;
		}
	}
}

void
agent_helper_release(struct agent_helper *h)
{
	for (size_t i = 0; i < h->nfl; i++) {
		kill((pid_t)h->fl[i].pid, SIGKILL);
		(void)waitpid((pid_t)h->fl[i].pid, NULL, 0);
		delivery_free(&h->fl[i]);
	}
	free(h->fl);
	h->fl = NULL;
	h->nfl = 0;
}

const struct mon_net agent_net = { NULL, NULL, helper_start, helper_finish };
