/* demo_text.c — the demo's open answers (see demo_text.h).
 *
 * Clauses are written lower-case without final punctuation; the composer
 * joins them into sentences. A clause of a theme is written to meet one of
 * its terms in the default taxonomy through the stems, but not every one
 * does (14 of the 318 miss it, e.g. "afgesproken" is not "afspraak"), as
 * real answers miss a taxonomy; openers, closers and short answers name no
 * theme on purpose (answers without a theme exist). The words are written
 * for klantstem.
 */
#include "demo/demo_text.h"

#include <string.h>

enum { POL_NEG, POL_NEU, POL_POS, POL_N };
enum { TONE_NEG, TONE_NEU, TONE_POS, TONE_MIXED, TONE_N };
enum { TH_WAIT, TH_REACH, TH_FRIEND, TH_EXPERT, TH_FIX, TH_PROMISE, TH_PRICE, TH_BILLING,
       TH_COMM, TH_TECH, TH_APP, TH_DELIVERY, TH_CONTRACT, TH_N };
#define LANGS 2
#define POOL 7  /* at most 6 entries and the NULL */

/* ---- the words --------------------------------------------------------------- */

static const char *const dt_clause[TH_N][POL_N][LANGS][POOL] = {
	[TH_WAIT] = {
		{{"de wachttijd was veel te lang", "ik heb drie kwartier in de wacht gestaan",
		  "alles gaat erg traag", "twee weken wachten op een reactie is echt te lang",
		  "het duurde eindeloos voordat er iets gebeurde", NULL},
		 {"the waiting time was far too long", "I was on hold for forty minutes",
		  "everything is very slow", "waiting two weeks for a reply is too long",
		  "it took ages before anything happened", NULL}},
		{{"ik heb ongeveer tien minuten gewacht", "de wachttijd was zoals verwacht",
		  "er stond een korte wachtrij", "binnen een dag kreeg ik een reactie", NULL},
		 {"I waited about ten minutes", "the wait was what I expected",
		  "there was a short queue", "I got a reply the next day", NULL}},
		{{"ik was snel geholpen", "binnen een paar minuten geholpen", "lekker vlot afgehandeld",
		  "ik hoefde niet lang te wachten", "geen wachttijd, heel fijn", NULL},
		 {"I was helped quickly", "helped within a few minutes", "quick and smooth",
		  "I didn't have to wait long", "no waiting time at all", NULL}}},
	[TH_REACH] = {
		{{"jullie zijn telefonisch slecht bereikbaar", "ik kon niemand bereiken",
		  "de chat werkt nooit", "ik heb vijf keer gebeld voordat ik iemand sprak",
		  "buiten kantoortijden ben je onbereikbaar", NULL},
		 {"you are impossible to reach by phone", "I could not get through to anyone",
		  "the chat never works", "I called five times before I spoke to someone",
		  "nobody answered the phone", NULL}},
		{{"ik heb gebeld en daarna gemaild", "het contact ging via de chat",
		  "ik heb telefonisch contact gehad", "eerst via whatsapp, daarna gebeld", NULL},
		 {"I called and then sent an email", "contact was through the chat",
		  "I phoned in the morning", "first whatsapp, then a call", NULL}},
		{{"goed bereikbaar, ook 's avonds", "de chat is heel handig",
		  "er werd meteen opgenomen", "via whatsapp prima te bereiken",
		  "eindelijk een bedrijf dat je gewoon kunt bellen", NULL},
		 {"easy to reach, even in the evening", "the chat is really handy",
		  "someone answered the phone at once", "easy to reach on whatsapp",
		  "finally a company you can just call", NULL}}},
	[TH_FRIEND] = {
		{{"de medewerker was onvriendelijk", "erg bot te woord gestaan",
		  "de medewerker was kortaf en onbeleefd", "helemaal niet vriendelijk",
		  "ik werd afgesnauwd, zo onvriendelijk", NULL},
		 {"the employee was rude", "very unfriendly on the phone",
		  "the man on the phone was rude and did not listen", "not friendly at all",
		  "not very helpful, to be honest", NULL}},
		{{"de medewerker was beleefd", "netjes en beleefd te woord gestaan",
		  "de medewerker was correct en beleefd", NULL},
		 {"the employee was polite enough", "the staff were polite",
		  "a polite answer, nothing more", NULL}},
		{{"heel vriendelijk geholpen", "de medewerker was erg geduldig",
		  "ontzettend aardige mevrouw aan de lijn", "vriendelijk en behulpzaam",
		  "hartelijk en geduldig, echt fijn", NULL},
		 {"very friendly service", "the lady on the phone was really patient",
		  "friendly and helpful", "such a kind and warm person", "polite and very helpful", NULL}}},
	[TH_EXPERT] = {
		{{"de medewerker wist niet waar hij het over had", "weinig kennis van zaken",
		  "totaal onkundig", "er was niemand met echte kennis van het product",
		  "de medewerker wist niet hoe het systeem werkt", NULL},
		 {"the employee clearly did not know", "completely clueless",
		  "no knowledge of the product", "nobody had the knowledge to help me",
		  "incompetent from start to finish", NULL}},
		{{"de uitleg was vrij technisch voor mij", "de medewerker had de kennis, maar moest overleggen",
		  "professioneel, verder niets bijzonders", NULL},
		 {"the explanation was rather technical", "he had the knowledge but had to check with a colleague",
		  "professional, nothing more", NULL}},
		{{"zeer deskundig", "wist precies waar het over ging, heel deskundig", "echt vakkundig geholpen",
		  "veel kennis van zaken", "professioneel en to the point", NULL},
		 {"very knowledgeable", "a real expert", "really professional",
		  "an expert who knew the system inside out", "competent and to the point", NULL}}},
	[TH_FIX] = {
		{{"het probleem is nog steeds niet opgelost", "ik moest drie keer bellen voor hetzelfde probleem",
		  "na een week deed het weer niet", "de storing kwam steeds opnieuw terug",
		  "er is niets opgelost", NULL},
		 {"the problem is still not solved", "I had to call three times about the same problem",
		  "after a week it broke again", "nothing was fixed", "the fault keeps coming back again", NULL}},
		{{"het probleem is deels opgelost", "ik moet nog afwachten of de oplossing werkt",
		  "het lijkt opgelost, we zullen zien", NULL},
		 {"the problem is partly solved", "I still have to see whether the solution works",
		  "it seems resolved for now", NULL}},
		{{"in één keer opgelost", "meteen opgelost", "het probleem was direct verholpen",
		  "alles werkt weer perfect", "een snelle en goede oplossing", NULL},
		 {"fixed the first time", "solved right away", "the problem was resolved straight away",
		  "everything works perfectly again", "a quick and good solution", NULL}}},
	[TH_PROMISE] = {
		{{"ik zou teruggebeld worden, maar niemand heeft gebeld", "de afspraak werd zonder bericht verzet",
		  "beloofd is beloofd, maar er gebeurde niets", "ze zijn de afspraak gewoon vergeten",
		  "toegezegd en weer niet nagekomen", NULL},
		 {"I was promised a call back, but nobody called", "the appointment was moved without notice",
		  "they simply forgot the appointment", "they promised a lot and did nothing",
		  "another promise that was not kept", NULL}},
		{{"de afspraak is verzet naar volgende week", "er is een nieuwe afspraak gemaakt",
		  "ik wacht nog op de toegezegde brief", NULL},
		 {"the appointment was moved to next week", "a new appointment was made",
		  "I am still waiting for the letter they promised", NULL}},
		{{"alles ging precies zoals afgesproken", "ze kwamen hun afspraken keurig na",
		  "ik werd teruggebeld zoals beloofd", "netjes op de afgesproken tijd", NULL},
		 {"everything went exactly as agreed", "they kept every promise",
		  "I was called back as promised", "right on time for the appointment", NULL}}},
	[TH_PRICE] = {
		{{"veel te duur", "de prijs is weer omhoog gegaan", "voor dit geld verwacht ik meer",
		  "de kosten zijn belachelijk hoog", "te duur voor wat je krijgt", NULL},
		 {"far too expensive", "the price went up again", "for this money I expect more",
		  "the costs are ridiculous", NULL}},
		{{"de prijs is vergelijkbaar met andere aanbieders", "de kosten zijn zoals verwacht",
		  "het tarief is gemiddeld", NULL},
		 {"the price is about the same as elsewhere", "the costs were as expected",
		  "an average rate", NULL}},
		{{"goede prijs", "voordelig uit", "de prijs is niet slecht", "eerlijke prijs voor wat je krijgt",
		  "goedkoper dan mijn vorige aanbieder", NULL},
		 {"good value for money", "a fair price", "the price is not bad at all",
		  "cheaper than my previous provider", NULL}}},
	[TH_BILLING] = {
		{{"de factuur klopt niet", "er is twee keer afgeschreven", "ik wacht al maanden op mijn terugbetaling",
		  "de rekening is onbegrijpelijk", "er staan kosten op de factuur die nergens op slaan", NULL},
		 {"the invoice is wrong", "I was charged twice", "I have been waiting months for my refund",
		  "the bill makes no sense", NULL}},
		{{"ik had een vraag over de factuur", "de eindafrekening komt later",
		  "de datum van de betaling is aangepast", NULL},
		 {"I had a question about my bill", "the final invoice will follow",
		  "the payment date was changed", NULL}},
		{{"de factuur was helder en klopte", "de terugbetaling stond binnen een week op mijn rekening",
		  "duidelijke rekening", "de dubbele afschrijving is netjes gecorrigeerd", NULL},
		 {"the invoice was clear and correct", "the refund arrived within a week", "a clear bill",
		  "the double charge was corrected neatly", NULL}}},
	[TH_COMM] = {
		{{"de communicatie is slecht", "niemand hield me op de hoogte", "de informatie was onduidelijk",
		  "ik kreeg tegenstrijdige informatie", "geen enkel bericht ontvangen", NULL},
		 {"communication is poor", "nobody kept me informed", "the information was unclear",
		  "I got conflicting information", NULL}},
		{{"ik kreeg een bericht per post", "de informatie stond in de brief",
		  "ik ben op de hoogte gebracht van de volgende stap", NULL},
		 {"I got a message by post", "the information was in the letter",
		  "I was informed of the next steps", NULL}},
		{{"duidelijke uitleg", "goed op de hoogte gehouden", "heldere communicatie",
		  "alles werd duidelijk uitgelegd", NULL},
		 {"clear explanation", "they kept me updated all the way", "great communication",
		  "everything was explained clearly", NULL}}},
	[TH_TECH] = {
		{{"de monteur kwam niet opdagen", "de monteur liet een rommel achter",
		  "de monteur had de verkeerde onderdelen bij zich", "ik heb een hele dag vrij genomen en er kwam geen monteur",
		  "de installateur was anderhalf uur te laat", NULL},
		 {"the engineer never showed up", "the technician left a mess",
		  "the engineer did not have the right parts", "the installer was an hour and a half late", NULL}},
		{{"de monteur is geweest", "de installatie duurde een uur", "de technicus heeft de meter vervangen", NULL},
		 {"the engineer came by", "the installation took an hour", "the technician replaced the meter", NULL}},
		{{"de monteur was precies op tijd", "fijne monteur, netjes gewerkt",
		  "de technicus legde alles goed uit", "de installatie ging vlot", NULL},
		 {"the engineer was right on time", "great technician, tidy work",
		  "the installer explained everything", "the installation went smoothly", NULL}}},
	[TH_APP] = {
		{{"de app loopt steeds vast", "inloggen op de website lukt niet", "mijn account is niet te vinden",
		  "de website is traag en onoverzichtelijk", NULL},
		 {"the app keeps crashing", "I cannot log in to the website", "the website is slow and confusing",
		  "my account has disappeared", NULL}},
		{{"ik heb het via de app doorgegeven", "de meterstanden heb ik online ingevuld",
		  "ik heb een account aangemaakt", NULL},
		 {"I did it through the app", "I entered the readings online", "I created an account", NULL}},
		{{"de app werkt prima", "online regelen gaat heel makkelijk", "handige website",
		  "de app is overzichtelijk", NULL},
		 {"the app works well", "easy to arrange online", "handy website", "the app is really clear", NULL}}},
	[TH_DELIVERY] = {
		{{"het pakket is nooit aangekomen", "de modem werd een week te laat geleverd",
		  "de bezorger heeft niet eens aangebeld", "verkeerde levering", NULL},
		 {"the package never arrived", "the modem was delivered a week late",
		  "the courier did not even ring the bell", "wrong delivery", NULL}},
		{{"het pakket wordt morgen bezorgd", "de levering was op dinsdag", "de modem is bij de buren bezorgd", NULL},
		 {"the parcel arrives tomorrow", "delivery was on Tuesday", "the modem was delivered to the neighbours", NULL}},
		{{"de modem werd de volgende dag al geleverd", "snelle levering", "keurig bezorgd",
		  "het pakket was netjes verpakt", NULL},
		 {"the modem was delivered the next day", "fast delivery", "delivered neatly",
		  "the package was well packed", NULL}}},
	[TH_CONTRACT] = {
		{{"ik wil mijn contract opzeggen", "opzeggen is onnodig ingewikkeld",
		  "ik kreeg een ander abonnement dan afgesproken", "ze hebben mijn contract zonder te vragen verlengd",
		  "ik overweeg over te stappen", NULL},
		 {"I want to cancel my contract", "cancelling is needlessly complicated",
		  "I got a different subscription than agreed", "they renewed my contract without asking", NULL}},
		{{"mijn contract loopt in maart af", "ik heb mijn abonnement omgezet",
		  "ik ben overgestapt naar een ander pakket", NULL},
		 {"my contract ends in March", "I changed my subscription", "I switched to another package", NULL}},
		{{"overstappen was heel eenvoudig", "goed advies over mijn abonnement",
		  "het nieuwe contract is precies wat ik zocht", "verlengen ging in een paar klikken", NULL},
		 {"switching was really easy", "good advice on my subscription",
		  "the new contract is exactly what I wanted", "renewal took a few clicks", NULL}}},
};

