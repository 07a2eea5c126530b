--- Shared state of the azure-sessions companion: configuration, the clients, messages, and the
--- helper that executes server commands. The other modules build on this one.
local api = vim.api

local M = {}

--- Name of the configuration in `lsp/azure_sessions.lua` (`vim.lsp.enable('azure_sessions')`).
M.name = 'azure_sessions'
--- Scheme of the transcript documents the server serves.
M.scheme = 'azure-sessions://'
M.output_filetype = 'azuresessionsoutput'

local default_config = {
  output = {
    -- Where `:LspAzureSessionsOutput` (and `window/showDocument`) opens the transcript.
    split = 'below', -- 'below' | 'above' | 'right' | 'left'
    height = 12, -- rows (or columns for 'left'/'right')
    -- Open the transcript (without taking focus) after every run started from Neovim.
    open_on_run = false,
  },
  -- vim.diagnostic.config() options applied to this server's diagnostics namespace only,
  -- false to leave diagnostics display alone.
  diagnostics = { virtual_lines = { current_line = true } },
  -- Show a short vim.notify() message with the status of every run.
  notify = true,
  -- Rich results of runs (images, HTML, Markdown, JSON; see :LspAzureSessionsOpenDisplay).
  displays = {
    -- The first image of a run: 'auto' shows it in a float through snacks.nvim (Snacks.image) or
    -- image.nvim when one is installed, else opens it with vim.ui.open(); 'snacks', 'image.nvim'
    -- or 'open' choose; false only names it in the run's message.
    images = 'auto',
  },
  -- Turn on inlay hints in the buffers this server attaches to: the value of a run's last line
  -- (`→ 42`) or its error at the end of that line. Inlay hints of other servers show there too.
  inlay_hints = true,
}

M.default_config = default_config
M.config = vim.deepcopy(default_config)

local state = {
  status = {}, ---@type table<string, {state: string, message: string?}> by document URI
  running = {}, ---@type table<integer, integer> runs in flight by buffer
  last_output_uri = {}, ---@type table<integer, string> by client id
  shown = {}, ---@type table<string, integer> error messages already shown (uv.now())
}
M.state = state

local DEDUPE_MS = 10000

local function notify(msg, level)
  msg = tostring(msg):gsub('^[Aa]zure[ %-_][Ss]essions:%s*', '')
  vim.notify('azure-sessions: ' .. msg, level or vim.log.levels.INFO, { title = 'azure-sessions' })
end

--- Show a message once even if it arrives twice (as a JSON-RPC error and as window/showMessage).
--- The server may prefix the showMessage copy (e.g. "Azure Sessions: <error message>"), so a
--- message counts as shown when it contains, or is contained in, one shown in the last seconds.
local function notify_once_recent(msg, level)
  msg = tostring(msg)
  local now = vim.uv.now()
  for seen, t in pairs(state.shown) do
    if now - t >= DEDUPE_MS then
      state.shown[seen] = nil
    elseif seen:find(msg, 1, true) or msg:find(seen, 1, true) then
      return
    end
  end
  state.shown[msg] = now
  notify(msg, level)
end

local function report_error(err)
  local msg = type(err) == 'table' and (err.message or vim.inspect(err)) or tostring(err)
  notify_once_recent(msg, vim.log.levels.ERROR)
end
M.notify = notify
M.notify_once_recent = notify_once_recent
M.report_error = report_error

---@param client vim.lsp.Client?
local function is_ours(client)
  if not client then
    return false
  end
  if client.name == M.name then
    return true
  end
  local info = client.server_info
  return type(info) == 'table' and info.name == 'azure-sessions-lsp'
end
M.is_ours = is_ours

--- The azure_sessions client attached to a buffer.
---@param bufnr integer?
---@return vim.lsp.Client?
function M.get_client(bufnr)
  bufnr = vim._resolve_bufnr(bufnr)
  for _, c in ipairs(vim.lsp.get_clients({ bufnr = bufnr })) do
    if is_ours(c) then
      return c
    end
  end
