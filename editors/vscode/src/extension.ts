// Azure Sessions: a thin VS Code client for the azure-sessions-lsp language server.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ErrorCodes,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  ResponseError,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
} from 'vscode-languageclient/node';
import { isDoctorReport, renderReport, summary } from './doctor';
import { TranscriptProvider } from './outputProvider';
import { RunnableLanguages, servedLanguageIds } from './runnable';
import { InputPicker } from './stdin';
import {
  type AccessTokenParams,
  type AccessTokenResult,
  GetAccessTokenRequest,
  isRunOutcome,
  OUTPUT_SCHEME,
  OutputChangedNotification,
  type RemoteFile,
  type RunOutcome,
  SERVER_COMMANDS,
  type SessionInfo,
  StatusNotification,
} from './protocol';
import { locateServer, ServerNotFoundError } from './serverLocator';
import { SessionStatusBar } from './statusBar';
import {
  accessTokenScopes,
  compileCellMarker,
  DEFAULT_SCOPE,
  type EndpointOrigin,
  endpointOrigin,
  formatBytes,
  jwtExpiry,
  nextCellLine,
  redactSecrets,
  serverSettings,
  statusAfterError,
  transcriptToShow,
} from './util';

const SECTION = 'azureSessions';
/** VS Code's authentication provider for Microsoft accounts; `azureSessions.signInProvider` may name another. */
const DEFAULT_AUTH_PROVIDER = 'microsoft';
/** How many of the tokens handed to the server are remembered, to redact them from the log. */
const REMEMBERED_TOKENS = 16;
const RUN_COMMANDS: ReadonlySet<string> = new Set([SERVER_COMMANDS.run, SERVER_COMMANDS.runCell]);

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

/** Settings scope: a folder (or a resource in one), or none for the window. */
type Scope = vscode.Uri | vscode.WorkspaceFolder | undefined;

/**
 * Whether the endpoint for this scope comes from the workspace's own settings (also per language),
 * so that the server does not prewarm it: opening a folder must not send a token to a host it chose.
 */
function endpointOriginFor(scope: Scope): EndpointOrigin {
  const uri = scope instanceof vscode.Uri ? scope : scope?.uri;
  const inspect = (s: vscode.ConfigurationScope | undefined) => vscode.workspace.getConfiguration(SECTION, s).inspect('endpoint');
  return endpointOrigin([inspect(uri), ...servedLanguageIds().map((languageId) => inspect({ uri, languageId }))]);
}

function settingsObject(scope?: Scope): Record<string, unknown> {
  // JSON round trip: WorkspaceConfiguration carries methods; the server wants plain data.
  const section = JSON.parse(JSON.stringify(vscode.workspace.getConfiguration(SECTION, scope))) as Record<string, unknown>;
  return serverSettings(section, endpointOriginFor(scope));
}

/** The VS Code authentication provider for signIn = "vscode" (machine-scoped: never a workspace's). */
function signInProvider(): string {
  const configured = vscode.workspace.getConfiguration(SECTION).get<unknown>('signInProvider');
  return typeof configured === 'string' && configured.trim() !== '' ? configured.trim() : DEFAULT_AUTH_PROVIDER;
}

