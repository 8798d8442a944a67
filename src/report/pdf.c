/* pdf.c — the printable report of a breakdown (report.h): A4 landscape,
 * drawn with cairo's PDF surface into memory, text in DejaVu Sans through
 * cairo's toy font API (fontconfig finds the face; UTF-8 throughout, so
 * "één" and "Zoë" print as typed).
 *
 * Layout: page 1 opens with the title, the organisation, the period and
 * the filters in words; every page has the table's header row, and a footer
 * with the generation time and "page i of n". Rows have one height, so the
 * layout is run twice: once to count the pages (nothing drawn), once to draw.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cairo-pdf.h>

#include "core/utf8.h"
#include "report/report.h"

#define PDF_W 841.89   /* A4 landscape, points */
#define PDF_H 595.28
#define PDF_MARGIN 36.0
#define PDF_ROW_H 15.0
#define PDF_HEAD_H 26.0
#define PDF_FOOT 40.0    /* the footer's band above the bottom edge */
#define PDF_FONT "DejaVu Sans"

/* columns after the keys */
enum { PDF_C_N, PDF_C_NPS, PDF_C_INT, PDF_C_BAR, PDF_C_GRADE, PDF_C_CES, PDF_C_COUNT };

typedef struct pdf_ctx {
	cairo_t *cr;
	const report_doc *doc;
	const report_table *t;
	bool draw;            /* false: only count pages */
	int page, pages;
	double y;
	double col_x[8];      /* left edge of each column; [7] the right edge */
	double col_w[PDF_C_COUNT]; /* the measure columns' widths; 0 = left out */
	int n_key_cols;
	bool nomem;           /* a text could not be copied: the PDF fails */
} pdf_ctx;

static const double pdf_col_w[PDF_C_COUNT] = {60, 50, 90, 190, 70, 70};
/* With two key columns the bar gives up this much to them. */
#define PDF_BAR_SHRINK 70.0

typedef enum { PDF_LEFT, PDF_RIGHT, PDF_CENTER } pdf_align;

static void pdf_font(cairo_t *cr, double size, bool bold, bool italic)
{
	cairo_select_font_face(cr, PDF_FONT, italic ? CAIRO_FONT_SLANT_ITALIC : CAIRO_FONT_SLANT_NORMAL,
			       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
}

static double pdf_width(cairo_t *cr, const char *s)
{
	cairo_text_extents_t ex;
	cairo_text_extents(cr, s, &ex);
	return ex.x_advance;
}

/* Cut s (in place, a copy of n bytes) at a character so that it and "…"
 * fit w. */
static void pdf_ellipsize(cairo_t *cr, char *s, size_t n, double w)
{
	if (pdf_width(cr, s) <= w)
		return;
	size_t len = strlen(s);
	while (len > 0) {
		do
			len--;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80);
		if (len + 4 > n)
			continue;
		memcpy(s + len, "\xE2\x80\xA6", 4); /* … */
		if (pdf_width(cr, s) <= w)
			return;
	}
	s[0] = '\0';
}

/* One line of text in the box [x, x + w) on the baseline y. shrink: a
 * text that does not fit is set smaller (down to 5 pt) instead of cut —
 * for "not enough responses", which must be read whole. */
static void pdf_text(pdf_ctx *p, double x, double y, double w, pdf_align al, const char *s, double size,
		     bool bold, bool italic, bool shrink)
{
	if (!p->draw || s == NULL || s[0] == '\0')
		return;
	cairo_t *cr = p->cr;
	pdf_font(cr, size, bold, italic);
	/* The guard of every drawn text: cairo fails the whole surface on one
	 * string that is not valid UTF-8, so a bad byte becomes U+FFFD here.
	 * The copy has room for the ellipsis pdf_ellipsize may put in. */
	char *buf = utf8_clean(s);
	size_t cap = buf ? strlen(buf) + 4 : 0;
	char *grown = buf ? realloc(buf, cap) : NULL;
	if (grown == NULL) {
		free(buf);
		p->nomem = true;
		return;
	}
	buf = grown;
	while (shrink && size > 5.0 && pdf_width(cr, buf) > w) {
		size -= 0.5;
		cairo_set_font_size(cr, size);
	}
	pdf_ellipsize(cr, buf, cap, w);
	double tw = pdf_width(cr, buf);
	double tx = al == PDF_LEFT ? x : al == PDF_RIGHT ? x + w - tw : x + (w - tw) / 2;
	cairo_move_to(cr, tx, y);
	cairo_show_text(cr, buf);
	free(buf);
}

