// The harness: a private temporary tree (user data, extensions, XDG directories, browser profile,
// workspaces), code-server started in its own process group, headless Chromium through playwright-core,
// their logs, and the cleanup. Kills only what it started: code-server by its process group, Chromium
// through playwright.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { makeTestCa } from './tls.mjs';

export const e2eDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const extRoot = path.resolve(e2eDir, '..');
export const repoRoot = path.resolve(extRoot, '..', '..');
export const artifacts = path.join(repoRoot, 'tests', 'artifacts');
export const codeServer = path.join(e2eDir, 'node_modules', '.bin', 'code-server');
export const browserPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

/** The access token that the test authentication provider (e2e/fake-auth) hands out. */
export const FAKE_TOKEN = 'e2e-fake-token-123';
export const FAKE_AUTH_PROVIDER = 'azure-sessions-test-auth';

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

/**
 * Makes the temporary tree, the throwaway CA (lib/tls.mjs), the user and machine settings and the
 * environment of code-server. `captureOut`: the server is e2e/capture-initialize.mjs.
 */
export async function prepare({ captureOut }) {
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
    multiRoot: path.join(tmp, 'multi-root'),
    fakeAuth: path.join(tmp, 'fake-auth'),
    xdgRuntime: path.join(tmp, 'xdg-runtime'),
    tls: path.join(tmp, 'tls'),
  };
  for (const d of Object.values(dirs)) {
    if (!d.endsWith('.yaml')) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  const h = {
    tmp,
    dirs,
    authCalls: path.join(tmp, 'auth-calls.json'), // written by the test authentication provider
    capturedInit: path.join(tmp, 'initialize-params.json'), // written by e2e/capture-initialize.mjs
    serverLog: path.join(tmp, 'code-server.log'),
    tls: makeTestCa(dirs.tls),
    server: undefined, // code-server, in its own process group
    context: undefined, // the playwright browser context
  };

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
        'azureSessions.extraCaCertificates': [h.tls.ca],
      },
      null,
      2,
    ),
  );
  fs.mkdirSync(path.join(dirs.userData, 'Machine'), { recursive: true });
  fs.writeFileSync(
    path.join(dirs.userData, 'Machine', 'settings.json'),
    JSON.stringify({ 'azureSessions.signInProvider': FAKE_AUTH_PROVIDER, 'azureSessions.extraCaCertificates': [h.tls.ca] }, null, 2),
  );

  h.port = await freePort();
  h.base = `http://127.0.0.1:${h.port}`;
  fs.writeFileSync(dirs.config, `bind-addr: 127.0.0.1:${h.port}\nauth: none\ncert: false\n`);
  h.env = {
    ...process.env,
    XDG_CONFIG_HOME: dirs.xdgConfig,
    XDG_DATA_HOME: dirs.xdgData,
    XDG_CACHE_HOME: dirs.xdgCache,
    XDG_STATE_HOME: dirs.xdgState,
    // The server's private files and local-pool key files go here: nothing from another pool on this
    // machine can give the plain-http pool of step 12 a key.
    XDG_RUNTIME_DIR: dirs.xdgRuntime,
    AZS_E2E_AUTH_LOG: h.authCalls,
  };
  delete h.env.AZURE_SESSIONS_POOL_KEY;
  if (!process.env.AZURE_SESSIONS_LSP_PATH) delete h.env.AZURE_SESSIONS_LSP_PATH;
  if (captureOut) {
    h.env.AZURE_SESSIONS_LSP_PATH = path.join(e2eDir, 'capture-initialize.mjs');
    h.env.AZS_CAPTURE_INITIALIZE = h.capturedInit;
  }
  h.common = ['--config', dirs.config, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
  return h;
}

/** `code-server --install-extension VSIX`; returns its output. */
export function installExtension(h, vsix) {
  return execFileSync(codeServer, [...h.common, '--install-extension', vsix], { env: h.env, encoding: 'utf8', timeout: 60_000 });
}

/** Packages e2e/fake-auth with vsce and installs it; returns { ok, detail }. */
export function installFakeAuth(h) {
  const fakeAuthVsix = path.join(h.dirs.fakeAuth, 'azure-sessions-test-auth.vsix');
  try {
    const vsce = path.join(extRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
    execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', fakeAuthVsix], {
      cwd: path.join(e2eDir, 'fake-auth'),
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = installExtension(h, fakeAuthVsix);
    return { ok: /successfully installed/i.test(out), detail: out.trim().split('\n').pop() };
  } catch (e) {
    return { ok: false, detail: String(e.stderr || e.stdout || e.message).trim().split('\n').slice(-3).join(' ') };
  }
}

/** Starts code-server on `folder` and waits for /healthz; returns whether it answered. */
export async function startCodeServer(h, folder) {
  const logFd = fs.openSync(h.serverLog, 'w');
  h.server = spawn(
    codeServer,
    [...h.common, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--bind-addr', `127.0.0.1:${h.port}`, folder],
    { env: h.env, detached: true, stdio: ['ignore', logFd, logFd] },
  );
  let healthy = false;
  for (let i = 0; i < 100 && !healthy; i++) {
    try {
      healthy = (await fetch(`${h.base}/healthz`)).ok;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return healthy;
}

/** Headless Chromium with a fresh profile; returns its page. */
export async function openBrowser(h) {
  h.context = await chromium.launchPersistentContext(h.dirs.browser, {
    executablePath: browserPath,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  return h.context.pages()[0] ?? (await h.context.newPage());
}

export function killServer(h, signal = 'SIGTERM') {
  if (h.server?.pid) {
    try {
      process.kill(-h.server.pid, signal); // its process group: code-server, its extension hosts, the language servers
    } catch {
      /* gone */
    }
  }
}

async function stopServer(h) {
  const server = h.server;
  if (!server?.pid) return;
  if (server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    killServer(h, 'SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), new Promise((r) => setTimeout(() => r(true), 5000))]);
    if (timedOut) killServer(h, 'SIGKILL');
  } else {
    killServer(h, 'SIGTERM');
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
  if (alive()) killServer(h, 'SIGKILL');
}

/** Prints the tails of code-server's log, the extension hosts' logs and the "Azure Sessions" channel's. */
export function dumpLogs(h) {
  const tail = (file, n = 60) => {
    try {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      return lines.slice(-n).join('\n');
    } catch {
      return '';
    }
  };
  console.log(`--- code-server log (${h.serverLog}) ---\n${tail(h.serverLog, 30)}`);
  const logs = [];
  const walk = (d) => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/Azure Sessions\.log$|exthost\.log$/.test(e.name)) logs.push(p);
    }
  };
  walk(path.join(h.dirs.userData, 'logs'));
  for (const l of logs) console.log(`--- ${path.relative(h.tmp, l)} ---\n${tail(l, 80)}`);
}

/** Closes the browser, stops code-server and removes the temporary tree (unless `keep`). */
export async function cleanup(h, keep) {
  try {
    await Promise.race([h.context?.close(), new Promise((r) => setTimeout(r, 10_000))]);
  } catch {
    /* closed */
  }
  await stopServer(h);
  if (keep) {
    console.log(`e2e: kept ${h.tmp}`);
  } else {
    fs.rmSync(h.tmp, { recursive: true, force: true });
  }
}
