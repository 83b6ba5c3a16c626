// Node clients beyond the basics of node_pg_driver.js, through actgate
// (tests/client_matrix.rs): node-postgres with pg-cursor and a pool as
// the token agent, postgres.js (type fetch on connect, prepared
// statements, pipelining, cursors, transactions) and Kysely (schema
// introspection, its query builder, streaming through pg-cursor,
// transactions). Prints one line per check; the test compares the output
// exactly.
//
// Usage: node node_clients.js ANALYTICS_URL TOKEN_URL
'use strict';

const pg = require('pg');
const Cursor = require('pg-cursor');
const postgres = require('postgres');
const { Kysely, PostgresDialect, sql: ksql } = require('kysely');

const [analyticsUrl, tokenUrl] = process.argv.slice(2);

// A refusal as the driver surfaces it: SQLSTATE, the reason in DETAIL,
// whether the message names actgate and a HINT is there.
function refusal(e) {
  const detail = e.detail || '';
  const reason = detail.startsWith('reason: ') ? detail.slice(8).split(';')[0] : `? ${e.message}`;
  return `${e.code} reason: ${reason} message: ${String(e.message).startsWith('actgate')} hint: ${Boolean(e.hint)}`;
}

async function refused(promise) {
  try {
    await promise;
    return 'not refused';
  } catch (e) {
    return refusal(e);
  }
}

async function nodePostgres() {
  const client = new pg.Client({ connectionString: analyticsUrl });
  await client.connect();
  const cursor = client.query(
    new Cursor('SELECT id FROM orders WHERE total_cents >= $1 ORDER BY id', [0]),
  );
  let batches = 0;
  let sum = 0;
  for (;;) {
    const rows = await cursor.read(60);
    if (rows.length === 0) break;
    batches += 1;
    for (const r of rows) sum += Number(r.id);
  }
  await cursor.close();
  console.log(`pg-cursor: ${batches} batches, sum ${sum}`);
  await client.query('BEGIN READ ONLY');
  const ro = (await client.query('SHOW transaction_read_only')).rows[0].transaction_read_only;
  await client.query('COMMIT');
  console.log(`pg read-only transaction: ${ro}`);
  await client.end();

  const pool = new pg.Pool({ connectionString: tokenUrl, max: 2 });
  const counts = await Promise.all(
    [1, 2, 3, 4].map(() =>
      pool.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = $1', [42])),
  );
  const denied = await refused(pool.query('SELECT * FROM orders WHERE customer_id = $1', [7]));
  const after = (await pool.query('SELECT count(*)::int AS n FROM customers WHERE id = $1', [42])).rows[0].n;
  console.log(`pg token pool: ${counts.map((r) => r.rows[0].n).join(' ')} denied: ${denied} after: ${after}`);
  await pool.end();
}

async function postgresJs() {
  // One connection, so that concurrent queries are pipelined on it.
  const sql = postgres(analyticsUrl, { max: 1, onnotice: () => {} });
  const statuses = ['paid', 'shipped', 'pending', 'delivered', 'paid', 'refunded', 'paid'];
  const counts = await Promise.all(
    statuses.map((s) => sql`SELECT count(*)::int AS n FROM orders WHERE status = ${s}`),
  );
  console.log(`postgres.js pipelined: ${counts.map((r) => r[0].n).join(' ')}`);
  console.log(`postgres.js denied: ${await refused(sql`SELECT password_hash FROM staff_users`)}`);
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM refunds`;
  console.log(`postgres.js after denial: ${n}`);

  let batches = 0;
  let sum = 0;
  await sql`SELECT id FROM orders WHERE total_cents >= ${0} ORDER BY id`.cursor(70, (rows) => {
    batches += 1;
    for (const r of rows) sum += Number(r.id);
  });
  console.log(`postgres.js cursor: ${batches} batches, sum ${sum}`);

  const products = await sql.begin('read only', async (tx) => {
    const [{ ro }] = await tx`SHOW transaction_read_only`.then((r) => [{ ro: r[0].transaction_read_only }]);
    const [{ p }] = await tx`SELECT count(*)::int AS p FROM products WHERE price_cents > ${0}`;
    return `${ro} ${p > 0}`;
  });
  console.log(`postgres.js read-only transaction: ${products}`);
  let failed;
  try {
    await sql.begin(async (tx) => {
      await tx`SELECT count(*) FROM orders`;
      await tx`SELECT 1 / (count(*) - count(*)) FROM orders`;
    });
  } catch (e) {
    failed = e.code;
  }
  const inTx = await refused(sql.begin(async (tx) => {
    await tx`SELECT email FROM customers WHERE id = ${1}`;
  }));
  const [{ m }] = await sql`SELECT count(*)::int AS m FROM order_items WHERE order_id = ${1}`;
  console.log(`postgres.js error then rollback: ${failed} denied in transaction: ${inTx} after: ${m}`);
  await sql.end();

  const token = postgres(tokenUrl, { max: 2, onnotice: () => {} });
  const mine = await Promise.all(
    [1, 2, 3].map(() => token`SELECT count(*)::int AS n FROM orders WHERE customer_id = ${42}`),
  );
  const scope = await refused(token`SELECT count(*) FROM orders WHERE customer_id = ${7}`);
  console.log(`postgres.js token: ${mine.map((r) => r[0].n).join(' ')} denied: ${scope}`);
  await token.end();
}

async function kysely() {
  const db = new Kysely({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: analyticsUrl, max: 2 }),
      cursor: Cursor,
    }),
  });
  const tables = await db.introspection.getTables();
  const orders = tables.find((t) => t.name === 'orders');
  console.log(`kysely tables: ${tables.map((t) => t.name).sort().join(' ')}`);
  console.log(`kysely orders columns: ${orders.columns.map((c) => `${c.name}:${c.dataType}`).join(' ')}`);
  const rows = await db
    .selectFrom('orders')
    .select(['status', (eb) => eb.fn.countAll().as('n')])
    .where('total_cents', '>', 0)
    .groupBy('status')
    .orderBy('status')
    .execute();
  console.log(`kysely aggregate: ${rows.map((r) => `${r.status}=${r.n}`).join(' ')}`);
  let streamed = 0;
  for await (const r of db.selectFrom('orders').select('id').orderBy('id').stream(25)) {
    streamed += Number(r.id) > 0 ? 1 : 0;
  }
  console.log(`kysely stream: ${streamed}`);
  const denied = await refused(db.selectFrom('staff_users').selectAll().execute());
  const n = await db.transaction().execute(async (trx) => {
    const r = await trx.selectFrom('refunds').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return r.n;
  });
  const rolledBack = await refused(db.transaction().execute(async (trx) => {
    await ksql`SELECT card_token FROM payment_methods`.execute(trx);
  }));
  console.log(`kysely denied: ${denied} transaction: ${n} denied in transaction: ${rolledBack}`);
  await db.destroy();
}

(async () => {
  await nodePostgres();
  await postgresJs();
  await kysely();
  console.log('closed');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
