// The session transcript as a read-only virtual document (scheme azure-sessions), served by the
// server's azure-sessions/output request and refreshed on azure-sessions/outputChanged.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { OUTPUT_SCHEME, OutputRequest } from './protocol';

export class TranscriptProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** The server's own spelling of each transcript URI, keyed by the normalized vscode.Uri string. */
  private readonly original = new Map<string, string>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly getClient: () => LanguageClient | undefined) {
    // Keep the end of a visible transcript in view: the newest run is last.
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.scheme !== OUTPUT_SCHEME) {
          return;
        }
        const last = new vscode.Range(e.document.lineCount - 1, 0, e.document.lineCount - 1, 0);
        for (const editor of vscode.window.visibleTextEditors) {
          if (editor.document === e.document) {
            editor.revealRange(last, vscode.TextEditorRevealType.Default);
          }
        }
      }),
    );
  }

  /** Records a URI string as the server sent it and returns the vscode.Uri for it. */
  remember(serverUri: string): vscode.Uri {
    const uri = vscode.Uri.parse(serverUri, true);
    this.original.set(uri.toString(), serverUri);
    return uri;
  }

  serverUri(uri: vscode.Uri): string {
    return this.original.get(uri.toString()) ?? uri.toString(true);
  }

  /** Called on azure-sessions/outputChanged. */
  fireChanged(serverUri: string): void {
    this.changed.fire(this.remember(serverUri));
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const client = this.getClient();
    if (!client?.isRunning()) {
      return 'The Azure Sessions language server is not running. Run "Azure Sessions: Restart Language Server".\n';
    }
    try {
      const result = await client.sendRequest(OutputRequest, { uri: this.serverUri(uri) }, token);
      return result.text;
    } catch (e) {
      client.error(`azure-sessions/output failed for ${uri.toString(true)}`, e, false);
      return `The transcript could not be read: ${e instanceof Error ? e.message : String(e)}\n`;
    }
  }

  isVisible(uri: vscode.Uri): boolean {
    const key = uri.toString();
    return vscode.window.visibleTextEditors.some((e) => e.document.uri.toString() === key);
  }

  /** Opens the transcript beside the active editor without taking focus. */
  async show(uri: vscode.Uri, takeFocus = false): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(uri);
    const visible = vscode.window.visibleTextEditors.find((e) => e.document === doc);
    await vscode.window.showTextDocument(doc, {
      viewColumn: visible?.viewColumn ?? vscode.ViewColumn.Beside,
      preserveFocus: !takeFocus,
      preview: true,
    });
  }

  dispose(): void {
    this.changed.dispose();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
