-- End-to-end checks of the Neovim integration, run by tests/run.sh in real headless Neovim:
--   nvim --headless --clean -u tests/init.lua -c 'luafile tests/e2e.lua' demo.py
-- AZS_PHASE = main | restart | unconfigured | results | exrc | exrc-off. Every wait is bounded; results go to
-- $AZS_RESULTS/<phase>.json after every check; exits with :cquit when a check failed.
local api = vim.api
local phase = assert(os.getenv('AZS_PHASE'), 'AZS_PHASE not set')
local results_dir = assert(os.getenv('AZS_RESULTS'), 'AZS_RESULTS not set')
local ws = assert(os.getenv('AZS_WS'), 'AZS_WS not set')
local id_file = results_dir .. '/identifier.txt'
if phase == 'languages' then -- C++, Rust, Python on the Piston-like pool, and stdin: tests/languages.lua
  return dofile(vim.fs.joinpath(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)), 'languages.lua'))
end

local as = require('azure_sessions')
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local h = dofile(vim.fs.joinpath(here, 'harness.lua'))
local log, finish, check, wait, expect = h.log, h.finish, h.check, h.wait, h.expect
local progress, run_and_wait, buf_text = h.progress, h.run_and_wait, h.buf_text

-- Capture vim.notify (what the user sees).
local notes = {}
vim.notify = function(msg, level, _)
  table.insert(notes, { msg = tostring(msg), level = level or vim.log.levels.INFO })
  log(('notify[%s] %s'):format(tostring(level), tostring(msg):gsub('\n', ' | ')))
end

local demo = vim.fs.joinpath(ws, 'demo.py')
local buf ---@type integer
local client ---@type vim.lsp.Client

local function attach()
  vim.cmd.edit(vim.fn.fnameescape(demo))
  buf = api.nvim_get_current_buf()
  wait(15000, function()
    client = as.get_client(buf)
    return client ~= nil and client.initialized
  end, 'the azure_sessions client to attach to demo.py')
  expect(vim.fn.exists(':LspAzureSessionsRun') == 2, ':LspAzureSessionsRun was not created on attach')
end

local function goto_line(l)
  api.nvim_set_current_buf(buf)
  api.nvim_win_set_cursor(0, { l, 0 })
end

local function close_health()
  if vim.bo.filetype == 'checkhealth' then
    pcall(vim.cmd, 'bwipeout!')
  end
  pcall(vim.cmd, 'tabonly!')
end

local function healthcheck(expect_texts)
  vim.cmd('checkhealth azure_sessions')
  local hb = api.nvim_get_current_buf()
  wait(20000, function()
    local t = buf_text(hb)
    return t:find('running clients', 1, true) ~= nil or t:find('Failed to run healthcheck', 1, true) ~= nil
  end, 'the health report')
  local text = buf_text(hb)
  close_health()
  expect(not text:find('Failed to run healthcheck', 1, true), 'health check raised a Lua error:\n%s', text)
  for _, t in ipairs(expect_texts) do
    expect(text:find(t, 1, true), 'health report lacks %q:\n%s', t, text)
  end
end

log('phase ' .. phase .. ', nvim ' .. tostring(vim.version()))

local attached = check('client attaches to a Python file', attach)

