/* pool.c — the slow pool: a few threads for work that would stall an
 * HTTP thread (password hashing, report queries; issue 11, finding 3).
 *
 * libmicrohttpd's thread pool binds each connection to one of its
 * threads, so a handler that computes for a second holds up every other
 * connection of that thread - /healthz included. Routes flagged HTTP_SLOW
 * are suspended on their HTTP thread and run here instead; the queue is
 * bounded so that a burst is refused (503, Retry-After) rather than
 * queued without end. The threads run at a lower priority (nice), so the
 * HTTP threads win the cores when both want them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/syscall.h>

#include "http/http_int.h"

/* How much nicer the pool's threads are than the HTTP threads. */
#define POOL_NICE 10

typedef struct pool_job {
	http_pool_fn fn;
	void *arg;
} pool_job;

struct http_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pool_job *ring;
	size_t cap, head, len;
	bool stop;
	unsigned n_threads;
	pthread_t threads[];
};

static void *pool_main(void *arg)
{
	http_pool *p = arg;
	/* Linux: a thread's nice value is its own (setpriority on its tid). */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), POOL_NICE);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->len == 0 && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->len == 0)
			break; /* stopping, and nothing left */
		pool_job j = p->ring[p->head];
		p->head = (p->head + 1) % p->cap;
		p->len--;
		pthread_mutex_unlock(&p->mu);
		j.fn(j.arg);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

ks_err http_pool_start(unsigned workers, unsigned queue, http_pool **out, ks_error *e)
{
	*out = NULL;
	if (workers == 0)
		workers = 1;
	if (queue == 0)
		queue = 1;
	http_pool *p = calloc(1, sizeof *p + workers * sizeof p->threads[0]);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	p->ring = calloc(queue, sizeof *p->ring);
	if (p->ring == NULL) {
		free(p);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	p->cap = queue;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (unsigned i = 0; i < workers; i++) {
		if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
			p->n_threads = i;
			http_pool_free(p);
			return ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot start the slow pool");
		}
	}
	p->n_threads = workers;
	*out = p;
	return KS_OK;
}

bool http_pool_submit(http_pool *p, http_pool_fn fn, void *arg)
{
	pthread_mutex_lock(&p->mu);
	bool ok = !p->stop && p->len < p->cap;
	if (ok) {
		p->ring[(p->head + p->len) % p->cap] = (pool_job){fn, arg};
		p->len++;
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return ok;
}

void http_pool_stop(http_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	bool was = p->stop;
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (was)
		return;
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
}

void http_pool_free(http_pool *p)
{
	if (p == NULL)
		return;
	http_pool_stop(p);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->ring);
	free(p);
}

/* issue 18 (ops): jobs waiting for a worker (the Prometheus gauge) */
size_t http_pool_depth(http_pool *p)
{
	if (p == NULL)
		return 0;
	pthread_mutex_lock(&p->mu);
	size_t n = p->len;
	pthread_mutex_unlock(&p->mu);
	return n;
}
