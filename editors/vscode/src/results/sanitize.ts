// A small allowlist HTML sanitizer for the HTML that runs return (pandas tables, _repr_html_, rendered
// Markdown) before it goes into the Results webview. No scripts, no event handlers, no frames or
// plugins, no external loads, no javascript: URLs, and the output is balanced, so that it cannot close
// the elements around it. The webview's Content-Security-Policy is the second line of defence.
// vscode-free: unit-tested in test/results.test.mjs.

/** Elements kept (with the attributes below). Anything else loses its tag and keeps its text. */
const ALLOWED_TAGS = new Set([
  'a', 'abbr', 'article', 'aside', 'b', 'bdi', 'bdo', 'blockquote', 'br', 'caption', 'center', 'cite', 'code',
  'col', 'colgroup', 'dd', 'del', 'details', 'dfn', 'div', 'dl', 'dt', 'em', 'figcaption', 'figure', 'footer',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'mark', 'ol', 'p', 'pre',
  'q', 'rp', 'rt', 'ruby', 's', 'samp', 'section', 'small', 'span', 'strike', 'strong', 'sub', 'summary', 'sup',
  'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'time', 'tr', 'tt', 'u', 'ul', 'var', 'wbr',
]);

/** Elements dropped together with everything inside them. */
const DROPPED_WITH_CONTENT = new Set([
  'script', 'style', 'iframe', 'frameset', 'object', 'applet', 'template', 'noscript',
  'noembed', 'noframes', 'xmp', 'plaintext', 'textarea', 'select', 'svg', 'math', 'title', 'head', 'audio',
  'video', 'canvas', 'portal', 'fencedframe',
]);

const VOID_TAGS = new Set(['br', 'col', 'hr', 'img', 'wbr']);

const ALLOWED_ATTRIBUTES = new Set([
  'abbr', 'align', 'alt', 'border', 'cellpadding', 'cellspacing', 'class', 'colspan', 'dir', 'headers', 'height',
  'lang', 'nowrap', 'open', 'reversed', 'rowspan', 'scope', 'span', 'start', 'style', 'title', 'valign', 'width',
]);

const MAX_DEPTH = 200;

/** Escapes text for an HTML text node or a double-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', colon: ':', tab: '\t', newline: '\n',
  lpar: '(', rpar: ')', sol: '/', bsol: '\\', period: '.', comma: ',', semi: ';', excl: '!', num: '#',
};

/** Decodes character references as a browser would in an attribute value (enough to check URLs and styles). */
export function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);?/gi, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
    }
    return NAMED_ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

