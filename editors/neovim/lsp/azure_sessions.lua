---@brief
---
--- https://example.invalid/azure-sessions-lsp
---
--- `azure-sessions-lsp` runs the current selection, line, `# %%` cell or file in an
--- Azure Container Apps dynamic session (or, with `endpoint = "local"`, in a local
--- pool on this machine) and reports the result as diagnostics and a transcript.
---
--- Build or install the binary so that `azure-sessions-lsp` is on `$PATH`, then:
---
--- ```lua
--- vim.lsp.config('azure_sessions', {
---   settings = { azureSessions = { endpoint = 'https://<region>.dynamicsessions.io/subscriptions/.../sessionPools/<pool>' } },
--- })
--- vim.lsp.enable('azure_sessions')
--- ```
---
--- `endpoint = 'local'` runs code on this machine through the built-in local pool (no Azure needed).
---
--- Run code through code actions (`gra`: "Run selection in Azure session", ...), or the
--- buffer-local commands `:LspAzureSessionsRun`, `:LspAzureSessionsRunCell`,
--- `:LspAzureSessionsRunFile`, `:LspAzureSessionsOutput`, ... that the companion plugin
--- (this directory on the 'runtimepath') creates. See `:help azure-sessions`.

---@type vim.lsp.Config
return {
  cmd = { 'azure-sessions-lsp', 'serve' },
  filetypes = { 'python', 'javascript' },
  root_markers = { 'pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', 'package.json', '.git' },
  settings = {
    azureSessions = {
      -- "" = not configured (a run fails and says how to set it), "local" = the built-in
      -- local pool (runs code on this machine), or your session pool's https:// endpoint.
      -- Other keys (api, auth, sessionScope, diagnostics, cellMarker, ...): `:help azure-sessions-settings`.
      endpoint = '',
    },
  },
  -- endpointOrigin: with 'exrc' on and a .nvim.lua/.nvimrc/.exrc in the root, the endpoint may be
  -- the project's choice, so the server waits for your first run before contacting it.
  before_init = function(...)
    return require('azure_sessions.settings').before_init(...)
  end,
  handlers = {
    ['workspace/configuration'] = function(...)
      return require('azure_sessions.settings').on_configuration(...)
    end,
    ['azure-sessions/outputChanged'] = function(...)
      return require('azure_sessions').on_output_changed(...)
    end,
    ['azure-sessions/agentRun'] = function(...)
      return require('azure_sessions').on_agent_run(...)
    end,
    ['azure-sessions/status'] = function(...)
      return require('azure_sessions').on_status(...)
    end,
    ['window/showDocument'] = function(...)
      return require('azure_sessions').on_show_document(...)
    end,
    ['window/showMessage'] = function(...)
      return require('azure_sessions').on_show_message(...)
    end,
  },
  on_attach = function(client, bufnr)
    require('azure_sessions').attach(client, bufnr)
  end,
}
