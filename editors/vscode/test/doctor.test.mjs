// Unit tests of the pool doctor's report rendering (src/doctor.ts, bundled to out/doctor.js by `npm run build`).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';

const require = createRequire(import.meta.url);
const d = require('../out/doctor.js');

const failing = {
  endpoint: 'https://pool.env.eastus.azurecontainerapps.io',
  ok: false,
  checks: [
    { name: 'Endpoint', status: 'ok', detail: 'custom-container pool, api custom: POST /python/execute' },
    { name: 'Token', status: 'warn', detail: 'got a token that is not a JWT', fix: 'nothing to do if runs work' },
    {
      name: 'Container',
      status: 'fail',
      detail: 'nothing listens on the container_s target port',
      fix: 'try `docker run --rm -p 8080:8080 IMAGE`, then *raise* coldStartTimeoutSeconds',
    },
    { name: 'Role', status: 'skipped', detail: 'the pool did not answer the run' },
  ],
};

test('isDoctorReport accepts reports only', () => {
  assert.ok(d.isDoctorReport(failing));
  assert.ok(d.isDoctorReport({ endpoint: '', ok: true, checks: [] }));
  for (const other of [undefined, null, 'x', { ok: true }, { checks: [] }, { status: 'Succeeded' }]) {
    assert.equal(d.isDoctorReport(other), false, JSON.stringify(other));
  }
});

test('summary counts failures first', () => {
  assert.equal(d.summary(failing), '✗ 1 failed, 1 warning, 1 ok, 1 skipped');
  assert.equal(
    d.summary({ endpoint: 'local', ok: true, checks: [{ name: 'Run', status: 'ok', detail: '' }] }),
    '✓ all checks passed (1 ok)',
  );
});

test('renderReport has one item per check with ✓/⚠/✗/– and the fix, Markdown escaped outside code spans', () => {
  const text = d.renderReport(failing, new Date('2026-01-02T03:04:05Z'));
  const lines = text.split('\n');
  assert.equal(lines[0], '# Azure Sessions: Diagnose Pool');
  assert.ok(text.includes('Pool: `https://pool.env.eastus.azurecontainerapps.io`'));
  assert.ok(text.includes('Checked: 2026-01-02T03:04:05.000Z'));
  assert.ok(text.includes('Result: **✗ 1 failed, 1 warning, 1 ok, 1 skipped**'));
  assert.ok(lines.includes('- ✓ **Endpoint**: custom-container pool, api custom: POST /python/execute'));
  assert.ok(lines.includes('- ⚠ **Token**: got a token that is not a JWT'));
  assert.ok(lines.includes('  - Fix: nothing to do if runs work'));
  assert.ok(lines.includes('- ✗ **Container**: nothing listens on the container\\_s target port'));
  assert.ok(lines.includes('  - Fix: try `docker run --rm -p 8080:8080 IMAGE`, then \\*raise\\* coldStartTimeoutSeconds'));
  assert.ok(lines.includes('- – **Role** (skipped): the pool did not answer the run'));
  assert.equal(lines.filter((l) => l.startsWith('- ')).length, 4);
  assert.ok(d.renderReport({ endpoint: '', ok: false, checks: [] }).includes('Pool: (none configured)'));
});
