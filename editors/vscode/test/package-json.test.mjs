// Static checks of the extension manifest: commands, menus, keybindings and settings are consistent.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const extRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(extRoot, 'package.json'), 'utf8'));
const c = pkg.contributes;

const EXPECTED_COMMANDS = [
  'azureSessions.runSelection',
  'azureSessions.runCell',
  'azureSessions.runCellAndAdvance',
  'azureSessions.runFile',
  'azureSessions.resetSession',
  'azureSessions.showOutput',
  'azureSessions.sessionInfo',
  'azureSessions.uploadFile',
  'azureSessions.downloadFile',
  'azureSessions.diagnosePool',
  'azureSessions.restartServer',
];

test('the contributed commands exist, have the category and do not clash with the server commands', () => {
  const ids = c.commands.map((x) => x.command);
  for (const id of EXPECTED_COMMANDS) {
    assert.ok(ids.includes(id), `${id} is not contributed`);
  }
  for (const cmd of c.commands) {
    assert.equal(cmd.category, 'Azure Sessions', `${cmd.command} has no "Azure Sessions" category`);
    assert.match(cmd.title, /^[A-Z]/, `${cmd.command}: title in Title Case`);
    // vscode-languageclient registers the server's azure-sessions.* commands itself.
    assert.ok(!cmd.command.startsWith('azure-sessions.'), `${cmd.command} would clash with a server command`);
  }
  assert.equal(new Set(c.commands.map((x) => x.title)).size, c.commands.length, 'command titles are unique');
});

test('the source registers every contributed command', () => {
  const src = fs
    .readdirSync(path.join(extRoot, 'src'), { recursive: true })
    .filter((f) => String(f).endsWith('.ts'))
    .map((f) => fs.readFileSync(path.join(extRoot, 'src', String(f)), 'utf8'))
    .join('\n');
  for (const cmd of c.commands) {
    assert.ok(src.includes(`'${cmd.command}'`), `${cmd.command} is contributed but not registered in src/`);
  }
});

test('menus and keybindings name contributed commands only', () => {
  const ids = new Set(c.commands.map((x) => x.command));
  const submenus = new Set((c.submenus ?? []).map((s) => s.id));
  for (const [menu, entries] of Object.entries(c.menus)) {
    for (const e of entries) {
      if (e.submenu) {
        assert.ok(submenus.has(e.submenu), `${menu}: unknown submenu ${e.submenu}`);
      } else {
        assert.ok(ids.has(e.command), `${menu}: unknown command ${e.command}`);
      }
    }
  }
  for (const k of c.keybindings) {
    assert.ok(ids.has(k.command), `keybinding for unknown command ${k.command}`);
  }
});

test('run entries are gated on workspace trust', () => {
  for (const menu of ['editor/title/run', 'editor/context']) {
    for (const e of c.menus[menu]) {
      assert.match(e.when ?? '', /isWorkspaceTrusted/, `${menu}: ${e.command ?? e.submenu} is not gated on isWorkspaceTrusted`);
    }
  }
  for (const k of c.keybindings) {
    assert.match(k.when ?? '', /isWorkspaceTrusted/, `keybinding ${k.key}: not gated on isWorkspaceTrusted`);
  }
});

test('Shift+Enter is taken only when azureSessions.keybindings.shiftEnter is on', () => {
  for (const k of c.keybindings) {
    if (/^shift\+enter$/i.test(k.key) || /^shift\+enter$/i.test(k.mac ?? '')) {
      assert.match(k.when, /(^|&&\s*)azureSessions\.shiftEnterEnabled\b/, 'shift+enter must require azureSessions.shiftEnterEnabled');
    }
  }
  const setting = c.configuration.properties['azureSessions.keybindings.shiftEnter'];
  assert.equal(setting.type, 'boolean');
  assert.equal(setting.default, false);
});

test('settings have descriptions, enum descriptions and scopes', () => {
  const props = c.configuration.properties;
  for (const [key, p] of Object.entries(props)) {
    assert.ok(p.markdownDescription || p.description, `${key} has no description`);
    if (p.enum) {
      assert.equal(p.enumDescriptions?.length, p.enum.length, `${key}: one enumDescription per enum value`);
      assert.ok(p.enum.includes(p.default), `${key}: default ${p.default} is not one of the enum values`);
    }
    assert.ok(p.scope, `${key} has no scope`);
  }
  for (const key of ['endpoint', 'api', 'apiVersion', 'customPath', 'sessionScope', 'cellMarker', 'diagnostics']) {
    assert.equal(props[`azureSessions.${key}`].scope, 'resource', `azureSessions.${key} may differ per folder`);
  }
  assert.equal(props['azureSessions.server.path'].scope, 'machine');
  assert.deepEqual(props['azureSessions.trace.server'].enum, ['off', 'messages', 'verbose']);
  assert.deepEqual(props['azureSessions.signIn'].enum, ['server', 'vscode']);
  assert.equal(props['azureSessions.signIn'].default, 'server');
  // The VS Code authentication provider for signIn = vscode: Microsoft's by default, and never chosen
  // by a workspace (a machine-scoped setting is ignored in workspace settings).
  assert.equal(props['azureSessions.signInProvider'].type, 'string');
  assert.equal(props['azureSessions.signInProvider'].default, 'microsoft');
  assert.equal(props['azureSessions.signInProvider'].scope, 'machine');
  // Not azureSessions.signIn.<x>: VS Code ignores a setting nested under one that has a value.
  for (const key of Object.keys(props)) {
    for (const other of Object.keys(props)) {
      assert.ok(!other.startsWith(`${key}.`), `${other} would be ignored: ${key} is a setting itself`);
    }
  }
});

