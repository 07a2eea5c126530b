-- Run after startup by install-recipes.sh: open a Python file, wait for the server, check what the plugin brings.
local results = {}
local function check(name, ok) table.insert(results, (ok and 'PASS ' or 'FAIL ') .. name) end
vim.cmd.edit(vim.env.T .. '/work/test.py')
local attached = vim.wait(15000, function() return #vim.lsp.get_clients({ name = 'azure_sessions', bufnr = 0 }) > 0 end, 100)
check('azure_sessions client attached to test.py', attached)
check('plugin/azure_sessions.lua sourced (g:loaded_azure_sessions)', vim.g.loaded_azure_sessions == true)
vim.wait(3000, function() return vim.fn.exists(':LspAzureSessionsRunFile') == 2 end, 100)
check(':LspAzureSessionsRunFile defined on attach', vim.fn.exists(':LspAzureSessionsRunFile') == 2)
check('BufReadCmd for azure-sessions://* transcripts', #vim.api.nvim_get_autocmds({ event = 'BufReadCmd', pattern = 'azure-sessions://*' }) > 0)
check(':help azure-sessions', pcall(vim.cmd.help, 'azure-sessions'))
local passed, failed = 0, 0
for _, r in ipairs(results) do
  io.stdout:write(r .. '\n')
  if r:sub(1, 4) == 'PASS' then passed = passed + 1 else failed = failed + 1 end
end
io.stdout:write(('%d passed, %d failed\n'):format(passed, failed))
vim.cmd('qa!')
