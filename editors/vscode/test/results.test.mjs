// Unit tests of the Results view's pure parts (src/results/*.ts, bundled to out/results/*.js by `npm run build`):
// the HTML sanitizer, the rendering of runs, the lines a run covers and how edits move them, image sizes.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';

const require = createRequire(import.meta.url);
const { sanitizeHtml, safeLinkUrl, safeStyle, decodeEntities } = require('../out/results/sanitize.js');
const { renderPage, renderRun, stripAnsi, resultText, isImage } = require('../out/results/render.js');
const { cellRange, requestedLines, runLabel, shiftLines, RunStore, baseName } = require('../out/results/runs.js');
const { imageSize, hoverWidth } = require('../out/results/images.js');

// ------------------------------------------------------------------ sanitizer

test('sanitizer: scripts, frames, plugins and styles go with their content', () => {
  for (const bad of [
    '<script>alert(1)</script>',
    '<SCRIPT type="text/javascript">alert(1)</SCRIPT >',
    '<script/>alert(1)</script>',
    '<script>document.write("</scr"+"ipt>")</script>',
    '<iframe src="https://evil.example"></iframe>',
    '<object data="x.swf"><param name="a"></object>',
    '<embed src="x.swf">',
    '<style>body{background:url(https://evil.example/x)}</style>',
    '<template><img src=x onerror=alert(1)></template>',
    '<svg><script>alert(1)</script></svg>',
    '<svg onload=alert(1)><circle/></svg>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
  ]) {
    const out = sanitizeHtml(`a${bad}b`);
    assert.ok(!/alert|evil|<script|<iframe|<object|<embed|<style|<svg|<math|onerror|onload/i.test(out), `${bad} → ${out}`);
    assert.ok(out.startsWith('a') && out.endsWith('b'), `text around ${bad} is kept: ${out}`);
  }
});

test('sanitizer: event handlers and unknown attributes are dropped', () => {
  assert.equal(sanitizeHtml('<div onclick="alert(1)" class="x">t</div>'), '<div class="x">t</div>');
  assert.equal(sanitizeHtml('<td ONMOUSEOVER=alert(1) colspan=2>t</td>'), '<td colspan="2">t</td>');
  assert.equal(sanitizeHtml('<p id="x" name="y" data-line="3" title="ok">t</p>'), '<p title="ok">t</p>');
  assert.equal(sanitizeHtml('<img src=x onerror=alert(1)>'), '<img>');
});

test('sanitizer: javascript: and other schemes are dropped from links, however encoded', () => {
  for (const href of [
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    ' javascript:alert(1)',
    'java\tscript:alert(1)',
    'jav&#x61;script:alert(1)',
    'jav&#97;script:alert(1)',
    'javascript&colon;alert(1)',
    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
    'command:workbench.action.terminal.new',
    'vscode://ms-python.python/x',
  ]) {
    const out = sanitizeHtml(`<a href="${href}">x</a>`);
    assert.equal(out, '<a>x</a>', `${href} → ${out}`);
  }
  assert.equal(sanitizeHtml('<a href="https://example.org/a?b=1&amp;c=2">x</a>'), '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">x</a>');
  assert.ok(safeLinkUrl('#section'));
  assert.ok(safeLinkUrl('mailto:a@example.org'));
  assert.ok(!safeLinkUrl('//evil.example/x'));
});

test('sanitizer: images only from data:image URLs', () => {
  assert.equal(sanitizeHtml('<img src="https://evil.example/track.png" alt="a">'), '<img alt="a">');
  assert.equal(sanitizeHtml('<img src="data:image/png;base64,AAAA" alt="a">'), '<img src="data:image/png;base64,AAAA" alt="a">');
  assert.equal(sanitizeHtml('<img src="data:text/html,<script>alert(1)</script>">'), '<img>');
});

test('sanitizer: styles that load, escape or script are dropped', () => {
  assert.equal(sanitizeHtml('<p style="color: red; text-align: right">t</p>'), '<p style="color: red; text-align: right">t</p>');
  for (const style of ['background:url(https://evil.example/x)', 'background: URL ( x )', 'width: expression(alert(1))', 'position: fixed; inset: 0', 'background:u\\72l(x)', 'background:&#x75;rl(x)']) {
    assert.equal(sanitizeHtml(`<p style="${style}">t</p>`), '<p>t</p>', style);
  }
  assert.ok(safeStyle('text-align: right;'));
  assert.ok(!safeStyle('behavior: url(x.htc)'));
});

