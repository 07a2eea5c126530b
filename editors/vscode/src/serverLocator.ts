// Finds the azure-sessions-lsp binary: $AZURE_SESSIONS_LSP_PATH, the setting azureSessions.server.path,
// the binary bundled in the VSIX (server/azure-sessions-lsp), then PATH. Each candidate is checked with --version.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandPath, parseVersion } from './util';

export const BINARY_NAME = process.platform === 'win32' ? 'azure-sessions-lsp.exe' : 'azure-sessions-lsp';

export type ServerSource = 'AZURE_SESSIONS_LSP_PATH' | 'azureSessions.server.path' | 'bundled' | 'PATH';

export interface ServerBinary {
  path: string;
  version: string;
  source: ServerSource;
}

export class ServerNotFoundError extends Error {
  constructor(
    message: string,
    /** True when the user pointed at a binary explicitly (environment or setting) and it did not work. */
    readonly explicit: boolean,
  ) {
    super(message);
  }
}

function checkVersion(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, ['--version'], { timeout: 10_000, windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`\`${file} --version\` failed: ${err.message.split('\n')[0] ?? ''}${stderr ? ` (${stderr.trim().split('\n')[0] ?? ''})` : ''}`));
        return;
      }
      const version = parseVersion(stdout);
      if (version === undefined) {
        reject(new Error(`\`${file} --version\` printed "${stdout.trim().slice(0, 80)}", not "azure-sessions-lsp X.Y.Z"`));
        return;
      }
      resolve(version);
    });
  });
}

function isExecutableFile(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) {
      return false;
    }
    if (process.platform !== 'win32') {
      fs.accessSync(file, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

function onPath(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) {
      continue;
    }
    const candidate = path.join(dir, BINARY_NAME);
    if (isExecutableFile(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

export async function locateServer(
  settingPath: string,
  extensionPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServerBinary> {
  const explicit: [ServerSource, string | undefined][] = [
    ['AZURE_SESSIONS_LSP_PATH', env.AZURE_SESSIONS_LSP_PATH],
    ['azureSessions.server.path', settingPath],
  ];
  for (const [source, raw] of explicit) {
    if (raw === undefined || raw.trim() === '') {
      continue;
    }
    const file = path.resolve(expandPath(raw, os.homedir(), env));
    if (!isExecutableFile(file)) {
      throw new ServerNotFoundError(`${source} is set to "${raw}", but ${file} is not an executable file.`, true);
    }
    try {
      return { path: file, version: await checkVersion(file), source };
    } catch (e) {
      throw new ServerNotFoundError(`${source} is set to "${raw}", but ${e instanceof Error ? e.message : String(e)}`, true);
    }
  }

  const problems: string[] = [];
  const bundled = path.join(extensionPath, 'server', BINARY_NAME);
  const fromPath = onPath(env);
  const fallbacks: [ServerSource, string | undefined][] = [
    ['bundled', isExecutableFile(bundled) ? bundled : undefined],
    ['PATH', fromPath],
  ];
  for (const [source, file] of fallbacks) {
    if (file === undefined) {
      continue;
    }
    try {
      return { path: file, version: await checkVersion(file), source };
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  const tail = problems.length > 0 ? ` (${problems.join('; ')})` : '';
  throw new ServerNotFoundError(
    `The azure-sessions-lsp language server was not found: it is not bundled with this extension and not on PATH${tail}. ` +
      'Install it (`cargo install --path .` in the azure-sessions-lsp repository) or set azureSessions.server.path.',
    false,
  );
}
