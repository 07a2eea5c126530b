// The status bar item: idle, running (with the elapsed time), waiting for the container, or the last run's result.
import * as vscode from 'vscode';
import type { RunOutcome, SessionState } from './protocol';
import { formatDuration, formatElapsed, truncate } from './util';

export class SessionStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private state: SessionState = 'idle';
  private waitingMessage = '';

  constructor(command: string) {
    this.item = vscode.window.createStatusBarItem('azureSessions.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Azure Sessions';
    this.item.command = command;
    this.setIdle();
    this.item.show();
  }

  get current(): SessionState {
    return this.state;
  }

  setIdle(message?: string): void {
    this.stopTimer();
    this.state = 'idle';
    this.item.text = '$(cloud) Azure session';
    this.item.tooltip = message ?? 'Azure Sessions: no run yet. Click to show the session transcript.';
    this.item.backgroundColor = undefined;
  }

  setStarting(): void {
    this.stopTimer();
    this.item.text = '$(loading~spin) Azure session';
    this.item.tooltip = 'Azure Sessions: starting the language server';
  }

  setServerMissing(message: string): void {
    this.stopTimer();
    this.state = 'error';
    this.item.text = '$(warning) Azure session';
    this.item.tooltip = message;
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
  }

  /** A run started (from the server's status notification or from one of our commands). */
  setRunning(): void {
    if (this.state !== 'running' && this.state !== 'waiting') {
      this.startedAt = Date.now();
    }
    this.state = 'running';
    this.item.backgroundColor = undefined;
    this.item.tooltip = 'Azure Sessions: running… Click to show the session transcript.';
    this.startTimer();
  }

  setWaiting(message?: string): void {
    if (this.state !== 'running' && this.state !== 'waiting') {
      this.startedAt = Date.now();
    }
    this.state = 'waiting';
    this.waitingMessage = message ?? '';
    this.item.backgroundColor = undefined;
    this.item.tooltip = `Azure Sessions: waiting for the session container${message ? ` (${message})` : ''}`;
    this.startTimer();
  }

  setOutcome(outcome: RunOutcome): void {
    this.stopTimer();
    // The pool's execution time when it reports one, else the time the run took as seen from here.
    const wall = Date.now() - this.startedAt;
    const reported = outcome.executionTimeMs;
    const elapsed = reported !== undefined && reported > 0 ? reported : wall;
    if (outcome.status === 'Succeeded') {
      this.state = 'succeeded';
      this.item.text = `$(check) Azure session ${formatDuration(elapsed)}`;
      this.item.tooltip =
        `Azure Sessions: the last run succeeded (execution ${formatDuration(elapsed)}, round trip ${formatDuration(wall)}). ` +
        'Click to show the session transcript.';
      this.item.backgroundColor = undefined;
    } else {
      this.state = 'failed';
      const type = outcome.error?.type ?? 'Failed';
      this.item.text = `$(error) ${truncate(type, 40)}`;
      const detail = outcome.error?.message ? `: ${outcome.error.message}` : '';
      const line = outcome.error?.line !== undefined ? ` (line ${outcome.error.line + 1})` : '';
      this.item.tooltip = `Azure Sessions: the last run failed${line}. ${type}${detail}`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    }
  }

  /** A state reported by the server's azure-sessions/status notification. */
  setServerState(state: SessionState, message: string | undefined): void {
    switch (state) {
      case 'running':
        this.setRunning();
        return;
      case 'waiting':
        this.setWaiting(message);
        return;
      case 'succeeded':
        this.setOutcome({ status: 'Succeeded', executionTimeMs: Date.now() - this.startedAt });
        if (message) {
          this.item.tooltip = `Azure Sessions: ${message}`;
        }
        return;
      case 'failed':
        this.setOutcome({ status: 'Failed', error: { type: message ? truncate(message, 40) : 'Failed' } });
        if (message) {
          this.item.tooltip = `Azure Sessions: ${message}`;
        }
        return;
      case 'error':
        this.setError(message ?? 'the run could not execute');
        return;
      case 'idle':
        if (this.state === 'running' || this.state === 'waiting') {
          this.setIdle(message);
        }
        return;
    }
  }

  /** The run could not execute at all (configuration, network, auth). */
  setError(message: string): void {
    this.stopTimer();
    this.state = 'error';
    this.item.text = '$(warning) Azure session';
    this.item.tooltip = `Azure Sessions: ${message}`;
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
  }

  private startTimer(): void {
    this.render();
    this.timer ??= setInterval(() => {
      this.render();
    }, 1000);
  }

  private render(): void {
    const elapsed = formatElapsed(Date.now() - this.startedAt);
    this.item.text =
      this.state === 'waiting'
        ? `$(watch) Azure session: waiting for container ${elapsed}`
        : `$(sync~spin) Azure session: running ${elapsed}`;
    if (this.state === 'waiting' && this.waitingMessage) {
      this.item.tooltip = `Azure Sessions: ${this.waitingMessage}`;
    }
  }

  private stopTimer(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  dispose(): void {
    this.stopTimer();
    this.item.dispose();
  }
}
