// Export Session as Notebook…: the session's runs as an .ipynb file, written by the server.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Host } from '../host';
import { SERVER_COMMANDS } from '../protocol';
import { notebookName } from '../util';

export async function exportNotebook(host: Host): Promise<void> {
  const active = vscode.window.activeTextEditor?.document.uri;
  const doc = host.sessionDocument();
  const folder = (active && vscode.workspace.getWorkspaceFolder(active)?.uri) ?? vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder, notebookName(doc)) : undefined,
    filters: { 'Jupyter Notebook': ['ipynb'] },
    saveLabel: 'Export',
    title: 'Export Azure Session as Notebook',
  });
  if (!target) {
    return;
  }
  const result = (await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Exporting the session to ${path.basename(target.fsPath)}…` },
    () => host.executeServerCommand(SERVER_COMMANDS.exportNotebook, host.withUri({ targetUri: target.toString() })),
  )) as { targetUri?: string; cells?: number } | undefined;
  if (!result) {
    return;
  }
  const cells = typeof result.cells === 'number' ? result.cells : 0;
  const choice = await vscode.window.showInformationMessage(
    `Azure Sessions: exported ${cells} run${cells === 1 ? '' : 's'} to ${target.fsPath}.`,
    'Open',
  );
  if (choice === 'Open') {
    await vscode.commands.executeCommand('vscode.open', target);
  }
}
