--- `endpointOrigin` for azure-sessions-lsp: where the endpoint in the settings may come from.
--- "workspace" when 'exrc' is on and a project-local config file sits in a root folder (or the
--- current directory, where Neovim reads it): that file can set the endpoint, so the server must
--- send no token and no request there before the user's first run (opening a folder must not pick
--- where the token goes). "user" otherwise: the endpoint is the user's, prewarmed at start.
--- See `:help azure-sessions-endpoint-origin`.
local M = {}

--- The project-local config files that Neovim sources when 'exrc' is on.
M.exrc_files = { '.nvim.lua', '.nvimrc', '.exrc' }

---@param dir string
---@return boolean
local function has_exrc(dir)
  for _, name in ipairs(M.exrc_files) do
    local stat = vim.uv.fs_stat(vim.fs.joinpath(dir, name))
    if stat and stat.type == 'file' then
      return true
    end
  end
  return false
end

--- "workspace" when 'exrc' is on and one of `dirs` or the current directory holds `.nvim.lua`,
--- `.nvimrc` or `.exrc`; else "user".
---@param dirs string[]
---@return 'user'|'workspace'
function M.endpoint_origin(dirs)
  if not vim.o.exrc then
    return 'user'
  end
  for _, dir in ipairs(vim.list_extend({ vim.fn.getcwd() }, dirs)) do
    if dir ~= '' and has_exrc(dir) then
      return 'workspace'
    end
  end
  return 'user'
end

---@param uri string?
---@return string?
local function path_of(uri)
  if type(uri) == 'string' and vim.startswith(uri, 'file:') then
    return vim.uri_to_fname(uri)
  end
end

--- The folders of `initialize`'s `workspaceFolders` (or of a client's `workspace_folders`).
---@param folders lsp.WorkspaceFolder[]|nil|userdata
---@return string[]
local function folder_paths(folders)
  local out = {}
  for _, folder in ipairs(type(folders) == 'table' and folders or {}) do
    out[#out + 1] = path_of(folder.uri)
  end
  return out
end

--- `before_init` of lsp/azure_sessions.lua. `config.settings` is the table the client pushes with
--- `workspace/didChangeConfiguration` and answers `workspace/configuration` from, so it is marked
--- in place (vim.lsp.enable hands each client its own copy).
---@param params lsp.InitializeParams
---@param config vim.lsp.ClientConfig
function M.before_init(params, config)
  local origin = M.endpoint_origin(folder_paths(params.workspaceFolders))
  -- Only sections the user configured: an `azureSessions` holding nothing but the origin would
  -- replace settings given another way (the server reads a pushed section whole).
  if type(config.settings) == 'table' and type(config.settings.azureSessions) == 'table' then
    config.settings.azureSessions.endpointOrigin = origin
  end
  if type(params.initializationOptions) == 'table' then
    -- `{azureSessions = {...}}` or the bare section; copied, as it may be the user's own table.
    local options = vim.deepcopy(params.initializationOptions)
    local section = type(options.azureSessions) == 'table' and options.azureSessions or options
    section.endpointOrigin = origin
    params.initializationOptions = options
  end
end

--- `workspace/configuration`: Neovim's own answer (from `client.settings`, the same for every
--- folder), with `endpointOrigin` for the folder each item names (all root folders for the window).
---@param err lsp.ResponseError?
---@param params lsp.ConfigurationParams
---@param ctx lsp.HandlerContext
function M.on_configuration(err, params, ctx)
  local result = vim.lsp.handlers['workspace/configuration'](err, params, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if type(result) ~= 'table' or not client then
    return result
  end
  local n = 0
  for _, item in ipairs(params.items or {}) do
    -- The default handler answers only the items that name a section, in order.
    if item.section then
      n = n + 1
      if item.section == 'azureSessions' and type(result[n]) == 'table' then
        local dirs = { path_of(item.scopeUri) }
        if #dirs == 0 then
          dirs = folder_paths(client.workspace_folders)
          dirs[#dirs + 1] = client.root_dir
        end
        local value = vim.deepcopy(result[n])
        value.endpointOrigin = M.endpoint_origin(dirs)
        result[n] = value
      end
    end
  end
  return result
end

return M
