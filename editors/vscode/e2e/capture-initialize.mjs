#!/usr/bin/env node
// A stand-in for azure-sessions-lsp that only records what the editor sends in `initialize`:
// the params of the first `initialize` request go to the file named by $AZS_CAPTURE_INITIALIZE.
// It answers `--version` like the real server, `initialize` with no capabilities and `shutdown`/`exit`.
// Used by `node e2e/run.mjs --vsix X --capture-initialize OUT` to make tests/fixtures/initialize-vscode-*.json.
import fs from 'node:fs';

if (process.argv.includes('--version')) {
  console.log('azure-sessions-lsp 0.1.0');
  process.exit(0);
}
const out = process.env.AZS_CAPTURE_INITIALIZE;
process.on('SIGTERM', () => process.exit(0));

function send(msg) {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }), 'utf8');
  process.stdout.write(`Content-Length: ${body.length}\r\n\r\n`);
  process.stdout.write(body);
}

let captured = false;
function handle({ id, method, params }) {
  if (method === undefined) return; // a response
  switch (method) {
    case 'initialize':
      if (!captured && out) {
        captured = true;
        fs.writeFileSync(`${out}.part`, JSON.stringify(params, null, 2));
        fs.renameSync(`${out}.part`, out); // whole or nothing for the reader polling it
      }
      return send({ id, result: { capabilities: {}, serverInfo: { name: 'azure-sessions-lsp (capture)', version: '0.1.0' } } });
    case 'shutdown':
      return send({ id, result: null });
    case 'exit':
      return process.exit(0);
    default:
      if (id !== undefined) send({ id, error: { code: -32601, message: `${method} is not handled by the capture server` } });
  }
}

let buf = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  for (;;) {
    const sep = buf.indexOf('\r\n\r\n');
    if (sep < 0) return;
    const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, sep).toString())?.[1]);
    if (buf.length < sep + 4 + len) return;
    const body = buf.subarray(sep + 4, sep + 4 + len).toString('utf8');
    buf = buf.subarray(sep + 4 + len);
    handle(JSON.parse(body));
  }
});
process.stdin.on('end', () => process.exit(0));
