--- Rich results of runs (`RunOutcome.displays`): images shown in a float through snacks.nvim
--- (`Snacks.image`) or image.nvim when one is installed, else opened with `vim.ui.open`; HTML and
--- SVG written to a private temp file and opened in the browser; Markdown and JSON in a float.
--- `:LspAzureSessionsOpenDisplay [N]` opens the displays of the last run again.
local api = vim.api
local core = require('azure_sessions.core')

local M = {}

local IMAGE_TYPES = {
  ['image/png'] = 'png',
  ['image/jpeg'] = 'jpg',
  ['image/gif'] = 'gif',
  ['image/webp'] = 'webp',
  ['image/bmp'] = 'bmp',
}

local EXTENSIONS = {
  ['text/html'] = 'html',
  ['image/svg+xml'] = 'svg',
  ['text/markdown'] = 'md',
  ['application/json'] = 'json',
}

--- Scripts off and nothing loaded from the network when the browser opens a result's HTML.
local HTML_CSP = "default-src 'none'; img-src data: file:; style-src 'unsafe-inline'; font-src data:"

---@class azure_sessions.Display
---@field mimeType string
---@field uri string?
---@field text string?

--- The displays of the last run started from Neovim, per buffer and overall.
local last = { by_buf = {}, any = nil } ---@type {by_buf: table<integer, azure_sessions.Display[]>, any: azure_sessions.Display[]?}
M._last = last

---@param d azure_sessions.Display
---@return string? path of the display's file
local function file_of(d)
  if type(d.uri) == 'string' and vim.startswith(d.uri, 'file:') then
    return vim.uri_to_fname(d.uri)
  end
end

---@param d azure_sessions.Display
function M.is_image(d)
  return IMAGE_TYPES[d.mimeType] ~= nil and file_of(d) ~= nil
end

local float = core.float

--- Calls `show(buf, win)` with a new float; when it fails the float is closed again (the caller
--- falls back to `vim.ui.open`). Returns true when it showed.
local function in_float(show)
  local buf, win = float(nil, { width = 60, height = 20, title = ' azure-sessions ' })
  local ok = pcall(show, buf, win)
  if not ok and win and api.nvim_win_is_valid(win) then
    api.nvim_win_close(win, true)
  end
  return ok
end

--- snacks.nvim: an image placement in a float. Returns true when it showed the image.
local function try_snacks(path)
  local snacks = rawget(_G, 'Snacks')
  local image = type(snacks) == 'table' and snacks.image or nil
  if type(image) ~= 'table' or type(image.placement) ~= 'table' then
    return false
  end
  if type(image.supports) == 'function' and not image.supports(path) then
    return false
  end
  return in_float(function(buf)
    image.placement.new(buf, path, { pos = { 1, 0 }, inline = true, max_width = 60, max_height = 20, auto_resize = true })
  end)
end

--- image.nvim: the image rendered in a float. Returns true when it showed the image.
local function try_image_nvim(path)
  local ok, image = pcall(require, 'image')
  if not ok or type(image) ~= 'table' or type(image.from_file) ~= 'function' then
    return false
  end
  if type(image.is_enabled) == 'function' and not image.is_enabled() then
    return false
  end
  return in_float(function(buf, win)
    local img = image.from_file(path, { window = win, buffer = buf, x = 0, y = 0, width = 60, height = 20 })
    assert(img, 'image.nvim could not read ' .. path)
    img:render()
  end)
end

--- Shows an image file: in a float through snacks.nvim or image.nvim, else with `vim.ui.open`.
---@param path string
---@return string how 'snacks' | 'image.nvim' | 'open'
function M.show_image(path)
  local mode = core.config.displays and core.config.displays.images
  if mode == 'auto' or mode == 'snacks' then
    if try_snacks(path) then
      return 'snacks'
    end
  end
  if mode == 'auto' or mode == 'image.nvim' then
    if try_image_nvim(path) then
      return 'image.nvim'
    end
  end
  vim.ui.open(path)
  return 'open'
end

