// run.mjs — the DuckDB side of bench/analytics.
//
//   node run.mjs CSV_DIR RESULT_CSV [RUNS [WARMUPS]]
//
// Loads the generated CSVs (org_units, employees, journeys, touchpoints,
// customers, responses) into an in-memory DuckDB database with read_csv,
// then times NPS by team x month over all responses: WARMUPS untimed runs,
// RUNS timed with performance.now() (each includes reading the result into
// JS). The last result goes to RESULT_CSV as team_id,YYYY-MM,n,promoters,
// detractors; key=value lines go to stdout.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';

const [dir, resultPath, runsArg, warmArg] = process.argv.slice(2);
if (!dir || !resultPath) {
	console.error('usage: node run.mjs CSV_DIR RESULT_CSV [RUNS [WARMUPS]]');
	process.exit(2);
}
const runs = Number(runsArg ?? 7);
const warmups = Number(warmArg ?? 2);

// Column types as a PostgreSQL or DuckDB port of migrations/001_core.sql
// would declare them (ids BIGINT like SQLite's INTEGER, scores small).
const tables = {
	org_units: "{'id':'BIGINT','parent_id':'BIGINT','kind':'VARCHAR','name':'VARCHAR','created_at':'BIGINT'}",
	employees: "{'id':'BIGINT','team_id':'BIGINT','external_id':'VARCHAR','first_name':'VARCHAR'," +
		"'last_name':'VARCHAR','email':'VARCHAR','active':'SMALLINT','created_at':'BIGINT'}",
	journeys: "{'id':'BIGINT','name':'VARCHAR','description':'VARCHAR','created_at':'BIGINT'}",
	touchpoints: "{'id':'BIGINT','journey_id':'BIGINT','name':'VARCHAR','position':'INTEGER'," +
		"'moment_of_truth':'SMALLINT','open_token':'VARCHAR','created_at':'BIGINT'}",
	customers: "{'id':'BIGINT','external_id':'VARCHAR','name':'VARCHAR','email':'VARCHAR','language':'VARCHAR'," +
		"'customer_since':'VARCHAR','city':'VARCHAR','birth_year':'SMALLINT','segment':'VARCHAR','created_at':'BIGINT'}",
	responses: "{'id':'BIGINT','customer_id':'BIGINT','employee_id':'BIGINT','team_id':'BIGINT'," +
		"'touchpoint_id':'BIGINT','channel':'VARCHAR','language':'VARCHAR','nps':'SMALLINT'," +
		"'grade':'SMALLINT','ces':'SMALLINT','received_at':'BIGINT'}",
};

// received_at is unix seconds (UTC); make_timestamp(µs) is a plain TIMESTAMP,
// so months are UTC months as in klantstem and SQLite.
export const QUERY = `
SELECT team_id, strftime(m, '%Y-%m') AS month, n, p, d FROM (
  SELECT team_id, date_trunc('month', make_timestamp(received_at * 1000000)) AS m,
         count(*) AS n, sum((nps >= 9)::INTEGER) AS p, sum((nps <= 6)::INTEGER) AS d
  FROM responses GROUP BY team_id, m) s`;

const sq = (s) => "'" + s.replaceAll("'", "''") + "'";

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const threads = (await conn.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0];
const version = (await conn.runAndReadAll('SELECT version()')).getRows()[0][0];

const t0 = performance.now();
for (const [name, cols] of Object.entries(tables)) {
	const path = join(dir, `${name}.csv`);
	await conn.run(`CREATE TABLE ${name} AS SELECT * FROM read_csv(${sq(path)}, header = true, ` +
		`delim = ',', quote = '"', nullstr = '', columns = ${cols})`);
}
const loadMs = performance.now() - t0;
const count = (await conn.runAndReadAll('SELECT count(*) FROM responses')).getRows()[0][0];

let rows = [];
const times = [];
for (let i = 0; i < warmups + runs; i++) {
	const a = performance.now();
	const reader = await conn.runAndReadAll(QUERY);
	rows = reader.getRows();
	const b = performance.now();
	if (i >= warmups) times.push(b - a);
}
writeFileSync(resultPath, rows.map((r) => r.map(String).join(',')).join('\n') + (rows.length ? '\n' : ''));
const sorted = [...times].sort((x, y) => x - y);
const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]
	: (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
console.log(`version=${version}`);
console.log(`threads=${threads}`);
console.log(`rows=${count}`);
console.log(`load_ms=${loadMs.toFixed(0)}`);
console.log(`groups=${rows.length}`);
console.log(`median_ms=${median.toFixed(3)}`);
console.log(`min_ms=${sorted[0].toFixed(3)}`);
console.log(`max_ms=${sorted[sorted.length - 1].toFixed(3)}`);
console.log(`runs_ms=${times.map((t) => t.toFixed(3)).join(',')}`);
conn.closeSync?.();
