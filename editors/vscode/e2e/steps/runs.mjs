// Steps 1-4 (local pool): the extension activates, the server's code lenses appear; a line, a cell and
// the code lens run and their output is in the transcript; a failing cell puts a squiggle on its line.
import fs from 'node:fs';
import path from 'node:path';
import { check } from '../lib/checks.mjs';
import { artifacts, repoRoot } from '../lib/code-server.mjs';
import { count } from '../lib/workbench.mjs';
import { FAILING_LINE } from '../lib/workspace.mjs';

/** Resolves to false when the server does not work at all (the remaining steps are pointless then). */
export async function localRuns(wb, { demo, screenshot }) {
  const { page, statusItem } = wb;
  const activated = await statusItem.first().waitFor({ timeout: 30_000 }).then(() => true, () => false);
  check('the extension activates on a Python file (status bar item)', activated, await wb.statusText());

  const lens = page.locator('.codelens-decoration', { hasText: /Run cell/i });
  const lensOk = await lens.first().waitFor({ timeout: 30_000 }).then(() => true, () => false);
  check('the server is running: "Run cell" code lenses appear', lensOk, lensOk ? (await lens.first().textContent()).trim() : 'no code lens within 30 s');

  // 1. Run the current line.
  await wb.focusEditor(demo);
  await wb.goToLine(1);
  await wb.runCommand('Run Selection/Line in Azure Session');
  const lineOk = await wb.waitFor(async () => (await wb.transcriptText()).includes('line-run 42'), 45_000);
  check('Run Selection/Line: the transcript beside the editor shows its stdout', lineOk, lineOk ? '' : JSON.stringify((await wb.transcriptText()).slice(-300)));
  if (!lineOk && !lensOk) {
    check('the language server works in VS Code (no code lens, no run output: the remaining checks are skipped)', false, await wb.statusText());
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: screenshot });
    return false;
  }
  const statusAfterLine = await wb.statusText();
  check('the status bar shows the last run as succeeded with its time', /Azure session\s+\d+(\.\d+)?\s*(s|min)/.test(statusAfterLine), JSON.stringify(statusAfterLine));

  // 2. Run a cell.
  await wb.focusEditor(demo);
  await wb.goToLine(5);
  await wb.runCommand('Run Cell in Azure Session');
  const cellOk = await wb.waitFor(async () => (await wb.transcriptText()).includes('cell-run 43 E2E'), 45_000);
  check('Run Cell: the transcript shows the cell\'s stdout', cellOk, cellOk ? '' : JSON.stringify((await wb.transcriptText()).slice(-300)));

  // 3. Click the server's "Run cell" code lens above the first cell: the cell runs again.
  if (lensOk) {
    await lens.first().locator('a', { hasText: /Run cell/i }).first().click({ timeout: 10_000 });
    const lensRunOk = await wb.waitFor(async () => count(await wb.transcriptText(), 'cell-run 43 E2E') >= 2, 30_000);
    check('the "Run cell" code lens runs the cell', lensRunOk, lensRunOk ? '' : JSON.stringify((await wb.transcriptText()).slice(-300)));
  } else {
    check('the "Run cell" code lens runs the cell', false, 'no code lens to click');
  }

  // 4. Run a cell that raises: an error squiggle on the failing line, and the status bar names the error.
  await wb.focusEditor(demo);
  await wb.goToLine(FAILING_LINE);
  await wb.runCommand('Run Cell in Azure Session');
  // Poll: the decoration is re-rendered while the editor updates, so a single measurement can miss it.
  const squiggle = demo.locator('.squiggly-error');
  const gutter = demo.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^\\s*${FAILING_LINE}\\s*$`) });
  let squiggleDetail = 'no .squiggly-error in demo.py';
  const onLine = await wb.waitFor(async () => {
    const boxes = await Promise.all((await squiggle.all()).map((l) => l.boundingBox({ timeout: 1000 }).catch(() => null)));
    const ln = await gutter.first().boundingBox({ timeout: 1000 }).catch(() => null);
    if (boxes.length === 0 || !ln) return false;
    squiggleDetail = `squiggles at y=${boxes.map((b) => b?.y).join(',')}, line ${FAILING_LINE} at y=${ln.y}`;
    return boxes.some((b) => b && Math.abs(b.y + b.height / 2 - (ln.y + ln.height / 2)) < ln.height);
  }, 45_000);
  check(`a failing cell puts an error squiggle on line ${FAILING_LINE}`, onLine, squiggleDetail);
  const errStatus = await wb.waitFor(async () => /ZeroDivisionError/.test(await wb.statusText()), 10_000);
  check('the status bar names the error', errStatus, JSON.stringify(await wb.statusText()));

  await page.waitForTimeout(500);
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: screenshot });
  check('screenshot saved', fs.existsSync(screenshot), path.relative(repoRoot, screenshot));
  return true;
}