/** What the server must be restarted for when it changes: who signs in, and with which provider. */
function signInState(): string {
  const signIn = vscode.workspace.getConfiguration(SECTION).get<string>('signIn', 'server');
  return signIn === 'vscode' ? `vscode:${signInProvider()}` : signIn;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The output channel as vscode-languageclient sees it: everything it writes (server stderr, and the
 * LSP trace, whose "verbose" level prints every response, azure-sessions/getAccessToken's too) has
 * the tokens handed to the server replaced, so that no token reaches the channel or its log file.
 */
class RedactingChannel implements vscode.OutputChannel {
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

class AzureSessions implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private readonly log: vscode.OutputChannel;
  /** The same channel for vscode-languageclient, with the tokens given to the server redacted. */
  private readonly clientLog: vscode.OutputChannel;
  /** The last tokens handed to the server (in memory only), so that the log can redact them. */
  private readonly handedOut: string[] = [];
  private readonly statusBar: SessionStatusBar;
  private readonly transcripts: TranscriptProvider;
  /** Which languages the pool runs (context keys, code action filter) and the stdin prompt. */
  private readonly runnable = new RunnableLanguages();
  private readonly inputs = new InputPicker();
  /** The language ids the running client serves (its document selector). */
  private servedAtStart = '';
  private readonly disposables: { dispose(): unknown }[] = [];
  private lastOutputUri: vscode.Uri | undefined;
  private missingServerShown = false;
  /** azureSessions.signIn and .signInProvider as the running server was started with. */
  private startedSignIn: string | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('Azure Sessions');
    this.clientLog = new RedactingChannel(this.log, () => this.handedOut);
    this.statusBar = new SessionStatusBar('azureSessions.showOutput');
    this.transcripts = new TranscriptProvider(() => this.client);
    this.disposables.push(
      this.log,
      this.statusBar,
      this.transcripts,
      this.runnable,
      vscode.workspace.registerTextDocumentContentProvider(OUTPUT_SCHEME, this.transcripts),
      vscode.workspace.onDidChangeConfiguration((e) => {
        void this.onConfigurationChanged(e);
      }),
    );
    this.registerCommands();
    this.updateShiftEnterContext();
  }

  private info(message: string): void {
    this.log.appendLine(`[${new Date().toISOString()}] ${message}`);
  }

  // ---------------------------------------------------------------- server lifecycle

  async start(): Promise<LanguageClient | undefined> {
    if (this.client?.isRunning()) {
      return this.client;
    }
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<LanguageClient | undefined> {
    this.statusBar.setStarting();
    const config = vscode.workspace.getConfiguration(SECTION);
    let binary;
    try {
      binary = await locateServer(config.get<string>('server.path', ''), this.context.extensionPath);
    } catch (e) {
      this.reportMissingServer(e);
      return undefined;
    }
    this.info(`Using ${binary.path} (azure-sessions-lsp ${binary.version}, from ${binary.source}).`);

    const signIn = config.get<string>('signIn', 'server');
    this.startedSignIn = signInState();
    const serverOptions: ServerOptions = {
      command: binary.path,
      args: ['serve'],
      options: { env: { ...process.env } },
    };
    const folder = vscode.workspace.workspaceFolders?.[0];
    const served = servedLanguageIds();
    this.servedAtStart = served.join(',');
    const clientOptions: LanguageClientOptions = {
      documentSelector: served.flatMap((language) => [
        { scheme: 'file', language },
        { scheme: 'untitled', language },
      ]),
      outputChannel: this.clientLog,
      traceOutputChannel: this.clientLog,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: {
        azureSessions: settingsObject(folder),
        ...(signIn === 'vscode' ? { tokenProvider: 'client' } : {}),
      },
      middleware: {
        // Code lenses and code actions call the server commands through the VS Code commands that
        // vscode-languageclient registers for them; route them through the same handling as ours.
        executeCommand: (command, args) => this.executeServerCommand(command, args[0]),
        ...this.runnable.middleware(),
        workspace: {
          configuration: async (params, token, next) => {
            const result: unknown = await next(params, token);
            if (!Array.isArray(result)) {
              return result as unknown[];
            }
            return result.map((value: unknown, i) => {
              const item = params.items[i];
              if (item?.section !== SECTION || !value || typeof value !== 'object') {
                return value;
              }
              const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
              return serverSettings(value as Record<string, unknown>, endpointOriginFor(scope));
            });
          },
        },
      },
    };

    const client = new LanguageClient(SECTION, 'Azure Sessions', serverOptions, clientOptions);
    client.onNotification(StatusNotification, (p) => {
      this.statusBar.setServerState(p.state, p.message);
    });
    client.onNotification(OutputChangedNotification, (p) => {
      this.lastOutputUri = this.transcripts.remember(p.uri);
      this.transcripts.fireChanged(p.uri);
    });
    client.onRequest(GetAccessTokenRequest, (p) => this.getAccessToken(p));
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return;
      }
      if (e.newState === State.Stopped) {
        this.statusBar.setError('the language server stopped. Run "Azure Sessions: Restart Language Server".');
      } else if (e.newState === State.Running && e.oldState === State.Starting && this.statusBar.current === 'error') {
        this.statusBar.setIdle(); // restarted by vscode-languageclient after a crash
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      this.client = undefined;
      void client.dispose().catch(() => undefined);
      this.info(`The language server failed to start: ${errorMessage(e)}`);
      this.statusBar.setError(`the language server failed to start: ${errorMessage(e)}`);
      void vscode.window
        .showErrorMessage(`Azure Sessions: the language server (${binary.path}) failed to start: ${errorMessage(e)}`, 'Show Log', 'Open Settings')
        .then((choice) => this.onErrorChoice(choice));
      return undefined;
    }
    this.missingServerShown = false;
    this.statusBar.setIdle();
    return client;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (e) {
        this.info(`Stopping the language server: ${errorMessage(e)}`);
      }
      try {
        await client.dispose();
      } catch {
        // already stopped
      }
    }
  }

  async restart(reason?: string): Promise<void> {
    if (reason) {
      this.info(`Restarting the language server: ${reason}`);
    }
    await this.starting?.catch(() => undefined);
    await this.stop();
    this.missingServerShown = false;
    await this.start();
  }

  private reportMissingServer(e: unknown): void {
    const message = errorMessage(e);
    this.info(message);
    this.statusBar.setServerMissing(message);
    if (this.missingServerShown && !(e instanceof ServerNotFoundError && e.explicit)) {
      return;
    }
    this.missingServerShown = true;
    void vscode.window
      .showErrorMessage(`Azure Sessions: ${message}`, 'Open Settings', 'Show Log')
      .then((choice) => this.onErrorChoice(choice));
  }

  private async onErrorChoice(choice: string | undefined): Promise<void> {
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'azureSessions.server.path');
    } else if (choice === 'Show Log') {
      this.log.show(true);
    }
  }

  private async requireClient(): Promise<LanguageClient | undefined> {
    if (this.client?.isRunning()) {
      return this.client;
    }
    this.missingServerShown = false;
    return this.start();
  }

  private async onConfigurationChanged(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!e.affectsConfiguration(SECTION)) {
      return;
    }
    if (e.affectsConfiguration('azureSessions.keybindings.shiftEnter')) {
      this.updateShiftEnterContext();
    }
    // A new provider must not reuse the token the server cached from the previous one: restart. Only
    // when the effective value changed (a workspace's signInProvider, which VS Code ignores, does not count).
    const signInKey = ['azureSessions.signIn', 'azureSessions.signInProvider'].find((k) => e.affectsConfiguration(k));
    if (signInKey && signInState() !== this.startedSignIn) {
      void vscode.window.showInformationMessage(`Azure Sessions: restarting the language server to apply ${signInKey}.`);
      await this.restart(`${signInKey} changed`);
      return;
    }
    if (e.affectsConfiguration('azureSessions.languages') && servedLanguageIds().join(',') !== this.servedAtStart && this.client) {
      // A language id of its own in azureSessions.languages: the document selector must include it.
      await this.restart('azureSessions.languages names another language');
      return;
    }
    if (e.affectsConfiguration('azureSessions.server.path')) {
      const choice = await vscode.window.showInformationMessage(
        'Azure Sessions: azureSessions.server.path changed. Restart the language server to use it?',
        'Restart',
      );
      if (choice === 'Restart') {
        await this.restart('azureSessions.server.path changed');
      }
      return;
    }
    const client = this.client;
    if (client?.isRunning()) {
      // The server also pulls per-folder values with workspace/configuration.
      await client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { [SECTION]: settingsObject() },
      });
    }
  }

  private updateShiftEnterContext(): void {
    const enabled = vscode.workspace.getConfiguration(SECTION).get<boolean>('keybindings.shiftEnter', false);
    void vscode.commands.executeCommand('setContext', 'azureSessions.shiftEnterEnabled', enabled);
  }

  // ---------------------------------------------------------------- sign-in

  private async getAccessToken(params: AccessTokenParams): Promise<AccessTokenResult> {
    const signIn = vscode.workspace.getConfiguration(SECTION).get<string>('signIn', 'server');
    if (signIn !== 'vscode') {
      throw new ResponseError(ErrorCodes.InvalidRequest, 'azureSessions.signIn is "server": the extension does not provide tokens.');
    }
    const scopes = accessTokenScopes(params.scopes);
    const requested: unknown[] = Array.isArray(params.scopes) ? params.scopes : [];
    if (requested.some((s) => s !== DEFAULT_SCOPE)) {
      this.info(`The server asked for a token for ${requested.join(' ')}; providing one for ${DEFAULT_SCOPE} only.`);
    }
    const provider = signInProvider();
    try {
      const session = await vscode.authentication.getSession(provider, scopes, { createIfNone: true });
      const expiresOn = jwtExpiry(session.accessToken) ?? Math.floor(Date.now() / 1000) + 45 * 60;
      this.handedOut.push(session.accessToken);
      this.handedOut.splice(0, Math.max(0, this.handedOut.length - REMEMBERED_TOKENS));
      this.info(`Provided a token for ${scopes.join(' ')} (account ${session.account.label}, authentication provider ${provider}).`);
      return { token: session.accessToken, expiresOn };
    } catch (e) {
      this.info(`Sign-in with VS Code's authentication provider ${provider} failed: ${errorMessage(e)}`);
      throw new ResponseError(
        ErrorCodes.InternalError,
        `Sign-in in VS Code (authentication provider ${provider}) failed or was cancelled: ${errorMessage(e)}`,
      );
    }
  }

  // ---------------------------------------------------------------- calling the server

  /**
   * Sends workspace/executeCommand. Errors that stop a run have already been shown by the server
   * (window/showMessage), so they are logged, not shown again; the result is undefined then.
   */
  private async executeServerCommand(command: string, arg: unknown): Promise<unknown> {
    const client = await this.requireClient();
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
    if (reveal && !this.transcripts.isVisible(uri)) {
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
    reg('azureSessions.runSelection', (arg) => this.runSelection(arg));
    reg('azureSessions.runCell', (arg) => this.runCell(arg, false));
    reg('azureSessions.runCellAndAdvance', (arg) => this.runCell(arg, true));
    reg('azureSessions.runFile', (arg) => this.runFile(arg));
    reg('azureSessions.runFileWithInput', (arg) => this.runWithInput(arg, 'file'));
    reg('azureSessions.runCellWithInput', (arg) => this.runWithInput(arg, 'cell'));
    reg('azureSessions.resetSession', () => this.resetSession());
    reg('azureSessions.showOutput', () => this.showOutput());
    reg('azureSessions.sessionInfo', () => this.sessionInfo());
    reg('azureSessions.uploadFile', (arg, all) => this.uploadFile(arg, all));
    reg('azureSessions.downloadFile', () => this.downloadFile());
    reg('azureSessions.diagnosePool', () => this.diagnosePool());
    reg('azureSessions.restartServer', () => this.restart('requested'));
    reg('azureSessions.showServerLog', () => {
      this.log.show(true);
    });
  }

  /** The editor to run in: the one whose resource the menu passed, else the active one. */
  private runnableEditor(arg: unknown): vscode.TextEditor | undefined {
    let editor = vscode.window.activeTextEditor;
    if (arg instanceof vscode.Uri) {
      editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === arg.toString()) ?? editor;
    }
    if (!editor || !this.runnable.canRun(editor.document)) {
      void vscode.window.showWarningMessage(
        'Azure Sessions: open a Python or JavaScript file to run it in the Azure session (other languages run on a custom-container pool: azureSessions.api "custom").',
      );
      return undefined;
    }
    return editor;
  }

  private async runSelection(arg: unknown): Promise<void> {
    const editor = this.runnableEditor(arg);
    if (!editor) {
      return;
    }
    const s = editor.selection;
    await this.executeServerCommand(SERVER_COMMANDS.run, {
      uri: editor.document.uri.toString(),
      range: {
        start: { line: s.start.line, character: s.start.character },
        end: { line: s.end.line, character: s.end.character },
      },
    });
  }

  private async runCell(arg: unknown, advance: boolean, stdin?: string): Promise<void> {
    const editor = this.runnableEditor(arg);
    if (!editor) {
      return;
    }
    const position = editor.selection.active;
    const pending = this.executeServerCommand(SERVER_COMMANDS.runCell, {
      uri: editor.document.uri.toString(),
      position: { line: position.line, character: position.character },
      ...(stdin === undefined ? {} : { stdin }),
    });
    if (advance) {
      const doc = editor.document;
      const lines = Array.from({ length: doc.lineCount }, (_v, i) => doc.lineAt(i).text);
      const marker = compileCellMarker(vscode.workspace.getConfiguration(SECTION, doc.uri).get<string>('cellMarker'));
      const line = nextCellLine(lines, position.line, marker);
      const next = new vscode.Position(line, 0);
      editor.selection = new vscode.Selection(next, next);
      editor.revealRange(new vscode.Range(next, next), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
    await pending;
  }

  private async runFile(arg: unknown, stdin?: string): Promise<void> {
    const editor = this.runnableEditor(arg);
    if (!editor) {
      return;
    }
    await this.executeServerCommand(SERVER_COMMANDS.run, { uri: editor.document.uri.toString(), ...(stdin === undefined ? {} : { stdin }) });
  }

  /** Run File/Cell with Input…: asks for the standard input (src/stdin.ts), then runs with it. */
  private async runWithInput(arg: unknown, what: 'file' | 'cell'): Promise<void> {
    const editor = this.runnableEditor(arg);
    if (!editor) {
      return;
    }
    if (!this.runnable.takesStdin(editor.document)) {
      void vscode.window.showWarningMessage(
        'Azure Sessions: this pool takes no standard input: Python and Node code-interpreter pools do not; custom-container pools (azureSessions.api "custom") and Shell pools do.',
      );
      return;
    }
    const stdin = await this.inputs.ask(editor.document, what);
    if (stdin === undefined) {
      return;
    }
    await (what === 'file' ? this.runFile(editor.document.uri, stdin) : this.runCell(editor.document.uri, false, stdin));
  }

  /** The document that picks the session (per folder or per file): the active editor's, if any. */
  private sessionDocument(): string | undefined {
    const doc = vscode.window.activeTextEditor?.document;
    if (doc && doc.uri.scheme !== OUTPUT_SCHEME) {
      return doc.uri.toString();
    }
    const folder = vscode.workspace.workspaceFolders?.[0];
    return folder?.uri.toString();
  }

  private withUri(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const uri = this.sessionDocument();
    return uri ? { uri, ...extra } : extra;
  }

  private async resetSession(): Promise<void> {
    const result = await this.executeServerCommand(SERVER_COMMANDS.resetSession, this.withUri());
    if (result !== undefined) {
      this.statusBar.setIdle('Azure Sessions: the session was reset.');
      void vscode.window.showInformationMessage('Azure Sessions: the session was reset; the next run starts a new one.');
    }
  }

  private async fetchSessionInfo(): Promise<SessionInfo | undefined> {
    const info = await this.executeServerCommand(SERVER_COMMANDS.sessionInfo, this.withUri());
    if (info && typeof info === 'object') {
      return info;
    }
    return undefined;
  }

  private async showOutput(): Promise<void> {
    // In a multi-root window each folder has its own session: show the one of the document the
    // user is in (the transcript itself counts as none), else the one that changed last.
    const active = vscode.window.activeTextEditor?.document.uri;
    const info = active && active.scheme !== OUTPUT_SCHEME ? await this.fetchSessionInfo() : undefined;
    const last = this.lastOutputUri ? this.transcripts.serverUri(this.lastOutputUri) : undefined;
    const chosen = transcriptToShow(info?.outputUri, last);
    let uri = chosen ? this.transcripts.remember(chosen) : undefined;
    if (!uri) {
      const fallback = await this.fetchSessionInfo();
      if (fallback?.outputUri) {
        uri = this.transcripts.remember(fallback.outputUri);
      } else if (fallback?.identifier) {
        uri = this.transcripts.remember(`${OUTPUT_SCHEME}://output/${fallback.identifier}`);
      }
    }
    if (!uri) {
      void vscode.window.showInformationMessage('Azure Sessions: nothing has run in this session yet.');
      return;
    }
    await this.transcripts.show(uri);
  }

  private async sessionInfo(): Promise<void> {
    const info = await this.fetchSessionInfo();
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
      { label: '$(output) Show Output', action: () => this.showOutput() },
      { label: '$(debug-restart) Reset Session', action: () => this.resetSession() },
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
  private async diagnosePool(): Promise<void> {
    const doc = vscode.window.activeTextEditor?.document;
    const uri = doc && servedLanguageIds().includes(doc.languageId) ? doc.uri.toString() : vscode.workspace.workspaceFolders?.[0]?.uri.toString();
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Azure Sessions: diagnosing the pool (DNS, TLS, token, a one-line run)…' },
      () => this.executeServerCommand(SERVER_COMMANDS.doctor, uri ? { uri } : {}),
    );
    if (!isDoctorReport(report)) {
      return;
    }
    this.info(`Diagnose Pool (${report.endpoint || 'no endpoint'}): ${summary(report)}`);
    const shown = await vscode.workspace.openTextDocument({ language: 'markdown', content: renderReport(report) });
    await vscode.window.showTextDocument(shown, { preview: false });
    const message = `Azure Sessions: ${summary(report)}`;
    if (report.ok) {
      void vscode.window.showInformationMessage(message);
    } else {
      void vscode.window.showWarningMessage(message);
    }
  }

  private async uploadFile(arg: unknown, all: unknown): Promise<void> {
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
        () => this.executeServerCommand(SERVER_COMMANDS.uploadFile, { uri: file.toString(), documentUri: this.sessionDocument() }),
      )) as { name?: string; size?: number } | undefined;
      if (result) {
        void vscode.window.showInformationMessage(
          `Azure Sessions: uploaded ${result.name ?? path.basename(file.fsPath)} (${formatBytes(result.size)}) to the session.`,
        );
      }
    }
  }

  private async downloadFile(): Promise<void> {
    const listed = await this.executeServerCommand(SERVER_COMMANDS.listFiles, this.withUri());
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
      () => this.executeServerCommand(SERVER_COMMANDS.downloadFile, this.withUri({ remoteName: picked.file.name, targetUri: target.toString() })),
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

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
