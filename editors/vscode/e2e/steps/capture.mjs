// --capture-initialize: the extension starts e2e/capture-initialize.mjs as its server, which records
// the `initialize` params VS Code sends; they are saved with the workspace path as ${WORKSPACE}.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { check } from '../lib/checks.mjs';

export async function captureInitialize(page, h, captureOut) {
  let got = false;
  for (let i = 0; i < 120 && !got; i++) {
    got = fs.existsSync(h.capturedInit);
    if (!got) await page.waitForTimeout(250);
  }
  if (!check('the capture server recorded the initialize params', got)) return;
  const raw = fs.readFileSync(h.capturedInit, 'utf8');
  const workspaceUri = pathToFileURL(h.dirs.workspace).href; // file:///tmp/azs-vscode-e2e-…/workspace
  const fixture = raw.split(workspaceUri).join('file://${WORKSPACE}').split(h.dirs.workspace).join('${WORKSPACE}');
  let parsed;
  try {
    parsed = JSON.parse(fixture);
  } catch {
    parsed = undefined;
  }
  const clean = parsed !== undefined && !fixture.includes(h.tmp) && fixture.includes('${WORKSPACE}');
  if (clean) {
    fs.mkdirSync(path.dirname(captureOut), { recursive: true });
    fs.writeFileSync(captureOut, `${JSON.stringify(parsed, null, 2)}\n`);
  }
  check('the initialize params are saved with the workspace path as ${WORKSPACE}', clean, clean ? `${captureOut} (${parsed.clientInfo?.name} ${parsed.clientInfo?.version})` : raw.slice(0, 300));
}
