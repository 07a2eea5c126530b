// Step 7b (review F19): the user cancels a slow run from its progress notification. The server then
// sends status "idle" and answers the run with the JSON-RPC error -32800 (RequestCancelled); the
// extension must leave its status bar item in the idle look, not the warning look of a run that
// could not execute ("$(warning) Azure session", tooltip "Azure Sessions: Stopped waiting for the run…").
import { check } from '../lib/checks.mjs';
import { SLOW_LINE } from '../lib/workspace.mjs';

/** The extension's status bar item as the user sees it: its text, icons, tooltip (aria-label) and background. */
async function statusLook(item) {
  return item
    .evaluate((el) => ({
      text: (el.textContent ?? '').trim(),
      icons: [...el.querySelectorAll('.codicon')].flatMap((i) => [...i.classList].filter((c) => /^codicon-/.test(c) && !/^codicon-modifier/.test(c)).map((c) => c.slice(8))),
      // VS Code turns the statusBarItem.warningBackground / errorBackground colours into these classes.
      kind: [...el.classList].find((c) => /-kind$/.test(c)) ?? 'standard',
      background: el.classList.contains('has-background-color'),
      tooltip: el.getAttribute('aria-label') ?? '',
    }))
    .catch((e) => ({ text: '', icons: [], kind: '?', background: false, tooltip: String(e?.message ?? e).split('\n')[0] }));
}

const isIdleLook = (l) => l.text === 'Azure session' && l.icons.join() === 'cloud' && l.kind === 'standard' && !l.background;

export async function cancelledRunLeavesStatusIdle(wb, { demo }) {
  const { page } = wb;
  const item = page.locator('.statusbar-item[id$="azureSessions.status"]').first();

  // A cell that sleeps for 30 s; Reset Session (step 8) ends it in the pool afterwards.
  await wb.focusEditor(demo);
  await wb.goToLine(SLOW_LINE);
  await wb.runCommand('Run Cell in Azure Session');
  const running = await wb.waitFor(async () => /running/.test((await statusLook(item)).text), 20_000);

  // The server reports the run as cancellable work-done progress; VS Code shows it in the status bar
  // and, on a click, its notification with a Cancel button.
  const progress = page.locator('.statusbar-item[id="status.progress"]', { hasText: /Running cell/ });
  const progressShown = await progress.first().waitFor({ timeout: 15_000 }).then(() => true, () => false);
  if (progressShown) await progress.first().click();
  const cancel = page.locator('.notification-list-item', { hasText: /Running cell/ }).locator('.monaco-button', { hasText: /^Cancel$/ });
  const cancelShown = progressShown && (await cancel.first().waitFor({ timeout: 10_000 }).then(() => true, () => false));
  if (cancelShown) await cancel.first().click();
  const noted = cancelShown && (await wb.waitFor(async () => (await wb.transcriptText()).includes('Stopped waiting for the run'), 20_000));
  check(
    'Cancel on a slow run\'s progress notification (opened from the status bar) stops waiting for it: the transcript says so',
    running && noted,
    `running: ${running}; progress in the status bar: ${progressShown}; Cancel button: ${cancelShown}; transcript note: ${noted}`,
  );

  // The status notification ("idle") and the -32800 answer arrive together; look a few times over
  // two seconds after the transcript's note, so that a late warning look is seen.
  const looks = [];
  for (let i = 0; i < 4; i++) {
    await page.waitForTimeout(i === 0 ? 1000 : 400);
    looks.push(await statusLook(item));
  }
  const last = looks.at(-1);
  check(
    'after the cancel the status bar item is idle ("$(cloud) Azure session", no warning background), not the warning look of a failed run (review F19)',
    noted && looks.every(isIdleLook),
    `looks: ${[...new Set(looks.map((l) => `${l.icons.map((i) => `$(${i})`).join(' ')} ${JSON.stringify(l.text)} (${l.kind}${l.background ? ', background' : ''})`))].join(' then ')}; ` +
      `tooltip: ${JSON.stringify(last.tooltip.slice(0, 160))}`,
  );

  // The notification center closes by itself once the progress ends; close it if it did not.
  const center = page.locator('.notifications-center');
  if (await center.isVisible()) await center.locator('.codicon-notifications-hide').first().click().catch(() => page.keyboard.press('Escape'));
}
