-- The languages phase of tests/e2e.lua (run.sh: AZS_PHASE=languages): a custom-container pool, the
-- local pool's Piston-like API (`api = "custom"`, `endpoint = "local"`), with the filetypes a user
-- adds for it (AZS_FILETYPES). Compile errors of C++ and Rust land on their lines, a Python failure
-- on its raising line, and the run commands give a program its standard input (stdin=TEXT, stdin).
local api = vim.api
local ws = assert(os.getenv('AZS_WS'), 'AZS_WS not set')

local as = require('azure_sessions')
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
local h = dofile(vim.fs.joinpath(here, 'harness.lua'))
local log, finish, check, wait, expect = h.log, h.finish, h.check, h.wait, h.expect
local run_and_wait = h.run_and_wait

local notes = {}
vim.notify = function(msg, level, _)
  table.insert(notes, { msg = tostring(msg), level = level or vim.log.levels.INFO })
  log(('notify[%s] %s'):format(tostring(level), tostring(msg):gsub('\n', ' | ')))
end

-- The files, with the one-based lines the checks expect.
local dir = vim.fs.joinpath(ws, 'languages')
local FILES = {
  ['errors.cpp'] = {
    '#include <iostream>',
    '',
    'int main() {',
    '    int count = "three";', -- 4: invalid conversion
    '    std::cout << "count " << count << std::endl;',
    '    std::cout << missing << std::endl;', -- 6: not declared
    '    return 0;',
    '}',
  },
  ['mismatch.rs'] = {
    'fn main() {',
    '    let n: i32 = 6 * 7;',
    '    let s: String = n;', -- 3: mismatched types
    '    println!("{}", s);',
    '}',
  },
  ['raises.py'] = {
    'def check(value):',
    '    if value > 2:',
    '        raise ValueError(f"too big: {value}")', -- 3: the raising line
    '    return value',
    '',
    'for i in range(5):',
    '    print("checked", check(i))', -- 7: the call
  },
  ['echo.cpp'] = {
    '#include <cctype>',
    '#include <iostream>',
    '#include <string>',
    '',
    'int main() {',
    '    std::string line, all;',
    '    int count = 0;',
    '    while (std::getline(std::cin, line)) {',
    '        for (auto &c : line) c = std::toupper(static_cast<unsigned char>(c));',
    '        all += (count++ ? "|" : "") + line;',
    '    }',
    '    std::cout << "LINES=" << count << " " << all << std::endl;',
    '}',
  },
}
vim.fn.mkdir(dir, 'p')
for name, lines in pairs(FILES) do
  vim.fn.writefile(lines, vim.fs.joinpath(dir, name))
end

log('phase languages, nvim ' .. tostring(vim.version()))

local bufs = {}
--- Opens `name` and waits for the azure_sessions client; returns its buffer.
local function open(name)
  vim.cmd.edit(vim.fn.fnameescape(vim.fs.joinpath(dir, name)))
  local buf = api.nvim_get_current_buf()
  wait(15000, function()
    local c = as.get_client(buf)
    return c ~= nil and c.initialized
  end, 'the azure_sessions client to attach to ' .. name .. ' (filetype ' .. vim.bo[buf].filetype .. ')')
  bufs[name] = buf
  return buf
end

--- The one-based lines of the buffer's azure-sessions Error diagnostics, sorted, once at least `n` arrived.
local function error_lines(buf, n)
  local lines
  local ok = vim.wait(5000, function()
    lines = {}
    for _, d in ipairs(vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR })) do
      if d.source == 'azure-sessions' then
        lines[#lines + 1] = d.lnum + 1
      end
    end
    return #lines >= n
  end, 20)
  table.sort(lines)
  expect(ok, 'expected %d error diagnostics, have %s', n, vim.inspect(vim.diagnostic.get(buf)))
  return lines
end

local function run_file(what, cmd)
  return run_and_wait(what, function()
    vim.cmd(cmd or 'LspAzureSessionsRunFile')
  end, 30000)
end

check('the client attaches to a C++ file (filetypes of a custom-container setup)', function()
  local buf = open('errors.cpp')
  expect(vim.bo[buf].filetype == 'cpp', 'filetype %q', vim.bo[buf].filetype)
end)

check('a C++ file with two compile errors: one Error diagnostic on each of lines 4 and 6', function()
  local buf = assert(bufs['errors.cpp'], 'errors.cpp is not open')
  api.nvim_set_current_buf(buf)
  local o = run_file(':LspAzureSessionsRunFile (errors.cpp)')
  expect(o.status == 'Failed', 'status %s: %s', tostring(o.status), vim.inspect(o))
  local lines = error_lines(buf, 2)
  expect(vim.deep_equal(lines, { 4, 6 }), 'error diagnostics on lines %s, expected { 4, 6 }: %s', vim.inspect(lines), vim.inspect(vim.diagnostic.get(buf)))
end)

