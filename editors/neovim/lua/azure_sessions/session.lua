--- Session and file commands: reset, info, variables, notebook export, upload, download, list.
local api = vim.api
local core = require('azure_sessions.core')
local notify, need_client, exec = core.notify, core.need_client, core.exec

local M = {}

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

--- The MCP server configuration for the buffer's workspace folder: `azure-sessions-lsp mcp`, started by
--- an agent (mcphub.nvim, CodeCompanion, Claude Code, …), reaches this language server through its agent
--- socket, so agent runs go into the session this buffer runs in. Prints it as JSON (the `mcpServers`
--- shape of mcphub.nvim's servers.json and Claude's config) unless `cb` is given; returns the table.
---@return {command: string, args: string[], workspace: string}|nil
function M.mcp_config(bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return nil
  end
  local cmd = client.config.cmd
  local binary = type(cmd) == 'table' and cmd[1] or 'azure-sessions-lsp'
  if vim.fn.executable(binary) == 1 then
    binary = vim.fn.exepath(binary)
  end
  local name = api.nvim_buf_get_name(bufnr)
  local workspace = client.root_dir
  for _, folder in ipairs(client.workspace_folders or {}) do
    local path = vim.uri_to_fname(folder.uri)
    if name:sub(1, #path + 1) == path .. '/' and (workspace == nil or #path > #workspace or not vim.startswith(name, workspace .. '/')) then
      workspace = path
    end
  end
  workspace = workspace or vim.fn.getcwd()
  local config = { command = binary, args = { 'mcp', '--workspace', workspace }, workspace = workspace }
  if cb then
    cb(config)
  else
    local json = vim.json.encode({ mcpServers = { ['azure-sessions'] = { command = config.command, args = config.args } } })
    notify(('MCP server for %s (paste into mcphub.nvim servers.json, or: claude mcp add azure-sessions -- %s %s):\n%s'):format(
      workspace,
      config.command,
      table.concat(config.args, ' '),
      json
    ))
  end
  return config
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
  local client = core.get_client(0)
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

--- The session's variables as aligned lines: name, type, size, value.
---@param vars {name: string, type: string, summary: string, size: any}[]
---@return string[]
function M.variable_lines(vars)
  local rows = { { 'name', 'type', 'size', 'value' } }
  for _, v in ipairs(vars) do
    local size = (v.size == nil or v.size == vim.NIL) and '' or tostring(v.size)
    rows[#rows + 1] = { tostring(v.name), tostring(v.type), size, tostring(v.summary or '') }
  end
  local widths = { 0, 0, 0 }
  for _, r in ipairs(rows) do
    for i = 1, 3 do
      widths[i] = math.max(widths[i], vim.fn.strdisplaywidth(r[i]))
    end
  end
  local lines = {}
  for _, r in ipairs(rows) do
    local cells = {}
    for i = 1, 3 do
      cells[i] = r[i] .. string.rep(' ', widths[i] - vim.fn.strdisplaywidth(r[i]))
    end
    lines[#lines + 1] = table.concat(cells, '  ') .. '  ' .. r[4]
  end
  return lines
end

--- `:LspAzureSessionsVariables`: the session's user globals in a float (`q` closes it).
function M.variables(bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  exec(client, bufnr, 'azure-sessions.variables', { uri = vim.uri_from_bufnr(bufnr) }, function(err, result)
    if not err and type(result) == 'table' then
      if #result == 0 then
        notify('no variables in the session yet')
      else
        core.float(M.variable_lines(result), { enter = true, title = ' session variables ' })
      end
    end
    if cb then
      cb(err, result)
    end
  end)
end

--- The notebook a buffer's session is exported to by default: <root>/<file name>.ipynb.
local function default_notebook(client, bufnr)
  local name = vim.fn.fnamemodify(api.nvim_buf_get_name(bufnr), ':t:r')
  return vim.fs.joinpath(client.root_dir or vim.fn.getcwd(), (name ~= '' and name or 'session') .. '.ipynb')
end

--- `:LspAzureSessionsExportNotebook [path]`: the session's runs as an nbformat 4 notebook
--- (without a path: asks, offering <root>/<file name>.ipynb).
function M.export_notebook(path, bufnr, cb)
  bufnr = vim._resolve_bufnr(bufnr)
  local client = need_client(bufnr)
  if not client then
    return
  end
  local function export(target)
    if not target or target == '' then
      return
    end
    target = vim.fn.fnamemodify(vim.fn.expand(target), ':p')
    local args = { uri = vim.uri_from_bufnr(bufnr), targetUri = vim.uri_from_fname(target) }
    exec(client, bufnr, 'azure-sessions.exportNotebook', args, function(err, result)
      if not err and type(result) == 'table' then
        local cells = tonumber(result.cells) or 0
        notify(('exported %d run%s to %s'):format(cells, cells == 1 and '' or 's', target))
      end
      if cb then
        cb(err, result)
      end
    end)
  end
  if path and path ~= '' then
    return export(path)
  end
  vim.ui.input({ prompt = 'Export the session as a notebook to: ', default = default_notebook(client, bufnr), completion = 'file' }, export)
end

return M
