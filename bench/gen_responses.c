/* gen_responses.c — deterministic synthetic feedback data for bench/analytics.
 *
 *   gen_responses OUTDIR ROWS CUSTOMERS SEED
 *
 * Writes CSV files (with a header line; an empty field means NULL) for
 *   org_units.csv    1 organisation, 10 departments, 200 teams
 *   employees.csv    25 per team (5,000)
 *   journeys.csv     4
 *   touchpoints.csv  20 (5 per journey)
 *   customers.csv    CUSTOMERS, with language, customer_since, city, birth_year, segment
 *   responses.csv    ROWS, in received_at order (ids rise with time, as in a live system)
 * and prints one summary line on stdout.
 *
 * Shape of the data (all from one xoshiro256** stream seeded with SEED):
 *  - 36 calendar months, 2023-01 .. 2025-12 (UTC), volume growing ~1.5% a month
 *    with a summer dip and a January peak; weekdays busier than weekends,
 *    office hours busier than nights.
 *  - team volume Zipf-like (weight 1/rank^0.8 over a random ranking: the busiest
 *    team gets ~70x the quietest); employees within a team log-normal around
 *    the team's share, so employee volumes are skewed too.
 *  - scores from one latent satisfaction per response: base + team offset
 *    (sd 0.5) + employee offset (sd 0.35) + touchpoint offset (sd 0.3) +
 *    seasonality + a slow upward trend + noise (sd 1.9), rounded and clamped:
 *    NPS 0..10 always present (overall NPS around 0, teams spread ~ -30..+30),
 *    grade 1..10 for ~75%, CES 1..7 for ~50%, all correlated.
 *  - touchpoints: each department mostly serves one journey; each touchpoint
 *    has a main channel (75%), else any of the six.
 *  - customers: language nl 85% / en 15% (the response takes the customer's),
 *    customer_since 1995..2025, birth year 1935..2006 (6% unknown), a skewed
 *    city list, four segments; some customers answer far more often than others.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_DEPTS 10
#define TEAMS_PER_DEPT 20
#define N_TEAMS (N_DEPTS * TEAMS_PER_DEPT)
#define EMP_PER_TEAM 25
#define N_EMPS (N_TEAMS * EMP_PER_TEAM)
#define N_JOURNEYS 4
#define TP_PER_JOURNEY 5
#define N_TPS (N_JOURNEYS * TP_PER_JOURNEY)
#define N_MONTHS 36
#define FIRST_YEAR 2023

/* ids: org 1, departments 2..11, teams 12..211 */
#define ORG_ID 1
#define DEPT_ID(d) (2 + (d))
#define TEAM_ID(t) (2 + N_DEPTS + (t))

/* ---- random numbers: xoshiro256** seeded by splitmix64 -------------------- */

static uint64_t rs[4];

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rnd(void)
{
	uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = rotl(rs[3], 45);
	return r;
}

static inline double unif(void) /* [0, 1) */
{
	return (double)(rnd() >> 11) * 0x1.0p-53;
}

static inline uint64_t below(uint64_t n)
{
	return (uint64_t)(unif() * (double)n);
}

static double normal(void)
{
	static int have;
	static double spare;
	if (have) {
		have = 0;
		return spare;
	}
	double u, v, s;
	do {
		u = 2 * unif() - 1;
		v = 2 * unif() - 1;
		s = u * u + v * v;
	} while (s >= 1 || s == 0);
	double m = sqrt(-2 * log(s) / s);
	spare = v * m;
	have = 1;
	return u * m;
}

/* ---- Walker's alias method: O(1) draws from a discrete distribution --------- */

typedef struct alias {
	size_t n;
	double *prob;
	uint32_t *alias;
} alias;

