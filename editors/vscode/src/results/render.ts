// The Results view's HTML: one section per run (label, status, stdout, stderr, displays, result,
// error linked to its line), a strict Content-Security-Policy and a small script (nonce) for
// click-to-zoom and for revealing lines. vscode-free: unit-tested in test/results.test.mjs.
import type { Display } from '../protocol';
import type { ResultRun } from './runs';
import { escapeHtml, sanitizeHtml } from './sanitize';

export interface RenderOptions {
  /** `webview.cspSource`. */
  cspSource: string;
  /** A fresh random nonce for the page's one script. */
  nonce: string;
  /** The webview URI of a display's file (`asWebviewUri`), or undefined when it cannot be shown. */
  imageSrc(fileUri: string): string | undefined;
}

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp']);

/** Whether a display is shown as a picture. */
export function isImage(d: Display): boolean {
  return (IMAGE_TYPES.has(d.mimeType) && !!d.uri) || (d.mimeType === 'image/svg+xml' && (d.text !== undefined || !!d.uri));
}

/** Removes ANSI escape sequences (colours of tracebacks). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)/g, '');
}

/** The file path of a file: URI (for messages), else the URI itself. */
export function displayPath(uri: string): string {
  if (!uri.startsWith('file://')) {
    return uri;
  }
  try {
    return decodeURIComponent(uri.replace(/^file:\/\//, ''));
  } catch {
    return uri;
  }
}

function formatMs(ms: number | undefined): string {
  if (typeof ms !== 'number') {
    return '';
  }
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function clock(iso: string): string {
  const m = /T(\d\d:\d\d:\d\d)/.exec(iso);
  return m?.[1] ?? iso;
}

/** The plain value of a run (`result`), unless it is an image result that the displays already show. */
export function resultText(result: unknown): string | undefined {
  if (result === undefined || result === null) {
    return undefined;
  }
  if (typeof result === 'object' && (result as { type?: unknown }).type === 'image') {
    return undefined;
  }
  if (typeof result === 'string') {
    return result;
  }
  return JSON.stringify(result, null, 2);
}

function renderDisplay(run: ResultRun, d: Display, index: number, o: RenderOptions): string {
  const kind = escapeHtml(d.mimeType);
  if (IMAGE_TYPES.has(d.mimeType) && d.uri) {
    const src = o.imageSrc(d.uri);
    if (src) {
      return `<figure class="display image"><img class="zoomable" src="${escapeHtml(src)}" alt="${kind} result of ${escapeHtml(run.label)}" title="Click to zoom"></figure>`;
    }
  }
  if (d.mimeType === 'image/svg+xml' && d.text !== undefined) {
    // As an <img>, an SVG runs no script and loads nothing.
    const data = `data:image/svg+xml;base64,${Buffer.from(d.text, 'utf8').toString('base64')}`;
    return `<figure class="display image"><img class="zoomable" src="${data}" alt="${kind} result" title="Click to zoom"></figure>`;
  }
  if (d.text !== undefined) {
    if (d.mimeType === 'text/html') {
      return `<div class="display html">${sanitizeHtml(d.text)}</div>`;
    }
    if (d.mimeType === 'text/markdown') {
      const html = run.markdownHtml[index];
      return html !== undefined
        ? `<div class="display markdown">${sanitizeHtml(html)}</div>`
        : `<pre class="display markdown-source">${escapeHtml(d.text)}</pre>`;
    }
    if (d.mimeType === 'application/json') {
      let text = d.text;
      try {
        text = JSON.stringify(JSON.parse(d.text), null, 2);
      } catch {
        // shown as it came
      }
      return `<pre class="display json">${escapeHtml(text)}</pre>`;
    }
    return `<pre class="display text">${escapeHtml(d.text)}</pre>`;
  }
  if (d.uri) {
    return `<div class="display file">${kind} saved to <a href="#" class="open-file" data-run="${run.id}" data-display="${index}">${escapeHtml(displayPath(d.uri))}</a></div>`;
  }
  return `<div class="display file">${kind} (could not be saved)</div>`;
}

/** One run as an HTML section. */
export function renderRun(run: ResultRun, o: RenderOptions): string {
  const out = run.outcome;
  const ok = out.status === 'Succeeded';
  const parts: string[] = [];
  const first = run.lines?.first;
  const label =
    first === undefined
      ? `<span class="label">${escapeHtml(run.label)}</span>`
      : `<a href="#" class="label reveal" data-run="${run.id}" data-line="${first}" title="Show the code that ran">${escapeHtml(run.label)}</a>`;
  const status = ok ? `✓ ${formatMs(out.executionTimeMs)}` : `✗ ${escapeHtml(out.error?.type ?? out.status)}`;
  parts.push(
    `<header>${label} <span class="status">${status.trim()}</span> <span class="when">${escapeHtml(clock(run.finishedAt))}</span></header>`,
  );
  if (out.stdout) {
    parts.push(`<pre class="stdout">${escapeHtml(stripAnsi(out.stdout))}</pre>`);
  }
  if (out.stderr) {
    parts.push(`<pre class="stderr">${escapeHtml(stripAnsi(out.stderr))}</pre>`);
  }
  (out.displays ?? []).forEach((d, i) => {
    parts.push(renderDisplay(run, d, i, o));
  });
  const value = resultText(out.result);
  if (value !== undefined) {
    parts.push(`<pre class="result">→ ${escapeHtml(value)}</pre>`);
  }
  if (out.error) {
    const what = [out.error.type, out.error.message].filter((s) => s).join(': ');
    const line = out.error.line;
    const text = escapeHtml(what || 'Failed');
    parts.push(
      typeof line === 'number'
        ? `<div class="error">✗ <a href="#" class="reveal" data-run="${run.id}" data-error-line="${line}" title="Show the failing line">${text} (line ${line + 1})</a></div>`
        : `<div class="error">✗ ${text}</div>`,
    );
  }
  return `<section class="run ${ok ? 'ok' : 'failed'}" id="run-${run.id}">${parts.join('\n')}</section>`;
}

const STYLE = `
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 12px 24px; }
section.run { border-top: 1px solid var(--vscode-panel-border, #8884); padding: 8px 0; }
section.run header { display: flex; gap: 8px; align-items: baseline; margin-bottom: 4px; }
section.run header .status { opacity: .85; }
section.run.failed header .status, .error { color: var(--vscode-errorForeground, #f14c4c); }
section.run header .when { margin-left: auto; opacity: .6; font-size: .9em; }
a { color: var(--vscode-textLink-foreground); text-decoration: none; cursor: pointer; }
a:hover { text-decoration: underline; }
pre { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); white-space: pre-wrap; word-break: break-word; margin: 4px 0; }
pre.stderr { color: var(--vscode-editorWarning-foreground, #cca700); }
pre.result { opacity: .9; }
figure.image { margin: 6px 0; }
img.zoomable { max-width: 100%; height: auto; cursor: zoom-in; background: #fff; }
.display.html, .display.markdown { overflow-x: auto; margin: 6px 0; }
.display table { border-collapse: collapse; font-size: .95em; }
.display th, .display td { border: 1px solid var(--vscode-panel-border, #8886); padding: 2px 6px; text-align: right; }
.display th { background: var(--vscode-editorWidget-background, #8882); }
.empty { opacity: .7; padding: 16px 0; }
.lightbox { position: fixed; inset: 0; background: rgba(0,0,0,.85); display: flex; align-items: center; justify-content: center; cursor: zoom-out; z-index: 10; overflow: auto; }
.lightbox[hidden] { display: none; }
.lightbox img { width: 90vw; height: 90vh; object-fit: contain; background: #fff; image-rendering: auto; }
`;

const SCRIPT = `
const vscode = acquireVsCodeApi();
const box = document.querySelector('.lightbox');
const big = box.querySelector('img');
function closeBox() { box.hidden = true; big.removeAttribute('src'); }
document.addEventListener('click', (e) => {
  const t = e.target instanceof Element ? e.target : null;
  if (!t) return;
  if (!box.hidden) { closeBox(); return; }
  const img = t.closest('img.zoomable');
  if (img) { big.src = img.src; big.alt = img.alt; box.hidden = false; return; }
  const reveal = t.closest('a.reveal');
  if (reveal) {
    e.preventDefault();
    const line = reveal.dataset.errorLine ?? reveal.dataset.line;
    vscode.postMessage({ type: 'reveal', run: Number(reveal.dataset.run), line: Number(line), error: reveal.dataset.errorLine !== undefined });
    return;
  }
  const file = t.closest('a.open-file');
  if (file) {
    e.preventDefault();
    vscode.postMessage({ type: 'open', run: Number(file.dataset.run), display: Number(file.dataset.display) });
  }
});
document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !box.hidden) closeBox(); });
window.scrollTo(0, document.body.scrollHeight);
`;

/** The whole page. */
export function renderPage(runs: readonly ResultRun[], o: RenderOptions): string {
  const csp = [
    "default-src 'none'",
    `img-src ${o.cspSource} data:`,
    `style-src ${o.cspSource} 'unsafe-inline'`,
    `script-src 'nonce-${o.nonce}'`,
  ].join('; ');
  const body =
    runs.length === 0
      ? '<p class="empty">No runs yet. Run a line, a cell or a file in the Azure session: its output, images, tables and errors show here.</p>'
      : runs.map((r) => renderRun(r, o)).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Azure Sessions: Results</title>
<style>${STYLE}</style>
</head>
<body>
<main>${body}</main>
<div class="lightbox" hidden><img alt=""></div>
<script nonce="${escapeHtml(o.nonce)}">${SCRIPT}</script>
</body>
</html>`;
}
