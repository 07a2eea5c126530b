--- :checkhealth azure_sessions
local M = {}

local health = vim.health

local valid = {
  api = { executions = true, legacy = true, custom = true },
  auth = { auto = true, ['azure-cli'] = true, ['managed-identity'] = true, none = true },
  sessionScope = { workspace = true, file = true },
  diagnostics = { all = true, errors = true, off = true },
}

local function clients()
  local as = require('azure_sessions')
  return vim.tbl_filter(as.is_ours, vim.lsp.get_clients())
end

--- Run a program, at most `ms` milliseconds. Returns the vim.SystemCompleted or nil, reason.
local function run(cmd, ms)
  local ok, proc = pcall(vim.system, cmd, { text = true, stdin = false })
  if not ok then
    return nil, tostring(proc)
  end
  local res = proc:wait(ms)
  if res.code == 124 then
    return nil, ('timed out after %d s'):format(ms / 1000)
  end
  return res
end

local function first_line(s)
  return vim.trim(vim.split(s or '', '\n', { plain = true })[1] or '')
end

local function is_loopback(host)
  host = host:lower():gsub('^%[', ''):gsub('%]$', '')
  return host == 'localhost' or host == '::1' or host:match('^127%.%d+%.%d+%.%d+$') ~= nil
end

local function check_neovim()
  health.start('azure-sessions: Neovim')
  local v = vim.version()
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok(('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch))
  else
    health.error('Neovim 0.11 or newer is required (vim.lsp.config / vim.lsp.enable)')
  end
  local files = vim.api.nvim_get_runtime_file('lsp/azure_sessions.lua', true)
  if #files > 0 then
    health.ok('lsp/azure_sessions.lua found: ' .. files[1])
  else
    health.error("lsp/azure_sessions.lua is not on 'runtimepath'", {
      'Add the editors/neovim directory of azure-sessions-lsp to the runtimepath',
      "e.g. vim.opt.rtp:append('/path/to/azure-sessions-lsp/editors/neovim')",
    })
  end
  local enabled
  if type(vim.lsp.is_enabled) == 'function' then
    enabled = vim.lsp.is_enabled('azure_sessions')
  elseif type(vim.lsp._enabled_configs) == 'table' then
    enabled = vim.lsp._enabled_configs.azure_sessions ~= nil
  end
  local running = #clients() > 0
  if enabled or running then
    health.ok('azure_sessions is enabled' .. (running and ' and running' or ''))
  elseif enabled == false then
    health.warn('azure_sessions is not enabled', { "Add vim.lsp.enable('azure_sessions') to your config" })
  end
end

---@return vim.lsp.Config?
local function resolved_config()
  local ok, cfg = pcall(function()
    return vim.lsp.config.azure_sessions
  end)
  if ok and type(cfg) == 'table' then
    return cfg
  end
end

local function check_binary(cfg)
  health.start('azure-sessions: server')
  local cmd = cfg and cfg.cmd
  if type(cmd) == 'function' then
    health.info('cmd is a function: the binary cannot be checked')
    return
  end
  if type(cmd) ~= 'table' or type(cmd[1]) ~= 'string' then
    health.error('no cmd configured for azure_sessions')
    return
  end
  local exe = vim.fn.exepath(cmd[1])
  if exe == '' then
    health.error(('%s not found (cmd = %s)'):format(cmd[1], vim.inspect(cmd)), {
      'Build it with `cargo build --release` in the azure-sessions-lsp repository and put target/release on $PATH,',
      "or point cmd at it: vim.lsp.config('azure_sessions', { cmd = { '/path/to/azure-sessions-lsp', 'serve' } })",
    })
    return
  end
  health.ok('binary: ' .. exe)
  local res, why = run({ exe, '--version' }, 5000)
  if not res then
    health.error('`' .. cmd[1] .. ' --version` failed: ' .. tostring(why))
  elseif res.code ~= 0 then
    health.error(('`%s --version` exited with %d: %s'):format(cmd[1], res.code, first_line(res.stderr)))
  else
    local line = first_line(res.stdout)
    if line:match('^azure%-sessions%-lsp%s+%d') then
      health.ok('version: ' .. line)
    else
      health.warn('unexpected `--version` output: ' .. line)
    end
  end
end

local function check_settings(s)
  health.start('azure-sessions: settings (azureSessions)')
  local endpoint = s.endpoint
  if endpoint == nil or endpoint == '' then
    health.warn('azureSessions.endpoint is not set: runs will fail until it is', {
      "vim.lsp.config('azure_sessions', { settings = { azureSessions = { endpoint = 'https://<region>.dynamicsessions.io/subscriptions/<id>/resourceGroups/<rg>/sessionPools/<pool>' } } })",
      "or endpoint = 'local' to try it with the built-in local pool (runs code on this machine)",
    })
  elseif endpoint == 'local' then
    health.ok('endpoint = "local": the built-in local pool')
    health.info('With "local", code runs on THIS machine (python3 / node), not in Azure.')
    for _, prog in ipairs({ 'python3', 'node' }) do
      if vim.fn.executable(prog) == 1 then
        health.ok(prog .. ' found for the local pool')
      else
        health.warn(prog .. ' not found: the local pool cannot run that language')
      end
    end
  elseif type(endpoint) ~= 'string' then
    health.error('azureSessions.endpoint must be a string, got ' .. type(endpoint))
  elseif endpoint:match('^https://[^/]') then
    health.ok('endpoint: ' .. endpoint)
  elseif endpoint:match('^http://') then
    local host = endpoint:match('^http://(%[[^%]]+%])') or endpoint:match('^http://([^/:?#]+)') or ''
    if is_loopback(host) then
      health.ok('endpoint: ' .. endpoint .. ' (plain HTTP to loopback)')
    else
      health.error('endpoint uses plain http:// to a non-loopback host (' .. host .. '): the server refuses it', {
        'Use the https:// endpoint of the session pool',
      })
    end
  else
    health.error('azureSessions.endpoint is not a URL: ' .. endpoint, { 'Use "", "local" or an https:// URL' })
  end
  for key, values in pairs(valid) do
    local v = s[key]
    if v ~= nil and not values[v] then
      health.error(
        ('azureSessions.%s = %s is not valid'):format(key, vim.inspect(v)),
        { 'one of: ' .. table.concat(vim.tbl_keys(values), ', ') }
      )
    end
  end
  if s.endpointOrigin == 'workspace' then
    health.info(
      "endpointOrigin = \"workspace\" ('exrc' is on and a project-local config file is in the root): "
        .. 'no prewarm, nothing is sent to the endpoint before your first run (:help azure-sessions-endpoint-origin)'
    )
  end
  return endpoint, s.auth or 'auto'
end

local function check_credentials(endpoint, auth)
  health.start('azure-sessions: credentials')
  if endpoint == 'local' then
    health.ok('endpoint = "local" needs no credential (none is fetched)')
    return
  end
  if auth == 'none' then
    health.ok('auth = "none": no Authorization header is sent')
    return
  end
  local found = false
  local env = vim.env
  if auth == 'auto' then
    if env.AZURE_FEDERATED_TOKEN_FILE and env.AZURE_CLIENT_ID and env.AZURE_TENANT_ID then
      health.ok('workload identity: AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID are set')
      found = true
    end
    if env.AZURE_CLIENT_SECRET and env.AZURE_CLIENT_ID and env.AZURE_TENANT_ID then
      health.ok('client secret: AZURE_CLIENT_SECRET, AZURE_CLIENT_ID and AZURE_TENANT_ID are set')
      found = true
    end
  end
  if auth == 'auto' or auth == 'azure-cli' then
    local az = vim.fn.exepath('az')
    if az == '' then
      health.info('Azure CLI (az) not found on PATH')
    else
      local res, why = run({ az, 'account', 'show', '--output', 'none' }, 20000)
      if res and res.code == 0 then
        health.ok('Azure CLI is signed in (az account show)')
        found = true
      else
        health.warn(
          'Azure CLI found but `az account show` failed: ' .. (res and first_line(res.stderr) or tostring(why)),
          { 'Run `az login`' }
        )
      end
    end
  end
  if auth == 'auto' then
    local azd = vim.fn.exepath('azd')
    if azd ~= '' then
      local res = run({ azd, 'auth', 'login', '--check-status' }, 20000)
      if res and res.code == 0 then
        health.ok('Azure Developer CLI (azd) is signed in')
        found = true
      else
        health.info('Azure Developer CLI (azd) found but not signed in (`azd auth login`)')
      end
    end
  end
  if auth == 'auto' or auth == 'managed-identity' then
    if env.IDENTITY_ENDPOINT or env.MSI_ENDPOINT then
      health.ok('managed identity endpoint configured (IDENTITY_ENDPOINT/MSI_ENDPOINT)')
      found = true
    elseif auth == 'managed-identity' then
      health.error('auth = "managed-identity" but neither IDENTITY_ENDPOINT nor MSI_ENDPOINT is set')
    end
  end
  if not found then
    health.error('no credential found for auth = "' .. auth .. '"', {
      'Run `az login` (Azure CLI) or `azd auth login`,',
      'or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE),',
      'and give the identity the "Azure ContainerApps Session Executor" role on the session pool.',
    })
  end
end

local function check_clients()
  health.start('azure-sessions: running clients')
  local list = clients()
  if #list == 0 then
    health.info('no azure_sessions client is running (open a Python or JavaScript file)')
    return
  end
  for _, c in ipairs(list) do
    local bufs = vim.tbl_keys(c.attached_buffers or {})
    health.ok(('client %d: root %s, %d buffer(s), position encoding %s'):format(
      c.id,
      tostring(c.root_dir),
      #bufs,
      tostring(c.offset_encoding)
    ))
  end
end

function M.check()
  check_neovim()
  local cfg = resolved_config()
  check_binary(cfg)
  -- Settings of a running client are what the server sees; else the configured ones.
  local settings
  local running = clients()[1]
  if running and type(running.settings) == 'table' then
    settings = running.settings
  elseif running and type(running.config.settings) == 'table' then
    settings = running.config.settings
  else
    settings = cfg and cfg.settings or {}
  end
  local s = type(settings.azureSessions) == 'table' and settings.azureSessions or {}
  local endpoint, auth = check_settings(s)
  check_credentials(endpoint, auth)
  -- The pool itself, step by step (DNS, TLS, token, role, a one-line run, cold start).
  require('azure_sessions.doctor').health(running, cfg, s)
  check_clients()
end

return M