test('sanitizer: the output is balanced and cannot close the elements around it', () => {
  assert.equal(sanitizeHtml('</div></section><b>x'), '<b>x</b>');
  assert.equal(sanitizeHtml('<table><tr><td>1<td>2</table>'), '<table><tr><td>1<td>2</td></td></tr></table>');
  assert.equal(sanitizeHtml('<div><span>a</div>b'), '<div><span>a</span></div>b');
});

test('sanitizer: text, comments, doctype and stray brackets', () => {
  assert.equal(sanitizeHtml('1 < 2 && 3 > 2'), '1 &lt; 2 &amp;&amp; 3 &gt; 2');
  assert.equal(sanitizeHtml('a<!-- <script>alert(1)</script> -->b'), 'ab');
  assert.equal(sanitizeHtml('<!DOCTYPE html><html><body><p>x</p></body></html>'), '<p>x</p>');
  assert.equal(sanitizeHtml('&lt;b&gt; &amp; &nbsp;'), '&lt;b&gt; &amp; &nbsp;');
  assert.equal(sanitizeHtml('<form action="https://evil.example"><input name=a><button>go</button></form>'), 'go');
  assert.equal(sanitizeHtml('<p title="a&quot;onmouseover=&quot;alert(1)">t</p>'), '<p title="a&quot;onmouseover=&quot;alert(1)">t</p>');
  assert.equal(decodeEntities('&#x6a;&#97;&colon;'), 'ja:');
});

test('sanitizer: a pandas DataFrame keeps its table', () => {
  const df =
    '<div>\n<style scoped>\n    .dataframe tbody tr th:only-of-type {\n        vertical-align: middle;\n    }\n</style>\n' +
    '<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: right;">\n      <th></th>\n      <th>a</th>\n    </tr>\n  </thead>\n' +
    '  <tbody>\n    <tr>\n      <th>0</th>\n      <td>1</td>\n    </tr>\n  </tbody>\n</table>\n</div>';
  const out = sanitizeHtml(df);
  assert.ok(!out.includes('style scoped') && !out.includes('vertical-align'), out);
  assert.ok(out.includes('<table border="1" class="dataframe">') && out.includes('<tr style="text-align: right;">') && out.includes('<td>1</td>'), out);
});

test('sanitizer: unclosed dropped elements drop the rest; long hostile input stays fast', () => {
  assert.equal(sanitizeHtml('a<script>alert(1)'), 'a');
  const start = Date.now();
  sanitizeHtml('<a '.repeat(50_000));
  sanitizeHtml('<'.repeat(200_000));
  sanitizeHtml('<div>'.repeat(100_000));
  assert.ok(Date.now() - start < 3000, `took ${Date.now() - start} ms`);
});

// ------------------------------------------------------------------ rendering

const opts = { cspSource: 'https://webview.example', nonce: 'N0NCE', imageSrc: (u) => `https://webview.example/res${new URL(u).pathname}` };
const baseRun = (outcome, extra = {}) => ({
  id: 7, documentUri: 'file:///w/demo.py', label: 'demo.py:5–7', lines: { first: 4, last: 6 }, ranFrom: 4,
  finishedAt: '2026-12-01T10:11:12.000Z', outcome, markdownHtml: {}, ...extra,
});

test('render: a page has a strict CSP and one script, with the nonce', () => {
  const page = renderPage([], opts);
  assert.match(page, /default-src 'none'; img-src https:\/\/webview\.example data:; style-src https:\/\/webview\.example 'unsafe-inline'; script-src 'nonce-N0NCE'/);
  assert.equal(page.match(/<script/g).length, 1);
  assert.match(page, /<script nonce="N0NCE">/);
  assert.match(page, /No runs yet/);
});

