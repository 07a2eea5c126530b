// Step 14 (issue 14): a folder whose pool is a custom container, here the local pool's Piston-like API
// (`"azureSessions.endpoint": "local"`, `"azureSessions.api": "custom"` in its .vscode/settings.json,
// as a user of such a pool sets it). C++ and Rust compile errors become squiggles on their lines, a
// Python failure lands on its raising line, and "Run File with Input…" gives a C++ program its stdin
// (typed in the input box, `\n` for a new line; then again as the quick pick's "Last input"), and
// "Run Cell with Input…" its cell's.
// Needs the real server: skipped with the stand-in (e2e/fake-server.mjs), which runs Python only.
import fs from 'node:fs';
import path from 'node:path';
import { check } from '../lib/checks.mjs';

/** The files, and the one-based lines where the checks expect error squiggles. */
const FILES = {
  'errors.cpp': {
    errors: [4, 6],
    text: [
      '#include <iostream>',
      '',
      'int main() {',
      '    int count = "three";', // 4: invalid conversion
      '    std::cout << "count " << count << std::endl;',
      '    std::cout << missing << std::endl;', // 6: not declared
      '    return 0;',
      '}',
    ],
  },
  'mismatch.rs': {
    errors: [3],
    text: ['fn main() {', '    let n: i32 = 6 * 7;', '    let s: String = n;', '    println!("{}", s);', '}'], // 3: mismatched types
  },
  'raises.py': {
    errors: [3],
    text: [
      'def check(value):',
      '    if value > 2:',
      '        raise ValueError(f"too big: {value}")', // 3: the raising line
      '    return value',
      '',
      'for i in range(5):',
      '    print("checked", check(i))', // 7: the call
    ],
  },
  'echo.cpp': {
    text: [
      '#include <cctype>',
      '#include <iostream>',
      '#include <string>',
      '',
      'int main() {',
      '    std::string line, all;',
      '    int count = 0;',
      '    while (std::getline(std::cin, line)) {',
      '        for (auto &c : line) c = std::toupper(static_cast<unsigned char>(c));',
      '        all += (count++ ? "|" : "") + line;',
      '    }',
      '    std::cout << "LINES=" << count << " " << all << std::endl;',
      '}',
    ],
  },
};
/** Typed into the input box: two lines. The program prints them upper-cased, so that the input itself cannot match. */
const TYPED = 'first line\\nsecond';
const ECHOED = 'LINES=2 FIRST LINE|SECOND';

function writeFolder(dir) {
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, '.vscode', 'settings.json'),
    JSON.stringify({ 'azureSessions.endpoint': 'local', 'azureSessions.api': 'custom', 'azureSessions.trace.server': 'messages' }, null, 2),
  );
  for (const [name, { text }] of Object.entries(FILES)) fs.writeFileSync(path.join(dir, name), `${text.join('\n')}\n`);
}

/** The one-based lines of `editor` that show an error squiggle (read from the gutter's line numbers). */
async function squiggleLines(editor) {
  const numbers = await editor.locator('.margin-view-overlays .line-numbers').evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { line: Number(e.textContent.trim()), top: r.top, bottom: r.bottom };
    }),
  );
  const squiggles = await editor.locator('.squiggly-error').evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return (r.top + r.bottom) / 2;
    }),
  );
  const lines = new Set();
  for (const y of squiggles) {
    const n = numbers.find((l) => l.top <= y && y <= l.bottom);
    if (n) lines.add(n.line);
  }
  return [...lines].sort((a, b) => a - b);
}

/** Opens `name`, waits until the palette offers Run File (the extension is active and the pool runs the language). */
async function open(wb, name) {
  await wb.openFromExplorer(name);
  const editor = wb.editor(name);
  await editor.waitFor({ timeout: 20_000 });
  await wb.focusEditor(editor);
  const offered = await wb.waitFor(() => wb.offers('Azure Sessions: Run File in Azure Session'), 30_000);
  await wb.focusEditor(editor);
  return { editor, offered };
}

/** Runs `name` with Run File and checks that its error squiggles are on exactly the expected lines. */
async function compileErrorsOnTheirLines(wb, name, what) {
  const { errors } = FILES[name];
  const { editor, offered } = await open(wb, name);
  await wb.runCommand('Run File in Azure Session');
  // The first squiggle shows that the run is over; then the expected set, given a moment to render.
  let seen = [];
  await wb.waitFor(async () => (seen = await squiggleLines(editor)).length > 0, 45_000);
  const ok = await wb.waitFor(async () => {
    seen = await squiggleLines(editor);
    return JSON.stringify(seen) === JSON.stringify(errors);
  }, 5_000);
  check(
    `${what}: error squiggles on line${errors.length > 1 ? 's' : ''} ${errors.join(' and ')} of ${name}`,
    ok,
    `${ok ? '' : `squiggles on lines [${seen.join(', ')}]`}${offered ? '' : '; the palette did not offer Run File within 30 s'}`,
  );
}

