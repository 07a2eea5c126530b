// "Azure Sessions: Results": a webview panel beside the editor with every run's output, images,
// tables and errors. Images load from the server's private output directory only
// (localResourceRoots); the page runs one script of its own (nonce) and nothing else.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { renderPage } from './render';
import { RunStore } from './runs';

export const RESULTS_VIEW_TYPE = 'azureSessions.results';

interface RevealMessage {
  type: 'reveal';
  run: number;
  line: number;
  error?: boolean;
}
interface OpenMessage {
  type: 'open';
  run: number;
  display: number;
}

function isMessage(m: unknown): m is RevealMessage | OpenMessage {
  if (!m || typeof m !== 'object') {
    return false;
  }
  const t = m as { type?: unknown; run?: unknown; line?: unknown; display?: unknown };
  if (typeof t.run !== 'number') {
    return false;
  }
  if (t.type === 'reveal') {
    return typeof t.line === 'number' && Number.isInteger(t.line) && t.line >= 0;
  }
  return t.type === 'open' && typeof t.display === 'number';
}

export class ResultsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  /** Directories of the files the displays name: the only local files the page may load. */
  private readonly roots = new Map<string, vscode.Uri>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly store: RunStore,
    private readonly log: (message: string) => void,
  ) {}

  get visible(): boolean {
    return !!this.panel?.visible;
  }

  /** Shows the panel (creating it beside the active editor), without taking focus unless asked. */
  show(viewColumn?: vscode.ViewColumn, takeFocus = false): void {
    if (this.panel) {
      this.panel.reveal(this.panel.viewColumn ?? viewColumn, !takeFocus);
      return;
    }
    this.rememberRoots();
    const panel = vscode.window.createWebviewPanel(
      RESULTS_VIEW_TYPE,
      'Azure Sessions: Results',
      { viewColumn: viewColumn ?? vscode.ViewColumn.Beside, preserveFocus: !takeFocus },
      { enableScripts: true, enableCommandUris: false, localResourceRoots: [...this.roots.values()] },
    );
    this.panel = panel;
    panel.onDidDispose(() => {
      if (this.panel === panel) {
        this.panel = undefined;
      }
    }, undefined, this.disposables);
    panel.webview.onDidReceiveMessage((m: unknown) => {
      void this.onMessage(m);
    }, undefined, this.disposables);
    this.render();
  }

  /** Re-renders the page (after a run, or after Clear). */
  update(): void {
    if (!this.panel) {
      return;
    }
    const before = this.roots.size;
    this.rememberRoots();
    if (this.roots.size !== before) {
      this.panel.webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [...this.roots.values()] };
    }
    this.render();
  }

  private rememberRoots(): void {
    for (const run of this.store.all()) {
      for (const d of run.outcome.displays ?? []) {
        if (d.uri?.startsWith('file:')) {
          const dir = vscode.Uri.file(path.dirname(vscode.Uri.parse(d.uri, true).fsPath));
          this.roots.set(dir.toString(), dir);
        }
      }
    }
  }

  private render(): void {
    const panel = this.panel;
    if (!panel) {
      return;
    }
    const webview = panel.webview;
    webview.html = renderPage(this.store.all(), {
      cspSource: webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      imageSrc: (fileUri) => {
        if (!fileUri.startsWith('file:')) {
          return undefined;
        }
        return webview.asWebviewUri(vscode.Uri.parse(fileUri, true)).toString();
      },
    });
  }

  private async onMessage(m: unknown): Promise<void> {
    if (!isMessage(m)) {
      return;
    }
    const run = this.store.get(m.run);
    if (!run) {
      return;
    }
    try {
      if (m.type === 'reveal') {
        const line = m.error ? RunStore.currentLine(run, m.line) : run.lines?.first;
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(run.documentUri, true));
        const target = Math.min(Math.max(0, line ?? m.line), doc.lineCount - 1);
        const visible = vscode.window.visibleTextEditors.find((e) => e.document === doc);
        const editor = await vscode.window.showTextDocument(doc, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false });
        const at = new vscode.Position(target, 0);
        editor.selection = new vscode.Selection(at, at);
        editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      } else {
        const uri = run.outcome.displays?.[m.display]?.uri;
        if (uri?.startsWith('file:')) {
          await vscode.commands.executeCommand('vscode.open', vscode.Uri.parse(uri, true));
        }
      }
    } catch (e) {
      this.log(`Results: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
