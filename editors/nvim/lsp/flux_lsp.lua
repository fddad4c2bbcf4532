-- flux-lsp client configuration for Neovim 0.11+ (`:h lsp-config`).
--
--   vim.lsp.enable('flux_lsp')
--
-- Override any field with vim.lsp.config('flux_lsp', { ... }), e.g. `cmd` for a
-- binary that is not on PATH, or `settings.fluxLsp` for the server settings.
local flux = require('flux_lsp')

---@type vim.lsp.Config
return {
  cmd = { 'flux-lsp' },
  filetypes = { 'yaml' },
  -- The repository root (.git), but only for Flux repositories or buffers
  -- holding a Flux manifest: see require('flux_lsp').root_dir.
  root_dir = flux.root_dir,
  -- Answered to the server's workspace/configuration request for section
  -- `fluxLsp`; every key is optional and these are the server's defaults.
  settings = {
    fluxLsp = {
      diagnostics = { severity = vim.empty_dict() },
      files = { maxSize = 2097152, exclude = {} },
      schema = { crdPaths = {} },
      cluster = {
        enabled = true,
        kubeconfig = vim.NIL,
        context = vim.NIL,
        readOnly = false,
        requestTimeout = 30,
        watchTimeout = 290,
      },
      charts = {
        fetch = true,
        cacheDir = vim.NIL,
        cacheMaxMB = 512,
      },
    },
  },
  handlers = {
    ['flux-lsp/clusterStatus'] = flux.on_cluster_status,
  },
  -- code lens refresh is set up from an LspAttach autocmd (plugin/flux_lsp.lua),
  -- so that an `on_attach` of your own does not replace it
}
