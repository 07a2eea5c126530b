--- Neovim companion for azure-sessions-lsp: buffer-local commands, <Plug> mappings,
--- the transcript buffer (azure-sessions://...), diagnostics display and a statusline helper.
--- See `:help azure-sessions`.
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
}

M.config = vim.deepcopy(default_config)

--- Optional: change the defaults above. Settings for the server itself go in
--- `vim.lsp.config('azure_sessions', { settings = { azureSessions = {...} } })`.
---@param opts table?
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(default_config), opts or {})
end

local state = {
  status = {}, ---@type table<string, {state: string, message: string?}> by document URI
  running = {}, ---@type table<integer, integer> runs in flight by buffer
  last_output_uri = {}, ---@type table<integer, string> by client id
  shown = {}, ---@type table<string, integer> error messages already shown (uv.now())
}
M._state = state

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
M._report_error = report_error

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
local function all_clients(uri)
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

-- ---------------------------------------------------------------------------
-- Transcript buffers (azure-sessions://...)
-- ---------------------------------------------------------------------------

---@param uri string
---@return integer?
local function find_output_buf(uri)
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_get_name(b) == uri then
      return b
    end
  end
end
M._find_output_buf = find_output_buf

local function scroll_to_end(bufnr)
  local last = api.nvim_buf_line_count(bufnr)
  for _, win in ipairs(vim.fn.win_findbuf(bufnr)) do
    pcall(api.nvim_win_set_cursor, win, { last, 0 })
  end
end

local function set_output_lines(bufnr, text)
  if not api.nvim_buf_is_valid(bufnr) then
    return
  end
  local lines = vim.split(text or '', '\n', { plain = true })
  if #lines > 1 and lines[#lines] == '' then
    table.remove(lines)
  end
  for i, l in ipairs(lines) do
    lines[i] = l:gsub('\r$', '')
  end
  vim.bo[bufnr].readonly = false
  vim.bo[bufnr].modifiable = true
  api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].readonly = true
  vim.bo[bufnr].modified = false
  scroll_to_end(bufnr)
end

local function prepare_output_buf(bufnr)
  local bo = vim.bo[bufnr]
  bo.buftype = 'nofile'
  bo.bufhidden = 'hide'
  bo.swapfile = false
  bo.undolevels = -1
  if bo.filetype ~= M.output_filetype then
    bo.filetype = M.output_filetype
  end
end

--- Fetch the transcript at `uri` with `azure-sessions/output` and put it in `bufnr`.
---@param bufnr integer
---@param uri string
---@param cb fun(err: any, text: string?)?
function M.load_output(bufnr, uri, cb)
  prepare_output_buf(bufnr)
  local clients = all_clients(uri)
  if #clients == 0 then
    local msg = 'No azure_sessions language server is running: open a Python or JavaScript file first.'
    set_output_lines(bufnr, msg)
    if cb then
      cb(msg)
    end
    return
  end
  local i = 0
  local last_err
  local function try_next()
    i = i + 1
    local client = clients[i]
    if not client then
      set_output_lines(
        bufnr,
        'Could not load ' .. uri .. ': ' .. (type(last_err) == 'table' and last_err.message or tostring(last_err))
      )
      if cb then
        cb(last_err)
      end
      return
    end
    client:request('azure-sessions/output', { uri = uri }, function(err, result)
      if err or type(result) ~= 'table' then
        last_err = err or 'no result'
        return try_next()
      end
      if not api.nvim_buf_is_valid(bufnr) then
        return
      end
      set_output_lines(bufnr, result.text or '')
      vim.b[bufnr].azure_sessions_client_id = client.id
      fire('AzureSessionsOutputLoaded', { buf = bufnr, uri = uri })
      if cb then
        cb(nil, result.text or '')
      end
    end)
  end
  if api.nvim_buf_line_count(bufnr) <= 1 and api.nvim_buf_get_lines(bufnr, 0, 1, false)[1] == '' then
    set_output_lines(bufnr, 'Loading ' .. uri .. ' …')
  end
  try_next()
end

