// The custom parts of the azure-sessions-lsp protocol (see docs/protocol.md at the repository root).
import { NotificationType, RequestType } from 'vscode-languageclient/node';

export const SERVER_COMMANDS = {
  run: 'azure-sessions.run',
  runCell: 'azure-sessions.runCell',
  resetSession: 'azure-sessions.resetSession',
  sessionInfo: 'azure-sessions.sessionInfo',
  uploadFile: 'azure-sessions.uploadFile',
  listFiles: 'azure-sessions.listFiles',
  downloadFile: 'azure-sessions.downloadFile',
  /** Extension: the pool doctor's report for a document's (or the first folder's) settings. */
  doctor: 'azure-sessions.doctor',
  variables: 'azure-sessions.variables',
  exportNotebook: 'azure-sessions.exportNotebook',
} as const;

export const OUTPUT_SCHEME = 'azure-sessions';

export interface RunError {
  type?: string;
  message?: string;
  line?: number;
}

/** A rich result of a run: an image saved to a private file (`uri`), or HTML, Markdown, JSON, SVG inline (`text`). */
export interface Display {
  mimeType: string;
  uri?: string;
  text?: string;
}

export interface RunOutcome {
  /** "Succeeded" or "Failed". */
  status: string;
  stdout?: string;
  stderr?: string;
  result?: unknown;
  executionTimeMs?: number;
  error?: RunError;
  outputUri?: string;
  displays?: Display[];
}

export interface SessionInfo {
  endpoint?: string;
  api?: string;
  scope?: string;
  identifier?: string;
  runs?: number;
  lastRunAt?: string | null;
  outputUri?: string;
}

export interface RemoteFile {
  name: string;
  size?: number;
  lastModified?: string;
}

export interface OutputParams {
  uri: string;
}
export interface OutputResult {
  text: string;
}
export const OutputRequest = new RequestType<OutputParams, OutputResult, void>('azure-sessions/output');
export const OutputChangedNotification = new NotificationType<OutputParams>('azure-sessions/outputChanged');

/** A run an agent asked for through `azure-sessions-lsp mcp`, in the session the editor uses. */
export interface AgentRunParams {
  uri: string;
  label: string;
  outcome: unknown;
}
export const AgentRunNotification = new NotificationType<AgentRunParams>('azure-sessions/agentRun');

export type SessionState = 'running' | 'waiting' | 'succeeded' | 'failed' | 'error' | 'idle';
export interface StatusParams {
  uri?: string;
  state: SessionState;
  message?: string;
}
export const StatusNotification = new NotificationType<StatusParams>('azure-sessions/status');

export interface AccessTokenParams {
  scopes: string[];
}
export interface AccessTokenResult {
  token: string;
  expiresOn: number;
}
export const GetAccessTokenRequest = new RequestType<AccessTokenParams, AccessTokenResult, void>(
  'azure-sessions/getAccessToken',
);

export function isRunOutcome(value: unknown): value is RunOutcome {
  return !!value && typeof value === 'object' && 'status' in value && typeof value.status === 'string';
}
