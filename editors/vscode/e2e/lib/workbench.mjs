// Driving the VS Code workbench in the browser page: the command palette, editors, the session
// transcript, notifications and the extension's status bar item.

/** How often `needle` occurs in `text`. */
export const count = (text, needle) => text.split(needle).length - 1;

export class Workbench {
  constructor(page) {
    this.page = page;
    /** The extension's status bar item (or, as the checks accept, an error item). */
    this.statusItem = page.locator('.statusbar-item', { hasText: /Azure session|Error/ });
  }

  /** The text editor showing the file whose path ends with `name`. */
  editor(name) {
    return this.page.locator(`.editor-instance .monaco-editor[data-uri$="${name}"]`);
  }

  /** Opens `name` by clicking it in the explorer; resolves to its row. */
  async openFromExplorer(name, timeout = 30_000) {
    const row = this.page.locator('.explorer-folders-view .monaco-list-row', { hasText: name });
    await row.first().waitFor({ timeout });
    await row.first().click();
    return row;
  }

  /**
   * Opens `name` from the explorer until its editor shows (a click can land while the explorer re-renders);
   * resolves to whether it did.
   */
  async showFile(name, tries = 3) {
    for (let i = 0; i < tries; i++) {
      await this.openFromExplorer(name).catch(() => {});
      if (await this.editor(name).first().waitFor({ timeout: 5000 }).then(() => true, () => false)) return true;
    }
    return false;
  }

  /** Focuses `editor` (closing any quick input or menu left open first); goToLine then places the cursor. */
  async focusEditor(editor) {
    const page = this.page;
    for (let i = 0; i < 2 && (await page.locator('.quick-input-widget').isVisible()); i++) await page.keyboard.press('Escape');
    await editor.locator('.editor-scrollable').first().click({ position: { x: 300, y: 10 }, timeout: 10_000 });
  }

  /** Types `text` into the command palette (F1) and presses Enter. */
  async palette(text) {
    const page = this.page;
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(text);
    if (text.startsWith('>')) {
      // Enter only once the command is the focused entry of the filtered list.
      const title = text.slice(1).split(': ').pop();
      await page
        .locator('.quick-input-list .monaco-list-row.focused', { hasText: title })
        .first()
        .waitFor({ timeout: 10_000 })
        .catch(async () => {
          const entries = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts().catch(() => []);
          console.log(`e2e: "${title}" is not the first entry of the command palette: ${JSON.stringify(entries.slice(0, 5).map((e) => e.replace(/\s+/g, ' ').trim()))}`);
        });
    } else {
      await page.waitForTimeout(400);
    }
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
  }

  /**
   * Whether the command palette offers the command `title` ("Category: Title") as its first entry;
   * the palette is closed again. Commands with a `when` clause are offered only once it holds.
   */
  async offers(title) {
    const page = this.page;
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(`>${title}`);
    const focused = page.locator('.quick-input-list .monaco-list-row.focused', { hasText: title.split(': ').pop() }).first();
    const offered = await focused.waitFor({ timeout: 2000 }).then(() => true, () => false);
    await page.keyboard.press('Escape');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
    return offered;
  }

  async goToLine(line) {
    await this.palette(`:${line}`);
    await this.page.waitForTimeout(200);
  }

  async runCommand(title) {
    await this.palette(`>Azure Sessions: ${title}`);
  }

  /** The visible editors that show a session transcript (azure-sessions:// documents): [{ uri, text }]. */
  async transcripts() {
    const shown = await this.page.$$eval('.editor-instance .monaco-editor', (els) =>
      els
        .filter((e) => (e.getAttribute('data-uri') ?? '').startsWith('azure-sessions:'))
        .map((e) => ({ uri: e.getAttribute('data-uri'), text: e.querySelector('.view-lines')?.innerText ?? '' })),
    );
    return shown.map((t) => ({ uri: t.uri, text: t.text.replace(/\u00a0/g, ' ') }));
  }

  /** The text of the editors that show the session transcript. */
  async transcriptText() {
    return (await this.transcripts()).map((t) => t.text).join('\n');
  }

  /** Polls `predicate` every 250 ms for up to `ms`; resolves to whether it held. */
  async waitFor(predicate, ms) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await predicate()) return true;
      await this.page.waitForTimeout(250);
    }
    return false;
  }

  async statusText() {
    return ((await this.statusItem.first().textContent({ timeout: 2000 }).catch(() => '')) ?? '').trim();
  }

  /** A notification toast whose text matches `re`. */
  toast(re) {
    return this.page.locator('.notifications-toasts .notification-toast', { hasText: re });
  }

  async clearToasts() {
    const page = this.page;
    await page.keyboard.press('Escape');
    await this.palette('>Notifications: Clear All Notifications').catch(() => {});
    if (await page.locator('.quick-input-widget').isVisible()) await page.keyboard.press('Escape');
  }
}
