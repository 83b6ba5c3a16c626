// node-postgres (pg 8) through actgate as the `analytics` agent
// (tests/drivers.rs).
//
// Usage: node node_pg_driver.js URL
//
// Queries without values go over the simple protocol; with values over the
// extended protocol (unnamed statement), and with a name as a named prepared
// statement. Prints one line per step; tests/drivers.rs compares the output
// exactly. Any unexpected error ends the script with a non-zero status.
'use strict';

const pg = require('pg');

function reason(detail) {
  // The `reason: CODE` part of actgate's DETAIL.
  return (detail || '').split(';')[0];
}

async function expectDenied(client, label, sql) {
  try {
    await client.query(sql);
    console.log(`${label}: NOT DENIED`);
  } catch (e) {
    if (!(e instanceof pg.DatabaseError)) throw e;
    console.log(`${label}: ${e.constructor.name} ${e.code} ${reason(e.detail)}`);
  }
}

async function main(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10000 });
  await client.connect();
  try {
    const version = await client.query('SHOW server_version_num');
    console.log(`connected: PostgreSQL ${Number(version.rows[0].server_version_num) >= 130000}`);

    const agg = await client.query(
      'SELECT status, count(*) FROM orders GROUP BY status ORDER BY status');
    console.log('aggregate: ' + agg.rows.map((r) => `${r.status}=${r.count}`).join(' '));

    const paid = await client.query({
      text: 'SELECT count(*) FROM orders WHERE status = $1',
      values: ['paid'],
    });
    console.log(`parameterised: ${paid.rows[0].count}`);

    // A named prepared statement, parsed once and run twice.
    const named = { name: 'orders_by_status', text: 'SELECT count(*) FROM orders WHERE status = $1' };
    const shipped = await client.query({ ...named, values: ['shipped'] });
    const delivered = await client.query({ ...named, values: ['delivered'] });
    console.log(`prepared: ${shipped.rows[0].count} ${delivered.rows[0].count}`);

    await expectDenied(client, 'denied', 'SELECT password_hash FROM staff_users');
    const after = await client.query('SELECT count(*) FROM orders');
    console.log(`after denial: ${after.rows[0].count}`);

    // Denied over the extended protocol too.
    try {
      await client.query({ text: 'SELECT card_token FROM payment_methods WHERE customer_id = $1', values: [1] });
      console.log('denied extended: NOT DENIED');
    } catch (e) {
      if (!(e instanceof pg.DatabaseError)) throw e;
      console.log(`denied extended: ${e.code} ${reason(e.detail)}`);
    }

    // Types: numeric as a string, timestamptz as a Date, arrays, in array
    // row mode.
    const typed = await client.query({
      text: 'SELECT sum(total_cents)::numeric / 100, min(created_at), ' +
        'array_agg(DISTINCT currency) FROM orders WHERE status = $1',
      values: ['refunded'],
      rowMode: 'array',
    });
    const [revenue, first, currencies] = typed.rows[0];
    console.log(`types: ${typeof revenue} ${first instanceof Date} ${first.toISOString()} ${JSON.stringify(currencies)}`);

    // BEGIN/COMMIT, and a denial inside a transaction followed by ROLLBACK.
    await client.query('BEGIN');
    const inTx = await client.query('SELECT count(*) FROM refunds WHERE amount_cents > $1', [0]);
    await client.query('COMMIT');
    console.log(`transaction: ${Number(inTx.rows[0].count) > 0}`);
    await client.query('BEGIN');
    await client.query('SELECT count(*) FROM order_items');
    await expectDenied(client, 'denied in transaction', 'SELECT * FROM staff_users');
    try {
      await client.query('SELECT 1');
      console.log('aborted transaction: NOT ABORTED');
    } catch (e) {
      console.log(`aborted transaction: ${e.code}`);
    }
    await client.query('ROLLBACK');
    const us = await client.query('SELECT count(*) FROM customers WHERE country = $1', ['US']);
    console.log(`after rollback: ${Number(us.rows[0].count) > 0}`);
  } finally {
    await client.end();
  }

  // A pool, as applications use it.
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 10000 });
  try {
    const results = await Promise.all(
      ['pending', 'cancelled', 'refunded'].map((s) =>
        pool.query('SELECT count(*) FROM orders WHERE status = $1', [s])));
    console.log('pool: ' + results.map((r) => r.rows[0].count).join(' '));
  } finally {
    await pool.end();
  }
  console.log('closed');
}

main(process.argv[2]).catch((e) => {
  console.error(e);
  process.exit(1);
});
