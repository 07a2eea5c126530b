// Which documents can run, as the editor shows it: the context keys that the run commands' menus,
// palette entries and keys depend on, and a filter of the server's code actions and code lenses
// for documents whose language the folder's pool does not run (a C++ file beside a Python pool).
import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient/node';
import { INTERPRETER_LANGUAGES, languageOverrides, type PoolSettings, runnable, servedLanguages, takesStdin } from './languages';

const SECTION = 'azureSessions';
/** Context key: the language ids the active folder's pool runs (`editorLangId in …`). */
export const RUNNABLE_CONTEXT = 'azureSessions.runnableLanguages';
/** Context key: the language ids whose runs may bring stdin there (custom containers, Shell pools). */
export const STDIN_CONTEXT = 'azureSessions.stdinLanguages';

/** The settings of the folder of `uri` that decide what runs: per folder, as the server reads them. */
function poolSettings(uri: vscode.Uri | undefined): PoolSettings {
  const config = vscode.workspace.getConfiguration(SECTION, uri);
  return { api: config.get<unknown>('api'), languages: config.get<unknown>('languages') };
}

/** The language ids to serve (document selector): the defaults and those of `azureSessions.languages`. */
export function servedLanguageIds(): string[] {
  return servedLanguages(languageOverrides(vscode.workspace.getConfiguration(SECTION).get<unknown>('languages')));
}

export class RunnableLanguages implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private shown = '';

  constructor() {
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor(() => {
        this.update();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        this.update();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SECTION}.api`) || e.affectsConfiguration(`${SECTION}.languages`)) {
          this.update();
        }
      }),
    );
    this.update();
  }

  /** Whether the document's folder's pool runs its language. */
  canRun(document: vscode.TextDocument): boolean {
    return runnable(document.languageId, poolSettings(document.uri));
  }

  /** Whether a run of the document may bring stdin. */
  takesStdin(document: vscode.TextDocument): boolean {
    return takesStdin(document.languageId, poolSettings(document.uri));
  }

  /** Sets the context keys for the folder of the active editor (else the first folder). */
  update(): void {
    const doc = vscode.window.activeTextEditor?.document;
    const uri = doc && (doc.uri.scheme === 'file' || doc.uri.scheme === 'untitled') ? doc.uri : vscode.workspace.workspaceFolders?.[0]?.uri;
    const settings = poolSettings(uri);
    const ids = [...new Set([...INTERPRETER_LANGUAGES, ...servedLanguageIds()])];
    const run = ids.filter((id) => runnable(id, settings));
    const stdin = ids.filter((id) => takesStdin(id, settings));
    const key = JSON.stringify([run, stdin]);
    if (key === this.shown) {
      return;
    }
    this.shown = key;
    void vscode.commands.executeCommand('setContext', RUNNABLE_CONTEXT, run);
    void vscode.commands.executeCommand('setContext', STDIN_CONTEXT, stdin);
  }

  /** vscode-languageclient middleware: no "Run …" code actions or lenses where the pool cannot run the document. */
  middleware(): Pick<Middleware, 'provideCodeActions' | 'provideCodeLenses'> {
    return {
      provideCodeActions: (document, range, context, token, next) => (this.canRun(document) ? next(document, range, context, token) : []),
      provideCodeLenses: (document, token, next) => (this.canRun(document) ? next(document, token) : []),
    };
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
