/* lexicon.c — the project's own sentiment lexicon for customer-service
 * answers, Dutch and English: valence -3..3 per word (0: in the lexicon
 * only so that it counts as a known word of the language, e.g. "lang",
 * which is negative only after "te"/"too"). Original work of the klantstem
 * project, under the project's licence (AGPL-3.0); no third-party data.
 * Words are stemmed when the context is built, so inflections count.
 * Also: negators, intensifiers, downtoners, function words (for language
 * evidence in short texts) and the parts Dutch compounds may split into. */
#include <stddef.h>

#include "text/text_int.h"

const text_lex_entry text_lex_nl[] = {
	{ "goed", 2 }, { "prima", 2 }, { "uitstekend", 3 }, { "perfect", 3 }, { "top", 3 },
	{ "super", 3 }, { "geweldig", 3 }, { "fantastisch", 3 }, { "fijn", 2 }, { "prettig", 2 },
	{ "tevreden", 2 }, { "blij", 2 }, { "vriendelijk", 2 }, { "behulpzaam", 2 }, { "aardig", 2 },
	{ "beleefd", 2 }, { "correct", 1 }, { "netjes", 2 }, { "keurig", 2 }, { "snel", 2 },
	{ "vlot", 2 }, { "duidelijk", 2 }, { "helder", 2 }, { "deskundig", 2 }, { "vakkundig", 2 },
	{ "kundig", 2 }, { "professioneel", 2 }, { "betrouwbaar", 2 }, { "zorgvuldig", 2 },
	{ "adequaat", 1 }, { "opgelost", 2 }, { "oplossing", 1 }, { "geholpen", 2 }, { "bedankt", 2 },
	{ "dank", 2 }, { "dankjewel", 2 }, { "dankuwel", 2 }, { "compliment", 2 },
	{ "complimenten", 2 }, { "aanrader", 3 }, { "aanbevelen", 2 }, { "tip", 1 },
	{ "gemakkelijk", 2 }, { "makkelijk", 2 }, { "eenvoudig", 1 }, { "handig", 2 },
	{ "overzichtelijk", 2 }, { "goedkoop", 1 }, { "voordelig", 2 }, { "redelijk", 1 },
	{ "uitgebreid", 1 }, { "attent", 2 }, { "geduldig", 2 }, { "meedenkend", 2 },
	{ "meedenken", 2 }, { "sympathiek", 2 }, { "hartelijk", 2 }, { "klantvriendelijk", 2 },
	{ "servicegericht", 2 }, { "efficient", 2 }, { "effectief", 2 }, { "snelle", 2 },
	{ "gauw", 1 }, { "tijdig", 2 }, { "punctueel", 2 }, { "stipt", 2 }, { "nakomen", 1 },
	{ "waarmaken", 1 }, { "ok", 1 }, { "oke", 1 }, { "mooi", 2 }, { "leuk", 2 },
	{ "heerlijk", 3 }, { "uitmuntend", 3 }, { "voortreffelijk", 3 }, { "briljant", 3 },
	{ "bedankje", 1 }, { "waardering", 2 }, { "gewaardeerd", 2 }, { "kwaliteit", 1 },
	{ "excellent", 3 }, { "fenomenaal", 3 }, { "doeltreffend", 2 }, { "soepel", 2 },
	{ "probleemloos", 2 }, { "foutloos", 2 }, { "glad", 1 }, { "vriendelijkheid", 2 },
	{ "behulpzaamheid", 2 }, { "slecht", -3 }, { "slechte", -3 }, { "waardeloos", -3 },
	{ "belabberd", -3 }, { "beroerd", -3 }, { "verschrikkelijk", -3 }, { "vreselijk", -3 },
	{ "afschuwelijk", -3 }, { "rampzalig", -3 }, { "drama", -3 }, { "ramp", -3 },
	{ "teleurgesteld", -2 }, { "teleurstellend", -2 }, { "teleurstelling", -2 },
	{ "ontevreden", -2 }, { "boos", -2 }, { "kwaad", -2 }, { "geirriteerd", -2 },
	{ "irritant", -2 }, { "ergernis", -2 }, { "frustrerend", -2 }, { "gefrustreerd", -2 },
	{ "traag", -2 }, { "langzaam", -2 }, { "laat", -1 }, { "lang", 0 }, { "onvriendelijk", -2 },
	{ "onbeleefd", -2 }, { "bot", -2 }, { "arrogant", -2 }, { "ongeinteresseerd", -2 },
	{ "onduidelijk", -2 }, { "vaag", -1 }, { "verwarrend", -2 }, { "onkundig", -2 },
	{ "incompetent", -3 }, { "amateuristisch", -2 }, { "onprofessioneel", -2 },
	{ "onbetrouwbaar", -2 }, { "fout", -2 }, { "fouten", -2 }, { "foutief", -2 },
	{ "onjuist", -2 }, { "verkeerd", -2 }, { "kapot", -2 }, { "defect", -2 }, { "storing", -1 },
	{ "probleem", -1 }, { "problemen", -1 }, { "klacht", -1 }, { "klachten", -1 }, { "duur", -2 },
	{ "prijzig", -1 }, { "overpriced", -2 }, { "oplichting", -3 }, { "schandalig", -3 },
	{ "schande", -3 }, { "belachelijk", -3 }, { "bagger", -3 }, { "onbereikbaar", -2 },
	{ "onmogelijk", -2 }, { "moeilijk", -1 }, { "lastig", -1 }, { "ingewikkeld", -1 },
	{ "omslachtig", -2 }, { "rommelig", -1 }, { "chaotisch", -2 }, { "slordig", -2 },
	{ "nooit", 0 }, { "wachten", -1 }, { "gewacht", -1 },
	{ "vertraging", -2 }, { "vertraagd", -2 }, { "te", 0 }, { "helaas", -1 }, { "jammer", -1 },
	{ "spijtig", -1 }, { "niks", -1 }, { "nutteloos", -2 }, { "zinloos", -2 },
	{ "onbruikbaar", -2 }, { "onacceptabel", -3 }, { "onaanvaardbaar", -3 }, { "ergerlijk", -2 },
	{ "afgescheept", -3 }, { "genegeerd", -2 }, { "vergeten", -2 }, { "kwijt", -2 },
	{ "zoek", -1 }, { "beloofd", 0 }, { "gebeld", 0 }, { "terugbellen", 0 }, { "niet", 0 },
	{ "zeuren", -1 }, { "klagen", -1 }, { "stress", -2 }, { "zorgen", -1 }, { "opzeggen", -2 },
	{ "overstappen", -2 }, { "weglopen", -2 }, { "stroef", -2 }, { "hopeloos", -3 },
	{ "dramatisch", -3 }, { "nergens", -1 }, { "ongemak", -1 }, { "hinder", -1 },
	{ "onvoldoende", -2 }, { "matig", -1 }, { "middelmatig", -1 }, { "gemiddeld", 0 }, { NULL, 0 },
};

