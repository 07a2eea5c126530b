// Offers `azure-sessions-lsp mcp` to agent mode through the MCP server definition provider API
// (`vscode.lm.registerMcpServerDefinitionProvider`, VS Code 1.100+). Older engines lack it: nothing is
// registered there and the extension works as before (a `.vscode/mcp.json` entry does the same).
import * as vscode from 'vscode';
import { mcpServerConfigs } from './definitions';

export const PROVIDER_ID = 'azureSessions.mcp';

/** The parts of the 1.101 API used here (the extension builds against older @types/vscode). */
interface McpApi {
  registerMcpServerDefinitionProvider(
    id: string,
    provider: {
      onDidChangeMcpServerDefinitions?: vscode.Event<void>;
      provideMcpServerDefinitions(token: vscode.CancellationToken): unknown[] | Thenable<unknown[]>;
    },
  ): vscode.Disposable;
}

type StdioDefinition = new (label: string, command: string, args?: string[], env?: Record<string, string | number | null>, version?: string) => {
  cwd?: vscode.Uri;
};

/** Registers the provider where the editor has the API; returns what to dispose (nothing elsewhere). */
export function registerMcpProvider(binary: () => Promise<string | undefined>, log: (message: string) => void): { dispose(): unknown }[] {
  const lm = (vscode as unknown as { lm?: Partial<McpApi> }).lm;
  const Definition = (vscode as unknown as { McpStdioServerDefinition?: StdioDefinition }).McpStdioServerDefinition;
  if (typeof lm?.registerMcpServerDefinitionProvider !== 'function' || Definition === undefined) {
    log('This VS Code has no MCP server definition API (1.101+): agents can use `azure-sessions-lsp mcp` from .vscode/mcp.json.');
    return [];
  }
  const changed = new vscode.EventEmitter<void>();
  const provider = {
    onDidChangeMcpServerDefinitions: changed.event,
    provideMcpServerDefinitions: async (): Promise<unknown[]> => {
      const path = await binary();
      if (path === undefined) {
        return [];
      }
      const folders = (vscode.workspace.workspaceFolders ?? [])
        .filter((f) => f.uri.scheme === 'file')
        .map((f) => ({ name: f.name, path: f.uri.fsPath }));
      return mcpServerConfigs(path, folders).map((config) => {
        const definition = new Definition(config.label, config.command, config.args, {}, '1');
        definition.cwd = vscode.Uri.file(config.cwd);
        return definition;
      });
    },
  };
  let registration: vscode.Disposable;
  try {
    registration = lm.registerMcpServerDefinitionProvider(PROVIDER_ID, provider);
  } catch (e) {
    // VS Code 1.100 wants the provider under `modelContextServerCollections`, 1.101+ under
    // `mcpServerDefinitionProviders` (package.json declares both); whatever a version wants
    // next, the extension itself must still activate.
    log(`Offering the MCP server to agents failed: ${e instanceof Error ? e.message : String(e)}`);
    changed.dispose();
    return [];
  }
  return [
    changed,
    registration,
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      changed.fire();
    }),
  ];
}