--- BufReadCmd for azure-sessions://*
function M._bufreadcmd(ev)
  local uri = api.nvim_buf_get_name(ev.buf)
  M.load_output(ev.buf, uri)
end

--- Open (or reveal) the transcript `uri` in a split.
---@param uri string
---@param focus boolean? take focus (default false)
---@return integer bufnr
function M.show_output(uri, focus)
  local bufnr = find_output_buf(uri) or vim.fn.bufadd(uri)
  vim.bo[bufnr].buflisted = true
  local win = vim.fn.win_findbuf(bufnr)[1]
  if not win then
    local split = M.config.output.split or 'below'
    local size_key = (split == 'left' or split == 'right') and 'width' or 'height'
    local cfg = { split = split, win = -1 }
    cfg[size_key] = M.config.output.height
    -- Entering the window loads the buffer (BufReadCmd) like :edit would.
    local prev = api.nvim_get_current_win()
    win = api.nvim_open_win(bufnr, true, cfg)
    if not api.nvim_buf_is_loaded(bufnr) or vim.bo[bufnr].filetype ~= M.output_filetype then
      -- Not loaded through BufReadCmd (e.g. autocmds disabled): load it ourselves.
      M.load_output(bufnr, uri)
    end
    vim.wo[win].wrap = true
    vim.wo[win].number = false
    vim.wo[win].relativenumber = false
    vim.wo[win].spell = false
    vim.wo[win].winfixheight = true
    if not focus and api.nvim_win_is_valid(prev) then
      api.nvim_set_current_win(prev)
    end
  else
    if focus then
      api.nvim_set_current_win(win)
    end
    M.load_output(bufnr, uri)
  end
  scroll_to_end(bufnr)
  return bufnr
end