if phase == 'main' then
  local outcome_uri

  check('code action "Run …" runs the selected lines (define variables)', function()
    expect(attached, 'not attached')
    goto_line(2)
    local o = run_and_wait('code action', function()
      vim.lsp.buf.code_action({
        apply = true,
        range = { start = { 2, 0 }, ['end'] = { 3, 11 } },
        filter = function(a)
          return vim.startswith(a.title or '', 'Run selection')
        end,
      })
    end)
    expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
    expect(type(o.outputUri) == 'string' and vim.startswith(o.outputUri, 'azure-sessions://'), 'outputUri %s', tostring(o.outputUri))
    outcome_uri = o.outputUri
  end)

  local out_win, out_buf
  check(':LspAzureSessionsOutput opens the transcript in a split without taking focus', function()
    expect(outcome_uri, 'no outputUri from the first run')
    goto_line(1)
    local win = api.nvim_get_current_win()
    vim.cmd('LspAzureSessionsOutput')
    wait(5000, function()
      local b = as._find_output_buf(outcome_uri)
      if not (b and #vim.fn.win_findbuf(b) > 0) then
        return false
      end
      local t = buf_text(b)
      return t ~= '' and not vim.startswith(t, 'Loading ')
    end, 'a window showing ' .. outcome_uri)
    out_buf = as._find_output_buf(outcome_uri)
    out_win = vim.fn.win_findbuf(out_buf)[1]
    expect(api.nvim_get_current_win() == win, 'focus moved to the transcript')
    expect(vim.bo[out_buf].buftype == 'nofile', 'buftype is %q', vim.bo[out_buf].buftype)
    expect(vim.bo[out_buf].modifiable == false, 'transcript is modifiable')
    expect(vim.bo[out_buf].filetype == 'azuresessionsoutput', 'filetype %q', vim.bo[out_buf].filetype)
  end)

  check(':5LspAzureSessionsRun prints a variable defined by the earlier run (state persists)', function()
    expect(attached, 'not attached')
    goto_line(1)
    local o = run_and_wait(':5LspAzureSessionsRun', function()
      vim.cmd('5LspAzureSessionsRun')
    end)
    expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
    expect((o.stdout or ''):find('counter is 42', 1, true), 'stdout %q lacks "counter is 42"', tostring(o.stdout))
  end)

  check('a successful run leaves an Information diagnostic with its output', function()
    wait(5000, function()
      for _, d in ipairs(vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.INFO })) do
        if d.source == 'azure-sessions' and d.lnum == 4 and d.message:find('counter is 42', 1, true) then
          return true
        end
      end
    end, 'an Information diagnostic on line 5 with "counter is 42"; have: ' .. vim.inspect(vim.diagnostic.get(buf)))
  end)

  check('the open transcript refreshes after a run and scrolls to the end', function()
    expect(out_buf and api.nvim_buf_is_valid(out_buf), 'no transcript buffer')
    wait(5000, function()
      return buf_text(out_buf):find('counter is 42', 1, true) ~= nil
    end, 'transcript buffer to contain "counter is 42"')
    local win = vim.fn.win_findbuf(out_buf)[1]
    expect(win, 'transcript window closed')
    local last = api.nvim_buf_line_count(out_buf)
    expect(api.nvim_win_get_cursor(win)[1] == last, 'transcript cursor at %d, last line %d', api.nvim_win_get_cursor(win)[1], last)
  end)

  check('<Plug>(azure-sessions-run-selection) runs an exact charwise selection after multibyte text', function()
    expect(attached, 'not attached')
    goto_line(6)
    local line = api.nvim_get_current_line()
    local col = assert(line:find('print', 1, true))
    api.nvim_win_set_cursor(0, { 6, col - 1 })
    local o = run_and_wait('visual <Plug>', function()
      vim.cmd('normal vg_' .. vim.keycode('<Plug>(azure-sessions-run-selection)'))
    end)
    expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
    expect((o.stdout or '') == 'sel-héllo 𝄞\n', 'stdout %q, expected "sel-héllo 𝄞\\n"', tostring(o.stdout))
    expect(api.nvim_get_mode().mode == 'n', 'still in mode %s', api.nvim_get_mode().mode)
    wait(5000, function()
      return buf_text(out_buf):find('sel-héllo 𝄞', 1, true) ~= nil
    end, 'transcript to contain "sel-héllo 𝄞"')
  end)

  check('<Plug>(azure-sessions-run-line) runs the cursor line', function()
    goto_line(12)
    local o = run_and_wait('<Plug> line', function()
      vim.cmd('normal ' .. vim.keycode('<Plug>(azure-sessions-run-line)'))
    end)
    expect((o.stdout or ''):find('from-plug-line 42', 1, true), 'stdout %q', tostring(o.stdout))
  end)

  check('run-line on an indented line, and its ✓ lens, run it without the indentation', function()
    goto_line(14)
    local o = run_and_wait('<Plug> indented line', function()
      vim.cmd('normal ' .. vim.keycode('<Plug>(azure-sessions-run-line)'))
    end)
    expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
    expect((o.stdout or '') == 'indented-a\n', 'stdout %q', tostring(o.stdout))
    wait(5000, function()
      vim.lsp.codelens.refresh({ bufnr = buf })
      for _, l in ipairs(vim.lsp.codelens.get(buf)) do
        if l.range.start.line == 13 and l.command and vim.startswith(l.command.title, '✓') then
          return true
        end
      end
    end, 'a ✓ lens on line 14; have: ' .. vim.inspect(vim.lsp.codelens.get(buf)))
    goto_line(14)
    o = run_and_wait('the ✓ lens', function()
      vim.lsp.codelens.run()
    end)
    expect(o.status == 'Succeeded', 'lens re-run: status %s: %s', tostring(o.status), vim.inspect(o))
    expect((o.stdout or '') == 'indented-a\n', 'lens re-run: stdout %q', tostring(o.stdout))
  end)

  check(":'<,'>LspAzureSessionsRun runs indented lines (dedented)", function()
    goto_line(14)
    local o = run_and_wait('range run', function()
      vim.cmd('normal! Vj' .. vim.keycode('<Esc>'))
      vim.cmd("'<,'>LspAzureSessionsRun")
    end)
    expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
    expect((o.stdout or ''):find('indented%-a\nindented%-b'), 'stdout %q', tostring(o.stdout))
  end)

  check(':LspAzureSessionsRunCell on a failing cell puts an Error diagnostic on the failing line', function()
    goto_line(8)
    local o = run_and_wait('failing cell', function()
      vim.cmd('LspAzureSessionsRunCell')
    end)
    expect(o.status == 'Failed', 'status %s', tostring(o.status))
    expect(type(o.error) == 'table' and o.error.type == 'ZeroDivisionError', 'error %s', vim.inspect(o.error))
    expect(o.error.line == 8, 'error.line %s, expected 8', tostring(o.error.line))
    local found
    wait(5000, function()
      for _, d in ipairs(vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR })) do
        if d.source == 'azure-sessions' and d.lnum == 8 then
          found = d
          return true
        end
      end
    end, 'an Error diagnostic from azure-sessions on line 9 (0-based 8); have: ' .. vim.inspect(vim.diagnostic.get(buf)))
    expect(found.message:find('ZeroDivisionError', 1, true) or found.message:find('division', 1, true), 'message %q', found.message)
    local warned = false
    for _, n in ipairs(notes) do
      if n.level == vim.log.levels.WARN and n.msg:find('ZeroDivisionError', 1, true) then
        warned = true
      end
    end
    expect(warned, 'no vim.notify warning about the failure')
  end)

  check('diagnostics display is configured for the server namespace only', function()
    local ns = vim.lsp.diagnostic.get_namespace(client.id, false)
    local nscfg = vim.diagnostic.config(nil, ns) or {}
    expect(nscfg.virtual_lines, 'namespace virtual_lines not set: %s', vim.inspect(nscfg))
    expect(not vim.diagnostic.config().virtual_lines, 'global virtual_lines changed')
  end)

  check(':edit <outputUri> loads the transcript through BufReadCmd', function()
    expect(outcome_uri, 'no outputUri')
    -- Close the split and wipe the buffer so :edit reads it afresh.
    if out_buf and api.nvim_buf_is_valid(out_buf) then
      vim.cmd('bwipeout! ' .. out_buf)
    end
    goto_line(1)
    vim.cmd.edit(vim.fn.fnameescape(outcome_uri))
    local b = api.nvim_get_current_buf()
    expect(api.nvim_buf_get_name(b) == outcome_uri, 'buffer name %q', api.nvim_buf_get_name(b))
    wait(5000, function()
      local t = buf_text(b)
      return t:find('counter is 42', 1, true) and t:find('sel-héllo 𝄞', 1, true) and t:find('from-plug-line 42', 1, true)
    end, 'transcript text with the outputs of all runs; have:\n' .. buf_text(b))
    expect(vim.bo[b].modifiable == false and vim.bo[b].buftype == 'nofile', 'transcript buffer options')
    vim.cmd.buffer(buf)
  end)

  check('window/showDocument for a transcript opens it without taking focus', function()
    expect(outcome_uri, 'no outputUri')
    local b = as._find_output_buf(outcome_uri)
    if b then
      vim.cmd('bwipeout! ' .. b)
    end
    goto_line(1)
    local win = api.nvim_get_current_win()
    local handler = client.handlers['window/showDocument'] or vim.lsp.handlers['window/showDocument']
    local res = handler(nil, { uri = outcome_uri, takeFocus = false }, { client_id = client.id, method = 'window/showDocument' })
    expect(type(res) == 'table' and res.success, 'result %s', vim.inspect(res))
    expect(api.nvim_get_current_win() == win, 'focus moved')
    b = as._find_output_buf(outcome_uri)
    expect(b and #vim.fn.win_findbuf(b) == 1, 'transcript not shown')
    wait(5000, function()
      return buf_text(b):find('counter is 42', 1, true) ~= nil
    end, 'transcript text')
  end)

  check(':LspAzureSessionsRunFile runs a whole file', function()
    vim.cmd.edit(vim.fn.fnameescape(vim.fs.joinpath(ws, 'whole.py')))
    local b2 = api.nvim_get_current_buf()
    wait(10000, function()
      return as.get_client(b2) ~= nil
    end, 'client to attach to whole.py')
    local o = run_and_wait('run file', function()
      vim.cmd('LspAzureSessionsRunFile')
    end)
    expect((o.stdout or ''):find('whole-file True', 1, true), 'stdout %q', tostring(o.stdout))
    vim.cmd.buffer(buf)
  end)

  check('sessionInfo returns a valid identifier (saved for the restart phase)', function()
    local info
    as.session_info(buf, function(err, r)
      info = { err = err, r = r }
    end)
    wait(5000, function()
      return info ~= nil
    end, 'sessionInfo')
    expect(not info.err, 'error %s', vim.inspect(info.err))
    local id = info.r.identifier
    expect(type(id) == 'string' and #id >= 4 and #id <= 128 and not id:find('[^%w%-]'), 'identifier %s', vim.inspect(id))
    expect(info.r.endpoint == 'local', 'endpoint %s', vim.inspect(info.r.endpoint))
    local runs = tonumber(info.r.runs)
    expect(runs and runs >= 7, 'runs %s', vim.inspect(info.r.runs))
    local f = assert(io.open(id_file, 'w'))
    f:write(id)
    f:close()
  end)

  check(':LspAzureSessionsMcp: the printed MCP server shares this session with an agent', function()
    expect(vim.fn.exists(':LspAzureSessionsMcp') == 2, ':LspAzureSessionsMcp was not created on attach')
    local config = as.mcp_config(buf, function() end)
    expect(config and config.args[1] == 'mcp' and config.args[2] == '--workspace', 'config %s', vim.inspect(config))
    expect(vim.fn.resolve(config.workspace) == vim.fn.resolve(ws), 'workspace %s, not %s', tostring(config.workspace), ws)
    -- Start it as an agent would and ask it which session it runs in.
    local lines = {
      vim.json.encode({ jsonrpc = '2.0', id = 1, method = 'initialize', params = { protocolVersion = '2025-06-18', capabilities = vim.empty_dict(), clientInfo = { name = 'e2e', version = '1' } } }),
      vim.json.encode({ jsonrpc = '2.0', method = 'notifications/initialized' }),
      vim.json.encode({ jsonrpc = '2.0', id = 2, method = 'tools/call', params = { name = 'run_code', arguments = { code = 'print(counter)' } } }),
      vim.json.encode({ jsonrpc = '2.0', id = 3, method = 'tools/call', params = { name = 'session_info', arguments = vim.empty_dict() } }),
    }
    local out = {}
    local proc = vim.system(vim.list_extend({ config.command }, config.args), {
      stdin = true,
      stdout = function(_, data)
        if data then
          out[#out + 1] = data
        end
      end,
    })
    proc:write(lines[1] .. '\n' .. lines[2] .. '\n' .. lines[3] .. '\n' .. lines[4] .. '\n')
    local answers = {}
    wait(20000, function()
      for _, line in ipairs(vim.split(table.concat(out), '\n', { trimempty = true })) do
        local ok, msg = pcall(vim.json.decode, line)
        if ok and type(msg) == 'table' and msg.id then
          answers[msg.id] = msg
        end
      end
      return answers[2] ~= nil and answers[3] ~= nil
    end, 'the MCP server answers')
    proc:kill(15)
    local ran = vim.tbl_get(answers[2], 'result', 'content', 1, 'text') or vim.inspect(answers[2])
    local info = vim.json.decode(vim.tbl_get(answers[3], 'result', 'content', 1, 'text') or '{}')
    expect(info.sharedWith == 'editor', 'the agent runs alone: %s', vim.inspect(info))
    expect(not ran:find('NameError', 1, true), 'the agent does not see the editor\'s variables: %s', ran)
    -- The editor hears of the agent's run (azure-sessions/agentRun): one line, never a warning.
    local heard
    wait(10000, function()
      for _, n in ipairs(notes) do
        if n.msg:find('agent, code from the agent: Succeeded', 1, true) then
          heard = n
        end
      end
      return heard ~= nil
    end, 'a notice of the agent\'s run')
    expect(heard.level == vim.log.levels.INFO, 'level %s', tostring(heard.level))
  end)

  check(':LspAzureSessionsUpload / Files / Download round-trip a file', function()
    local got = {}
    local function waitcb(name)
      wait(10000, function()
        return got[name] ~= nil
      end, name)
      expect(not got[name].err, '%s error: %s', name, vim.inspect(got[name].err))
      return got[name].r
    end
    as.upload(vim.fs.joinpath(ws, 'whole.py'), 'up-whole.py', buf, function(err, r)
      got.upload = { err = err, r = r }
    end)
    local up = waitcb('upload')
    expect(type(up) == 'table' and up.name and tonumber(up.size) and tonumber(up.size) > 0, 'upload result %s', vim.inspect(up))
    as.list_files(buf, function(err, r)
      got.list = { err = err, r = r }
    end)
    local list = waitcb('list')
    local names = vim.tbl_map(function(f)
      return f.name
    end, list or {})
    expect(vim.iter(names):any(function(n)
      return tostring(n):find('up-whole.py', 1, true) ~= nil
    end), 'listFiles: %s', vim.inspect(list))
    local target = vim.fs.joinpath(ws, 'downloaded.py')
    as.download('up-whole.py', target, buf, function(err, r)
      got.download = { err = err, r = r }
    end)
    waitcb('download')
    expect(vim.fn.filereadable(target) == 1, 'no %s', target)
    expect(vim.deep_equal(vim.fn.readfile(target), vim.fn.readfile(vim.fs.joinpath(ws, 'whole.py'))), 'downloaded content differs')
  end)

  check('an upload from outside the workspace reaches the session the buffer runs in (review F1)', function()
    local outside = vim.fn.tempname() .. '-outside.csv'
    vim.fn.writefile({ 'a,b' }, outside)
    local got = {}
    as.upload(outside, nil, buf, function(err, r)
      got.upload = { err = err, r = r }
    end)
    wait(10000, function()
      return got.upload ~= nil
    end, 'upload')
    expect(not got.upload.err, 'upload error: %s', vim.inspect(got.upload.err))
    local name = got.upload.r and got.upload.r.name
    as.list_files(buf, function(err, r)
      got.list = { err = err, r = r }
    end)
    wait(10000, function()
      return got.list ~= nil
    end, 'list')
    local names = vim.tbl_map(function(f)
      return f.name
    end, got.list.r or {})
    expect(name and vim.list_contains(names, name), 'the buffer\'s session lists %s, not %s', vim.inspect(names), tostring(name))
  end)

  check('runs report work-done progress (LspProgress begin/end)', function()
    expect(vim.list_contains(progress, 'begin') and vim.list_contains(progress, 'end'), 'progress kinds seen: %s', vim.inspect(progress))
  end)

  check('statusline helper reports the last state', function()
    local s = as.status(buf)
    expect(type(s) == 'string' and s:match('^Azure: %a+'), 'status() = %q', tostring(s))
    expect(as.status(api.nvim_create_buf(false, true)) == '', 'status() for an unattached buffer is not empty')
  end)

  check(':help azure-sessions: the help file has valid tags', function()
    local dir = vim.fn.tempname()
    vim.fn.mkdir(dir .. '/doc', 'p')
    local src = vim.api.nvim_get_runtime_file('doc/azure-sessions.txt', false)[1]
    expect(src, 'doc/azure-sessions.txt not on the runtimepath')
    vim.fn.writefile(vim.fn.readfile(src), dir .. '/doc/azure-sessions.txt')
    vim.cmd.helptags(vim.fn.fnameescape(dir .. '/doc'))
    local tags = table.concat(vim.fn.readfile(dir .. '/doc/tags'), '\n')
    for _, t in ipairs({ 'azure-sessions', ':LspAzureSessionsRun', '<Plug>(azure-sessions-run-selection)' }) do
      expect(tags:find(t, 1, true), 'tag %s missing', t)
    end
  end)

  check(':checkhealth azure_sessions runs without Lua errors', function()
    healthcheck({ 'azure-sessions: server', 'endpoint = "local"', 'azure-sessions-lsp' })
  end)

  check(':checkhealth azure_sessions runs the pool doctor through the running server', function()
    healthcheck({
      'azure-sessions: pool (doctor)',
      'checked local through the running language server',
      'OK Endpoint: local: the built-in local pool (python)',
      'OK Run: `print(1)` in the doctor\'s session doctor-',
      'OK Cleanup: ended the doctor\'s session doctor-',
    })
  end)

  check('the doctor without a client: `azure-sessions-lsp doctor --json` with the settings as flags', function()
    local doctor = require('azure_sessions.doctor')
    local bin = assert(os.getenv('AZS_BIN'), 'AZS_BIN not set')
    local args = doctor.cli_args(bin, { endpoint = 'local', coldStartTimeoutSeconds = 5, auth = 'none', unknown = 'x' })
    expect(args[2] == 'doctor' and args[3] == '--json', 'args %s', vim.inspect(args))
    expect(table.concat(args, ' '):find('--cold-start-timeout-seconds 5', 1, true), 'args %s', vim.inspect(args))
    local report, err = doctor.from_cli(bin, { endpoint = 'local' }, 60000)
    expect(report, 'no report: %s', tostring(err))
    expect(report.ok == true and report.endpoint == 'local', 'report %s', vim.inspect(report))
    local names = vim.tbl_map(function(c)
      return c.name
    end, report.checks)
    expect(vim.deep_equal(names, { 'Endpoint', 'Run', 'Cold start', 'Cleanup' }), 'checks %s', vim.inspect(names))
    -- A pool that is not there: exit 1 is a report (not an error), with the failed check.
    report, err = doctor.from_cli(bin, { endpoint = 'http://127.0.0.1:9' }, 60000)
    expect(report and report.ok == false, 'report %s, error %s', vim.inspect(report), tostring(err))
    local failed = vim.tbl_filter(function(c)
      return c.status == 'fail'
    end, report.checks)
    expect(#failed == 1 and failed[1].name == 'Connection', 'failed %s', vim.inspect(failed))
  end)
elseif phase == 'restart' then
  check('same folder and state directory give the same session identifier', function()
    local f = io.open(id_file)
    expect(f, 'no identifier from the main phase')
    local want = f:read('*a')
    f:close()
    local info
    as.session_info(buf, function(err, r)
      info = { err = err, r = r }
    end)
    wait(5000, function()
      return info ~= nil
    end, 'sessionInfo')
    expect(not info.err, 'error %s', vim.inspect(info.err))
    expect(info.r.identifier == want, 'identifier %s after restart, %s before', tostring(info.r.identifier), want)
  end)
elseif phase == 'unconfigured' then
  check('with endpoint = "" a run fails quickly with a message naming azureSessions.endpoint', function()
    expect(attached, 'not attached')
    goto_line(2)
    local start = vim.uv.now()
    local res
    as.run_line(buf, function(err, r)
      res = { err = err, r = r }
    end)
    wait(8000, function()
      return res ~= nil
    end, 'the run to fail')
    log(('failed after %d ms'):format(vim.uv.now() - start))
    expect(res.err, 'no JSON-RPC error; result %s', vim.inspect(res.r))
    expect(tostring(res.err.message):find('azureSessions.endpoint', 1, true), 'error message %q', tostring(res.err.message))
    local shown = 0
    wait(3000, function()
      shown = 0
      for _, n in ipairs(notes) do
        if n.level == vim.log.levels.ERROR and n.msg:find('azureSessions.endpoint', 1, true) then
          shown = shown + 1
        end
      end
      return shown > 0
    end, 'a vim.notify ERROR naming azureSessions.endpoint')
  end)

  check(':LspAzureSessionsRun shows the same error to the user', function()
    notes = {}
    as._state.shown = {} -- forget the dedupe of the previous check's message
    vim.cmd('LspAzureSessionsRun')
    local function count()
      local c = 0
      for _, n in ipairs(notes) do
        if n.level == vim.log.levels.ERROR and n.msg:find('azureSessions.endpoint', 1, true) then
          c = c + 1
        end
      end
      return c
    end
    wait(8000, function()
      return count() > 0
    end, 'a vim.notify ERROR naming azureSessions.endpoint')
    vim.wait(300)
    -- The JSON-RPC error and the server's window/showMessage carry the same text: shown once.
    expect(count() == 1, 'shown %d times: %s', count(), vim.inspect(notes))
  end)

  check(':checkhealth azure_sessions warns about the empty endpoint', function()
    healthcheck({ 'azureSessions.endpoint is not set', 'set azureSessions.endpoint to check the pool' })
  end)

  -- Neovim answers workspace/configuration from client.settings: change it, then notify.
  local config_pulls = 0
  local orig_conf = client.handlers['workspace/configuration'] or vim.lsp.handlers['workspace/configuration']
  client.handlers['workspace/configuration'] = function(...)
    config_pulls = config_pulls + 1
    return orig_conf(...)
  end
  local function push(endpoint)
    local before = config_pulls
    client.settings.azureSessions.endpoint = endpoint
    client:notify('workspace/didChangeConfiguration', { settings = client.settings })
    -- The server re-pulls the settings after a push; let that finish as a user's pause would.
    vim.wait(3000, function()
      return config_pulls > before
    end, 10)
    vim.wait(200)
  end

  check('a pushed http:// endpoint to a non-loopback host is reported, naming the key (and :checkhealth flags it)', function()
    expect(attached, 'not attached')
    notes = {}
    push('http://example.com/pool')
    wait(5000, function()
      for _, n in ipairs(notes) do
        local m = n.msg:lower()
        if n.level >= vim.log.levels.WARN and m:find('azuresessions.endpoint', 1, true) and m:find('http', 1, true) then
          return true
        end
      end
    end, 'a warning naming azureSessions.endpoint and http; have: ' .. vim.inspect(notes))
    -- Whatever the server keeps using, a run must not reach example.com over plain HTTP.
    local res
    as.run_line(buf, function(err, r)
      res = { err = err, r = r }
    end)
    wait(8000, function()
      return res ~= nil
    end, 'the run')
    expect(res.err, 'the run did not fail; result %s', vim.inspect(res.r))
    healthcheck({ 'plain http:// to a non-loopback host' })
  end)

  check('a pushed endpoint = "local" applies to the next run without a restart', function()
    expect(attached, 'not attached')
    push('local')
    goto_line(2)
    local o = run_and_wait('run after didChangeConfiguration', function()
      vim.cmd('LspAzureSessionsRun')
    end)
    expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
  end)
elseif phase == 'results' then
  dofile(vim.fs.joinpath(here, 'e2e_results.lua'))({ h = h, ws = ws, notes = notes })
elseif phase == 'exrc' or phase == 'exrc-off' then
  -- The root holds a .nvim.lua; 'exrc' is on in "exrc" only. The endpoint is a stand-in pool that
  -- logs every request (tests/fake_pool.py), auth = "none".
  local want = phase == 'exrc' and 'workspace' or 'user'
  local pool_log = assert(os.getenv('AZS_POOL_LOG'), 'AZS_POOL_LOG not set')
  local function requests()
    local f = io.open(pool_log)
    if not f then
      return {}
    end
    local lines = vim.split(f:read('*a'), '\n', { trimempty = true })
    f:close()
    return lines
  end

  check(('endpointOrigin = %q in the settings Neovim pushes and answers per folder'):format(want), function()
    expect(attached, 'not attached')
    local pushed = client.settings.azureSessions.endpointOrigin
    expect(pushed == want, 'client.settings: endpointOrigin %s', vim.inspect(pushed))
    local handler = client.handlers['workspace/configuration']
    local answer = handler(nil, {
      items = { { section = 'azureSessions', scopeUri = vim.uri_from_fname(ws) }, { section = 'azureSessions' } },
    }, { client_id = client.id, method = 'workspace/configuration' })
    expect(answer[1].endpointOrigin == want and answer[2].endpointOrigin == want, 'answer %s', vim.inspect(answer))
    expect(answer[1].endpoint == client.settings.azureSessions.endpoint, 'endpoint %s', vim.inspect(answer[1].endpoint))
  end)

  if phase == 'exrc' then
    check('no request reaches the endpoint before the first run (no prewarm)', function()
      vim.wait(1500)
      expect(#requests() == 0, 'the pool got %s', vim.inspect(requests()))
    end)

    check('the first run then reaches the endpoint and works', function()
      goto_line(2)
      local o = run_and_wait('first run', function()
        vim.cmd('LspAzureSessionsRun')
      end)
      expect((o.stdout or '') == 'fake-pool-ran\n', 'stdout %q: %s', tostring(o.stdout), vim.inspect(o))
      expect(vim.list_contains(requests(), 'POST /executions'), 'requests %s', vim.inspect(requests()))
    end)

    check(':checkhealth azure_sessions explains endpointOrigin = "workspace"', function()
      healthcheck({ 'endpointOrigin = "workspace"' })
    end)
  else
    check('the user\'s endpoint is prewarmed (HEAD /, naming no session) with no run', function()
      wait(5000, function()
        return vim.list_contains(requests(), 'HEAD /')
      end, 'HEAD / at the pool; have ' .. vim.inspect(requests()))
    end)
  end
end

finish()
