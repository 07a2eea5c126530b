// scripts/package-vsix.sh (at the repository root): one VSIX per target whose binary exists, the binary at
// the path the extension looks for, skipped targets named with the reason, a wrong binary refused. The
// binaries here are stand-ins with real headers (ELF, PE, Mach-O) and nothing else: what is checked is the
// packaging, not the server (the real server is packaged and run by the e2e steps of scripts/test.sh).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { SERVER_TARGETS } = require('../out/platform.js');
const extRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const script = path.resolve(extRoot, '../../scripts/package-vsix.sh');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'azs-package-vsix-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function pe(machine) {
  const buf = Buffer.alloc(4096);
  buf.write('MZ', 0, 'latin1');
  buf.writeUInt32LE(128, 0x3c);
  buf.write('PE\0\0', 128, 'latin1');
  buf.writeUInt16LE(machine, 132);
  return buf;
}

function macho(cpu) {
  const buf = Buffer.alloc(4096);
  buf.writeUInt32LE(0xfeedfacf, 0);
  buf.writeUInt32LE(cpu, 4);
  return buf;
}

function put(dir, file, bytes) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, file), bytes, { mode: 0o755 });
}

function run(args) {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the script and src/platform.ts agree on the targets and their Rust targets', () => {
  const printed = execFileSync('bash', [script, '--print-targets'], { encoding: 'utf8' }).trim().split('\n');
  const expected = Object.entries(SERVER_TARGETS).map(([t, triples]) => [t, ...triples].join(' '));
  assert.deepEqual(printed, expected);
});

test('a VSIX per target found, each with its binary where the extension looks; the others skipped with the reason', () => {
  const bins = path.join(tmp, 'bins');
  put(path.join(bins, 'x86_64-pc-windows-gnu', 'release'), 'azure-sessions-lsp.exe', pe(0x8664)); // cargo's layout
  put(path.join(bins, 'aarch64-apple-darwin'), 'azure-sessions-lsp', macho(0x0100000c)); // the workflow's layout
  const out = path.join(tmp, 'out');
  const r = run(['--targets', 'win32-x64,darwin-arm64,win32-arm64', '--bin-dir', bins, '--out-dir', out]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /PASS win32-x64: .*azure-sessions-win32-x64-\d+\.\d+\.\d+\.vsix/);
  assert.match(r.out, /extension\/server\/azure-sessions-lsp\.exe: win32-x64 \(PE32\+ x86-64/);
  assert.match(r.out, /PASS darwin-arm64: /);
  assert.match(r.out, /extension\/server\/azure-sessions-lsp: darwin-arm64 \(Mach-O 64-bit arm64\)/);
  assert.match(r.out, /SKIP win32-arm64: no server binary for aarch64-pc-windows-msvc/);
  assert.match(r.out, /^2 passed, 0 failed$/m);
  const win = execFileSync('unzip', ['-l', path.join(out, fs.readdirSync(out).find((f) => f.includes('win32-x64') && f.endsWith('.vsix')))], { encoding: 'utf8' });
  assert.match(win, / extension\/server\/azure-sessions-lsp\.exe\n/);
  assert.doesNotMatch(win, / extension\/server\/azure-sessions-lsp\n/);
  assert.match(win, / extension\/server\/target\.json\n/);

  const strict = run(['--targets', 'win32-arm64', '--bin-dir', bins, '--out-dir', out, '--require-all']);
  assert.equal(strict.status, 1, '--require-all fails on a skipped target');
  assert.match(strict.out, /^0 passed, 1 failed$/m);
});

test('a binary built for another target is refused, not packaged', () => {
  const bins = path.join(tmp, 'wrong');
  put(path.join(bins, 'aarch64-pc-windows-msvc'), 'azure-sessions-lsp.exe', pe(0x8664)); // x64, not arm64
  const r = run(['--targets', 'win32-arm64', '--bin-dir', bins, '--out-dir', path.join(tmp, 'out-wrong')]);
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /is built for win32-x64, not win32-arm64/);
  assert.match(r.out, /FAIL win32-arm64: vsce package failed/);
  assert.match(r.out, /^0 passed, 1 failed$/m);
});