/** Text as it goes into the output: entities kept, a stray `&`, `<` or `>` escaped. */
function cleanText(text: string): string {
  return text
    .replace(/&(?!(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);)/gi, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Whether a URL (attribute value, entities already decoded) is one a result may link to. */
export function safeLinkUrl(raw: string): boolean {
  // Browsers ignore control characters and whitespace inside a scheme ("java\tscript:").
  // eslint-disable-next-line no-control-regex
  const url = raw.replace(/[\u0000-\u0020\u007f-\u009f]/g, '').toLowerCase();
  if (url.startsWith('#')) {
    return true;
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(url);
  return !!scheme && ['http', 'https', 'mailto'].includes(scheme[1] ?? '');
}

/** Images only from data: URLs of image types (external loads would leak and are blocked anyway). */
export function safeImageUrl(raw: string): boolean {
  // eslint-disable-next-line no-control-regex
  const url = raw.replace(/[\u0000-\u0020]/g, '').toLowerCase();
  return /^data:image\/(png|jpeg|jpg|gif|webp|bmp|svg\+xml)[;,]/.test(url);
}

/** Inline styles without anything that loads, runs or escapes the result's box. */
export function safeStyle(raw: string): boolean {
  const style = raw.toLowerCase().replace(/\/\*.*?\*\//gs, '');
  return !/url\s*\(|expression\s*\(|javascript:|vbscript:|@import|behavior\s*:|-moz-binding|\\|position\s*:|image-set|var\s*\(/.test(style);
}

interface Attribute {
  name: string;
  value: string;
}

/** Parses the attributes of a start tag (the text between the name and `>`). */
function parseAttributes(text: string): Attribute[] {
  const attributes: Attribute[] = [];
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    attributes.push({ name: (m[1] ?? '').toLowerCase(), value: m[2] ?? m[3] ?? m[4] ?? '' });
  }
  return attributes;
}

function keptAttributes(tag: string, attributes: Attribute[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  let href = false;
  for (const { name, value } of attributes) {
    if (seen.has(name)) {
      continue; // the first one wins, as in browsers
    }
    seen.add(name);
    const decoded = decodeEntities(value);
    let keep = false;
    if (tag === 'a' && name === 'href') {
      keep = safeLinkUrl(decoded);
    } else if (tag === 'img' && name === 'src') {
      keep = safeImageUrl(decoded);
    } else if (name === 'style') {
      keep = safeStyle(decoded);
    } else {
      keep = ALLOWED_ATTRIBUTES.has(name);
    }
    if (keep) {
      out.push(` ${name}="${escapeHtml(decoded)}"`);
      href ||= name === 'href';
    }
  }
  if (href) {
    out.push(' rel="noopener noreferrer"');
  }
  return out.join('');
}

/** Finds where the content of a dropped element ends (after its end tag), counting nested ones. */
function skipElement(html: string, from: number, tag: string): number {
  const rawText = !['svg', 'math', 'object', 'template', 'frameset', 'select', 'head', 'audio', 'video', 'canvas'].includes(tag);
  const re = new RegExp(`<(/?)${tag}(?=[\\s/>])[^>]*>`, 'gi');
  re.lastIndex = from;
  let depth = 1;
  let m: RegExpExecArray | null;
  while ((m = re.exec(html)) !== null) {
    if (m[1]) {
      depth -= 1;
      if (rawText || depth === 0) {
        return re.lastIndex;
      }
    } else if (!rawText && !m[0].endsWith('/>')) {
      depth += 1;
    }
  }
  return html.length; // never closed: everything after it goes
}

/** The sanitized, balanced form of `html`. */
export function sanitizeHtml(html: string): string {
  const out: string[] = [];
  const open: string[] = [];
  const tagRe = /<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/y;
  const lastGt = html.lastIndexOf('>');
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out.push(cleanText(html.slice(i)));
      break;
    }
    out.push(cleanText(html.slice(i, lt)));
    i = lt;
    if (html.startsWith('<!--', i)) {
      const end = html.indexOf('-->', i + 4);
      i = end < 0 ? html.length : end + 3;
      continue;
    }
    if (html[i + 1] === '!' || html[i + 1] === '?') {
      const end = html.indexOf('>', i);
      i = end < 0 ? html.length : end + 1;
      continue;
    }
    tagRe.lastIndex = i;
    const tagMatch = i < lastGt ? tagRe.exec(html) : null;
    if (!tagMatch) {
      out.push('&lt;');
      i += 1;
      continue;
    }
    i += tagMatch[0].length;
    const closing = tagMatch[1] === '/';
    const tag = (tagMatch[2] ?? '').toLowerCase();
    const rest = tagMatch[3] ?? '';
    if (closing) {
      const at = open.lastIndexOf(tag);
      if (at >= 0) {
        while (open.length > at) {
          out.push(`</${open.pop() ?? ''}>`);
        }
      }
      continue;
    }
    if (DROPPED_WITH_CONTENT.has(tag)) {
      // A self-closing slash counts only in foreign content (svg, math), as in browsers.
      if (!((tag === 'svg' || tag === 'math') && /\/\s*$/.test(rest))) {
        i = skipElement(html, i, tag);
      }
      continue;
    }
    if (!ALLOWED_TAGS.has(tag)) {
      continue;
    }
    const attributes = keptAttributes(tag, parseAttributes(rest.replace(/\/\s*$/, '')));
    if (VOID_TAGS.has(tag)) {
      out.push(`<${tag}${attributes}>`);
    } else if (open.length < MAX_DEPTH) {
      out.push(`<${tag}${attributes}>`);
      open.push(tag);
    }
  }
  while (open.length > 0) {
    out.push(`</${open.pop() ?? ''}>`);
  }
  return out.join('');
}