end

--- All running azure_sessions clients; the one that last reported `uri` first.
---@param uri string?
---@return vim.lsp.Client[]
function M.all_clients(uri)
  local list = {}
  for _, c in ipairs(vim.lsp.get_clients()) do
    if is_ours(c) then
      if uri and state.last_output_uri[c.id] == uri then
        table.insert(list, 1, c)
      else
        table.insert(list, c)
      end
    end
  end
  return list
end

local function need_client(bufnr)
  local client = M.get_client(bufnr)
  if not client then
    notify(
      'no azure_sessions language server is attached to this buffer (see :checkhealth azure_sessions)',
      vim.log.levels.WARN
    )
  end
  return client
end

local function redraw()
  pcall(vim.cmd.redrawstatus, { bang = true })
end

local function fire(pattern, data)
  api.nvim_exec_autocmds('User', { pattern = pattern, modeline = false, data = data })
end

M.need_client = need_client
M.redraw = redraw
M.fire = fire

--- Execute a server command with one JSON object argument.
---@param client vim.lsp.Client
---@param bufnr integer
---@param command string
---@param args table
---@param cb fun(err: lsp.ResponseError?, result: any)?
local function exec(client, bufnr, command, args, cb)
  client:exec_cmd({ title = command, command = command, arguments = { args } }, {
    bufnr = bufnr,
    azure_sessions_cb = cb, -- used by the run commands (see _exec_run_command)
  }, function(err, result)
    if err then
      report_error(err)
    end
    if cb then
      cb(err, result)
    end
  end)
end
M.exec = exec

-- ---------------------------------------------------------------------------
-- Statusline
-- ---------------------------------------------------------------------------

--- A short status for the statusline: '' when no azure_sessions client is attached,
--- else e.g. 'Azure: running', 'Azure: succeeded', 'Azure: idle'.
---@param bufnr integer?
---@return string
function M.status(bufnr)
  bufnr = vim._resolve_bufnr(bufnr)
  if not M.get_client(bufnr) then
    return ''
  end
  local st = state.status[vim.uri_from_bufnr(bufnr)]
  if (state.running[bufnr] or 0) > 0 then
    if st and (st.state == 'waiting' or st.state == 'running') then
      return 'Azure: ' .. st.state
    end
    return 'Azure: running'
  end
  if st and st.state then
    return 'Azure: ' .. st.state
  end
  return 'Azure: idle'
end

--- A float near the cursor for a scratch buffer; closed when the cursor moves or on `q`.
---@param lines string[]? nil: an empty buffer (for an image)
---@param opts {filetype: string?, enter: boolean?, title: string?, width: integer?, height: integer?}?
---@return integer buf, integer win
function M.float(lines, opts)
  opts = opts or {}
  local buf = api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  if lines then
    api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    vim.bo[buf].modifiable = false
  end
  if opts.filetype then
    vim.bo[buf].filetype = opts.filetype
  end
  local width = opts.width or 60
  if lines then
    width = 20
    for _, l in ipairs(lines) do
      width = math.max(width, vim.fn.strdisplaywidth(l))
    end
  end
  width = math.min(width, math.max(20, vim.o.columns - 4))
  local height = math.min(opts.height or (lines and #lines or 20), math.max(3, vim.o.lines - 4))
  local win = api.nvim_open_win(buf, opts.enter == true, {
    relative = 'cursor',
    row = 1,
    col = 0,
    width = width,
    height = math.max(1, height),
    style = 'minimal',
    border = 'rounded',
    title = opts.title,
    title_pos = opts.title and 'center' or nil,
  })
  vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = buf, nowait = true })
  if not opts.enter then
    local origin = api.nvim_get_current_buf()
    api.nvim_create_autocmd({ 'CursorMoved', 'BufLeave', 'InsertEnter' }, {
      buffer = origin,
      once = true,
      callback = function()
        pcall(api.nvim_win_close, win, true)
      end,
    })
  end
  return buf, win
end

return M
