#!/usr/bin/env node
// sql_protocols.js — what MariaDB spends on the same batch of the wallet's rows sent three ways
// (docs/performance-log.md, thirty-first session). Not a test; it prints.
//
//   bench/batch_replay.py capture var/bench 6 /tmp/batches.json     # while earns run, as its header says
//   bench/batch_replay.py export /tmp/batches.json /tmp/batch50.json --commands 50
//   npm install --prefix /tmp/sqlp mariadb@3
//   NODE_PATH=/tmp/sqlp/node_modules bench/sql_protocols.js var/bench /tmp/batch50.json [ROUNDS] [ALTERNATIONS]
//
// Each round is one transaction over one connection with the wallet's session (utf8mb4_bin, backslash escapes),
// ended by ROLLBACK, so nothing stays and nothing is flushed:
//   text     the batch's write query as the wallet sends it: one multi-statement text query (common/sql_util.cpp);
//   execute  each INSERT as one prepared statement of as many rows as it has, values in the binary protocol
//            (prepared once, executed every round: COM_STMT_EXECUTE), one round trip per INSERT;
//   bulk     each INSERT as a one-row prepared statement executed with all its rows at once (MariaDB's
//            COM_STMT_BULK_EXECUTE, array binding), one round trip per INSERT.
// The modes alternate, ROUNDS rounds each (default 200), ALTERNATIONS times (default 5). Printed per mode:
// mariadbd's CPU (utime + stime of the whole server, so the network must be otherwise quiet) per command of the
// batch, and the wall time per round. The wallet uses MySQL Connector/C++, whose legacy API has no array binding:
// `bulk` is what MariaDB's own client library (libmariadb, under it) could do.
'use strict';
const fs = require('fs');
const path = require('path');
let mariadb;
try {
  mariadb = require('mariadb');
} catch (e) {
  console.error('sql_protocols: needs the npm package mariadb (see the header: npm install --prefix DIR mariadb@3, NODE_PATH)');
  process.exit(2);
}
const [netdir, exported, roundsArg, altArg] = process.argv.slice(2);
if (!netdir || !exported) {
  console.error('usage: sql_protocols.js NETDIR EXPORT.json [ROUNDS] [ALTERNATIONS]');
  process.exit(2);
}
const rounds = Number(roundsArg || 200);
const alternations = Number(altArg || 5);
const batch = JSON.parse(fs.readFileSync(exported, 'utf8'));
const env = Object.fromEntries(
    fs.readFileSync(path.join(netdir, 'env'), 'utf8').split('\n').filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const serverPid = fs.readFileSync(path.join(netdir, 'pids', 'mariadb.pid'), 'utf8').replace(/\D/g, '');
const ticksPerSecond = 100;  // USER_HZ on Linux
const serverTicks = () => {
  const f = fs.readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);  // utime + stime
};

(async () => {
  const conn = await mariadb.createConnection({
    host: env.EMTIAZ_MYSQL_HOST || '127.0.0.1', port: Number(env.EMTIAZ_MYSQL_PORT), user: env.EMTIAZ_MYSQL_USER,
    password: env.EMTIAZ_MYSQL_PASSWORD, database: env.EMTIAZ_MYSQL_DATABASE, multipleStatements: true,
  });
  // As the wallet's pooled sessions (common/mysql.cpp).
  await conn.query('SET NAMES utf8mb4 COLLATE utf8mb4_bin');
  await conn.query("SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')");
  const inserts = batch.inserts.map((s) => {
    const row = '(' + s.columns.map(() => '?').join(',') + ')';
    const head = `INSERT INTO ${s.table} (${s.columns.join(',')}) VALUES `;
    return {many: `${head}${s.rows.map(() => row).join(',')} ${s.suffix}`, one: `${head}${row} ${s.suffix}`,
            flat: s.rows.flat(), rows: s.rows};
  });
  const modes = {
    text: async () => conn.query('START TRANSACTION;\n' + batch.text),
    execute: async () => {
      await conn.query('START TRANSACTION');
      for (const s of inserts) await conn.execute(s.many, s.flat);
      await conn.query('ROLLBACK');
    },
    bulk: async () => {
      await conn.query('START TRANSACTION');
      for (const s of inserts) await conn.batch(s.one, s.rows);
      await conn.query('ROLLBACK');
    },
  };
  const seen = Object.fromEntries(Object.keys(modes).map((m) => [m, {cpu: [], wall: []}]));
  for (const m of Object.keys(modes)) for (let i = 0; i < 5; i++) await modes[m]();  // prepares, warm caches
  for (let a = 0; a < alternations; a++) {
    for (const m of Object.keys(modes)) {
      const c0 = serverTicks();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < rounds; i++) await modes[m]();
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      seen[m].cpu.push(Math.round((serverTicks() - c0) / ticksPerSecond / rounds / batch.commands * 1e6));
      seen[m].wall.push(Math.round(wall / rounds * 1e6));
    }
  }
  const mean = (xs) => Math.round(xs.reduce((s, x) => s + x, 0) / xs.length);
  console.log(`a batch of ${batch.commands} commands, ${rounds} rounds per mode, ${alternations} alternations`);
  for (const [m, v] of Object.entries(seen)) {
    console.log(`${m.padEnd(8)} mariadbd µs per command: ${v.cpu.join(' / ')} (mean ${mean(v.cpu)}); ` +
                `wall µs per round: ${v.wall.join(' / ')} (mean ${mean(v.wall)})`);
  }
  await conn.end();
})().catch((e) => {
  console.error('sql_protocols:', e.message);
  process.exit(1);
});