/* General remarks without a theme, by tone (mixed answers take neutral). */
static const char *const dt_opener[POL_N][LANGS][12] = {
	[POL_NEG] = {{"slechte ervaring", "erg teleurgesteld", "dit is al de derde keer dat ik contact opneem",
		      "hier ben ik echt niet blij mee", "niet tevreden", "wat een gedoe", "ronduit slecht",
		      "helemaal niet tevreden", "jammer", "zeer slechte service", NULL},
		     {"bad experience", "very disappointed", "this is the third time I have contacted you",
		      "really unhappy with this", "not satisfied at all", "what a hassle", "poor service",
		      "disappointing", NULL}},
	[POL_NEU] = {{"het was oké", "op zich in orde", "niets bijzonders", "gewoon zoals verwacht",
		      "redelijk", "tja", "het ging", NULL},
		     {"it was ok", "fine overall", "nothing special", "as expected", "average", "well", NULL}},
	[POL_POS] = {{"top service", "heel tevreden", "super", "echt een aanrader", "helemaal goed",
		      "prima geholpen", "niet slecht", "geen klachten", "dik tevreden", "hartstikke goed",
		      "netjes geholpen", NULL},
		     {"great service", "very satisfied", "excellent", "highly recommended", "all good",
		      "not bad at all", "no complaints", "brilliant", "well done", NULL}},
};

