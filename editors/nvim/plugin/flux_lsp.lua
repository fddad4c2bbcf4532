-- User commands of flux-lsp. The client itself starts with vim.lsp.enable('flux_lsp').
if vim.g.loaded_flux_lsp then
  return
end
vim.g.loaded_flux_lsp = true

vim.api.nvim_create_autocmd('LspAttach', {
  group = vim.api.nvim_create_augroup('flux_lsp', { clear = true }),
  callback = function(ev)
    local client = vim.lsp.get_client_by_id(ev.data.client_id)
    if client and client.name == 'flux_lsp' then
      require('flux_lsp').on_attach(client, ev.buf)
    end
  end,
})

local function command(name, server_command, desc)
  vim.api.nvim_create_user_command(name, function(opts)
    local line = opts.range > 0 and (opts.line1 - 1) or nil
    require('flux_lsp').execute(server_command, 0, line)
  end, { desc = desc, range = true })
end

command('FluxReconcile', 'flux-lsp.reconcile', 'flux-lsp: reconcile the Flux object under the cursor')
command(
  'FluxReconcileWithSource',
  'flux-lsp.reconcileWithSource',
  'flux-lsp: reconcile the Flux object under the cursor together with its source'
)
command('FluxSuspend', 'flux-lsp.suspend', 'flux-lsp: suspend the Flux object under the cursor')
command('FluxResume', 'flux-lsp.resume', 'flux-lsp: resume the Flux object under the cursor')

vim.api.nvim_create_user_command('FluxCodeLensRefresh', function()
  require('flux_lsp').codelens_refresh(0)
end, { desc = 'flux-lsp: refresh the code lenses of the buffer' })

vim.api.nvim_create_user_command('FluxStatus', function()
  local flux = require('flux_lsp')
  local client = vim.lsp.get_clients({ bufnr = 0, name = flux.name })[1]
  if not client then
    vim.notify('flux-lsp is not attached to this buffer', vim.log.levels.WARN)
    return
  end
  vim.notify(vim.inspect({
    server = client.server_info,
    root = client.root_dir,
    cluster = flux.cluster_status[client.id],
  }))
end, { desc = 'flux-lsp: show the server and cluster status' })