test('the settings agree with the contract (CONTRACT.md defaults)', () => {
  const p = c.configuration.properties;
  const d = (k) => p[`azureSessions.${k}`].default;
  assert.equal(d('endpoint'), '');
  assert.equal(d('api'), 'executions');
  assert.deepEqual(p['azureSessions.api'].enum, ['executions', 'legacy', 'custom']);
  assert.equal(d('apiVersion'), '');
  assert.equal(d('customPath'), '{language}/execute');
  assert.deepEqual(p['azureSessions.auth'].enum, ['auto', 'azure-cli', 'managed-identity', 'none']);
  assert.equal(d('auth'), 'auto');
  assert.equal(d('timeoutSeconds'), 220);
  assert.equal(p['azureSessions.timeoutSeconds'].minimum, 1);
  assert.equal(p['azureSessions.timeoutSeconds'].maximum, 3600);
  assert.equal(d('coldStartTimeoutSeconds'), 60);
  assert.equal(p['azureSessions.coldStartTimeoutSeconds'].minimum, 0);
  assert.equal(p['azureSessions.coldStartTimeoutSeconds'].maximum, 600);
  assert.equal(d('sessionScope'), 'workspace');
  assert.equal(d('diagnostics'), 'all');
  assert.equal(d('cellMarker'), '^\\s*(#|//)\\s*%%');
  assert.equal(d('proxy'), '');
  assert.deepEqual(d('extraCaCertificates'), []);
  assert.equal(d('prewarm'), true);
});

test('engines and activation', () => {
  assert.match(pkg.engines.vscode, /^\^1\.(\d+)\.0$/);
  const minor = Number(/^\^1\.(\d+)/.exec(pkg.engines.vscode)[1]);
  assert.ok(minor <= 100, 'engines.vscode must accept VS Code 1.100 (code-server 4.100.3, used by the e2e test)');
  const typesVersion = JSON.parse(fs.readFileSync(path.join(extRoot, 'node_modules/@types/vscode/package.json'), 'utf8')).version;
  assert.ok(Number(typesVersion.split('.')[1]) <= minor, `@types/vscode ${typesVersion} is newer than engines.vscode`);
  assert.ok(pkg.activationEvents.includes('onLanguage:python'));
  assert.ok(pkg.activationEvents.includes('onLanguage:javascript'));
  assert.equal(pkg.main, './dist/extension.js');
});

test('the languages the server maps (src/languages.ts) activate the extension', () => {
  const src = fs.readFileSync(path.join(extRoot, 'src', 'languages.ts'), 'utf8');
  const table = src.slice(src.indexOf('POOL_LANGUAGES'), src.indexOf('};', src.indexOf('POOL_LANGUAGES')));
  const ids = [...table.matchAll(/^\s+'?([a-z0-9_-]+)'?:/gm)].map((m) => m[1]);
  assert.ok(ids.includes('cpp') && ids.includes('rust'), `no language table in src/languages.ts: ${ids.join(', ')}`);
  assert.deepEqual(pkg.activationEvents, ids.map((id) => `onLanguage:${id}`));
});

test('Run File/Cell with Input… are in the palette, the run menu and the context menu, where stdin is taken', () => {
  const stdinGate = /\b(editorLangId|resourceLangId) in azureSessions\.stdinLanguages\b/;
  const palette = c.menus.commandPalette;
  for (const id of ['azureSessions.runFileWithInput', 'azureSessions.runCellWithInput']) {
    const entry = palette.find((e) => e.command === id);
    assert.ok(entry, `${id} is not in the command palette menu`);
    assert.match(entry.when, stdinGate);
    assert.match(entry.when, /isWorkspaceTrusted/);
    assert.ok(c.menus['azureSessions.editorContext'].some((e) => e.command === id && stdinGate.test(e.when ?? '')), `${id} is not in the editor context submenu`);
  }
  const run = c.menus['editor/title/run'].find((e) => e.command === 'azureSessions.runFileWithInput');
  assert.ok(run, 'Run File with Input… is not in the editor title run menu');
  assert.match(run.when, stdinGate);
  assert.match(c.configuration.properties['azureSessions.stdinFile'].markdownDescription, /Run File with Input…/);
});

test('the run commands apply to Python, JavaScript and the languages the pool runs', () => {
  const runs = ['azureSessions.runSelection', 'azureSessions.runCell', 'azureSessions.runCellAndAdvance', 'azureSessions.runFile'];
  for (const [menu, entries] of Object.entries(c.menus)) {
    for (const e of entries.filter((x) => runs.includes(x.command) && x.when)) {
      assert.match(e.when, /(editorLangId|resourceLangId) in azureSessions\.runnableLanguages/, `${menu}: ${e.command}`);
    }
  }
  for (const k of c.keybindings) {
    assert.match(k.when, /editorLangId in azureSessions\.runnableLanguages/, `keybinding ${k.key}`);
  }
});
