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
    expect(head == '\137PNG\r\n\26\n', '%s is not a PNG (starts with %q)', picture, tostring(head))
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

  check('a failing line\'s error shows as an inlay hint ("✗ NameError: …")', function()
    goto_line(15)
    run_and_wait(':LspAzureSessionsRun on the failing line', function()
      vim.cmd('LspAzureSessionsRun')
    end)
    wait(5000, function()
      return hint_on(14, '^✗ NameError') ~= nil
    end, 'an inlay hint "✗ NameError…" on line 15; have: ' .. all_hints())
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
