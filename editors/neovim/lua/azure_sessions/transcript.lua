--- Transcript buffers (azure-sessions://...): loaded with the `azure-sessions/output` request,
--- refreshed after runs, shown in a split.
local api = vim.api
local core = require('azure_sessions.core')
local state, notify, report_error, fire = core.state, core.notify, core.report_error, core.fire

local M = {}

---@param uri string
---@return integer?
local function find_output_buf(uri)
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_get_name(b) == uri then
      return b
    end
  end
end
M.find_output_buf = find_output_buf

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
  if bo.filetype ~= core.output_filetype then
    bo.filetype = core.output_filetype
  end
end

--- Fetch the transcript at `uri` with `azure-sessions/output` and put it in `bufnr`.
---@param bufnr integer
---@param uri string
---@param cb fun(err: any, text: string?)?
function M.load_output(bufnr, uri, cb)
  prepare_output_buf(bufnr)
  local clients = core.all_clients(uri)
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
    local split = core.config.output.split or 'below'
    local size_key = (split == 'left' or split == 'right') and 'width' or 'height'
    local cfg = { split = split, win = -1 }
    cfg[size_key] = core.config.output.height
    -- Entering the window loads the buffer (BufReadCmd) like :edit would.
    local prev = api.nvim_get_current_win()
    win = api.nvim_open_win(bufnr, true, cfg)
    if not api.nvim_buf_is_loaded(bufnr) or vim.bo[bufnr].filetype ~= core.output_filetype then
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
  local client = core.get_client(bufnr)
  if not client then
    -- From the transcript buffer itself, or any other buffer: use any running client.
    if vim.bo[bufnr].filetype == core.output_filetype then
      return cb(api.nvim_buf_get_name(bufnr))
    end
    client = core.all_clients()[1]
  end
  if not client then
    notify('no azure_sessions language server is running', vim.log.levels.WARN)
    return cb(nil)
  end
  local args = {}
  if core.get_client(bufnr) then
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
M.refresh_output = refresh_output

return M
