// End-to-end test of the Azure Sessions extension in real VS Code: code-server (VS Code 1.100) with the
// packaged VSIX installed, driven by headless Chromium through playwright-core, against the local pool;
// then signIn = "vscode" against a fake remote pool over https (a certificate from a throwaway CA made
// here with openssl), with a test authentication provider (e2e/fake-auth), and a fake plain-http
// loopback pool that must get no token; a two-folder workspace; last, a folder whose pool is a custom
// container (C++, Rust, Python through the local pool's Piston-like API, and Run File with Input…).
//
//   node e2e/run.mjs --vsix PATH [--screenshot NAME.png] [--keep] [--steps results,files,…]
//   node e2e/run.mjs --vsix PATH --capture-initialize OUT.json
//
// The language server is the one bundled in the VSIX, unless AZURE_SESSIONS_LSP_PATH is set.
// Writes tests/artifacts/vscode-e2e.png (repository root). Prints one line per check and exits 1 when any fails.
// --capture-initialize: the server is e2e/capture-initialize.mjs, which records the `initialize` params
// VS Code sends; they are written to OUT.json with the workspace path replaced by ${WORKSPACE}
// (tests/fixtures/initialize-vscode-*.json, replayed by the Rust test initialization_payloads_of_real_editors_work).
//
// lib/ holds the harness (code-server, the browser, the throwaway CA, fake pools, workbench helpers);
// steps/ the checks, in the order below. Kills only what it started: code-server by its process
// group, Chromium through playwright.
import fs from 'node:fs';
import path from 'node:path';
import { anyFailed, check, summary } from './lib/checks.mjs';
import {
  artifacts,
  browserPath,
  cleanup,
  codeServer,
  dumpLogs,
  FAKE_AUTH_PROVIDER,
  installExtension,
  installFakeAuth,
  killServer,
  openBrowser,
  prepare,
  repoRoot,
  startCodeServer,
} from './lib/code-server.mjs';
import { closeFakePools } from './lib/fake-pool.mjs';
import { Workbench } from './lib/workbench.mjs';
import { writeWorkspace } from './lib/workspace.mjs';
import { captureInitialize } from './steps/capture.mjs';
import { cancelledRunLeavesStatusIdle } from './steps/cancel.mjs';
import { languagesOnCustomPool } from './steps/languages.mjs';
import { multiRootShowOutput } from './steps/multi-root.mjs';
import { agentRunInResults } from './steps/agent.mjs';
import { resultsView } from './steps/results.mjs';
import { localRuns } from './steps/runs.mjs';
import { variablesAndNotebook } from './steps/variables.mjs';
import { resetSession, sessionFiles } from './steps/session-commands.mjs';
import { settingsChanges } from './steps/settings.mjs';
import { signInWithVsCode } from './steps/sign-in.mjs';

const OVERALL_TIMEOUT_MS = 300_000;

const args = process.argv.slice(2);
const screenshotName = args.indexOf('--screenshot') >= 0 ? args[args.indexOf('--screenshot') + 1] : 'vscode-e2e.png';
const screenshot = path.join(artifacts, path.basename(screenshotName));
const vsixArg = args.indexOf('--vsix') >= 0 ? args[args.indexOf('--vsix') + 1] : process.env.VSIX;
const keep = args.includes('--keep');
// --steps a,b: run only these steps after the first (for working on them): results, variables, files, cancel,
// reset, settings, sign-in, multi-root, agent.
const only = args.indexOf('--steps') >= 0 ? new Set((args[args.indexOf('--steps') + 1] ?? '').split(',')) : undefined;
const want = (step) => !only || only.has(step);
// The stand-in server (e2e/fake-server.mjs) has no rich results or inlay hints.
const fakeServer = /fake-server\.mjs$/.test(process.env.AZURE_SESSIONS_LSP_PATH ?? '');
const captureOut = args.indexOf('--capture-initialize') >= 0 ? path.resolve(args[args.indexOf('--capture-initialize') + 1] ?? '') : undefined;
if (!vsixArg || !fs.existsSync(vsixArg)) {
  console.error(`e2e: pass --vsix PATH to a packaged extension (got ${vsixArg ?? 'nothing'})`);
  process.exit(2);
}
const vsix = path.resolve(vsixArg);
if (!fs.existsSync(codeServer) || !browserPath) {
  console.error('e2e: code-server (npm ci in editors/vscode/e2e) or /usr/bin/chromium is missing: run editors/vscode/scripts/test.sh');
  process.exit(2);
}

