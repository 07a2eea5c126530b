-- The README's lazy.nvim spec, with the test's local repository ($REPO_URL) for 'OWNER/azure-sessions-lsp'.
vim.opt.rtp:prepend(vim.env.LAZY_NVIM_DIR)
require('lazy').setup({
  spec = {
    {
      url = vim.env.REPO_URL,
      name = 'azure-sessions-lsp',
      lazy = false,
      build = function(plugin) vim.cmd.helptags(plugin.dir .. '/editors/neovim/doc') end,
      config = function(plugin)
        local dir = plugin.dir .. '/editors/neovim'
        vim.opt.rtp:append(dir)
        vim.cmd.source(dir .. '/plugin/azure_sessions.lua')
        vim.lsp.config('azure_sessions', { settings = { azureSessions = { endpoint = 'local' } } })
        vim.lsp.enable('azure_sessions')
      end,
    },
  },
  rocks = { enabled = false },
  install = { missing = true },
  change_detection = { enabled = false },
  checker = { enabled = false },
})