static const char *const dt_closer[POL_N][LANGS][8] = {
	[POL_NEG] = {{"zo ga je niet met klanten om", "ik ben er klaar mee", "graag een excuus",
		      "bel me alstublieft", "dit moet echt beter", NULL},
		     {"this is no way to treat customers", "I am fed up", "an apology would be nice",
		      "please sort this out", "this has to get better", NULL}},
	[POL_NEU] = {{"verder prima", "dank u", "mvg", "groet", NULL},
		     {"otherwise fine", "thanks", "regards", "cheers", NULL}},
	[POL_POS] = {{"zo hoort het", "ga zo door", "bedankt", "dank jullie wel", "complimenten", NULL},
		     {"that's how it should be", "keep it up", "thanks", "thank you so much", "well done", NULL}},
};

/* A whole answer of a few words. */
static const char *const dt_short[POL_N][LANGS][12] = {
	[POL_NEG] = {{"slecht", "waardeloos", "nooit meer", "slecht geholpen", "zeer slecht", "niet goed",
		      "belachelijk", NULL},
		     {"bad", "terrible", "never again", "awful", "not good", "useless", NULL}},
	[POL_NEU] = {{"ok", "oké", "prima", "nvt", "geen", "-", "redelijk", "gaat wel", "geen opmerkingen",
		      "niets", NULL},
		     {"ok", "fine", "n/a", "none", "-", "nothing", "average", "so-so", "no comment", NULL}},
	[POL_POS] = {{"prima", "top", "top!", "goed", "super", "prima geholpen", "tevreden", "perfect",
		      "dank je", "niks mis mee", "heel goed", NULL},
		     {"great", "good", "perfect", "very good", "thanks", "excellent", "nothing wrong with it",
		      "top", "lovely", NULL}},
};

