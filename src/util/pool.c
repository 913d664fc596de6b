/*
 * A small fixed-size thread pool.  The queue holds at most 4 jobs per
 * thread; pool_submit blocks while it is full, so memory stays bounded
 * however much work is fed in.  A job may itself call pool_submit on its
 * own pool: when the queue is full it then runs the new job inline rather
 * than wait for a slot only its own thread could free.  pool_wait must not
 * be called from a job.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/util.h"

#define JOBS_PER_THREAD 4

struct job {
	pool_fn fn;
	void *arg;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work;  /* a job was queued, or stop */
	pthread_cond_t space; /* the queue has room */
	pthread_cond_t idle;  /* pending reached zero */
	struct job *q;        /* ring buffer of qcap entries */
	size_t qcap, head, count;
	size_t pending;       /* queued + running */
	int stop;
	unsigned nthreads;    /* threads started */
	pthread_t *threads;
};

static _Thread_local struct pool *current_pool;

unsigned
cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	if (n > 4096)
		return 4096;
	return (unsigned)n;
}

static void *
worker(void *v)
{
	struct pool *p = v;
	struct job jb;

	current_pool = p;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->count == 0 && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->count == 0)
			break; /* stopping and drained */
		jb = p->q[p->head];
		p->head = (p->head + 1) % p->qcap;
		p->count--;
		pthread_cond_signal(&p->space);
		pthread_mutex_unlock(&p->mu);

		jb.fn(jb.arg);

		pthread_mutex_lock(&p->mu);
		if (--p->pending == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Stops the threads (after they drain the queue) and frees everything. */
static void
pool_destroy(struct pool *p)
{
	unsigned i;

	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->space);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p->q);
	free(p);
}

/* Starts threads; they block all signals so the caller's handlers see
 * them.  Returns 0, MM_ENOMEM, or MM_EINVAL. */
int
pool_new(unsigned nthreads, struct pool **out)
{
	struct pool *p = NULL;
	sigset_t all, old;
	unsigned want;
	int r, masked = 0;

	*out = NULL;
	want = nthreads != 0 ? nthreads : cpu_count();
	if (want > 4096)
		return MM_EINVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return MM_ENOMEM;
	p->qcap = (size_t)want * JOBS_PER_THREAD;
	if ((p->q = calloc(p->qcap, sizeof(*p->q))) == NULL ||
	    (p->threads = calloc(want, sizeof(*p->threads))) == NULL) {
		free(p->q);
		free(p->threads);
		free(p);
		return MM_ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->space, NULL);
	pthread_cond_init(&p->idle, NULL);

	sigfillset(&all);
	masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
	for (p->nthreads = 0; p->nthreads < want; p->nthreads++) {
		if (pthread_create(&p->threads[p->nthreads], NULL, worker,
		    p) != 0) {
			r = MM_ENOMEM;
			goto out;
		}
	}
	*out = p;
	p = NULL; /* transferred */
	r = 0;
out:
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p != NULL)
		pool_destroy(p);
	return r;
}

/* With mu held and room in the queue (unless stopping): queue the job,
 * wake a worker, release mu. */
static int
enqueue_unlock(struct pool *p, pool_fn fn, void *arg)
{
	if (p->stop) {
		pthread_mutex_unlock(&p->mu);
		return MM_EINVAL;
	}
	p->q[(p->head + p->count) % p->qcap] = (struct job){ fn, arg };
	p->count++;
	p->pending++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int
pool_submit(struct pool *p, pool_fn fn, void *arg)
{
	if (p == NULL || fn == NULL)
		return MM_EINVAL;
	pthread_mutex_lock(&p->mu);
	if (p->count == p->qcap && current_pool == p) {
		/* A job of this pool: waiting could deadlock, run it here. */
		pthread_mutex_unlock(&p->mu);
		fn(arg);
		return 0;
	}
	while (p->count == p->qcap && !p->stop)
		pthread_cond_wait(&p->space, &p->mu);
	return enqueue_unlock(p, fn, arg);
}

int
pool_try_submit(struct pool *p, pool_fn fn, void *arg)
{
	if (p == NULL || fn == NULL)
		return MM_EINVAL;
	pthread_mutex_lock(&p->mu);
	if (p->count == p->qcap && !p->stop) {
		pthread_mutex_unlock(&p->mu);
		return 1;
	}
	return enqueue_unlock(p, fn, arg);
}

void
pool_wait(struct pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	while (p->pending > 0)
		pthread_cond_wait(&p->idle, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* Finishes every queued job, then stops the threads.  NULL is a no-op. */
void
pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	pool_destroy(p);
}

unsigned
pool_size(const struct pool *p)
{
	return p != NULL ? p->nthreads : 0;
}
