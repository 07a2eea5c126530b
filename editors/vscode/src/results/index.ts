// Rich results in VS Code: every run's outcome goes to the Results panel (and is revealed when it
// has images, HTML, Markdown or JSON), and hovering the lines of a run that returned an image shows
// the image (the server's own hover, beside it, has the text).
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { LANGUAGES, SECTION } from '../config';
import type { RunOutcome } from '../protocol';
import { compileCellMarker } from '../util';
import { hoverWidth, imageSize } from './images';
import { ResultsPanel } from './panel';
import { isImage } from './render';
import { requestedLines, RunStore, runLabel } from './runs';
import { sanitizeHtml } from './sanitize';

/** Images up to this size go into hovers as data: URIs; larger ones by their file URI. */
const MAX_INLINE_HOVER_IMAGE = 1 << 20;

export class Results implements vscode.Disposable {
  readonly store = new RunStore();
  readonly panel: ResultsPanel;
  private readonly disposables: { dispose(): unknown }[] = [];

  constructor(private readonly log: (message: string) => void) {
    this.panel = new ResultsPanel(this.store, log);
    this.disposables.push(
      this.panel,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0) {
          this.store.edit(e.document.uri.toString(), e.contentChanges);
        }
      }),
      vscode.languages.registerHoverProvider(
        LANGUAGES.flatMap((language) => [
          { scheme: 'file', language },
          { scheme: 'untitled', language },
        ]),
        { provideHover: (doc, pos) => this.hover(doc, pos) },
      ),
      vscode.commands.registerCommand('azureSessions.showResults', () => {
        this.panel.show(undefined, false);
      }),
      vscode.commands.registerCommand('azureSessions.clearResults', () => {
        this.store.clear();
        this.panel.update();
      }),
    );
  }

  /** Records the outcome of `command` (run or runCell) with argument `arg`. */
  async record(command: string, arg: unknown, outcome: RunOutcome): Promise<void> {
    const uriText = arg && typeof arg === 'object' && typeof (arg as { uri?: unknown }).uri === 'string' ? (arg as { uri: string }).uri : undefined;
    if (!uriText) {
      return;
    }
    const uri = vscode.Uri.parse(uriText, true);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    const lines = doc ? Array.from({ length: doc.lineCount }, (_v, i) => doc.lineAt(i).text) : undefined;
    const marker = compileCellMarker(vscode.workspace.getConfiguration(SECTION, uri).get<string>('cellMarker'));
    const range = requestedLines(command, arg, lines, marker);
    const a = arg as { range?: unknown; position?: unknown };
    const wholeFile = a.range === undefined && a.position === undefined;
    this.store.add({
      documentUri: uri.toString(),
      label: runLabel(uri.toString(), range, wholeFile),
      lines: range,
      ranFrom: range?.first,
      finishedAt: new Date().toISOString(),
      outcome,
      markdownHtml: await this.renderMarkdown(outcome),
    });
    this.shown(outcome);
  }

  /** Records a run an agent made through `azure-sessions-lsp mcp` (its label says so). */
  async recordAgent(uri: string, label: string, outcome: RunOutcome): Promise<void> {
    this.store.add({
      documentUri: uri,
      label: `Agent: ${label}`,
      lines: undefined,
      ranFrom: undefined,
      finishedAt: new Date().toISOString(),
      outcome,
      markdownHtml: await this.renderMarkdown(outcome),
    });
    this.shown(outcome);
  }

  private async renderMarkdown(outcome: RunOutcome): Promise<Record<number, string>> {
    const markdownHtml: Record<number, string> = {};
    for (const [i, d] of (outcome.displays ?? []).entries()) {
      if (d.mimeType === 'text/markdown' && d.text !== undefined) {
        try {
          const html = await vscode.commands.executeCommand('markdown.api.render', d.text);
          if (typeof html === 'string') {
            markdownHtml[i] = sanitizeHtml(html);
          }
        } catch (e) {
          this.log(`Rendering a Markdown result: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
    return markdownHtml;
  }

  /** Reveals the panel as `output.revealResults` says, and redraws it. */
  private shown(outcome: RunOutcome): void {
    const reveal = vscode.workspace.getConfiguration(SECTION).get<string>('output.revealResults', 'displays');
    const rich = (outcome.displays ?? []).length > 0;
    if (reveal === 'always' || (reveal === 'displays' && rich)) {
      this.panel.show(undefined, false);
    }
    this.panel.update();
  }

  private async hover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const run = this.store.at(doc.uri.toString(), pos.line, (r) => (r.outcome.displays ?? []).some(isImage));
    if (!run) {
      return undefined;
    }
    const md = new vscode.MarkdownString();
    md.supportHtml = false;
    md.appendMarkdown(`**Azure session · ${escapeMarkdown(run.label)}**\n\n`);
    for (const d of run.outcome.displays ?? []) {
      if (!isImage(d)) {
        continue;
      }
      const src = await this.hoverImage(d.mimeType, d.uri, d.text);
      if (src) {
        md.appendMarkdown(`![${escapeMarkdown(d.mimeType)}](${src.url}${src.width ? `|width=${src.width}` : ''})\n\n`);
      }
    }
    md.appendMarkdown('[Show in Results](command:azureSessions.showResults)');
    md.isTrusted = { enabledCommands: ['azureSessions.showResults'] };
    return new vscode.Hover(md);
  }

  /** A URL for a hover image: data: for small files and SVG text, else the file's URI. */
  private async hoverImage(mimeType: string, uri: string | undefined, text: string | undefined): Promise<{ url: string; width?: number } | undefined> {
    if (text !== undefined) {
      return { url: `data:${mimeType};base64,${Buffer.from(text, 'utf8').toString('base64')}` };
    }
    if (!uri?.startsWith('file:')) {
      return undefined;
    }
    const file = vscode.Uri.parse(uri, true);
    try {
      const stat = await fs.stat(file.fsPath);
      if (stat.size > MAX_INLINE_HOVER_IMAGE) {
        return { url: file.toString() };
      }
      const bytes = await fs.readFile(file.fsPath);
      return { url: `data:${mimeType};base64,${bytes.toString('base64')}`, width: hoverWidth(imageSize(bytes)) };
    } catch {
      return undefined; // the file is gone (the private directory is cleaned up)
    }
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