static void pdf_rgb(cairo_t *cr, unsigned rgb)
{
	cairo_set_source_rgb(cr, ((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0, (rgb & 0xFF) / 255.0);
}

static void pdf_rect(pdf_ctx *p, double x, double y, double w, double h, unsigned rgb)
{
	if (!p->draw)
		return;
	pdf_rgb(p->cr, rgb);
	cairo_rectangle(p->cr, x, y, w, h);
	cairo_fill(p->cr);
}

static void pdf_line(pdf_ctx *p, double x0, double y0, double x1, double y1, double width, unsigned rgb)
{
	if (!p->draw)
		return;
	pdf_rgb(p->cr, rgb);
	cairo_set_line_width(p->cr, width);
	cairo_move_to(p->cr, x0, y0);
	cairo_line_to(p->cr, x1, y1);
	cairo_stroke(p->cr);
}

/* One line of a paragraph, in the paragraph's colour. */
static void pdf_para_line(pdf_ctx *p, double x, double y, double w, const char *line, double size, bool italic)
{
	if (p->draw)
		pdf_rgb(p->cr, 0x333333);
	pdf_text(p, x, y, w, PDF_LEFT, line, size, false, italic, false);
}

/* Word-wrap s into lines of width w at size; draws them from baseline y
 * (when drawing) and returns the height used. Every word is kept: the
 * buffers are sized from s. A word wider than a whole line (a name in a
 * script written without spaces) is ellipsized at a character boundary. */
static double pdf_para(pdf_ctx *p, double x, double y, double w, const char *s, double size, bool italic)
{
	cairo_t *cr = p->cr;
	pdf_font(cr, size, false, italic);
	double lead = size * 1.35, used = 0;
	char *text = utf8_clean(s); /* measured below, so checked first */
	size_t cap = text ? strlen(text) + 8 : 0;
	char *line = text ? malloc(cap) : NULL, *trial = text ? malloc(cap) : NULL;
	if (line == NULL || trial == NULL) {
		free(text);
		free(line);
		free(trial);
		p->nomem = true;
		return 0;
	}
	size_t ll = 0;
	line[0] = '\0';
	const char *q = text;
	while (*q == ' ')
		q++;
	while (*q) {
		const char *sp = strchr(q, ' ');
		size_t wl = sp ? (size_t)(sp - q) : strlen(q), tl = ll;
		memcpy(trial, line, ll);
		if (ll)
			trial[tl++] = ' ';
		memcpy(trial + tl, q, wl);
		tl += wl;
		trial[tl] = '\0';
		if (ll && pdf_width(cr, trial) > w) {
			pdf_para_line(p, x, y + used, w, line, size, italic);
			pdf_font(cr, size, false, italic);
			used += lead;
			memcpy(line, q, wl);
			line[wl] = '\0';
			ll = wl;
		} else {
			memcpy(line, trial, tl + 1);
			ll = tl;
		}
		if (pdf_width(cr, line) > w) { /* one word alone that does not fit */
			pdf_ellipsize(cr, line, cap, w);
			ll = strlen(line);
		}
		q += wl;
		while (*q == ' ')
			q++;
	}
	if (ll) {
		pdf_para_line(p, x, y + used, w, line, size, italic);
		used += lead;
	}
	free(text);
	free(line);
	free(trial);
	return used;
}

/* A number as the reply prints it, with a decimal comma in Dutch. */
static void pdf_num(report_lang lang, double v, int decimals, char *out, size_t n)
{
	snprintf(out, n, "%.*f", decimals, v);
	if (lang == REPORT_NL) {
		char *dot = strchr(out, '.');
		if (dot)
			*dot = ',';
	}
}

static void pdf_columns(pdf_ctx *p)
{
	double keys = PDF_W - 2 * PDF_MARGIN;
	for (int i = 0; i < PDF_C_COUNT; i++) {
		/* measures=nps: grade and CES were not counted — no column rather
		 * than one of dashes that would read "no answers" */
		bool out = p->doc->nps_only && (i == PDF_C_GRADE || i == PDF_C_CES);
		p->col_w[i] = out ? 0 : pdf_col_w[i];
		keys -= p->col_w[i];
	}
	p->n_key_cols = p->t->n_dims > 1 ? 2 : 1;
	if (p->n_key_cols == 2)
		keys += PDF_BAR_SHRINK;
	double x = PDF_MARGIN;
	p->col_x[0] = x;
	x += keys / p->n_key_cols;
	p->col_x[1] = p->n_key_cols == 2 ? x : p->col_x[0];
	if (p->n_key_cols == 2)
		x += keys / 2;
	/* col_x[2 + c]: the measure columns; col_x[1] = col_x[0] with one key column */
	for (int c = 0; c < PDF_C_COUNT; c++) {
		p->col_x[2 + c] = x;
		x += p->col_w[c] - (c == PDF_C_BAR && p->n_key_cols == 2 ? PDF_BAR_SHRINK : 0);
	}
}

static double pdf_cx(const pdf_ctx *p, int c)
{
	return c == PDF_C_COUNT ? PDF_W - PDF_MARGIN : p->col_x[2 + c];
}

static void pdf_footer(pdf_ctx *p)
{
	const report_doc *d = p->doc;
	double y = PDF_H - PDF_FOOT + 18;
	pdf_line(p, PDF_MARGIN, y - 11, PDF_W - PDF_MARGIN, y - 11, 0.5, 0xBBBBBB);
	char left[256], right[64];
	snprintf(left, sizeof left, "%s %s", report_label(d->lang, "generated"), d->generated ? d->generated : "");
	report_page_words(d->lang, p->page, p->pages, right, sizeof right);
	if (p->draw)
		pdf_rgb(p->cr, 0x555555);
	double third = (PDF_W - 2 * PDF_MARGIN) / 3;
	pdf_text(p, PDF_MARGIN, y, third * 1.4, PDF_LEFT, left, 7.5, false, false, false);
	pdf_text(p, PDF_MARGIN + third * 1.4, y, third * 0.8, PDF_CENTER, d->org_name, 7.5, false, false, false);
	pdf_text(p, PDF_W - PDF_MARGIN - third * 0.8, y, third * 0.8, PDF_RIGHT, right, 7.5, false, false, false);
}

/* The table's header row at p->y. */
static void pdf_table_head(pdf_ctx *p)
{
	const report_doc *d = p->doc;
	const report_table *t = p->t;
	double y = p->y;
	pdf_rect(p, PDF_MARGIN, y, PDF_W - 2 * PDF_MARGIN, PDF_HEAD_H, 0xDCE6EE);
	if (p->draw)
		pdf_rgb(p->cr, 0x102A43);
	double base = y + 16;
	for (int k = 0; k < p->n_key_cols; k++) {
		double w = (k + 1 < p->n_key_cols ? p->col_x[k + 1] : pdf_cx(p, 0)) - p->col_x[k] - 6;
		const char *lab = t->n_dims ? report_label(d->lang, t->dim[k]) : "";
		pdf_text(p, p->col_x[k] + 4, base, w, PDF_LEFT, lab, 8.5, true, false, false);
	}
	static const char *const labs[] = {"col.n", "col.nps", "col.interval", "col.bar", "col.grade", "col.ces"};
	for (int c = 0; c < PDF_C_COUNT; c++) {
		double x0 = pdf_cx(p, c), w = pdf_cx(p, c + 1) - x0 - 8;
		if (p->col_w[c] <= 0)
			continue;
		pdf_text(p, x0 + 4, base, w, c == PDF_C_BAR ? PDF_CENTER : PDF_RIGHT, report_label(d->lang, labs[c]),
			 8.5, true, false, true);
	}
	p->y += PDF_HEAD_H;
}

/* The NPS bar: -100..100 with zero in the middle, the interval as a
 * whisker over the bar. */
static void pdf_bar(pdf_ctx *p, double y, const report_measure *m)
{
	double x0 = pdf_cx(p, PDF_C_BAR) + 8, x1 = pdf_cx(p, PDF_C_BAR + 1) - 8;
	double mid = (x0 + x1) / 2, half = (x1 - x0) / 2;
	pdf_line(p, mid, y + 1.5, mid, y + PDF_ROW_H - 1.5, 0.6, 0x888888);
	if (m->state != REPORT_SHOWN)
		return;
	double v = m->value < -100 ? -100 : m->value > 100 ? 100 : m->value;
	double bx = v >= 0 ? mid : mid + v / 100 * half, bw = (v >= 0 ? v : -v) / 100 * half;
	pdf_rect(p, bx, y + 4, bw < 0.8 ? 0.8 : bw, PDF_ROW_H - 8, v >= 0 ? 0x2E8B57 : 0xC0504D);
	double lo = mid + m->low / 100 * half, hi = mid + m->high / 100 * half;
	double cy = y + PDF_ROW_H / 2;
	pdf_line(p, lo, cy, hi, cy, 0.8, 0x222222);
	pdf_line(p, lo, cy - 3, lo, cy + 3, 0.8, 0x222222);
	pdf_line(p, hi, cy - 3, hi, cy + 3, 0.8, 0x222222);
}

/* One row (a group or the total) at p->y. */
static void pdf_row(pdf_ctx *p, const report_row *r, bool total, bool shade)
{
	const report_doc *d = p->doc;
	double y = p->y, base = y + 10.8;
	report_lang lang = d->lang;
	if (shade)
		pdf_rect(p, PDF_MARGIN, y, PDF_W - 2 * PDF_MARGIN, PDF_ROW_H, 0xF4F7F9);
	if (total)
		pdf_line(p, PDF_MARGIN, y, PDF_W - PDF_MARGIN, y, 1.0, 0x102A43);
	if (p->draw)
		pdf_rgb(p->cr, 0x1A1A1A);
	for (int k = 0; k < p->n_key_cols; k++) {
		double w = (k + 1 < p->n_key_cols ? p->col_x[k + 1] : pdf_cx(p, 0)) - p->col_x[k] - 8;
		char key[512];
		report_value_words(lang, d->theme_labels, p->t->dim[k], r->key[k], key, sizeof key);
		const char *s = total ? (k == 0 ? report_label(lang, "total") : "")
				      : key[0] ? key : report_label(lang, "none");
		pdf_text(p, p->col_x[k] + 4, base, w, PDF_LEFT, s, 8, total, false, false);
	}
	char s[64];
	snprintf(s, sizeof s, "%lld", (long long)r->n);
	pdf_text(p, pdf_cx(p, PDF_C_N), base, p->col_w[PDF_C_N] - 8, PDF_RIGHT, s, 8, total, false, false);
	const char *hidden = report_label(lang, "hidden");
	if (r->insufficient) {
		double x0 = pdf_cx(p, PDF_C_NPS) + 8, w = pdf_cx(p, PDF_C_COUNT) - x0 - 4;
		if (p->draw)
			pdf_rgb(p->cr, 0x7A5C00);
		pdf_text(p, x0, base, w, PDF_CENTER, hidden, 8, false, true, true);
		return;
	}
	const report_measure *nps = &r->m[REPORT_M_NPS];
	if (nps->state == REPORT_HIDDEN) {
		double x0 = pdf_cx(p, PDF_C_NPS) + 4, w = pdf_cx(p, PDF_C_GRADE) - x0 - 8;
		if (p->draw)
			pdf_rgb(p->cr, 0x7A5C00);
		pdf_text(p, x0, base, w, PDF_CENTER, hidden, 8, false, true, true);
	} else {
		pdf_bar(p, y, nps);
		if (p->draw)
			pdf_rgb(p->cr, 0x1A1A1A);
		if (nps->state == REPORT_SHOWN) {
			pdf_num(lang, nps->value, 1, s, sizeof s);
			pdf_text(p, pdf_cx(p, PDF_C_NPS), base, p->col_w[PDF_C_NPS] - 8, PDF_RIGHT, s, 8, true, false, false);
			char lo[24], hi[24];
			pdf_num(lang, nps->low, 1, lo, sizeof lo);
			pdf_num(lang, nps->high, 1, hi, sizeof hi);
			snprintf(s, sizeof s, "%s \xE2\x80\x93 %s", lo, hi);
			pdf_text(p, pdf_cx(p, PDF_C_INT), base, p->col_w[PDF_C_INT] - 8, PDF_RIGHT, s, 8, false, false, false);
		} else {
			pdf_text(p, pdf_cx(p, PDF_C_NPS), base, p->col_w[PDF_C_NPS] - 8, PDF_RIGHT, "\xE2\x80\x93", 8, false, false, false);
		}
	}
	const int cols[] = {PDF_C_GRADE, PDF_C_CES}, ms[] = {REPORT_M_GRADE, REPORT_M_CES};
	for (int i = 0; i < 2; i++) {
		const report_measure *m = &r->m[ms[i]];
		double x0 = pdf_cx(p, cols[i]), w = p->col_w[cols[i]] - 8;
		if (p->col_w[cols[i]] <= 0)
			continue;
		if (p->draw)
			pdf_rgb(p->cr, m->state == REPORT_HIDDEN ? 0x7A5C00 : 0x1A1A1A);
		if (m->state == REPORT_HIDDEN) {
			pdf_text(p, x0 + 2, base, w, PDF_RIGHT, hidden, 8, false, true, true);
			continue;
		}
		if (m->state == REPORT_SHOWN)
			pdf_num(lang, m->value, 2, s, sizeof s);
		else
			snprintf(s, sizeof s, "\xE2\x80\x93");
		pdf_text(p, x0, base, w, PDF_RIGHT, s, 8, total, false, false);
	}
}

/* The first page's heading; returns the y below it. */
static double pdf_heading(pdf_ctx *p)
{
	const report_doc *d = p->doc;
	const report_table *t = p->t;
	report_lang lang = d->lang;
	double y = PDF_MARGIN + 18, w = PDF_W - 2 * PDF_MARGIN;
	char title[256], buf[1024];
	report_title(lang, t, title, sizeof title);
	if (p->draw)
		pdf_rgb(p->cr, 0x102A43);
	pdf_text(p, PDF_MARGIN, y, w, PDF_LEFT, title, 18, true, false, false);
	y += 18;
	if (d->org_name && d->org_name[0]) {
		if (p->draw)
			pdf_rgb(p->cr, 0x333333);
		pdf_text(p, PDF_MARGIN, y, w, PDF_LEFT, d->org_name, 12, false, false, false);
		y += 18;
	}
	char period[96], window[160];
	report_period_words(lang, t->period, period, sizeof period);
	report_window_words(lang, t, window, sizeof window);
	if (strcmp(period, window) == 0)
		snprintf(buf, sizeof buf, "%s: %s", report_label(lang, "period"), period);
	else
		snprintf(buf, sizeof buf, "%s: %s (%s)", report_label(lang, "period"), period, window);
	y += pdf_para(p, PDF_MARGIN, y, w, buf, 9.5, false);
	if (d->nps_only) {
		snprintf(buf, sizeof buf, "%s: %s", report_label(lang, "measures"), report_label(lang, "nps_only"));
		y += pdf_para(p, PDF_MARGIN, y, w, buf, 9.5, false);
	}
	/* the filters in words: a buffer sized from them, so no name is cut */
	const char *lab = report_label(lang, "filters"), *none = report_label(lang, "no_filters");
	size_t cap = strlen(lab) + strlen(none) + 8;
	for (size_t i = 0; i < d->n_filters; i++)
		cap += strlen(report_label(lang, d->filters[i].key)) + strlen(d->filters[i].value) + 8;
	char *fl = malloc(cap);
	if (fl == NULL) {
		p->nomem = true;
		return y + 4;
	}
	size_t used = 0;
	fl[0] = '\0';
	utf8_append(fl, cap, &used, lab);
	utf8_append(fl, cap, &used, ": ");
	if (d->n_filters == 0)
		utf8_append(fl, cap, &used, none);
	for (size_t i = 0; i < d->n_filters; i++) {
		if (i)
			utf8_append(fl, cap, &used, "; ");
		utf8_append(fl, cap, &used, report_label(lang, d->filters[i].key));
		utf8_append(fl, cap, &used, ": ");
		utf8_append(fl, cap, &used, d->filters[i].value);
	}
	y += pdf_para(p, PDF_MARGIN, y, w, fl, 9.5, false);
	free(fl);
	return y + 4;
}

static void pdf_new_page(pdf_ctx *p)
{
	pdf_footer(p);
	if (p->draw)
		cairo_show_page(p->cr);
	p->page++;
	p->y = PDF_MARGIN;
	char title[256];
	report_title(p->doc->lang, p->t, title, sizeof title);
	if (p->draw)
		pdf_rgb(p->cr, 0x555555);
	pdf_text(p, PDF_MARGIN, p->y + 8, PDF_W - 2 * PDF_MARGIN, PDF_LEFT, title, 8, false, true, false);
	p->y += 16;
	pdf_table_head(p);
}

/* The whole document; returns the number of pages. */
static int pdf_layout(pdf_ctx *p)
{
	const report_doc *d = p->doc;
	double bottom = PDF_H - PDF_FOOT - 6;
	p->page = 1;
	p->y = pdf_heading(p);
	pdf_table_head(p);
	for (size_t i = 0; i <= p->t->n_rows; i++) {
		if (p->y + PDF_ROW_H > bottom)
			pdf_new_page(p);
		bool total = i == p->t->n_rows;
		pdf_row(p, total ? &p->t->total : &p->t->rows[i], total, !total && i % 2 == 1);
		p->y += PDF_ROW_H;
	}
	/* the notes: measured without drawing first, kept on one page */
	char rule[1024];
	report_min_n_words(d->lang, d->min_n, d->min_n_person, rule, sizeof rule);
	bool draw = p->draw;
	p->draw = false;
	double w = PDF_W - 2 * PDF_MARGIN;
	double need = 14 + pdf_para(p, PDF_MARGIN, 0, w, report_label(d->lang, "interval_note"), 8, true) +
		      pdf_para(p, PDF_MARGIN, 0, w, rule, 8, true);
	p->draw = draw;
	if (p->y + need > bottom) {
		pdf_footer(p);
		if (p->draw)
			cairo_show_page(p->cr);
		p->page++;
		p->y = PDF_MARGIN;
	}
	p->y += 14;
	p->y += pdf_para(p, PDF_MARGIN, p->y, w, report_label(d->lang, "interval_note"), 8, true);
	p->y += pdf_para(p, PDF_MARGIN, p->y, w, rule, 8, true);
	pdf_footer(p);
	if (p->draw)
		cairo_show_page(p->cr);
	return p->page;
}

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int len)
{
	return buf_append(closure, data, len) == KS_OK ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

ks_err report_pdf(const report_doc *d, ks_buf *out, ks_error *e)
{
	report_table t;
	buf_init(out, 64u << 20);
	ks_err err = report_table_read(d->reply, &t, e);
	if (err)
		return err;
	cairo_surface_t *sf = cairo_pdf_surface_create_for_stream(pdf_write, out, PDF_W, PDF_H);
	cairo_t *cr = cairo_create(sf);
	char title[256];
	report_title(d->lang, &t, title, sizeof title);
	cairo_pdf_surface_set_metadata(sf, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(sf, CAIRO_PDF_METADATA_CREATOR, "klantstem");
	pdf_ctx p = {.cr = cr, .doc = d, .t = &t};
	pdf_columns(&p);
	p.pages = pdf_layout(&p); /* counting pass */
	p.draw = true;
	pdf_layout(&p);
	cairo_status_t st = p.nomem ? CAIRO_STATUS_NO_MEMORY : cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_finish(sf);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(sf);
	cairo_surface_destroy(sf);
	report_table_free(&t);
	if (st != CAIRO_STATUS_SUCCESS) {
		bool big = out->len > 0 && st == CAIRO_STATUS_WRITE_ERROR;
		buf_free(out);
		ks_err code = big ? KS_ERR_TOOBIG : st == CAIRO_STATUS_NO_MEMORY ? KS_ERR_NOMEM : KS_ERR_INTERNAL;
		return ks_fail(e, code, NULL, "the PDF could not be made: %s",
			       cairo_status_to_string(st));
	}
	return KS_OK;
}
