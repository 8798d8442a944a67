/* demo.c — the demo data generator (see demo.h).
 *
 * How the scores are made. Every contact gets a latent satisfaction z in
 * "standard units": a systematic shift m (team, employee, touchpoint, time,
 * customer) plus the contact's own luck, which is split into three driver
 * components (speed, friendliness, expertise) and a rest. NPS is z cut at
 * fixed thresholds (an ordered-probit model), so a team with a higher m
 * really has more promoters; grade, CES and the driver ratings are noisy
 * linear readings of the same parts, so they correlate with NPS the way
 * real answers do, and a key-driver analysis finds speed weighing most.
 * Open answers pick their theme from the weakest (or strongest) driver part
 * and from the touchpoint's topic, so text themes agree with the scores;
 * their tone follows the score only as loosely as real answers do
 * (demo_text.h).
 *
 * How the invitations are made. The decision comes first, exactly as the
 * server takes it: invite_decide() over the touchpoint's demo rule (the one
 * put after the commit) and the customer's facts (e-mail address, the
 * latest invitation), with the demo seed as the sampling seed. Contacts are
 * generated in time order, so "the latest invitation" is known without a
 * query. Only an invitation that was sent can be answered; whether and when
 * the customer opens, starts and completes the survey is drawn next, with
 * response rates that fall for young and business customers (the "silent
 * mass" the representativeness view must reveal). There are no opt-outs:
 * the bulk interface cannot set customers.opted_out_at, and an "opted_out"
 * decision for a customer who never opted out would be a lie.
 *
 * Determinism: one xoshiro256** generator per phase, seeded with splitmix64
 * from opt->seed, so a change in one phase does not reshuffle the others.
 * No rand(), no wall-clock time in the data: the window ends at opt->now.
 */
#include "demo/demo.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases/flow.h"
#include "core/clock.h"
#include "demo/demo_text.h"
#include "store/store_copy.h" /* store_sync_identities (issue 18) */
#include "demo/demo_kpis.h" /* issue 17 K */
#include "demo/demo_pulse.h" /* issue 17 P */

#define DEMO_DAY 86400
#define DEMO_WINDOW_DAYS 730      /* 24 months of contacts */
#define DEMO_CUSTOMER_YEARS 15    /* customer_since spread */
#define DEMO_NEW_CUSTOMER_DAYS 120
#define DEMO_N_DEPTS 3
#define DEMO_N_TEAMS 8
#define DEMO_N_EMPLOYEES 60
#define DEMO_N_JOURNEYS 3
#define DEMO_TP_PER_JOURNEY 4
#define DEMO_N_TOUCHPOINTS (DEMO_N_JOURNEYS * DEMO_TP_PER_JOURNEY)
#define DEMO_N_SURVEYS 3
#define DEMO_N_CHANNELS 6
#define DEMO_N_COMPS 3

/* ---- PRNG: xoshiro256** (Blackman & Vigna 2018), seeded by splitmix64 ---- */

typedef struct demo_rng {
	uint64_t s[4];
} demo_rng;

static uint64_t demo_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Each phase has its own stream: seed and phase number mixed by splitmix64
 * (the seeding its authors recommend; it never yields the all-zero state). */
static void demo_rng_seed(demo_rng *r, uint64_t seed, uint64_t phase)
{
	uint64_t x = seed ^ (phase * 0xd1342543de82ef95u);
	for (int i = 0; i < 4; i++)
		r->s[i] = demo_splitmix64(&x);
}

