// The bundled server is picked by platform (src/platform.ts, bundled to out/platform.js): each of the seven
// VSIX targets finds its own binary, a VSIX for another platform or an unsupported machine gets a message
// that names azureSessions.server.path. Also the header check of scripts/binary-target.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { binaryTarget } from '../scripts/binary-target.mjs';

const require = createRequire(import.meta.url);
const { chooseBundledServer, hostTarget, isMuslHeader, SERVER_TARGETS, serverBinaryName, compatibleTargets } = require('../out/platform.js');
const { locateServer, ServerNotFoundError } = require('../out/serverLocator.js');

// The seven targets, as a machine of each reports itself to Node.
const HOSTS = {
  'linux-x64': { platform: 'linux', arch: 'x64', musl: false },
  'linux-arm64': { platform: 'linux', arch: 'arm64', musl: false },
  'alpine-x64': { platform: 'linux', arch: 'x64', musl: true },
  'win32-x64': { platform: 'win32', arch: 'x64', musl: false },
  'win32-arm64': { platform: 'win32', arch: 'arm64', musl: false },
  'darwin-x64': { platform: 'darwin', arch: 'x64', musl: false },
  'darwin-arm64': { platform: 'darwin', arch: 'arm64', musl: false },
};

function vsixFor(target) {
  return { files: [target.startsWith('win32') ? 'azure-sessions-lsp.exe' : 'azure-sessions-lsp', 'target.json'], target };
}

test('the seven targets are the ones the packaging builds', () => {
  assert.deepEqual(Object.keys(SERVER_TARGETS).sort(), Object.keys(HOSTS).sort());
  assert.deepEqual(SERVER_TARGETS['win32-x64'], ['x86_64-pc-windows-msvc', 'x86_64-pc-windows-gnu']);
  assert.deepEqual(SERVER_TARGETS['alpine-x64'], ['x86_64-unknown-linux-musl']);
});

for (const [target, host] of Object.entries(HOSTS)) {
  test(`${target}: the machine is ${target} and its own VSIX's server is picked`, () => {
    assert.equal(hostTarget(host.platform, host.arch, host.musl), target);
    const choice = chooseBundledServer(host, vsixFor(target));
    assert.deepEqual(choice, { ok: true, file: host.platform === 'win32' ? 'azure-sessions-lsp.exe' : 'azure-sessions-lsp', target });
  });

  test(`${target}: every other target's VSIX is refused, naming both targets and the setting`, () => {
    for (const other of Object.keys(HOSTS)) {
      if (other === target || compatibleTargets(target).includes(other)) {
        continue;
      }
      const choice = chooseBundledServer(host, vsixFor(other));
      assert.equal(choice.ok, false, `${other} on ${target}`);
      assert.match(choice.reason, new RegExp(`built for ${other}.*this machine is ${target}`));
      assert.match(choice.reason, /azureSessions\.server\.path/);
    }
  });
}

test('x64 glibc Linux also runs the static musl (alpine-x64) server; Alpine does not run the glibc one', () => {
  assert.deepEqual(chooseBundledServer(HOSTS['linux-x64'], vsixFor('alpine-x64')), { ok: true, file: 'azure-sessions-lsp', target: 'alpine-x64' });
  assert.equal(chooseBundledServer(HOSTS['alpine-x64'], vsixFor('linux-x64')).ok, false);
});

test('.exe on Windows only: a Windows binary without a marker is not picked on Linux, nor a Unix one on Windows', () => {
  const onLinux = chooseBundledServer(HOSTS['linux-x64'], { files: ['azure-sessions-lsp.exe'] });
  assert.equal(onLinux.ok, false);
  assert.match(onLinux.reason, /server\/azure-sessions-lsp\.exe, not server\/azure-sessions-lsp\b.*azureSessions\.server\.path/);
  const onWindows = chooseBundledServer(HOSTS['win32-x64'], { files: ['azure-sessions-lsp'] });
  assert.equal(onWindows.ok, false);
  assert.match(onWindows.reason, /not server\/azure-sessions-lsp\.exe/);
  // A binary copied by hand, without target.json, is taken by its name.
  assert.equal(chooseBundledServer(HOSTS['darwin-arm64'], { files: ['azure-sessions-lsp'] }).ok, true);
});

test('unsupported machines get a reason naming the machine, the supported targets and the setting', () => {
  const unsupported = [
    { platform: 'linux', arch: 'ia32', musl: false, name: 'linux-ia32' },
    { platform: 'linux', arch: 'arm', musl: false, name: 'linux-arm' },
    { platform: 'linux', arch: 'arm64', musl: true, name: 'alpine-arm64' },
    { platform: 'win32', arch: 'ia32', musl: false, name: 'win32-ia32' },
    { platform: 'freebsd', arch: 'x64', musl: false, name: 'freebsd-x64' },
    { platform: 'linux', arch: 's390x', musl: false, name: 'linux-s390x' },
  ];
  for (const host of unsupported) {
    assert.equal(hostTarget(host.platform, host.arch, host.musl), host.name);
    assert.deepEqual(compatibleTargets(host.name), []);
    const choice = chooseBundledServer(host, vsixFor('linux-x64'));
    assert.equal(choice.ok, false, host.name);
    assert.match(choice.reason, new RegExp(`no azure-sessions-lsp build is published for ${host.name}`));
    assert.match(choice.reason, /linux-x64, linux-arm64, alpine-x64, win32-x64, win32-arm64, darwin-x64, darwin-arm64/);
    assert.match(choice.reason, /set azureSessions\.server\.path/);
  }
});

