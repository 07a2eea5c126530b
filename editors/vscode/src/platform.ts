// Which bundled server fits this machine. A platform-specific VSIX (`vsce package --target T`) carries one
// binary, server/azure-sessions-lsp (server/azure-sessions-lsp.exe for Windows), and server/target.json,
// which names the VS Code target and the Rust target it was built for (written by scripts/package.sh).
// No vscode import: the unit tests load this module with plain Node.

/** The VS Code targets a VSIX is built for, with the Rust targets that build their server. */
export const SERVER_TARGETS = {
  'linux-x64': ['x86_64-unknown-linux-gnu'],
  'linux-arm64': ['aarch64-unknown-linux-gnu'],
  'alpine-x64': ['x86_64-unknown-linux-musl'],
  'win32-x64': ['x86_64-pc-windows-msvc', 'x86_64-pc-windows-gnu'],
  'win32-arm64': ['aarch64-pc-windows-msvc'],
  'darwin-x64': ['x86_64-apple-darwin'],
  'darwin-arm64': ['aarch64-apple-darwin'],
} as const satisfies Record<string, readonly string[]>;

export type ServerTarget = keyof typeof SERVER_TARGETS;

/** The setting that points at a server of the user's own, named in every message that needs one. */
export const SERVER_PATH_SETTING = 'azureSessions.server.path';

export function isServerTarget(target: string): target is ServerTarget {
  return Object.prototype.hasOwnProperty.call(SERVER_TARGETS, target);
}

/** The file name of the server on a platform (`process.platform`). */
export function serverBinaryName(platform: string): string {
  return platform === 'win32' ? 'azure-sessions-lsp.exe' : 'azure-sessions-lsp';
}

/**
 * The VS Code target name of a machine, as `vsce package --target` spells it: `linux-x64`,
 * `alpine-x64` (Linux with musl libc), `win32-arm64`, `darwin-arm64`, … For machines no VSIX is built
 * for it is still a name (`freebsd-x64`, `linux-ia32`, `alpine-arm64`), for messages.
 */
export function hostTarget(platform: string, arch: string, musl = false): string {
  const os = platform === 'linux' && musl ? 'alpine' : platform;
  return `${os}-${arch}`;
}

/**
 * Whether this Linux machine uses musl libc (Alpine), from Node's diagnostic report header: glibc
 * builds of Node report `glibcVersionRuntime`, musl builds do not.
 */
export function isMuslHeader(platform: string, header: Record<string, unknown> | undefined): boolean {
  if (platform !== 'linux' || header === undefined) {
    return false;
  }
  return typeof header.glibcVersionRuntime !== 'string';
}

/** `process.report`'s header, where Node has it (it does in VS Code's extension host). */
export function processReportHeader(): Record<string, unknown> | undefined {
  try {
    const report = process.report.getReport() as unknown as { header?: Record<string, unknown> };
    return report.header;
  } catch {
    return undefined;
  }
}

/** Which bundled targets can run on a host target: its own, and on x64 glibc Linux the static musl build too. */
export function compatibleTargets(host: string): ServerTarget[] {
  if (!isServerTarget(host)) {
    return [];
  }
  return host === 'linux-x64' ? ['linux-x64', 'alpine-x64'] : [host];
}

export interface HostPlatform {
  platform: string;
  arch: string;
  musl: boolean;
}

/** What the VSIX's server/ directory holds. */
export interface BundledServer {
  /** File names in server/ (empty or absent: a universal VSIX without a server). */
  files: readonly string[];
  /** `target` from server/target.json, when present. */
  target?: string | undefined;
}

export type BundledChoice = { ok: true; file: string; target: string } | { ok: false; reason: string };

const INSTALL_HINT = `build or download azure-sessions-lsp for it (\`cargo install azure-sessions-lsp\`, or a binary from the project's releases) and set ${SERVER_PATH_SETTING} to its path`;

/**
 * Picks the bundled server for a machine, or says why there is none that fits. `file` is relative to
 * server/. Every reason names what was found and what the machine is; the caller adds the next step
 * (PATH, then the setting).
 */
export function chooseBundledServer(host: HostPlatform, bundled: BundledServer): BundledChoice {
  const here = hostTarget(host.platform, host.arch, host.musl);
  const machine = `this machine is ${here} (platform ${host.platform}, arch ${host.arch}${host.platform === 'linux' ? (host.musl ? ', musl libc' : ', glibc') : ''})`;
  const wanted = serverBinaryName(host.platform);
  const binaries: string[] = bundled.files.filter((f) => f === 'azure-sessions-lsp' || f === 'azure-sessions-lsp.exe');
  if (binaries.length === 0) {
    return { ok: false, reason: 'no language server is bundled with this extension (it is the universal VSIX)' };
  }
  const supported = compatibleTargets(here);
  if (supported.length === 0) {
    return {
      ok: false,
      reason: `no azure-sessions-lsp build is published for ${here}: ${machine}, and VSIXs are built for ${Object.keys(SERVER_TARGETS).join(', ')}; ${INSTALL_HINT}`,
    };
  }
  const builtFor = bundled.target;
  if (builtFor !== undefined && !(supported as string[]).includes(builtFor)) {
    return {
      ok: false,
      reason: `the bundled language server is built for ${builtFor}, but ${machine}; install the ${here} VSIX of the extension, or ${INSTALL_HINT}`,
    };
  }
  if (!binaries.includes(wanted)) {
    const found = binaries[0] ?? '';
    return {
      ok: false,
      reason: `the bundled language server is server/${found}, not server/${wanted}, so it is not built for ${here} (${machine}); install the ${here} VSIX of the extension, or ${INSTALL_HINT}`,
    };
  }
  return { ok: true, file: wanted, target: builtFor ?? here };
}
