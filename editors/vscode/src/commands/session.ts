// Session commands: reset, show output, session info, diagnose the pool.
import * as vscode from 'vscode';
import { servedLanguageIds } from '../runnable';
import { isDoctorReport, renderReport, summary } from '../doctor';
import type { Host } from '../host';
import { OUTPUT_SCHEME, SERVER_COMMANDS, type SessionInfo } from '../protocol';
import { transcriptToShow } from '../util';

export async function resetSession(host: Host): Promise<void> {
  const result = await host.executeServerCommand(SERVER_COMMANDS.resetSession, host.withUri());
  if (result !== undefined) {
    host.statusBar.setIdle('Azure Sessions: the session was reset.');
    void vscode.window.showInformationMessage('Azure Sessions: the session was reset; the next run starts a new one.');
  }
}

export async function fetchSessionInfo(host: Host): Promise<SessionInfo | undefined> {
  const info = await host.executeServerCommand(SERVER_COMMANDS.sessionInfo, host.withUri());
  if (info && typeof info === 'object') {
    return info;
  }
  return undefined;
}

export async function showOutput(host: Host): Promise<void> {
  // In a multi-root window each folder has its own session: show the one of the document the
  // user is in (the transcript itself counts as none), else the one that changed last.
  const active = vscode.window.activeTextEditor?.document.uri;
  const info = active && active.scheme !== OUTPUT_SCHEME ? await fetchSessionInfo(host) : undefined;
  const last = host.lastOutputUri ? host.transcripts.serverUri(host.lastOutputUri) : undefined;
  const chosen = transcriptToShow(info?.outputUri, last);
  let uri = chosen ? host.transcripts.remember(chosen) : undefined;
  if (!uri) {
    const fallback = await fetchSessionInfo(host);
    if (fallback?.outputUri) {
      uri = host.transcripts.remember(fallback.outputUri);
    } else if (fallback?.identifier) {
      uri = host.transcripts.remember(`${OUTPUT_SCHEME}://output/${fallback.identifier}`);
    }
  }
  if (!uri) {
    void vscode.window.showInformationMessage('Azure Sessions: nothing has run in this session yet.');
    return;
  }
  await host.transcripts.show(uri);
}

export async function sessionInfo(host: Host): Promise<void> {
  const info = await fetchSessionInfo(host);
  if (!info) {
    return;
  }
  interface Item extends vscode.QuickPickItem {
    value?: string;
    action?: () => Promise<void>;
  }
  const field = (label: string, value: string | number | null | undefined): Item => {
    const text = value === undefined || value === null || value === '' ? '—' : String(value);
    return { label, description: text, value: text, detail: undefined };
  };
  const items: Item[] = [
    field('Endpoint', info.endpoint),
    field('API', info.api),
    field('Scope', info.scope),
    field('Identifier', info.identifier),
    field('Runs', info.runs),
    field('Last run', info.lastRunAt),
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(output) Show Output', action: () => showOutput(host) },
    { label: '$(debug-restart) Reset Session', action: () => resetSession(host) },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Azure Session (select a value to copy it)',
    placeHolder: 'Session info',
  });
  if (picked?.action) {
    await picked.action();
  } else if (picked?.value !== undefined) {
    await vscode.env.clipboard.writeText(picked.value);
    void vscode.window.showInformationMessage(`Azure Sessions: copied the ${picked.label.toLowerCase()}.`);
  }
}

/** Runs the server's pool doctor for the active Python/JavaScript document (else the first folder) and shows its report. */
export async function diagnosePool(host: Host): Promise<void> {
  const doc = vscode.window.activeTextEditor?.document;
  const uri = doc && servedLanguageIds().includes(doc.languageId) ? doc.uri.toString() : vscode.workspace.workspaceFolders?.[0]?.uri.toString();
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Azure Sessions: diagnosing the pool (DNS, TLS, token, a one-line run)…' },
    () => host.executeServerCommand(SERVER_COMMANDS.doctor, uri ? { uri } : {}),
  );
  if (!isDoctorReport(report)) {
    return;
  }
  host.info(`Diagnose Pool (${report.endpoint || 'no endpoint'}): ${summary(report)}`);
  const shown = await vscode.workspace.openTextDocument({ language: 'markdown', content: renderReport(report) });
  await vscode.window.showTextDocument(shown, { preview: false });
  const message = `Azure Sessions: ${summary(report)}`;
  if (report.ok) {
    void vscode.window.showInformationMessage(message);
  } else {
    void vscode.window.showWarningMessage(message);
  }
}
