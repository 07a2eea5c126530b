// Finds the azure-sessions-lsp binary: $AZURE_SESSIONS_LSP_PATH, the setting azureSessions.server.path,
// the binary bundled in the VSIX (server/azure-sessions-lsp, .exe on Windows, when it is built for this
// platform: see platform.ts), then PATH. Each candidate is checked with --version.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type BundledChoice, chooseBundledServer, type HostPlatform, isMuslHeader, processReportHeader, SERVER_PATH_SETTING, serverBinaryName } from './platform';
import { expandPath, parseVersion } from './util';

/** This machine, as the bundled-server choice sees it. */
export function currentHost(): HostPlatform {
  return { platform: process.platform, arch: process.arch, musl: isMuslHeader(process.platform, processReportHeader()) };
}

/** The bundled server that fits `host` in `extensionPath`/server, or why there is none. */
export function bundledServer(extensionPath: string, host: HostPlatform): BundledChoice {
  const dir = path.join(extensionPath, 'server');
  let files: string[] = [];
  try {
    files = fs.readdirSync(dir);
  } catch {
    // no server/ directory: a universal VSIX
  }
  let target: string | undefined;
  try {
    const marker: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'target.json'), 'utf8'));
    if (marker && typeof marker === 'object' && typeof (marker as { target?: unknown }).target === 'string') {
      target = (marker as { target: string }).target;
    }
  } catch {
    // no marker (a server copied by hand): the file name decides
  }
  const choice = chooseBundledServer(host, { files, target });
  return choice.ok ? { ...choice, file: path.join(dir, choice.file) } : choice;
}

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

function onPath(env: NodeJS.ProcessEnv, name: string): string | undefined {
  for (const dir of (env.PATH ?? env.Path ?? '').split(path.delimiter)) {
    if (!dir) {
      continue;
    }
    const candidate = path.join(dir, name);
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
  host: HostPlatform = currentHost(),
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
  const bundled = bundledServer(extensionPath, host);
  let bundledFile: string | undefined;
  if (!bundled.ok) {
    problems.push(bundled.reason);
  } else if (isExecutableFile(bundled.file)) {
    bundledFile = bundled.file;
  } else {
    problems.push(`the bundled ${bundled.file} is not an executable file`);
  }
  const name = serverBinaryName(host.platform);
  const fromPath = onPath(env, name);
  if (fromPath === undefined) {
    problems.push(`${name} is not on PATH`);
  }
  const fallbacks: [ServerSource, string | undefined][] = [
    ['bundled', bundledFile],
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
  throw new ServerNotFoundError(
    `The azure-sessions-lsp language server was not found: ${problems.join('; ')}. ` +
      `Install it (\`cargo install azure-sessions-lsp\`, or a binary from the project's releases) and set ${SERVER_PATH_SETTING} to its path.`,
    false,
  );
}