test('render: a run with stdout, stderr, an image, HTML, Markdown, JSON and a result', () => {
  const html = renderRun(baseRun({
    status: 'Succeeded', stdout: 'hello <world>\n', stderr: '\u001b[31mwarn\u001b[0m\n', executionTimeMs: 1234, result: 42,
    displays: [
      { mimeType: 'image/png', uri: 'file:///run/user/1/azure-sessions-lsp/display-ab.png' },
      { mimeType: 'text/html', text: '<table><tr><td onclick="x()">1</td></tr></table><script>alert(1)</script>' },
      { mimeType: 'text/markdown', text: '# Title' },
      { mimeType: 'application/json', text: '{"a":1}' },
      { mimeType: 'image/svg+xml', text: '<svg xmlns="http://www.w3.org/2000/svg"/>' },
    ],
  }, { markdownHtml: { 2: '<h1 data-line="0">Title</h1><script>x</script>' } }), opts);
  assert.match(html, /<a href="#" class="label reveal" data-run="7" data-line="4"[^>]*>demo\.py:5–7<\/a>/);
  assert.match(html, /✓ 1\.23 s/);
  assert.match(html, /<pre class="stdout">hello &lt;world&gt;\n<\/pre>/);
  assert.match(html, /<pre class="stderr">warn\n<\/pre>/);
  assert.match(html, /<img class="zoomable" src="https:\/\/webview\.example\/res\/run\/user\/1\/azure-sessions-lsp\/display-ab\.png"/);
  assert.match(html, /<div class="display html"><table><tr><td>1<\/td><\/tr><\/table><\/div>/);
  assert.match(html, /<div class="display markdown"><h1>Title<\/h1><\/div>/);
  assert.match(html, /<pre class="display json">\{\n {2}&quot;a&quot;: 1\n\}<\/pre>/);
  assert.match(html, /<img class="zoomable" src="data:image\/svg\+xml;base64,/);
  assert.match(html, /<pre class="result">→ 42<\/pre>/);
  assert.ok(!/alert|onclick|<script/.test(html), html);
});

test('render: an error links to its line; an image result is not repeated as a value', () => {
  const html = renderRun(baseRun({ status: 'Failed', error: { type: 'ZeroDivisionError', message: 'division by zero', line: 8 }, result: null }), opts);
  assert.match(html, /<section class="run failed" id="run-7">/);
  assert.match(html, /✗ ZeroDivisionError/);
  assert.match(html, /<a href="#" class="reveal" data-run="7" data-error-line="8"[^>]*>ZeroDivisionError: division by zero \(line 9\)<\/a>/);
  assert.equal(resultText({ type: 'image', format: 'png', savedTo: '/x.png' }), undefined);
  assert.equal(resultText('text'), 'text');
  assert.equal(resultText(null), undefined);
  assert.equal(stripAnsi('\u001b[1;31mError\u001b[0m'), 'Error');
});

test('render: labels and file names are escaped; a run whose lines were edited has no reveal link', () => {
  const html = renderRun(baseRun({ status: 'Succeeded' }, { label: '<img src=x onerror=alert(1)>.py', lines: undefined }), opts);
  assert.ok(!html.includes('<img src=x'), html);
  assert.match(html, /<span class="label">&lt;img src=x onerror=alert\(1\)&gt;\.py<\/span>/);
  const unsaved = renderRun(baseRun({ status: 'Succeeded', displays: [{ mimeType: 'image/png' }] }), opts);
  assert.match(unsaved, /image\/png \(could not be saved\)/);
  assert.ok(isImage({ mimeType: 'image/png', uri: 'file:///a.png' }));
  assert.ok(!isImage({ mimeType: 'text/html', text: '<b>' }));
});

// ------------------------------------------------------------------ lines and labels

const marker = /^\s*(#|\/\/)\s*%%/;
const doc = ['print(1)', '', '# %% a', 'x = 1', 'y = 2', '', '', '# %% b', 'z = 3', ''];

test('cellRange follows the server: after the marker, trailing blank lines left out', () => {
  assert.deepEqual(cellRange(doc, 3, marker), { first: 3, last: 4 });
  assert.deepEqual(cellRange(doc, 2, marker), { first: 3, last: 4 }); // on the marker: the cell it starts
  assert.deepEqual(cellRange(doc, 6, marker), { first: 3, last: 4 });
  assert.deepEqual(cellRange(doc, 8, marker), { first: 8, last: 8 });
  assert.deepEqual(cellRange(doc, 0, marker), { first: 0, last: 0 });
});

test('requestedLines for ranges, cells and whole files', () => {
  const r = (start, end) => ({ uri: 'file:///w/demo.py', range: { start, end } });
  assert.deepEqual(requestedLines('azure-sessions.run', r({ line: 3, character: 0 }, { line: 3, character: 0 }), doc, marker), { first: 3, last: 3 });
  assert.deepEqual(requestedLines('azure-sessions.run', r({ line: 3, character: 0 }, { line: 5, character: 0 }), doc, marker), { first: 3, last: 4 });
  assert.deepEqual(requestedLines('azure-sessions.run', r({ line: 3, character: 2 }, { line: 4, character: 3 }), doc, marker), { first: 3, last: 4 });
  assert.deepEqual(requestedLines('azure-sessions.runCell', { uri: 'u', position: { line: 4, character: 0 } }, doc, marker), { first: 3, last: 4 });
  assert.deepEqual(requestedLines('azure-sessions.run', { uri: 'u' }, doc, marker), { first: 0, last: 8 });
  assert.equal(requestedLines('azure-sessions.runCell', { uri: 'u', position: { line: 4, character: 0 } }, undefined, marker), undefined);
  assert.equal(requestedLines('azure-sessions.run', null, doc, marker), undefined);
});

test('runLabel and baseName', () => {
  assert.equal(runLabel('file:///w/my%20demo.py', { first: 4, last: 6 }, false), 'my demo.py:5–7');
  assert.equal(runLabel('file:///w/demo.py', { first: 0, last: 0 }, false), 'demo.py:1');
  assert.equal(runLabel('file:///w/demo.py', { first: 0, last: 9 }, true), 'demo.py');
  assert.equal(baseName('untitled:Untitled-1'), 'untitled:Untitled-1');
});

test('shiftLines: edits above move a run, below leave it, on it drop it', () => {
  const lines = { first: 5, last: 7 };
  const change = (sl, sc, el, ec, text) => ({ range: { start: { line: sl, character: sc }, end: { line: el, character: ec } }, text });
  assert.deepEqual(shiftLines(lines, change(1, 0, 1, 0, 'a\nb\n')), { first: 7, last: 9 });
  assert.deepEqual(shiftLines(lines, change(1, 0, 3, 0, '')), { first: 3, last: 5 });
  assert.deepEqual(shiftLines(lines, change(5, 0, 5, 0, 'new line\n')), { first: 6, last: 8 });
  assert.deepEqual(shiftLines(lines, change(4, 0, 5, 0, '')), { first: 4, last: 6 });
  assert.deepEqual(shiftLines(lines, change(9, 0, 9, 3, 'xyz')), lines);
  assert.equal(shiftLines(lines, change(6, 2, 6, 2, 'x')), undefined);
  assert.equal(shiftLines(lines, change(4, 3, 5, 1, '')), undefined);
});

test('RunStore keeps the newest runs, finds them by line and follows edits', () => {
  const store = new RunStore(3);
  for (let i = 0; i < 5; i++) {
    store.add(baseRun({ status: 'Succeeded' }, { lines: { first: i, last: i + 1 }, ranFrom: i }));
  }
  assert.deepEqual(store.all().map((r) => r.id), [3, 4, 5]);
  assert.equal(store.at('file:///w/demo.py', 3).id, 4);
  assert.equal(store.at('file:///w/demo.py', 3, (r) => r.id === 3).id, 3);
  assert.equal(store.at('file:///w/other.py', 3), undefined);
  store.edit('file:///w/demo.py', [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '\n\n' }]);
  assert.deepEqual(store.get(5).lines, { first: 6, last: 7 });
  assert.equal(RunStore.currentLine(store.get(5), 5), 7);
  store.clear();
  assert.equal(store.all().length, 0);
});

// ------------------------------------------------------------------ images

test('imageSize reads PNG, GIF and JPEG headers', () => {
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000280000001408020000', 'hex');
  assert.deepEqual(imageSize(png), { width: 40, height: 20 });
  const gif = Buffer.from('474946383961' + '0a00' + '0500', 'hex');
  assert.deepEqual(imageSize(gif), { width: 10, height: 5 });
  const jpeg = Buffer.from('ffd8' + 'ffe00010' + '4a46494600010100000100010000' + 'ffc00011' + '08' + '0030' + '0040' + '03', 'hex');
  assert.deepEqual(imageSize(jpeg), { width: 64, height: 48 });
  assert.equal(imageSize(Buffer.from('hello')), undefined);
  assert.equal(hoverWidth({ width: 40, height: 20 }), 40);
  assert.equal(hoverWidth({ width: 4000, height: 20 }), 480);
  assert.equal(hoverWidth(undefined), undefined);
});
