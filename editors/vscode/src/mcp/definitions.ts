// What the extension offers to agent mode (VS Code 1.101+): one `azure-sessions-lsp mcp` server per
// workspace folder. The MCP server reaches the language server this extension runs for that folder,
// so the agent's runs go into the session the user sees. No vscode import: unit-tested in test/.

export interface McpFolder {
  name: string;
  /** The folder's file-system path. */
  path: string;
}

export interface McpServerConfig {
  label: string;
  command: string;
  args: string[];
  cwd: string;
}

/** One definition per local folder; labels name the folder when there are several. */
export function mcpServerConfigs(binary: string, folders: readonly McpFolder[]): McpServerConfig[] {
  return folders.map((folder) => ({
    label: folders.length > 1 ? `Azure Sessions (${folder.name})` : 'Azure Sessions',
    command: binary,
    args: ['mcp', '--workspace', folder.path],
    cwd: folder.path,
  }));
}

/** The `.vscode/mcp.json` entry for a folder, for users who configure servers by hand. */
export function mcpJsonEntry(binary: string): { servers: Record<string, { type: 'stdio'; command: string; args: string[] }> } {
  return {
    servers: {
      azureSessions: { type: 'stdio', command: binary, args: ['mcp', '--workspace', '${workspaceFolder}'] },
    },
  };
}
