// The extension: the language server, the status bar, the transcripts and the commands, tied together.
import * as vscode from 'vscode';
import { ErrorCodes, ExecuteCommandRequest, ResponseError } from 'vscode-languageclient/node';
import { downloadFile, uploadFile } from './commands/files';
import { exportNotebook } from './commands/notebook';
import { runCell, runFile, runSelection, runWithInput } from './commands/run';
import { diagnosePool, resetSession, sessionInfo, showOutput } from './commands/session';
import { errorMessage, SECTION, updateShiftEnterContext } from './config';
import type { Host } from './host';
import { TranscriptProvider } from './outputProvider';
import { type AgentRunParams, isRunOutcome, OUTPUT_SCHEME, type RunOutcome, SERVER_COMMANDS } from './protocol';
import { Results } from './results';
import { RunnableLanguages } from './runnable';
import { Server } from './server';
import { SessionStatusBar } from './statusBar';
import { registerMcpProvider } from './mcp/provider';
import { InputPicker } from './stdin';
import { statusAfterError } from './util';
import { VariablesView } from './variables';

const RUN_COMMANDS: ReadonlySet<string> = new Set([SERVER_COMMANDS.run, SERVER_COMMANDS.runCell]);

export class AzureSessions implements vscode.Disposable, Host {
  readonly log: vscode.OutputChannel;
  readonly statusBar: SessionStatusBar;
  readonly transcripts: TranscriptProvider;
  readonly server: Server;
  readonly results: Results;
  readonly variables: VariablesView;
  readonly runnable = new RunnableLanguages();
  readonly inputs = new InputPicker();
  private readonly disposables: { dispose(): unknown }[] = [];
  lastOutputUri: vscode.Uri | undefined;

  constructor(context: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('Azure Sessions');
    this.statusBar = new SessionStatusBar('azureSessions.showOutput');
    this.transcripts = new TranscriptProvider(() => this.server.client);
    this.server = new Server(context, this);
    this.results = new Results((m) => {
      this.info(m);
    });
    this.variables = new VariablesView(this);
    this.disposables.push(
      this.log,
      this.results,
      this.variables,
      this.statusBar,
      this.transcripts,
      this.runnable,
      vscode.workspace.registerTextDocumentContentProvider(OUTPUT_SCHEME, this.transcripts),
      vscode.workspace.onDidChangeConfiguration((e) => {
        void this.server.onConfigurationChanged(e);
      }),
    );
    this.registerCommands();
    this.disposables.push(
      ...registerMcpProvider(
        async () => this.server.binaryPath ?? (await this.server.start(), this.server.binaryPath),
        (m) => {
          this.info(m);
        },
      ),
    );
    updateShiftEnterContext();
  }

  agentRan(params: AgentRunParams): void {
    if (!isRunOutcome(params.outcome)) {
      this.info(`An agent's run came with an outcome this version cannot read: ${params.label}`);
      return;
    }
    this.results.recordAgent(params.uri, params.label, params.outcome).catch((e: unknown) => {
      this.info(`Results: ${errorMessage(e)}`);
    });
  }

  info(message: string): void {
    this.log.appendLine(`[${new Date().toISOString()}] ${message}`);
  }

  start(): Promise<unknown> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  // ---------------------------------------------------------------- calling the server

