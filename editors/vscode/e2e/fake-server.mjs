#!/usr/bin/env node
// A stand-in for azure-sessions-lsp that speaks the same protocol (a subset) and runs Python locally.
// Only for checking the extension and the e2e harness when the real server is not built:
//   AZURE_SESSIONS_LSP_PATH=editors/vscode/e2e/fake-server.mjs node e2e/run.mjs --vsix X
// It is never packaged and never used unless pointed at explicitly.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

if (process.argv.includes('--version')) {
  console.log('azure-sessions-lsp 0.0.0-fake');
  process.exit(0);
}

const docs = new Map();
const MARKER = /^\s*(#|\/\/)\s*%%/;
let nextId = 1;
const remoteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-azs-files-'));
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-azs-runs-'));
process.on('exit', () => {
  fs.rmSync(remoteDir, { recursive: true, force: true });
  fs.rmSync(runDir, { recursive: true, force: true });
});

// One session per workspace folder (as with the real server's default sessionScope "workspace"), each
// with its own transcript; documents outside every folder share "fake-session".
let folders = []; // workspace folder URIs, from initialize
const transcripts = new Map(); // session name -> entries
function sessionOf(uri) {
  const folder = folders.find((f) => uri === f || (typeof uri === 'string' && uri.startsWith(`${f.replace(/\/+$/, '')}/`)));
  return folder ? `fake-${decodeURIComponent(folder.replace(/\/+$/, '').split('/').pop())}` : 'fake-session';
}
const outputUri = (session) => `azure-sessions://output/${session}`;
function transcriptOf(session) {
  if (!transcripts.has(session)) transcripts.set(session, []);
  return transcripts.get(session);
}
/** Appends to the transcript of `uri`'s session and tells the editor; returns the transcript's URI. */
function record(uri, entry) {
  const session = sessionOf(uri);
  transcriptOf(session).push(entry);
  notify('azure-sessions/outputChanged', { uri: outputUri(session) });
  return outputUri(session);
}
const cancels = new Map(); // work-done progress token -> cancel the run
process.on('SIGTERM', () => process.exit(0));

function send(msg) {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }), 'utf8');
  process.stdout.write(`Content-Length: ${body.length}\r\n\r\n`);
  process.stdout.write(body);
}
const notify = (method, params) => send({ method, params });
const pending = new Map(); // our requests to the editor, by id
function request(method, params) {
  const id = `s${nextId++}`;
  send({ id, method, params });
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

function cellRange(lines, line) {
  let start = 0;
  for (let i = line; i >= 0; i--) if (MARKER.test(lines[i] ?? '')) { start = i; break; }
  let end = lines.length;
  for (let i = line + 1; i < lines.length; i++) if (MARKER.test(lines[i])) { end = i; break; }
  return [start, end];
}

let endpoint = 'local';
let extraCaCertificates = []; // PEM files trusted for https pools besides Node's own roots
let clientTokens = false; // initializationOptions.tokenProvider = "client": the editor provides tokens
let cachedToken; // {token, expiresOn}: kept until five minutes before it expires, like the real server

function applySettings(section) {
  if (!section || typeof section !== 'object') return;
  if (typeof section.endpoint === 'string') endpoint = section.endpoint;
  if (Array.isArray(section.extraCaCertificates)) extraCaCertificates = section.extraCaCertificates.filter((p) => typeof p === 'string');
}

const isLoopback = (host) => host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** POST a JSON body; https trusts the system roots and azureSessions.extraCaCertificates. */
function post(url, headers, body) {
  const secure = url.protocol === 'https:';
  const options = { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } };
  if (secure) options.ca = [...tls.rootCertificates, ...extraCaCertificates.map((f) => fs.readFileSync(f, 'utf8'))];
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(url, options, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A remote pool: POST {endpoint}/executions. Like the real server, the editor's token goes only over
// https (https://localhost:PORT in the e2e test); plain http is for loopback only and gets no token.
async function remoteRun(uri, code) {
  notify('azure-sessions/status', { uri, state: 'running', message: 'running' });
  const url = new URL(`${endpoint.replace(/\/+$/, '')}/executions`);
  url.searchParams.set('api-version', '2025-10-02-preview');
  url.searchParams.set('identifier', 'fake-session');
  const secure = url.protocol === 'https:';
  if (!secure && !isLoopback(url.hostname)) {
    const message = `azureSessions.endpoint ${url.protocol}//${url.host} is refused: plain http:// is allowed only to a loopback address`;
    notify('azure-sessions/status', { uri, state: 'error', message });
    throw Object.assign(new Error(message), { code: -32603 });
  }
  const headers = { 'content-type': 'application/json' };
  if (clientTokens && secure) {
    if (!cachedToken || cachedToken.expiresOn - 300 < Date.now() / 1000) {
      cachedToken = await request('azure-sessions/getAccessToken', { scopes: ['https://dynamicsessions.io/.default'] });
    }
    headers.authorization = `Bearer ${cachedToken.token}`;
  }
  const res = await post(url, headers, JSON.stringify({ code, codeInputType: 'Inline', executionType: 'Synchronous' }));
  if (res.status < 200 || res.status > 299) throw new Error(`the pool answered ${res.status}`);
  const body = JSON.parse(res.text);
  const r = body.result ?? {};
  const outcome = { status: body.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', result: r.executionResult ?? null, executionTimeMs: r.executionTimeInMilliseconds ?? null };
  notify('textDocument/publishDiagnostics', { uri, diagnostics: [] });
  const runs = transcriptOf(sessionOf(uri)).length;
  outcome.outputUri = record(uri, `── run ${runs + 1} · ${path.basename(uri)} · ${outcome.status} · ${url.host}\n${outcome.stdout}${outcome.stderr}`);
  notify('azure-sessions/status', { uri, state: outcome.status === 'Succeeded' ? 'succeeded' : 'failed', message: `${outcome.executionTimeMs} ms` });
  return outcome;
}
/** Runs `code` with python3 as cancellable work-done progress (window/workDoneProgress/cancel stops it). */
function runPython(code, title) {
  const id = nextId++;
  const file = path.join(runDir, `run-${id}.py`);
  fs.writeFileSync(file, code);
  const token = `fake-run-${id}`;
  const child = spawn('python3', [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  let cancelled = false;
  cancels.set(token, () => {
    cancelled = true;
    child.kill('SIGKILL');
  });
  request('window/workDoneProgress/create', { token }).then(
    () => notify('$/progress', { token, value: { kind: 'begin', title: 'Azure session', message: title, cancellable: true } }),
    () => {},
  );
  return new Promise((resolve) => {
    child.on('close', (status) => {
      cancels.delete(token);
      fs.rmSync(file, { force: true });
      notify('$/progress', { token, value: { kind: 'end' } });
      resolve({ status, stdout, stderr, cancelled, file });
    });
  });
}

async function run(uri, startLine, code, label) {
  if (/^https?:/.test(endpoint)) return remoteRun(uri, code);
  if (endpoint === '') {
    const message = 'No pool is configured: set azureSessions.endpoint to your session pool\'s management endpoint (or "local").';
    notify('window/showMessage', { type: 1, message });
    notify('azure-sessions/status', { uri, state: 'error', message });
    throw Object.assign(new Error(message), { code: -32603 });
  }
  notify('azure-sessions/status', { uri, state: 'running', message: 'running' });
  const t0 = Date.now();
  const r = await runPython(code, `Running ${label} of ${path.basename(uri)}`);
  const ms = Date.now() - t0;
  if (r.cancelled) {
    // Like the real server: a note in the transcript, status "idle", then RequestCancelled.
    const message = `Stopped waiting for the run of ${label} (cancelled); the code may still be running in the session.`;
    record(uri, `── ${message}\n`);
    notify('azure-sessions/status', { uri, state: 'idle', message });
    throw Object.assign(new Error(message), { code: -32800 });
  }
  const outcome = { status: r.status === 0 ? 'Succeeded' : 'Failed', stdout: r.stdout, stderr: r.stderr, result: null, executionTimeMs: ms };
  const diagnostics = [];
  if (r.status !== 0) {
    const frames = [...r.stderr.matchAll(/File "([^"]+)", line (\d+)/g)].filter((m) => m[1] === r.file);
    const last = r.stderr.trim().split('\n').pop() ?? '';
    const m = /^(\w+(?:\.\w+)*)(?::\s*(.*))?$/.exec(last);
    const line = frames.length ? startLine + Number(frames[frames.length - 1][2]) - 1 : startLine;
    outcome.error = { type: m?.[1] ?? 'Error', message: m?.[2] ?? last, line };
    diagnostics.push({ range: { start: { line, character: 0 }, end: { line, character: 1000 } }, severity: 1, source: 'azure-sessions', message: `${outcome.error.type}: ${outcome.error.message}` });
  }
  notify('textDocument/publishDiagnostics', { uri, diagnostics });
  const runs = transcriptOf(sessionOf(uri)).length;
  outcome.outputUri = record(uri, `── run ${runs + 1} · ${path.basename(uri)} line ${startLine + 1} · ${outcome.status} · ${ms} ms\n${r.stdout}${r.stderr}`);
  notify('azure-sessions/status', { uri, state: r.status === 0 ? 'succeeded' : 'failed', message: outcome.error?.type ?? `${ms} ms` });
  return outcome;
}

function handle(msg) {
  const { id, method, params } = msg;
  if (method === undefined) {
    // A response to one of our requests.
    const p = pending.get(id);
    pending.delete(id);
    if (msg.error) p?.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
    else p?.resolve(msg.result);
    return;
  }
  const reply = (result) => {
    if (result instanceof Promise) {
      result.then(
        (r) => send({ id, result: r }),
        (e) => send({ id, error: { code: e.code ?? -32603, message: e.message } }),
      );
    } else {
      send({ id, result });
    }
  };
  switch (method) {
    case 'initialize':
      clientTokens = params.initializationOptions?.tokenProvider === 'client';
      folders = (params.workspaceFolders ?? []).map((f) => f.uri).sort((x, y) => y.length - x.length);
      applySettings(params.initializationOptions?.azureSessions);
      return reply({
        capabilities: {
          textDocumentSync: 1,
          codeLensProvider: {},
          executeCommandProvider: {
            commands: ['azure-sessions.run', 'azure-sessions.runCell', 'azure-sessions.resetSession', 'azure-sessions.sessionInfo', 'azure-sessions.uploadFile', 'azure-sessions.listFiles', 'azure-sessions.downloadFile'],
          },
        },
        serverInfo: { name: 'azure-sessions-lsp (fake)', version: '0.0.0' },
      });
    case 'initialized':
      request('workspace/configuration', { items: [{ section: 'azureSessions' }] }).then(
        (r) => applySettings(Array.isArray(r) ? r[0] : undefined),
        () => {},
      );
      return;
    case 'workspace/didChangeConfiguration':
      applySettings(params.settings?.azureSessions);
      return;
    case 'window/workDoneProgress/cancel':
      cancels.get(params.token)?.();
      return;
    case 'shutdown':
      return reply(null);
    case 'exit':
      process.exit(0);
      return;
    case 'textDocument/didOpen':
      docs.set(params.textDocument.uri, params.textDocument.text);
      return;
    case 'textDocument/didChange':
      docs.set(params.textDocument.uri, params.contentChanges.at(-1).text);
      return;
    case 'textDocument/codeLens': {
      const lines = (docs.get(params.textDocument.uri) ?? '').split('\n');
      const lenses = [];
      lines.forEach((l, i) => {
        if (MARKER.test(l)) lenses.push({ range: { start: { line: i, character: 0 }, end: { line: i, character: 0 } }, command: { title: '▶ Run cell', command: 'azure-sessions.runCell', arguments: [{ uri: params.textDocument.uri, position: { line: i, character: 0 } }] } });
      });
      return reply(lenses);
    }
    case 'workspace/executeCommand': {
      const arg = params.arguments?.[0] ?? {};
      const lines = (docs.get(arg.uri) ?? '').split('\n');
      if (params.command === 'azure-sessions.run') {
        const r = arg.range;
        if (!r) return reply(run(arg.uri, 0, lines.join('\n'), 'the file'));
        if (r.start.line === r.end.line && r.start.character === r.end.character) return reply(run(arg.uri, r.start.line, lines[r.start.line], `line ${r.start.line + 1}`));
        return reply(run(arg.uri, r.start.line, lines.slice(r.start.line, r.end.line + 1).join('\n'), `lines ${r.start.line + 1}-${r.end.line + 1}`));
      }
      if (params.command === 'azure-sessions.runCell') {
        const [s, e] = cellRange(lines, arg.position.line);
        return reply(run(arg.uri, s, lines.slice(s, e).join('\n'), `cell at lines ${s + 1}-${e}`));
      }
      if (params.command === 'azure-sessions.sessionInfo') {
        const session = sessionOf(arg.uri);
        return reply({ endpoint: 'local', api: 'executions', scope: 'workspace', identifier: session, runs: transcriptOf(session).length, lastRunAt: null, outputUri: outputUri(session) });
      }
      if (params.command === 'azure-sessions.resetSession') return reply({ identifierChanged: true });
      if (params.command === 'azure-sessions.uploadFile') {
        const name = arg.remoteName ?? path.basename(fileURLToPath(arg.uri));
        fs.copyFileSync(fileURLToPath(arg.uri), path.join(remoteDir, name));
        return reply({ name, size: fs.statSync(path.join(remoteDir, name)).size });
      }
      if (params.command === 'azure-sessions.listFiles') {
        return reply(fs.readdirSync(remoteDir).map((name) => ({ name, size: fs.statSync(path.join(remoteDir, name)).size, lastModified: new Date().toISOString() })));
      }
      if (params.command === 'azure-sessions.downloadFile') {
        fs.copyFileSync(path.join(remoteDir, arg.remoteName), fileURLToPath(arg.targetUri));
        return reply({ targetUri: arg.targetUri, size: fs.statSync(fileURLToPath(arg.targetUri)).size });
      }
      return send({ id, error: { code: -32602, message: `unknown command ${params.command}` } });
    }
    case 'azure-sessions/output': {
      const session = /^azure-sessions:\/\/output\/(.+)$/.exec(params.uri ?? '')?.[1];
      return reply({ text: (session && transcripts.get(session)?.join('\n')) || '(no runs yet)\n' });
    }
    default:
      if (id !== undefined) send({ id, error: { code: -32601, message: `${method} not handled` } });
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
    const msg = JSON.parse(body);
    try {
      handle(msg);
    } catch (e) {
      if (msg.id !== undefined) send({ id: msg.id, error: { code: e.code ?? -32603, message: e.message } });
    }
  }
});
