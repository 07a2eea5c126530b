// Steps 9-11 (local pool): a settings change reaches the server without a restart, changing
// azureSessions.signIn restarts it, and the default key runs the current line.
import fs from 'node:fs';
import { check } from '../lib/checks.mjs';
import { count } from '../lib/workbench.mjs';

/** `saved`: the workspace settings as the steps before left them; they are restored after step 9. */
export async function settingsChanges(wb, { demo, settingsFile, saved, screenshot }) {
  const { page, statusItem } = wb;

  // 9. A settings change reaches the server without a restart: with no endpoint, a run fails with one
  //    message (the server's) that names azureSessions.endpoint, and the status bar shows the error.
  fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(saved), 'azureSessions.endpoint': '' }, null, 2));
  await page.waitForTimeout(1500);
  await wb.focusEditor(demo);
  await wb.goToLine(1);
  await wb.runCommand('Run Selection/Line in Azure Session');
  const endpointToast = wb.toast(/azureSessions\.endpoint/);
  const named = await endpointToast.first().waitFor({ timeout: 20_000 }).then(() => true, () => false);
  await page.waitForTimeout(1500);
  const shown = await endpointToast.count();
  const warned = await wb.waitFor(async () => (await statusItem.first().locator('.codicon-warning').count()) > 0, 5000);
  check('without an endpoint a run fails with one message naming azureSessions.endpoint (no restart, not shown twice)', named && shown === 1 && warned, `${shown} message(s), status bar warning: ${warned}`);
  await page.screenshot({ path: screenshot.replace(/\.png$/, '-commands.png') });
  fs.writeFileSync(settingsFile, saved);
  await wb.clearToasts();

  // 10. Changing azureSessions.signIn restarts the server (with "tokenProvider": "client"); the local pool
  //     needs no token, so runs go on working.
  fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(saved), 'azureSessions.signIn': 'vscode' }, null, 2));
  const restarted = await wb.toast(/restarting the language server/i).first().waitFor({ timeout: 20_000 }).then(() => true, () => false);
  await wb.waitFor(async () => (await statusItem.first().locator('.codicon-cloud').count()) > 0, 20_000);
  await wb.focusEditor(demo);
  await wb.goToLine(1);
  await wb.runCommand('Run Selection/Line in Azure Session');
  const ranAgain = await wb.waitFor(async () => (await statusItem.first().locator('.codicon-check').count()) > 0, 30_000);
  check('changing azureSessions.signIn restarts the server, and runs work after the restart', restarted && ranAgain, `restart message: ${restarted}, run succeeded: ${ranAgain} (${await wb.statusText()})`);

  // 11. The default key: Ctrl+Alt+Enter runs the current line.
  await wb.waitFor(async () => (await wb.transcriptText()).includes('line-run 42'), 10_000);
  const before = count(await wb.transcriptText(), 'line-run 42');
  await wb.focusEditor(demo);
  await wb.goToLine(1);
  await page.keyboard.press('Control+Alt+Enter');
  const keyOk = await wb.waitFor(async () => count(await wb.transcriptText(), 'line-run 42') > before, 30_000);
  check('Ctrl+Alt+Enter runs the current line', keyOk, `"line-run 42" ${before} time(s) before, ${count(await wb.transcriptText(), 'line-run 42')} after`);
}
