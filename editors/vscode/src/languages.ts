// Which editor languages the extension serves, and which of them the pool of a folder can run or
// give standard input to. Free of `vscode`, so that the unit tests load it (out/languages.js).
// The server decides the same way (src/languages.rs, `check_runnable`; src/sessions/request_body.rs,
// `takes_stdin`): the extension only avoids offering what the server would refuse.

/** The languages of code-interpreter pools (Python and Node): served whatever the pool. */
export const INTERPRETER_LANGUAGES: readonly string[] = ['python', 'javascript'];

/**
 * VS Code language ids that the server maps to a pool language by default (Piston's names, the
 * table in src/languages.rs). They are served (document selector, activation) but run only where
 * `runnable` says so, typically on a custom-container pool (`azureSessions.api: "custom"`).
 */
export const POOL_LANGUAGES: Readonly<Record<string, string>> = {
  python: 'python',
  javascript: 'javascript',
  javascriptreact: 'javascript',
  typescript: 'typescript',
  typescriptreact: 'typescript',
  shellscript: 'bash',
  powershell: 'powershell',
  c: 'c',
  cpp: 'c++',
  'cuda-cpp': 'c++',
  csharp: 'csharp.net',
  fsharp: 'fsharp.net',
  vb: 'basic.net',
  java: 'java',
  kotlin: 'kotlin',
  scala: 'scala',
  groovy: 'groovy',
  rust: 'rust',
  go: 'go',
  ruby: 'ruby',
  php: 'php',
  perl: 'perl',
  lua: 'lua',
  r: 'rscript',
  julia: 'julia',
  haskell: 'haskell',
  ocaml: 'ocaml',
  elixir: 'elixir',
  erlang: 'erlang',
  clojure: 'clojure',
  dart: 'dart',
  swift: 'swift',
  sql: 'sqlite3',
  fortran: 'fortran',
  'fortran-modern': 'fortran',
  racket: 'racket',
  commonlisp: 'lisp',
  coffeescript: 'coffeescript',
  matlab: 'octave',
  octave: 'octave',
  verilog: 'iverilog',
  nim: 'nim',
  zig: 'zig',
  crystal: 'crystal',
  d: 'd',
  pascal: 'pascal',
  cobol: 'cobol',
  prolog: 'prolog',
  awk: 'awk',
};

const SHELL_NAMES = new Set(['shellscript', 'shell', 'bash', 'sh']);

/** `azureSessions.languages` as read from the settings: only string values count. */
export function languageOverrides(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [id, name] of Object.entries(value as Record<string, unknown>)) {
      if (typeof name === 'string' && name.trim() !== '') {
        out[id] = name.trim();
      }
    }
  }
  return out;
}

/** The language ids to serve: the defaults' and those the user mapped in `azureSessions.languages`. */
export function servedLanguages(overrides: Record<string, string> = {}): string[] {
  return [...new Set([...Object.keys(POOL_LANGUAGES), ...Object.keys(overrides)])];
}

/** The name the pool is asked to run: the user's mapping, else Piston's name, else the id. */
export function poolLanguage(languageId: string, overrides: Record<string, string> = {}): string {
  return overrides[languageId] ?? POOL_LANGUAGES[languageId] ?? languageId;
}

/** The pool settings of a folder that decide what runs there. */
export interface PoolSettings {
  /** `azureSessions.api`: "executions" (default), "legacy" or "custom". */
  api?: unknown;
  /** `azureSessions.languages`. */
  languages?: unknown;
}

function apiOf(settings: PoolSettings): string {
  return typeof settings.api === 'string' && settings.api !== '' ? settings.api : 'executions';
}

/**
 * Whether a document of `languageId` can run on the folder's pool: anything on a custom container;
 * Python and JavaScript on code-interpreter pools, and bash on a Shell pool (executions API).
 */
export function runnable(languageId: string, settings: PoolSettings): boolean {
  const api = apiOf(settings);
  if (api === 'custom') {
    return true;
  }
  const language = poolLanguage(languageId, languageOverrides(settings.languages)).toLowerCase();
  return language === 'python' || language === 'javascript' || (api === 'executions' && SHELL_NAMES.has(language));
}

/** Whether a run of `languageId` on the folder's pool may bring stdin: custom containers and Shell pools. */
export function takesStdin(languageId: string, settings: PoolSettings): boolean {
  const api = apiOf(settings);
  if (api === 'custom') {
    return true;
  }
  const language = poolLanguage(languageId, languageOverrides(settings.languages)).toLowerCase();
  return api === 'executions' && SHELL_NAMES.has(language);
}

/**
 * Input typed on one line: `\n` is a new line, `\t` a tab, `\\` a backslash; any other backslash
 * stays as it is.
 */
export function decodeInput(text: string): string {
  return text.replace(/\\(.)/gs, (whole, c: string) => {
    switch (c) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case '\\':
        return '\\';
      default:
        return whole;
    }
  });
}

/** A short one-line preview of an input, for the quick pick. */
export function previewInput(text: string, max = 60): string {
  const shown = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}