check('a Rust file with a type error: an Error diagnostic on line 3', function()
  local buf = open('mismatch.rs')
  local o = run_file(':LspAzureSessionsRunFile (mismatch.rs)')
  expect(o.status == 'Failed', 'status %s: %s', tostring(o.status), vim.inspect(o))
  local lines = error_lines(buf, 1)
  expect(vim.deep_equal(lines, { 3 }), 'error diagnostics on lines %s, expected { 3 }: %s', vim.inspect(lines), vim.inspect(vim.diagnostic.get(buf)))
end)

check('a Python file on the Piston-like pool fails on its raising line 3 (not the call on line 7)', function()
  local buf = open('raises.py')
  local o = run_file(':LspAzureSessionsRunFile (raises.py)')
  expect(o.status == 'Failed', 'status %s: %s', tostring(o.status), vim.inspect(o))
  expect(type(o.error) == 'table' and o.error.type == 'ValueError', 'error %s', vim.inspect(o.error))
  local lines = error_lines(buf, 1)
  expect(vim.deep_equal(lines, { 3 }), 'error diagnostics on lines %s, expected { 3 }: %s', vim.inspect(lines), vim.inspect(vim.diagnostic.get(buf)))
end)

local echo_uri
check(':LspAzureSessionsRunFile stdin=first line\\nsecond gives the program two lines of input', function()
  open('echo.cpp')
  local o = run_file(':LspAzureSessionsRunFile stdin=…', [[LspAzureSessionsRunFile stdin=first line\nsecond]])
  expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
  expect((o.stdout or ''):find('LINES=2 FIRST LINE|SECOND', 1, true), 'stdout %q', tostring(o.stdout))
  echo_uri = o.outputUri
end)

check('the transcript shows the output of the program that read stdin', function()
  expect(type(echo_uri) == 'string', 'no outputUri from the stdin run')
  local client = assert(as.get_client(bufs['echo.cpp']), 'no client')
  local res = client:request_sync('azure-sessions/output', { uri = echo_uri }, 5000, bufs['echo.cpp'])
  local text = res and res.result and res.result.text or ''
  expect(text:find('LINES=2 FIRST LINE|SECOND', 1, true), 'transcript lacks the output:\n%s', text)
end)

check(':%LspAzureSessionsRun stdin=TEXT runs the lines with that input', function()
  local o = run_file(':%LspAzureSessionsRun stdin=…', [[%LspAzureSessionsRun stdin=only\tone]])
  expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
  expect((o.stdout or ''):find('LINES=1 ONLY\tONE', 1, true), 'stdout %q', tostring(o.stdout))
end)

check(':LspAzureSessionsRunCell stdin=TEXT runs the cell (here the whole file) with that input', function()
  local o = run_file(':LspAzureSessionsRunCell stdin=…', [[LspAzureSessionsRunCell stdin=cell]])
  expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
  expect((o.stdout or ''):find('LINES=1 CELL', 1, true), 'stdout %q', tostring(o.stdout))
end)

check(':LspAzureSessionsRunFile stdin (alone) asks with vim.ui.input, escapes decoded', function()
  local asked
  local saved = vim.ui.input
  vim.ui.input = function(opts, on_confirm)
    asked = opts.prompt
    on_confirm([[typed\nat the prompt]])
  end
  local ok, o = pcall(run_file, ':LspAzureSessionsRunFile stdin', 'LspAzureSessionsRunFile stdin')
  vim.ui.input = saved
  expect(ok, tostring(o))
  expect(type(asked) == 'string' and asked:find('stdin', 1, true), 'vim.ui.input was not asked (prompt %s)', tostring(asked))
  expect((o.stdout or ''):find('LINES=2 TYPED|AT THE PROMPT', 1, true), 'stdout %q', tostring(o.stdout))
end)

check('a cancelled prompt runs nothing; an unknown argument is refused with a message', function()
  local before = #notes
  local saved = vim.ui.input
  vim.ui.input = function(_, on_confirm)
    on_confirm(nil)
  end
  vim.cmd('LspAzureSessionsRunFile stdin')
  vim.ui.input = saved
  vim.cmd('LspAzureSessionsRun --input=x')
  local refused = false
  for i = before + 1, #notes do
    if notes[i].level == vim.log.levels.ERROR and notes[i].msg:find('unknown argument', 1, true) then
      refused = true
    end
  end
  expect(refused, 'no error naming the unknown argument: %s', vim.inspect(vim.list_slice(notes, before + 1)))
  expect((as._state.running[bufs['echo.cpp']] or 0) == 0, 'a run was started')
end)

finish()