static void alias_build(alias *a, const double *w, size_t n)
{
	a->n = n;
	a->prob = malloc(n * sizeof *a->prob);
	a->alias = malloc(n * sizeof *a->alias);
	double *p = malloc(n * sizeof *p);
	uint32_t *small = malloc(n * sizeof *small), *large = malloc(n * sizeof *large);
	if (!a->prob || !a->alias || !p || !small || !large) {
		fprintf(stderr, "gen_responses: out of memory\n");
		exit(1);
	}
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += w[i];
	size_t ns = 0, nl = 0;
	for (size_t i = 0; i < n; i++) {
		p[i] = w[i] * (double)n / sum;
		if (p[i] < 1)
			small[ns++] = (uint32_t)i;
		else
			large[nl++] = (uint32_t)i;
	}
	while (ns && nl) {
		uint32_t s = small[--ns], l = large[--nl];
		a->prob[s] = p[s];
		a->alias[s] = l;
		p[l] = p[l] + p[s] - 1;
		if (p[l] < 1)
			small[ns++] = l;
		else
			large[nl++] = l;
	}
	while (nl) {
		uint32_t l = large[--nl];
		a->prob[l] = 1;
		a->alias[l] = l;
	}
	while (ns) {
		uint32_t s = small[--ns];
		a->prob[s] = 1;
		a->alias[s] = s;
	}
	free(p);
	free(small);
	free(large);
}

static inline uint32_t alias_draw(const alias *a)
{
	double u = unif() * (double)a->n;
	size_t i = (size_t)u;
	if (i >= a->n)
		i = a->n - 1;
	return (u - (double)i) < a->prob[i] ? (uint32_t)i : a->alias[i];
}

/* ---- dates ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* ---- output: a buffered writer with fast integer formatting ------------------ */

typedef struct out {
	FILE *f;
	char *buf;
	size_t n, cap;
	const char *path;
} out;

static void out_open(out *o, const char *dir, const char *name, const char *header)
{
	static char paths[8][4096];
	static int np;
	char *p = paths[np++ % 8];
	snprintf(p, 4096, "%s/%s", dir, name);
	o->path = p;
	o->f = fopen(p, "w");
	if (o->f == NULL) {
		fprintf(stderr, "gen_responses: %s: %s\n", p, strerror(errno));
		exit(1);
	}
	o->cap = 1 << 20;
	o->n = 0;
	o->buf = malloc(o->cap);
	if (o->buf == NULL)
		exit(1);
	fputs(header, o->f);
	fputc('\n', o->f);
}

static void out_flush(out *o)
{
	if (o->n && fwrite(o->buf, 1, o->n, o->f) != o->n) {
		fprintf(stderr, "gen_responses: write %s: %s\n", o->path, strerror(errno));
		exit(1);
	}
	o->n = 0;
}

static inline void out_room(out *o, size_t k)
{
	if (o->n + k > o->cap)
		out_flush(o);
}

static inline void out_s(out *o, const char *s)
{
	size_t k = strlen(s);
	out_room(o, k);
	memcpy(o->buf + o->n, s, k);
	o->n += k;
}

static inline void out_c(out *o, char c)
{
	out_room(o, 1);
	o->buf[o->n++] = c;
}

static inline void out_i(out *o, int64_t v)
{
	char tmp[24];
	int k = 0;
	out_room(o, 24);
	if (v < 0) {
		o->buf[o->n++] = '-';
		v = -v;
	}
	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		o->buf[o->n++] = tmp[--k];
}

static void out_close(out *o)
{
	out_flush(o);
	if (fclose(o->f) != 0) {
		fprintf(stderr, "gen_responses: close %s: %s\n", o->path, strerror(errno));
		exit(1);
	}
	free(o->buf);
}

/* ---- names ------------------------------------------------------------------ */

static const char *const dept_names[N_DEPTS] = {
	"Klantenservice", "Monteurs", "Verkoop", "Winkels", "Online",
	"Zakelijk", "Incasso", "Planning", "Retentie", "Installatie"};
static const char *const regions[TEAMS_PER_DEPT] = {
	"Noord", "Zuid", "Oost", "West", "Midden", "Randstad", "Twente", "Limburg", "Zeeland", "Friesland",
	"Drenthe", "Groningen", "Utrecht", "Gelderland", "Brabant", "Flevoland", "Holland", "Kust", "Veluwe", "Achterhoek"};
