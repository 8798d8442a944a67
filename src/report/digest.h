/* digest.h — the text of a scheduled digest (issue 17, part D): a subject,
 * a plain-text part and an HTML part, in Dutch or English, from what
 * src/api/api_digest.c gathered for one person and one period.
 *
 * Owner: src/report/digest.c. Pure: no I/O, no clock, nothing kept after a
 * call. Every figure arrives already through disclosure control: a hidden
 * or too-small cell arrives as null and is printed as "not enough answers",
 * never as a number, so nothing here can leak what the caller withheld.
 * Every dynamic text is HTML-escaped in the HTML part (buf_html); control
 * characters become spaces in the subject.
 *
 * The content (a JSON object, borrowed):
 *   "role"        employee | team_lead | manager | director
 *   "period"      "2026-W49" | "2026-11"; "from", "to": its first and last
 *                 local day ("2026-11-30", "2026-12-06")
 *   "name"        the recipient's name; "scope": the unit's name or null
 *   "compliments" [{"text","note"|null,"from","employee"}]        (weekly;
 *                 a team lead's only when "learning" is shown, never under
 *                 verbatim_detail anonymous, a note only to its writer)
 *   "learning"    {"n","min_n","shown","items":[{"text","band"}]} (weekly)
 *   "my_score"    {"period","n","min_n","nps":{"value","low","high"}|null}
 *                 (employee: their own last whole month)
 *   "goals"       [{"period","metric","target","value"|null,"status"}]
 *   "cases"       {"open","overdue","items":[{"id","reason","overdue"}]}
 *   "scores"      an /api/v1/metrics cell ({"n","min_n","nps","grade",
 *                 "ces"}, null members hidden)                    (monthly)
 *   "drivers"     [{"aspect","score"|null,"n","gain"|null}]: the top
 *                 three key drivers (GET /drivers/top3)           (monthly)
 *   "actions"     [{"title","status","start_date","change"|null,
 *                 "verdict"}]: the NPS difference in differences   (monthly)
 *   "kpis"        [{"name","unit","value"|null,"period"}] or absent (monthly)
 *   "page_url", "unsubscribe_url"  links (required)
 * Members may be missing: that part is left out.
 */
#ifndef KS_REPORT_DIGEST_H
#define KS_REPORT_DIGEST_H

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"

/* Append the subject (one line), the text part and the HTML part for lang
 * ("en", anything else Dutch) to the caller's buffers (the caller frees
 * them, after an error too). KS_ERR_INVALID when role or a link is
 * missing; KS_ERR_TOOBIG / KS_ERR_NOMEM from the buffers. */
ks_err digest_build(const json_t *content, const char *lang, const char *org_name, ks_buf *subject,
		    ks_buf *text, ks_buf *html);

#endif
