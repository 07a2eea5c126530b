// The runs the Results view and the image hovers show: which lines each run covered (worked out from
// the request, as the server does), its label, and how its lines move when the document is edited.
// vscode-free: unit-tested in test/results.test.mjs.
import type { RunOutcome } from '../protocol';

/** Zero-based, inclusive. */
export interface LineRange {
  first: number;
  last: number;
}

export interface Position {
  line: number;
  character: number;
}

export interface ResultRun {
  /** Increasing number, unique in the window. */
  id: number;
  /** The document that ran (as the server was sent it). */
  documentUri: string;
  /** "demo.py:5–7", "demo.py" for the whole file. */
  label: string;
  /** The lines that ran, as they are now (moved by edits above them); undefined once they were edited. */
  lines: LineRange | undefined;
  /** The first line when it ran (to move the error's line along with `lines`). */
  ranFrom: number | undefined;
  /** When the run finished (ISO 8601). */
  finishedAt: string;
  outcome: RunOutcome;
  /** Markdown displays rendered to (sanitized) HTML, by index in `outcome.displays`. */
  markdownHtml: Record<number, string>;
}

function isPosition(v: unknown): v is Position {
  return !!v && typeof v === 'object' && typeof (v as Position).line === 'number' && typeof (v as Position).character === 'number';
}

function lastNonBlank(lines: readonly string[], from: number, down: number): number {
  let last = from;
  while (last > down && (lines[last] ?? '').trim() === '') {
    last -= 1;
  }
  return last;
}

/**
 * The cell holding `line`: from after the marker at or above it to before the next marker, trailing
 * blank lines left out; a line on a marker belongs to the cell it starts. Without a marker above,
 * the cell starts at the first line.
 */
export function cellRange(lines: readonly string[], line: number, marker: RegExp): LineRange {
  let start = 0;
  for (let i = Math.min(line, lines.length - 1); i >= 0; i--) {
    if (marker.test(lines[i] ?? '')) {
      start = i + 1;
      break;
    }
  }
  let end = lines.length - 1;
  for (let i = start; i < lines.length; i++) {
    if (marker.test(lines[i] ?? '')) {
      end = i - 1;
      break;
    }
  }
  if (end < start) {
    return { first: start, last: start };
  }
  return { first: start, last: lastNonBlank(lines, end, start) };
}

/**
 * The lines a run request covers: `azure-sessions.run` with a range (a range ending at column 0 of a
 * later line leaves that line out) or without (the whole document, up to its last non-blank line),
 * `azure-sessions.runCell` at a position. `lines`: the document's text, when it is open.
 */
export function requestedLines(command: string, arg: unknown, lines: readonly string[] | undefined, marker: RegExp): LineRange | undefined {
  if (!arg || typeof arg !== 'object') {
    return undefined;
  }
  const a = arg as { range?: { start?: unknown; end?: unknown }; position?: unknown };
  if (command === 'azure-sessions.runCell') {
    return isPosition(a.position) && lines ? cellRange(lines, a.position.line, marker) : undefined;
  }
  if (a.range && isPosition(a.range.start) && isPosition(a.range.end)) {
    const { start, end } = a.range;
    const last = end.character === 0 && end.line > start.line ? end.line - 1 : end.line;
    return { first: start.line, last: Math.max(start.line, last) };
  }
  if (!lines || lines.length === 0) {
    return undefined;
  }
  return { first: 0, last: lastNonBlank(lines, lines.length - 1, 0) };
}

/** The last path segment of a URI, decoded. */
export function baseName(uri: string): string {
  const path = uri.replace(/[?#].*$/, '').replace(/\/+$/, '');
  const name = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(name) || uri;
  } catch {
    return name || uri;
  }
}

/** "demo.py:5", "demo.py:5–7", or "demo.py" for a whole-file run (one-based lines, as editors show). */
export function runLabel(uri: string, lines: LineRange | undefined, wholeFile: boolean): string {
  const name = baseName(uri);
  if (wholeFile || !lines) {
    return name;
  }
  return lines.first === lines.last ? `${name}:${lines.first + 1}` : `${name}:${lines.first + 1}–${lines.last + 1}`;
}

/** One edit of a document, as VS Code reports it (a replaced range and its new text). */
export interface TextChange {
  range: { start: Position; end: Position };
  text: string;
}

/**
 * Where the lines of a run are after an edit: moved when the edit is above them (or inserts whole
 * lines just before them), unchanged when it is below, undefined when it touches them.
 */
export function shiftLines(lines: LineRange, change: TextChange): LineRange | undefined {
  const { start, end } = change.range;
  const added = change.text.split('\n').length - 1;
  const delta = added - (end.line - start.line);
  const insertsLinesBefore =
    start.line === lines.first && start.character === 0 && end.line === start.line && end.character === 0 && change.text.endsWith('\n');
  if (end.line < lines.first || insertsLinesBefore) {
    return { first: lines.first + delta, last: lines.last + delta };
  }
  // Deleting whole lines just above (end at column 0 of the first line) moves the run up.
  if (end.line === lines.first && end.character === 0 && start.character === 0 && change.text === '') {
    return { first: lines.first + delta, last: lines.last + delta };
  }
  if (start.line > lines.last) {
    return lines;
  }
  return undefined;
}

/** The runs kept for the Results view (newest last, at most `limit`). */
export class RunStore {
  private readonly runs: ResultRun[] = [];
  private nextId = 1;

  constructor(private readonly limit = 50) {}

  add(run: Omit<ResultRun, 'id'>): ResultRun {
    const stored: ResultRun = { ...run, id: this.nextId++ };
    this.runs.push(stored);
    this.runs.splice(0, Math.max(0, this.runs.length - this.limit));
    return stored;
  }

  all(): readonly ResultRun[] {
    return this.runs;
  }

  get(id: number): ResultRun | undefined {
    return this.runs.find((r) => r.id === id);
  }

  clear(): void {
    this.runs.length = 0;
  }

  /** Applies a document's edits to the lines of its runs. */
  edit(documentUri: string, changes: readonly TextChange[]): void {
    for (const run of this.runs) {
      if (run.documentUri !== documentUri) {
        continue;
      }
      for (const change of changes) {
        run.lines = run.lines && shiftLines(run.lines, change);
      }
    }
  }

  /** A line of the document as it was when `run` ran, where it is now (undefined once edited away). */
  static currentLine(run: ResultRun, line: number): number | undefined {
    if (!run.lines || run.ranFrom === undefined) {
      return run.lines ? line : undefined;
    }
    return line + (run.lines.first - run.ranFrom);
  }

  /** The newest run of `documentUri` whose lines hold `line` and that passes `filter`. */
  at(documentUri: string, line: number, filter: (run: ResultRun) => boolean = () => true): ResultRun | undefined {
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const run = this.runs[i];
      if (run?.documentUri === documentUri && run.lines && run.lines.first <= line && line <= run.lines.last && filter(run)) {
        return run;
      }
    }
    return undefined;
  }
}