const h = await prepare({ captureOut });
const settingsFile = writeWorkspace(h.dirs.workspace);

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    console.log(`e2e: ${sig}, stopping`);
    killServer(h, 'SIGTERM');
    setTimeout(() => {
      killServer(h, 'SIGKILL');
      if (!keep) fs.rmSync(h.tmp, { recursive: true, force: true });
      process.exit(1);
    }, 1000);
  });
}

/** Closes the browser, stops code-server and the fake pools, removes the temporary tree (unless --keep). */
async function finish() {
  await cleanup(h, keep);
  closeFakePools();
}

const deadline = setTimeout(async () => {
  check('finished within the overall timeout', false, `${OVERALL_TIMEOUT_MS / 1000} s`);
  dumpLogs(h);
  await Promise.race([finish(), new Promise((r) => setTimeout(r, 15_000))]);
  killServer(h, 'SIGKILL');
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

async function main() {
  const installOut = installExtension(h, vsix);
  check('the VSIX installs into code-server', /successfully installed/i.test(installOut), installOut.trim().split('\n').pop());
  if (!captureOut) {
    const auth = installFakeAuth(h);
    check(`the test authentication provider "${FAKE_AUTH_PROVIDER}" (e2e/fake-auth) packages and installs`, auth.ok, auth.detail);
    check(
      'openssl makes a throwaway CA and a certificate for localhost/127.0.0.1 that it signs (for the https pool of step 12)',
      !h.tls.error && [h.tls.ca, h.tls.key, h.tls.cert].every((f) => fs.existsSync(f)),
      h.tls.error,
    );
  }

  if (!check('code-server answers /healthz', await startCodeServer(h, h.dirs.workspace))) return;
  const page = await openBrowser(h);
  await page.goto(`${h.base}/?folder=${encodeURIComponent(h.dirs.workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });

  // Open demo.py from the explorer.
  const wb = new Workbench(page);
  const row = await wb.openFromExplorer('demo.py');
  const demo = wb.editor('demo.py');
  await page.locator('.monaco-editor .view-lines', { hasText: 'line-run' }).first().waitFor({ timeout: 20_000 });

  if (captureOut) {
    await captureInitialize(page, h, captureOut);
    return;
  }

  // Steps 1-4: runs of a line and cells, the code lens, a failing cell.
  if (!(await localRuns(wb, { demo, screenshot }))) return;
  // Step 4b: rich results (Results panel, image hover, inlay values); not with the stand-in server.
  if (want('results') && !fakeServer) await resultsView(wb, { demo, screenshot });
  // Step 4c: the Session Variables view and Export Session as Notebook…; not with the stand-in server.
  if (want('variables') && !fakeServer) await variablesAndNotebook(wb, { demo, tmp: h.tmp });
  // Step 4d: an agent's run (azure-sessions-lsp mcp) through the editor's server, in the Results panel.
  if (want('agent') && !fakeServer) await agentRunInResults(wb, { h, demo });
  // Steps 5-7: session info, uploads, download.
  if (want('files')) await sessionFiles(wb, { demo, row, tmp: h.tmp, workspace: h.dirs.workspace });
  // Step 7b: cancel a slow run (review F19); step 8 (Reset Session) then ends the code left running.
  if (want('cancel')) await cancelledRunLeavesStatusIdle(wb, { demo });
  if (want('reset') || want('cancel')) await resetSession(wb, { demo });
  // Steps 9-11: settings changes, the restart for signIn, the default key.
  const saved = fs.readFileSync(settingsFile, 'utf8');
  if (want('settings')) await settingsChanges(wb, { demo, settingsFile, saved, screenshot });
  // Step 12: signIn = "vscode" against fake remote pools.
  if (want('sign-in')) await signInWithVsCode(wb, h, { demo, settingsFile, saved });
  // Step 13: a two-folder workspace (review F19).
  if (want('multi-root')) await multiRootShowOutput(wb, h, { screenshot });
  // Step 14: C++, Rust and Python on a custom-container pool (the local pool's Piston-like API), stdin.
  if (want('languages')) await languagesOnCustomPool(wb, h, { screenshot });
}

try {
  await main();
} catch (e) {
  check('the end-to-end run completed without an exception', false, String(e?.message ?? e).split('\n')[0]);
  try {
    const page = h.context?.pages()[0];
    if (page) {
      fs.mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: screenshot });
      console.log(`e2e: screenshot of the failure in ${path.relative(repoRoot, screenshot)}`);
    }
  } catch {
    /* no page */
  }
}
const failed = anyFailed();
if (failed) dumpLogs(h);
clearTimeout(deadline);
await finish();
console.log(summary());
process.exit(failed ? 1 : 0);
