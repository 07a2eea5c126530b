#!/usr/bin/env node
// Says which VS Code target an executable is built for, from its header alone (it never runs it):
// ELF (x86-64 or AArch64; a glibc program has a /lib*/ld-linux* interpreter, a musl one is static or
// uses ld-musl), PE (x86-64 or ARM64 Windows) or Mach-O (x86_64 or arm64).
//
//   node scripts/binary-target.mjs FILE [EXPECTED_TARGET]
//
// Prints "FILE: TARGET (details)". With EXPECTED_TARGET, exits 1 when the file is not built for it.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const PT_INTERP = 3;

/** { target, detail } for the bytes of an executable, or { target: undefined, detail: why }. */
export function binaryTarget(buf) {
  if (buf.length >= 20 && buf[0] === 0x7f && buf.toString('latin1', 1, 4) === 'ELF') {
    return elfTarget(buf);
  }
  if (buf.length >= 64 && buf.toString('latin1', 0, 2) === 'MZ') {
    return peTarget(buf);
  }
  if (buf.length >= 8) {
    const magic = buf.readUInt32LE(0);
    if (magic === 0xfeedfacf) {
      const cpu = buf.readUInt32LE(4);
      const arch = { 0x01000007: 'x64', 0x0100000c: 'arm64' }[cpu];
      return arch ? { target: `darwin-${arch}`, detail: `Mach-O 64-bit ${arch === 'x64' ? 'x86_64' : 'arm64'}` } : { target: undefined, detail: `Mach-O for CPU type 0x${cpu.toString(16)}` };
    }
    if (buf.readUInt32BE(0) === 0xcafebabe) {
      return { target: undefined, detail: 'a universal (fat) Mach-O: package one architecture per VSIX' };
    }
  }
  return { target: undefined, detail: 'not an ELF, PE or Mach-O executable' };
}

function elfTarget(buf) {
  if (buf[4] !== 2) {
    return { target: undefined, detail: 'a 32-bit ELF' };
  }
  const le = buf[5] === 1;
  const u16 = (o) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o) => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const machine = u16(18);
  const arch = { 0x3e: 'x64', 0xb7: 'arm64' }[machine];
  if (!arch) {
    return { target: undefined, detail: `ELF for machine 0x${machine.toString(16)}` };
  }
  let interp = '';
  const phoff = u64(32);
  const phentsize = u16(54);
  const phnum = u16(56);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > buf.length) {
      break;
    }
    if (u32(ph) === PT_INTERP) {
      const off = u64(ph + 8);
      const size = u64(ph + 32);
      interp = buf.toString('latin1', off, Math.min(off + size, buf.length)).replace(/\0+$/, '');
    }
  }
  const name = arch === 'x64' ? 'x86-64' : 'aarch64';
  if (interp === '' || interp.includes('musl')) {
    return { target: arch === 'x64' ? 'alpine-x64' : 'alpine-arm64', detail: `ELF 64-bit ${name}, ${interp ? `interpreter ${interp}` : 'static'} (musl)` };
  }
  return { target: `linux-${arch}`, detail: `ELF 64-bit ${name}, interpreter ${interp} (glibc)` };
}

function peTarget(buf) {
  const pe = buf.readUInt32LE(0x3c);
  if (pe + 6 > buf.length || buf.toString('latin1', pe, pe + 4) !== 'PE\0\0') {
    return { target: undefined, detail: 'MZ header without a PE header' };
  }
  const machine = buf.readUInt16LE(pe + 4);
  const arch = { 0x8664: 'x64', 0xaa64: 'arm64' }[machine];
  return arch
    ? { target: `win32-${arch}`, detail: `PE32+ ${arch === 'x64' ? 'x86-64' : 'Aarch64'} Windows executable` }
    : { target: undefined, detail: `PE for machine 0x${machine.toString(16)}` };
}

/** Reads enough of a file's head for the checks above (program headers and the interpreter path). */
export function readHead(file, bytes = 64 * 1024) {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = fs.readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  const [file, expected] = process.argv.slice(2);
  if (!file) {
    console.error('usage: binary-target.mjs FILE [EXPECTED_TARGET]');
    process.exit(2);
  }
  const { target, detail } = binaryTarget(readHead(file));
  console.log(`${file}: ${target ?? 'unknown'} (${detail})`);
  if (expected !== undefined && target !== expected) {
    console.error(`binary-target: ${file} is built for ${target ?? 'an unknown target'}, not ${expected}`);
    process.exit(1);
  }
}
