/* xlsx.c — the spreadsheet of a breakdown (report.h), with libxlsxwriter.
 *
 * Figures are numbers with a number format (a spreadsheet can sum and
 * chart them); a hidden or absent figure is an empty cell, never a zero,
 * and the note column says why. libxlsxwriter 1.1 writes only to a named
 * file: a private one from mkstemp in tmpdir, read back and removed here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "core/utf8.h"
#include "report/report.h"

typedef struct xlsx_fmt {
	lxw_format *head, *bold, *n, *one, *two, *note, *label, *wrap, *title;
} xlsx_fmt;

static void xlsx_formats(lxw_workbook *wb, xlsx_fmt *f)
{
	f->head = workbook_add_format(wb);
	format_set_bold(f->head);
	format_set_bg_color(f->head, 0xDCE6EE);
	format_set_bottom(f->head, LXW_BORDER_THIN);
	format_set_text_wrap(f->head);
	f->bold = workbook_add_format(wb);
	format_set_bold(f->bold);
	f->n = workbook_add_format(wb);
	format_set_num_format(f->n, "0");
	f->one = workbook_add_format(wb);
	format_set_num_format(f->one, "0.0");
	f->two = workbook_add_format(wb);
	format_set_num_format(f->two, "0.00");
	f->note = workbook_add_format(wb);
	format_set_italic(f->note);
	format_set_font_color(f->note, 0x7A5C00);
	f->label = workbook_add_format(wb);
	format_set_bold(f->label);
	format_set_align(f->label, LXW_ALIGN_VERTICAL_TOP);
	f->wrap = workbook_add_format(wb);
	format_set_text_wrap(f->wrap);
	format_set_align(f->wrap, LXW_ALIGN_VERTICAL_TOP);
	f->title = workbook_add_format(wb);
	format_set_bold(f->title);
	format_set_font_size(f->title, 14);
}

/* Every text cell goes through here: libxlsxwriter writes a string into
 * the sheet's XML as it is, so one that is not valid UTF-8 makes a workbook
 * that does not open. A bad byte becomes U+FFFD. false: out of memory. */
static bool xlsx_str(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s, lxw_format *f)
{
	char *clean = utf8_clean(s);
	if (clean == NULL)
		return false;
	worksheet_write_string(ws, r, c, clean, f);
	free(clean);
	return true;
}

/* The columns after the keys. */
enum { XC_N, XC_NPS, XC_LOW, XC_HIGH, XC_NPS_N, XC_GRADE, XC_GRADE_N, XC_CES, XC_CES_N, XC_NOTE, XC_COUNT };

/* Where each column goes, after the key columns; -1 = left out (measures=nps:
 * grade and CES were not counted, and an empty column would read "no
 * answers"). Returns the number of columns. */
static int xlsx_layout(const report_doc *d, int pos[XC_COUNT])
{
	int k = 0;
	for (int c = 0; c < XC_COUNT; c++) {
		bool out = d->nps_only && c >= XC_GRADE && c <= XC_CES_N;
		pos[c] = out ? -1 : k++;
	}
	return k;
}

static void xlsx_num(lxw_worksheet *ws, lxw_row_t r, lxw_col_t c0, int pos, bool shown, double v, lxw_format *f)
{
	if (shown && pos >= 0) /* else the cell stays empty: no number stands for a hidden one */
		worksheet_write_number(ws, r, c0 + (lxw_col_t)pos, v, f);
}

