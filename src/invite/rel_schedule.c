/* rel_schedule.c — a relationship survey wave per quarter. See rel_schedule.h. */
#include "invite/rel_schedule.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

struct rel_scheduler {
	ks_store *store;
	const ks_clock *clock;
	ks_tz tz;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
};

void rel_schedule_quarter(const ks_tz *z, int64_t utc, int day_of_month, char *out, size_t n, bool *due)
{
	int y, mo, d, h, mi, s;
	tz_civil(z, utc, &y, &mo, &d, &h, &mi, &s);
	int q = (mo - 1) / 3 + 1;
	snprintf(out, n, "%04d-Q%d", y, q);
	*due = mo != 3 * (q - 1) + 1 || d >= day_of_month;
}

ks_err rel_schedule_pass(ks_store *s, const ks_clock *clock, const ks_tz *z, int64_t *wave_id, ks_error *e)
{
	*wave_id = 0;
	store_rel_schedule sc;
	ks_err err = store_rel_schedule_get(s, &sc, e);
	if (err || !sc.enabled)
		return err;
	char period[24];
	bool due = false;
	rel_schedule_quarter(z, clock_now(clock), sc.day_of_month, period, sizeof period, &due);
	if (!due || strcmp(period, sc.last_period) == 0)
		return KS_OK;
	err = store_rel_schedule_claim(s, period, wave_id, e);
	if (err || *wave_id == 0)
		return err;
	uint64_t seed;
	randombytes_buf(&seed, sizeof seed);
	store_rel_draw_result dr;
	int64_t invited = 0, excluded = 0;
	err = store_rel_draw(s, *wave_id, seed, &dr, e);
	if (!err)
		err = store_rel_send(s, *wave_id, &invited, &excluded, e);
	char note[256];
	snprintf(note, sizeof note, "%s", !err ? "" : e ? e->message : "failed");
	store_rel_schedule_note(s, note, NULL);
	if (!err)
		fprintf(stderr, "klantstem: relationship survey %s: wave %lld, %lld invited, %lld excluded\n", period,
			(long long)*wave_id, (long long)invited, (long long)(dr.fatigue + dr.opted_out + dr.no_email + excluded));
	return err;
}

static void *rel_sched_main(void *arg)
{
	rel_scheduler *r = arg;
	pthread_mutex_lock(&r->mu);
	while (!r->stopping) {
		pthread_mutex_unlock(&r->mu);
		ks_error e;
		ks_error_clear(&e);
		int64_t wave = 0;
		if (rel_schedule_pass(r->store, r->clock, &r->tz, &wave, &e) != KS_OK)
			fprintf(stderr, "klantstem: relationship schedule: %s\n", e.message);
		pthread_mutex_lock(&r->mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		if (!r->stopping)
			pthread_cond_timedwait(&r->cv, &r->mu, &until);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

ks_err rel_scheduler_start(ks_store *s, const ks_clock *clock, const ks_tz *z, rel_scheduler **out, ks_error *e)
{
	rel_scheduler *r = calloc(1, sizeof *r);
	if (r == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	r->store = s;
	r->clock = clock;
	r->tz = *z;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->thread, NULL, rel_sched_main, r) != 0) {
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
		free(r);
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot start the relationship schedule thread");
	}
	*out = r;
	return KS_OK;
}

void rel_scheduler_stop(rel_scheduler *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}
