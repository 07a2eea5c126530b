// The language server's lifecycle (start, stop, restart, settings changes) and the tokens the
// extension hands it when azureSessions.signIn is "vscode".
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ErrorCodes,
  LanguageClient,
  type LanguageClientOptions,
  ResponseError,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
} from 'vscode-languageclient/node';
import {
  endpointOriginFor,
  errorMessage,
  SECTION,
  settingsObject,
  signInProvider,
  signInState,
  updateShiftEnterContext,
} from './config';
import type { Host } from './host';
import {
  type AccessTokenParams,
  type AccessTokenResult,
  GetAccessTokenRequest,
  AgentRunNotification,
  OutputChangedNotification,
  StatusNotification,
} from './protocol';
import { RedactingChannel } from './redactingChannel';
import { servedLanguageIds } from './runnable';
import { locateServer, ServerNotFoundError } from './serverLocator';
import { accessTokenScopes, DEFAULT_SCOPE, jwtExpiry, serverSettings } from './util';

/** How many of the tokens handed to the server are remembered, to redact them from the log. */
const REMEMBERED_TOKENS = 16;

export class Server {
  client: LanguageClient | undefined;
  /** The binary the language server was started from (also what agents' MCP server runs). */
  binaryPath: string | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  /** The same channel for vscode-languageclient, with the tokens given to the server redacted. */
  private readonly clientLog: vscode.OutputChannel;
  /** The last tokens handed to the server (in memory only), so that the log can redact them. */
  private readonly handedOut: string[] = [];
  private missingServerShown = false;
  /** azureSessions.signIn and .signInProvider as the running server was started with. */
  private startedSignIn: string | undefined;
  /** The language ids the running client serves (its document selector). */
  private servedAtStart = '';

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly host: Host,
  ) {
    this.clientLog = new RedactingChannel(host.log, () => this.handedOut);
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
    this.host.statusBar.setStarting();
    const config = vscode.workspace.getConfiguration(SECTION);
    let binary;
    try {
      binary = await locateServer(config.get<string>('server.path', ''), this.context.extensionPath);
    } catch (e) {
      this.reportMissingServer(e);
      return undefined;
    }
    this.host.info(`Using ${binary.path} (azure-sessions-lsp ${binary.version}, from ${binary.source}).`);
    this.binaryPath = binary.path;

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
        executeCommand: (command, args) => this.host.executeServerCommand(command, args[0]),
        ...this.host.runnable.middleware(),
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
      this.host.statusBar.setServerState(p.state, p.message);
    });
    client.onNotification(OutputChangedNotification, (p) => {
      this.host.lastOutputUri = this.host.transcripts.remember(p.uri);
      this.host.transcripts.fireChanged(p.uri);
    });
    client.onNotification(AgentRunNotification, (p) => {
      this.host.agentRan(p);
    });
    client.onRequest(GetAccessTokenRequest, (p) => this.getAccessToken(p));
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return;
      }
      if (e.newState === State.Stopped) {
        this.host.statusBar.setError('the language server stopped. Run "Azure Sessions: Restart Language Server".');
      } else if (e.newState === State.Running && e.oldState === State.Starting && this.host.statusBar.current === 'error') {
        this.host.statusBar.setIdle(); // restarted by vscode-languageclient after a crash
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      this.client = undefined;
      void client.dispose().catch(() => undefined);
      this.host.info(`The language server failed to start: ${errorMessage(e)}`);
      this.host.statusBar.setError(`the language server failed to start: ${errorMessage(e)}`);
      void vscode.window
        .showErrorMessage(`Azure Sessions: the language server (${binary.path}) failed to start: ${errorMessage(e)}`, 'Show Log', 'Open Settings')
        .then((choice) => this.onErrorChoice(choice));
      return undefined;
    }
    this.missingServerShown = false;
    this.host.statusBar.setIdle();
    return client;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (e) {
        this.host.info(`Stopping the language server: ${errorMessage(e)}`);
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
      this.host.info(`Restarting the language server: ${reason}`);
    }
    await this.starting?.catch(() => undefined);
    await this.stop();
    this.missingServerShown = false;
    await this.start();
  }

  private reportMissingServer(e: unknown): void {
    const message = errorMessage(e);
    this.host.info(message);
    this.host.statusBar.setServerMissing(message);
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
      this.host.log.show(true);
    }
  }

  async requireClient(): Promise<LanguageClient | undefined> {
    if (this.client?.isRunning()) {
      return this.client;
    }
    this.missingServerShown = false;
    return this.start();
  }

  async onConfigurationChanged(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!e.affectsConfiguration(SECTION)) {
      return;
    }
    if (e.affectsConfiguration('azureSessions.keybindings.shiftEnter')) {
      updateShiftEnterContext();
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

  // ---------------------------------------------------------------- sign-in

  private async getAccessToken(params: AccessTokenParams): Promise<AccessTokenResult> {
    const signIn = vscode.workspace.getConfiguration(SECTION).get<string>('signIn', 'server');
    if (signIn !== 'vscode') {
      throw new ResponseError(ErrorCodes.InvalidRequest, 'azureSessions.signIn is "server": the extension does not provide tokens.');
    }
    const scopes = accessTokenScopes(params.scopes);
    const requested: unknown[] = Array.isArray(params.scopes) ? params.scopes : [];
    if (requested.some((s) => s !== DEFAULT_SCOPE)) {
      this.host.info(`The server asked for a token for ${requested.join(' ')}; providing one for ${DEFAULT_SCOPE} only.`);
    }
    const provider = signInProvider();
    try {
      const session = await vscode.authentication.getSession(provider, scopes, { createIfNone: true });
      const expiresOn = jwtExpiry(session.accessToken) ?? Math.floor(Date.now() / 1000) + 45 * 60;
      this.handedOut.push(session.accessToken);
      this.handedOut.splice(0, Math.max(0, this.handedOut.length - REMEMBERED_TOKENS));
      this.host.info(`Provided a token for ${scopes.join(' ')} (account ${session.account.label}, authentication provider ${provider}).`);
      return { token: session.accessToken, expiresOn };
    } catch (e) {
      this.host.info(`Sign-in with VS Code's authentication provider ${provider} failed: ${errorMessage(e)}`);
      throw new ResponseError(
        ErrorCodes.InternalError,
        `Sign-in in VS Code (authentication provider ${provider}) failed or was cancelled: ${errorMessage(e)}`,
      );
    }
  }
}
