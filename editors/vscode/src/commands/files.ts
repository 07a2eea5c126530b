// File commands: upload to the session, download from it.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Host } from '../host';
import { type RemoteFile, SERVER_COMMANDS } from '../protocol';
import { formatBytes } from '../util';

export async function uploadFile(host: Host, arg: unknown, all: unknown): Promise<void> {
  let files: vscode.Uri[] = [];
  if (Array.isArray(all) && all.every((u) => u instanceof vscode.Uri) && all.length > 0) {
    files = all;
  } else if (arg instanceof vscode.Uri) {
    files = [arg];
  } else {
    files =
      (await vscode.window.showOpenDialog({
        canSelectMany: true,
        canSelectFolders: false,
        openLabel: 'Upload to Azure Session',
        title: 'Upload File to Azure Session',
        defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      })) ?? [];
  }
  for (const file of files.filter((f) => f.scheme === 'file')) {
    const result = (await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Uploading ${path.basename(file.fsPath)} to the Azure session…` },
      // The session is the one of the document the user is in (or the first folder), never
      // the uploaded file's own.
      () => host.executeServerCommand(SERVER_COMMANDS.uploadFile, { uri: file.toString(), documentUri: host.sessionDocument() }),
    )) as { name?: string; size?: number } | undefined;
    if (result) {
      void vscode.window.showInformationMessage(
        `Azure Sessions: uploaded ${result.name ?? path.basename(file.fsPath)} (${formatBytes(result.size)}) to the session.`,
      );
    }
  }
}

export async function downloadFile(host: Host): Promise<void> {
  const listed = await host.executeServerCommand(SERVER_COMMANDS.listFiles, host.withUri());
  if (!Array.isArray(listed)) {
    return;
  }
  const files = listed as RemoteFile[];
  if (files.length === 0) {
    void vscode.window.showInformationMessage('Azure Sessions: the session has no files.');
    return;
  }
  const picked = await vscode.window.showQuickPick(
    files.map((f) => ({ label: f.name, description: formatBytes(f.size), detail: f.lastModified, file: f })),
    { title: 'Download File from Azure Session', placeHolder: 'File to download' },
  );
  if (!picked) {
    return;
  }
  // The folder of the document the user is in (multi-root), else the first.
  const active = vscode.window.activeTextEditor?.document.uri;
  const folder = (active && vscode.workspace.getWorkspaceFolder(active)?.uri) ?? vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder, path.basename(picked.file.name)) : undefined,
    saveLabel: 'Download',
    title: `Download ${picked.file.name}`,
  });
  if (!target) {
    return;
  }
  const result = (await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Downloading ${picked.file.name}…` },
    () => host.executeServerCommand(SERVER_COMMANDS.downloadFile, host.withUri({ remoteName: picked.file.name, targetUri: target.toString() })),
  )) as { targetUri?: string; size?: number } | undefined;
  if (result) {
    const choice = await vscode.window.showInformationMessage(
      `Azure Sessions: downloaded ${picked.file.name} (${formatBytes(result.size)}) to ${target.fsPath}.`,
      'Open',
    );
    if (choice === 'Open') {
      await vscode.commands.executeCommand('vscode.open', target);
    }
  }
}
