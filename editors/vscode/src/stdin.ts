// "Run File with Input…" and "Run Cell with Input…": asks for the standard input of one run. A quick
// pick offers typing it (one line, `\n` for a new line), a file (open dialog), or the last input
// given for the same document. Runs without input of their own get `azureSessions.stdinFile`'s.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { decodeInput, previewInput } from './languages';

/** As for `azureSessions.stdinFile`: larger input would travel in every request's body. */
const MAX_INPUT_BYTES = 1 << 20;

interface Choice extends vscode.QuickPickItem {
  take: () => Promise<string | undefined>;
}

export class InputPicker {
  /** The last input given per document (this window only; never written anywhere). */
  private readonly last = new Map<string, string>();

  /** Asks for the input of a run of `document` (`what`: "file", "cell"); undefined when cancelled. */
  async ask(document: vscode.TextDocument, what: string): Promise<string | undefined> {
    const name = path.basename(document.uri.path);
    const title = `Run ${what === 'cell' ? 'Cell' : 'File'} with Input: standard input for ${name}`;
    const key = document.uri.toString();
    const previous = this.last.get(key);
    const choices: Choice[] = [
      {
        label: '$(edit) Type input…',
        detail: 'One line: \\n starts a new line, \\t is a tab, \\\\ is a backslash',
        take: () => this.type(title, previous),
      },
      {
        label: '$(file) From a file…',
        detail: 'The text of a file on this machine',
        take: () => this.fromFile(title, document),
      },
    ];
    if (previous !== undefined) {
      choices.push({
        label: '$(history) Last input',
        description: previewInput(previous),
        take: () => Promise.resolve(previous),
      });
    }
    const stdinFile = vscode.workspace.getConfiguration('azureSessions', document.uri).get<string>('stdinFile', '');
    const picked = await vscode.window.showQuickPick(choices, {
      title,
      placeHolder: stdinFile
        ? `Where the input comes from (the other runs read azureSessions.stdinFile: ${stdinFile})`
        : 'Where the input comes from (azureSessions.stdinFile gives every run a file of the folder)',
    });
    const input = await picked?.take();
    if (input !== undefined) {
      this.last.set(key, input);
    }
    return input;
  }

  private async type(title: string, previous: string | undefined): Promise<string | undefined> {
    const typed = await vscode.window.showInputBox({
      title,
      prompt: 'Standard input of the program. \\n starts a new line, \\t is a tab, \\\\ is a backslash.',
      placeHolder: 'e.g. 3\\n1 2 3',
      value: previous === undefined ? '' : previewInput(previous, Number.MAX_SAFE_INTEGER),
      ignoreFocusOut: true,
    });
    return typed === undefined ? undefined : decodeInput(typed);
  }

  private async fromFile(title: string, document: vscode.TextDocument): Promise<string | undefined> {
    const folder = vscode.workspace.getWorkspaceFolder(document.uri)?.uri;
    const files = await vscode.window.showOpenDialog({
      title,
      openLabel: 'Use as Input',
      canSelectMany: false,
      canSelectFolders: false,
      defaultUri: folder,
    });
    const file = files?.[0];
    if (!file) {
      return undefined;
    }
    const stat = await vscode.workspace.fs.stat(file);
    if (stat.size > MAX_INPUT_BYTES) {
      void vscode.window.showErrorMessage(`Azure Sessions: ${path.basename(file.path)} is larger than 1 MiB, too large for the input of a run.`);
      return undefined;
    }
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(file));
  }
}