/**
 * `command` (Run File with Input… or Run Cell with Input…) through the palette, then the quick pick
 * entry `entry`; `typed`: what to type in the input box. Resolves to the quick pick's placeholder.
 */
async function runWithInput(wb, entry, typed, command = 'Run File with Input…') {
  const { page } = wb;
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`>Azure Sessions: ${command}`);
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: command }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: entry });
  await row.first().waitFor({ timeout: 10_000 });
  const placeholder = (await input.getAttribute('placeholder').catch(() => '')) ?? '';
  await row.first().click();
  if (typed !== undefined) {
    await page.locator('.quick-input-widget', { hasText: 'Standard input of the program' }).first().waitFor({ timeout: 10_000 });
    await input.fill(typed);
    await page.keyboard.press('Enter');
  }
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
  return placeholder;
}

/** The last run entry of a transcript text ("── run N · …"): its number and its text. */
function lastRun(text) {
  const heads = [...text.matchAll(/── run (\d+) ·/g)];
  const head = heads.at(-1);
  return head ? { number: Number(head[1]), text: text.slice(head.index) } : { number: 0, text: '' };
}

/** Waits for a run entry after `before` in the transcript beside the editor; returns the last one (rendered a moment). */
async function nextRun(wb, before, expected = ECHOED) {
  let run = before;
  if (await wb.waitFor(async () => (run = lastRun(await wb.transcriptText())).number > before.number, 45_000)) {
    await wb.waitFor(async () => (run = lastRun(await wb.transcriptText())).text.includes(expected), 2_000);
  }
  return run;
}

export async function languagesOnCustomPool(wb, h, { screenshot }) {
  const server = process.env.AZURE_SESSIONS_LSP_PATH ?? '';
  if (/fake-server|capture-initialize/.test(server)) {
    console.log(`e2e: step 14 (C++, Rust, Python on a custom-container pool; Run File with Input…) needs the real server, skipped with ${path.basename(server)}`);
    return;
  }
  const { page } = wb;
  const dir = path.join(h.tmp, 'custom-pool');
  writeFolder(dir);
  await page.goto(`${h.base}/?folder=${encodeURIComponent(dir)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });

  await compileErrorsOnTheirLines(wb, 'errors.cpp', 'a C++ file with two compile errors on a custom-container pool (api "custom")');
  await compileErrorsOnTheirLines(wb, 'mismatch.rs', 'a Rust file with a type error');
  await compileErrorsOnTheirLines(wb, 'raises.py', 'a Python file run through the Piston-like pool fails on its raising line (not the call on line 7)');

  // stdin: typed in the input box, with a \n escape; then the same input again from "Last input".
  const { offered } = await open(wb, 'echo.cpp');
  const withInput = await wb.offers('Azure Sessions: Run File with Input…');
  check('the palette offers "Run File with Input…" in a C++ file on a custom-container pool', withInput, offered ? '' : 'Run File was not offered either');
  const before = lastRun(await wb.transcriptText());
  const placeholder = await runWithInput(wb, 'Type input…', TYPED);
  const typedRun = await nextRun(wb, before);
  const echoed = typedRun.text.includes(ECHOED);
  check(
    `Run File with Input… → "Type input…" → ${TYPED}: the program reads both lines (transcript shows "${ECHOED}")`,
    echoed,
    echoed ? '' : `run ${typedRun.number} (before: ${before.number}): ${JSON.stringify(typedRun.text.slice(-400))}`,
  );
  check('the quick pick of Run File with Input… mentions azureSessions.stdinFile', /azureSessions\.stdinFile/.test(placeholder), JSON.stringify(placeholder));

  await wb.focusEditor(wb.editor('echo.cpp'));
  const first = lastRun(await wb.transcriptText());
  await runWithInput(wb, 'Last input');
  const latest = await nextRun(wb, first);
  const again = latest.number > first.number && latest.text.includes(ECHOED);
  check(
    'Run File with Input… → "Last input" runs again with the same input',
    echoed && again,
    again ? `runs ${first.number} and ${latest.number}` : `last run ${latest.number} (before: ${first.number}): ${JSON.stringify(latest.text.slice(-300))}`,
  );

  // Run Cell with Input… (the file has no cell marker: the cell is the whole file), typed over the last input.
  await wb.focusEditor(wb.editor('echo.cpp'));
  const beforeCell = lastRun(await wb.transcriptText());
  await runWithInput(wb, 'Type input…', 'cell', 'Run Cell with Input…');
  const cellRun = await nextRun(wb, beforeCell, 'LINES=1 CELL');
  check(
    'Run Cell with Input… → "Type input…" → cell: the cell reads it (transcript shows "LINES=1 CELL")',
    cellRun.text.includes('LINES=1 CELL'),
    `run ${cellRun.number} (before: ${beforeCell.number}): ${JSON.stringify(cellRun.text.slice(-300))}`,
  );

  await page.screenshot({ path: screenshot.replace(/\.png$/, '-languages.png') });
}
