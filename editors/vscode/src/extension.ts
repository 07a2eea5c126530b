// Azure Sessions: a thin VS Code client for the azure-sessions-lsp language server.
//
// azureSessions.ts ties the parts together: server.ts (the language server's lifecycle and sign-in),
// commands/ (what the palette and menus run), outputProvider.ts (transcripts), statusBar.ts.
import type * as vscode from 'vscode';
import { AzureSessions } from './azureSessions';

let extension: AzureSessions | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extension = new AzureSessions(context);
  context.subscriptions.push(extension);
  await extension.start();
}

export async function deactivate(): Promise<void> {
  await extension?.stop();
  extension = undefined;
}
