-- Transcript buffers: read-only, q closes the window.
if vim.b.did_ftplugin then
  return
end
vim.b.did_ftplugin = true
vim.bo.modifiable = false
vim.bo.buftype = 'nofile'
vim.bo.swapfile = false
vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = true, nowait = true, desc = 'Close the transcript' })
vim.b.undo_ftplugin = 'setlocal modifiable< buftype< swapfile< | silent! nunmap <buffer> q'