/* Answers in another language, by tone: long enough that the analysis
 * takes them for "other" whatever the customer's stated language. */
static const char *const dt_foreign[POL_N][4] = {
	[POL_NEG] = {"Leider sehr lange Wartezeit am Telefon und niemand konnte mir helfen.",
		     "Der Techniker kam zu spät und war unfreundlich.",
		     "Service client injoignable pendant trois jours, je suis très déçu.", NULL},
	[POL_NEU] = {"Alles war in Ordnung, nichts zu beanstanden.",
		     "Rien de spécial, le rendez-vous a été respecté.",
		     "La facture est arrivée par courrier, comme prévu.", NULL},
	[POL_POS] = {"Sehr freundlich und schnell geholfen, danke!",
		     "Vielen Dank an das ganze Team, ich bin sehr zufrieden.",
		     "Technicien très aimable et efficace, merci.", NULL},
};

/* A promoter names the employee: text before and after the name. */
static const char *const dt_named[LANGS][4][2] = {
	{{"", " was erg vriendelijk en dacht goed met me mee"}, {"", " heeft alles in één keer voor me geregeld"},
	 {"complimenten voor ", ""}, {"dank aan ", " voor de snelle en duidelijke hulp"}},
	{{"", " was very friendly and really thought along with me"}, {"", " sorted everything out in one go"},
	 {"compliments to ", ""}, {"thanks to ", " for the quick and clear help"}},
};

