--- The pool doctor for :checkhealth azure_sessions: the server's `azure-sessions.doctor` command
--- through a running client, else `azure-sessions-lsp doctor --json` with the configured settings.
--- Each check of the report becomes one vim.health line (ok, warn or error with its fix).
local M = {}

local COMMAND = 'azure-sessions.doctor'

--- How long the doctor may take: the cold-start budget, the one-line run and the token fetch.
---@param settings table
---@return integer milliseconds
function M.timeout_ms(settings)
  local cold = tonumber(settings.coldStartTimeoutSeconds) or 60
  return math.floor((cold + 90) * 1000)
end

--- `doctor --json` with the pool flags the settings give (the CLI reads no editor settings).
---@param bin string
---@param settings table the azureSessions table
---@return string[]
function M.cli_args(bin, settings)
  local args = { bin, 'doctor', '--json' }
  local flags = {
    endpoint = '--endpoint',
    api = '--api',
    apiVersion = '--api-version',
    customPath = '--custom-path',
    auth = '--auth',
    timeoutSeconds = '--timeout-seconds',
    coldStartTimeoutSeconds = '--cold-start-timeout-seconds',
  }
  for _, key in ipairs(vim.tbl_keys(flags)) do
    local value = settings[key]
    if type(value) == 'string' and value ~= '' then
      vim.list_extend(args, { flags[key], value })
    elseif type(value) == 'number' then
      vim.list_extend(args, { flags[key], tostring(math.floor(value)) })
    end
  end
  return args
end

---@param text string
---@return table? report, string? err
local function decode(text)
  local ok, report = pcall(vim.json.decode, text)
  if ok and type(report) == 'table' and type(report.checks) == 'table' then
    return report
  end
  return nil, 'the doctor gave no report: ' .. vim.trim((text or ''):sub(1, 200))
end

--- The report of the running server, for the settings of `bufnr`'s document (or its folder's).
---@param client vim.lsp.Client
---@param bufnr integer?
---@param timeout_ms integer
---@return table? report, string? err
function M.from_client(client, bufnr, timeout_ms)
  local argument = vim.empty_dict()
  if bufnr and vim.api.nvim_buf_is_valid(bufnr) then
    argument = { uri = vim.uri_from_bufnr(bufnr) }
  end
  local params = { command = COMMAND, arguments = { argument } }
  local response, err = client:request_sync('workspace/executeCommand', params, timeout_ms, bufnr)
  if not response then
    return nil, 'the language server did not answer: ' .. tostring(err)
  end
  if response.err then
    return nil, 'the language server failed: ' .. tostring(response.err.message or vim.inspect(response.err))
  end
  if type(response.result) ~= 'table' or type(response.result.checks) ~= 'table' then
    return nil, 'the language server gave no report (is it older than the doctor?)'
  end
  return response.result
end

--- The report of `azure-sessions-lsp doctor --json` (exit 0: all passed, 1: a check failed).
---@param bin string
---@param settings table
---@param timeout_ms integer
---@return table? report, string? err
function M.from_cli(bin, settings, timeout_ms)
  local args = M.cli_args(bin, settings)
  local ok, proc = pcall(vim.system, args, { text = true, stdin = false })
  if not ok then
    return nil, tostring(proc)
  end
  local res = proc:wait(timeout_ms)
  if res.code == 0 or res.code == 1 then
    return decode(res.stdout)
  end
  if res.code == 124 or res.signal ~= 0 then
    return nil, ('`%s doctor` did not finish within %d s'):format(bin, timeout_ms / 1000)
  end
  local reason = vim.split(vim.trim(res.stderr or ''), '\n', { plain = true })[1] or ''
  return nil, ('`%s doctor` exited with %d: %s'):format(bin, res.code, reason)
end

--- Reports one check through vim.health.
---@param check { name: string, status: string, detail: string, fix: string? }
function M.report_check(check)
  local health = vim.health
  local text = ('%s: %s'):format(check.name, check.detail)
  local advice = check.fix and { check.fix } or nil
  if check.status == 'ok' then
    health.ok(text)
  elseif check.status == 'warn' then
    health.warn(text, advice)
  elseif check.status == 'fail' then
    health.error(text, advice)
  else
    health.info('skipped ' .. text)
  end
end

--- The `azure-sessions: pool (doctor)` section of :checkhealth.
---@param client vim.lsp.Client? a running azure_sessions client
---@param cfg table? the resolved vim.lsp.config
---@param settings table the azureSessions settings
function M.health(client, cfg, settings)
  local health = vim.health
  health.start('azure-sessions: pool (doctor)')
  if settings.endpoint == nil or settings.endpoint == '' then
    health.info('set azureSessions.endpoint to check the pool (azure-sessions-lsp doctor)')
    return
  end
  local timeout = M.timeout_ms(settings)
  local report, err, via
  if client then
    local bufnr = next(client.attached_buffers or {})
    report, err = M.from_client(client, bufnr, timeout)
    via = 'the running language server (client ' .. client.id .. ')'
  else
    local cmd = cfg and cfg.cmd
    local bin = type(cmd) == 'table' and type(cmd[1]) == 'string' and vim.fn.exepath(cmd[1]) or ''
    if bin == '' then
      health.info('no azure-sessions-lsp binary to run the doctor with (see the server section)')
      return
    end
    report, err = M.from_cli(bin, settings, timeout)
    via = '`azure-sessions-lsp doctor --json` (no client is running; proxy and extraCaCertificates come from the environment)'
  end
  if not report then
    health.error('the doctor could not run: ' .. tostring(err))
    return
  end
  health.info(('checked %s through %s'):format(report.endpoint ~= '' and report.endpoint or 'the pool', via))
  for _, check in ipairs(report.checks) do
    M.report_check(check)
  end
end

return M
