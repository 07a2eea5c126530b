// The MCP server definitions offered to agent mode (src/mcp/definitions.ts, bundled to out/mcp/definitions.js),
// and the package.json contribution that VS Code 1.101+ reads before calling the provider.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import test from 'node:test';

const require = createRequire(import.meta.url);
const { mcpServerConfigs, mcpJsonEntry } = require('../out/mcp/definitions.js');
const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

test('one server per folder, each with its own --workspace', () => {
  const configs = mcpServerConfigs('/bin/azure-sessions-lsp', [
    { name: 'api', path: '/w/api' },
    { name: 'web', path: '/w/web' },
  ]);
  assert.deepEqual(configs, [
    { label: 'Azure Sessions (api)', command: '/bin/azure-sessions-lsp', args: ['mcp', '--workspace', '/w/api'], cwd: '/w/api' },
    { label: 'Azure Sessions (web)', command: '/bin/azure-sessions-lsp', args: ['mcp', '--workspace', '/w/web'], cwd: '/w/web' },
  ]);
  assert.equal(mcpServerConfigs('/b', [{ name: 'only', path: '/w/only' }])[0].label, 'Azure Sessions');
  assert.deepEqual(mcpServerConfigs('/b', []), []);
});

test('the mcp.json entry runs the same command for ${workspaceFolder}', () => {
  assert.deepEqual(mcpJsonEntry('azure-sessions-lsp').servers.azureSessions, {
    type: 'stdio',
    command: 'azure-sessions-lsp',
    args: ['mcp', '--workspace', '${workspaceFolder}'],
  });
});

test('package.json declares the provider the code registers', () => {
  const source = fs.readFileSync(new URL('../src/mcp/provider.ts', import.meta.url), 'utf8');
  const id = /PROVIDER_ID = '([^']+)'/.exec(source)?.[1];
  // 1.101+ reads mcpServerDefinitionProviders; 1.100 (code-server's) modelContextServerCollections,
  // and without it registering throws during activation.
  for (const point of ['mcpServerDefinitionProviders', 'modelContextServerCollections']) {
    const providers = pkg.contributes[point];
    assert.ok(Array.isArray(providers), `contributes.${point}`);
    assert.ok(providers.some((p) => p.id === id && typeof p.label === 'string'), JSON.stringify(providers));
  }
  // A registration that throws anyway is caught: the extension still activates.
  assert.match(source, /try \{\s*registration = lm\.registerMcpServerDefinitionProvider/);
  // Older engines still activate: the API is feature-detected, not required by `engines`.
  assert.match(pkg.engines.vscode, /^\^1\.9\d\./);
  assert.match(source, /typeof lm\?\.registerMcpServerDefinitionProvider !== 'function'/);
});
