--- Standard input for runs: the `stdin=TEXT` and `stdin` arguments of `:LspAzureSessionsRun`,
--- `:LspAzureSessionsRunCell` and `:LspAzureSessionsRunFile`, and the Lua functions behind them.
--- Only pools that take stdin (custom containers, Shell pools) accept it: on a Python or Node
--- code-interpreter pool the server refuses such a run and says why. Without an argument the
--- commands run as before (with `stdinFile`, if set, as the input). See `:help azure-sessions-stdin`.
local api = vim.api

local M = {}

--- Decodes the escapes of input typed on one line: `\n` a new line, `\t` a tab, `\\` a
--- backslash; any other backslash stays as it is.
---@param text string
---@return string
function M.decode(text)
  local out = text:gsub('\\(.)', function(c)
    if c == 'n' then
      return '\n'
    elseif c == 't' then
      return '\t'
    elseif c == '\\' then
      return '\\'
    end
    return '\\' .. c
  end)
  return out
end

--- Parses the arguments of a run command: `''` (no input of its own), `stdin` (ask for it) or
--- `stdin=TEXT` (TEXT with `\n` escapes; `stdin=` is an empty input).
---@param args string
---@return {kind: 'none'|'prompt'|'text', text: string?}?, string? error
function M.parse(args)
  -- Only leading blanks go: trailing ones may be part of the input.
  args = (args or ''):gsub('^%s+', '')
  if vim.trim(args) == '' then
    return { kind = 'none' }
  end
  if vim.trim(args) == 'stdin' then
    return { kind = 'prompt' }
  end
  local text = args:match('^stdin=(.*)$')
  if text then
    return { kind = 'text', text = M.decode(text) }
  end
  return nil, ('unknown argument %q: use stdin=TEXT (\\n for a new line) or stdin (to be asked)'):format(args)
end

--- Asks for the input with |vim.ui.input()|; `on_input` gets the decoded text (not called when
--- the prompt is cancelled).
---@param on_input fun(text: string)
function M.prompt(on_input)
  vim.ui.input({ prompt = 'stdin (\\n for a new line): ' }, function(input)
    if input ~= nil then
      on_input(M.decode(input))
    end
  end)
end

--- The body of `:LspAzureSessionsRun`, `:LspAzureSessionsRunCell` and `:LspAzureSessionsRunFile`.
--- Every form calls the plugin's own run functions; without an argument the run has no stdin of
--- its own, as these commands always did.
---@param what 'lines'|'cell'|'file'
---@param o table the user command's argument (|nvim_create_user_command()|)
---@param bufnr integer
function M.command(what, o, bufnr)
  local as = require('azure_sessions')
  local parsed, err = M.parse(o.args)
  if not parsed then
    vim.notify('azure-sessions: ' .. err, vim.log.levels.ERROR)
    return
  end
  local l1, l2 = o.line1, o.line2
  if what == 'lines' and (o.range or 0) == 0 then
    l1 = bufnr == api.nvim_get_current_buf() and api.nvim_win_get_cursor(0)[1] or 1
    l2 = l1
  end
  local function run(stdin)
    local extra = { stdin = stdin }
    if what == 'lines' then
      as.run_lines(l1, l2, bufnr, nil, extra)
    elseif what == 'cell' then
      as.run_cell(bufnr, nil, extra)
    else
      as.run_file(bufnr, nil, extra)
    end
  end
  if parsed.kind == 'prompt' then
    M.prompt(run)
  else
    run(parsed.text)
  end
end

--- Completion of the commands' argument.
function M.complete(arglead)
  return vim.tbl_filter(function(s)
    return vim.startswith(s, arglead)
  end, { 'stdin=', 'stdin' })
end

--- Options of |nvim_create_user_command()| for a run command that takes the argument.
---@param opts table
---@return table
function M.command_opts(opts)
  opts.nargs = '*'
  opts.complete = M.complete
  return opts
end

return M
