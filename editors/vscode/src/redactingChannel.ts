// The output channel handed to vscode-languageclient, with tokens redacted.
import type * as vscode from 'vscode';
import { redactSecrets } from './util';

/**
 * The output channel as vscode-languageclient sees it: everything it writes (server stderr, and the
 * LSP trace, whose "verbose" level prints every response, azure-sessions/getAccessToken's too) has
 * the tokens handed to the server replaced, so that no token reaches the channel or its log file.
 */
export class RedactingChannel implements vscode.OutputChannel {
  constructor(
    private readonly inner: vscode.OutputChannel,
    private readonly secrets: () => Iterable<string>,
  ) {}
  get name(): string {
    return this.inner.name;
  }
  append(value: string): void {
    this.inner.append(redactSecrets(value, this.secrets()));
  }
  appendLine(value: string): void {
    this.inner.appendLine(redactSecrets(value, this.secrets()));
  }
  replace(value: string): void {
    this.inner.replace(redactSecrets(value, this.secrets()));
  }
  clear(): void {
    this.inner.clear();
  }
  show(columnOrPreserveFocus?: vscode.ViewColumn | boolean, preserveFocus?: boolean): void {
    // The column of the deprecated overload is ignored by VS Code anyway.
    this.inner.show(typeof columnOrPreserveFocus === 'boolean' ? columnOrPreserveFocus : preserveFocus);
  }
  hide(): void {
    this.inner.hide();
  }
  dispose(): void {
    // The extension owns the inner channel and disposes of it.
  }
}
