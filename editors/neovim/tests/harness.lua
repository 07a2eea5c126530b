-- The harness of tests/e2e.lua: results written after every check, bounded waits, a watchdog,
-- and what the plugin reports (work-done progress, finished runs). Loaded with dofile.
local api = vim.api
local phase = assert(os.getenv('AZS_PHASE'), 'AZS_PHASE not set')
local results_dir = assert(os.getenv('AZS_RESULTS'), 'AZS_RESULTS not set')

local as = require('azure_sessions')
local results = {}
local t0 = vim.uv.hrtime()

local function log(msg)
  io.stdout:write(('[%6.2fs] %s\n'):format((vim.uv.hrtime() - t0) / 1e9, msg))
  io.stdout:flush()
end

local function save()
  local f = assert(io.open(results_dir .. '/' .. phase .. '.json', 'w'))
  f:write(vim.json.encode(results))
  f:close()
end

local function finish()
  save()
  local failed = 0
  for _, r in ipairs(results) do
    if not r.ok then
      failed = failed + 1
    end
  end
  log(('phase %s: %d passed, %d failed'):format(phase, #results - failed, failed))
  if failed > 0 then
    vim.cmd('cquit 1')
  else
    vim.cmd('qall!')
  end
end

-- Watchdog: never hang past the shell's timeout without writing what we know.
local watchdog_ms = tonumber(os.getenv('AZS_WATCHDOG_MS') or '') or (phase == 'main' and 36000 or 16000)
vim.defer_fn(function()
  table.insert(results, { name = phase .. ': watchdog', ok = false, error = 'still running after ' .. watchdog_ms .. ' ms' })
  finish()
end, watchdog_ms)

local function check(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  local r = { name = phase .. ': ' .. name, ok = ok }
  if not ok then
    r.error = tostring(err)
  end
  table.insert(results, r)
  log((ok and 'PASS ' or 'FAIL ') .. name .. (ok and '' or ('\n' .. tostring(err))))
  save()
  return ok
end

local function wait(ms, pred, what)
  if not vim.wait(ms, pred, 20) then
    error(('timed out after %d ms waiting for %s'):format(ms, what), 2)
  end
end

local function expect(cond, msg, ...)
  if not cond then
    error(msg:format(...), 2)
  end
end

-- Work-done progress ($/progress) seen by Neovim's client for the azure_sessions client.
local progress = {}
api.nvim_create_autocmd('LspProgress', {
  callback = function(ev)
    local c = vim.lsp.get_client_by_id(ev.data.client_id)
    if c and as.is_ours(c) then
      local v = ev.data.params and ev.data.params.value or {}
      table.insert(progress, v.kind or '?')
    end
  end,
})

-- Every run started from Neovim ends with a User AzureSessionsRunDone event.
local done = {}
api.nvim_create_autocmd('User', {
  pattern = 'AzureSessionsRunDone',
  callback = function(ev)
    table.insert(done, ev.data)
  end,
})

local function run_and_wait(what, action, ms)
  local n = #done
  action()
  wait(ms or 20000, function()
    return #done > n
  end, what .. ' to finish')
  local d = done[n + 1]
  if d.err then
    error(what .. ': server returned an error: ' .. tostring(d.err.message or vim.inspect(d.err)), 2)
  end
  return d.outcome
end

local function buf_text(buf)
  return table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
end

return {
  log = log,
  finish = finish,
  check = check,
  wait = wait,
  expect = expect,
  progress = progress,
  run_and_wait = run_and_wait,
  buf_text = buf_text,
}
