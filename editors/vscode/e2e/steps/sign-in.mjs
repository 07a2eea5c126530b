// Step 12: signIn = "vscode" against a (fake) remote pool over https, then a plain-http loopback pool
// that must get no token; last, the token must be in no log, output channel or transcript.
import fs from 'node:fs';
import path from 'node:path';
import { check } from '../lib/checks.mjs';
import { FAKE_TOKEN } from '../lib/code-server.mjs';
import { startFakePool } from '../lib/fake-pool.mjs';
import { count } from '../lib/workbench.mjs';

function readAuthCalls(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return { getSessions: [], createSession: [] }; // the provider never ran
  }
}

/** `h`: the harness (lib/code-server.mjs); `saved`: the workspace settings of the local pool. */
export async function signInWithVsCode(wb, h, { demo, settingsFile, saved }) {
  const { page, statusItem } = wb;
  const { tmp, dirs, authCalls } = h;

  // The token comes from VS Code's authentication API, from the provider that the machine-scoped
  // azureSessions.signInProvider names (user and machine settings, lib/code-server.mjs); the pool's
  // certificate is trusted through the machine-scoped azureSessions.extraCaCertificates. The workspace
  // names another provider and a CA file that does not exist, both of which must be ignored (a workspace
  // cannot set machine-scoped settings). The LSP trace is verbose, so that it would print the token if
  // the extension did not redact it.
  const pool = await startFakePool({ secure: true, stdout: 'signed in\n', tls: h.tls });
  const poolRequests = pool.requests;
  const poolUrl = `https://localhost:${pool.port}`;
  await wb.clearToasts();
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
  const restartedForWorkspace = (await wb.toast(/restarting the language server/i).count()) > 0;
  await wb.waitFor(async () => (await statusItem.first().locator('.codicon-cloud, .codicon-check').count()) > 0, 15_000);
  await wb.focusEditor(demo);
  await wb.goToLine(1);
  await wb.runCommand('Run Selection/Line in Azure Session');
  // VS Code asks (a modal dialog) whether the extension may sign in with the provider: allow it.
  const dialog = page.locator('.monaco-dialog-box', { hasText: /wants to sign in/i });
  const asked = await dialog.first().waitFor({ timeout: 20_000 }).then(() => true, () => false);
  const dialogText = asked ? (await dialog.first().innerText()).replace(/\s+/g, ' ').trim() : '';
  if (asked) await dialog.first().locator('.monaco-button', { hasText: /Allow/ }).first().click({ timeout: 5000 });
  const signedIn = await wb.waitFor(async () => (await wb.transcriptText()).includes('signed in'), 30_000);
  check(
    'signIn = "vscode": VS Code asks to sign in with the provider named in the user settings (not the workspace\'s), and the run shows the pool\'s output',
    asked && dialogText.includes('Azure Sessions Test Auth') && signedIn && !restartedForWorkspace,
    `dialog: ${JSON.stringify(dialogText.slice(0, 160))}, "signed in" shown: ${signedIn}, restarted for the workspace's signInProvider: ${restartedForWorkspace}`,
  );

  await wb.focusEditor(demo);
  await wb.goToLine(1);
  await wb.runCommand('Run Selection/Line in Azure Session');
  const executions = () => poolRequests.filter((r) => r.method === 'POST' && r.path === '/executions');
  await wb.waitFor(async () => executions().length >= 2 && count(await wb.transcriptText(), 'signed in') >= 2, 30_000);
  const bearer = `Bearer ${FAKE_TOKEN}`;
  const execs = executions();
  const others = poolRequests.filter((r) => !execs.includes(r)).map((r) => `${r.method} ${r.path}`);
  check(
    'both runs reached the pool with "Authorization: Bearer <the provider\'s token>"',
    execs.length === 2 && execs.every((r) => r.authorization === bearer),
    `${execs.length} execution(s); Authorization: ${[...new Set(execs.map((r) => (r.authorization === bearer ? 'Bearer <the test token>' : r.authorization === null ? 'none' : 'another value')))].join(', ')}; other requests: ${others.join(', ') || 'none'}`,
  );

  const calls = readAuthCalls(authCalls);
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
  await wb.focusEditor(demo);
  await wb.goToLine(1);
  await wb.runCommand('Run Selection/Line in Azure Session');
  const plainExecutions = () => plainPool.requests.filter((r) => r.method === 'POST' && r.path === '/executions');
  const plainShown = await wb.waitFor(async () => plainExecutions().length >= 1 && (await wb.transcriptText()).includes('plain http, no token'), 30_000);
  const callsAfter = readAuthCalls(authCalls);
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
  const transcriptLeak = (await wb.transcriptText()).includes(FAKE_TOKEN);
  check(
    'the token is in no log file, output channel or transcript (the verbose LSP trace shows it redacted)',
    leaks.length === 0 && !transcriptLeak && traced,
    `searched ${searched} files under ${path.basename(tmp)}; found in: ${leaks.join(', ') || 'none'}; in the transcript: ${transcriptLeak}; ` +
      `the output channel's log has the getAccessToken exchange: ${traced}, with the token redacted: ${redacted}`,
  );
}