test('the universal VSIX has no server: said as such', () => {
  const choice = chooseBundledServer(HOSTS['linux-x64'], { files: [] });
  assert.deepEqual(choice, { ok: false, reason: 'no language server is bundled with this extension (it is the universal VSIX)' });
});

test('musl is told by the missing glibc version in the report header, on Linux only', () => {
  assert.equal(isMuslHeader('linux', { glibcVersionRuntime: '2.36' }), false);
  assert.equal(isMuslHeader('linux', { osName: 'Linux' }), true);
  assert.equal(isMuslHeader('darwin', {}), false);
  assert.equal(isMuslHeader('linux', undefined), false);
  assert.equal(serverBinaryName('win32'), 'azure-sessions-lsp.exe');
  assert.equal(serverBinaryName('darwin'), 'azure-sessions-lsp');
});

// ---------------------------------------------------------------- locateServer with a real server/ directory

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'azs-platform-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function extensionWith(name, target) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'server'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'server', 'azure-sessions-lsp'), "#!/bin/sh\necho 'azure-sessions-lsp 9.9.9'\n", { mode: 0o755 });
  if (target) {
    fs.writeFileSync(path.join(dir, 'server', 'target.json'), JSON.stringify({ target, rustTarget: 'x' }));
  }
  return dir;
}

test('locateServer takes the bundled server whose target.json fits the machine', async () => {
  const ext = extensionWith('fits', 'linux-arm64');
  const s = await locateServer('', ext, { PATH: '/nonexistent' }, HOSTS['linux-arm64']);
  assert.equal(s.source, 'bundled');
  assert.equal(s.version, '9.9.9');
});

test('locateServer refuses a bundled server for another platform, and says so naming the setting', async () => {
  const ext = extensionWith('arm-vsix', 'linux-arm64');
  await assert.rejects(locateServer('', ext, { PATH: '/nonexistent' }, HOSTS['linux-x64']), (e) => {
    assert.ok(e instanceof ServerNotFoundError);
    assert.equal(e.explicit, false);
    assert.match(e.message, /built for linux-arm64, but this machine is linux-x64/);
    assert.match(e.message, /azure-sessions-lsp is not on PATH/);
    assert.match(e.message, /set azureSessions\.server\.path to its path\.$/);
    return true;
  });
});

// ---------------------------------------------------------------- scripts/binary-target.mjs

function elf(machine, interp) {
  const buf = Buffer.alloc(512);
  buf.write('\x7fELF', 0, 'latin1');
  buf[4] = 2; // 64-bit
  buf[5] = 1; // little-endian
  buf.writeUInt16LE(machine, 18);
  buf.writeBigUInt64LE(64n, 32); // e_phoff
  buf.writeUInt16LE(56, 54); // e_phentsize
  buf.writeUInt16LE(interp ? 1 : 0, 56); // e_phnum
  if (interp) {
    buf.writeUInt32LE(3, 64); // PT_INTERP
    buf.writeBigUInt64LE(200n, 64 + 8);
    buf.writeBigUInt64LE(BigInt(interp.length + 1), 64 + 32);
    buf.write(interp, 200, 'latin1');
  }
  return buf;
}

function pe(machine) {
  const buf = Buffer.alloc(256);
  buf.write('MZ', 0, 'latin1');
  buf.writeUInt32LE(128, 0x3c);
  buf.write('PE\0\0', 128, 'latin1');
  buf.writeUInt16LE(machine, 132);
  return buf;
}

function macho(cpu) {
  const buf = Buffer.alloc(32);
  buf.writeUInt32LE(0xfeedfacf, 0);
  buf.writeUInt32LE(cpu, 4);
  return buf;
}

test('binary-target tells the seven targets apart by their headers', () => {
  const cases = [
    [elf(0x3e, '/lib64/ld-linux-x86-64.so.2'), 'linux-x64'],
    [elf(0xb7, '/lib/ld-linux-aarch64.so.1'), 'linux-arm64'],
    [elf(0x3e, undefined), 'alpine-x64'],
    [elf(0x3e, '/lib/ld-musl-x86_64.so.1'), 'alpine-x64'],
    [pe(0x8664), 'win32-x64'],
    [pe(0xaa64), 'win32-arm64'],
    [macho(0x01000007), 'darwin-x64'],
    [macho(0x0100000c), 'darwin-arm64'],
  ];
  for (const [buf, target] of cases) {
    assert.equal(binaryTarget(buf).target, target);
  }
  assert.equal(binaryTarget(Buffer.from('#!/bin/sh\necho hi\n')).target, undefined);
  assert.equal(binaryTarget(pe(0x14c)).target, undefined); // 32-bit x86
});

test('binary-target reads this machine\'s node as what it is', () => {
  if (process.platform !== 'linux') return;
  const buf = fs.readFileSync(process.execPath).subarray(0, 64 * 1024);
  const want = hostTarget(process.platform, process.arch, isMuslHeader(process.platform, process.report.getReport().header));
  assert.equal(binaryTarget(buf).target, want);
});
