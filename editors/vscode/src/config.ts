// Settings of the extension: the section, the languages it serves, what is sent to the server, who signs in.
import * as vscode from 'vscode';
import { servedLanguageIds } from './runnable';
import { type EndpointOrigin, endpointOrigin, serverSettings } from './util';

export const SECTION = 'azureSessions';
export const LANGUAGES = ['python', 'javascript'];
/** VS Code's authentication provider for Microsoft accounts; `azureSessions.signInProvider` may name another. */
const DEFAULT_AUTH_PROVIDER = 'microsoft';

/** Settings scope: a folder (or a resource in one), or none for the window. */
export type Scope = vscode.Uri | vscode.WorkspaceFolder | undefined;

/**
 * Whether the endpoint for this scope comes from the workspace's own settings (also per language),
 * so that the server does not prewarm it: opening a folder must not send a token to a host it chose.
 */
export function endpointOriginFor(scope: Scope): EndpointOrigin {
  const uri = scope instanceof vscode.Uri ? scope : scope?.uri;
  const inspect = (s: vscode.ConfigurationScope | undefined) => vscode.workspace.getConfiguration(SECTION, s).inspect('endpoint');
  return endpointOrigin([inspect(uri), ...servedLanguageIds().map((languageId) => inspect({ uri, languageId }))]);
}

export function settingsObject(scope?: Scope): Record<string, unknown> {
  // JSON round trip: WorkspaceConfiguration carries methods; the server wants plain data.
  const section = JSON.parse(JSON.stringify(vscode.workspace.getConfiguration(SECTION, scope))) as Record<string, unknown>;
  return serverSettings(section, endpointOriginFor(scope));
}

/** The VS Code authentication provider for signIn = "vscode" (machine-scoped: never a workspace's). */
export function signInProvider(): string {
  const configured = vscode.workspace.getConfiguration(SECTION).get<unknown>('signInProvider');
  return typeof configured === 'string' && configured.trim() !== '' ? configured.trim() : DEFAULT_AUTH_PROVIDER;
}

/** What the server must be restarted for when it changes: who signs in, and with which provider. */
export function signInState(): string {
  const signIn = vscode.workspace.getConfiguration(SECTION).get<string>('signIn', 'server');
  return signIn === 'vscode' ? `vscode:${signInProvider()}` : signIn;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function updateShiftEnterContext(): void {
  const enabled = vscode.workspace.getConfiguration(SECTION).get<boolean>('keybindings.shiftEnter', false);
  void vscode.commands.executeCommand('setContext', 'azureSessions.shiftEnterEnabled', enabled);
}
