-- Minimal user config for the e2e test: install the plugin exactly as a user would
-- (runtimepath + vim.lsp.config + vim.lsp.enable). Driven by environment variables from run.sh.
local plugin_dir = assert(os.getenv('AZS_PLUGIN_DIR'), 'AZS_PLUGIN_DIR not set')
vim.opt.rtp:append(plugin_dir)

local endpoint = os.getenv('AZS_ENDPOINT')
if endpoint == nil then
  endpoint = 'local'
end

-- Project-local config on, as a user of .nvim.lua files has it (the exrc phases).
vim.o.exrc = os.getenv('AZS_EXRC') == '1'

-- AZS_FILETYPES (comma-separated) and AZS_API: the languages phase's custom-container pool.
local filetypes = os.getenv('AZS_FILETYPES')

vim.lsp.config('azure_sessions', {
  cmd = { assert(os.getenv('AZS_BIN'), 'AZS_BIN not set'), 'serve' },
  filetypes = filetypes and vim.split(filetypes, ',', { trimempty = true }) or nil,
  settings = {
    azureSessions = {
      endpoint = endpoint,
      api = os.getenv('AZS_API'),
      auth = os.getenv('AZS_AUTH'),
      timeoutSeconds = 30,
      coldStartTimeoutSeconds = 10,
    },
  },
})
vim.lsp.enable('azure_sessions')

vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'F'