/* Planted: the new app (rising over the last months) and parking (the
 * last month, no theme of the default taxonomy). */
static const char *const dt_new_app[LANGS][6] = {
	{"sinds de update doet de app het niet meer", "de nieuwe app loopt steeds vast",
	 "inloggen in de nieuwe app lukt niet", "in de nieuwe app zie ik mijn verbruik niet meer", NULL},
	{"since the update the app no longer works", "the new app keeps crashing",
	 "I cannot log in to the new app", NULL},
};
static const char *const dt_parking[LANGS][6] = {
	{"bij de winkel kun je nergens parkeren", "parkeren bij de winkel is een ramp",
	 "geen parkeerplek te vinden bij de winkel", "ik moest een half uur rondrijden om te parkeren",
	 "parkeren bij de winkel kost een kwartier zoeken", NULL},
	{"parking near the shop is impossible", "there is nowhere to park near the shop",
	 "I drove around for half an hour to find parking", NULL},
};

/* Which themes a topic and a part of the experience bring up. */
static const int dt_topic_themes[DEMO_TEXT_N_TOPICS][4] = {
	[DEMO_TEXT_GENERAL] = {TH_REACH, TH_PROMISE, TH_COMM, -1},
	[DEMO_TEXT_MOVE] = {TH_CONTRACT, TH_COMM, TH_APP, TH_PROMISE},
	[DEMO_TEXT_OUTAGE] = {TH_FIX, TH_COMM, TH_WAIT, TH_REACH},
	[DEMO_TEXT_FIELD] = {TH_TECH, TH_PROMISE, TH_FIX, -1},
	[DEMO_TEXT_BILLING] = {TH_BILLING, TH_PRICE, TH_COMM, -1},
	[DEMO_TEXT_SALES] = {TH_CONTRACT, TH_PRICE, TH_DELIVERY, TH_APP},
};
static const int dt_comp_themes[3][3] = {
	[DEMO_TEXT_SPEED] = {TH_WAIT, TH_REACH, -1},
	[DEMO_TEXT_FRIENDLY] = {TH_FRIEND, -1, -1},
	[DEMO_TEXT_EXPERT] = {TH_EXPERT, TH_FIX, TH_COMM},
};