--- The transcript URI for the session of `bufnr`: from the last run, or from sessionInfo.
---@param bufnr integer?
---@param cb fun(uri: string?)
function M.output_uri(bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = M.get_client(bufnr)
  if not client then
    -- From the transcript buffer itself, or any other buffer: use any running client.
    if vim.bo[bufnr].filetype == M.output_filetype then
      return cb(api.nvim_buf_get_name(bufnr))
    end
    client = all_clients()[1]
  end
  if not client then
    notify('no azure_sessions language server is running', vim.log.levels.WARN)
    return cb(nil)
  end
  local args = {}
  if M.get_client(bufnr) then
    args.uri = vim.uri_from_bufnr(bufnr)
  end
  client:exec_cmd(
    { title = 'Session info', command = 'azure-sessions.sessionInfo', arguments = { args } },
    { bufnr = bufnr },
    function(err, result)
      local uri = type(result) == 'table' and type(result.outputUri) == 'string' and result.outputUri
        or state.last_output_uri[client.id]
      if not uri and err then
        report_error(err)
      elseif not uri then
        notify('no transcript yet: run some code first', vim.log.levels.WARN)
      end
      cb(uri or nil)
    end
  )
end

--- `:LspAzureSessionsOutput[!]`
---@param opts {bufnr: integer?, focus: boolean?}?
function M.open_output(opts)
  opts = opts or {}
  M.output_uri(opts.bufnr, function(uri)
    if uri then
      M.show_output(uri, opts.focus)
    end
  end)
end

local function refresh_output(uri)
  local bufnr = find_output_buf(uri)
  if bufnr and api.nvim_buf_is_loaded(bufnr) then
    M.load_output(bufnr, uri)
  end
end

-- ---------------------------------------------------------------------------
-- Handlers (registered in lsp/azure_sessions.lua, and as fallbacks on attach)
-- ---------------------------------------------------------------------------

--- `azure-sessions/outputChanged` {uri}
function M.on_output_changed(_, params, ctx)
  if type(params) ~= 'table' or type(params.uri) ~= 'string' then
    return
  end
  if ctx and ctx.client_id then
    state.last_output_uri[ctx.client_id] = params.uri
  end
  refresh_output(params.uri)
  fire('AzureSessionsOutputChanged', { uri = params.uri })
end

--- `azure-sessions/status` {uri, state, message}
function M.on_status(_, params, _)
  if type(params) ~= 'table' or type(params.uri) ~= 'string' then
    return
  end
  state.status[params.uri] = { state = params.state, message = params.message }
  fire('AzureSessionsStatus', params)
  redraw()
end

--- `window/showDocument`: transcripts open in a split without stealing focus unless asked.
function M.on_show_document(err, params, ctx)
  if type(params) == 'table' and not params.external and type(params.uri) == 'string'
    and vim.startswith(params.uri, M.scheme)
  then
    if ctx and ctx.client_id then
      state.last_output_uri[ctx.client_id] = params.uri
    end
    local ok, e = pcall(M.show_output, params.uri, params.takeFocus == true)
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

-- ---------------------------------------------------------------------------
-- Runs
-- ---------------------------------------------------------------------------

local function fmt_ms(ms)
  if type(ms) ~= 'number' then
    return '?'
  end
  if ms < 1000 then
    return ('%d ms'):format(ms)
  end
  return ('%.2f s'):format(ms / 1000)
end

local function shorten(text, max_lines, max_chars)
  text = (text or ''):gsub('%s+$', '')
  if text == '' then
    return nil
  end
  local lines = vim.split(text, '\n', { plain = true })
  local more = #lines > max_lines
  text = table.concat(vim.list_slice(lines, 1, max_lines), '\n')
  if #text > max_chars then
    text = text:sub(1, max_chars)
    more = true
  end
  return more and (text .. ' …') or text
end

--- Turn a RunOutcome into a short message.
---@param outcome table
---@return string, integer
function M.summarize(outcome)
  local time = fmt_ms(outcome.executionTimeMs)
  if outcome.status == 'Succeeded' then
    local parts = { ('Succeeded in %s'):format(time) }
    local out = shorten(outcome.stdout, 5, 400)
    if out then
      parts[#parts + 1] = out
    end
    if outcome.result ~= nil and outcome.result ~= vim.NIL then
      local r = type(outcome.result) == 'string' and outcome.result or vim.json.encode(outcome.result)
      parts[#parts + 1] = '=> ' .. (shorten(r, 3, 200) or '')
    end
    return table.concat(parts, '\n'), vim.log.levels.INFO
  end
  local e = type(outcome.error) == 'table' and outcome.error or {}
  local what = table.concat(
    vim.tbl_filter(function(s)
      return s ~= nil and s ~= ''
    end, { e.type, e.message }),
    ': '
  )
  local msg = ('%s in %s'):format(outcome.status or 'Failed', time)
  if what ~= '' then
    msg = msg .. ': ' .. what
  end
  if type(e.line) == 'number' then
    msg = msg .. (' (line %d)'):format(e.line + 1)
  end
  return msg, vim.log.levels.WARN
end

local function on_run_result(client, bufnr, err, result)
  if err then
    report_error(err)
    fire('AzureSessionsRunDone', { buf = bufnr, err = err })
    return
  end
  if type(result) ~= 'table' then
    fire('AzureSessionsRunDone', { buf = bufnr, err = { message = 'unexpected result: ' .. vim.inspect(result) } })
    return
  end
  if type(result.outputUri) == 'string' then
    state.last_output_uri[client.id] = result.outputUri
    refresh_output(result.outputUri)
    if M.config.output.open_on_run and not find_output_buf(result.outputUri) then
      M.show_output(result.outputUri, false)
    elseif M.config.output.open_on_run then
      local b = find_output_buf(result.outputUri)
      if b and #vim.fn.win_findbuf(b) == 0 then
        M.show_output(result.outputUri, false)
      end
    end
  end
  if M.config.notify then
    local msg, level = M.summarize(result)
    notify(msg, level)
  end
  fire('AzureSessionsRunDone', { buf = bufnr, outcome = result })
end

--- Client-side handler for `azure-sessions.run` / `azure-sessions.runCell` commands, so that runs
--- started from code actions, code lenses and the :LspAzureSessions* commands all report the same way.
--- Installed in `client.commands` on attach; it sends the command to the server.
function M._exec_run_command(command, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if not client then
    return
  end
  local bufnr = ctx.bufnr
  local cb = ctx.azure_sessions_cb
  state.running[bufnr] = (state.running[bufnr] or 0) + 1
  redraw()
  client:request('workspace/executeCommand', {
    command = command.command,
    arguments = command.arguments,
  }, function(err, result)
    state.running[bufnr] = math.max(0, (state.running[bufnr] or 1) - 1)
    redraw()
    on_run_result(client, bufnr, err, result)
    if cb then
      cb(err, result)
    end
  end, bufnr)
end

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
M._exec = exec

---@class azure_sessions.RunOpts
---@field bufnr integer?
---@field range lsp.Range? nil: whole document
---@field stdin string?

--- Run a range of a buffer (nil range: the whole document).
---@param opts azure_sessions.RunOpts?
---@param cb fun(err: lsp.ResponseError?, outcome: table?)?
function M.run(opts, cb)
  opts = opts or {}
  local bufnr = vim._resolve_bufnr(opts.bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  local args = { uri = vim.uri_from_bufnr(bufnr), range = opts.range, stdin = opts.stdin }
  exec(client, bufnr, 'azure-sessions.run', args, cb)
end

local function line_text(bufnr, row0)
  return api.nvim_buf_get_lines(bufnr, row0, row0 + 1, false)[1] or ''
end

--- Byte column (0-based) → column in the client's position encoding.
local function char_col(client, bufnr, row0, byte_col)
  local line = line_text(bufnr, row0)
  byte_col = math.max(0, math.min(byte_col, #line))
  if byte_col == 0 then
    return 0
  end
  return vim.str_utfindex(line, client.offset_encoding or 'utf-16', byte_col, false)
end

--- Range covering whole lines l1..l2 (1-based, inclusive).
local function lines_range(client, bufnr, l1, l2)
  if l1 > l2 then
    l1, l2 = l2, l1
  end
  local last = line_text(bufnr, l2 - 1)
  return {
    start = { line = l1 - 1, character = 0 },
    ['end'] = { line = l2 - 1, character = char_col(client, bufnr, l2 - 1, #last) },
  }
end

--- Run whole lines l1..l2 (1-based, inclusive).
function M.run_lines(l1, l2, bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  M.run({ bufnr = bufnr, range = lines_range(client, bufnr, l1, l2) }, cb)
end

--- Run the cursor line.
function M.run_line(bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local row = bufnr == api.nvim_get_current_buf() and api.nvim_win_get_cursor(0)[1] or 1
  M.run_lines(row, row, bufnr, cb)
end

--- Run the visual selection: charwise selections run exactly the selected text,
--- linewise and blockwise ones the whole lines. Call from a visual-mode mapping.
function M.run_selection(cb)
  local bufnr = api.nvim_get_current_buf()
  local client = need_client(bufnr)
  local mode = vim.fn.mode()
  local s, e
  if mode == 'v' or mode == 'V' or mode == '\22' then
    s, e = vim.fn.getpos('v'), vim.fn.getpos('.')
    api.nvim_feedkeys(vim.keycode('<Esc>'), 'nx', false)
  else
    -- Called after visual mode ended (e.g. from :<C-u>): use the marks.
    s, e = vim.fn.getpos("'<"), vim.fn.getpos("'>")
    mode = vim.fn.visualmode()
  end
  if not client then
    return
  end
  local srow, scol, erow, ecol = s[2], s[3], e[2], e[3]
  if srow > erow or (srow == erow and scol > ecol) then
    srow, scol, erow, ecol = erow, ecol, srow, scol
  end
  if mode ~= 'v' then
    return M.run_lines(srow, erow, bufnr, cb)
  end
  -- charwise: columns are 1-based byte indexes, the end is inclusive.
  local eline = line_text(bufnr, erow - 1)
  local end_byte -- 0-based, exclusive
  if ecol > #eline then
    end_byte = #eline
  elseif vim.o.selection == 'exclusive' then
    end_byte = ecol - 1
  else
    end_byte = ecol + vim.str_utf_end(eline, ecol) -- last byte of the last char, 1-based == exclusive 0-based
  end
  local range = {
    start = { line = srow - 1, character = char_col(client, bufnr, srow - 1, scol - 1) },
    ['end'] = { line = erow - 1, character = char_col(client, bufnr, erow - 1, end_byte) },
  }
  M.run({ bufnr = bufnr, range = range }, cb)
end

--- Run the `# %%` cell that holds the cursor.
function M.run_cell(bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  local row, col = 1, 0
  if bufnr == api.nvim_get_current_buf() then
    row, col = unpack(api.nvim_win_get_cursor(0))
  end
  local args = {
    uri = vim.uri_from_bufnr(bufnr),
    position = { line = row - 1, character = char_col(client, bufnr, row - 1, col) },
  }
  exec(client, bufnr, 'azure-sessions.runCell', args, cb)
end

--- Run the whole buffer.
function M.run_file(bufnr, cb)
  M.run({ bufnr = bufnr }, cb)
end

-- ---------------------------------------------------------------------------
-- Session and file commands
-- ---------------------------------------------------------------------------

function M.reset_session(bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  exec(client, bufnr, 'azure-sessions.resetSession', { uri = vim.uri_from_bufnr(bufnr) }, function(err, result)
    if not err then
      notify('session reset: the next run starts a new session')
    end
    if cb then
      cb(err, result)
    end
  end)
end

function M.session_info(bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  exec(client, bufnr, 'azure-sessions.sessionInfo', { uri = vim.uri_from_bufnr(bufnr) }, function(err, result)
    if not err and type(result) == 'table' and not cb then
      local lines = { 'session' }
      for _, k in ipairs({ 'endpoint', 'api', 'scope', 'identifier', 'runs', 'lastRunAt', 'outputUri' }) do
        local v = result[k]
        if v ~= nil and v ~= vim.NIL then
          lines[#lines + 1] = ('  %-10s %s'):format(k, type(v) == 'table' and vim.json.encode(v) or tostring(v))
        end
      end
      notify(table.concat(lines, '\n'))
    end
    if cb then
      cb(err, result)
    end
  end)
end

local function file_uri(path)
  return vim.uri_from_fname(vim.fn.fnamemodify(vim.fn.expand(path), ':p'))
end

function M.upload(path, remote_name, bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  local full = vim.fn.fnamemodify(vim.fn.expand(path), ':p')
  if vim.fn.filereadable(full) ~= 1 then
    notify('no such file: ' .. full, vim.log.levels.ERROR)
    return
  end
  -- The session is the one of the buffer the user is in, never the uploaded file's own.
  local args = { uri = file_uri(full), remoteName = remote_name, documentUri = vim.uri_from_bufnr(bufnr) }
  exec(client, bufnr, 'azure-sessions.uploadFile', args, function(err, result)
    if not err and type(result) == 'table' then
      notify(('uploaded %s (%s bytes)'):format(tostring(result.name), tostring(result.size)))
    end
    if cb then
      cb(err, result)
    end
  end)
end

function M.download(remote_name, target, bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  if not target or target == '' then
    local base = client.root_dir or vim.fn.getcwd()
    target = vim.fs.joinpath(base, vim.fs.basename(remote_name))
  elseif vim.fn.isdirectory(vim.fn.expand(target)) == 1 then
    target = vim.fs.joinpath(vim.fn.expand(target), vim.fs.basename(remote_name))
  end
  local args = { remoteName = remote_name, targetUri = file_uri(target), uri = vim.uri_from_bufnr(bufnr) }
  exec(client, bufnr, 'azure-sessions.downloadFile', args, function(err, result)
    if not err and type(result) == 'table' then
      local path = type(result.targetUri) == 'string' and vim.uri_to_fname(result.targetUri) or target
      notify(('downloaded %s to %s (%s bytes)'):format(remote_name, path, tostring(result.size)))
    end
    if cb then
      cb(err, result)
    end
  end)
end

function M.list_files(bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  exec(client, bufnr, 'azure-sessions.listFiles', { uri = vim.uri_from_bufnr(bufnr) }, function(err, result)
    if not err and type(result) == 'table' and not cb then
      if #result == 0 then
        notify('no files in the session')
      else
        local lines = { 'files in the session' }
        for _, f in ipairs(result) do
          lines[#lines + 1] = ('  %-30s %10s  %s'):format(
            tostring(f.name),
            tostring(f.size),
            f.lastModified ~= vim.NIL and tostring(f.lastModified or '') or ''
          )
        end
        notify(table.concat(lines, '\n'))
      end
    end
    if cb then
      cb(err, result)
    end
  end)
end

--- Remote file names, for completion (waits at most 2 s).
function M._complete_remote(arglead)
  local client = M.get_client(0)
  if not client then
    return {}
  end
  local res = client:request_sync('workspace/executeCommand', {
    command = 'azure-sessions.listFiles',
    arguments = { { uri = vim.uri_from_bufnr(0) } },
  }, 2000, 0)
  local names = {}
  if res and type(res.result) == 'table' then
    for _, f in ipairs(res.result) do
      if type(f.name) == 'string' and vim.startswith(f.name, arglead) then
        names[#names + 1] = f.name
      end
    end
  end
  return names
end

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

-- ---------------------------------------------------------------------------
-- Attach: buffer-local commands, diagnostics display, fallbacks
-- ---------------------------------------------------------------------------

local handler_fallbacks = {
  -- For a client set up without lsp/azure_sessions.lua this comes after its first pull; the
  -- pulls after each settings change still carry endpointOrigin.
  ['workspace/configuration'] = function(...)
    return require('azure_sessions.settings').on_configuration(...)
  end,
  ['azure-sessions/outputChanged'] = function(...)
    return M.on_output_changed(...)
  end,
  ['azure-sessions/status'] = function(...)
    return M.on_status(...)
  end,
  ['window/showDocument'] = function(...)
    return M.on_show_document(...)
  end,
  ['window/showMessage'] = function(...)
    return M.on_show_message(...)
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
      client.commands[name] = M._exec_run_command
    end
  end
  if M.config.diagnostics and not configured_ns[client.id] then
    configured_ns[client.id] = true
    vim.diagnostic.config(M.config.diagnostics, vim.lsp.diagnostic.get_namespace(client.id, false))
  end

  if vim.b[bufnr].azure_sessions_client == client.id then
    return
  end
  vim.b[bufnr].azure_sessions_client = client.id

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
    M.reset_session(bufnr)
  end, { desc = 'Start a new Azure session (the old one is deleted where possible)' })
  cmd('LspAzureSessionsInfo', function()
    M.session_info(bufnr)
  end, { desc = 'Show endpoint, identifier and run count of the Azure session' })
  cmd('LspAzureSessionsOutput', function(o)
    M.open_output({ bufnr = bufnr, focus = o.bang })
  end, { bang = true, desc = 'Open the session transcript in a split (! to move the cursor there)' })
  cmd('LspAzureSessionsUpload', function(o)
    M.upload(o.fargs[1], o.fargs[2], bufnr)
  end, { nargs = '+', complete = 'file', desc = 'Upload {path} [remoteName] to the Azure session' })
  cmd('LspAzureSessionsDownload', function(o)
    M.download(o.fargs[1], o.fargs[2], bufnr)
  end, {
    nargs = '+',
    complete = function(arglead, cmdline)
      local n = #vim.split(vim.trim(cmdline), '%s+')
      if n == 1 or (n == 2 and arglead ~= '') then
        return M._complete_remote(arglead)
      end
      return vim.fn.getcompletion(arglead, 'file')
    end,
    desc = 'Download {remoteName} [target] from the Azure session',
  })
  cmd('LspAzureSessionsFiles', function()
    M.list_files(bufnr)
  end, { desc = 'List the files in the Azure session' })
end

local commands = {
  'LspAzureSessionsRun',
  'LspAzureSessionsRunCell',
  'LspAzureSessionsRunFile',
  'LspAzureSessionsResetSession',
  'LspAzureSessionsInfo',
  'LspAzureSessionsOutput',
  'LspAzureSessionsUpload',
  'LspAzureSessionsDownload',
  'LspAzureSessionsFiles',
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
