// "Session Variables": a tree view (in the Explorer) of the session's user globals, from the server's
// azure-sessions.variables. Refreshed after each run while the view is visible (else when it next
// shows), and on demand (the view's refresh button).
import * as vscode from 'vscode';
import { LANGUAGES } from './config';
import type { Host } from './host';
import { SERVER_COMMANDS } from './protocol';
import { describeVariable, type SessionVariable } from './util';

export const VARIABLES_VIEW = 'azureSessions.variables';

type Variable = SessionVariable;

function isVariable(v: unknown): v is Variable {
  return !!v && typeof v === 'object' && typeof (v as Variable).name === 'string' && typeof (v as Variable).type === 'string';
}

export class VariablesView implements vscode.TreeDataProvider<Variable>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<Variable>;
  private items: Variable[] = [];
  /** The document (or folder) whose session the list is of. */
  private sessionUri: string | undefined;
  private stale = true;
  private loading: Promise<void> | undefined;
  private readonly disposables: { dispose(): unknown }[] = [];

  constructor(private readonly host: Host) {
    this.view = vscode.window.createTreeView(VARIABLES_VIEW, { treeDataProvider: this, showCollapseAll: false });
    this.disposables.push(
      this.view,
      this.changed,
      this.view.onDidChangeVisibility((e) => {
        if (e.visible && this.stale) {
          void this.refresh();
        }
      }),
      vscode.commands.registerCommand('azureSessions.refreshVariables', () => this.refresh(this.host.sessionDocument())),
    );
  }

  getTreeItem(v: Variable): vscode.TreeItem {
    const item = new vscode.TreeItem(v.name, vscode.TreeItemCollapsibleState.None);
    item.description = describeVariable(v);
    item.tooltip = new vscode.MarkdownString().appendCodeblock(`${v.name}: ${v.type}${v.size !== undefined ? ` (size ${String(v.size)})` : ''}\n${v.summary}`, 'text');
    item.iconPath = new vscode.ThemeIcon('symbol-variable');
    item.contextValue = 'azureSessionsVariable';
    return item;
  }

  getChildren(element?: Variable): Variable[] {
    return element ? [] : this.items;
  }

  /** After a run of `documentUri`: refresh now when the view shows, else when it next does. */
  afterRun(documentUri: string | undefined, languageId: string | undefined): void {
    if (languageId && !LANGUAGES.includes(languageId)) {
      return; // the server lists variables of Python and JavaScript sessions only
    }
    this.sessionUri = documentUri ?? this.sessionUri;
    this.stale = true;
    if (this.view.visible) {
      void this.refresh();
    }
  }

  /** Asks the server for the session's variables (of `uri`, else of the last run's session). */
  async refresh(uri?: string): Promise<void> {
    if (uri) {
      this.sessionUri = uri;
    }
    if (this.loading) {
      await this.loading;
    }
    this.loading = this.load().finally(() => {
      this.loading = undefined;
    });
    await this.loading;
  }

  private async load(): Promise<void> {
    this.stale = false;
    const arg = this.sessionUri ? { uri: this.sessionUri } : this.host.withUri();
    const result = await vscode.window.withProgress({ location: { viewId: VARIABLES_VIEW } }, () =>
      this.host.executeServerCommand(SERVER_COMMANDS.variables, arg),
    );
    if (!Array.isArray(result)) {
      this.view.message = 'The session\'s variables could not be listed (see the Azure Sessions output).';
      return;
    }
    this.items = result.filter(isVariable).sort((a, b) => a.name.localeCompare(b.name));
    this.view.message = this.items.length === 0 ? 'No variables in the session yet: run some code.' : undefined;
    this.changed.fire(undefined);
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