/* The answer's tone given the score class: loose, as in real feedback.
 * Rows: detractor, passive, promoter; columns: TONE_*. */
static const double dt_tone_p[3][TONE_N] = {
	{0.62, 0.16, 0.08, 0.14},
	{0.22, 0.32, 0.18, 0.28},
	{0.05, 0.18, 0.65, 0.12},
};

/* ---- drawing ------------------------------------------------------------------ */

/* splitmix64: small, and good enough for picking words. */
static uint64_t dt_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double dt_unit(uint64_t *s)
{
	return (double)(dt_next(s) >> 11) * 0x1.0p-53;
}

static bool dt_chance(uint64_t *s, double p)
{
	return dt_unit(s) < p;
}

static int dt_below(uint64_t *s, int n)
{
	return (int)(dt_unit(s) * n);
}

static const char *dt_pick(uint64_t *s, const char *const *list)
{
	int n = 0;
	while (list[n])
		n++;
	return list[dt_below(s, n)];
}

static int dt_pick_theme(uint64_t *s, const int *list, int n)
{
	int k = 0;
	while (k < n && list[k] >= 0)
		k++;
	return list[dt_below(s, k)];
}

/* ---- writing ------------------------------------------------------------------ */

typedef struct dt_out {
	char *buf;
	size_t n, len;
} dt_out;

/* Appends s (NULL: nothing); capital when it starts a sentence. A piece
 * that does not fit is left out whole. */
static void dt_put(dt_out *o, const char *s, bool capital)
{
	size_t k = strlen(s);
	if (o->len + k + 1 > o->n)
		return;
	memcpy(o->buf + o->len, s, k + 1);
	if (capital && o->buf[o->len] >= 'a' && o->buf[o->len] <= 'z')
		o->buf[o->len] = (char)(o->buf[o->len] - 'a' + 'A');
	o->len += k;
}

/* A new sentence holding clause c. */
static void dt_sentence(uint64_t *s, dt_out *o, const char *c)
{
	if (o->len)
		dt_put(o, dt_chance(s, 0.85) ? ". " : dt_chance(s, 0.5) ? "! " : ", ", false);
	dt_put(o, c, o->len < 2 || o->buf[o->len - 2] != ',');
}

/* clause c joined to the sentence before by a contrast word. */
static void dt_contrast(uint64_t *s, dt_out *o, int lang, const char *c)
{
	static const char *const joint[LANGS][4] = {
		{", maar ", " maar ", ", alleen ", ". Maar "}, {", but ", " but ", ", however ", ". But "}};
	const char *j = joint[lang][dt_below(s, 4)];
	dt_put(o, j, false);
	dt_put(o, c, false);
}

