// End-to-end test of the Azure Sessions extension in real VS Code: code-server (VS Code 1.100) with the
// packaged VSIX installed, driven by headless Chromium through playwright-core, against the local pool;
// then signIn = "vscode" against a fake remote pool over https (a certificate from a throwaway CA made
// here with openssl), with a test authentication provider (e2e/fake-auth), and a fake plain-http
// loopback pool that must get no token.
//
//   node e2e/run.mjs --vsix PATH [--screenshot NAME.png] [--keep]
//   node e2e/run.mjs --vsix PATH --capture-initialize OUT.json
//
// The language server is the one bundled in the VSIX, unless AZURE_SESSIONS_LSP_PATH is set.
// Writes tests/artifacts/vscode-e2e.png (repository root). Prints one line per check and exits 1 when any fails.
// --capture-initialize: the server is e2e/capture-initialize.mjs, which records the `initialize` params
// VS Code sends; they are written to OUT.json with the workspace path replaced by ${WORKSPACE}
// (tests/fixtures/initialize-vscode-*.json, replayed by the Rust test initialization_payloads_of_real_editors_work).
// Kills only what it started: code-server by its process group, Chromium through playwright.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const extRoot = path.resolve(here, '..');
const repoRoot = path.resolve(extRoot, '..', '..');
const artifacts = path.join(repoRoot, 'tests', 'artifacts');
const OVERALL_TIMEOUT_MS = 210_000;
/** The access token that the test authentication provider (e2e/fake-auth) hands out. */
const FAKE_TOKEN = 'e2e-fake-token-123';
const FAKE_AUTH_PROVIDER = 'azure-sessions-test-auth';

const args = process.argv.slice(2);
const screenshotName = args.indexOf('--screenshot') >= 0 ? args[args.indexOf('--screenshot') + 1] : 'vscode-e2e.png';
const screenshot = path.join(artifacts, path.basename(screenshotName));
const vsixArg = args.indexOf('--vsix') >= 0 ? args[args.indexOf('--vsix') + 1] : process.env.VSIX;
const keep = args.includes('--keep');
const captureOut = args.indexOf('--capture-initialize') >= 0 ? path.resolve(args[args.indexOf('--capture-initialize') + 1] ?? '') : undefined;
if (!vsixArg || !fs.existsSync(vsixArg)) {
  console.error(`e2e: pass --vsix PATH to a packaged extension (got ${vsixArg ?? 'nothing'})`);
  process.exit(2);
}
const vsix = path.resolve(vsixArg);
const codeServer = path.join(here, 'node_modules', '.bin', 'code-server');
const browserPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!fs.existsSync(codeServer) || !browserPath) {
  console.error('e2e: code-server (npm ci in editors/vscode/e2e) or /usr/bin/chromium is missing: run editors/vscode/scripts/test.sh');
  process.exit(2);
}