static bool xlsx_row(lxw_worksheet *ws, const report_doc *d, const report_table *t, lxw_row_t r,
		     const report_row *row, bool total, const xlsx_fmt *f)
{
	int pos[XC_COUNT];
	xlsx_layout(d, pos);
	bool ok = true;
	int kc = t->n_dims > 0 ? t->n_dims : 1;
	for (int k = 0; k < kc; k++) {
		char key[512];
		report_value_words(d->lang, d->theme_labels, t->dim[k], row->key[k], key, sizeof key);
		const char *s = total ? (k == 0 ? report_label(d->lang, "total") : "")
				      : key[0] ? key : report_label(d->lang, "none");
		if (s[0])
			ok = xlsx_str(ws, r, (lxw_col_t)k, s, total ? f->bold : NULL) && ok;
	}
	lxw_col_t c0 = (lxw_col_t)kc;
	worksheet_write_number(ws, r, c0 + XC_N, (double)row->n, f->n);
	const report_measure *nps = &row->m[REPORT_M_NPS], *g = &row->m[REPORT_M_GRADE], *c = &row->m[REPORT_M_CES];
	bool ns = nps->state == REPORT_SHOWN, gs = g->state == REPORT_SHOWN, cs = c->state == REPORT_SHOWN;
	xlsx_num(ws, r, c0, pos[XC_NPS], ns, nps->value, f->one);
	xlsx_num(ws, r, c0, pos[XC_LOW], ns, nps->low, f->one);
	xlsx_num(ws, r, c0, pos[XC_HIGH], ns, nps->high, f->one);
	xlsx_num(ws, r, c0, pos[XC_NPS_N], ns, (double)nps->n, f->n);
	xlsx_num(ws, r, c0, pos[XC_GRADE], gs, g->value, f->two);
	xlsx_num(ws, r, c0, pos[XC_GRADE_N], gs, (double)g->n, f->n);
	xlsx_num(ws, r, c0, pos[XC_CES], cs, c->value, f->two);
	xlsx_num(ws, r, c0, pos[XC_CES_N], cs, (double)c->n, f->n);
	char note[160];
	report_row_note(d->lang, row, note, sizeof note);
	if (note[0])
		ok = xlsx_str(ws, r, c0 + (lxw_col_t)pos[XC_NOTE], note, f->note) && ok;
	return ok;
}

static bool xlsx_table(lxw_workbook *wb, const report_doc *d, const report_table *t, const xlsx_fmt *f)
{
	int pos[XC_COUNT];
	int n_cols = xlsx_layout(d, pos);
	bool ok = true;
	lxw_worksheet *ws = workbook_add_worksheet(wb, report_label(d->lang, "sheet.table"));
	int kc = t->n_dims > 0 ? t->n_dims : 1;
	for (int k = 0; k < kc; k++) {
		if (t->n_dims) /* else the column holds only the word "total" */
			ok = xlsx_str(ws, 0, (lxw_col_t)k, report_label(d->lang, t->dim[k]), f->head) && ok;
		else
			worksheet_write_blank(ws, 0, (lxw_col_t)k, f->head);
		worksheet_set_column(ws, (lxw_col_t)k, (lxw_col_t)k, 30, NULL);
	}
	static const char *const labs[XC_COUNT] = {"col.n", "col.nps", "col.nps_low", "col.nps_high", "col.nps_n",
						   "col.grade", "col.grade_n", "col.ces", "col.ces_n", "col.note"};
	lxw_col_t c0 = (lxw_col_t)kc;
	for (int c = 0; c < XC_COUNT; c++)
		if (pos[c] >= 0)
			worksheet_write_string(ws, 0, c0 + (lxw_col_t)pos[c], report_label(d->lang, labs[c]), f->head);
	lxw_col_t note = c0 + (lxw_col_t)pos[XC_NOTE];
	worksheet_set_column(ws, c0, note - 1, 12, NULL);
	worksheet_set_column(ws, note, note, 40, NULL);
	worksheet_freeze_panes(ws, 1, 0);
	for (size_t i = 0; i < t->n_rows; i++)
		ok = xlsx_row(ws, d, t, (lxw_row_t)(i + 1), &t->rows[i], false, f) && ok;
	ok = xlsx_row(ws, d, t, (lxw_row_t)(t->n_rows + 1), &t->total, true, f) && ok;
	worksheet_autofilter(ws, 0, 0, (lxw_row_t)t->n_rows, c0 + (lxw_col_t)(n_cols - 1));
	return ok;
}

static bool xlsx_about_line(lxw_worksheet *ws, lxw_row_t *r, const char *label, const char *value,
			    const xlsx_fmt *f)
{
	bool ok = xlsx_str(ws, *r, 0, label, f->label);
	ok = xlsx_str(ws, *r, 1, value, f->wrap) && ok;
	(*r)++;
	return ok;
}

