// Steps 5-8 (local pool): Show Session Info, uploads (explorer context menu; open dialog from outside
// the workspace), download through the quick pick and the save dialog, and Reset Session.
import fs from 'node:fs';
import path from 'node:path';
import { check } from '../lib/checks.mjs';
import { DEMO } from '../lib/workspace.mjs';

/** Steps 5-7. `row`: demo.py's row in the explorer; `tmp`: a directory outside the workspace. */
export async function sessionFiles(wb, { demo, row, tmp, workspace }) {
  const { page } = wb;

  // 5. Session info: a quick pick with the endpoint and the identifier.
  await wb.focusEditor(demo);
  await wb.runCommand('Show Session Info');
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
  const uploadOk = menuOk && (await wb.toast(/uploaded demo\.py/i).first().waitFor({ timeout: 30_000 }).then(() => true, () => false));
  check('Upload File to Session (explorer context menu) uploads the file', uploadOk, menuOk ? '' : 'no "Upload File to Session" in the explorer context menu');
  await wb.clearToasts();

  // 6b. Upload a file from outside the workspace through the open dialog: it must reach the
  //     session of the document the user is in, not a session of its own (review F1).
  const outsideFile = path.join(tmp, 'outside-data.csv');
  fs.writeFileSync(outsideFile, 'a,b\n');
  await wb.focusEditor(demo);
  await wb.runCommand('Upload File to Session');
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
  const outsideUploaded = openOk && (await wb.toast(/uploaded outside-data\.csv/i).first().waitFor({ timeout: 30_000 }).then(() => true, () => false));
  await wb.clearToasts();

  // 7. Download it back under another name through the quick pick and the save dialog.
  await wb.focusEditor(demo);
  await wb.runCommand('Download File from Session');
  const fileRow = rows.filter({ hasText: 'demo.py' }).first();
  let downloadOk = await fileRow.waitFor({ timeout: 15_000 }).then(() => true, () => false);
  const listed = downloadOk ? (await rows.allInnerTexts()).join(' | ') : '';
  check(
    'a file uploaded from outside the workspace is in the session of the document the user is in',
    outsideUploaded && listed.includes('outside-data.csv'),
    `open dialog: ${openOk}; uploaded: ${outsideUploaded}; the session lists: ${listed.replace(/\s+/g, ' ').slice(0, 160)}`,
  );
  const target = path.join(workspace, 'downloaded.py');
  if (downloadOk) {
    await fileRow.click();
    const input = page.locator('.quick-input-widget input');
    await page.waitForTimeout(500);
    await input.waitFor({ timeout: 10_000 });
    await input.fill(target);
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
    downloadOk = await wb.waitFor(async () => fs.existsSync(target) && fs.readFileSync(target, 'utf8') === DEMO, 30_000);
  }
  check('Download File from Session saves the remote file', downloadOk, downloadOk ? path.basename(target) : 'the file did not arrive');
  await wb.clearToasts();
}

/** Step 8: Reset Session. */
export async function resetSession(wb, { demo }) {
  await wb.focusEditor(demo);
  await wb.runCommand('Reset Session');
  const resetOk = await wb.toast(/session was reset/i).first().waitFor({ timeout: 20_000 }).then(() => true, () => false);
  check('Reset Session confirms a new session', resetOk);
  await wb.clearToasts();
}