const text_lex_entry text_lex_en[] = {
	{ "good", 2 }, { "great", 3 }, { "excellent", 3 }, { "perfect", 3 }, { "fantastic", 3 },
	{ "amazing", 3 }, { "awesome", 3 }, { "wonderful", 3 }, { "brilliant", 3 },
	{ "outstanding", 3 }, { "superb", 3 }, { "nice", 2 }, { "fine", 1 }, { "ok", 1 },
	{ "okay", 1 }, { "pleasant", 2 }, { "satisfied", 2 }, { "happy", 2 }, { "pleased", 2 },
	{ "glad", 2 }, { "friendly", 2 }, { "helpful", 2 }, { "kind", 2 }, { "polite", 2 },
	{ "courteous", 2 }, { "patient", 2 }, { "fast", 2 }, { "quick", 2 }, { "quickly", 2 },
	{ "prompt", 2 }, { "swift", 2 }, { "efficient", 2 }, { "clear", 2 }, { "knowledgeable", 2 },
	{ "expert", 2 }, { "competent", 2 }, { "professional", 2 }, { "reliable", 2 },
	{ "thorough", 2 }, { "solved", 2 }, { "resolved", 2 }, { "fixed", 2 }, { "thanks", 2 },
	{ "thank", 2 }, { "grateful", 2 }, { "recommend", 2 }, { "easy", 2 }, { "simple", 1 },
	{ "convenient", 2 }, { "smooth", 2 }, { "cheap", 1 }, { "affordable", 2 }, { "fair", 1 },
	{ "reasonable", 1 }, { "love", 3 }, { "loved", 3 }, { "best", 3 }, { "better", 1 },
	{ "top", 2 }, { "super", 2 }, { "well", 1 }, { "on-time", 2 }, { "punctual", 2 },
	{ "attentive", 2 }, { "caring", 2 }, { "warm", 2 }, { "seamless", 2 }, { "flawless", 3 },
	{ "impressed", 2 }, { "impressive", 2 }, { "delighted", 3 }, { "quality", 1 },
	{ "appreciate", 2 }, { "appreciated", 2 }, { "lovely", 2 }, { "bad", -2 }, { "poor", -2 },
	{ "terrible", -3 }, { "awful", -3 }, { "horrible", -3 }, { "dreadful", -3 }, { "worst", -3 },
	{ "worse", -2 }, { "disappointed", -2 }, { "disappointing", -2 }, { "disappointment", -2 },
	{ "unhappy", -2 }, { "dissatisfied", -2 }, { "angry", -2 }, { "annoyed", -2 },
	{ "annoying", -2 }, { "frustrated", -2 }, { "frustrating", -2 }, { "irritating", -2 },
	{ "slow", -2 }, { "late", -1 }, { "long", 0 }, { "rude", -3 }, { "unfriendly", -2 },
	{ "impolite", -2 }, { "unhelpful", -2 }, { "unclear", -2 }, { "confusing", -2 },
	{ "vague", -1 }, { "incompetent", -3 }, { "unprofessional", -2 }, { "unreliable", -2 },
	{ "wrong", -2 }, { "mistake", -2 }, { "mistakes", -2 }, { "error", -1 }, { "errors", -1 },
	{ "broken", -2 }, { "faulty", -2 }, { "problem", -1 }, { "problems", -1 }, { "issue", -1 },
	{ "issues", -1 }, { "complaint", -1 }, { "expensive", -2 }, { "overpriced", -2 },
	{ "scam", -3 }, { "ridiculous", -3 }, { "disgrace", -3 }, { "shameful", -3 },
	{ "unreachable", -2 }, { "impossible", -2 }, { "difficult", -1 }, { "hard", -1 },
	{ "complicated", -1 }, { "messy", -1 }, { "chaotic", -2 }, { "sloppy", -2 },
	{ "waiting", -1 }, { "waited", -1 }, { "wait", -1 }, { "delay", -2 }, { "delayed", -2 },
	{ "unfortunately", -1 }, { "useless", -2 }, { "pointless", -2 }, { "unacceptable", -3 },
	{ "ignored", -2 }, { "forgot", -2 }, { "forgotten", -2 }, { "lost", -2 }, { "hopeless", -3 },
	{ "cancel", -1 }, { "switch", 0 }, { "leave", 0 }, { "nightmare", -3 }, { "hassle", -2 },
	{ "mediocre", -1 }, { "average", 0 }, { "insufficient", -2 }, { "inadequate", -2 },
	{ "lazy", -2 }, { "careless", -2 }, { "failed", -2 }, { "fail", -2 }, { "failure", -2 },
	{ "never", 0 }, { "hate", -3 }, { "hated", -3 }, { NULL, 0 },
};

