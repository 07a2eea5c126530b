// Unit tests of the vscode-free helpers (src/util.ts, bundled to out/util.js by `npm run build`).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const u = require('../out/util.js');
const extRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('serverSettings drops the extension-only keys', () => {
  const s = u.serverSettings({
    endpoint: 'local', api: 'executions', server: { path: '/x' }, trace: { server: 'off' },
    signIn: 'vscode', signInProvider: 'microsoft', keybindings: { shiftEnter: true }, output: { revealOnRun: true }, prewarm: false,
  });
  assert.deepEqual(s, { endpoint: 'local', api: 'executions', prewarm: false });
  assert.deepEqual(u.serverSettings(undefined), {});
});

test('formatDuration', () => {
  assert.equal(u.formatDuration(840), '0.84 s');
  assert.equal(u.formatDuration(12_345), '12.3 s');
  assert.equal(u.formatDuration(125_000), '2 min 5 s');
  assert.equal(u.formatElapsed(3_900), '3 s');
});

test('cell markers and advancing', () => {
  const re = u.compileCellMarker('^\\s*(#|//)\\s*%%');
  assert.ok(re.test('# %% setup'));
  assert.ok(re.test('  // %%'));
  assert.ok(!re.test('x = 1  # %%'));
  const lines = ['# %%', 'a = 1', '# %%', 'b = 2', 'c = 3'];
  assert.equal(u.nextCellLine(lines, 1, re), 3);
  assert.equal(u.nextCellLine(lines, 3, re), 4);
  assert.ok(u.compileCellMarker('(?i)^# CELL').test('# cell'));
  assert.equal(u.compileCellMarker('(').source, u.DEFAULT_CELL_MARKER.replace(/\//g, '\\/'));
});

test('jwtExpiry reads exp and tolerates garbage', () => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  assert.equal(u.jwtExpiry(`${b64({ alg: 'none' })}.${b64({ exp: 1700000000 })}.sig`), 1700000000);
  assert.equal(u.jwtExpiry('not-a-jwt'), undefined);
  assert.equal(u.jwtExpiry('a.b.c'), undefined);
});

test('parseVersion and expandPath', () => {
  assert.equal(u.parseVersion('azure-sessions-lsp 0.1.0\n'), '0.1.0');
  assert.equal(u.parseVersion('something else 0.1.0'), undefined);
  assert.equal(u.expandPath('~/bin/x', '/home/me', {}), '/home/me/bin/x');
  assert.equal(u.expandPath('${env:D}/x', '/h', { D: '/opt' }), '/opt/x');
});

test('formatBytes', () => {
  assert.equal(u.formatBytes(512), '512 B');
  assert.equal(u.formatBytes(1234), '1.2 kB');
  assert.equal(u.formatBytes(3_400_000), '3.4 MB');
});

test('redactSecrets replaces the tokens handed out, and only those', () => {
  const token = 'eyJhbGciOi.secret-part.sig';
  const line = `Result: {"token": "${token}", "expiresOn": 1}\nagain ${token}`;
  const out = u.redactSecrets(line, [token, 'short']);
  assert.ok(!out.includes(token));
  assert.equal(out.split('«token redacted»').length - 1, 2);
  assert.equal(u.redactSecrets('no secrets here, short', ['short']), 'no secrets here, short');
  assert.equal(u.redactSecrets('unchanged', []), 'unchanged');
});

test('tokens are requested for the dynamic-sessions scope only, whatever the server asks (security review #15)', () => {
  const only = ['https://dynamicsessions.io/.default'];
  assert.equal(u.DEFAULT_SCOPE, only[0]);
  assert.deepEqual(u.accessTokenScopes(['https://management.azure.com/.default']), only);
  assert.deepEqual(u.accessTokenScopes(['https://graph.microsoft.com/.default', only[0]]), only);
  assert.deepEqual(u.accessTokenScopes(['offline_access']), only);
  assert.deepEqual(u.accessTokenScopes([]), only);
  assert.deepEqual(u.accessTokenScopes(undefined), only);
  // The request handler must use this choice, never the server's list.
  const src = fs.readFileSync(path.join(extRoot, 'src', 'server.ts'), 'utf8');
  const start = src.indexOf('private async getAccessToken(');
  assert.ok(start >= 0, 'getAccessToken is in src/server.ts');
  const end = src.indexOf('\n  }\n', start);
  const handler = src.slice(start, end);
  assert.match(handler, /const scopes = accessTokenScopes\(/);
  assert.match(handler, /getSession\(provider, scopes,/);
});

test('endpointOrigin: "workspace" when the endpoint is set in the workspace or a folder, also per language', () => {
  assert.equal(u.endpointOrigin([]), 'user');
  assert.equal(u.endpointOrigin([undefined]), 'user');
  assert.equal(u.endpointOrigin([{ key: 'azureSessions.endpoint', defaultValue: '', globalValue: 'https://mine.example' }]), 'user');
  assert.equal(u.endpointOrigin([{ globalLanguageValue: 'https://mine.example', defaultLanguageValue: '' }]), 'user');
  assert.equal(u.endpointOrigin([{ globalValue: 'https://mine.example', workspaceValue: 'https://theirs.example' }]), 'workspace');
  assert.equal(u.endpointOrigin([{ workspaceFolderValue: 'https://theirs.example' }]), 'workspace');
  assert.equal(u.endpointOrigin([{ globalValue: 'local' }, { workspaceLanguageValue: 'https://theirs.example' }]), 'workspace');
  assert.equal(u.endpointOrigin([{}, { workspaceFolderLanguageValue: 'https://theirs.example' }]), 'workspace');
  // Set but empty still counts: the workspace chose it (and may choose a host next).
  assert.equal(u.endpointOrigin([{ workspaceValue: '' }]), 'workspace');
});

test('serverSettings carries the extension\'s endpointOrigin, never the workspace\'s', () => {
  assert.deepEqual(u.serverSettings({ endpoint: 'https://x.example', endpointOrigin: 'user' }, 'workspace'), {
    endpoint: 'https://x.example',
    endpointOrigin: 'workspace',
  });
  assert.deepEqual(u.serverSettings({ endpoint: 'local', endpointOrigin: 'workspace' }), { endpoint: 'local' });
  assert.deepEqual(u.serverSettings(undefined, 'user'), { endpointOrigin: 'user' });
});

test('a cancelled run leaves the status bar idle, other errors show as errors (review F19)', () => {
  assert.equal(u.statusAfterError(-32800), 'idle');
  assert.equal(u.statusAfterError(-32803), 'error');
  assert.equal(u.statusAfterError(undefined), 'error');
});

test('Show Output opens the active document\'s session transcript, else the last one (review F19)', () => {
  assert.equal(u.transcriptToShow('azure-sessions://output/b.log', 'azure-sessions://output/a.log'), 'azure-sessions://output/b.log');
  assert.equal(u.transcriptToShow(undefined, 'azure-sessions://output/a.log'), 'azure-sessions://output/a.log');
  assert.equal(u.transcriptToShow(undefined, undefined), undefined);
});

test('describeVariable and notebookName', () => {
  assert.equal(u.describeVariable({ name: 'a', type: 'list', summary: '[1, 2, 3]', size: 3 }), 'list [3]  [1, 2, 3]');
  assert.equal(u.describeVariable({ name: 'df', type: 'DataFrame', summary: 'a b', size: '2 × 3' }), 'DataFrame [2 × 3]  a b');
  assert.equal(u.describeVariable({ name: 'n', type: 'int', summary: '42' }), 'int  42');
  assert.equal(u.notebookName('file:///w/my%20demo.py'), 'my demo.ipynb');
  assert.equal(u.notebookName('file:///w/folder/'), 'folder.ipynb');
  assert.equal(u.notebookName('untitled:Untitled-1'), 'session.ipynb');
  assert.equal(u.notebookName(undefined), 'session.ipynb');
});