  /**
   * Sends workspace/executeCommand. Errors that stop a run have already been shown by the server
   * (window/showMessage), so they are logged, not shown again; the result is undefined then.
   */
  async executeServerCommand(command: string, arg: unknown): Promise<unknown> {
    const client = await this.server.requireClient();
    if (!client) {
      return undefined;
    }
    const isRun = RUN_COMMANDS.has(command);
    if (isRun) {
      this.statusBar.setRunning();
    }
    try {
      const result: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
        command,
        arguments: arg === undefined ? [] : [arg],
      });
      if (isRunOutcome(result)) {
        await this.onOutcome(result);
        if (isRun) {
          await this.results.record(command, arg, result).catch((e: unknown) => {
            this.info(`Results: ${errorMessage(e)}`);
          });
          const uri = arg && typeof arg === 'object' && typeof (arg as { uri?: unknown }).uri === 'string' ? (arg as { uri: string }).uri : undefined;
          const languageId = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri)?.languageId;
          this.variables.afterRun(uri, languageId);
        }
      } else if (isRun) {
        this.statusBar.setIdle();
      }
      return result;
    } catch (e) {
      const message = errorMessage(e);
      this.info(`${command} failed: ${message}`);
      if (isRun) {
        // A run the user cancelled is not an error: the server already said what happened.
        const code = e instanceof ResponseError ? e.code : undefined;
        if (statusAfterError(code) === 'idle') {
          this.statusBar.setIdle(message);
        } else {
          this.statusBar.setError(message);
        }
      }
      const serverShown =
        e instanceof ResponseError && e.code !== ErrorCodes.InvalidParams && e.code !== ErrorCodes.MethodNotFound;
      if (!serverShown) {
        void vscode.window.showErrorMessage(`Azure Sessions: ${message}`);
      }
      return undefined;
    }
  }

  private async onOutcome(outcome: RunOutcome): Promise<void> {
    this.statusBar.setOutcome(outcome);
    if (!outcome.outputUri) {
      return;
    }
    const uri = this.transcripts.remember(outcome.outputUri);
    this.lastOutputUri = uri;
    this.transcripts.fireChanged(outcome.outputUri);
    const reveal = vscode.workspace.getConfiguration(SECTION).get<boolean>('output.revealOnRun', true);
    // The Results panel, when it is in view, shows the run too: leave it there.
    if (reveal && !this.transcripts.isVisible(uri) && !this.results.panel.visible) {
      try {
        await this.transcripts.show(uri);
      } catch (e) {
        this.info(`Opening ${outcome.outputUri}: ${errorMessage(e)}`);
      }
    }
  }

  // ---------------------------------------------------------------- commands

  private registerCommands(): void {
    const reg = (id: string, fn: (...args: unknown[]) => unknown): void => {
      this.disposables.push(vscode.commands.registerCommand(id, fn));
    };
    reg('azureSessions.runSelection', (arg) => runSelection(this, arg));
    reg('azureSessions.runCell', (arg) => runCell(this, arg, false));
    reg('azureSessions.runCellAndAdvance', (arg) => runCell(this, arg, true));
    reg('azureSessions.runFile', (arg) => runFile(this, arg));
    reg('azureSessions.runFileWithInput', (arg) => runWithInput(this, arg, 'file'));
    reg('azureSessions.runCellWithInput', (arg) => runWithInput(this, arg, 'cell'));
    reg('azureSessions.resetSession', () => resetSession(this));
    reg('azureSessions.showOutput', () => showOutput(this));
    reg('azureSessions.sessionInfo', () => sessionInfo(this));
    reg('azureSessions.uploadFile', (arg, all) => uploadFile(this, arg, all));
    reg('azureSessions.downloadFile', () => downloadFile(this));
    reg('azureSessions.diagnosePool', () => diagnosePool(this));
    reg('azureSessions.exportNotebook', () => exportNotebook(this));
    reg('azureSessions.restartServer', () => this.server.restart('requested'));
    reg('azureSessions.showServerLog', () => {
      this.log.show(true);
    });
  }

  /** The document that picks the session (per folder or per file): the active editor's, if any. */
  sessionDocument(): string | undefined {
    const doc = vscode.window.activeTextEditor?.document;
    if (doc && doc.uri.scheme !== OUTPUT_SCHEME) {
      return doc.uri.toString();
    }
    const folder = vscode.workspace.workspaceFolders?.[0];
    return folder?.uri.toString();
  }

  withUri(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const uri = this.sessionDocument();
    return uri ? { uri, ...extra } : extra;
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