const char *const text_negators[2][16] = {
	{ "niet", "geen", "nooit", "niets", "niks", "nergens", "allesbehalve", "geenszins", NULL },
	{ "not", "no", "never", "nothing", "hardly", "barely", "without", "nobody", "neither", "nor",
	  "cannot", NULL },
};

/* An intensifier multiplies the next sentiment word (x1.5); "helemaal",
 * "totally" and "at all" also strengthen a negation. */
const char *const text_intensifiers[2][24] = {
	{ "erg", "heel", "zeer", "echt", "super", "enorm", "ontzettend", "vreselijk", "verschrikkelijk",
	  "hartstikke", "uiterst", "extreem", "bijzonder", "ongelooflijk", "veel", "zo", "zwaar",
	  "helemaal", "totaal", "absoluut", "volledig", NULL },
	{ "very", "really", "extremely", "so", "incredibly", "super", "highly", "truly", "terribly",
	  "awfully", "absolutely", "totally", "completely", "utterly", "much", "way", "far", NULL },
};

/* A downtoner weakens the next sentiment word (x0.6). */
const char *const text_downtoners[2][16] = {
	{ "beetje", "wat", "redelijk", "vrij", "nogal", "enigszins", "tamelijk", "iets", "soms",
	  NULL },
	{ "bit", "slightly", "somewhat", "fairly", "rather", "quite", "kind", "sort", "little",
	  "sometimes", NULL },
};

