// Step 4b (local pool): rich results. A line's value shows as an inlay hint at its end; a cell whose
// last value has _repr_png_ shows the picture in the "Azure Sessions: Results" panel (loaded through
// the webview, at its natural size, click to zoom) and in a hover over its lines; a failing line's
// error in the Results panel links back to the line; an HTML result shows as a sanitized table.
import fs from 'node:fs';
import path from 'node:path';
import { check } from '../lib/checks.mjs';
import { artifacts, repoRoot } from '../lib/code-server.mjs';
import { RESULTS_FAILING_LINE, RESULTS_HTML_LINE, RESULTS_PICTURE_LINE, RESULTS_VALUE_LINE } from '../lib/workspace.mjs';

/** The document inside the Results webview (code-server nests it in two iframes). */
function resultsFrame(page) {
  return page.frameLocator('iframe.webview.ready[title="Azure Sessions: Results"], iframe.webview.ready').last().frameLocator('#active-frame');
}

/** Where a picture is, and whether it loaded: [{ naturalWidth, naturalHeight, width, src }]. */
async function pictures(locator) {
  return locator.evaluateAll((imgs) => imgs.map((i) => ({ naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, width: i.width, complete: i.complete, src: i.src.slice(0, 60) }))).catch(() => []);
}

/** The editor's "Ln N, Col M" status bar item. */
async function cursorLine(page) {
  const text = (await page.locator('.statusbar-item[id="status.editor.selection"]').first().textContent({ timeout: 2000 }).catch(() => '')) ?? '';
  const m = /Ln\s+(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export async function resultsView(wb, { demo, screenshot }) {
  const { page } = wb;
  await wb.showFile('results.py');
  const editor = wb.editor('results.py');
  await page.locator('.monaco-editor .view-lines', { hasText: '_repr_png_' }).first().waitFor({ timeout: 20_000 });

  // 1. A line's value as an inlay hint at the end of the line (VS Code shows inlay hints by default).
  await wb.focusEditor(editor);
  await wb.goToLine(RESULTS_VALUE_LINE);
  await wb.runCommand('Run Selection/Line in Azure Session');
  const valueLine = editor.locator('.view-line', { hasText: /^6\s\*\s7/ }).first();
  let lineText = '';
  const inlayOk = await wb.waitFor(async () => {
    lineText = ((await valueLine.textContent({ timeout: 1000 }).catch(() => '')) ?? '').replace(/\u00a0/g, ' ');
    return /6 \* 7\s*→ 42/.test(lineText);
  }, 30_000);
  check('after a run, the value of its last line shows as an inlay hint ("→ 42") at the end of the line', inlayOk, JSON.stringify(lineText));

  // 2. A cell whose last value is an image: the Results panel opens beside the editor and shows it.
  await wb.focusEditor(editor);
  await wb.goToLine(RESULTS_PICTURE_LINE);
  await wb.runCommand('Run Cell in Azure Session');
  const frame = resultsFrame(page);
  const img = frame.locator('section.run img.zoomable');
  let seen = [];
  const imageOk = await wb.waitFor(async () => {
    seen = await pictures(img);
    return seen.some((p) => p.complete && p.naturalWidth === 40 && p.naturalHeight === 20);
  }, 45_000);
  check('a run returning an image (_repr_png_) shows it in the Results panel, loaded from the server\'s file at its natural size (40×20)', imageOk, JSON.stringify(seen));
  const stdoutOk = await frame.locator('section.run pre.stdout', { hasText: 'picture-cell' }).first().waitFor({ timeout: 5000 }).then(() => true, () => false);
  const labelText = ((await frame.locator('section.run header .label').last().textContent({ timeout: 5000 }).catch(() => '')) ?? '').trim();
  check('the Results panel names the run\'s file and lines and shows its stdout', stdoutOk && /^results\.py:4–12$/.test(labelText), `label ${JSON.stringify(labelText)}, stdout shown: ${stdoutOk}`);

  // 3. Click to zoom, click again to close.
  let zoomed = false;
  let closed = false;
  if (imageOk) {
    await img.last().click({ timeout: 5000 }).catch(() => {});
    const box = frame.locator('.lightbox');
    zoomed = await wb.waitFor(async () => !(await box.evaluate((b) => b.hidden).catch(() => true)) && (await pictures(box.locator('img'))).some((p) => p.width > 40), 5000);
    await box.click({ timeout: 5000 }).catch(() => {});
    closed = await wb.waitFor(async () => box.evaluate((b) => b.hidden).catch(() => false), 5000);
  }
  check('clicking the image zooms it; clicking again closes the zoom', zoomed && closed, `zoomed: ${zoomed}, closed: ${closed}`);

  // 4. Hovering the cell's lines shows the image (the server's hover has the text).
  await wb.focusEditor(editor);
  await wb.goToLine(RESULTS_PICTURE_LINE);
  const pictureLine = editor.locator('.view-line', { hasText: 'picture-cell' }).first();
  let hoverPictures = [];
  const hoverOk = await wb.waitFor(async () => {
    await page.mouse.move(5, 5);
    await pictureLine.hover({ position: { x: 30, y: 5 }, timeout: 2000 }).catch(() => {});
    const hover = page.locator('.monaco-hover:not(.hidden) img');
    await hover.first().waitFor({ timeout: 3000 }).catch(() => {});
    hoverPictures = await pictures(hover);
    return hoverPictures.some((p) => p.complete && p.naturalWidth === 40);
  }, 20_000);
  check('hovering the lines of the run shows its image', hoverOk, JSON.stringify(hoverPictures));
  await page.mouse.move(5, 5);
  await page.keyboard.press('Escape');

  // 5. A failing line: its error in the Results panel links to the line.
  await wb.focusEditor(editor);
  await wb.goToLine(RESULTS_FAILING_LINE);
  await wb.runCommand('Run Selection/Line in Azure Session');
  await page.waitForTimeout(500);
  await wb.focusEditor(editor);
  await wb.goToLine(RESULTS_VALUE_LINE);
  await wb.runCommand('Show Results');
  const errorLink = frame.locator('section.run.failed .error a.reveal', { hasText: 'NameError' }).last();
  const linkOk = await errorLink.waitFor({ timeout: 30_000 }).then(() => true, () => false);
  let before = await cursorLine(page);
  let after;
  if (linkOk) {
    await errorLink.click({ timeout: 5000 }).catch(() => {});
    await wb.waitFor(async () => (after = await cursorLine(page)) === RESULTS_FAILING_LINE, 10_000);
  }
  check(
    `the error in the Results panel links to its line: clicking it puts the cursor on line ${RESULTS_FAILING_LINE}`,
    linkOk && before !== RESULTS_FAILING_LINE && after === RESULTS_FAILING_LINE,
    `link shown: ${linkOk}, cursor on line ${before} before, ${after} after`,
  );

  // 6. An HTML result (_repr_html_ with an onclick and a script): the table shows, sanitized.
  await wb.focusEditor(editor);
  await wb.goToLine(RESULTS_HTML_LINE);
  await wb.runCommand('Run Cell in Azure Session');
  const cell = frame.locator('section.run .display.html td', { hasText: 'html-cell' }).last();
  const tableOk = await cell.waitFor({ timeout: 30_000 }).then(() => true, () => false);
  const clean = tableOk
    ? await frame.locator('section.run .display.html').last().evaluate((el) => ({ scripts: el.querySelectorAll('script').length, handlers: el.querySelectorAll('[onclick]').length, html: el.innerHTML.slice(0, 200) }))
    : undefined;
  check(
    'an HTML result (_repr_html_) shows as a table in the Results panel, without its script and event handler',
    tableOk && clean?.scripts === 0 && clean?.handlers === 0,
    JSON.stringify(clean ?? 'no table with "html-cell"'),
  );
  fs.mkdirSync(artifacts, { recursive: true });
  const shot = path.join(path.dirname(screenshot), 'vscode-results.png');
  await page.screenshot({ path: shot });
  check('screenshot of the Results panel saved', fs.existsSync(shot), path.relative(repoRoot, shot));

  // Close the Results panel and go back to demo.py (results.py replaced its preview tab), so that the
  // later steps find the editors where they left them.
  const tab = page.locator('.tabs-container .tab', { hasText: 'Azure Sessions: Results' }).first();
  if (await tab.isVisible().catch(() => false)) {
    await tab.click({ button: 'middle' }).catch(() => {});
  }
  await wb.showFile('demo.py');
  await demo.waitFor({ timeout: 10_000 }).catch(() => {});
}
