// Migrations that can be trusted: every applied migration is recorded with
// the SHA-256 of its file; `registrar migrate` and readyz refuse a database
// whose applied migration differs from its file, was renamed or is gone,
// naming it in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, client, freePort, sourceRoot, registrarBin } from '../lib/harness.mjs';

const schemaDir = path.join(sourceRoot, 'schema');
const migrationFiles = () => fs.readdirSync(schemaDir).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function migrate(srv, extraArgs = []) {
  return new Promise((resolve) => {
    const p = spawn(registrarBin, ['migrate', '--database-url', srv.dbUrl, ...extraArgs],
      { env: srv.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out, lines: out.split('\n').filter(Boolean) }));
  });
}

// A copy of schema/ that a test may edit.
function schemaCopy() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registrar-schema-'));
  for (const f of migrationFiles()) fs.copyFileSync(path.join(schemaDir, f), path.join(dir, f));
  return dir;
}

// The one log line that says what is wrong, parsed.
function errorLine(lines) {
  const errors = lines.map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .filter((e) => e && e.level === 'error');
  assert.equal(errors.length, 1, `one error line, got:\n${lines.join('\n')}`);
  return errors[0].msg ?? errors[0].message ?? JSON.stringify(errors[0]);
}

test('every applied migration is recorded with the SHA-256 of its file (what sha256sum prints)', async () => {
  const srv = await startServer();
  try {
    const rows = await srv.sql('select version, name, sha256 from registrar.schema_migrations order by version');
    const files = migrationFiles();
    assert.deepEqual(rows.map((r) => r.name), files);
    for (const r of rows) assert.equal(r.sha256, sha256(path.join(schemaDir, r.name)), r.name);
    // The checked-in manifest says the same.
    const manifest = fs.readFileSync(path.join(schemaDir, 'SHA256SUMS'), 'utf8').trim().split('\n')
      .map((l) => l.split(/\s+/)).map(([hex, name]) => ({ name, hex }));
    for (const r of rows) assert.equal(manifest.find((m) => m.name === r.name)?.hex, r.sha256, r.name);
  } finally {
    await srv.stop();
  }
});

test('a database whose applied migration differs from its file: migrate refuses in one line, readyz is 503', async () => {
  const srv = await startServer();
  try {
    const c = client(srv.url);
    assert.equal((await c.get('/readyz')).status, 200);
    const [{ sha256: good }] = await srv.sql("select sha256 from registrar.schema_migrations where version = 3");
    await srv.sql("update registrar.schema_migrations set sha256 = repeat('0', 64) where version = 3");

    const r = await c.get('/readyz');
    assert.equal(r.status, 503);
    assert.equal(r.body.type, 'https://registrar.invalid/problems/database-unavailable');
    assert.match(r.body.detail, /schema\/0003_create_offerings\.sql differs/);

    const m = await migrate(srv);
    assert.notEqual(m.code, 0);
    assert.match(errorLine(m.lines), /0003_create_offerings\.sql differs from the migration applied/);

    await srv.sql('update registrar.schema_migrations set sha256 = $1 where version = 3', [good]);
    assert.equal((await c.get('/readyz')).status, 200);
    assert.equal((await migrate(srv)).code, 0);
  } finally {
    await srv.stop();
  }
});

test('an edited, a renamed or a deleted landed migration file: migrate refuses and applies nothing; so does readyz', async () => {
  const srv = await startServer();
  const dirs = [];
  try {
    const [{ n: before }] = await srv.sql('select count(*)::int as n from registrar.schema_migrations');

    const edited = schemaCopy();
    dirs.push(edited);
    fs.appendFileSync(path.join(edited, '0002_create_accounts.sql'), '\n-- an edit after landing\n');
    let m = await migrate(srv, ['--schema-dir', edited]);
    assert.notEqual(m.code, 0);
    assert.match(errorLine(m.lines), /schema\/0002_create_accounts\.sql differs/);

    const renamed = schemaCopy();
    dirs.push(renamed);
    fs.renameSync(path.join(renamed, '0004_create_enrollments.sql'), path.join(renamed, '0004_enrollments.sql'));
    m = await migrate(srv, ['--schema-dir', renamed]);
    assert.notEqual(m.code, 0);
    assert.match(errorLine(m.lines), /0004_enrollments\.sql is not the migration 0004_create_enrollments\.sql/);

    const deleted = schemaCopy();
    dirs.push(deleted);
    fs.rmSync(path.join(deleted, '0005_alter_auth_failures.sql'));
    m = await migrate(srv, ['--schema-dir', deleted]);
    assert.notEqual(m.code, 0);
    assert.match(errorLine(m.lines), /0005_alter_auth_failures\.sql is applied to this database but schema\/ has no such file/);

    const [{ n: after }] = await srv.sql('select count(*)::int as n from registrar.schema_migrations');
    assert.equal(after, before);

    // A server started on the edited files is never ready against this database.
    const port = await freePort();
    const child = spawn(registrarBin, ['serve'], {
      env: { ...srv.env, REGISTRAR_SCHEMA_DIR: edited, REGISTRAR_LISTEN: `127.0.0.1:${port}` },
      stdio: 'ignore',
    });
    try {
      let r = null;
      for (let i = 0; i < 100 && r === null; i++) {
        r = await client(`http://127.0.0.1:${port}`).get('/readyz').catch(() => null);
        if (r === null) await new Promise((ok) => setTimeout(ok, 100));
      }
      assert.ok(r, 'the server answered');
      assert.equal(r.status, 503);
      assert.match(r.body.detail, /schema\/0002_create_accounts\.sql differs/);
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    await srv.stop();
  }
});

test('a database migrated before digests were kept gets them recorded by the next migrate', async () => {
  const srv = await startServer();
  try {
    await srv.sql('update registrar.schema_migrations set sha256 = null');
    const r = await client(srv.url).get('/readyz');
    assert.equal(r.status, 503);
    assert.match(r.body.detail, /before digests were kept: run registrar migrate/);

    const m = await migrate(srv);
    assert.equal(m.code, 0, m.out);
    assert.ok(m.lines.some((l) => /recorded the digest of 0001_create_catalog\.sql/.test(l)));
    const rows = await srv.sql('select name, sha256 from registrar.schema_migrations');
    for (const row of rows) assert.equal(row.sha256, sha256(path.join(schemaDir, row.name)), row.name);
    assert.equal((await client(srv.url).get('/readyz')).status, 200);
  } finally {
    await srv.stop();
  }
});
