--- Runs: the run commands (line, selection, cell, file), and what a finished run reports.
local api = vim.api
local core = require('azure_sessions.core')
local transcript = require('azure_sessions.transcript')
local state, notify, report_error, fire = core.state, core.notify, core.report_error, core.fire
local need_client, exec = core.need_client, core.exec

local M = {}

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
    local image = type(outcome.result) == 'table' and outcome.result.type == 'image'
    if outcome.result ~= nil and outcome.result ~= vim.NIL and not image then
      local r = type(outcome.result) == 'string' and outcome.result or vim.json.encode(outcome.result)
      parts[#parts + 1] = '=> ' .. (shorten(r, 3, 200) or '')
    end
    parts[#parts + 1] = require('azure_sessions.displays').describe(outcome.displays)
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
    transcript.refresh_output(result.outputUri)
    if core.config.output.open_on_run and not transcript.find_output_buf(result.outputUri) then
      transcript.show_output(result.outputUri, false)
    elseif core.config.output.open_on_run then
      local b = transcript.find_output_buf(result.outputUri)
      if b and #vim.fn.win_findbuf(b) == 0 then
        transcript.show_output(result.outputUri, false)
      end
    end
  end
  if core.config.notify then
    local msg, level = M.summarize(result)
    notify(msg, level)
  end
  local ok, e = pcall(require('azure_sessions.displays').on_outcome, bufnr, result)
  if not ok then
    notify('could not show the run\'s displays: ' .. tostring(e), vim.log.levels.WARN)
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
  core.redraw()
  client:request('workspace/executeCommand', {
    command = command.command,
    arguments = command.arguments,
  }, function(err, result)
    state.running[bufnr] = math.max(0, (state.running[bufnr] or 1) - 1)
    core.redraw()
    on_run_result(client, bufnr, err, result)
    if cb then
      cb(err, result)
    end
  end, bufnr)
end

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

---@class azure_sessions.RunExtra
---@field stdin string? the run's standard input (pools that take stdin only)

--- Run whole lines l1..l2 (1-based, inclusive).
---@param extra azure_sessions.RunExtra?
function M.run_lines(l1, l2, bufnr, cb, extra)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  local stdin = extra and extra.stdin
  M.run({ bufnr = bufnr, range = lines_range(client, bufnr, l1, l2), stdin = stdin }, cb)
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
---@param extra azure_sessions.RunExtra?
function M.run_cell(bufnr, cb, extra)
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
    stdin = extra and extra.stdin,
  }
  exec(client, bufnr, 'azure-sessions.runCell', args, cb)
end

--- Run the whole buffer.
---@param extra azure_sessions.RunExtra?
function M.run_file(bufnr, cb, extra)
  M.run({ bufnr = bufnr, stdin = extra and extra.stdin }, cb)
end

return M