const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'PASS' : 'FAIL'} e2e: ${name}${detail ? ` — ${detail}` : ''}`);
  return ok;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'azs-vscode-e2e-'));
const dirs = {
  userData: path.join(tmp, 'user-data'),
  extensions: path.join(tmp, 'extensions'),
  config: path.join(tmp, 'config.yaml'),
  xdgConfig: path.join(tmp, 'xdg-config'),
  xdgData: path.join(tmp, 'xdg-data'),
  xdgCache: path.join(tmp, 'xdg-cache'),
  xdgState: path.join(tmp, 'xdg-state'),
  browser: path.join(tmp, 'browser'),
  workspace: path.join(tmp, 'workspace'),
  fakeAuth: path.join(tmp, 'fake-auth'),
  xdgRuntime: path.join(tmp, 'xdg-runtime'),
  tls: path.join(tmp, 'tls'),
};
const authCalls = path.join(tmp, 'auth-calls.json'); // written by the test authentication provider
const capturedInit = path.join(tmp, 'initialize-params.json'); // written by e2e/capture-initialize.mjs
for (const d of Object.values(dirs)) {
  if (!d.endsWith('.yaml')) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
}

// TLS for the fake remote pool of step 12: a throwaway CA, and a leaf for localhost/127.0.0.1 that it
// signs (rustls refuses a self-signed leaf used as its own CA). The server trusts the CA only through
// the machine-scoped azureSessions.extraCaCertificates (below).
const tls = { ca: path.join(dirs.tls, 'ca.pem'), key: path.join(dirs.tls, 'localhost.key'), cert: path.join(dirs.tls, 'localhost.pem') };
let tlsError = '';
try {
  const openssl = ['/usr/bin/openssl', 'openssl'].find((p) => !p.startsWith('/') || fs.existsSync(p));
  const inTls = (file) => path.join(dirs.tls, file);
  fs.writeFileSync(
    inTls('openssl.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = azure-sessions-lsp e2e throwaway CA',
      '[ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[leaf]',
      'subjectAltName = DNS:localhost, IP:127.0.0.1',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const run = (...a) => execFileSync(openssl, a, { cwd: dirs.tls, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-config', inTls('openssl.cnf'), '-x509', ...ec, '-keyout', inTls('ca.key'), '-out', tls.ca, '-days', '2', '-extensions', 'ca');
  run('req', '-config', inTls('openssl.cnf'), '-new', ...ec, '-keyout', tls.key, '-out', inTls('localhost.csr'), '-subj', '/CN=localhost');
  const serial = `0x${crypto.randomBytes(8).toString('hex')}`;
  run('x509', '-req', '-in', inTls('localhost.csr'), '-CA', tls.ca, '-CAkey', inTls('ca.key'), '-set_serial', serial, '-days', '2',
    '-extfile', inTls('openssl.cnf'), '-extensions', 'leaf', '-out', tls.cert);
} catch (e) {
  tlsError = String(e.stderr || e.message).trim().split('\n').slice(-3).join(' ');
}

// The workspace: a Python file with a line, a cell and a failing cell; the local pool.
const DEMO = [
  'print("line-run", 6 * 7)', // 1
  '', // 2
  '# %% first cell', // 3
  'x = 6 * 7', // 4
  'print("cell-run", x + 1, "e2e".upper())', // 5
  '', // 6
  '# %% failing cell', // 7
  'y = 1', // 8
  'z = y / 0', // 9
  'print("unreachable")', // 10
  '',
].join('\n');
const FAILING_LINE = 9; // one-based, as shown in the gutter
fs.mkdirSync(path.join(dirs.workspace, '.vscode'), { recursive: true });
fs.writeFileSync(
  path.join(dirs.workspace, '.vscode', 'settings.json'),
  JSON.stringify({ 'azureSessions.endpoint': 'local', 'azureSessions.trace.server': 'messages' }, null, 2),
);
fs.writeFileSync(path.join(dirs.workspace, 'demo.py'), DEMO);
fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
fs.writeFileSync(
  path.join(dirs.userData, 'User', 'settings.json'),
  JSON.stringify(
    {
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'extensions.ignoreRecommendations': true,
      'update.mode': 'none',
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'security.workspace.trust.enabled': false,
      'editor.codeLens': true,
      'chat.commandCenter.enabled': false,
      // Machine-scoped: read from user settings, and in code-server (a remote window) from
      // <user-data>/Machine/settings.json. Used only once signIn = "vscode" and a token is needed (step 12).
      'azureSessions.signInProvider': FAKE_AUTH_PROVIDER,
      // Machine-scoped too: the CA of the fake https pool of step 12.
      'azureSessions.extraCaCertificates': [tls.ca],
    },
    null,
    2,
  ),
);
fs.mkdirSync(path.join(dirs.userData, 'Machine'), { recursive: true });
fs.writeFileSync(
  path.join(dirs.userData, 'Machine', 'settings.json'),
  JSON.stringify({ 'azureSessions.signInProvider': FAKE_AUTH_PROVIDER, 'azureSessions.extraCaCertificates': [tls.ca] }, null, 2),
);

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

const port = await freePort();
fs.writeFileSync(dirs.config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
const env = {
  ...process.env,
  XDG_CONFIG_HOME: dirs.xdgConfig,
  XDG_DATA_HOME: dirs.xdgData,
  XDG_CACHE_HOME: dirs.xdgCache,
  XDG_STATE_HOME: dirs.xdgState,
  // The server's private files and local-pool key files go here: nothing from another pool on this
  // machine can give the plain-http pool of step 12 a key.
  XDG_RUNTIME_DIR: dirs.xdgRuntime,
  AZS_E2E_AUTH_LOG: authCalls,
};
delete env.AZURE_SESSIONS_POOL_KEY;
if (!process.env.AZURE_SESSIONS_LSP_PATH) delete env.AZURE_SESSIONS_LSP_PATH;
if (captureOut) {
  env.AZURE_SESSIONS_LSP_PATH = path.join(here, 'capture-initialize.mjs');
  env.AZS_CAPTURE_INITIALIZE = capturedInit;
}
const common = ['--config', dirs.config, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];

let server; // code-server, in its own process group
let context; // playwright browser context
const pools = []; // the fake pools of step 12

// A fake pool: POST /executions succeeds with `stdout`, everything else (GET /session …) is 404. Over
// https with the leaf certificate made above when `secure`, else plain http; on 127.0.0.1 either way.
// It records each request's method, path and Authorization header in `requests` (in memory only).
function startFakePool({ secure, stdout }) {
  const requests = [];
  return new Promise((resolve, reject) => {
    const handler = (req, res) => {
      req.resume();
      req.on('end', () => {
        const url = new URL(req.url, 'http://127.0.0.1');
        requests.push({ method: req.method, path: url.pathname, authorization: req.headers.authorization ?? null });
        if (req.method === 'POST' && url.pathname === '/executions') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              id: 'e',
              identifier: 'i',
              executionType: 'Synchronous',
              status: 'Succeeded',
              result: { stdout, stderr: '', executionResult: null, executionTimeInMilliseconds: 1 },
            }),
          );
        } else {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'NotFound', message: `${req.method} ${url.pathname} is not here` } }));
        }
      });
    };
    const srv = secure ? https.createServer({ key: fs.readFileSync(tls.key), cert: fs.readFileSync(tls.cert) }, handler) : http.createServer(handler);
    pools.push(srv);
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve({ port: srv.address().port, requests }));
  });
}
const serverLog = path.join(tmp, 'code-server.log');

function killServer(signal = 'SIGTERM') {
  if (server?.pid) {
    try {
      process.kill(-server.pid, signal); // its process group: code-server, its extension host, the language server
    } catch {
      /* gone */
    }
  }
}

async function stopServer() {
  if (!server?.pid) return;
  if (server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    killServer('SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), new Promise((r) => setTimeout(() => r(true), 5000))]);
    if (timedOut) killServer('SIGKILL');
  } else {
    killServer('SIGTERM');
  }
  // Anything left in the group (an extension host or language server that outlived code-server)
  // gets two seconds to exit after the SIGTERM, then SIGKILL.
  const alive = () => {
    try {
      process.kill(-server.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 20 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) killServer('SIGKILL');
}

function dumpLogs() {
  const tail = (file, n = 60) => {
    try {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      return lines.slice(-n).join('\n');
    } catch {
      return '';
    }
  };
  console.log(`--- code-server log (${serverLog}) ---\n${tail(serverLog, 30)}`);
  const logs = [];
  const walk = (d) => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/Azure Sessions\.log$|exthost\.log$/.test(e.name)) logs.push(p);
    }
  };
  walk(path.join(dirs.userData, 'logs'));
  for (const l of logs) console.log(`--- ${path.relative(tmp, l)} ---\n${tail(l, 80)}`);
}

async function cleanup() {
  try {
    await Promise.race([context?.close(), new Promise((r) => setTimeout(r, 10_000))]);
  } catch {
    /* closed */
  }
  await stopServer();
  for (const srv of pools) {
    srv.closeAllConnections();
    srv.close();
  }
  if (keep) {
    console.log(`e2e: kept ${tmp}`);
  } else {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    console.log(`e2e: ${sig}, stopping`);
    killServer('SIGTERM');
    setTimeout(() => {
      killServer('SIGKILL');
      if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
      process.exit(1);
    }, 1000);
  });
}

const deadline = setTimeout(async () => {
  check('finished within the overall timeout', false, `${OVERALL_TIMEOUT_MS / 1000} s`);
  dumpLogs();
  await Promise.race([cleanup(), new Promise((r) => setTimeout(r, 15_000))]);
  killServer('SIGKILL');
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

async function main() {
  // Install the VSIX.
  const installOut = execFileSync(codeServer, [...common, '--install-extension', vsix], { env, encoding: 'utf8', timeout: 60_000 });
  check('the VSIX installs into code-server', /successfully installed/i.test(installOut), installOut.trim().split('\n').pop());

  // The test authentication provider (e2e/fake-auth), packaged here with vsce and installed beside it.
  const fakeAuthVsix = path.join(dirs.fakeAuth, 'azure-sessions-test-auth.vsix');
  if (!captureOut) {
    let authOk = false;
    let authDetail = '';
    try {
      const vsce = path.join(extRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
      execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', fakeAuthVsix], {
        cwd: path.join(here, 'fake-auth'),
        encoding: 'utf8',
        timeout: 60_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out = execFileSync(codeServer, [...common, '--install-extension', fakeAuthVsix], { env, encoding: 'utf8', timeout: 60_000 });
      authOk = /successfully installed/i.test(out);
      authDetail = out.trim().split('\n').pop();
    } catch (e) {
      authDetail = String(e.stderr || e.stdout || e.message).trim().split('\n').slice(-3).join(' ');
    }
    check(`the test authentication provider "${FAKE_AUTH_PROVIDER}" (e2e/fake-auth) packages and installs`, authOk, authDetail);
    check(
      'openssl makes a throwaway CA and a certificate for localhost/127.0.0.1 that it signs (for the https pool of step 12)',
      !tlsError && [tls.ca, tls.key, tls.cert].every((f) => fs.existsSync(f)),
      tlsError,
    );
  }

  // Start code-server.
  const logFd = fs.openSync(serverLog, 'w');
  server = spawn(
    codeServer,
    [...common, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--bind-addr', `127.0.0.1:${port}`, dirs.workspace],
    { env, detached: true, stdio: ['ignore', logFd, logFd] },
  );
  const base = `http://127.0.0.1:${port}`;
  let healthy = false;
  for (let i = 0; i < 100 && !healthy; i++) {
    try {
      healthy = (await fetch(`${base}/healthz`)).ok;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  if (!check('code-server answers /healthz', healthy)) return;

  context = await chromium.launchPersistentContext(dirs.browser, {
    executablePath: browserPath,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${base}/?folder=${encodeURIComponent(dirs.workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });

  // Open demo.py from the explorer.
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'demo.py' });
  await row.first().waitFor({ timeout: 30_000 });
  await row.first().click();
  const pyEditor = page.locator('.editor-instance .monaco-editor[data-uri$="demo.py"]');
  await page.locator('.monaco-editor .view-lines', { hasText: 'line-run' }).first().waitFor({ timeout: 20_000 });

  if (captureOut) {
    // The extension starts e2e/capture-initialize.mjs as its server: save what VS Code sent in `initialize`.
    let got = false;
    for (let i = 0; i < 120 && !got; i++) {
      got = fs.existsSync(capturedInit);
      if (!got) await page.waitForTimeout(250);
    }
    if (!check('the capture server recorded the initialize params', got)) return;
    const raw = fs.readFileSync(capturedInit, 'utf8');
    const workspaceUri = pathToFileURL(dirs.workspace).href; // file:///tmp/azs-vscode-e2e-…/workspace
    const fixture = raw.split(workspaceUri).join('file://${WORKSPACE}').split(dirs.workspace).join('${WORKSPACE}');
    let parsed;
    try {
      parsed = JSON.parse(fixture);
    } catch {
      parsed = undefined;
    }
    const clean = parsed !== undefined && !fixture.includes(tmp) && fixture.includes('${WORKSPACE}');
    if (clean) {
      fs.mkdirSync(path.dirname(captureOut), { recursive: true });
      fs.writeFileSync(captureOut, `${JSON.stringify(parsed, null, 2)}\n`);
    }
    check('the initialize params are saved with the workspace path as ${WORKSPACE}', clean, clean ? `${captureOut} (${parsed.clientInfo?.name} ${parsed.clientInfo?.version})` : raw.slice(0, 300));
    return;
  }

  const statusItem = page.locator('.statusbar-item', { hasText: /Azure session|Error/ });
  const statusText = async () => ((await statusItem.first().textContent({ timeout: 2000 }).catch(() => '')) ?? '').trim();
  const activated = await statusItem.first().waitFor({ timeout: 30_000 }).then(() => true, () => false);
  check('the extension activates on a Python file (status bar item)', activated, await statusText());

  const lens = page.locator('.codelens-decoration', { hasText: /Run cell/i });
  const lensOk = await lens.first().waitFor({ timeout: 30_000 }).then(() => true, () => false);
  check('the server is running: "Run cell" code lenses appear', lensOk, lensOk ? (await lens.first().textContent()).trim() : 'no code lens within 30 s');

  // Focus demo.py's editor (closing any quick input or menu left open first); goToLine then places the cursor.
  const focusEditor = async () => {
    for (let i = 0; i < 2 && (await page.locator('.quick-input-widget').isVisible()); i++) await page.keyboard.press('Escape');
    await pyEditor.locator('.editor-scrollable').first().click({ position: { x: 300, y: 10 }, timeout: 10_000 });
  };
  const palette = async (text) => {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(text);
    if (text.startsWith('>')) {
      // Enter only once the command is the focused entry of the filtered list.
      const title = text.slice(1).split(': ').pop();
      await page
        .locator('.quick-input-list .monaco-list-row.focused', { hasText: title })
        .first()
        .waitFor({ timeout: 10_000 })
        .catch(() => console.log(`e2e: "${title}" is not the first entry of the command palette`));
    } else {
      await page.waitForTimeout(400);
    }
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
  };
  const goToLine = async (line) => {
    await palette(`:${line}`);
    await page.waitForTimeout(200);
  };
  const runCommand = async (title) => {
    await palette(`>Azure Sessions: ${title}`);
  };
  // The text of the editor that shows the session transcript (an azure-sessions:// document).
  const transcriptText = async () => {
    const texts = await page.$$eval('.editor-instance .monaco-editor', (els) =>
      els
        .filter((e) => (e.getAttribute('data-uri') ?? '').startsWith('azure-sessions:'))
        .map((e) => e.querySelector('.view-lines')?.innerText ?? ''),
    );
    return texts.join('\n').replace(/\u00a0/g, ' ');
  };
  const waitFor = async (predicate, ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await predicate()) return true;
      await page.waitForTimeout(250);
    }
    return false;
  };

  // 1. Run the current line.
  await focusEditor();
  await goToLine(1);
  await runCommand('Run Selection/Line in Azure Session');
  const lineOk = await waitFor(async () => (await transcriptText()).includes('line-run 42'), 45_000);
  check('Run Selection/Line: the transcript beside the editor shows its stdout', lineOk, lineOk ? '' : JSON.stringify((await transcriptText()).slice(-300)));
  if (!lineOk && !lensOk) {
    check('the language server works in VS Code (no code lens, no run output: the remaining checks are skipped)', false, await statusText());
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: screenshot });
    return;
  }
  const statusAfterLine = await statusText();
  check('the status bar shows the last run as succeeded with its time', /Azure session\s+\d+(\.\d+)?\s*(s|min)/.test(statusAfterLine), JSON.stringify(statusAfterLine));

  // 2. Run a cell.
  await focusEditor();
  await goToLine(5);
  await runCommand('Run Cell in Azure Session');
  const cellOk = await waitFor(async () => (await transcriptText()).includes('cell-run 43 E2E'), 45_000);
  check('Run Cell: the transcript shows the cell\'s stdout', cellOk, cellOk ? '' : JSON.stringify((await transcriptText()).slice(-300)));

  // 3. Click the server's "Run cell" code lens above the first cell: the cell runs again.
  const count = (text, needle) => text.split(needle).length - 1;
  if (lensOk) {
    await lens.first().locator('a', { hasText: /Run cell/i }).first().click({ timeout: 10_000 });
    const lensRunOk = await waitFor(async () => count(await transcriptText(), 'cell-run 43 E2E') >= 2, 30_000);
    check('the "Run cell" code lens runs the cell', lensRunOk, lensRunOk ? '' : JSON.stringify((await transcriptText()).slice(-300)));
  } else {
    check('the "Run cell" code lens runs the cell', false, 'no code lens to click');
  }

  // 4. Run a cell that raises: an error squiggle on the failing line, and the status bar names the error.
  await focusEditor();
  await goToLine(FAILING_LINE);
  await runCommand('Run Cell in Azure Session');
  // Poll: the decoration is re-rendered while the editor updates, so a single measurement can miss it.
  const squiggle = pyEditor.locator('.squiggly-error');
  const gutter = pyEditor.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^\\s*${FAILING_LINE}\\s*$`) });
  let squiggleDetail = 'no .squiggly-error in demo.py';
  const onLine = await waitFor(async () => {
    const boxes = await Promise.all((await squiggle.all()).map((l) => l.boundingBox({ timeout: 1000 }).catch(() => null)));
    const ln = await gutter.first().boundingBox({ timeout: 1000 }).catch(() => null);
    if (boxes.length === 0 || !ln) return false;
    squiggleDetail = `squiggles at y=${boxes.map((b) => b?.y).join(',')}, line ${FAILING_LINE} at y=${ln.y}`;
    return boxes.some((b) => b && Math.abs(b.y + b.height / 2 - (ln.y + ln.height / 2)) < ln.height);
  }, 45_000);
  check(`a failing cell puts an error squiggle on line ${FAILING_LINE}`, onLine, squiggleDetail);
  const errStatus = await waitFor(async () => /ZeroDivisionError/.test(await statusText()), 10_000);
  check('the status bar names the error', errStatus, JSON.stringify(await statusText()));

  await page.waitForTimeout(500);
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: screenshot });
  check('screenshot saved', fs.existsSync(screenshot), path.relative(repoRoot, screenshot));

  const toast = (re) => page.locator('.notifications-toasts .notification-toast', { hasText: re });
  const clearToasts = async () => {
    await page.keyboard.press('Escape');
    await palette('>Notifications: Clear All Notifications').catch(() => {});
    if (await page.locator('.quick-input-widget').isVisible()) await page.keyboard.press('Escape');
  };

  // 5. Session info: a quick pick with the endpoint and the identifier.
  await focusEditor();
  await runCommand('Show Session Info');
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  const infoOk = await rows.filter({ hasText: 'Identifier' }).first().waitFor({ timeout: 15_000 }).then(() => true, () => false);
  const infoText = infoOk ? ((await rows.allInnerTexts()).join(' | ').replace(/\s+/g, ' ')) : '';
  check('Show Session Info lists the endpoint and the session identifier', infoOk && /Endpoint\s*local/i.test(infoText) && /Identifier\s*[A-Za-z0-9-]{4,}/.test(infoText), infoText.slice(0, 200));
  await page.keyboard.press('Escape');

  // 6. Upload demo.py from the explorer's context menu.
  await row.first().click({ button: 'right' });
  const uploadItem = page.locator('.monaco-menu .action-item', { hasText: 'Upload File to Session' });
  const menuOk = await uploadItem.first().waitFor({ timeout: 10_000 }).then(() => true, () => false);
  if (menuOk) {
    await uploadItem.first().hover();
    await page.waitForTimeout(300);
    await uploadItem.first().locator('.action-label').first().click();
  }
  else await page.keyboard.press('Escape');
  const uploadOk = menuOk && (await toast(/uploaded demo\.py/i).first().waitFor({ timeout: 30_000 }).then(() => true, () => false));
  check('Upload File to Session (explorer context menu) uploads the file', uploadOk, menuOk ? '' : 'no "Upload File to Session" in the explorer context menu');
  await clearToasts();

  // 6b. Upload a file from outside the workspace through the open dialog: it must reach the
  //     session of the document the user is in, not a session of its own (review F1).
  const outsideFile = path.join(tmp, 'outside-data.csv');
  fs.writeFileSync(outsideFile, 'a,b\n');
  await focusEditor();
  await runCommand('Upload File to Session');
  // The open dialog (code-server's simple file dialog) has the command's title; wait for it, not
  // for the palette's input that it replaces.
  const openDialog = page.locator('.quick-input-widget', { hasText: 'Upload File to Azure Session' });
  const openOk = await openDialog.first().waitFor({ timeout: 15_000 }).then(() => true, () => false);
  if (openOk) {
    const openInput = openDialog.first().locator('input').first();
    await page.waitForTimeout(500);
    await openInput.fill(outsideFile);
    await page.waitForTimeout(500);
    await page.keyboard.press('Enter');
  }
  const outsideUploaded = openOk && (await toast(/uploaded outside-data\.csv/i).first().waitFor({ timeout: 30_000 }).then(() => true, () => false));
  await clearToasts();

  // 7. Download it back under another name through the quick pick and the save dialog.
  await focusEditor();
  await runCommand('Download File from Session');
  const fileRow = rows.filter({ hasText: 'demo.py' }).first();
  let downloadOk = await fileRow.waitFor({ timeout: 15_000 }).then(() => true, () => false);
  const listed = downloadOk ? (await rows.allInnerTexts()).join(' | ') : '';
  check(
    'a file uploaded from outside the workspace is in the session of the document the user is in',
    outsideUploaded && listed.includes('outside-data.csv'),
    `open dialog: ${openOk}; uploaded: ${outsideUploaded}; the session lists: ${listed.replace(/\s+/g, ' ').slice(0, 160)}`,
  );
  const target = path.join(dirs.workspace, 'downloaded.py');
  if (downloadOk) {
    await fileRow.click();
    const input = page.locator('.quick-input-widget input');
    await page.waitForTimeout(500);
    await input.waitFor({ timeout: 10_000 });
    await input.fill(target);
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    downloadOk = await waitFor(async () => fs.existsSync(target) && fs.readFileSync(target, 'utf8') === DEMO, 30_000);
  }
  check('Download File from Session saves the remote file', downloadOk, downloadOk ? path.basename(target) : 'the file did not arrive');
  await clearToasts();

  // 8. Reset the session.
  await focusEditor();
  await runCommand('Reset Session');
  const resetOk = await toast(/session was reset/i).first().waitFor({ timeout: 20_000 }).then(() => true, () => false);
  check('Reset Session confirms a new session', resetOk);
  await clearToasts();

  // 9. A settings change reaches the server without a restart: with no endpoint, a run fails with one
  //    message (the server's) that names azureSessions.endpoint, and the status bar shows the error.
  const settingsFile = path.join(dirs.workspace, '.vscode', 'settings.json');
  const saved = fs.readFileSync(settingsFile, 'utf8');
  fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(saved), 'azureSessions.endpoint': '' }, null, 2));
  await page.waitForTimeout(1500);
  await focusEditor();
  await goToLine(1);
  await runCommand('Run Selection/Line in Azure Session');
  const endpointToast = toast(/azureSessions\.endpoint/);
  const named = await endpointToast.first().waitFor({ timeout: 20_000 }).then(() => true, () => false);
  await page.waitForTimeout(1500);
  const shown = await endpointToast.count();
  const warned = await waitFor(async () => (await statusItem.first().locator('.codicon-warning').count()) > 0, 5000);
  check('without an endpoint a run fails with one message naming azureSessions.endpoint (no restart, not shown twice)', named && shown === 1 && warned, `${shown} message(s), status bar warning: ${warned}`);
  await page.screenshot({ path: screenshot.replace(/\.png$/, '-commands.png') });
  fs.writeFileSync(settingsFile, saved);
  await clearToasts();

  // 10. Changing azureSessions.signIn restarts the server (with "tokenProvider": "client"); the local pool
  //     needs no token, so runs go on working.
  fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(saved), 'azureSessions.signIn': 'vscode' }, null, 2));
  const restarted = await toast(/restarting the language server/i).first().waitFor({ timeout: 20_000 }).then(() => true, () => false);
  await waitFor(async () => (await statusItem.first().locator('.codicon-cloud').count()) > 0, 20_000);
  await focusEditor();
  await goToLine(1);
  await runCommand('Run Selection/Line in Azure Session');
  const ranAgain = await waitFor(async () => (await statusItem.first().locator('.codicon-check').count()) > 0, 30_000);
  check('changing azureSessions.signIn restarts the server, and runs work after the restart', restarted && ranAgain, `restart message: ${restarted}, run succeeded: ${ranAgain} (${await statusText()})`);

  // 11. The default key: Ctrl+Alt+Enter runs the current line.
  await waitFor(async () => (await transcriptText()).includes('line-run 42'), 10_000);
  const before = count(await transcriptText(), 'line-run 42');
  await focusEditor();
  await goToLine(1);
  await page.keyboard.press('Control+Alt+Enter');
  const keyOk = await waitFor(async () => count(await transcriptText(), 'line-run 42') > before, 30_000);
  check('Ctrl+Alt+Enter runs the current line', keyOk, `"line-run 42" ${before} time(s) before, ${count(await transcriptText(), 'line-run 42')} after`);

  // 12. signIn = "vscode" against a (fake) remote pool over https: the token comes from VS Code's
  //     authentication API, from the provider that the machine-scoped azureSessions.signInProvider names
  //     (user and machine settings, above); the pool's certificate is trusted through the machine-scoped
  //     azureSessions.extraCaCertificates. The workspace names another provider and a CA file that does
  //     not exist, both of which must be ignored (a workspace cannot set machine-scoped settings). The
  //     LSP trace is verbose, so that it would print the token if the extension did not redact it.
  const pool = await startFakePool({ secure: true, stdout: 'signed in\n' });
  const poolRequests = pool.requests;
  const poolUrl = `https://localhost:${pool.port}`;
  await clearToasts();
  const remoteSettings = {
    ...JSON.parse(saved),
    'azureSessions.endpoint': poolUrl,
    'azureSessions.auth': 'auto',
    'azureSessions.signIn': 'vscode',
    'azureSessions.prewarm': false,
    'azureSessions.trace.server': 'verbose',
    'azureSessions.signInProvider': 'a-workspace-must-not-choose-this',
    'azureSessions.extraCaCertificates': [path.join(tmp, 'a-workspace-must-not-choose-this-ca.pem')],
  };
  fs.writeFileSync(settingsFile, JSON.stringify(remoteSettings, null, 2));
  await page.waitForTimeout(2500);
  // signIn stays "vscode" and VS Code ignores the workspace's signInProvider: no restart.
  const restartedForWorkspace = (await toast(/restarting the language server/i).count()) > 0;
  await waitFor(async () => (await statusItem.first().locator('.codicon-cloud, .codicon-check').count()) > 0, 15_000);
  await focusEditor();
  await goToLine(1);
  await runCommand('Run Selection/Line in Azure Session');
  // VS Code asks (a modal dialog) whether the extension may sign in with the provider: allow it.
  const dialog = page.locator('.monaco-dialog-box', { hasText: /wants to sign in/i });
  const asked = await dialog.first().waitFor({ timeout: 20_000 }).then(() => true, () => false);
  const dialogText = asked ? (await dialog.first().innerText()).replace(/\s+/g, ' ').trim() : '';
  if (asked) await dialog.first().locator('.monaco-button', { hasText: /Allow/ }).first().click({ timeout: 5000 });
  const signedIn = await waitFor(async () => (await transcriptText()).includes('signed in'), 30_000);
  check(
    'signIn = "vscode": VS Code asks to sign in with the provider named in the user settings (not the workspace\'s), and the run shows the pool\'s output',
    asked && dialogText.includes('Azure Sessions Test Auth') && signedIn && !restartedForWorkspace,
    `dialog: ${JSON.stringify(dialogText.slice(0, 160))}, "signed in" shown: ${signedIn}, restarted for the workspace's signInProvider: ${restartedForWorkspace}`,
  );

  await focusEditor();
  await goToLine(1);
  await runCommand('Run Selection/Line in Azure Session');
  const executions = () => poolRequests.filter((r) => r.method === 'POST' && r.path === '/executions');
  await waitFor(async () => executions().length >= 2 && count(await transcriptText(), 'signed in') >= 2, 30_000);
  const bearer = `Bearer ${FAKE_TOKEN}`;
  const execs = executions();
  const others = poolRequests.filter((r) => !execs.includes(r)).map((r) => `${r.method} ${r.path}`);
  check(
    'both runs reached the pool with "Authorization: Bearer <the provider\'s token>"',
    execs.length === 2 && execs.every((r) => r.authorization === bearer),
    `${execs.length} execution(s); Authorization: ${[...new Set(execs.map((r) => (r.authorization === bearer ? 'Bearer <the test token>' : r.authorization === null ? 'none' : 'another value')))].join(', ')}; other requests: ${others.join(', ') || 'none'}`,
  );

  let calls = { getSessions: [], createSession: [] };
  try {
    calls = JSON.parse(fs.readFileSync(authCalls, 'utf8'));
  } catch {
    /* the provider never ran */
  }
  const scoped = calls.getSessions.filter((s) => Array.isArray(s) && s.includes('https://dynamicsessions.io/.default'));
  check(
    'the provider was asked for a token once for the two runs (the server caches it)',
    calls.createSession.length === 1 && scoped.length === 1,
    `createSession ×${calls.createSession.length}, getSessions for the pool's scope ×${scoped.length} (getSessions in all ×${calls.getSessions.length})`,
  );

  // The same signIn = "vscode", now with a plain-http loopback endpoint (a second fake pool, which no
  // local pool's key file names): tokens go only over https, so the run reaches it with no
  // Authorization header, and the provider is not asked for a token again.
  const plainPool = await startFakePool({ secure: false, stdout: 'plain http, no token\n' });
  fs.writeFileSync(settingsFile, JSON.stringify({ ...remoteSettings, 'azureSessions.endpoint': `http://127.0.0.1:${plainPool.port}` }, null, 2));
  await page.waitForTimeout(2500);
  await focusEditor();
  await goToLine(1);
  await runCommand('Run Selection/Line in Azure Session');
  const plainExecutions = () => plainPool.requests.filter((r) => r.method === 'POST' && r.path === '/executions');
  const plainShown = await waitFor(async () => plainExecutions().length >= 1 && (await transcriptText()).includes('plain http, no token'), 30_000);
  let callsAfter = { getSessions: [], createSession: [] };
  try {
    callsAfter = JSON.parse(fs.readFileSync(authCalls, 'utf8'));
  } catch {
    /* the provider never ran */
  }
  const scopedAfter = callsAfter.getSessions.filter((s) => Array.isArray(s) && s.includes('https://dynamicsessions.io/.default'));
  const plainAuth = [...new Set(plainPool.requests.map((r) => (r.authorization === null ? 'none' : r.authorization === bearer ? 'Bearer <the test token>' : 'another value')))];
  check(
    'with a plain http://127.0.0.1 endpoint the run reaches that pool with no Authorization header, and the provider is not asked again',
    plainShown && plainExecutions().length === 1 && plainPool.requests.every((r) => r.authorization === null) &&
      callsAfter.createSession.length === calls.createSession.length && scopedAfter.length === scoped.length,
    `output shown: ${plainShown}; ${plainExecutions().length} execution(s), ${plainPool.requests.length} request(s) in all (${plainPool.requests.map((r) => `${r.method} ${r.path}`).join(', ') || 'none'}); ` +
      `Authorization: ${plainAuth.join(', ') || 'no request'}; createSession ×${callsAfter.createSession.length} (×${calls.createSession.length} before), ` +
      `getSessions for the pool's scope ×${scopedAfter.length} (×${scoped.length} before)`,
  );

  // The token must be in no log (code-server's, the extension host's, the "Azure Sessions" output
  // channel's), no state file and not in the transcript. Not searched: the installed test provider
  // (its source holds the token) and its VSIX.
  await page.waitForTimeout(1500); // log files are written asynchronously
  const notSearched = [dirs.extensions, dirs.fakeAuth, authCalls, path.join(dirs.userData, 'CachedExtensionVSIXs')];
  const needle = Buffer.from(FAKE_TOKEN);
  const leaks = [];
  let searched = 0;
  let traced = false;
  let redacted = false;
  // Chromium and code-server keep writing while this runs: a file (or folder) that disappears between
  // the listing and the read is skipped, since it can hold no token any more; any other error fails.
  const gone = (f) => {
    try {
      return f();
    } catch (e) {
      if (e?.code === 'ENOENT') return undefined;
      throw e;
    }
  };
  const search = (d) => {
    for (const e of gone(() => fs.readdirSync(d, { withFileTypes: true })) ?? []) {
      const p = path.join(d, e.name);
      if (notSearched.includes(p)) continue;
      if (e.isDirectory()) search(p);
      else if (e.isFile() && (gone(() => fs.statSync(p).size) ?? Infinity) < 64 * 1024 * 1024) {
        const data = gone(() => fs.readFileSync(p));
        if (data === undefined) continue;
        searched++;
        if (data.includes(needle)) leaks.push(path.relative(tmp, p));
        if (/Azure Sessions\.log$/.test(e.name)) {
          const text = data.toString('utf8');
          traced ||= text.includes('azure-sessions/getAccessToken');
          redacted ||= text.includes('«token redacted»');
        }
      }
    }
  };
  search(tmp);
  const transcriptLeak = (await transcriptText()).includes(FAKE_TOKEN);
  check(
    'the token is in no log file, output channel or transcript (the verbose LSP trace shows it redacted)',
    leaks.length === 0 && !transcriptLeak && traced,
    `searched ${searched} files under ${path.basename(tmp)}; found in: ${leaks.join(', ') || 'none'}; in the transcript: ${transcriptLeak}; ` +
      `the output channel's log has the getAccessToken exchange: ${traced}, with the token redacted: ${redacted}`,
  );
}

let failed = false;
try {
  await main();
} catch (e) {
  check('the end-to-end run completed without an exception', false, String(e?.message ?? e).split('\n')[0]);
  try {
    const page = context?.pages()[0];
    if (page) {
      fs.mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: screenshot });
      console.log(`e2e: screenshot of the failure in ${path.relative(repoRoot, screenshot)}`);
    }
  } catch {
    /* no page */
  }
}
failed = results.some((r) => !r.ok) || results.length === 0;
if (failed) dumpLogs();
clearTimeout(deadline);
await cleanup();
const passed = results.filter((r) => r.ok).length;
console.log(`e2e: ${passed} passed, ${results.length - passed} failed`);
process.exit(failed ? 1 : 0);
