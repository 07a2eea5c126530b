-- azure-sessions-lsp companion plugin: transcript buffers, LspAttach commands, <Plug> mappings.
-- The language server configuration itself is lsp/azure_sessions.lua (vim.lsp.enable('azure_sessions')).
if vim.g.loaded_azure_sessions then
  return
end
vim.g.loaded_azure_sessions = true

if vim.fn.has('nvim-0.11') ~= 1 then
  vim.notify_once('azure-sessions: Neovim 0.11 or newer is required', vim.log.levels.WARN)
  return
end

local group = vim.api.nvim_create_augroup('azure_sessions', { clear = true })

-- Transcripts: azure-sessions://output/<identifier>, served by the `azure-sessions/output` request.
vim.api.nvim_create_autocmd('BufReadCmd', {
  group = group,
  pattern = 'azure-sessions://*',
  desc = 'azure-sessions: load a session transcript',
  callback = function(ev)
    require('azure_sessions')._bufreadcmd(ev)
  end,
})

vim.api.nvim_create_autocmd('LspAttach', {
  group = group,
  desc = 'azure-sessions: buffer-local :LspAzureSessions* commands',
  callback = function(ev)
    local client = vim.lsp.get_client_by_id(ev.data.client_id)
    local as = require('azure_sessions')
    if client and as.is_ours(client) then
      as.attach(client, ev.buf)
    end
  end,
})

vim.api.nvim_create_autocmd('LspDetach', {
  group = group,
  desc = 'azure-sessions: remove buffer-local commands',
  callback = function(ev)
    local client = vim.lsp.get_client_by_id(ev.data.client_id)
    if client then
      require('azure_sessions').detach(client, ev.buf)
    end
  end,
})

vim.api.nvim_create_autocmd('LspProgress', {
  group = group,
  desc = 'azure-sessions: redraw the statusline while a run is in progress',
  callback = function(ev)
    local client = vim.lsp.get_client_by_id(ev.data.client_id)
    if client and require('azure_sessions').is_ours(client) then
      vim.cmd.redrawstatus()
    end
  end,
})

-- Fallbacks for clients configured without lsp/azure_sessions.lua's handlers (client handlers win).
vim.lsp.handlers['azure-sessions/outputChanged'] = vim.lsp.handlers['azure-sessions/outputChanged']
  or function(...)
    return require('azure_sessions').on_output_changed(...)
  end
vim.lsp.handlers['azure-sessions/agentRun'] = vim.lsp.handlers['azure-sessions/agentRun']
  or function(...)
    return require('azure_sessions').on_agent_run(...)
  end
vim.lsp.handlers['azure-sessions/status'] = vim.lsp.handlers['azure-sessions/status']
  or function(...)
    return require('azure_sessions').on_status(...)
  end

-- <Plug> mappings (no default keys: see :help azure-sessions-mappings).
vim.keymap.set('n', '<Plug>(azure-sessions-run-line)', function()
  require('azure_sessions').run_line()
end, { desc = 'Run the cursor line in the Azure session' })
vim.keymap.set('x', '<Plug>(azure-sessions-run-selection)', function()
  require('azure_sessions').run_selection()
end, { desc = 'Run the selection in the Azure session' })
vim.keymap.set('n', '<Plug>(azure-sessions-run-cell)', function()
  require('azure_sessions').run_cell()
end, { desc = 'Run the # %% cell in the Azure session' })
vim.keymap.set('n', '<Plug>(azure-sessions-run-file)', function()
  require('azure_sessions').run_file()
end, { desc = 'Run the file in the Azure session' })
vim.keymap.set('n', '<Plug>(azure-sessions-output)', function()
  require('azure_sessions').open_output()
end, { desc = 'Open the Azure session transcript' })
