// What the command modules and the server's lifecycle need from the extension.
import type * as vscode from 'vscode';
import type { TranscriptProvider } from './outputProvider';
import type { AgentRunParams } from './protocol';
import type { RunnableLanguages } from './runnable';
import type { InputPicker } from './stdin';
import type { SessionStatusBar } from './statusBar';

export interface Host {
  readonly log: vscode.OutputChannel;
  readonly statusBar: SessionStatusBar;
  readonly transcripts: TranscriptProvider;
  /** Which languages the pool runs (context keys, code action filter). */
  readonly runnable: RunnableLanguages;
  /** The stdin prompt of Run File/Cell with Input…. */
  readonly inputs: InputPicker;
  /** The transcript that changed last (a run's, or one the server reported). */
  lastOutputUri: vscode.Uri | undefined;
  /** Shows a run an agent made (azure-sessions/agentRun) with the user's runs. */
  agentRan(params: AgentRunParams): void;
  /** Writes a line to the Azure Sessions output channel. */
  info(message: string): void;
  /**
   * Sends workspace/executeCommand. Errors that stop a run have already been shown by the server
   * (window/showMessage), so they are logged, not shown again; the result is undefined then.
   */
  executeServerCommand(command: string, arg: unknown): Promise<unknown>;
  /** The document that picks the session (per folder or per file): the active editor's, if any. */
  sessionDocument(): string | undefined;
  /** `extra` with the session document's `uri`, when there is one. */
  withUri(extra?: Record<string, unknown>): Record<string, unknown>;
}
