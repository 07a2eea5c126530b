--- Neovim companion for azure-sessions-lsp: buffer-local commands, <Plug> mappings,
--- the transcript buffer (azure-sessions://...), diagnostics display and a statusline helper.
--- See `:help azure-sessions`.
---
--- This module is the public face; the work is done in:
---   core.lua        configuration, clients, messages, executing server commands, statusline
---   transcript.lua  transcript buffers
---   handlers.lua    the server's notifications and requests
---   run.lua         the run commands and what a finished run reports
---   session.lua     session and file commands
---   displays.lua    images, HTML, Markdown and JSON results
---   commands.lua    attach/detach (buffer-local commands), lspconfig registration
local core = require('azure_sessions.core')
local transcript = require('azure_sessions.transcript')
local handlers = require('azure_sessions.handlers')
local run = require('azure_sessions.run')
local session = require('azure_sessions.session')
local commands = require('azure_sessions.commands')
local displays = require('azure_sessions.displays')

local M = {}

--- Name of the configuration in `lsp/azure_sessions.lua` (`vim.lsp.enable('azure_sessions')`).
M.name = core.name
--- Scheme of the transcript documents the server serves.
M.scheme = core.scheme
M.output_filetype = core.output_filetype

M.config = core.config

--- Optional: change the defaults (see core.lua and `:help azure-sessions-config`). Settings for
--- the server itself go in `vim.lsp.config('azure_sessions', { settings = { azureSessions = {...} } })`.
---@param opts table?
function M.setup(opts)
  core.config = vim.tbl_deep_extend('force', vim.deepcopy(core.default_config), opts or {})
  M.config = core.config
end

M._state = core.state
M._report_error = core.report_error
M._exec = core.exec
M.is_ours = core.is_ours
M.get_client = core.get_client
M.status = core.status

M._find_output_buf = transcript.find_output_buf
M.load_output = transcript.load_output
M._bufreadcmd = transcript._bufreadcmd
M.show_output = transcript.show_output
M.output_uri = transcript.output_uri
M.open_output = transcript.open_output

M.on_output_changed = handlers.on_output_changed
M.on_status = handlers.on_status
M.on_agent_run = handlers.on_agent_run
M.on_show_document = handlers.on_show_document
M.on_show_message = handlers.on_show_message

M.summarize = run.summarize
M._exec_run_command = run._exec_run_command
M.run = run.run
M.run_lines = run.run_lines
M.run_line = run.run_line
M.run_selection = run.run_selection
M.run_cell = run.run_cell
M.run_file = run.run_file

M.reset_session = session.reset_session
M.session_info = session.session_info
M.mcp_config = session.mcp_config
M.upload = session.upload
M.download = session.download
M.list_files = session.list_files
M._complete_remote = session._complete_remote
M.variables = session.variables
M.export_notebook = session.export_notebook

M.open_display = displays.open
M.show_image = displays.show_image

M.attach = commands.attach
M.detach = commands.detach
M.commands = commands.commands
M.register_lspconfig = commands.register_lspconfig

return M