static bool xlsx_about(lxw_workbook *wb, const report_doc *d, const report_table *t, const xlsx_fmt *f)
{
	report_lang lang = d->lang;
	lxw_worksheet *ws = workbook_add_worksheet(wb, report_label(lang, "sheet.about"));
	worksheet_set_column(ws, 0, 0, 30, NULL);
	worksheet_set_column(ws, 1, 1, 100, NULL);
	char buf[1024];
	bool ok = true;
	report_title(lang, t, buf, sizeof buf);
	ok = xlsx_str(ws, 0, 0, buf, f->title) && ok;
	lxw_row_t r = 2;
	if (d->org_name && d->org_name[0])
		ok = ok && xlsx_about_line(ws, &r, report_label(lang, "organisation_name"), d->org_name, f);
	report_period_words(lang, t->period, buf, sizeof buf);
	ok = ok && xlsx_about_line(ws, &r, report_label(lang, "period"), buf, f);
	report_window_words(lang, t, buf, sizeof buf);
	ok = ok && xlsx_about_line(ws, &r, report_label(lang, "window"), buf, f);
	if (d->nps_only)
		ok = ok && xlsx_about_line(ws, &r, report_label(lang, "measures"), report_label(lang, "nps_only"), f);
	if (d->n_filters == 0)
		ok = ok && xlsx_about_line(ws, &r, report_label(lang, "filters"), report_label(lang, "no_filters"), f);
	for (size_t i = 0; i < d->n_filters; i++)
		ok = ok && xlsx_about_line(ws, &r, report_label(lang, d->filters[i].key), d->filters[i].value, f);
	report_min_n_words(lang, d->min_n, d->min_n_person, buf, sizeof buf);
	ok = ok && xlsx_about_line(ws, &r, report_label(lang, "min_n"), buf, f);
	worksheet_set_row(ws, r - 1, 45, NULL);
	ok = ok && xlsx_about_line(ws, &r, report_label(lang, "col.interval"), report_label(lang, "interval_note"), f);
	ok = ok && xlsx_about_line(ws, &r, report_label(lang, "generated"), d->generated ? d->generated : "", f);
	return ok;
}

/* The whole file at path into out. */
static ks_err xlsx_slurp(const char *path, ks_buf *out, ks_error *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int en = errno;
		if (fd >= 0)
			close(fd);
		return ks_fail(e, KS_ERR_IO, NULL, "cannot read the spreadsheet back: %s", strerror(en));
	}
	ks_err err = KS_OK;
	char chunk[65536];
	for (;;) {
		ssize_t k = read(fd, chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			err = ks_fail(e, KS_ERR_IO, NULL, "cannot read the spreadsheet back: %s", strerror(errno));
			break;
		}
		if (k == 0)
			break;
		if (buf_append(out, chunk, (size_t)k) != KS_OK) {
			err = ks_fail(e, KS_ERR_TOOBIG, NULL, "the spreadsheet is too large");
			break;
		}
	}
	close(fd);
	return err;
}

ks_err report_xlsx(const report_doc *d, const char *tmpdir, ks_buf *out, ks_error *e)
{
	report_table t;
	buf_init(out, 64u << 20);
	ks_err err = report_table_read(d->reply, &t, e);
	if (err)
		return err;
	char path[512], dir[400];
	snprintf(dir, sizeof dir, "%s", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
	snprintf(path, sizeof path, "%s/klantstem-xlsx-XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd < 0) {
		report_table_free(&t);
		return ks_fail(e, KS_ERR_IO, NULL, "cannot create a temporary file in %s: %s", dir, strerror(errno));
	}
	close(fd); /* libxlsxwriter opens it by name (and truncates it) */
	lxw_workbook_options opt = {.constant_memory = LXW_FALSE, .tmpdir = dir};
	lxw_workbook *wb = workbook_new_opt(path, &opt);
	if (wb == NULL) {
		unlink(path);
		report_table_free(&t);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "cannot start the spreadsheet");
	}
	char title[256];
	report_title(d->lang, &t, title, sizeof title);
	char *company = utf8_clean(d->org_name);
	char *ctitle = utf8_clean(title);
	lxw_doc_properties props = {.title = ctitle, .company = company, .comments = (char *)"klantstem"};
	if (company && ctitle)
		workbook_set_properties(wb, &props);
	xlsx_fmt f;
	xlsx_formats(wb, &f);
	bool ok = company && ctitle;
	ok = xlsx_table(wb, d, &t, &f) && ok;
	ok = xlsx_about(wb, d, &t, &f) && ok;
	lxw_error lerr = workbook_close(wb); /* frees wb whatever it returns */
	free(company);
	free(ctitle);
	if (!ok)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	else if (lerr != LXW_NO_ERROR)
		err = ks_fail(e, KS_ERR_IO, NULL, "the spreadsheet could not be written: %s", lxw_strerror(lerr));
	if (!err)
		err = xlsx_slurp(path, out, e);
	unlink(path);
	report_table_free(&t);
	if (err)
		buf_free(out);
	return err;
}