static const char *const first_names[] = {
	"Daan", "Sem", "Lucas", "Milan", "Levi", "Luuk", "Bram", "Noah", "Jesse", "Thijs",
	"Emma", "Julia", "Mila", "Tess", "Sophie", "Zoë", "Sara", "Nora", "Yara", "Eva",
	"Fatima", "Mohammed", "Anouk", "Sanne", "Lotte", "Kevin", "Priya", "Ahmet", "Iris", "Ruben"};
static const char *const last_names[] = {
	"de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
	"Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
	"van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Yilmaz", "El Amrani", "Kaya"};
static const char *const journey_names[N_JOURNEYS] = {"Aansluiten", "Storing", "Verhuizen", "Factuur"};
static const char *const tp_steps[N_JOURNEYS][TP_PER_JOURNEY] = {
	{"Aanvraag", "Offerte", "Afspraak", "Installatie", "Eerste factuur"},
	{"Melding", "Diagnose", "Monteur", "Oplossing", "Nazorg"},
	{"Doorgeven", "Bevestiging", "Meterstand", "Overzetten", "Welkom"},
	{"Factuur", "Vraag", "Betalingsregeling", "Herinnering", "Incasso"}};
static const char *const channels[6] = {"phone", "email", "chat", "shop", "web", "field"};
static const char *const cities[] = {
	"Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Almere",
	"Breda", "Nijmegen", "Apeldoorn", "Haarlem", "Arnhem", "Enschede", "Amersfoort", "Zaanstad",
	"Den Bosch", "Haarlemmermeer", "Zwolle", "Zoetermeer", "Leiden", "Maastricht", "Dordrecht",
	"Ede", "Alphen aan den Rijn", "Westland", "Alkmaar", "Emmen", "Delft", "Venlo", "Deventer",
	"Sittard-Geleen", "Helmond", "Oss", "Amstelveen", "Hilversum", "Leeuwarden", "Heerlen", "Sudwest-Fryslan", "Hoorn"};
#define N_CITIES (sizeof cities / sizeof cities[0])
static const char *const segments[4] = {"particulier", "zakelijk", "premium", "mkb"};
static const double segment_w[4] = {0.62, 0.14, 0.09, 0.15};

