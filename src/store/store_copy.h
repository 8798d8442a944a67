/* store_copy.h — copy a klantstem database from one backend to the other
 * (SQLite file <-> PostgreSQL, issue 18: `klantstem copy`), and verify a
 * copy table by table.
 *
 * Why in the store: the copy needs the schema's own tables, their columns
 * and foreign keys, read from each backend's catalogue, and a connection of
 * each store; none of that belongs outside src/store.
 *
 * What is copied: every table both databases have, except the per-process
 * state of a PostgreSQL node (nodes, change_feed) and what the database
 * derives itself (the full-text tables: SQLite's FTS5 and its shadow
 * tables, PostgreSQL's responses_fts, both filled by triggers on
 * responses; PostgreSQL's ks_schema_version). Both stores are opened with
 * store_open first, so both are at this binary's schema version.
 *
 * The checksum of a table is an order-independent sum (mod 2^64) of a hash
 * of each row's canonical text: the copied columns in order, each rendered
 * from the value read back through db.h (an integer, or a real that is a
 * whole number, as a decimal integer; other reals with %.17g; text as is;
 * a blob in hex; NULL as a marker of its own). The same rows give the same
 * sum on either backend, whatever each calls their types.
 */
#ifndef KS_STORE_COPY_H
#define KS_STORE_COPY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

#define STORE_COPY_NAME 64

typedef struct store_copy_table {
	char name[STORE_COPY_NAME];
	int64_t src_rows, dst_rows;
	uint64_t src_sum, dst_sum;
	bool ok;               /* rows and checksums equal */
} store_copy_table;

typedef struct store_copy_report {
	store_copy_table *tables;  /* in copy order; owned, store_copy_report_free */
	int n;
	int bad;                   /* tables whose rows or checksum differ */
	int64_t rows;              /* rows copied (0 when verifying only) */
	double copy_seconds;       /* the copy transaction, up to its commit */
	double verify_seconds;     /* reading both sides back */
} store_copy_report;

typedef struct store_copy_options {
	bool verify_only;   /* compare only: nothing is written */
	int batch_rows;     /* rows per INSERT; 0 = 500 into SQLite, 5000 into PostgreSQL */
} store_copy_options;

/* Copy every table of src into dst in one transaction on dst (FK-safe
 * order from dst's catalogue), then on PostgreSQL move the identity
 * sequences past the copied ids (ks_sync_identities), then verify: rows
 * and checksum per table, src read in one snapshot. With verify_only only
 * the comparison runs.
 * Refused (nothing written): dst holds rows in a table other than the
 * configuration the migrations seed (KS_ERR_CONFLICT, the message names
 * the table; the seeded rows are replaced by src's), the schema versions
 * differ, or a column of src is missing in dst (KS_ERR_INVALID).
 * A verification mismatch is not an error: out->bad > 0 and the tables
 * say which. out (required) is filled on success and on a mismatch; free
 * it with store_copy_report_free. */
ks_err store_copy(ks_store *src, ks_store *dst, const store_copy_options *opt, store_copy_report *out,
		  ks_error *e);
void store_copy_report_free(store_copy_report *r);

/* After a load that wrote explicit ids (the demo's bulk load, a copy): on
 * PostgreSQL, move every identity sequence past its table's largest id
 * (pg/001's ks_sync_identities) so that later inserts do not collide. On
 * SQLite nothing to do (a rowid follows the largest one). */
ks_err store_sync_identities(ks_store *s, ks_error *e);

#endif
