/* demo_pulse.c — a year of monthly pulses for the demo. See demo_pulse.h. */
#include "demo/demo_pulse.h"
#include "pulse/pulse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEMO_PULSE_OPEN_DAYS 7
#define DEMO_PULSE_MAX_TEAMS 64

/* A generator of its own (splitmix64, Vigna's constants), so the pulse
 * does not shift the main demo's streams. */
typedef struct demo_prng {
	uint64_t x;
} demo_prng;

static uint64_t demo_p_next(demo_prng *r)
{
	uint64_t z = (r->x += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double demo_p_unit(demo_prng *r)
{
	return (double)(demo_p_next(r) >> 11) * 0x1.0p-53;
}

/* Box-Muller; one of the pair is enough here. */
static double demo_p_normal(demo_prng *r)
{
	double u = demo_p_unit(r), v = demo_p_unit(r);
	if (u < 1e-12)
		u = 1e-12;
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static int demo_p_clamp(double x, int lo, int hi)
{
	long v = lround(x);
	return v < lo ? lo : v > hi ? hi : (int)v;
}

static const char *const demo_pulse_comments[] = {
	"Meer tijd per klant zou helpen; nu moeten we steeds afronden.",
	"Fijne collega's, maar de systemen zijn traag.",
	"Graag vaker terugkoppeling van wat klanten over ons zeggen.",
	"De roosters worden te laat bekend gemaakt.",
	"Ik zou graag meer ruimte krijgen om zelf een oplossing te kiezen.",
	"Goede sfeer in het team, trots op wat we doen.",
	"Minder overleg, meer tijd voor het echte werk.",
	"De nieuwe kennisbank scheelt veel zoekwerk.",
	"Opleiding voor de nieuwe producten kwam te laat.",
	"Waardering van de leiding doet veel, dat mag vaker.",
	"More training on the new systems would help.",
	"Great team spirit, but the workload is high.",
	NULL};

typedef struct demo_team_state {
	int64_t id;
	double level;   /* mean eNPS score (0-10) at the first wave */
	double drift;   /* change per wave */
} demo_team_state;

static demo_team_state *demo_pulse_team(demo_team_state *teams, size_t *n, int64_t id, demo_prng *r)
{
	for (size_t i = 0; i < *n; i++)
		if (teams[i].id == id)
			return &teams[i];
	if (*n >= DEMO_PULSE_MAX_TEAMS)
		return NULL;   /* more teams than the demo makes: left out */
	demo_team_state *t = &teams[(*n)++];
	t->id = id;
	t->level = 7.2 + 1.1 * demo_p_normal(r);
	if (t->level < 4.5)
		t->level = 4.5;
	if (t->level > 9.0)
		t->level = 9.0;
	t->drift = 0.09 * demo_p_normal(r);
	return t;
}

/* 09:00 UTC on the 3rd of the month k months before now's month (a
 * weekday morning in Amsterdam, well inside the month). */
static int64_t demo_pulse_opening(int64_t now, int k)
{
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	int months = tm.tm_year * 12 + tm.tm_mon - k;
	struct tm o = {.tm_year = months / 12, .tm_mon = months % 12, .tm_mday = 3, .tm_hour = 8};
	return (int64_t)timegm(&o);
}

static ks_err demo_pulse_wave(ks_store *s, demo_prng *r, int w, int64_t now, const int64_t *emp, const int64_t *team,
			      size_t n, demo_team_state *teams, size_t *n_teams, ks_error *e)
{
	int64_t opened = demo_pulse_opening(now, DEMO_PULSE_WAVES - w);
	store_pulse_demo_answer *ans = calloc(n ? n : 1, sizeof *ans);
	if (ans == NULL) {
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	double rate = 0.58 + 0.14 * demo_p_unit(r);
	size_t n_ans = 0;
	for (size_t i = 0; i < n; i++) {
		demo_team_state *ts = team[i] ? demo_pulse_team(teams, n_teams, team[i], r) : NULL;
		if (ts == NULL || demo_p_unit(r) >= rate)
			continue;
		store_pulse_demo_answer *a = &ans[n_ans++];
		a->team_id = team[i];
		double mood = ts->level + ts->drift * w + 1.7 * demo_p_normal(r);
		a->a.enps = demo_p_clamp(mood, 0, 10);
		for (int k = 0; k < STORE_PULSE_ITEMS; k++)
			a->a.item[k] = demo_p_clamp(3.0 + (mood - 6.5) / 2.2 + 0.7 * demo_p_normal(r), 1, 5);
		if (demo_p_unit(r) < 0.33) {
			size_t nc = 0;
			while (demo_pulse_comments[nc])
				nc++;
			a->a.comment = demo_pulse_comments[demo_p_next(r) % nc];
		}
	}
	int64_t wave_id = 0;
	bool closed = opened + DEMO_PULSE_OPEN_DAYS * 86400 <= now;
	ks_err err = store_pulse_demo_wave(s, opened, DEMO_PULSE_OPEN_DAYS, closed, emp, team, n, ans, n_ans,
					   &wave_id, e);
	free(ans);
	/* a closed wave's results are written at closing, as the scheduler does */
	if (!err && closed)
		err = pulse_wave_finalise(s, wave_id, e);
	return err;
}

ks_err demo_pulse_generate(ks_store *s, uint64_t seed, int64_t now, int *waves, ks_error *e)
{
	if (waves)
		*waves = 0;
	int64_t *emp = NULL, *team = NULL;
	size_t n = 0;
	ks_err err = store_pulse_staff(s, &emp, &team, &n, e);
	demo_team_state *teams = calloc(DEMO_PULSE_MAX_TEAMS, sizeof *teams);
	size_t n_teams = 0;
	if (!err && teams == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	demo_prng r = {.x = seed ^ 0x70756c7365ULL}; /* "pulse" */
	for (int w = 0; !err && w < DEMO_PULSE_WAVES; w++) {
		err = demo_pulse_wave(s, &r, w, now, emp, team, n, teams, &n_teams, e);
		if (!err && waves)
			(*waves)++;
	}
	free(emp);
	free(team);
	free(teams);
	return err;
}
