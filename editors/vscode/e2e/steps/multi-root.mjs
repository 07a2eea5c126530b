// Step 13 (review F19): a two-folder workspace (a .code-workspace file opened in the same browser
// page). Each folder has its own session and transcript. Run a file in folder A, then one in folder B
// (its transcript replaces A's beside the editor), go back to A's file and run Show Output: it must
// open A's transcript (the active document's folder), not B's (the folder that ran last).
import fs from 'node:fs';
import path from 'node:path';
import { check } from '../lib/checks.mjs';

const FOLDERS = [
  { folder: 'folder-a', file: 'alpha.py', output: 'folder-ALPHA' },
  { folder: 'folder-b', file: 'beta.py', output: 'folder-BETA' },
];

/** Writes the two folders and the workspace file under `root`; returns the workspace file. */
function writeMultiRoot(root) {
  for (const { folder, file, output } of FOLDERS) {
    fs.mkdirSync(path.join(root, folder), { recursive: true });
    // The output is computed, so that the code echoed in a transcript cannot match it.
    const [prefix, word] = output.split('-');
    fs.writeFileSync(path.join(root, folder, file), `print("${prefix}-" + "${word.toLowerCase()}".upper())\n`);
  }
  const workspaceFile = path.join(root, 'two-folders.code-workspace');
  fs.writeFileSync(
    workspaceFile,
    JSON.stringify(
      {
        folders: FOLDERS.map(({ folder }) => ({ path: folder })),
        settings: { 'azureSessions.endpoint': 'local', 'azureSessions.trace.server': 'messages' },
      },
      null,
      2,
    ),
  );
  return workspaceFile;
}

/**
 * Opens the workspace file in the page; resolves to the number of page loads it took, or 0. Seen once
 * under load: the window came up titled "two-folders (Workspace)" but with no folder (VS Code reads a
 * remote workspace file once, in the background, and seems to keep an empty one when that read fails); a
 * reload then reads it again. The browser's errors are printed when that happens.
 */
async function openWorkspace(page, url) {
  const errors = [];
  const onConsole = (m) => {
    if (m.type() === 'error') errors.push(m.text().slice(0, 200));
  };
  page.on('console', onConsole);
  try {
    await page.goto(url);
    for (let load = 1; load <= 3; load++) {
      await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
      const roots = FOLDERS.map(({ folder }) => page.locator('.explorer-folders-view .monaco-list-row', { hasText: folder }).first());
      const shown = await Promise.all(roots.map((r) => r.waitFor({ timeout: 20_000 }).then(() => true, () => false)));
      if (shown.every(Boolean)) return load;
      console.log(`e2e: the two-folder workspace shows no folders after load ${load}; browser errors: ${JSON.stringify(errors.slice(-5))}`);
      errors.length = 0;
      if (load < 3) await page.reload();
    }
    return 0;
  } finally {
    page.off('console', onConsole);
  }
}

const describe = (shown) => shown.map((t) => `${t.uri} (${FOLDERS.filter((f) => t.text.includes(f.output)).map((f) => f.output).join(', ') || 'no run output'})`).join('; ') || 'no transcript';

export async function multiRootShowOutput(wb, h, { screenshot }) {
  const { page } = wb;
  const workspaceFile = writeMultiRoot(h.dirs.multiRoot);
  const loads = await openWorkspace(page, `${h.base}/?workspace=${encodeURIComponent(workspaceFile)}`);
  if (!check('a two-folder workspace (.code-workspace) opens with both folders in the explorer', loads > 0, loads > 1 ? `after ${loads} page loads` : '')) return;

  // Run each folder's file; after each run its transcript is the one shown beside the editor.
  // A window that has just loaded can take a few seconds to trust its workspace: until then the palette
  // does not offer the run commands (their `when` clause needs isWorkspaceTrusted and a Python editor),
  // and Enter would run whatever it offers first. Wait until it offers Run File.
  const runFile = 'Azure Sessions: Run File in Azure Session';
  let offered = true;
  const transcriptOf = {};
  for (const { file, output } of FOLDERS) {
    await wb.openFromExplorer(file);
    const editor = wb.editor(file);
    await editor.waitFor({ timeout: 20_000 });
    await wb.focusEditor(editor);
    const offeredNow = await wb.waitFor(() => wb.offers(runFile), 30_000);
    offered &&= offeredNow;
    await wb.focusEditor(editor);
    await wb.runCommand('Run File in Azure Session');
    const ran = await wb.waitFor(async () => (await wb.transcripts()).some((t) => t.text.includes(output)), 45_000);
    transcriptOf[file] = ran ? (await wb.transcripts()).find((t) => t.text.includes(output)) : undefined;
  }
  const [a, b] = FOLDERS.map(({ file }) => transcriptOf[file]);
  check(
    'two-folder workspace: a run in each folder shows that folder\'s own transcript',
    a !== undefined && b !== undefined && a.uri !== b.uri && !a.text.includes(FOLDERS[1].output) && !b.text.includes(FOLDERS[0].output),
    `folder A's run: ${a ? describe([a]) : 'no output'}; folder B's run: ${b ? describe([b]) : 'no output'}${offered ? '' : `; the palette did not offer "${runFile}" within 30 s`}`,
  );

  // Back to folder A's file; folder B ran last and its transcript is the one visible.
  await wb.openFromExplorer(FOLDERS[0].file);
  await wb.focusEditor(wb.editor(FOLDERS[0].file));
  const before = await wb.transcripts();
  await wb.runCommand('Show Output');
  const shown = await wb.waitFor(async () => (await wb.transcripts()).some((t) => t.uri === a?.uri && t.text.includes(FOLDERS[0].output)), 15_000);
  const after = await wb.transcripts();
  check(
    'two-folder workspace: Show Output in folder A\'s file opens folder A\'s transcript, not that of folder B, which ran last (review F19)',
    a !== undefined && b !== undefined && before.some((t) => t.uri === b.uri) && !before.some((t) => t.uri === a.uri) && shown,
    `before: ${describe(before)}; after Show Output: ${describe(after)}`,
  );
  await page.screenshot({ path: screenshot.replace(/\.png$/, '-multi-root.png') });
}
