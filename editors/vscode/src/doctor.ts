// The report of the server's azure-sessions.doctor command, rendered as a Markdown document
// (vscode-free, so that the unit tests can load it).

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  /** `local`, the endpoint, or "" when none is configured. */
  endpoint: string;
  /** No check failed (warnings allowed). */
  ok: boolean;
  checks: DoctorCheck[];
}

export function isDoctorReport(value: unknown): value is DoctorReport {
  if (!value || typeof value !== 'object') {
    return false;
  }
  const v = value as Record<string, unknown>;
  return typeof v.ok === 'boolean' && Array.isArray(v.checks);
}

const ICONS: Record<CheckStatus, string> = { ok: '✓', warn: '⚠', fail: '✗', skipped: '–' };
const LABELS: Record<CheckStatus, string> = { ok: 'ok', warn: 'warning', fail: 'failed', skipped: 'skipped' };

/** Text that reads as itself in Markdown: no emphasis, headings, HTML or links made by accident (code spans kept). */
function escapeMarkdown(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/([\\*_[\]<>#|])/g, '\\$1')))
    .join('');
}

/** A one-line summary: "✓ all checks passed (4 ok)" or "✗ 1 failed, 2 ok, 3 skipped". */
export function summary(report: DoctorReport): string {
  const count = (status: CheckStatus): number => report.checks.filter((c) => c.status === status).length;
  const parts = (['fail', 'warn', 'ok', 'skipped'] as CheckStatus[])
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${LABELS[s]}`);
  return report.ok ? `✓ all checks passed (${parts.join(', ')})` : `✗ ${parts.join(', ')}`;
}

/** The report as a Markdown document: a heading, the summary, then one item per check with its fix. */
export function renderReport(report: DoctorReport, when: Date = new Date()): string {
  const lines = [
    '# Azure Sessions: Diagnose Pool',
    '',
    `Pool: ${report.endpoint ? `\`${report.endpoint}\`` : '(none configured)'}  `,
    `Checked: ${when.toISOString()}  `,
    `Result: **${summary(report)}**`,
    '',
  ];
  for (const check of report.checks) {
    const icon = ICONS[check.status];
    const skipped = check.status === 'skipped' ? ' (skipped)' : '';
    lines.push(`- ${icon} **${escapeMarkdown(check.name)}**${skipped}: ${escapeMarkdown(check.detail)}`);
    if (check.fix) {
      lines.push(`  - Fix: ${escapeMarkdown(check.fix)}`);
    }
  }
  lines.push('', 'The same checks from a shell: `azure-sessions-lsp doctor --endpoint URL` (see `--help`).', '');
  return lines.join('\n');
}