/* ---- main --------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: gen_responses OUTDIR ROWS CUSTOMERS SEED\n");
		return 2;
	}
	const char *dir = argv[1];
	int64_t rows = strtoll(argv[2], NULL, 10);
	int64_t n_cust = strtoll(argv[3], NULL, 10);
	uint64_t seed = strtoull(argv[4], NULL, 10);
	if (rows < 1 || n_cust < 1 || rows > 2000000000LL || n_cust > 100000000LL) {
		fprintf(stderr, "gen_responses: ROWS 1..2e9 and CUSTOMERS 1..1e8\n");
		return 2;
	}
	uint64_t sm = seed;
	for (int i = 0; i < 4; i++)
		rs[i] = splitmix64(&sm);

	const int64_t created = days_from_civil(2022, 12, 1) * 86400;
	out o;

	/* org tree */
	out_open(&o, dir, "org_units.csv", "id,parent_id,kind,name,created_at");
	out_i(&o, ORG_ID);
	out_s(&o, ",,organisation,Energie Nederland BV,");
	out_i(&o, created);
	out_c(&o, '\n');
	for (int d = 0; d < N_DEPTS; d++) {
		out_i(&o, DEPT_ID(d));
		out_c(&o, ',');
		out_i(&o, ORG_ID);
		out_s(&o, ",department,");
		out_s(&o, dept_names[d]);
		out_c(&o, ',');
		out_i(&o, created);
		out_c(&o, '\n');
	}
	for (int t = 0; t < N_TEAMS; t++) {
		out_i(&o, TEAM_ID(t));
		out_c(&o, ',');
		out_i(&o, DEPT_ID(t / TEAMS_PER_DEPT));
		out_s(&o, ",team,");
		out_s(&o, dept_names[t / TEAMS_PER_DEPT]);
		out_c(&o, ' ');
		out_s(&o, regions[t % TEAMS_PER_DEPT]);
		out_c(&o, ',');
		out_i(&o, created);
		out_c(&o, '\n');
	}
	out_close(&o);

	/* teams: Zipf-like volume over a random ranking, a score offset each */
	double team_w[N_TEAMS], team_off[N_TEAMS];
	int rank[N_TEAMS];
	for (int t = 0; t < N_TEAMS; t++)
		rank[t] = t;
	for (int t = N_TEAMS - 1; t > 0; t--) {
		int j = (int)below((uint64_t)t + 1), x = rank[t];
		rank[t] = rank[j];
		rank[j] = x;
	}
	for (int t = 0; t < N_TEAMS; t++) {
		team_w[t] = 1.0 / pow(rank[t] + 1.0, 0.8);
		team_off[t] = 0.5 * normal();
	}

	/* employees: log-normal shares within their team, a score offset each */
	static double emp_w[N_EMPS], emp_off[N_EMPS];
	out_open(&o, dir, "employees.csv", "id,team_id,external_id,first_name,last_name,email,active,created_at");
	for (int t = 0; t < N_TEAMS; t++) {
		double share[EMP_PER_TEAM], sum = 0;
		for (int k = 0; k < EMP_PER_TEAM; k++) {
			share[k] = exp(0.6 * normal());
			sum += share[k];
		}
		for (int k = 0; k < EMP_PER_TEAM; k++) {
			int e = t * EMP_PER_TEAM + k;
			emp_w[e] = team_w[t] * share[k] / sum;
			emp_off[e] = 0.35 * normal();
			const char *fn = first_names[below(sizeof first_names / sizeof first_names[0])];
			const char *ln = last_names[below(sizeof last_names / sizeof last_names[0])];
			out_i(&o, e + 1);
			out_c(&o, ',');
			out_i(&o, TEAM_ID(t));
			out_s(&o, ",E");
			out_i(&o, 100000 + e + 1);
			out_c(&o, ',');
			out_s(&o, fn);
			out_c(&o, ',');
			out_s(&o, ln);
			out_s(&o, ",e");
			out_i(&o, e + 1);
			out_s(&o, "@energie.example,");
			out_s(&o, (rnd() & 15) ? "1" : "0"); /* a few have left */
			out_c(&o, ',');
			out_i(&o, created);
			out_c(&o, '\n');
		}
	}
	out_close(&o);
	alias emp_alias;
	alias_build(&emp_alias, emp_w, N_EMPS);

	/* journeys and touchpoints */
	out_open(&o, dir, "journeys.csv", "id,name,description,created_at");
	for (int j = 0; j < N_JOURNEYS; j++) {
		out_i(&o, j + 1);
		out_c(&o, ',');
		out_s(&o, journey_names[j]);
		out_s(&o, ",bench journey,");
		out_i(&o, created);
		out_c(&o, '\n');
	}
	out_close(&o);
	double tp_off[N_TPS];
	int tp_channel[N_TPS];
	out_open(&o, dir, "touchpoints.csv", "id,journey_id,name,position,moment_of_truth,open_token,created_at");
	for (int p = 0; p < N_TPS; p++) {
		int j = p / TP_PER_JOURNEY, k = p % TP_PER_JOURNEY;
		tp_off[p] = 0.3 * normal();
		tp_channel[p] = (int)below(6);
		out_i(&o, p + 1);
		out_c(&o, ',');
		out_i(&o, j + 1);
		out_c(&o, ',');
		out_s(&o, tp_steps[j][k]);
		out_c(&o, ',');
		out_i(&o, k + 1);
		out_c(&o, ',');
		out_s(&o, k == 3 ? "1" : "0");
		out_s(&o, ",bench-open-");
		out_i(&o, p + 1);
		out_c(&o, ',');
		out_i(&o, created);
		out_c(&o, '\n');
	}
	out_close(&o);
	/* each department mostly serves one journey: a touchpoint table per department */
	alias dept_tp[N_DEPTS];
	for (int d = 0; d < N_DEPTS; d++) {
		double w[N_TPS];
		for (int p = 0; p < N_TPS; p++) {
			double base = 1.0 / pow(p % TP_PER_JOURNEY + 1.0, 0.7); /* early steps are busier */
			w[p] = base * (p / TP_PER_JOURNEY == d % N_JOURNEYS ? 6.0 : 0.6);
		}
		alias_build(&dept_tp[d], w, N_TPS);
	}

	/* customers */
	char *cust_en = malloc((size_t)n_cust + 1);
	double city_w[N_CITIES];
	for (size_t c = 0; c < N_CITIES; c++)
		city_w[c] = 1.0 / pow(c + 1.0, 0.9);
	alias city_alias, seg_alias;
	alias_build(&city_alias, city_w, N_CITIES);
	alias_build(&seg_alias, segment_w, 4);
	out_open(&o, dir, "customers.csv",
		 "id,external_id,name,email,language,customer_since,city,birth_year,segment,created_at");
	for (int64_t c = 1; c <= n_cust; c++) {
		int en = unif() < 0.15;
		cust_en[c] = (char)en;
		int since_y = 1995 + (int)below(31), since_m = 1 + (int)below(12), since_d = 1 + (int)below(28);
		char since[48];
		snprintf(since, sizeof since, "%04d-%02d-%02d", since_y, since_m, since_d);
		out_i(&o, c);
		out_s(&o, ",C");
		out_i(&o, 10000000 + c);
		out_s(&o, ",Klant ");
		out_i(&o, c);
		out_c(&o, ',');
		if (unif() < 0.9) { /* 10% without e-mail address (NULL) */
			out_s(&o, "klant");
			out_i(&o, c);
			out_s(&o, "@mail.example");
		}
		out_s(&o, en ? ",en," : ",nl,");
		out_s(&o, since);
		out_c(&o, ',');
		out_s(&o, cities[alias_draw(&city_alias)]);
		out_c(&o, ',');
		if (unif() >= 0.06) {
			double by = 1972 + 15 * normal();
			out_i(&o, by < 1935 ? 1935 : by > 2006 ? 2006 : (int64_t)by);
		}
		out_c(&o, ',');
		out_s(&o, segments[alias_draw(&seg_alias)]);
		out_c(&o, ',');
		out_i(&o, days_from_civil(since_y < 2022 ? 2022 : since_y, since_m, since_d) * 86400);
		out_c(&o, '\n');
	}
	out_close(&o);

	/* months: volume weights (growth, summer dip, January peak) and score seasonality */
	int64_t month_start[N_MONTHS + 1];
	double month_w[N_MONTHS], month_off[N_MONTHS], wsum = 0;
	for (int m = 0; m <= N_MONTHS; m++)
		month_start[m] = days_from_civil(FIRST_YEAR + m / 12, m % 12 + 1, 1) * 86400;
	for (int m = 0; m < N_MONTHS; m++) {
		int cm = m % 12; /* 0 = January */
		double season = cm == 0 ? 1.25 : cm == 6 ? 0.75 : cm == 7 ? 0.8 : cm == 11 ? 0.9 : 1.0;
		month_w[m] = pow(1.015, m) * season;
		wsum += month_w[m];
		/* winter storms hurt, spring is kind; slow improvement over the years */
		month_off[m] = -0.25 * cos(2 * 3.14159265358979 * cm / 12.0) + 0.004 * m;
	}
	int64_t month_n[N_MONTHS], assigned = 0;
	for (int m = 0; m < N_MONTHS; m++) {
		month_n[m] = (int64_t)floor((double)rows * month_w[m] / wsum);
		assigned += month_n[m];
	}
	for (int m = 0; assigned < rows; m = (m + 1) % N_MONTHS, assigned++)
		month_n[m]++;

	/* hour-of-day weights (Europe/Amsterdam office hours, roughly, in UTC) */
	static const double hour_w[24] = {0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 3.0, 4.0, 4.5, 4.5, 4.0,
					  3.8, 4.2, 4.2, 3.8, 3.2, 2.8, 2.5, 2.2, 1.8, 1.2, 0.7, 0.4};
	alias hour_alias;
	alias_build(&hour_alias, hour_w, 24);

	/* customers: some answer far more often (a skewed draw over ids) */
	out_open(&o, dir, "responses.csv",
		 "id,customer_id,employee_id,team_id,touchpoint_id,channel,language,nps,grade,ces,received_at");
	int64_t id = 0, n_grade = 0, n_ces = 0, prom = 0, detr = 0;
	uint32_t *ts = NULL;
	size_t ts_cap = 0;
	for (int m = 0; m < N_MONTHS; m++) {
		size_t k = (size_t)month_n[m];
		if (k > ts_cap) {
			free(ts);
			ts_cap = k;
			ts = malloc(k * sizeof *ts);
			if (ts == NULL) {
				fprintf(stderr, "gen_responses: out of memory\n");
				return 1;
			}
		}
		int64_t days = (month_start[m + 1] - month_start[m]) / 86400;
		for (size_t i = 0; i < k; i++) {
			int64_t day;
			for (;;) { /* weekends get 40% of a weekday's volume */
				day = (int64_t)below((uint64_t)days);
				int64_t abs_day = month_start[m] / 86400 + day;
				int wd = (int)(((abs_day % 7) + 7 + 3) % 7); /* Monday = 0 */
				if (wd < 5 || unif() < 0.4)
					break;
			}
			ts[i] = (uint32_t)(month_start[m] + day * 86400 + alias_draw(&hour_alias) * 3600 +
					   (int64_t)below(3600));
		}
		qsort(ts, k, sizeof *ts, cmp_u32);
		for (size_t i = 0; i < k; i++) {
			uint32_t e = alias_draw(&emp_alias);
			int t = (int)(e / EMP_PER_TEAM);
			int p = (int)alias_draw(&dept_tp[t / TEAMS_PER_DEPT]);
			double u = unif();
			int64_t c = 1 + (int64_t)((double)n_cust * u * u); /* low ids answer more often */
			if (c > n_cust)
				c = n_cust;
			int ch = unif() < 0.75 ? tp_channel[p] : (int)below(6);
			double x = 7.45 + team_off[t] + emp_off[e] + tp_off[p] + month_off[m] + 1.9 * normal();
			int nps = (int)lround(x);
			nps = nps < 0 ? 0 : nps > 10 ? 10 : nps;
			prom += nps >= 9;
			detr += nps <= 6;
			out_i(&o, ++id);
			out_c(&o, ',');
			out_i(&o, c);
			out_c(&o, ',');
			out_i(&o, (int64_t)e + 1);
			out_c(&o, ',');
			out_i(&o, TEAM_ID(t));
			out_c(&o, ',');
			out_i(&o, p + 1);
			out_c(&o, ',');
			out_s(&o, channels[ch]);
			out_s(&o, cust_en[c] ? ",en," : ",nl,");
			out_i(&o, nps);
			out_c(&o, ',');
			if (unif() < 0.75) {
				int g = (int)lround(0.75 * x + 1.9 + 0.6 * normal());
				out_i(&o, g < 1 ? 1 : g > 10 ? 10 : g);
				n_grade++;
			}
			out_c(&o, ',');
			if (unif() < 0.5) {
				int s = (int)lround(0.6 * x + 0.3 + 0.9 * normal());
				out_i(&o, s < 1 ? 1 : s > 7 ? 7 : s);
				n_ces++;
			}
			out_c(&o, ',');
			out_i(&o, ts[i]);
			out_c(&o, '\n');
		}
	}
	out_close(&o);
	free(ts);
	free(cust_en);
	printf("generated %lld responses (NPS %+.1f: %.1f%% promoters, %.1f%% detractors; grade %.0f%%, "
	       "CES %.0f%%), %lld customers, %d teams, %d employees, %d touchpoints, %d months\n",
	       (long long)rows, 100.0 * (double)(prom - detr) / (double)rows,
	       100.0 * (double)prom / (double)rows, 100.0 * (double)detr / (double)rows,
	       100.0 * (double)n_grade / (double)rows, 100.0 * (double)n_ces / (double)rows,
	       (long long)n_cust, N_TEAMS, N_EMPS, N_TPS, N_MONTHS);
	return 0;
}
