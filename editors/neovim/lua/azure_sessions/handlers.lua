--- Handlers of the server's notifications and requests (registered in lsp/azure_sessions.lua,
--- and as fallbacks on attach).
local core = require('azure_sessions.core')
local transcript = require('azure_sessions.transcript')
local state, notify, notify_once_recent, fire = core.state, core.notify, core.notify_once_recent, core.fire

local M = {}

--- `azure-sessions/outputChanged` {uri}
function M.on_output_changed(_, params, ctx)
  if type(params) ~= 'table' or type(params.uri) ~= 'string' then
    return
  end
  if ctx and ctx.client_id then
    state.last_output_uri[ctx.client_id] = params.uri
  end
  transcript.refresh_output(params.uri)
  fire('AzureSessionsOutputChanged', { uri = params.uri })
end

--- `azure-sessions/status` {uri, state, message}
function M.on_status(_, params, _)
  if type(params) ~= 'table' or type(params.uri) ~= 'string' then
    return
  end
  state.status[params.uri] = { state = params.state, message = params.message }
  fire('AzureSessionsStatus', params)
  core.redraw()
end

--- `azure-sessions/agentRun` {uri, label, outcome}: a run an agent made through
--- `azure-sessions-lsp mcp` in this session. One line says so (never a warning: the agent
--- handles its own failures), and its displays are remembered for :LspAzureSessionsOpenDisplay.
function M.on_agent_run(_, params, _)
  if type(params) ~= 'table' or type(params.outcome) ~= 'table' then
    return
  end
  local summary = require('azure_sessions.run').summarize(params.outcome)
  notify(('agent, %s: %s'):format(tostring(params.label or 'a run'), vim.split(summary, '\n')[1]), vim.log.levels.INFO)
  local bufnr = type(params.uri) == 'string' and vim.fn.bufnr(vim.uri_to_fname(params.uri)) or -1
  require('azure_sessions.displays').remember(bufnr > 0 and bufnr or nil, params.outcome)
  fire('AzureSessionsAgentRun', params)
end

--- `window/showDocument`: transcripts open in a split without stealing focus unless asked.
function M.on_show_document(err, params, ctx)
  if type(params) == 'table' and not params.external and type(params.uri) == 'string'
    and vim.startswith(params.uri, core.scheme)
  then
    if ctx and ctx.client_id then
      state.last_output_uri[ctx.client_id] = params.uri
    end
    local ok, e = pcall(transcript.show_output, params.uri, params.takeFocus == true)
    if ok then
      return { success = true }
    end
    return { success = false, error = { code = -32603, message = tostring(e) } }
  end
  return vim.lsp.handlers['window/showDocument'](err, params, ctx)
end

local message_levels = {
  [1] = vim.log.levels.ERROR,
  [2] = vim.log.levels.WARN,
  [3] = vim.log.levels.INFO,
  [4] = vim.log.levels.DEBUG,
}

--- `window/showMessage` through vim.notify, deduplicated against the error of the same run.
function M.on_show_message(_, params, _)
  if type(params) ~= 'table' then
    return
  end
  local level = message_levels[params.type] or vim.log.levels.INFO
  if level == vim.log.levels.ERROR then
    notify_once_recent(params.message, level)
  else
    notify(params.message, level)
  end
  return params
end

return M
