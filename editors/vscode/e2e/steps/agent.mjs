// Step 4d (local pool): an agent in the user's session. `azure-sessions-lsp mcp`, started as an
// agent's MCP client starts it (stdio, newline-delimited JSON-RPC), runs code through the editor's
// own language server (the per-folder agent socket), and the run shows in the Results panel
// marked as the agent's, with its output.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { check } from '../lib/checks.mjs';
import { repoRoot } from '../lib/code-server.mjs';

/** A minimal MCP client over stdio: request(method, params) → result (or throws its error). */
function mcpClient(bin, workspace, env) {
  const child = spawn(bin, ['mcp', '--workspace', workspace], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const pending = new Map();
  let buffer = '';
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d.toString();
  });
  child.stdout.on('data', (d) => {
    buffer += d.toString();
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        continue;
      }
      const waiter = pending.get(message.id);
      if (waiter) {
        pending.delete(message.id);
        waiter(message);
      }
    }
  });
  let next = 1;
  const send = (message) => child.stdin.write(`${JSON.stringify(message)}\n`);
  return {
    async request(method, params, timeoutMs = 60_000) {
      const id = next++;
      const answer = new Promise((resolve, reject) => {
        pending.set(id, resolve);
        setTimeout(() => reject(new Error(`${method}: no answer in ${timeoutMs} ms; stderr: ${stderr.slice(-500)}`)), timeoutMs);
      });
      send({ jsonrpc: '2.0', id, method, params });
      const message = await answer;
      if (message.error) throw new Error(`${method}: ${JSON.stringify(message.error)}`);
      return message.result;
    },
    notify(method, params) {
      send({ jsonrpc: '2.0', method, params });
    },
    close() {
      child.stdin.end();
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    },
  };
}

function resultsFrame(page) {
  return page.frameLocator('iframe.webview.ready[title="Azure Sessions: Results"], iframe.webview.ready').last().frameLocator('#active-frame');
}

export async function agentRunInResults(wb, { h, demo }) {
  const bin = process.env.AZURE_SESSIONS_LSP_BIN ?? path.join(repoRoot, 'target', 'debug', 'azure-sessions-lsp');
  const client = mcpClient(bin, h.dirs.workspace, h.env);
  let text = '';
  let shared = '';
  try {
    await client.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e-agent', version: '1' } });
    client.notify('notifications/initialized', {});
    const info = await client.request('tools/call', { name: 'session_info', arguments: {} });
    shared = JSON.parse(info.content?.[0]?.text ?? '{}').sharedWith ?? '';
    const ran = await client.request('tools/call', { name: 'run_code', arguments: { code: "print('agent-was-here')" } });
    text = (ran.content ?? []).map((c) => c.text ?? '').join('\n');
  } catch (e) {
    text = String(e);
  } finally {
    client.close();
  }
  check('an agent (azure-sessions-lsp mcp over stdio) runs code through the editor\'s server (sharedWith = editor)', shared === 'editor' && text.includes('agent-was-here'), `sharedWith ${JSON.stringify(shared)}; ${text.slice(0, 300)}`);

  await wb.runCommand('Show Results');
  const frame = resultsFrame(wb.page);
  const run = frame.locator('section.run', { has: frame.locator('header .label', { hasText: 'Agent: code from the agent' }) }).last();
  const shown = await run.locator('pre.stdout', { hasText: 'agent-was-here' }).first().waitFor({ timeout: 20_000 }).then(() => true, () => false);
  const labels = await frame.locator('section.run header .label').allTextContents().catch(() => []);
  check('the agent\'s run shows in the Results panel, marked as the agent\'s, with its output', shown, `labels ${JSON.stringify(labels.slice(-3))}`);

  // As the results step does: close the Results panel and go back to demo.py, so that the later
  // steps find the transcript and the editor where they left them.
  const tab = wb.page.locator('.tabs-container .tab', { hasText: 'Azure Sessions: Results' }).first();
  if (await tab.isVisible().catch(() => false)) {
    await tab.click({ button: 'middle' }).catch(() => {});
  }
  await wb.showFile('demo.py');
  await demo.waitFor({ timeout: 10_000 }).catch(() => {});
}
