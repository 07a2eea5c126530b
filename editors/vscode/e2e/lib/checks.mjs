// The checks of one e2e run: each prints one PASS/FAIL line; the summary is the last line.

const results = [];

/** Records a check and prints it; returns `ok`. */
export function check(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'PASS' : 'FAIL'} e2e: ${name}${detail ? ` — ${detail}` : ''}`);
  return ok;
}

/** True when a check failed, or none ran at all. */
export function anyFailed() {
  return results.some((r) => !r.ok) || results.length === 0;
}

export function summary() {
  const passed = results.filter((r) => r.ok).length;
  return `e2e: ${passed} passed, ${results.length - passed} failed`;
}
