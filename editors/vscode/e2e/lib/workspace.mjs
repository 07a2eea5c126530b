// The workspace of the local-pool steps: a Python file with a line, a cell, a failing cell and a slow
// cell (the cancel step's); its settings choose the local pool.
import fs from 'node:fs';
import path from 'node:path';

export const DEMO = [
  'print("line-run", 6 * 7)', // 1
  '', // 2
  '# %% first cell', // 3
  'x = 6 * 7', // 4
  'print("cell-run", x + 1, "e2e".upper())', // 5
  '', // 6
  '# %% failing cell', // 7
  'y = 1', // 8
  'z = y / 0', // 9
  'print("unreachable")', // 10
  '', // 11
  '# %% slow cell', // 12
  'import time; time.sleep(30); print("slow-" + "done".upper())', // 13
  '',
].join('\n');
export const FAILING_LINE = 9; // one-based, as shown in the gutter
export const SLOW_LINE = 13;

// The Results view's file (steps/results.mjs, steps/variables.mjs): a value, an object whose _repr_png_
// is a 40×20 PNG made with the standard library (so no matplotlib is needed), a failing line, variables, an object whose _repr_html_ has a script.
export const RESULTS = [
  '6 * 7', // 1
  '', // 2
  '# %% picture', // 3
  'import struct, zlib', // 4
  'def png(w, h, rgb):', // 5
  '    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)', // 6
  '    rows = b"".join(b"\\x00" + bytes(rgb) * w for _ in range(h))', // 7
  '    return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")', // 8
  'class P:', // 9
  '    def _repr_png_(self): return png(40, 20, (200, 30, 30))', // 10
  'print("picture-cell")', // 11
  'P()', // 12
  '', // 13
  '# %% failing', // 14
  'missing_name + 1', // 15
  '', // 16
  '# %% variables', // 17
  'e2e_numbers = [1, 2, 3]; e2e_text = "vars-" + "ok"', // 18
  '', // 19
  '# %% html', // 20
  'class T:', // 21
  '    def _repr_html_(self): return "<table><tr><td onclick=\'alert(1)\'>html-cell</td></tr></table><script>alert(2)</script>"', // 22
  '    def __repr__(self): return "T-plain"', // 23
  'T()', // 24
  '',
].join('\n');
export const RESULTS_VALUE_LINE = 1;
export const RESULTS_PICTURE_LINE = 11;
export const RESULTS_FAILING_LINE = 15;
export const RESULTS_VARIABLES_LINE = 18;
export const RESULTS_HTML_LINE = 24;

/** Writes demo.py and .vscode/settings.json into `dir`; returns the settings file's path. */
export function writeWorkspace(dir) {
  const settingsFile = path.join(dir, '.vscode', 'settings.json');
  fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
  fs.writeFileSync(settingsFile, JSON.stringify({ 'azureSessions.endpoint': 'local', 'azureSessions.trace.server': 'messages' }, null, 2));
  fs.writeFileSync(path.join(dir, 'demo.py'), DEMO);
  fs.writeFileSync(path.join(dir, 'results.py'), RESULTS);
  return settingsFile;
}
