// Unit tests of src/languages.ts (bundled to out/languages.js by `npm run build`): which languages run
// where, in agreement with the server's table (src/languages.rs), and the escapes of typed input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const l = require('../out/languages.js');
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('the language table agrees with the server\'s (src/languages.rs DEFAULTS)', () => {
  const rust = fs.readFileSync(path.join(repoRoot, 'src', 'languages.rs'), 'utf8');
  const defaults = rust.slice(rust.indexOf('const DEFAULTS'), rust.indexOf('];', rust.indexOf('const DEFAULTS')));
  const server = Object.fromEntries([...defaults.matchAll(/\("([^"]+)", "([^"]+)"\)/g)].map((m) => [m[1], m[2]]));
  assert.equal(server.cpp, 'c++');
  for (const [id, name] of Object.entries(l.POOL_LANGUAGES)) {
    assert.equal(server[id], name, `${id}: the extension maps it to ${name}, the server to ${server[id]}`);
  }
});

test('what runs where', () => {
  const executions = {};
  const custom = { api: 'custom' };
  assert.ok(l.runnable('python', executions));
  assert.ok(l.runnable('javascript', { api: 'legacy' }));
  assert.ok(l.runnable('javascriptreact', executions));
  assert.ok(!l.runnable('cpp', executions));
  assert.ok(!l.runnable('rust', { api: 'legacy' }));
  assert.ok(l.runnable('cpp', custom));
  assert.ok(l.runnable('anything', custom));
  // A Shell pool speaks the executions API only.
  assert.ok(l.runnable('shellscript', executions));
  assert.ok(!l.runnable('shellscript', { api: 'legacy' }));
  // azureSessions.languages can map a language to one the pool runs.
  assert.ok(l.runnable('typescript', { languages: { typescript: 'javascript' } }));
  assert.ok(!l.runnable('typescript', { languages: { typescript: 7 } }));
});

test('what takes stdin: custom containers and Shell pools, never Python or Node code interpreters', () => {
  assert.ok(l.takesStdin('python', { api: 'custom' }));
  assert.ok(l.takesStdin('cpp', { api: 'custom' }));
  assert.ok(l.takesStdin('shellscript', { api: 'executions' }));
  assert.ok(!l.takesStdin('python', {}));
  assert.ok(!l.takesStdin('javascript', { api: 'legacy' }));
  assert.ok(!l.takesStdin('shellscript', { api: 'legacy' }));
});

test('served languages: the defaults and the user\'s own ids', () => {
  const served = l.servedLanguages(l.languageOverrides({ mylang: 'python', bad: '' }));
  assert.ok(served.includes('cpp') && served.includes('python') && served.includes('mylang'));
  assert.ok(!served.includes('bad'));
  assert.deepEqual(l.languageOverrides(['x']), {});
});

test('typed input: \\n, \\t and \\\\ escapes; the preview round-trips', () => {
  assert.equal(l.decodeInput('a\\nb'), 'a\nb');
  assert.equal(l.decodeInput('tab\\there'), 'tab\there');
  assert.equal(l.decodeInput('back\\\\slash\\\\n'), 'back\\slash\\n');
  assert.equal(l.decodeInput('C:\\dir\\'), 'C:\\dir\\');
  for (const s of ['3\n1 2 3', 'a\\nb\t\\', '', 'x\\\\\n']) {
    assert.equal(l.decodeInput(l.previewInput(s, Number.MAX_SAFE_INTEGER)), s);
  }
  assert.equal(l.previewInput('x'.repeat(100), 10).length, 10);
});