--- Writes a text display to a private temp file (HTML wrapped with a page that runs no scripts).
---@param d azure_sessions.Display
---@return string path
function M.write_temp(d)
  local path = vim.fn.tempname() .. '.' .. (EXTENSIONS[d.mimeType] or 'txt')
  local text = d.text or ''
  if d.mimeType == 'text/html' then
    text = table.concat({
      '<!DOCTYPE html>',
      '<html><head><meta charset="utf-8">',
      ('<meta http-equiv="Content-Security-Policy" content="%s">'):format(HTML_CSP),
      '<title>azure-sessions result</title></head><body>',
      text,
      '</body></html>',
    }, '\n')
  end
  local f = assert(io.open(path, 'wb'))
  f:write(text)
  f:close()
  return path
end

--- Opens one display: images as `show_image`, HTML and SVG in the browser, Markdown and JSON in a float.
---@param d azure_sessions.Display
function M.open_one(d)
  local path = file_of(d)
  if IMAGE_TYPES[d.mimeType] and path then
    return M.show_image(path)
  end
  if d.text == nil then
    if path then
      vim.ui.open(path)
      return 'open'
    end
    core.notify(d.mimeType .. ' could not be saved', vim.log.levels.WARN)
    return nil
  end
  if d.mimeType == 'text/html' or d.mimeType == 'image/svg+xml' then
    vim.ui.open(M.write_temp(d))
    return 'open'
  end
  local filetype = d.mimeType == 'text/markdown' and 'markdown' or d.mimeType == 'application/json' and 'json' or nil
  float(vim.split(d.text, '\n', { plain = true }), { filetype = filetype, enter = true, title = ' ' .. d.mimeType .. ' ' })
  return 'float'
end

--- One line naming a run's displays, for its notification.
---@param displays azure_sessions.Display[]?
---@return string?
function M.describe(displays)
  if type(displays) ~= 'table' or #displays == 0 then
    return nil
  end
  local kinds = {}
  for _, d in ipairs(displays) do
    kinds[#kinds + 1] = tostring(d.mimeType)
  end
  return ('[%s] :LspAzureSessionsOpenDisplay'):format(table.concat(kinds, ', '))
end

--- Remembers a run's displays for :LspAzureSessionsOpenDisplay (per buffer when it has one).
---@param bufnr integer?
---@param outcome table RunOutcome
---@return azure_sessions.Display[]? the displays, nil when the run has none
function M.remember(bufnr, outcome)
  local displays = type(outcome.displays) == 'table' and outcome.displays or {}
  if #displays == 0 then
    return nil
  end
  if bufnr then
    last.by_buf[bufnr] = displays
  end
  last.any = displays
  return displays
end

--- Called for every finished run started from Neovim: remembers its displays and shows its first
--- image (config `displays.images`, false to only list them in the notification).
---@param bufnr integer
---@param outcome table RunOutcome
function M.on_outcome(bufnr, outcome)
  local displays = M.remember(bufnr, outcome)
  if not displays then
    return
  end
  local mode = core.config.displays and core.config.displays.images
  if mode then
    for _, d in ipairs(displays) do
      if M.is_image(d) then
        M.show_image(file_of(d))
        break
      end
    end
  end
end

--- `:LspAzureSessionsOpenDisplay [N]`: the N-th display of the last run (of this buffer, else any),
--- or all of them but the image already shown.
---@param bufnr integer?
---@param n integer?
function M.open(bufnr, n)
  bufnr = vim._resolve_bufnr(bufnr)
  local displays = last.by_buf[bufnr] or last.any
  if not displays or #displays == 0 then
    core.notify('the last run returned no images, HTML, Markdown or JSON', vim.log.levels.WARN)
    return
  end
  if n then
    local d = displays[n]
    if not d then
      core.notify(('the last run has %d display(s), not %d'):format(#displays, n), vim.log.levels.WARN)
      return
    end
    return M.open_one(d)
  end
  for _, d in ipairs(displays) do
    M.open_one(d)
  end
end

return M
