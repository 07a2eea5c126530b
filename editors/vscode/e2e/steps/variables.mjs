// Step 4c (local pool): the "Session Variables" view (in the Explorer) lists what a run defined,
// refreshed after the run; "Export Session as Notebook…" writes the session's runs as an .ipynb file.
import fs from 'node:fs';
import path from 'node:path';
import { check } from '../lib/checks.mjs';
import { RESULTS_VARIABLES_LINE } from '../lib/workspace.mjs';

export async function variablesAndNotebook(wb, { demo, tmp }) {
  const { page } = wb;
  await wb.showFile('results.py');
  const editor = wb.editor('results.py');
  await page.locator('.monaco-editor .view-lines', { hasText: 'e2e_numbers' }).first().waitFor({ timeout: 20_000 });

  // The view is open before the run: the run must refresh it.
  await wb.palette('>Focus on Session Variables View');
  const header = page.locator('.pane-header', { hasText: 'Session Variables' }).first();
  const viewShown = await header.waitFor({ timeout: 10_000 }).then(() => true, () => false);
  await wb.focusEditor(editor);
  await wb.goToLine(RESULTS_VARIABLES_LINE);
  await wb.runCommand('Run Selection/Line in Azure Session');
  const row = page.locator('.monaco-list-row', { hasText: 'e2e_numbers' }).first();
  let rowText = '';
  const listed = await wb.waitFor(async () => {
    rowText = ((await row.textContent({ timeout: 1000 }).catch(() => '')) ?? '').replace(/\s+/g, ' ');
    return /e2e_numbers\s*list \[3\]\s*\[1, 2, 3\]/.test(rowText);
  }, 30_000);
  const text = ((await page.locator('.monaco-list-row', { hasText: 'e2e_text' }).first().textContent({ timeout: 2000 }).catch(() => '')) ?? '').replace(/\s+/g, ' ');
  check(
    'the Session Variables view lists the variables a run defined (name, type, size, value), refreshed after the run',
    viewShown && listed && /e2e_text\s*str\s*'vars-ok'/.test(text),
    `view shown: ${viewShown}; rows: ${JSON.stringify(rowText)}, ${JSON.stringify(text)}`,
  );

  // Export Session as Notebook… through the save dialog.
  // Outside the workspace, so that the explorer does not re-render under the later steps' clicks.
  const target = path.join(tmp, 'session-export.ipynb');
  await wb.focusEditor(editor);
  await wb.runCommand('Export Session as Notebook…');
  const dialog = page.locator('.quick-input-widget', { hasText: 'Export Azure Session as Notebook' });
  const dialogOk = await dialog.first().waitFor({ timeout: 15_000 }).then(() => true, () => false);
  if (dialogOk) {
    const input = dialog.first().locator('input').first();
    await page.waitForTimeout(500);
    await input.fill(target);
    await page.waitForTimeout(300);
    await page.keyboard.press('Enter');
  }
  let notebook;
  let detail = `save dialog: ${dialogOk}`;
  let written = await wb.waitFor(async () => {
    try {
      notebook = JSON.parse(fs.readFileSync(target, 'utf8'));
      return true;
    } catch {
      return false;
    }
  }, 30_000);
  if (written) {
    const cells = notebook.cells ?? [];
    const sources = cells.map((c) => (Array.isArray(c.source) ? c.source.join('') : String(c.source ?? '')));
    const outputs = cells.flatMap((c) => c.outputs ?? []);
    const hasVars = sources.some((s) => s.includes('e2e_numbers = [1, 2, 3]'));
    const hasImage = outputs.some((o) => o.output_type === 'display_data' && typeof o.data?.['image/png'] === 'string');
    const hasError = outputs.some((o) => o.output_type === 'error' && o.ename === 'NameError');
    detail = `nbformat ${notebook.nbformat}, ${cells.length} cells; the variables run: ${hasVars}; the image: ${hasImage}; the NameError: ${hasError}`;
    written &&= notebook.nbformat === 4 && hasVars && hasImage && hasError;
  }
  const toast = await wb.toast(/exported \d+ runs? to/i).first().waitFor({ timeout: 10_000 }).then(() => true, () => false);
  check('Export Session as Notebook… writes the session\'s runs (code, image, error) as an nbformat 4 notebook', written && toast, `${detail}; message: ${toast}`);
  await wb.clearToasts();

  // Collapse the view again: while it shows, every run is followed by a variables request to the pool,
  // which the later steps' fake pools would count as an execution.
  if ((await header.getAttribute('aria-expanded').catch(() => null)) === 'true') {
    await header.click().catch(() => {});
  }
  await wb.showFile('demo.py');
  await demo.waitFor({ timeout: 10_000 }).catch(() => {});
}
