// Worker of the azure-sessions-lsp local pool: one long-lived Node.js interpreter of one session.
//
// Protocol: fd 3 is a socket to the pool (fd 0 is /dev/null, and child processes get only fds 0-2,
// so they can't read requests); requests and replies are JSON lines on it. User output goes to
// fds 1 and 2 (pipes the pool reads; writes to pipes are synchronous on Linux), and the end of an
// execution is marked on both streams with a random marker chosen by the pool.
// Where fd 3 cannot be handed over (Windows), the pool sets AZURE_SESSIONS_WORKER_ADDR (a loopback
// host:port) and AZURE_SESSIONS_WORKER_TOKEN: the worker connects there and sends the token as its
// first line; both variables are removed before any user code runs.
//
// Each execution's code is a script named for that run (`<run-17>`), so a stack frame's file tells
// which run its code is from. Top-level `const`/`let`/`class` become globals (see toplevel.js),
// so running a cell again works.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');
const vm = require('vm');
const { Readable } = require('stream');
const { createRequire } = require('module');
const { rewriteTopLevel } = require('./toplevel.js');

const PROTOCOL_FD = 3;
const RESULT_LIMIT = 1 << 20;

// Node's own globals that user code expects; the vm context brings the JavaScript builtins.
const SHARED_GLOBALS = [
  'console', 'process', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
  'setImmediate', 'clearImmediate', 'queueMicrotask', 'structuredClone', 'URL', 'URLSearchParams',
  'TextEncoder', 'TextDecoder', 'AbortController', 'AbortSignal', 'Event', 'EventTarget', 'atob',
  'btoa', 'fetch', 'Headers', 'Request', 'Response', 'FormData', 'Blob', 'performance', 'crypto',
  'WebAssembly',
];

const sandbox = {};
for (const name of SHARED_GLOBALS) {
  if (name in globalThis) sandbox[name] = globalThis[name];
}
sandbox.require = createRequire(path.join(process.cwd(), '__session__.js'));
sandbox.__dirname = process.cwd();
sandbox.__filename = path.join(process.cwd(), '__session__.js');
const context = vm.createContext(sandbox);

// User code gets the execution's stdin as `process.stdin` (empty, ending at once, when the
// request has none).
let currentStdin = Readable.from([]);
Object.defineProperty(process, 'stdin', {
  configurable: true,
  enumerable: true,
  get: () => currentStdin,
});

// Errors of background work must not end the session's interpreter.
process.on('uncaughtException', (err) => process.stderr.write(formatError(err) + '\n'));
process.on('unhandledRejection', (err) => process.stderr.write(formatError(err) + '\n'));

const workerAddr = process.env.AZURE_SESSIONS_WORKER_ADDR;
const workerToken = process.env.AZURE_SESSIONS_WORKER_TOKEN || '';
delete process.env.AZURE_SESSIONS_WORKER_ADDR;
delete process.env.AZURE_SESSIONS_WORKER_TOKEN;
let socket;
if (workerAddr) {
  const at = workerAddr.lastIndexOf(':');
  socket = net.connect(Number(workerAddr.slice(at + 1)), workerAddr.slice(0, at));
  socket.write(workerToken + '\n');
} else {
  socket = new net.Socket({ fd: PROTOCOL_FD, readable: true, writable: true });
}
let pending = '';
let queue = Promise.resolve();
let runs = 0;

socket.setEncoding('utf8');
socket.on('data', (chunk) => {
  pending += chunk;
  let newline;
  while ((newline = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      continue;
    }
    if (request.op === 'exec') queue = queue.then(() => execute(request));
  }
});
socket.on('end', () => process.exit(0));
socket.on('error', () => process.exit(0));

send({ op: 'ready', version: process.versions.node, pid: process.pid });

function send(message) {
  socket.write(JSON.stringify(message) + '\n');
}

function writeAll(fd, text) {
  const data = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < data.length) offset += fs.writeSync(fd, data, offset);
}

async function execute(request) {
  let ok = true;
  let result = '';
  currentStdin = Readable.from(typeof request.stdin === 'string' ? [request.stdin] : []);
  try {
    runs += 1;
    const script = compile(String(request.code ?? ''), `<run-${runs}>`);
    let value = script.runInContext(context, { displayErrors: true });
    if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
      value = await value;
    }
    result = toResult(value);
  } catch (err) {
    ok = false;
    writeAll(2, formatError(err) + '\n');
  }
  const marker = String(request.marker ?? '');
  writeAll(1, marker);
  writeAll(2, marker);
  send({ op: 'done', ok, result });
}

// The rewritten script when it compiles; else the code as written, so that a syntax error is
// reported on the user's own text.
function compile(code, filename) {
  const rewritten = rewriteTopLevel(code);
  if (rewritten !== code) {
    try {
      return new vm.Script(rewritten, { filename });
    } catch {
      // Fall through to the original.
    }
  }
  return new vm.Script(code, { filename });
}

function toResult(value) {
  if (value === undefined) return '';
  try {
    const text = JSON.stringify(value);
    if (text !== undefined && text.length <= RESULT_LIMIT) return JSON.parse(text);
  } catch {
    // Not serializable (BigInt, cycles): fall back to the inspected form.
  }
  return util.inspect(value).slice(0, RESULT_LIMIT);
}

// The stack as Node prints it, without the frames of the vm module and of this worker.
function formatError(err) {
  if (err === null || (typeof err !== 'object' && typeof err !== 'function')) {
    return 'Uncaught ' + util.inspect(err);
  }
  const stack = typeof err.stack === 'string' ? err.stack : String(err);
  return stack
    .split('\n')
    .filter((line) => !(/^\s+at /.test(line) && (line.includes('node:') || line.includes(__filename))))
    .join('\n');
}
