// The server lookup order: AZURE_SESSIONS_LSP_PATH, azureSessions.server.path, the bundled binary, PATH;
// each candidate checked with --version (src/serverLocator.ts, bundled to out/serverLocator.js).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';

const require = createRequire(import.meta.url);
const { locateServer, ServerNotFoundError } = require('../out/serverLocator.js');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'azs-locator-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function fakeBinary(dir, version = 'azure-sessions-lsp 1.2.3') {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'azure-sessions-lsp');
  fs.writeFileSync(file, `#!/bin/sh\necho '${version}'\n`, { mode: 0o755 });
  return file;
}

const envBin = fakeBinary(path.join(tmp, 'env'), 'azure-sessions-lsp 0.0.1');
const settingBin = fakeBinary(path.join(tmp, 'setting'), 'azure-sessions-lsp 0.0.2');
const extDir = path.join(tmp, 'ext');
const bundledBin = fakeBinary(path.join(extDir, 'server'), 'azure-sessions-lsp 0.0.3');
const pathBin = fakeBinary(path.join(tmp, 'pathdir'), 'azure-sessions-lsp 0.0.4');
const emptyExt = path.join(tmp, 'empty-ext');
fs.mkdirSync(emptyExt);

test('AZURE_SESSIONS_LSP_PATH comes first', async () => {
  const s = await locateServer(settingBin, extDir, { AZURE_SESSIONS_LSP_PATH: envBin, PATH: path.dirname(pathBin) });
  assert.deepEqual(s, { path: envBin, version: '0.0.1', source: 'AZURE_SESSIONS_LSP_PATH' });
});

test('then the setting', async () => {
  const s = await locateServer(settingBin, extDir, { PATH: path.dirname(pathBin) });
  assert.equal(s.source, 'azureSessions.server.path');
  assert.equal(s.version, '0.0.2');
});

test('then the bundled binary', async () => {
  const s = await locateServer('', extDir, { PATH: path.dirname(pathBin) });
  assert.equal(s.path, bundledBin);
  assert.equal(s.source, 'bundled');
});

test('then PATH', async () => {
  const s = await locateServer('  ', emptyExt, { PATH: `/nonexistent${path.delimiter}${path.dirname(pathBin)}` });
  assert.equal(s.path, pathBin);
  assert.equal(s.source, 'PATH');
});

test('an explicit path that does not work is an error naming it, with no fallback', async () => {
  await assert.rejects(locateServer(path.join(tmp, 'nope'), extDir, { PATH: path.dirname(pathBin) }), (e) => {
    assert.ok(e instanceof ServerNotFoundError);
    assert.equal(e.explicit, true);
    assert.match(e.message, /azureSessions\.server\.path/);
    return true;
  });
  const wrong = fakeBinary(path.join(tmp, 'wrong'), 'something-else 1.0');
  await assert.rejects(locateServer('', extDir, { AZURE_SESSIONS_LSP_PATH: wrong }), /AZURE_SESSIONS_LSP_PATH.*not "azure-sessions-lsp X\.Y\.Z"/);
});

test('nothing found: an actionable message', async () => {
  await assert.rejects(locateServer('', emptyExt, { PATH: '/nonexistent' }), (e) => {
    assert.equal(e.explicit, false);
    assert.match(e.message, /not found.*azureSessions\.server\.path/s);
    return true;
  });
});

test('a leading ~ in the setting is the home directory', async () => {
  const home = os.homedir();
  const rel = path.relative(home, settingBin);
  if (rel.startsWith('..')) return; // the temp dir is not under $HOME here
  const s = await locateServer(`~/${rel}`, emptyExt, {});
  assert.equal(s.path, settingBin);
});
