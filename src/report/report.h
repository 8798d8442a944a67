/* report.h — a breakdown as a file: the printable report (PDF, cairo) and the
 * spreadsheet (XLSX, libxlsxwriter) of one GET /api/v1/metrics reply (issue 17,
 * part X; docs/GOVERNANCE.md "Reports and exports").
 *
 * The input is the reply itself, after disclosure control (api_metrics_reply):
 * this module never sees a count that the reply does not print, so a cell the
 * reply hides is hidden in the file too — it is printed as "te weinig
 * reacties" / "not enough responses" and, in the spreadsheet, left empty with
 * the reason in the note column. Labels come from a small table here in both
 * languages (not from the web UI's i18n).
 *
 * Thread safety: report_pdf and report_xlsx may run on several threads at
 * once (each has its own surface and workbook); report_global_init must have
 * run before the first, report_global_cleanup after the last.
 */
#ifndef KS_REPORT_H
#define KS_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"

typedef enum report_lang { REPORT_NL = 0, REPORT_EN = 1 } report_lang;

/* "nl" / "en" into *out; false for anything else (NULL included). */
bool report_lang_parse(const char *s, report_lang *out);

/* One line of the filter "in words": a label key of the table below
 * (report_label: "team_id", "channel", "attr.tier"...) and its value as
 * it should read ("Team Noord", "phone"). Both borrowed. */
typedef struct report_filter {
	const char *key;
	const char *value;
} report_filter;

/* What a report shows besides the reply. Every pointer is borrowed. */
typedef struct report_doc {
	const json_t *reply;          /* the /metrics reply: total, filter, group_by, rows */
	report_lang lang;
	const char *org_name;         /* the organisation's name ("" = none) */
	const char *generated;        /* the generation time, local: "2026-12-07 11:32 (Europe/Amsterdam)" */
	const report_filter *filters; /* the filters other than the period, in order */
	size_t n_filters;
	int64_t min_n;                /* the group threshold (5) */
	int64_t min_n_person;         /* one person's (10) */
	const json_t *theme_labels;   /* {"<theme id>":{"nl","en"}} of the taxonomy; NULL = ids */
	bool nps_only;                /* measures=nps: grade and CES were not counted, so their
				       * columns are left out (an empty one would read "no answers") */
} report_doc;

/* The PDF (A4 landscape): title, organisation, period and filters in words,
 * a table with one row per group and the total, NPS with its interval and
 * a bar, page breaks with the header repeated, page numbers and a footer
 * with the generation time. out is initialised here and the caller's
 * (buf_free) on success; left empty on failure. */
ks_err report_pdf(const report_doc *d, ks_buf *out, ks_error *e);

/* The XLSX: sheet 1 the table (figures as numbers with a number format,
 * hidden cells empty with the reason in the note column, header row
 * frozen), sheet 2 "Over"/"About" (organisation, period, filters, the
 * minimum-n rule, generation time). tmpdir: where libxlsxwriter may write
 * its file (it cannot write to memory); the file is removed before the
 * return. out as for report_pdf. */
ks_err report_xlsx(const report_doc *d, const char *tmpdir, ks_buf *out, ks_error *e);

/* The label of key in lang: a fixed text of the reports ("title", "col.n",
 * "hidden" ...), a dimension ("team", "month") or a filter parameter
 * ("team_id", "channel"); an unknown key is returned as it is (attr.<key>:
 * the key after "attr."). Never NULL. */
const char *report_label(report_lang lang, const char *key);

/* A group's key or a filter's value of dimension dim as a reader says it,
 * as the web UI names them: a theme by its label in lang (theme_labels as
 * in report_doc; the id without one), a sentiment ("Negatief"), a
 * newsletter or login band value ("ja", "geen logins", "4-10 logins"),
 * "onbekend" / "overig" of an attribute; anything else as it is. */
void report_value_words(report_lang lang, const json_t *theme_labels, const char *dim, const char *value,
			char *out, size_t n);

/* The period label of a reply's filter ("2026", "2026-Q4", "2026-11",
 * "2026-W49", "2026-11-05", "last_30d", "" or NULL = all time) in words:
 * "november 2026", "4e kwartaal 2026", "laatste 30 dagen"... into out. */
void report_period_words(report_lang lang, const char *label, char *out, size_t n);

/* Every string handed to cairo or libxlsxwriter is cut with utf8_copy /
 * utf8_append and checked with utf8_clean (core/utf8.h): both libraries
 * refuse or corrupt a string that is not valid UTF-8 (cairo fails the whole
 * PDF, libxlsxwriter writes it into the XML and the workbook does not open). */

/* Set-up once before any thread renders (fontconfig's configuration),
 * and the release of the libraries' static caches at exit, after the last
 * render (so LeakSanitizer sees none of them). */
void report_global_init(void);
void report_global_cleanup(void);

/* ---- the table both files print (report.c) ---- */

enum { REPORT_M_NPS, REPORT_M_GRADE, REPORT_M_CES, REPORT_M_COUNT };

/* One measure of one row: shown (value, and for NPS low/high), hidden by
 * disclosure control, or without answers. */
typedef enum report_state { REPORT_ABSENT = 0, REPORT_SHOWN, REPORT_HIDDEN } report_state;

typedef struct report_measure {
	report_state state;
	double value, low, high;      /* low/high: NPS only */
	int64_t n;
} report_measure;

typedef struct report_row {
	char key[2][512];             /* the group's names (UTF-8; a name is at most 500 bytes) */
	int64_t n;
	bool insufficient;            /* the whole row: "not enough responses" */
	report_measure m[REPORT_M_COUNT];
} report_row;

typedef struct report_table {
	int n_dims;
	char dim[2][48];              /* "team", "month", "attr.tier" */
	size_t n_rows;
	report_row *rows;             /* n_rows; owned (report_table_free) */
	report_row total;             /* key[0] = "" */
	char period[24];              /* the filter's period label ("" = all time) */
	char from[40], to[40];        /* the filter's local times ("" = open) */
} report_table;

/* Read the rows of a /metrics reply. KS_ERR_INVALID when it is not one. */
ks_err report_table_read(const json_t *reply, report_table *t, ks_error *e);
void report_table_free(report_table *t);
/* The note of a row (the reason its cells are empty): "" when none. */
void report_row_note(report_lang lang, const report_row *r, char *out, size_t n);
/* The title: "Scores per team en maand" / "Scores by team and month". */
void report_title(report_lang lang, const report_table *t, char *out, size_t n);
/* "Pagina 2 van 3" / "Page 2 of 3". */
void report_page_words(report_lang lang, int page, int pages, char *out, size_t n);
/* The minimum-n rule in a sentence or two. */
void report_min_n_words(report_lang lang, int64_t min_n, int64_t min_n_person, char *out, size_t n);
/* The window in words: "1 november 2026 t/m 30 november 2026" ("" = all time). */
void report_window_words(report_lang lang, const report_table *t, char *out, size_t n);

#endif
