// The run commands: selection or line, cell (and advance), file.
import * as vscode from 'vscode';
import { SECTION } from '../config';
import type { Host } from '../host';
import { SERVER_COMMANDS } from '../protocol';
import { compileCellMarker, nextCellLine } from '../util';

/** The editor to run in: the one whose resource the menu passed, else the active one. */
function runnableEditor(host: Host, arg: unknown): vscode.TextEditor | undefined {
  let editor = vscode.window.activeTextEditor;
  if (arg instanceof vscode.Uri) {
    editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === arg.toString()) ?? editor;
  }
  if (!editor || !host.runnable.canRun(editor.document)) {
    void vscode.window.showWarningMessage(
      'Azure Sessions: open a Python or JavaScript file to run it in the Azure session (other languages run on a custom-container pool: azureSessions.api "custom").',
    );
    return undefined;
  }
  return editor;
}

export async function runSelection(host: Host, arg: unknown): Promise<void> {
  const editor = runnableEditor(host, arg);
  if (!editor) {
    return;
  }
  const s = editor.selection;
  await host.executeServerCommand(SERVER_COMMANDS.run, {
    uri: editor.document.uri.toString(),
    range: {
      start: { line: s.start.line, character: s.start.character },
      end: { line: s.end.line, character: s.end.character },
    },
  });
}

export async function runCell(host: Host, arg: unknown, advance: boolean, stdin?: string): Promise<void> {
  const editor = runnableEditor(host, arg);
  if (!editor) {
    return;
  }
  const position = editor.selection.active;
  const pending = host.executeServerCommand(SERVER_COMMANDS.runCell, {
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

export async function runFile(host: Host, arg: unknown, stdin?: string): Promise<void> {
  const editor = runnableEditor(host, arg);
  if (!editor) {
    return;
  }
  await host.executeServerCommand(SERVER_COMMANDS.run, { uri: editor.document.uri.toString(), ...(stdin === undefined ? {} : { stdin }) });
}

/** Run File/Cell with Input…: asks for the standard input (src/stdin.ts), then runs with it. */
export async function runWithInput(host: Host, arg: unknown, what: 'file' | 'cell'): Promise<void> {
  const editor = runnableEditor(host, arg);
  if (!editor) {
    return;
  }
  if (!host.runnable.takesStdin(editor.document)) {
    void vscode.window.showWarningMessage(
      'Azure Sessions: this pool takes no standard input: Python and Node code-interpreter pools do not; custom-container pools (azureSessions.api "custom") and Shell pools do.',
    );
    return;
  }
  const stdin = await host.inputs.ask(editor.document, what);
  if (stdin === undefined) {
    return;
  }
  await (what === 'file' ? runFile(host, editor.document.uri, stdin) : runCell(host, editor.document.uri, false, stdin));
}