static uint64_t demo_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t demo_rng_next(demo_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = demo_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = demo_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1): the top 53 bits, exactly representable in a double. */
static double demo_unit(demo_rng *r)
{
	return (double)(demo_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n); n > 0 and small, so scaling a 53-bit uniform
 * is exact enough (bias < n / 2^53). */
static int demo_below(demo_rng *r, int n)
{
	return (int)(demo_unit(r) * n);
}

static bool demo_chance(demo_rng *r, double p)
{
	return demo_unit(r) < p;
}

/* Standard normal by Box-Muller (one of the pair; simplicity over speed). */
static double demo_normal(demo_rng *r)
{
	double u = 1.0 - demo_unit(r);  /* (0, 1]: log stays finite */
	double v = demo_unit(r);
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Index drawn with probability proportional to w[i]. */
static int demo_weighted(demo_rng *r, const double *w, int n)
{
	double total = 0;
	for (int i = 0; i < n; i++)
		total += w[i];
	double x = demo_unit(r) * total;
	for (int i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

/* Length of a NULL-terminated string list. */
static int demo_count(const char *const *list)
{
	int n = 0;
	while (list[n] != NULL)
		n++;
	return n;
}

static const char *demo_pick(demo_rng *r, const char *const *list)
{
	int n = demo_count(list);
	return n ? list[demo_below(r, n)] : NULL;
}

static int demo_clamp_round(double x, int lo, int hi)
{
	int v = (int)floor(x + 0.5);
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- static world: names, places, organisation ---------------------------- */

static const char *const demo_first_nl[] = {
	"Sanne", "Daan", "Emma", "Lucas", "Julia", "Sem", "Lotte", "Milan", "Anouk", "Thijs",
	"Fleur", "Bram", "Lisa", "Jesse", "Eva", "Ruben", "Sophie", "Niels", "Iris", "Jeroen",
	"Marloes", "Bas", "Femke", "Joost", "Linda", "Mark", "Esther", "Wouter", "Inge", "Pieter",
	"Annemiek", "Koen", "Marieke", "Sander", "Noor", "Tim", "Yara", "Stijn", "Kim", "Gijs",
	"Laura", "Rik", "Hanneke", "Martijn", "Ilse", "Dennis", "Mohamed", "Fatima", "Emre",
	"Yasmina", "Ayoub", "Samira", "Kevin", "Demi", "Henk", "Ria", "Gerrit", "Truus", "Willem",
	"Marjolein", "Jan", "Els", "Kees", "Anja", "Floor", "Mees", "Tess", "Luuk", "Nina", "Hugo",
	NULL};

static const char *const demo_last_nl[] = {
	"de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
	"Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
	"van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf",
	"van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen",
	"van den Heuvel", "van der Veen", "van den Broek", "de Bruijn", "van der Heijden",
	"Schouten", "van Beek", "Willems", "van Vliet", "van de Ven", "Hoekstra", "Maas",
	"Verhoeven", "Koster", "van Dam", "van der Wal", "Prins", "Blom", "Huisman", "Peeters",
	"de Lange", "Kuipers", "van Wijk", "Yilmaz", "El Amrani", "Bouzid", "Kaya", "Postma",
	"Kramer", "Veenstra", "Wijnands", "Timmermans", "Gerritsen", "Bosman", NULL};

static const char *const demo_first_en[] = {
	"James", "Emily", "Oliver", "Sophie", "Daniel", "Hannah", "Michael", "Olivia", "Ryan",
	"Priya", "Arjun", "Anna", "Tom", "Kate", "Laura", "Marco", "Giulia", "Piotr", "Katarzyna",
	"Chen", NULL};

static const char *const demo_last_en[] = {
	"Smith", "Johnson", "Brown", "Taylor", "Wilson", "Walker", "Evans", "Kowalski", "Nowak",
	"Rossi", "Garcia", "Muller", "Schmidt", "Patel", "Sharma", "O'Brien", "Murphy", "Novak",
	"Silva", "Anderson", NULL};

typedef struct demo_city {
	const char *name;
	double weight;  /* roughly the population share */
	bool randstad;  /* field service by Monteurs Randstad, else Noord-Oost */
	bool north;     /* phone calls routed to Telefonie Noord, else Zuid */
} demo_city;

static const demo_city demo_cities[] = {
	{"Amsterdam", 12, true, true},    {"Rotterdam", 10, true, false},
	{"Den Haag", 8, true, false},     {"Utrecht", 7, true, true},
	{"Eindhoven", 4.5, false, false}, {"Groningen", 4, false, true},
	{"Tilburg", 3.5, false, false},   {"Almere", 3.5, true, true},
	{"Breda", 3, false, false},       {"Nijmegen", 3, false, false},
	{"Apeldoorn", 2.5, false, true},  {"Haarlem", 2.5, true, true},
	{"Arnhem", 2.5, false, false},    {"Enschede", 2.5, false, true},
	{"Amersfoort", 2.5, true, true},  {"Zaanstad", 2, true, true},
	{"'s-Hertogenbosch", 2, false, false}, {"Zwolle", 2, false, true},
	{"Leiden", 2, true, false},       {"Maastricht", 2, false, false},
	{"Dordrecht", 2, true, false},    {"Zoetermeer", 2, true, false},
	{"Delft", 1.5, true, false},      {"Alkmaar", 1.5, false, true},
	{"Leeuwarden", 1.5, false, true}, {"Deventer", 1.5, false, true},
	{"Venlo", 1, false, false},       {"Hilversum", 1, true, true},
};
#define DEMO_N_CITIES ((int)(sizeof demo_cities / sizeof demo_cities[0]))

typedef struct demo_segment {
	const char *name;
	double share;
	double effect;    /* z shift: premium customers get (and feel) more care */
	double response;  /* response-rate factor: a survey sent to a firm's
	                   * info@ address finds nobody who feels addressed */
} demo_segment;

static const demo_segment demo_segments[] = {
	{"particulier", 0.80, 0.0, 1.0},
	{"zakelijk", 0.12, -0.15, 0.55},
	{"premium", 0.08, 0.25, 1.1},
};
#define DEMO_N_SEGMENTS 3

/* Business customers are named after a (fictional) firm. */
typedef struct demo_firm {
	const char *pre, *post;
} demo_firm;

static const demo_firm demo_firms[] = {
	{"Bakkerij ", ""}, {"Kapsalon ", ""}, {"", " Installatietechniek B.V."},
	{"", " Bouw"}, {"", " Transport"}, {"Autobedrijf ", ""}, {"", " Advies"},
	{"Schildersbedrijf ", ""}, {"", " & Zonen"}, {"Tandartspraktijk ", ""},
};
#define DEMO_N_FIRMS ((int)(sizeof demo_firms / sizeof demo_firms[0]))

static const char *const demo_departments[DEMO_N_DEPTS] = {
	"Klantenservice", "Buitendienst", "Verkoop & Retentie"};

enum { T_TEL_N, T_TEL_Z, T_DIGI, T_KLACHT, T_MON_R, T_MON_NO, T_WINKEL, T_ONLINE };

typedef struct demo_team {
	const char *name;
	int dept;
	int n_employees;
	double effect;  /* z shift at the start of the window */
	double trend;   /* z change over the 24 months (linear) */
} demo_team;

/* Clear differences on purpose: Monteurs Noord-Oost and the shops lead,
 * complaints handling trails (it sees the hardest cases), and Telefonie
 * Zuid starts worst and improves steadily (a coaching success story). */
static const demo_team demo_teams[DEMO_N_TEAMS] = {
	[T_TEL_N] = {"Team Telefonie Noord", 0, 10, 0.10, 0.0},
	[T_TEL_Z] = {"Team Telefonie Zuid", 0, 10, -0.50, 0.85},
	[T_DIGI] = {"Team Chat & E-mail", 0, 8, 0.05, 0.0},
	[T_KLACHT] = {"Team Klachten & Nazorg", 0, 5, -0.25, 0.0},
	[T_MON_R] = {"Monteurs Randstad", 1, 9, 0.0, 0.0},
	[T_MON_NO] = {"Monteurs Noord-Oost", 1, 7, 0.35, 0.0},
	[T_WINKEL] = {"Team Winkels", 2, 6, 0.15, 0.0},
	[T_ONLINE] = {"Team Online Verkoop & Behoud", 2, 5, -0.20, 0.0},
};

/* ---- journeys, touchpoints, channels -------------------------------------- */

enum { CH_PHONE, CH_EMAIL, CH_CHAT, CH_SHOP, CH_WEB, CH_FIELD };
static const char *const demo_channels[DEMO_N_CHANNELS] = {
	"phone", "email", "chat", "shop", "web", "field"};
/* Share of invited customers that answer the survey, by channel, before
 * the segment and age factors: a visit at home or in a shop is remembered
 * better than an e-mail. Higher than most real e-mail surveys get (a demo
 * needs volume: some 70% of the invited answer), but business customers (x0.55)
 * and the young (x0.5 under 25, x0.7 under 35) still answer clearly less.
 * demo_answer_chance caps the product at DEMO_MAX_ANSWER_CHANCE. */
static const double demo_response_rate[DEMO_N_CHANNELS] = {0.79, 0.68, 0.77, 0.83, 0.72, 0.85};

typedef struct demo_journey {
	const char *name;
	const char *description;
	double share;  /* of all contacts */
} demo_journey;

static const demo_journey demo_journeys[DEMO_N_JOURNEYS] = {
	{"Verhuizen", "Van verhuisbericht tot eindafrekening op het oude adres.", 0.30},
	{"Storing melden", "Van storingsmelding tot herstel en nazorg.", 0.42},
	{"Nieuw abonnement", "Van eerste advies tot de eerste factuur.", 0.28},
};

enum { TOPIC_GENERAL, TOPIC_MOVE, TOPIC_OUTAGE, TOPIC_FIELD, TOPIC_BILLING, TOPIC_SALES, TOPIC_N };
enum { SV_STANDARD, SV_SHORT, SV_FIELD };

typedef struct demo_touchpoint {
	const char *name;
	bool mot;          /* moment of truth */
	int survey;
	int topic;
	bool sales;        /* handled by the sales teams */
	bool complaint;    /* handled by Klachten & Nazorg */
	double share;      /* of its journey's contacts */
	double effect;     /* z shift */
	double spread;     /* scale of the contact's luck; > 1 for volatile moments */
	double ces;        /* effort shift: negative = harder for the customer */
	double dip;        /* depth of the mid-window dip (0 = none) */
	double channel[DEMO_N_CHANNELS];
	const char *reasons[5];
} demo_touchpoint;

/* Four per journey, in position order. "Eerste factuur" is a moment of truth
 * with a wide spread (a correct first bill is taken for granted, a wrong one
 * is a disaster) and it dips mid-window (a billing-system migration). */
static const demo_touchpoint demo_tps[DEMO_N_TOUCHPOINTS] = {
	{"Verhuizing doorgeven", false, SV_STANDARD, TOPIC_MOVE, false, false, 0.40, 0.10, 1.0, 0.0, 0,
	 {0.45, 0.05, 0.15, 0, 0.35, 0},
	 {"verhuizing doorgeven", "verhuisdatum wijzigen", "contract meenemen naar nieuw adres", NULL}},
	{"Meterstanden doorgeven", false, SV_SHORT, TOPIC_MOVE, false, false, 0.25, 0.20, 1.0, 0.2, 0,
	 {0.15, 0.25, 0, 0, 0.60, 0},
	 {"meterstanden doorgeven", "meterstand corrigeren", NULL}},
	{"Aansluiting op nieuw adres", true, SV_FIELD, TOPIC_FIELD, false, false, 0.20, -0.10, 1.15, -0.2, 0,
	 {0.30, 0, 0, 0, 0, 0.70},
	 {"aansluiting nieuw adres", "meter plaatsen", "geen stroom na verhuizing", NULL}},
	{"Eindafrekening oud adres", false, SV_STANDARD, TOPIC_BILLING, false, false, 0.15, -0.20, 1.0, -0.4, 0,
	 {0.40, 0.50, 0.10, 0, 0, 0},
	 {"eindafrekening", "vraag over terugbetaling", "bezwaar eindafrekening", NULL}},

	{"Storing melden", false, SV_STANDARD, TOPIC_OUTAGE, false, false, 0.40, -0.40, 1.0, -0.3, 0,
	 {0.60, 0, 0.25, 0, 0.15, 0},
	 {"geen internet", "stroomstoring", "storing in de wijk", "tv-signaal valt weg", NULL}},
	{"Monteur aan huis", true, SV_FIELD, TOPIC_FIELD, false, false, 0.25, -0.55, 1.2, -0.2, 0,
	 {0, 0, 0, 0, 0, 1},
	 {"monteursbezoek", "modem vervangen", "meterkast controleren", NULL}},
	{"Storing opgelost", false, SV_SHORT, TOPIC_OUTAGE, false, false, 0.20, 0.15, 1.0, 0.0, 0,
	 {0.70, 0.30, 0, 0, 0, 0},
	 {"terugkoppeling storing", "controle na herstel", NULL}},
	{"Klacht afhandelen", true, SV_STANDARD, TOPIC_GENERAL, false, true, 0.15, -0.50, 1.1, -0.5, 0,
	 {0.60, 0.40, 0, 0, 0, 0},
	 {"klacht over storing", "verzoek schadevergoeding", "klacht over monteur", NULL}},

	{"Advies en offerte", false, SV_STANDARD, TOPIC_SALES, true, false, 0.30, 0.35, 1.0, 0.2, 0,
	 {0.30, 0, 0.10, 0.40, 0.20, 0},
	 {"advies abonnement", "offerte aanvragen", "pakketten vergelijken", NULL}},
	{"Contract afsluiten", false, SV_SHORT, TOPIC_SALES, true, false, 0.30, 0.25, 1.0, 0.3, 0,
	 {0.15, 0, 0, 0.35, 0.50, 0},
	 {"nieuw contract", "overstap van andere aanbieder", "contract verlengen", NULL}},
	{"Installatie en activatie", false, SV_FIELD, TOPIC_FIELD, false, false, 0.20, 0.0, 1.05, 0.0, 0,
	 {0.20, 0, 0, 0, 0, 0.80},
	 {"installatie", "activatie aansluiting", NULL}},
	{"Eerste factuur", true, SV_STANDARD, TOPIC_BILLING, false, false, 0.20, -0.10, 1.5, -0.3, -0.9,
	 {0.40, 0.50, 0.10, 0, 0, 0},
	 {"vraag over eerste factuur", "factuur hoger dan verwacht", "dubbele afschrijving", NULL}},
};

/* The dip: a smooth bump over this part of the window (months ~11-17). */
#define DEMO_DIP_FROM 0.45
#define DEMO_DIP_TO 0.72

/* ---- surveys ------------------------------------------------------------------ */

enum { COMP_SPEED, COMP_FRIENDLY, COMP_EXPERT };

typedef struct demo_aspect {
	const char *aspect;
	const char *nl, *en;
	int comp;  /* which latent component the rating reads */
} demo_aspect;

/* A yes/no question (issue 13), answered yes when the latent component
 * it reads, plus noise, is above cut (about 80 % yes at -0.85). */
typedef struct demo_yesno {
	const char *aspect;
	const char *nl, *en;
	int comp;
	double cut;
} demo_yesno;

/* grade, ces, n_aspects: what the 24 months of history were answered on.
 * ask_*: the survey as it is now (issue 13: short by default — the NPS,
 * at most two drivers and one open question); the first n_asked aspects
 * stay. The history keeps its answers (surveys change; answers given to
 * an earlier version stay), and is drawn exactly as before, so every
 * figure of the demo is what it was. */
typedef struct demo_survey {
	const char *name;
	bool grade, ces, open;
	int n_aspects;
	demo_aspect aspects[3];
	bool ask_grade, ask_ces;
	int n_asked;
	int n_yesno;
	demo_yesno yesno[1];
} demo_survey;

static const demo_survey demo_surveys[DEMO_N_SURVEYS] = {
	/* now: NPS, speed, friendliness, open */
	[SV_STANDARD] = {"Standaard contactmeting", true, true, true, 3, {
		{"snelheid", "Hoe beoordeelt u de snelheid waarmee u geholpen bent?",
		 "How do you rate the speed with which you were helped?", COMP_SPEED},
		{"vriendelijkheid", "Hoe beoordeelt u de vriendelijkheid van de medewerker?",
		 "How do you rate the friendliness of our employee?", COMP_FRIENDLY},
		{"deskundigheid", "Hoe beoordeelt u de deskundigheid van de medewerker?",
		 "How do you rate the expertise of our employee?", COMP_EXPERT}}, false, false, 2, 0, {{0}}},
	[SV_SHORT] = {.name = "Korte meting", .open = true},
	/* now: NPS, grade, "on time?" as yes/no (faster and surer than a 1-10
	 * rating of punctuality), open */
	[SV_FIELD] = {"Monteursbezoek", true, false, true, 3, {
		{"punctualiteit", "Kwam de monteur op de afgesproken tijd?",
		 "Did the engineer arrive at the agreed time?", COMP_SPEED},
		{"deskundigheid", "Hoe beoordeelt u de deskundigheid van de monteur?",
		 "How do you rate the engineer's expertise?", COMP_EXPERT},
		{"vriendelijkheid", "Hoe beoordeelt u de vriendelijkheid van de monteur?",
		 "How do you rate the engineer's friendliness?", COMP_FRIENDLY}}, true, false, 0, 1, {
		{"op_tijd", "Kwam de monteur op de afgesproken tijd?", "Was the engineer on time?",
		 COMP_SPEED, -0.85}}},
};

/* Ordered-probit cut points: NPS = number of points below z. For z ~ N(0,1)
 * they give the answer shares 0..10 = 2.5, 1.5, 2, 3, 3.5, 5.5, 7, 13, 19,
 * 19, 24 % (left-skewed, as real NPS answers are): 25% detractors, 43%
 * promoters, NPS +18. Computed with python3 statistics.NormalDist.inv_cdf. */
static const double demo_nps_cut[10] = {
	-1.960, -1.751, -1.555, -1.341, -1.150, -0.915, -0.674, -0.305, 0.176, 0.706};

/* ---- open answers --------------------------------------------------------------- */

enum { CLS_DETRACTOR, CLS_PASSIVE, CLS_PROMOTER, CLS_N };
enum { LANG_NL, LANG_EN, LANG_N };

/* Share of responses with an open answer: unhappy customers write most. */
static const double demo_open_rate[CLS_N] = {0.55, 0.28, 0.40};

/* The words of an answer are composed in demo_text.c, from a stream of
 * their own (demo_ctx.text_rng); which parts it has is still drawn from
 * the response's stream exactly as before (demo_open_text), so every score
 * of the demo is what it was. */
_Static_assert((int)DEMO_TEXT_N_TOPICS == (int)TOPIC_N && (int)DEMO_TEXT_NL == (int)LANG_NL &&
	       (int)DEMO_TEXT_EN == (int)LANG_EN && (int)DEMO_TEXT_DETRACTOR == (int)CLS_DETRACTOR &&
	       (int)DEMO_TEXT_PROMOTER == (int)CLS_PROMOTER && (int)DEMO_TEXT_SPEED == (int)COMP_SPEED &&
	       (int)DEMO_TEXT_EXPERT == (int)COMP_EXPERT,
	       "demo_text.h numbers topics, languages, classes and parts as demo.c does");

/* ---- generation state ------------------------------------------------------------ */

typedef struct demo_customer {
	int64_t id;
	int64_t since;       /* unix seconds, midnight UTC */
	int64_t last_send;   /* send_at of the latest invitation stored; 0 = never */
	float disposition;   /* personal z shift: some people are harder to please */
	short birth_year;
	bool has_email;
	unsigned char lang, segment, city;
} demo_customer;

typedef struct demo_employee {
	int64_t id;
	int team;
	const char *first_name;
	double effect;  /* small personal z shift */
	double load;    /* relative share of the team's contacts */
} demo_employee;

typedef struct demo_ctx {
	store_bulk *b;
	ks_error *e;
	uint64_t seed;
	int64_t now, start;  /* the contact window [start, now) */
	int n_customers, n_contacts;
	demo_stats st;

	int64_t dept_id[DEMO_N_DEPTS];
	int64_t team_id[DEMO_N_TEAMS];
	int team_first[DEMO_N_TEAMS];  /* index of the team's first employee */
	demo_employee emp[DEMO_N_EMPLOYEES];
	int64_t survey_id[DEMO_N_SURVEYS];
	int64_t tp_id[DEMO_N_TOUCHPOINTS];
	demo_customer *cust;  /* sorted by since (and so by id) */
	double city_w[DEMO_N_CITIES];
	double segment_w[DEMO_N_SEGMENTS];
	invite_rule rule[DEMO_N_TOUCHPOINTS];  /* the survey rule of each touchpoint */
	int now_year;        /* calendar year of now: customers' ages */
	demo_rng inv_rng;    /* who opens and answers, and when: its own stream */
	demo_rng yesno_rng;  /* yes/no answers (issue 13): their own stream, the rest as before */
	uint64_t text_rng;   /* the words of open answers (issue 14): their own stream */

	char open_buf[MODEL_OPEN_MAX];
} demo_ctx;

/* The latent parts of one contact's experience (see the file comment). */
typedef struct demo_latent {
	double m;
	double comp[DEMO_N_COMPS];
	double z;
} demo_latent;

static const model_entity *demo_entity(const char *name, ks_error *e)
{
	const model_entity *ent = model_entity_find(name);
	if (ent == NULL)
		ks_fail(e, KS_ERR_INTERNAL, NULL, "demo: no entity %s in the model", name);
	return ent;
}

/* Insert obj (consumed: the reference is released) and return its id. */
static ks_err demo_insert(demo_ctx *x, const char *entity, json_t *obj, int64_t *id)
{
	if (obj == NULL)
		return ks_fail(x->e, KS_ERR_NOMEM, NULL, "demo: out of memory");
	const model_entity *ent = demo_entity(entity, x->e);
	ks_err err = ent ? store_bulk_entity(x->b, ent, obj, id, x->e) : KS_ERR_INTERNAL;
	json_decref(obj);
	return err;
}

/* Lower-case ASCII letters and digits of s appended to out: an e-mail
 * local part or domain label from a name ("van den Berg" -> "vandenberg"). */
static void demo_slug(char *out, size_t n, const char *s)
{
	size_t len = strlen(out);
	for (; *s && len + 1 < n; s++) {
		char c = *s;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[len++] = c;
	}
	out[len] = '\0';
}

/* "YYYY-MM-DD"; out holds at least 32 bytes (room for any int year, which
 * keeps -Wformat-truncation quiet). */
static void demo_date(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	snprintf(out, 32, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* ---- organisation -------------------------------------------------------------------- */

static ks_err demo_org(demo_ctx *x)
{
	int64_t org;
	ks_err err = demo_insert(x, "teams", json_pack("{s:s, s:s}", "name", "Klantstem Demo BV",
							"kind", "organisation"), &org);
	for (int d = 0; d < DEMO_N_DEPTS && !err; d++)
		err = demo_insert(x, "teams", json_pack("{s:s, s:s, s:I}", "name", demo_departments[d],
							"kind", "department", "parent_id", (json_int_t)org),
				  &x->dept_id[d]);
	for (int t = 0; t < DEMO_N_TEAMS && !err; t++)
		err = demo_insert(x, "teams", json_pack("{s:s, s:s, s:I}", "name", demo_teams[t].name,
							"kind", "team", "parent_id",
							(json_int_t)x->dept_id[demo_teams[t].dept]),
				  &x->team_id[t]);
	if (!err)
		x->st.org_units = 1 + DEMO_N_DEPTS + DEMO_N_TEAMS;
	return err;
}

/* Fisher-Yates: a permutation of 0..n-1, so employee names never repeat. */
static void demo_shuffle(demo_rng *r, int *a, int n)
{
	for (int i = 0; i < n; i++)
		a[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = demo_below(r, i + 1);
		int t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

/* A few stars and a few who need coaching, most close to their team. */
static double demo_employee_effect(demo_rng *r)
{
	double u = demo_unit(r);
	double base = 0.12 * demo_normal(r);
	return u < 0.10 ? base + 0.35 : u < 0.18 ? base - 0.30 : base;
}

static ks_err demo_employee_one(demo_ctx *x, demo_rng *r, int i, const char *first, const char *last)
{
	demo_employee *em = &x->emp[i];
	char ext[16], email[128] = "";
	snprintf(ext, sizeof ext, "E%04d", i + 1);
	demo_slug(email, sizeof email, first);
	strcat(email, ".");
	demo_slug(email, sizeof email - 32, last);
	strcat(email, "@klantstemdemo.example");
	em->first_name = first;
	em->effect = demo_employee_effect(r);
	em->load = 0.6 + 0.8 * demo_unit(r);
	return demo_insert(x, "employees",
			   json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "team_id",
				     (json_int_t)x->team_id[em->team], "first_name", first,
				     "last_name", last, "email", email, "external_id", ext, "active", 1),
			   &em->id);
}

static ks_err demo_employees(demo_ctx *x)
{
	demo_rng r;
	demo_rng_seed(&r, x->seed, 1);
	int pf_nl[80], pl_nl[80], pf_en[24], pl_en[24];
	demo_shuffle(&r, pf_nl, demo_count(demo_first_nl));
	demo_shuffle(&r, pl_nl, demo_count(demo_last_nl));
	demo_shuffle(&r, pf_en, demo_count(demo_first_en));
	demo_shuffle(&r, pl_en, demo_count(demo_last_en));
	int i = 0, n_nl = 0, n_en = 0;
	ks_err err = KS_OK;
	for (int t = 0; t < DEMO_N_TEAMS && !err; t++) {
		x->team_first[t] = i;
		for (int k = 0; k < demo_teams[t].n_employees && !err; k++, i++) {
			x->emp[i].team = t;
			/* about one in eight colleagues is an expat */
			if (i % 8 == 5) {
				err = demo_employee_one(x, &r, i, demo_first_en[pf_en[n_en]],
							demo_last_en[pl_en[n_en]]);
				n_en++;
			} else {
				err = demo_employee_one(x, &r, i, demo_first_nl[pf_nl[n_nl]],
							demo_last_nl[pl_nl[n_nl]]);
				n_nl++;
			}
		}
	}
	if (!err)
		x->st.employees = i;
	return err;
}

/* ---- surveys and journeys ------------------------------------------------------------ */

static json_t *demo_question(const char *type, const char *nl, const char *en, bool required)
{
	return json_pack("{s:s, s:{s:s, s:s}, s:b}", "type", type, "text", "nl", nl, "en", en,
			 "required", required);
}

static json_t *demo_survey_questions(const demo_survey *sv)
{
	json_t *q = json_array();
	if (q == NULL)
		return NULL;
	json_array_append_new(q, demo_question("nps",
		"Hoe waarschijnlijk is het dat u ons aanbeveelt bij familie, vrienden of collega's?",
		"How likely are you to recommend us to family, friends or colleagues?", true));
	if (sv->ask_grade)
		json_array_append_new(q, demo_question("grade",
			"Welk rapportcijfer (1-10) geeft u voor dit contact?",
			"What grade (1-10) would you give this contact?", false));
	if (sv->ask_ces)
		json_array_append_new(q, demo_question("ces",
			"We hebben het u makkelijk gemaakt om uw vraag afgehandeld te krijgen.",
			"We made it easy for you to get your question handled.", false));
	for (int i = 0; i < sv->n_yesno; i++) {
		json_t *y = demo_question("yesno", sv->yesno[i].nl, sv->yesno[i].en, false);
		if (y)
			json_object_set_new(y, "aspect", json_string(sv->yesno[i].aspect));
		json_array_append_new(q, y);
	}
	for (int i = 0; i < sv->n_asked; i++) {
		json_t *d = demo_question("driver", sv->aspects[i].nl, sv->aspects[i].en, false);
		if (d)
			json_object_set_new(d, "aspect", json_string(sv->aspects[i].aspect));
		json_array_append_new(q, d);
	}
	if (sv->open)
		json_array_append_new(q, demo_question("open",
			"Wat ging er goed, of wat kunnen we beter doen?",
			"What went well, or what could we do better?", false));
	return q;
}

static ks_err demo_surveys_create(demo_ctx *x)
{
	ks_err err = KS_OK;
	for (int i = 0; i < DEMO_N_SURVEYS && !err; i++) {
		json_t *q = demo_survey_questions(&demo_surveys[i]);
		json_t *obj = q ? json_pack("{s:s, s:o}", "name", demo_surveys[i].name, "questions", q) : NULL;
		err = demo_insert(x, "surveys", obj, &x->survey_id[i]);
	}
	if (!err)
		x->st.surveys = DEMO_N_SURVEYS;
	return err;
}

static ks_err demo_journeys_create(demo_ctx *x)
{
	ks_err err = KS_OK;
	for (int j = 0; j < DEMO_N_JOURNEYS && !err; j++) {
		int64_t jid;
		err = demo_insert(x, "journeys", json_pack("{s:s, s:s}", "name", demo_journeys[j].name,
							   "description", demo_journeys[j].description),
				  &jid);
		for (int p = 0; p < DEMO_TP_PER_JOURNEY && !err; p++) {
			int t = j * DEMO_TP_PER_JOURNEY + p;
			const demo_touchpoint *tp = &demo_tps[t];
			err = demo_insert(x, "touchpoints",
					  json_pack("{s:I, s:s, s:i, s:b, s:I}", "journey_id", (json_int_t)jid,
						    "name", tp->name, "position", p + 1, "moment_of_truth", tp->mot,
						    "survey_id", (json_int_t)x->survey_id[tp->survey]),
					  &x->tp_id[t]);
		}
	}
	if (!err) {
		x->st.journeys = DEMO_N_JOURNEYS;
		x->st.touchpoints = DEMO_N_TOUCHPOINTS;
	}
	return err;
}

/* ---- customers --------------------------------------------------------------------------- */

static int demo_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* customer_since over 15 years, skewed to recent years (a growing company),
 * sorted so customer numbers rise with the date. The first customer dates
 * from the very start, so every contact finds someone who was already a
 * customer. */
static void demo_since_dates(demo_ctx *x, demo_rng *r, int64_t *since)
{
	const double span = DEMO_CUSTOMER_YEARS * 365.25;
	for (int i = 0; i < x->n_customers; i++) {
		int64_t days = (int64_t)(span * pow(demo_unit(r), 1.35));
		since[i] = (x->now / DEMO_DAY - days) * DEMO_DAY;
	}
	qsort(since, (size_t)x->n_customers, sizeof *since, demo_cmp_i64);
	since[0] = (x->now / DEMO_DAY - (int64_t)span) * DEMO_DAY;
}

static void demo_customer_name(demo_rng *r, const demo_customer *c, char *name, size_t n, char *email,
			       size_t en)
{
	bool english = c->lang == LANG_EN;
	const char *first = demo_pick(r, english ? demo_first_en : demo_first_nl);
	const char *last = demo_pick(r, english ? demo_last_en : demo_last_nl);
	email[0] = '\0';
	if (strcmp(demo_segments[c->segment].name, "zakelijk") == 0) {
		const demo_firm *f = &demo_firms[demo_below(r, DEMO_N_FIRMS)];
		snprintf(name, n, "%s%s%s", f->pre, last, f->post);
		/* Dutch capitalises a leading "de"/"van" when it starts the name */
		if (name[0] >= 'a' && name[0] <= 'z')
			name[0] = (char)(name[0] - 'a' + 'A');
		snprintf(email, en, "info@");
		demo_slug(email, en - 16, name);
		strcat(email, ".example");
		return;
	}
	snprintf(name, n, "%s %s", first, last);
	demo_slug(email, en - 60, first);
	strcat(email, ".");
	demo_slug(email, en - 40, last);
	static const char *const domains[] = {"@example.com", "@example.net", "@example.org"};
	if (demo_chance(r, 0.4)) {
		char num[16];
		snprintf(num, sizeof num, "%d", 1 + demo_below(r, 99));
		strcat(email, num);
	}
	strcat(email, domains[demo_below(r, 3)]);
}

/* Fill the reused JSON object o with customer i (rows differ only in values,
 * so one object serves all 20 000 inserts). */
static void demo_customer_fill(demo_ctx *x, demo_rng *r, int i, json_t *o)
{
	demo_customer *c = &x->cust[i];
	c->lang = demo_chance(r, 0.15) ? LANG_EN : LANG_NL;
	c->segment = (unsigned char)demo_weighted(r, x->segment_w, DEMO_N_SEGMENTS);
	c->city = (unsigned char)demo_weighted(r, x->city_w, DEMO_N_CITIES);
	c->disposition = (float)(0.3 * demo_normal(r));
	char ext[16], name[160], email[200], since[32];
	snprintf(ext, sizeof ext, "C%06d", i + 1);
	demo_customer_name(r, c, name, sizeof name, email, sizeof email);
	demo_date(c->since, since);
	int birth = demo_clamp_round(1973 + 14 * demo_normal(r), 1940, 2005);
	c->birth_year = (short)birth;
	c->has_email = demo_chance(r, 0.92);
	json_object_set_new(o, "external_id", json_string(ext));
	json_object_set_new(o, "name", json_string(name));
	if (c->has_email)
		json_object_set_new(o, "email", json_string(email));
	else
		json_object_del(o, "email");
	json_object_set_new(o, "language", json_string(c->lang == LANG_EN ? "en" : "nl"));
	json_object_set_new(o, "customer_since", json_string(since));
	json_object_set_new(o, "city", json_string(demo_cities[c->city].name));
	json_object_set_new(o, "birth_year", json_integer(birth));
	json_object_set_new(o, "segment", json_string(demo_segments[c->segment].name));
	/* issue 13: two in three customers have a (fictitious) mobile number for
	 * the case page. Derived from the index, not drawn from r: the stream
	 * that feeds the scores stays the same, and so do the demo's figures. */
	if (i % 3 != 2) {
		char phone[16];
		unsigned digits = 10000000u + (unsigned)(((uint32_t)i + 1u) * 2654435761u % 90000000u);
		snprintf(phone, sizeof phone, "06-%08u", digits);
		json_object_set_new(o, "phone", json_string(phone));
	} else {
		json_object_del(o, "phone");
	}
}

static ks_err demo_customers(demo_ctx *x)
{
	demo_rng r;
	demo_rng_seed(&r, x->seed, 2);
	for (int i = 0; i < DEMO_N_CITIES; i++)
		x->city_w[i] = demo_cities[i].weight;
	for (int i = 0; i < DEMO_N_SEGMENTS; i++)
		x->segment_w[i] = demo_segments[i].share;
	int64_t *since = malloc((size_t)x->n_customers * sizeof *since);
	json_t *o = json_object();
	const model_entity *ent = demo_entity("customers", x->e);
	ks_err err = KS_OK;
	if (since == NULL || o == NULL)
		err = ks_fail(x->e, KS_ERR_NOMEM, NULL, "demo: out of memory");
	else if (ent == NULL)
		err = KS_ERR_INTERNAL;
	if (!err)
		demo_since_dates(x, &r, since);
	for (int i = 0; i < x->n_customers && !err; i++) {
		x->cust[i].since = since[i];
		demo_customer_fill(x, &r, i, o);
		err = store_bulk_entity(x->b, ent, o, &x->cust[i].id, x->e);
	}
	json_decref(o);
	free(since);
	if (!err)
		x->st.customers = x->n_customers;
	return err;
}

/* ---- contacts and responses --------------------------------------------------------------- */

/* Number of customers who were customers at time t (cust is sorted). */
static int demo_customers_until(const demo_ctx *x, int64_t t)
{
	int lo = 0, hi = x->n_customers;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (x->cust[mid].since <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* New subscriptions mostly come from new customers; the rest are existing
 * customers changing their contract. */
static int demo_pick_customer(const demo_ctx *x, demo_rng *r, int journey, int64_t t)
{
	int hi = demo_customers_until(x, t);
	if (hi < 1)
		hi = 1;
	if (journey == 2 && demo_chance(r, 0.6)) {
		int lo = demo_customers_until(x, t - DEMO_NEW_CUSTOMER_DAYS * DEMO_DAY);
		if (lo < hi)
			return lo + demo_below(r, hi - lo);
	}
	return demo_below(r, hi);
}

static int demo_pick_employee(const demo_ctx *x, demo_rng *r, int team)
{
	double w[DEMO_N_EMPLOYEES];
	int first = x->team_first[team], n = demo_teams[team].n_employees;
	for (int i = 0; i < n; i++)
		w[i] = x->emp[first + i].load;
	return first + demo_weighted(r, w, n);
}

/* Which team serves this contact, and whether an employee does (web
 * self-service has none). Returns the team; *emp is -1 for none. */
static int demo_route(const demo_ctx *x, demo_rng *r, const demo_touchpoint *tp, int channel,
		      const demo_customer *c, int *emp)
{
	const demo_city *city = &demo_cities[c->city];
	int team;
	bool staffed = true;
	if (channel == CH_FIELD)
		team = city->randstad ? T_MON_R : T_MON_NO;
	else if (tp->complaint)
		team = T_KLACHT;
	else if (channel == CH_SHOP)
		team = T_WINKEL;
	else if (tp->sales) {
		team = T_ONLINE;
		staffed = channel != CH_WEB || demo_chance(r, 0.5);
	} else if (channel == CH_PHONE)
		team = city->north ? T_TEL_N : T_TEL_Z;
	else {
		team = T_DIGI;
		staffed = channel != CH_WEB;
	}
	*emp = staffed ? demo_pick_employee(x, r, team) : -1;
	return team;
}

/* A smooth bump, 0 outside [from, to] and 1 in the middle. */
static double demo_bump(double frac)
{
	if (frac <= DEMO_DIP_FROM || frac >= DEMO_DIP_TO)
		return 0;
	return sin(M_PI * (frac - DEMO_DIP_FROM) / (DEMO_DIP_TO - DEMO_DIP_FROM));
}

static void demo_latent_draw(demo_rng *r, const demo_touchpoint *tp, int team, const demo_employee *em,
			     const demo_customer *c, double frac, demo_latent *l)
{
	const demo_team *tm = &demo_teams[team];
	l->m = tm->effect + tm->trend * frac + tp->effect + tp->dip * demo_bump(frac) +
	       demo_segments[c->segment].effect + c->disposition + (em ? em->effect : 0);
	for (int k = 0; k < DEMO_N_COMPS; k++)
		l->comp[k] = tp->spread * demo_normal(r);
	/* weights 0.5/0.3/0.4 plus a rest: speed matters most, then expertise */
	l->z = l->m + 0.5 * l->comp[COMP_SPEED] + 0.3 * l->comp[COMP_FRIENDLY] +
	       0.4 * l->comp[COMP_EXPERT] + 0.62 * tp->spread * demo_normal(r);
}

static int demo_nps_from(double z)
{
	int n = 0;
	while (n < 10 && z > demo_nps_cut[n])
		n++;
	return n;
}

static int demo_class(int nps)
{
	return nps >= 9 ? CLS_PROMOTER : nps >= 7 ? CLS_PASSIVE : CLS_DETRACTOR;
}

static int demo_extreme_comp(const demo_latent *l, bool highest)
{
	int best = 0;
	for (int k = 1; k < DEMO_N_COMPS; k++)
		if (highest ? l->comp[k] > l->comp[best] : l->comp[k] < l->comp[best])
			best = k;
	return best;
}

/* Compose an open answer: which parts it has (a general remark, the
 * employee's name, the touchpoint's topic, the weakest or, for promoters,
 * strongest part of the experience, a closing remark) is drawn from r with
 * the same draws as the demo always made, so r's stream and with it every
 * later score stay as they were; the words come from demo_text.c. Only
 * promoters name the employee: feedback is for coaching, complaints go to
 * the team ("geen afrekensysteem"). */
static void demo_open_text(demo_ctx *x, demo_rng *r, demo_text_plan *p, const char *first_name)
{
	p->opener = demo_chance(r, 0.7);
	if (p->opener)
		(void)demo_unit(r);  /* once the opener's pick */
	bool said = false;
	p->named = NULL;
	if (p->cls == CLS_PROMOTER && first_name && demo_chance(r, 0.35)) {
		p->named_form = demo_below(r, 4);
		p->named = first_name;
		said = true;
	}
	p->topic_clause = p->topic != TOPIC_GENERAL && demo_chance(r, 0.5);
	if (p->topic_clause) {
		(void)demo_unit(r);  /* the topic sentence's pick */
		said = true;
	}
	p->comp_clause = !said || demo_chance(r, 0.3);
	if (p->comp_clause)
		(void)demo_unit(r);  /* the aspect sentence's pick */
	p->closer = demo_chance(r, 0.45);
	if (p->closer)
		(void)demo_unit(r);  /* the closer's pick */
	demo_text_compose(&x->text_rng, p, x->open_buf, sizeof x->open_buf);
}

/* The answers of a response, read from the latent experience. */
static void demo_answers(demo_ctx *x, demo_rng *r, const demo_touchpoint *tp, const demo_latent *l,
			 int lang, const char *first_name, demo_text_plan *plan, model_response *res)
{
	const demo_survey *sv = &demo_surveys[tp->survey];
	res->nps = demo_nps_from(l->z);
	if (sv->grade)
		res->grade = demo_clamp_round(7.35 + 1.0 * l->z + 0.6 * demo_normal(r), 1, 10);
	if (sv->ces)
		res->ces = demo_clamp_round(5.2 + tp->ces + 0.5 * l->z + 0.5 * l->comp[COMP_SPEED] +
					    0.6 * demo_normal(r), 1, 7);
	res->n_drivers = sv->n_aspects;
	for (int i = 0; i < sv->n_aspects; i++) {
		const demo_aspect *a = &sv->aspects[i];
		snprintf(res->drivers[i].aspect, sizeof res->drivers[i].aspect, "%s", a->aspect);
		res->drivers[i].score = demo_clamp_round(7.4 + 0.8 * l->m + 1.1 * l->comp[a->comp] +
							 0.5 * demo_normal(r), 1, 10);
	}
	res->n_yesno = sv->n_yesno;
	for (int i = 0; i < sv->n_yesno; i++) {
		const demo_yesno *y = &sv->yesno[i];
		snprintf(res->yesno[i].aspect, sizeof res->yesno[i].aspect, "%s", y->aspect);
		res->yesno[i].score = l->comp[y->comp] + 0.5 * demo_normal(&x->yesno_rng) > y->cut;
	}
	int cls = demo_class(res->nps);
	res->open_text = NULL;
	if (sv->open && demo_chance(r, demo_open_rate[cls])) {
		plan->lang = lang;
		plan->cls = cls;
		plan->topic = tp->topic;
		plan->comp = demo_extreme_comp(l, cls == CLS_PROMOTER);
		demo_open_text(x, r, plan, first_name);
		if (x->open_buf[0])
			res->open_text = x->open_buf;
	}
}

static ks_err demo_response(demo_ctx *x, demo_rng *r, const model_contact *c, int tp_index,
			    const demo_latent *l, const demo_customer *cu, const demo_employee *em,
			    int64_t received_at)
{
	const demo_touchpoint *tp = &demo_tps[tp_index];
	model_response res;
	model_response_init(&res);
	/* no client_key: a unique index entry per row costs ~10% of the run,
	 * and source "demo" already marks these rows */
	res.contact_id = c->id;
	res.customer_id = c->customer_id;
	res.employee_id = c->employee_id;
	res.team_id = c->team_id;
	res.touchpoint_id = c->touchpoint_id;
	res.survey_id = x->survey_id[tp->survey];
	snprintf(res.channel, sizeof res.channel, "%s", c->channel);
	snprintf(res.language, sizeof res.language, "%s", cu->lang == LANG_EN ? "en" : "nl");
	snprintf(res.source, sizeof res.source, "demo");
	res.received_at = received_at;
	demo_text_plan plan = {.days_before_now = (int)((x->now - received_at) / DEMO_DAY),
			       .shop = strcmp(c->channel, "shop") == 0};
	demo_answers(x, r, tp, l, cu->lang, em ? em->first_name : NULL, &plan, &res);
	ks_err err = store_bulk_response(x->b, &res, x->e);
	if (!err)
		x->st.responses++;
	return err;
}

/* ---- invitations ------------------------------------------------------------------ */

/* Share of sent invitations refused for good by the receiving mail server
 * (a mistyped or abandoned address): they stay "failed". */
#define DEMO_BOUNCE_RATE 0.01

/* Relative contact volume of touchpoint t: its journey's share times its
 * share within the journey. */
static double demo_tp_volume(int t)
{
	return demo_journeys[t / DEMO_TP_PER_JOURNEY].share * demo_tps[t].share;
}

/* The survey rule of every touchpoint: the product defaults (delay 120
 * minutes, quiet 21-8, expiry 14, reminder 3) with two changes.
 *
 * Fatigue 14 days instead of 30: at most one survey per customer per two
 * weeks is still a common, realistic setting for transactional (per-
 * contact) surveys, where a 30-day window is the cautious default. With 30
 * days our 20 000 customers, who have a contact every two months on
 * average and several in a row while moving or starting a subscription,
 * would give the demo some 90 000 responses instead of ~111 000: fewer than
 * the 100 000 it promises (DEMO_MIN_FULL_RESPONSES).
 *
 * Sampling: every eligible contact is invited, except at the busiest
 * touchpoint (Storing melden), which samples DEMO_BUSIEST_SAMPLE_PCT percent
 * (demo.h), as a real installation would to keep its quieter touchpoints
 * from being crowded out by fatigue.
 *
 * The expiry must stay 14: store_bulk_invitation_add writes expires_at as
 * sent_at + 14 days. */
static void demo_rules_init(demo_ctx *x)
{
	int busiest = 0;
	for (int t = 1; t < DEMO_N_TOUCHPOINTS; t++)
		if (demo_tp_volume(t) > demo_tp_volume(busiest))
			busiest = t;
	for (int t = 0; t < DEMO_N_TOUCHPOINTS; t++) {
		invite_rule *r = &x->rule[t];
		invite_rule_defaults(r);
		r->touchpoint_id = x->tp_id[t];
		r->fatigue_days = DEMO_FATIGUE_DAYS;
		r->sample_pct = t == busiest ? DEMO_BUSIEST_SAMPLE_PCT : 100;
	}
}

/* Rules are configuration, not history, and store_rule_put has no bulk
 * form: they are put after the commit, so the server applies to new
 * contacts exactly the rules the history was made with. */
static ks_err demo_rules_put(demo_ctx *x, ks_store *s)
{
	ks_err err = KS_OK;
	for (int t = 0; t < DEMO_N_TOUCHPOINTS && !err; t++) {
		err = store_rule_put(s, &x->rule[t], x->e);
		if (!err)
			x->st.rules++;
	}
	return err;
}

/* The server's decision for this contact: the same invite_decide() over
 * the same facts sqlite_invite.c reads from the database. Contacts come in
 * time order, so the customer's latest invitation is simply remembered. */
static invite_reason demo_decide(const demo_ctx *x, int ti, const demo_customer *cu,
				 const model_contact *c)
{
	invite_facts f = {.has_email = cu->has_email, .last_invited_at = cu->last_send,
			  .contact_id = c->id, .sample_seed = x->seed};
	return invite_decide(&x->rule[ti], &f, c->occurred_at);
}

/* Nobody answers for sure: the cap on demo_answer_chance. */
#define DEMO_MAX_ANSWER_CHANCE 0.95

/* Response-rate factor by age: the young answer least. */
static double demo_age_factor(int age)
{
	return age < 25 ? 0.5 : age < 35 ? 0.7 : age < 55 ? 1.0 : 1.1;
}

/* Chance that an invited customer completes the survey. */
static double demo_answer_chance(const demo_ctx *x, const demo_customer *cu, int channel,
				 const demo_latent *l)
{
	/* the silent mass: young and business customers answer less, and
	 * unhappy customers a little less often */
	double p = demo_response_rate[channel] * demo_segments[cu->segment].response *
		   demo_age_factor(x->now_year - cu->birth_year) * (l->z < -0.9 ? 0.8 : 1.0);
	/* the product exceeds the cap only for the best-disposed (premium,
	 * 55+, field visit: 0.85 * 1.1 * 1.1) */
	return p < DEMO_MAX_ANSWER_CHANCE ? p : DEMO_MAX_ANSWER_CHANCE;
}

/* Seconds from sending to opening the mail: most within an hour or two,
 * some later that day or the next, and the rest after the reminder. */
static int64_t demo_open_delay(demo_rng *r, const invite_rule *rule, int64_t sent)
{
	double u = demo_unit(r);
	double tail = -log(1.0 - demo_unit(r));  /* Exp(1) */
	if (u < 0.55)
		return 60 + (int64_t)(5400 * tail);
	if (u < 0.85 || rule->reminder_days == 0)
		return 3600 + (int64_t)(43200 * tail);
	return invite_reminder_at(rule, sent) - sent + 60 + (int64_t)(14400 * tail);
}

/* Open, start and completion times of a sent invitation; each stays 0 when
 * it did not happen before now or before the link expired (the contact's
 * expires_at, which the survey page checks). Every draw is made whatever
 * the outcome, so one invitation's fate does not shift the next one's. */
static void demo_funnel(demo_ctx *x, const invite_rule *rule, const model_contact *c, bool answers,
			store_bulk_invitation *inv)
{
	demo_rng *r = &x->inv_rng;
	/* a third of those who do not answer still look at the survey, and
	 * some of those click a score and leave it there */
	bool looks = demo_chance(r, 0.30), clicks = demo_chance(r, 0.35);
	bool opens = answers || looks, starts = answers || clicks;
	int64_t open = inv->sent_at + demo_open_delay(r, rule, inv->sent_at);
	int64_t start = open + 5 + demo_below(r, 60);
	int64_t done = start + 30 + demo_below(r, 300);
	int64_t end = x->now < c->expires_at ? x->now : c->expires_at;
	if (!opens || open >= end)
		return;
	inv->opened_at = open;
	if (!starts || start >= end)
		return;
	inv->started_at = start;
	if (answers && done < end)
		inv->completed_at = done;
}

/* A created invitation: sent at the rule's time unless it bounced or is
 * not due yet at now; then its funnel. */
static void demo_deliver(demo_ctx *x, const invite_rule *rule, const model_contact *c, double p_answer,
			 store_bulk_invitation *inv)
{
	int64_t send_at = invite_send_at(rule, c->occurred_at);
	/* both drawn for every invitation, so the stream does not depend on now */
	bool bounced = demo_chance(&x->inv_rng, DEMO_BOUNCE_RATE);
	bool answers = demo_chance(&x->inv_rng, p_answer);
	x->st.invited++;
	if (send_at >= x->now) {
		/* due after the window: store_bulk_invitation_add has no way to
		 * record "scheduled" (it takes no send_at), so the row is stored
		 * with status "failed"; only the last evening's contacts */
		x->st.pending++;
	} else if (bounced) {
		x->st.bounced++;
	} else {
		inv->sent_at = send_at;
		x->st.sent++;
		demo_funnel(x, rule, c, answers, inv);
	}
}

/* Decide the contact's invitation, play out its funnel, and store it with,
 * when the survey was completed, the response (received at completion). */
static ks_err demo_invite(demo_ctx *x, demo_rng *r, const model_contact *c, int ti, const demo_latent *l,
			  demo_customer *cu, const demo_employee *em, int channel)
{
	store_bulk_invitation inv = {.contact = c, .reason = demo_decide(x, ti, cu, c)};
	if (inv.reason == INVITE_CREATE) {
		demo_deliver(x, &x->rule[ti], c, demo_answer_chance(x, cu, channel, l), &inv);
		/* what the server will read back as this customer's latest
		 * invitation: the stored send_at, which is the contact time
		 * when nothing was sent */
		cu->last_send = inv.sent_at ? inv.sent_at : c->occurred_at;
	} else {
		x->st.skipped[inv.reason]++;
	}
	x->st.opened += inv.opened_at != 0;
	x->st.started += inv.started_at != 0;
	ks_err err = store_bulk_invitation_add(x->b, &inv, x->e);
	if (!err && inv.completed_at)
		err = demo_response(x, r, c, ti, l, cu, em, inv.completed_at);
	return err;
}

static int demo_pick_touchpoint(demo_rng *r, int journey)
{
	double w[DEMO_TP_PER_JOURNEY];
	for (int p = 0; p < DEMO_TP_PER_JOURNEY; p++)
		w[p] = demo_tps[journey * DEMO_TP_PER_JOURNEY + p].share;
	return journey * DEMO_TP_PER_JOURNEY + demo_weighted(r, w, DEMO_TP_PER_JOURNEY);
}

static ks_err demo_one_contact(demo_ctx *x, demo_rng *r, int64_t t)
{
	double jw[DEMO_N_JOURNEYS];
	for (int j = 0; j < DEMO_N_JOURNEYS; j++)
		jw[j] = demo_journeys[j].share;
	int journey = demo_weighted(r, jw, DEMO_N_JOURNEYS);
	int ti = demo_pick_touchpoint(r, journey);
	const demo_touchpoint *tp = &demo_tps[ti];
	demo_customer *cu = &x->cust[demo_pick_customer(x, r, journey, t)];
	int channel = demo_weighted(r, tp->channel, DEMO_N_CHANNELS);
	int ei;
	int team = demo_route(x, r, tp, channel, cu, &ei);
	const demo_employee *em = ei >= 0 ? &x->emp[ei] : NULL;

	model_contact c;
	memset(&c, 0, sizeof c);
	c.customer_id = cu->id;
	c.employee_id = em ? em->id : 0;
	c.team_id = x->team_id[team];
	c.touchpoint_id = x->tp_id[ti];
	snprintf(c.channel, sizeof c.channel, "%s", demo_channels[channel]);
	snprintf(c.reason, sizeof c.reason, "%s", demo_pick(r, tp->reasons));
	c.occurred_at = t;
	ks_err err = store_bulk_contact(x->b, &c, x->e);
	if (err)
		return err;
	x->st.contacts++;

	demo_latent l;
	double frac = (double)(t - x->start) / (double)(x->now - x->start);
	demo_latent_draw(r, tp, team, em, cu, frac, &l);
	return demo_invite(x, r, &c, ti, &l, cu, em, channel);
}

/* Relative contact volume of a day: busy Mondays, quiet weekends, and
 * slow growth over the window. */
static double demo_day_weight(int64_t day_start, double frac)
{
	static const double dow[7] = {0.15, 1.15, 1.0, 1.0, 1.0, 0.95, 0.45}; /* Sun..Sat */
	int d = (int)(((day_start / DEMO_DAY) + 4) % 7);  /* 1970-01-01 was a Thursday */
	return dow[d] * (0.9 + 0.2 * frac);
}

/* k contact times within one day, in order, mostly in office hours (UTC). */
static void demo_day_times(demo_rng *r, int64_t day_start, int64_t *t, int k)
{
	for (int i = 0; i < k; i++) {
		double h = demo_chance(r, 0.7) ? 7 + 9 * demo_unit(r) : 16 + 4 * demo_unit(r);
		t[i] = day_start + (int64_t)(h * 3600);
	}
	qsort(t, (size_t)k, sizeof *t, demo_cmp_i64);
}

static ks_err demo_contacts(demo_ctx *x)
{
	demo_rng r;
	demo_rng_seed(&r, x->seed, 3);
	demo_rng_seed(&x->inv_rng, x->seed, 4);
	demo_rng_seed(&x->yesno_rng, x->seed, 5);
	x->text_rng = x->seed ^ 0x7465787400000006u;  /* "text", phase 6 */
	double cum[DEMO_WINDOW_DAYS + 1];
	int64_t day0 = x->start;
	cum[0] = 0;
	for (int d = 0; d < DEMO_WINDOW_DAYS; d++)
		cum[d + 1] = cum[d] + demo_day_weight(day0 + (int64_t)d * DEMO_DAY,
						      (double)d / DEMO_WINDOW_DAYS);
	/* counts by cumulative rounding, so they add up to exactly n_contacts */
	int64_t *times = NULL;
	int cap = 0;
	ks_err err = KS_OK;
	for (int d = 0; d < DEMO_WINDOW_DAYS && !err; d++) {
		int from = (int)floor(cum[d] / cum[DEMO_WINDOW_DAYS] * x->n_contacts);
		int to = d + 1 == DEMO_WINDOW_DAYS ? x->n_contacts
			 : (int)floor(cum[d + 1] / cum[DEMO_WINDOW_DAYS] * x->n_contacts);
		int k = to - from;
		if (k > cap) {
			int64_t *nt = realloc(times, (size_t)k * sizeof *nt);
			if (nt == NULL) {
				err = ks_fail(x->e, KS_ERR_NOMEM, NULL, "demo: out of memory");
				break;
			}
			times = nt;
			cap = k;
		}
		int64_t day_start = day0 + (int64_t)d * DEMO_DAY;
		demo_day_times(&r, day_start, times, k);
		for (int i = 0; i < k && !err; i++)
			err = demo_one_contact(x, &r, times[i]);
	}
	free(times);
	return err;
}

/* ---- entry point ------------------------------------------------------------------------------ */

static int demo_scaled(int full, int percent)
{
	long long n = (long long)full * percent / 100;
	return n < 1 ? 1 : (int)n;
}

static ks_err demo_setup(demo_ctx *x, const demo_options *opt, ks_error *e)
{
	demo_options o = opt ? *opt : (demo_options){0};
	if (o.scale_percent == 0)
		o.scale_percent = 100;
	if (o.scale_percent < 1 || o.scale_percent > DEMO_MAX_SCALE)
		return ks_fail(e, KS_ERR_RANGE, "scale_percent", "scale_percent must be 1..%d",
			       DEMO_MAX_SCALE);
	/* the customer base reaches 15 years back: keep that after 1970 */
	if (o.now != 0 && (o.now < 946684800 || o.now > 4102444800))
		return ks_fail(e, KS_ERR_RANGE, "now", "now must be between 2000 and 2100");
	x->e = e;
	x->seed = o.seed ? o.seed : DEMO_DEFAULT_SEED;
	/* whole days, so the day grid of the window is stable */
	x->now = (o.now ? o.now : DEMO_DEFAULT_NOW) / DEMO_DAY * DEMO_DAY;
	x->start = x->now - (int64_t)DEMO_WINDOW_DAYS * DEMO_DAY;
	char iso[32];
	demo_date(x->now, iso);
	x->now_year = atoi(iso);  /* "YYYY-..." */
	x->n_customers = demo_scaled(DEMO_FULL_CUSTOMERS, o.scale_percent);
	x->n_contacts = demo_scaled(DEMO_FULL_CONTACTS, o.scale_percent);
	x->cust = calloc((size_t)x->n_customers, sizeof *x->cust);
	if (x->cust == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "demo: out of memory");
	return KS_OK;
}

ks_err demo_generate(ks_store *s, const demo_options *opt, demo_stats *out, ks_error *e)
{
	int64_t t0 = clock_mono_ms();
	if (out)
		memset(out, 0, sizeof *out);
	demo_ctx *x = calloc(1, sizeof *x);
	if (x == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "demo: out of memory");
	ks_err err = demo_setup(x, opt, e);
	if (!err)
		err = store_bulk_begin(s, &x->b, e);
	if (!err) {
		err = demo_org(x);
		if (!err)
			err = demo_employees(x);
		if (!err)
			err = demo_surveys_create(x);
		if (!err)
			err = demo_journeys_create(x);
		if (!err)
			demo_rules_init(x);
		if (!err)
			err = demo_customers(x);
		if (!err)
			err = demo_contacts(x);
		if (err)
			store_bulk_rollback(x->b);
		else
			err = store_bulk_commit(x->b, e);
		/* issue 18: the bulk load wrote explicit ids; on PostgreSQL the
		 * identity sequences must move past them before the rules, KPIs
		 * and pulses below insert rows of their own. */
		if (!err)
			err = store_sync_identities(s, e);
		if (!err)
			err = demo_rules_put(x, s);
		/* issue 17 K: the hard KPIs, some built on the NPS just stored */
		if (!err)
			err = demo_kpis_generate(s, x->seed, x->start, x->now, NULL, e);
		/* issue 17 P: a year of monthly employee pulses */
		if (!err)
			err = demo_pulse_generate(s, x->seed, x->now, NULL, e);
		/* issue 18: the same after the KPIs' and pulses' own loads, for
		 * the cases and logins the CLI adds next */
		if (!err)
			err = store_sync_identities(s, e);
	}
	if (!err && out) {
		*out = x->st;
		out->elapsed_ms = clock_mono_ms() - t0;
	}
	free(x->cust);
	free(x);
	return err;
}

/* ---- the closed loop's history ---------------------------------------------------------- */

#define DEMO_CASE_DAYS 21

/* One case moved along its flow at historic times: delays in hours after
 * the case opened, chosen from its id so the demo is the same every run. */
static ks_err demo_case_walk(ks_store *s, const json_t *c, int64_t now, ks_error *e)
{
	int64_t id = json_integer_value(json_object_get(c, "id"));
	int64_t opened = 0;
	clock_parse_iso(json_string_value(json_object_get(c, "opened_at")), &opened);
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL;
	int stage = (int)(h >> 60) % 10;            /* 0-1 new, 2-3 contacted, 4 resolved, 5-9 closed */
	int64_t first = opened + (int64_t)(2 + (h >> 8) % 70) * 3600;
	if (stage < 2 || first >= now)
		return KS_OK;
	size_t n_causes = 0;
	while (cases_root_causes[n_causes])
		n_causes++;
	/* a skewed mix, so the Pareto has a head: wait_time and communication lead */
	static const int weights[] = {0, 0, 0, 0, 1, 1, 1, 2, 5, 3, 4, 6, 8};
	const char *cause = cases_root_causes[weights[(h >> 20) % 13] % n_causes];
	store_case_patch p = {.version = 1, .has_status = true, .has_root_cause = true, .root_cause = cause};
	snprintf(p.status, sizeof p.status, "contacted");
	ks_err err = store_case_update(s, id, &p, first, e);
	if (err || stage < 4 || first + 24 * 3600 >= now)
		return err;
	store_case_patch r = {.version = 2, .has_status = true, .has_restored = true,
			      .restored = (h >> 30) % 4 != 0, .has_retained = true, .retained = (h >> 34) % 5 != 0};
	snprintf(r.status, sizeof r.status, "resolved");
	err = store_case_update(s, id, &r, first + 24 * 3600, e);
	if (err || stage < 5 || first + 48 * 3600 >= now)
		return err;
	store_case_patch x = {.version = 3, .has_status = true};
	snprintf(x.status, sizeof x.status, "closed");
	return store_case_update(s, id, &x, first + 48 * 3600, e);
}

ks_err demo_cases(ks_store *s, int64_t now, int *n, ks_error *e)
{
	ks_err err = store_case_replay(s, now - DEMO_CASE_DAYS * 86400, n, e);
	store_case_query q = {.now = now, .limit = 500};
	while (!err) {
		json_t *page = NULL;
		err = store_case_list(s, &q, &page, e);
		if (err)
			break;
		json_t *items = json_object_get(page, "items"), *c;
		size_t i;
		json_array_foreach(items, i, c) {
			if (!err)
				err = demo_case_walk(s, c, now, e);
		}
		json_t *next = json_object_get(page, "next_cursor");
		q.after_id = json_is_integer(next) ? json_integer_value(next) : 0;
		json_decref(page);
		if (q.after_id == 0)
			break;
	}
	return err;
}
