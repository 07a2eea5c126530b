-- Phase "results" of tests/e2e.lua (results.py, local pool): inlay hints with a run's value, the
-- image a run returns handed to vim.ui.open (no snacks.nvim or image.nvim here), opening displays
-- again, and the option that leaves inlay hints off.
local api = vim.api

---@param t {h: table, ws: string, notes: table}
return function(t)
  local h, ws, notes = t.h, t.ws, t.notes
  local check, wait, expect, run_and_wait = h.check, h.wait, h.expect, h.run_and_wait
  local as = require('azure_sessions')

  -- vim.ui.open as the user's desktop would get it.
  local opened = {}
  vim.ui.open = function(path)
    table.insert(opened, path)
    h.log('vim.ui.open ' .. tostring(path))
    return nil, nil
  end

  local file = vim.fs.joinpath(ws, 'results.py')
  local buf
  check('the client attaches to results.py and turns on inlay hints there', function()
    vim.cmd.edit(vim.fn.fnameescape(file))
    buf = api.nvim_get_current_buf()
    wait(15000, function()
      local c = as.get_client(buf)
      return c ~= nil and c.initialized
    end, 'the azure_sessions client to attach to results.py')
    wait(2000, function()
      return vim.lsp.inlay_hint.is_enabled({ bufnr = buf })
    end, 'inlay hints to be enabled for results.py')
  end)

  local function goto_line(l)
    api.nvim_set_current_buf(buf)
    api.nvim_win_set_cursor(0, { l, 0 })
  end

  local function hint_on(line0, pattern)
    for _, item in ipairs(vim.lsp.inlay_hint.get({ bufnr = buf })) do
      local hint = item.inlay_hint
      local label = hint.label
      if type(label) == 'table' then
        label = table.concat(vim.tbl_map(function(p)
          return p.value
        end, label))
      end
      if hint.position.line == line0 and tostring(label):find(pattern) then
        return label
      end
    end
  end

  local function all_hints()
    return vim.inspect(vim.tbl_map(function(i)
      return { i.inlay_hint.position, i.inlay_hint.label }
    end, vim.lsp.inlay_hint.get({ bufnr = buf })))
  end

  check('after a run, vim.lsp.inlay_hint.get() has its value ("→ 42") at the end of the line', function()
    expect(buf, 'no buffer')
    goto_line(1)
    local o = run_and_wait(':LspAzureSessionsRun on line 1', function()
      vim.cmd('LspAzureSessionsRun')
    end)
    expect(o.status == 'Succeeded', 'status %s', tostring(o.status))
    wait(5000, function()
      return hint_on(0, '^→ 42$') ~= nil
    end, 'an inlay hint "→ 42" on line 1; have: ' .. all_hints())
  end)

  local picture
  check('a run that returns an image (_repr_png_) hands the PNG file to vim.ui.open', function()
    goto_line(11)
    local n = #opened
    local o = run_and_wait(':LspAzureSessionsRunCell on the picture cell', function()
      vim.cmd('LspAzureSessionsRunCell')
    end)
    expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
    expect(type(o.displays) == 'table' and o.displays[1] and o.displays[1].mimeType == 'image/png', 'displays %s', vim.inspect(o.displays))
    wait(3000, function()
      return #opened > n
    end, 'a call of vim.ui.open')
    picture = opened[#opened]
    expect(type(picture) == 'string' and picture:match('%.png$'), 'opened %s', vim.inspect(picture))
    local f = io.open(picture, 'rb')
    expect(f, '%s does not exist', picture)
    local head = f:read(8)
    f:close()
    local hex = (head or ''):gsub('.', function(c)
      return ('%02x'):format(c:byte())
    end)
    expect(head == '\137PNG\r\n\26\n', '%s is not a PNG (starts with %s)', picture, hex)
    expect(vim.uri_to_fname(o.displays[1].uri) == picture, 'opened %s, the display is %s', picture, o.displays[1].uri)
    local named = false
    for _, n2 in ipairs(notes) do
      if n2.msg:find('[image/png] :LspAzureSessionsOpenDisplay', 1, true) then
        named = true
      end
    end
    expect(named, 'the run\'s message does not name the image and the command: %s', vim.inspect(notes))
  end)

  check(':LspAzureSessionsOpenDisplay opens the last run\'s image again', function()
    expect(picture, 'no image from the previous check')
    local n = #opened
    vim.cmd('LspAzureSessionsOpenDisplay 1')
    expect(#opened == n + 1 and opened[#opened] == picture, 'opened %s', vim.inspect(opened))
  end)

  check('an image viewer that fails (image.nvim without a graphics terminal) leaves no float and falls back to vim.ui.open', function()
    expect(picture, 'no image from an earlier check')
    -- image.nvim's API (from_file/is_enabled), failing as it does in a terminal it cannot query.
    package.loaded['image'] = {
      is_enabled = function()
        return true
      end,
      from_file = function()
        error('cannot query terminal size')
      end,
    }
    local wins, n = #api.nvim_list_wins(), #opened
    local ok, how = pcall(require('azure_sessions.displays').show_image, picture)
    package.loaded['image'] = nil
    expect(ok and how == 'open', 'show_image: %s %s', tostring(ok), tostring(how))
    expect(#opened == n + 1 and opened[#opened] == picture, 'opened %s', vim.inspect(opened))
    expect(#api.nvim_list_wins() == wins, 'windows before %d, after %d', wins, #api.nvim_list_wins())
  end)

  check('a failing line\'s error shows as an inlay hint ("✗ NameError: …")', function()
    goto_line(15)
    run_and_wait(':LspAzureSessionsRun on the failing line', function()
      vim.cmd('LspAzureSessionsRun')
    end)
    wait(5000, function()
      return hint_on(14, '^✗ NameError') ~= nil
    end, 'an inlay hint "✗ NameError…" on line 15; have: ' .. all_hints())
  end)

  check('an HTML result shows as its plain text; :LspAzureSessionsOpenDisplay opens it in the browser from a page without scripts', function()
    goto_line(24)
    local o = run_and_wait(':LspAzureSessionsRunCell on the HTML cell', function()
      vim.cmd('LspAzureSessionsRunCell')
    end)
    expect(o.status == 'Succeeded', 'status %s: %s', tostring(o.status), vim.inspect(o))
    expect(o.result == 'T-plain', 'result %s', vim.inspect(o.result))
    expect(type(o.displays) == 'table' and o.displays[1] and o.displays[1].mimeType == 'text/html', 'displays %s', vim.inspect(o.displays))
    local last = notes[#notes] and notes[#notes].msg or ''
    expect(last:find('=> T-plain', 1, true) and last:find('[text/html] :LspAzureSessionsOpenDisplay', 1, true), 'message %q', last)
    local n = #opened
    vim.cmd('LspAzureSessionsOpenDisplay')
    expect(#opened == n + 1, 'vim.ui.open calls: %s', vim.inspect(opened))
    local path = opened[#opened]
    expect(type(path) == 'string' and path:match('%.html$'), 'opened %s', vim.inspect(path))
    local f = io.open(path, 'rb')
    expect(f, '%s does not exist', path)
    local page = f:read('*a')
    f:close()
    expect(page:find('<td onclick=\'alert(1)\'>html-cell</td>', 1, true), 'the page lacks the table: %s', page)
    expect(page:find([[http-equiv="Content-Security-Policy" content="default-src 'none';]], 1, true), 'the page has no CSP: %s', page)
  end)

  check(':LspAzureSessionsVariables lists a variable a run defined in a float', function()
    goto_line(18)
    run_and_wait(':LspAzureSessionsRun on the variables line', function()
      vim.cmd('LspAzureSessionsRun')
    end)
    local done
    as.variables(buf, function(err, r)
      done = { err = err, r = r }
    end)
    wait(10000, function()
      return done ~= nil
    end, 'azure-sessions.variables')
    expect(not done.err, 'error %s', vim.inspect(done.err))
    local text
    for _, win in ipairs(api.nvim_list_wins()) do
      if api.nvim_win_get_config(win).relative ~= '' then
        local t = table.concat(api.nvim_buf_get_lines(api.nvim_win_get_buf(win), 0, -1, false), '\n')
        if t:find('e2e_numbers', 1, true) then
          text = t
          pcall(api.nvim_win_close, win, true)
        end
      end
    end
    expect(text, 'no float lists e2e_numbers; the server answered %s', vim.inspect(done.r))
    expect(text:find('e2e_numbers%s+list%s+3%s+%[1, 2, 3%]'), 'float:\n%s', text)
    expect(text:find("e2e_text%s+str%s+'vars%-ok'"), 'float:\n%s', text)
    api.nvim_set_current_buf(buf)
  end)

  check(':LspAzureSessionsExportNotebook {path} writes the session\'s runs as an nbformat 4 notebook', function()
    local target = vim.fs.joinpath(ws, 'nvim-export.ipynb')
    vim.cmd('LspAzureSessionsExportNotebook ' .. vim.fn.fnameescape(target))
    wait(10000, function()
      return vim.fn.filereadable(target) == 1
    end, target)
    local nb = vim.json.decode(table.concat(vim.fn.readfile(target), '\n'))
    expect(nb.nbformat == 4, 'nbformat %s', vim.inspect(nb.nbformat))
    local found = false
    for _, c in ipairs(nb.cells or {}) do
      local src = type(c.source) == 'table' and table.concat(c.source) or tostring(c.source)
      if src:find('e2e_numbers = [1, 2, 3]', 1, true) then
        found = true
      end
    end
    expect(found, 'no cell with the variables line among %d cells', #(nb.cells or {}))
    wait(3000, function()
      for _, n2 in ipairs(notes) do
        if n2.msg:find('exported %d+ runs? to ' .. vim.pesc(target)) then
          return true
        end
      end
    end, 'a message naming ' .. target)
  end)

  check('inlay_hints = false leaves inlay hints off in the buffers the server attaches to', function()
    as.setup({ inlay_hints = false })
    vim.cmd.edit(vim.fn.fnameescape(vim.fs.joinpath(ws, 'whole.py')))
    local b2 = api.nvim_get_current_buf()
    wait(10000, function()
      return as.get_client(b2) ~= nil and vim.b[b2].azure_sessions_client ~= nil
    end, 'the client to attach to whole.py')
    expect(not vim.lsp.inlay_hint.is_enabled({ bufnr = b2 }), 'inlay hints are on in whole.py')
    expect(vim.lsp.inlay_hint.is_enabled({ bufnr = buf }), 'inlay hints went off in results.py')
    as.setup()
    vim.cmd.buffer(buf)
  end)
end
