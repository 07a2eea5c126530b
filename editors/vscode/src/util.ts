// Helpers that do not depend on the vscode API, so that the unit tests can load them with plain Node.

/** Keys under `azureSessions` that only the extension reads; they are never sent to the server. */
export const EXTENSION_ONLY_KEYS: readonly string[] = ['server', 'trace', 'signIn', 'signInProvider', 'keybindings', 'output'];

/**
 * The settings object sent to the server: the `azureSessions` section without the extension-only keys,
 * and with `endpointOrigin` when given (always the extension's: a workspace cannot set it).
 */
export function serverSettings(section: Record<string, unknown> | null | undefined, origin?: EndpointOrigin): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (section && typeof section === 'object') {
    for (const [key, value] of Object.entries(section)) {
      if (!EXTENSION_ONLY_KEYS.includes(key) && key !== 'endpointOrigin' && typeof value !== 'function') {
        out[key] = value;
      }
    }
  }
  if (origin !== undefined) {
    out.endpointOrigin = origin;
  }
  return out;
}

/** The only scope the extension gets tokens for: Azure Container Apps dynamic sessions. */
export const DEFAULT_SCOPE = 'https://dynamicsessions.io/.default';

/**
 * The scopes to request for `azure-sessions/getAccessToken`. The server's `scopes` are ignored: a
 * token for any other resource (Azure Resource Manager, Graph, …) must never leave the editor.
 */
export function accessTokenScopes(_requested?: unknown): string[] {
  return [DEFAULT_SCOPE];
}

/** Who chose `azureSessions.endpoint`, as the server's internal `endpointOrigin` setting. */
export type EndpointOrigin = 'user' | 'workspace';

/** The workspace-level parts of `WorkspaceConfiguration.inspect('endpoint')`. */
export interface EndpointInspection {
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
  workspaceLanguageValue?: unknown;
  workspaceFolderLanguageValue?: unknown;
}

/**
 * "workspace" when any inspection (plain, or per language) has the endpoint set in the workspace
 * (`.vscode/settings.json`, a `.code-workspace` file) or a folder: the server then sends no token
 * and no request before the user's first run. "user" otherwise (user, remote or default values).
 */
export function endpointOrigin(inspections: readonly (EndpointInspection | undefined)[]): EndpointOrigin {
  const chosenByWorkspace = inspections.some(
    (i) =>
      i !== undefined &&
      [i.workspaceValue, i.workspaceFolderValue, i.workspaceLanguageValue, i.workspaceFolderLanguageValue].some((v) => v !== undefined),
  );
  return chosenByWorkspace ? 'workspace' : 'user';
}

/** "0.84 s", "12.3 s", "2 min 5 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    return '';
  }
  if (ms < 10_000) {
    return `${(ms / 1000).toFixed(2)} s`;
  }
  if (ms < 60_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  const total = Math.round(ms / 1000);
  return `${Math.floor(total / 60)} min ${total % 60} s`;
}

/** Whole seconds, for the elapsed time shown while a run is in flight. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/**
 * The server's cell marker is a Rust regular expression. Most of them are valid JavaScript ones;
 * leading inline flags such as `(?i)` are turned into RegExp flags. Falls back to the default marker.
 */
export const DEFAULT_CELL_MARKER = '^\\s*(#|//)\\s*%%';

export function compileCellMarker(pattern: string | undefined): RegExp {
  let source = pattern && pattern.length > 0 ? pattern : DEFAULT_CELL_MARKER;
  let flags = '';
  const inline = /^\(\?([imsux]+)\)/.exec(source);
  if (inline?.[1] !== undefined) {
    source = source.slice(inline[0].length);
    for (const f of inline[1]) {
      if ((f === 'i' || f === 'm' || f === 's') && !flags.includes(f)) {
        flags += f;
      }
    }
  }
  try {
    return new RegExp(source, flags);
  } catch {
    return new RegExp(DEFAULT_CELL_MARKER);
  }
}

/**
 * The line to move to after running the cell that holds `line`: the first line after the next cell
 * marker, or the last line of the document when there is no next cell.
 */
export function nextCellLine(lines: readonly string[], line: number, marker: RegExp): number {
  for (let i = line + 1; i < lines.length; i++) {
    if (marker.test(lines[i] ?? '')) {
      return Math.min(i + 1, lines.length - 1);
    }
  }
  return Math.max(0, lines.length - 1);
}

/** The `exp` claim (unix seconds) of a JWT, or undefined when the token is not a readable JWT. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) {
    return undefined;
  }
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown;
    if (payload && typeof payload === 'object' && 'exp' in payload && typeof payload.exp === 'number') {
      return payload.exp;
    }
  } catch {
    // not a JWT
  }
  return undefined;
}

/** Parses `azure-sessions-lsp X.Y.Z` (the output of `--version`). */
export function parseVersion(output: string): string | undefined {
  const m = /^azure-sessions-lsp\s+v?(\d+\.\d+\.\d+\S*)/m.exec(output.trim());
  return m?.[1];
}

/** Expands a leading `~` and `${env:NAME}` in a user-supplied path. */
export function expandPath(p: string, home: string, env: Record<string, string | undefined>): string {
  let out = p.trim().replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => env[name] ?? '');
  if (out === '~' || out.startsWith('~/')) {
    out = home + out.slice(1);
  }
  return out;
}

/** "512 B", "1.2 kB", "3.4 MB". */
export function formatBytes(size: number | undefined): string {
  if (size === undefined || !Number.isFinite(size)) {
    return '';
  }
  if (size < 1000) {
    return `${size} B`;
  }
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = size;
  let unit = 'B';
  for (const u of units) {
    if (value < 1000) {
      break;
    }
    value /= 1000;
    unit = u;
  }
  return `${value.toFixed(1)} ${unit}`;
}

/** `text` with every occurrence of the secrets (those of 8 characters or more) replaced by a marker. */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 8 && out.includes(secret)) {
      out = out.split(secret).join('«token redacted»');
    }
  }
  return out;
}

/** JSON-RPC RequestCancelled (LSP): the user stopped the run; not a failure to show as one. */
export const REQUEST_CANCELLED = -32800;

/** How the status bar should end a run that answered with an error of this code. */
export function statusAfterError(code: number | undefined): 'idle' | 'error' {
  return code === REQUEST_CANCELLED ? 'idle' : 'error';
}

/**
 * The transcript to show: the session of the document the user is in (multi-root: each folder
 * has its own), else the one that changed last.
 */
export function transcriptToShow(activeSessionOutput: string | undefined, lastChanged: string | undefined): string | undefined {
  return activeSessionOutput ?? lastChanged;
}

/** A variable of the session, as azure-sessions.variables lists it. */
export interface SessionVariable {
  name: string;
  type: string;
  summary: string;
  size?: number | string;
}

/** The text a variable shows beside its name: `list [3]  [1, 2, 3]`. */
export function describeVariable(v: SessionVariable): string {
  const size = v.size === undefined ? '' : ` [${String(v.size)}]`;
  return `${v.type}${size}  ${v.summary}`;
}

/** The file name offered for a notebook export: the document's name with .ipynb, else "session.ipynb". */
export function notebookName(documentUri: string | undefined): string {
  if (!documentUri) {
    return 'session.ipynb';
  }
  const path = documentUri.replace(/[?#].*$/, '').replace(/\/+$/, '');
  let base = path.slice(path.lastIndexOf('/') + 1);
  try {
    base = decodeURIComponent(base);
  } catch {
    // keep it encoded
  }
  const stem = base.includes(':') ? '' : base.replace(/\.[^.]*$/, '');
  return `${stem || 'session'}.ipynb`;
}
