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

/** Writes demo.py and .vscode/settings.json into `dir`; returns the settings file's path. */
export function writeWorkspace(dir) {
  const settingsFile = path.join(dir, '.vscode', 'settings.json');
  fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
  fs.writeFileSync(settingsFile, JSON.stringify({ 'azureSessions.endpoint': 'local', 'azureSessions.trace.server': 'messages' }, null, 2));
  fs.writeFileSync(path.join(dir, 'demo.py'), DEMO);
  return settingsFile;
}
