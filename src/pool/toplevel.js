// Top-level declarations of a script for the local pool's Node worker.
//
// A script's own `const`, `let` and `class` live in the global lexical scope and can't be declared
// again, so running the same cell twice failed with "Identifier 'x' has already been declared".
// This rewrites them to `var`, which may be declared again and stays a global of the session:
// `const x = 1` → `var   x = 1`, `let x;` → `var x = undefined;` (as a fresh `let` would be),
// `class A {}` → `var A = class A {};`. Lines never move, so errors keep their line numbers.
// Strings, template literals, regular expressions, comments and anything inside brackets are
// skipped. The worker runs the code as written when the rewrite does not compile.
'use strict';

const ID_START = /[A-Za-z_$\u0080-\uffff\\]/;
const ID_PART = /[\w$\u0080-\uffff\\]/;
const SPACE = /\s/;
const LINE_BREAK = /[\n\r\u2028\u2029]/;
// After these words a `/` starts a regular expression, not a division.
const BEFORE_EXPRESSION = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do',
  'else', 'yield', 'await',
]);
// `let a, b` with nothing assigned, up to the end of its line.
const BARE_LET = /^(\s+[A-Za-z_$][\w$]*(?:\s*,\s*[A-Za-z_$][\w$]*)*)\s*(?:;|\/\/|$)/;

function rewriteTopLevel(code) {
  const n = code.length;
  const edits = []; // [position, characters removed, text inserted]
  const stack = []; // open brackets, and '${' for an expression inside a template literal
  let prev = null; // the token before: { type: 'word' | 'value' | 'punct', text }
  let lineBreak = false; // a line break since that token
  let classState = 0; // 1: a rewritten class waits for its body, 2: inside the body
  let i = 0;

  const token = (type, text) => {
    prev = { type, text };
    lineBreak = false;
  };
  const statementStart = () =>
    prev === null ||
    (prev.type === 'punct' && (prev.text === ';' || prev.text === '}')) ||
    (lineBreak && (prev.type !== 'punct' || prev.text === ')' || prev.text === ']'));
  const regexAllowed = () =>
    prev === null ||
    (prev.type === 'punct' && prev.text !== ')' && prev.text !== ']') ||
    (prev.type === 'word' && BEFORE_EXPRESSION.has(prev.text));
  const nextNonSpace = (j) => {
    while (j < n && SPACE.test(code[j])) j++;
    return code[j] ?? '';
  };
  // Scans template text from j: stops after the closing backtick, or after `${` (pushed).
  const template = (j) => {
    while (j < n) {
      const c = code[j];
      if (c === '\\') {
        j += 2;
      } else if (c === '`') {
        token('value', '`');
        return j + 1;
      } else if (c === '$' && code[j + 1] === '{') {
        stack.push('${');
        token('punct', '${');
        return j + 2;
      } else {
        j++;
      }
    }
    return n;
  };
  const skipString = (j, quote) => {
    for (j += 1; j < n; j++) {
      if (code[j] === '\\') j++;
      else if (code[j] === quote) return j + 1;
      else if (LINE_BREAK.test(code[j])) return j;
    }
    return n;
  };
  const skipRegex = (j) => {
    let inClass = false;
    for (j += 1; j < n; j++) {
      const c = code[j];
      if (c === '\\') j++;
      else if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) break;
      else if (LINE_BREAK.test(c)) return j;
    }
    for (j += 1; j < n && ID_PART.test(code[j]); j++);
    return j;
  };
  const declaration = (word, end) => {
    if (word === 'const' || (word === 'let' && /[A-Za-z_$[{]/.test(nextNonSpace(end)))) {
      edits.push([end - word.length, word.length, word === 'const' ? 'var  ' : 'var']);
      const lineEnd = code.slice(end).search(LINE_BREAK);
      const rest = code.slice(end, lineEnd < 0 ? n : end + lineEnd);
      const bare = word === 'let' ? BARE_LET.exec(rest) : null;
      if (bare) {
        for (const m of bare[1].matchAll(/[A-Za-z_$][\w$]*/g)) {
          edits.push([end + m.index + m[0].length, 0, ' = undefined']);
        }
      }
    } else if (word === 'class') {
      const name = /^\s+([A-Za-z_$][\w$]*)/.exec(code.slice(end));
      if (name && name[1] !== 'extends') {
        edits.push([end - word.length, 0, `var ${name[1]} = `]);
        classState = 1;
      }
    }
  };

  while (i < n) {
    const c = code[i];
    if (LINE_BREAK.test(c)) {
      lineBreak = true;
      i++;
    } else if (SPACE.test(c)) {
      i++;
    } else if (c === '/' && code[i + 1] === '/') {
      while (i < n && !LINE_BREAK.test(code[i])) i++;
    } else if (c === '/' && code[i + 1] === '*') {
      const end = code.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      if (LINE_BREAK.test(code.slice(i, stop))) lineBreak = true;
      i = stop;
    } else if (c === '"' || c === "'") {
      i = skipString(i, c);
      token('value', c);
    } else if (c === '`') {
      i = template(i + 1);
    } else if (c === '/' && regexAllowed()) {
      i = skipRegex(i);
      token('value', '/');
    } else if (ID_START.test(c)) {
      let j = i + 1;
      while (j < n && ID_PART.test(code[j])) j++;
      const word = code.slice(i, j);
      if (stack.length === 0 && statementStart()) declaration(word, j);
      token('word', word);
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(code[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < n && /[\w.]/.test(code[j])) j++;
      token('value', c);
      i = j;
    } else if (c === '(' || c === '[' || c === '{') {
      if (c === '{' && classState === 1 && stack.length === 0) classState = 2;
      stack.push(c);
      token('punct', c);
      i++;
    } else if (c === ')' || c === ']' || c === '}') {
      const open = stack.pop();
      if (c === '}' && open === '${') {
        i = template(i + 1);
        continue;
      }
      i++;
      token('punct', c);
      if (c === '}' && classState === 2 && stack.length === 0) {
        // `var A = class A {…}` is an expression statement: end it, whatever follows.
        edits.push([i, 0, ';']);
        classState = 0;
      }
    } else if ((c === '+' || c === '-') && code[i + 1] === c) {
      // `++`/`--` end an operand: a `/` after them divides.
      token('value', c + c);
      i += 2;
    } else {
      token('punct', c);
      i++;
    }
  }

  if (edits.length === 0) return code;
  edits.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [position, removed, inserted] of edits) {
    out += code.slice(at, position) + inserted;
    at = position + removed;
  }
  return out + code.slice(at);
}

module.exports = { rewriteTopLevel };
