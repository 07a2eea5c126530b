--- Attaching to buffers: the buffer-local :LspAzureSessions* commands, the diagnostics display,
--- handler fallbacks; and the registration with nvim-lspconfig's legacy setup.
local api = vim.api
local core = require('azure_sessions.core')
local displays = require('azure_sessions.displays')
local handlers = require('azure_sessions.handlers')
local run = require('azure_sessions.run')
local session = require('azure_sessions.session')
local transcript = require('azure_sessions.transcript')
local is_ours, state = core.is_ours, core.state

local M = {}

local handler_fallbacks = {
  -- For a client set up without lsp/azure_sessions.lua this comes after its first pull; the
  -- pulls after each settings change still carry endpointOrigin.
  ['workspace/configuration'] = function(...)
    return require('azure_sessions.settings').on_configuration(...)
  end,
  ['azure-sessions/outputChanged'] = function(...)
    return handlers.on_output_changed(...)
  end,
  ['azure-sessions/agentRun'] = function(...)
    return handlers.on_agent_run(...)
  end,
  ['azure-sessions/status'] = function(...)
    return handlers.on_status(...)
  end,
  ['window/showDocument'] = function(...)
    return handlers.on_show_document(...)
  end,
  ['window/showMessage'] = function(...)
    return handlers.on_show_message(...)
  end,
}

local configured_ns = {}

---@param client vim.lsp.Client
---@param bufnr integer
function M.attach(client, bufnr)
  if not is_ours(client) then
    return
  end
  -- Client-level setup, once per client.
  for method, fn in pairs(handler_fallbacks) do
    if client.handlers[method] == nil then
      client.handlers[method] = fn
    end
  end
  for _, name in ipairs({ 'azure-sessions.run', 'azure-sessions.runCell' }) do
    if client.commands[name] == nil then
      client.commands[name] = run._exec_run_command
    end
  end
  if core.config.diagnostics and not configured_ns[client.id] then
    configured_ns[client.id] = true
    vim.diagnostic.config(core.config.diagnostics, vim.lsp.diagnostic.get_namespace(client.id, false))
  end

  if vim.b[bufnr].azure_sessions_client == client.id then
    return
  end
  vim.b[bufnr].azure_sessions_client = client.id
  if core.config.inlay_hints and client:supports_method('textDocument/inlayHint', bufnr) then
    vim.lsp.inlay_hint.enable(true, { bufnr = bufnr })
  end

  local function cmd(name, fn, opts)
    opts.force = true
    api.nvim_buf_create_user_command(bufnr, name, fn, opts)
  end
  -- The run commands take `stdin=TEXT` or `stdin` (lua/azure_sessions/stdin.lua).
  local stdin = require('azure_sessions.stdin')
  cmd('LspAzureSessionsRun', function(o)
    stdin.command('lines', o, bufnr)
  end, stdin.command_opts({ range = true, desc = 'Run the lines in the range (default: the cursor line) in the Azure session' }))
  cmd('LspAzureSessionsRunCell', function(o)
    stdin.command('cell', o, bufnr)
  end, stdin.command_opts({ desc = 'Run the # %% cell under the cursor in the Azure session' }))
  cmd('LspAzureSessionsRunFile', function(o)
    stdin.command('file', o, bufnr)
  end, stdin.command_opts({ desc = 'Run the whole file in the Azure session' }))
  cmd('LspAzureSessionsResetSession', function()
    session.reset_session(bufnr)
  end, { desc = 'Start a new Azure session (the old one is deleted where possible)' })
  cmd('LspAzureSessionsInfo', function()
    session.session_info(bufnr)
  end, { desc = 'Show endpoint, identifier and run count of the Azure session' })
  cmd('LspAzureSessionsMcp', function()
    session.mcp_config(bufnr)
  end, { desc = 'Print the MCP server configuration (command, args, workspace) for agents on this folder' })
  cmd('LspAzureSessionsOutput', function(o)
    transcript.open_output({ bufnr = bufnr, focus = o.bang })
  end, { bang = true, desc = 'Open the session transcript in a split (! to move the cursor there)' })
  cmd('LspAzureSessionsUpload', function(o)
    session.upload(o.fargs[1], o.fargs[2], bufnr)
  end, { nargs = '+', complete = 'file', desc = 'Upload {path} [remoteName] to the Azure session' })
  cmd('LspAzureSessionsDownload', function(o)
    session.download(o.fargs[1], o.fargs[2], bufnr)
  end, {
    nargs = '+',
    complete = function(arglead, cmdline)
      local n = #vim.split(vim.trim(cmdline), '%s+')
      if n == 1 or (n == 2 and arglead ~= '') then
        return session._complete_remote(arglead)
      end
      return vim.fn.getcompletion(arglead, 'file')
    end,
    desc = 'Download {remoteName} [target] from the Azure session',
  })
  cmd('LspAzureSessionsFiles', function()
    session.list_files(bufnr)
  end, { desc = 'List the files in the Azure session' })
  cmd('LspAzureSessionsVariables', function()
    session.variables(bufnr)
  end, { desc = "Show the Azure session's variables in a float" })
  cmd('LspAzureSessionsExportNotebook', function(o)
    session.export_notebook(o.args, bufnr)
  end, { nargs = '?', complete = 'file', desc = "Export the Azure session's runs as a Jupyter notebook [path]" })
  cmd('LspAzureSessionsOpenDisplay', function(o)
    displays.open(bufnr, tonumber(o.args))
  end, {
    nargs = '?',
    desc = "Open the last run's images, HTML (in the browser), Markdown or JSON; [N]: only the N-th",
  })
end

local commands = {
  'LspAzureSessionsRun',
  'LspAzureSessionsRunCell',
  'LspAzureSessionsRunFile',
  'LspAzureSessionsResetSession',
  'LspAzureSessionsInfo',
  'LspAzureSessionsMcp',
  'LspAzureSessionsOutput',
  'LspAzureSessionsUpload',
  'LspAzureSessionsDownload',
  'LspAzureSessionsFiles',
  'LspAzureSessionsOpenDisplay',
  'LspAzureSessionsVariables',
  'LspAzureSessionsExportNotebook',
}
M.commands = commands

---@param client vim.lsp.Client
---@param bufnr integer
function M.detach(client, bufnr)
  if not is_ours(client) or vim.b[bufnr].azure_sessions_client ~= client.id then
    return
  end
  vim.b[bufnr].azure_sessions_client = nil
  state.running[bufnr] = nil
  for _, name in ipairs(commands) do
    pcall(api.nvim_buf_del_user_command, bufnr, name)
  end
end

--- For users of nvim-lspconfig's legacy `require('lspconfig').azure_sessions.setup{}`:
--- registers the configuration from lsp/azure_sessions.lua with lspconfig.
function M.register_lspconfig()
  local configs = require('lspconfig.configs')
  if configs.azure_sessions then
    return
  end
  local file = api.nvim_get_runtime_file('lsp/azure_sessions.lua', false)[1]
  local cfg = dofile(file)
  configs.azure_sessions = {
    default_config = {
      cmd = cfg.cmd,
      filetypes = cfg.filetypes,
      root_dir = function(fname)
        return vim.fs.root(fname, cfg.root_markers)
      end,
      settings = cfg.settings,
      before_init = cfg.before_init,
      handlers = cfg.handlers,
      on_attach = cfg.on_attach,
    },
    docs = { description = 'azure-sessions-lsp: run code in Azure Container Apps dynamic sessions' },
  }
end

return M