const char *const text_function_words[2][80] = {
	{ "de", "het", "een", "en", "van", "ik", "je", "jullie", "u", "uw", "we", "wij", "is", "was",
	  "zijn", "waren", "heb", "heeft", "hebben", "had", "werd", "wordt", "met", "voor", "op",
	  "aan", "bij", "naar", "uit", "om", "dat", "die", "dit", "deze", "er", "ook", "nog", "al",
	  "maar", "echt", "erg", "heel", "zeer", "niet", "geen", "mij", "me", "mijn", "ze", "zij",
	  "hij", "als", "dan", "toen", "omdat", "want", "weer", "wel", "graag", "bedankt", "hartelijk",
	  "keurig", "netjes", "prima", "snel", "goed", "top", "dank", NULL },
	{ "the", "a", "an", "and", "of", "i", "you", "your", "we", "our", "is", "was", "are", "were",
	  "have", "has", "had", "been", "with", "for", "on", "at", "to", "from", "that", "this",
	  "these", "there", "also", "still", "but", "very", "really", "not", "no", "my", "me", "they",
	  "he", "she", "it", "if", "then", "when", "because", "again", "thanks", "thank", "great",
	  "good", "nice", "fast", "quick", "friendly", "helpful", "awesome", "excellent", "service",
	  NULL },
};

/* Heads and tails of Dutch customer-service compounds (besides the
 * lexicon's and the taxonomy's one-word terms). */
const char *const text_compound_parts[] = {
	"klant", "klanten", "service", "dienst", "tijd", "wacht", "medewerker", "monteur", "afspraak",
	"factuur", "rekening", "telefoon", "nummer", "lijn", "contract", "abonnement", "prijs",
	"kosten", "levering", "pakket", "bezorg", "bezorging", "app", "website", "site", "mail",
	"bericht", "vraag", "antwoord", "probleem", "oplossing", "storing", "contact", "gesprek",
	"chat", "helpdesk", "hulp", "post", "order", "bestelling", "product", "winkel", "bedrijf",
	"vriendelijk", "snel", "wachten", "betaling", "betaal", "geld", "euro", "dag", "week", "uur",
	"minuut", "keer", "beurt", "bezoek", "reparatie", "installatie", "aansluiting", "internet",
	"account", "login", "wachtwoord", "menu", "keuze", "behandeling", "afhandeling", "nazorg",
	"terugbel", "bel", "belofte", "termijn", "datum", "pakje", NULL,
};
