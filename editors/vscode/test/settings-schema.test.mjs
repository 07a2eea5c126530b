// package.json's contributes.configuration (azureSessions.*) must agree with the server's own settings
// schema, printed by `azure-sessions-lsp settings-schema`: same keys, types, defaults, enums, min/max.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const extRoot = path.resolve(here, '..');
const repoRoot = path.resolve(extRoot, '..', '..');

/** Settings that only the extension reads; the server does not know them. */
export const EXTENSION_ONLY = [
  'azureSessions.server.path',
  'azureSessions.trace.server',
  'azureSessions.signIn',
  'azureSessions.signInProvider',
  'azureSessions.keybindings.shiftEnter',
  'azureSessions.output.revealOnRun',
  'azureSessions.output.revealResults',
];

function findServer() {
  const candidates = [
    process.env.AZURE_SESSIONS_LSP_PATH,
    path.join(repoRoot, 'target', 'debug', 'azure-sessions-lsp'),
    path.join(repoRoot, 'target', 'release', 'azure-sessions-lsp'),
    path.join(extRoot, 'server', 'azure-sessions-lsp'),
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'azure-sessions-lsp')),
  ].filter(Boolean);
  return candidates.find((c) => {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return fs.statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

function serverSchema() {
  const bin = findServer();
  assert.ok(
    bin,
    'azure-sessions-lsp was not found (AZURE_SESSIONS_LSP_PATH, target/debug, target/release, editors/vscode/server, PATH): ' +
      'run `cargo build` at the repository root first',
  );
  let stdout;
  try {
    stdout = execFileSync(bin, ['settings-schema'], { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    assert.fail(`\`${bin} settings-schema\` failed (does the server implement the subcommand yet?): ${String(e.stderr ?? e.message).trim().slice(0, 500)}`);
  }
  assert.ok(stdout.trim().length > 0, `\`${bin} settings-schema\` printed nothing (does the server implement the subcommand yet?)`);
  try {
    return JSON.parse(stdout);
  } catch (e) {
    assert.fail(`\`${bin} settings-schema\` did not print JSON: ${e.message}; output starts ${JSON.stringify(stdout.slice(0, 200))}`);
  }
}

function contributed() {
  const pkg = JSON.parse(fs.readFileSync(path.join(extRoot, 'package.json'), 'utf8'));
  const props = pkg.contributes.configuration.properties;
  const out = {};
  for (const [key, value] of Object.entries(props)) {
    assert.ok(key.startsWith('azureSessions.'), `${key} is outside the azureSessions section`);
    if (!EXTENSION_ONLY.includes(key)) {
      out[key.slice('azureSessions.'.length)] = value;
    }
  }
  return out;
}

test('every extension-only key listed here is contributed', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(extRoot, 'package.json'), 'utf8'));
  for (const key of EXTENSION_ONLY) {
    assert.ok(pkg.contributes.configuration.properties[key], `${key} is listed as extension-only but not contributed`);
  }
});

test('package.json settings match `azure-sessions-lsp settings-schema`', () => {
  const schema = serverSchema();
  assert.equal(typeof schema, 'object');
  const ours = contributed();
  assert.deepEqual(
    Object.keys(ours).sort(),
    Object.keys(schema).sort(),
    'the azureSessions.* keys in package.json (less the extension-only ones) differ from the server\'s',
  );
  for (const [key, server] of Object.entries(schema)) {
    const mine = ours[key];
    const types = Array.isArray(mine.type) ? mine.type : [mine.type];
    assert.ok(types.includes(server.type), `azureSessions.${key}: type ${JSON.stringify(mine.type)} in package.json, ${server.type} in the server`);
    assert.deepEqual(mine.default, server.default, `azureSessions.${key}: default differs`);
    assert.deepEqual(mine.enum, server.enum, `azureSessions.${key}: enum differs`);
    assert.equal(mine.minimum, server.minimum, `azureSessions.${key}: minimum differs`);
    assert.equal(mine.maximum, server.maximum, `azureSessions.${key}: maximum differs`);
    assert.ok(typeof server.description === 'string' && server.description.length > 0, `azureSessions.${key}: the server gives no description`);
  }
});