static void dt_named_clause(const demo_text_plan *p, int lang, char *tmp, size_t n)
{
	const char *const *f = dt_named[lang][p->named_form & 3];
	size_t a = strlen(f[0]), b = strlen(p->named), c = strlen(f[1]);
	if (a + b + c + 1 > n) {
		tmp[0] = '\0';
		return;
	}
	memcpy(tmp, f[0], a);
	memcpy(tmp + a, p->named, b);
	memcpy(tmp + a + b, f[1], c + 1);
}

/* A typo: two neighbouring ASCII letters swapped inside a longer word. */
static void dt_typo(uint64_t *s, char *buf, size_t len)
{
	if (len < 6)
		return;
	for (int tries = 0; tries < 8; tries++) {
		size_t i = 1 + (size_t)dt_below(s, (int)(len - 3));
		char a = buf[i], b = buf[i + 1];
		if (a >= 'a' && a <= 'z' && b >= 'a' && b <= 'z' && a != b && buf[i - 1] >= 'a' &&
		    buf[i - 1] <= 'z') {
			buf[i] = b;
			buf[i + 1] = a;
			return;
		}
	}
}

static void dt_case(char *buf, bool upper)
{
	for (char *c = buf; *c; c++)
		if (upper && *c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
		else if (!upper && *c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
}

static int dt_tone(uint64_t *s, int cls)
{
	double u = dt_unit(s);
	for (int t = 0; t < TONE_N - 1; t++) {
		if (u < dt_tone_p[cls][t])
			return t;
		u -= dt_tone_p[cls][t];
	}
	return TONE_MIXED;
}

/* Polarity of one theme clause in an answer of tone t (not mixed). */
static int dt_clause_pol(uint64_t *s, int tone)
{
	if (tone == TONE_NEU)
		return dt_chance(s, 0.7) ? POL_NEU : dt_chance(s, 0.5) ? POL_POS : POL_NEG;
	if (dt_chance(s, 0.12))
		return POL_NEU;
	return tone == TONE_NEG ? POL_NEG : POL_POS;
}

/* The themes an answer talks about: from the plan, then maybe one more. */
static int dt_themes(uint64_t *s, const demo_text_plan *p, bool mixed, int *th)
{
	int n = 0;
	if (p->topic_clause && p->topic >= 0 && p->topic < DEMO_TEXT_N_TOPICS)
		th[n++] = dt_pick_theme(s, dt_topic_themes[p->topic], 4);
	if (p->comp_clause || n == 0)
		th[n++] = dt_pick_theme(s, dt_comp_themes[p->comp % 3], 3);
	if (n < 3 && (dt_chance(s, 0.2) || (mixed && n < 2)))
		th[n++] = dt_below(s, TH_N);
	for (int i = 1; i < n; i++)  /* each theme once */
		for (int j = 0; j < i; j++)
			if (th[i] == th[j]) {
				th[i] = (th[i] + 1) % TH_N;
				j = -1;
			}
	return n;
}

static void dt_body(uint64_t *s, const demo_text_plan *p, int lang, int tone, dt_out *o)
{
	bool mixed = tone == TONE_MIXED;
	int th[3], n = dt_themes(s, p, mixed, th);
	/* mixed: one side positive, the other negative; detractors tend to end
	 * on the complaint, promoters on the praise (the clause after "maar"
	 * weighs most, docs/TEXT.md) */
	double p_neg_last = p->cls == DEMO_TEXT_DETRACTOR ? 0.75 : p->cls == DEMO_TEXT_PROMOTER ? 0.25 : 0.5;
	bool neg_last = dt_chance(s, p_neg_last);
	int first_pol = mixed ? (neg_last ? POL_POS : POL_NEG) : POL_NEU;
	int open_pol = tone == TONE_NEG ? POL_NEG : tone == TONE_POS ? POL_POS : mixed ? first_pol : POL_NEU;
	if (p->opener)
		dt_sentence(s, o, dt_pick(s, dt_opener[open_pol][lang]));
	if (p->named && tone != TONE_NEG && !(mixed && neg_last)) {
		char tmp[256];
		dt_named_clause(p, lang, tmp, sizeof tmp);
		if (tmp[0])
			dt_sentence(s, o, tmp);
	}
	int last_pol = open_pol;
	for (int i = 0; i < n; i++) {
		int pol = mixed ? (i == 0 ? first_pol : first_pol == POL_POS ? POL_NEG : POL_POS)
				: dt_clause_pol(s, tone);
		const char *c = dt_pick(s, dt_clause[th[i]][pol][lang]);
		if (mixed && i == 1)
			dt_contrast(s, o, lang, c);
		else if (i > 0 && pol == last_pol && dt_chance(s, 0.3)) {
			bool comma = dt_chance(s, 0.5);
			dt_put(o, comma ? ", " : lang == DEMO_TEXT_NL ? " en " : " and ", false);
			dt_put(o, c, false);
		} else
			dt_sentence(s, o, c);
		last_pol = pol;
	}
	/* planted: complaints about the new app, rising over 120 days */
	if (p->days_before_now < 120 && dt_chance(s, 0.16 * (1.0 - p->days_before_now / 120.0))) {
		if (last_pol == POL_POS)
			dt_contrast(s, o, lang, dt_pick(s, dt_new_app[lang]));
		else
			dt_sentence(s, o, dt_pick(s, dt_new_app[lang]));
		last_pol = POL_NEG;
	}
	/* planted: parking at the shops, new in the last month */
	if (p->shop && dt_chance(s, p->days_before_now < 30 ? 0.8 : 0.01)) {
		dt_sentence(s, o, dt_pick(s, dt_parking[lang]));
		last_pol = POL_NEG;
	}
	if (p->closer)
		dt_sentence(s, o, dt_pick(s, dt_closer[mixed ? last_pol : open_pol][lang]));
}

void demo_text_compose(uint64_t *s, const demo_text_plan *p, char *buf, size_t n)
{
	dt_out o = {buf, n, 0};
	buf[0] = '\0';
	int cls = p->cls >= 0 && p->cls <= 2 ? p->cls : DEMO_TEXT_PASSIVE;
	int tone = dt_tone(s, cls);
	int pol = tone == TONE_MIXED ? POL_NEU : tone;
	/* some write in the other language, a few in neither */
	int lang = p->lang == DEMO_TEXT_EN ? DEMO_TEXT_EN : DEMO_TEXT_NL;
	if (dt_chance(s, lang == DEMO_TEXT_NL ? 0.04 : 0.10))
		lang = 1 - lang;
	if (dt_chance(s, 0.007)) {
		dt_put(&o, dt_pick(s, dt_foreign[pol]), false);
		return;
	}
	static const double p_short[3] = {0.06, 0.16, 0.14};
	if (dt_chance(s, p_short[cls])) {
		dt_put(&o, dt_pick(s, dt_short[pol][lang]), dt_chance(s, 0.6));
	} else if (dt_chance(s, 0.06)) {
		/* no theme: a remark and maybe a closing word */
		dt_sentence(s, &o, dt_pick(s, dt_opener[pol][lang]));
		if (dt_chance(s, 0.5))
			dt_sentence(s, &o, dt_pick(s, dt_closer[pol][lang]));
	} else {
		dt_body(s, p, lang, tone, &o);
	}
	if (o.len == 0)
		dt_put(&o, dt_pick(s, dt_short[pol][lang]), true);
	double u = dt_unit(s);
	bool bare_end = o.len > 0 && buf[o.len - 1] >= 'a' && buf[o.len - 1] <= 'z';
	if (bare_end && u < 0.55)
		dt_put(&o, ".", false);
	else if (bare_end && u < 0.65)
		dt_put(&o, pol == POL_NEU ? "." : "!", false);
	else if (bare_end && u < 0.67 && pol != POL_NEU)
		dt_put(&o, "!!", false);
	if (dt_chance(s, 0.05))
		dt_typo(s, buf, o.len);
	if (dt_chance(s, 0.10))
		dt_case(buf, false);
	else if (tone == TONE_NEG && dt_chance(s, 0.02))
		dt_case(buf, true);
}
