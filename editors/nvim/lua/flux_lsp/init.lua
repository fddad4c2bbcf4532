-- flux-lsp for Neovim 0.11+: root detection, cluster status, cluster actions
-- and code lens helpers. The client configuration itself is lsp/flux_lsp.lua.
local M = {}

M.name = 'flux_lsp'

--- Server commands for `workspace/executeCommand` (arguments: `{ { uri, line } }`).
M.commands = {
  reconcile = 'flux-lsp.reconcile',
  reconcile_with_source = 'flux-lsp.reconcileWithSource',
  suspend = 'flux-lsp.suspend',
  resume = 'flux-lsp.resume',
}

local FLUX_MARKER = 'toolkit%.fluxcd%.io/'

--- Last `flux-lsp/clusterStatus` per client id: `{ state, context, message }`.
M.cluster_status = {}

--- Whether the first lines of a buffer name a Flux API group.
local function buffer_is_flux(bufnr)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, 400, false)
  for _, l in ipairs(lines) do
    if l:find(FLUX_MARKER) then
      return true
    end
  end
  return false
end

local root_has_flux = {}

--- Whether a directory holds a Flux manifest among its first YAML files (cached).
local function dir_has_flux(root)
  if root_has_flux[root] ~= nil then
    return root_has_flux[root]
  end
  local found, seen = false, 0
  local skip = { ['.git'] = true, node_modules = true, vendor = true, target = true }
  for name, kind in vim.fs.dir(root, {
    depth = 8,
    skip = function(dir)
      return not skip[vim.fs.basename(dir)]
    end,
  }) do
    if kind == 'file' and name:match('%.ya?ml$') then
      seen = seen + 1
      local fd = io.open(vim.fs.joinpath(root, name), 'r')
      if fd then
        local head = fd:read(64 * 1024) or ''
        fd:close()
        if head:find(FLUX_MARKER) then
          found = true
          break
        end
      end
      if seen >= 300 then
        break
      end
    end
  end
  root_has_flux[root] = found
  return found
end

--- Root markers, most specific first: the server resolves `spec.path` of
--- Kustomizations against the repository root, so `.git` is what matters.
M.root_markers = { '.git' }

--- `root_dir` for vim.lsp.config: the repository root of the buffer (or its
--- directory outside a repository), but only for buffers in a Flux repository
--- or holding a Flux manifest, so that other YAML files get no client.
function M.root_dir(bufnr, on_dir)
  local fname = vim.api.nvim_buf_get_name(bufnr)
  if fname == '' then
    return
  end
  local root = vim.fs.root(bufnr, M.root_markers) or vim.fs.dirname(fname)
  if vim.g.flux_lsp_attach_any_yaml or buffer_is_flux(bufnr) or dir_has_flux(root) then
    on_dir(root)
  end
end

--- Handler of `flux-lsp/clusterStatus`.
function M.on_cluster_status(_, params, ctx)
  if type(params) ~= 'table' then
    return
  end
  M.cluster_status[ctx.client_id] = params
  vim.api.nvim_exec_autocmds('User', { pattern = 'FluxLspClusterStatus', data = params, modeline = false })
  if params.state == 'error' and params.message and params.message ~= vim.NIL then
    vim.notify('flux-lsp: cluster: ' .. tostring(params.message), vim.log.levels.WARN)
  end
end

local function str(v)
  if v == nil or v == vim.NIL then
    return nil
  end
  return tostring(v)
end

--- A short status string for statuslines, e.g. `Flux: kind-dev (connected)`.
function M.statusline(bufnr)
  local client = vim.lsp.get_clients({ bufnr = bufnr or 0, name = M.name })[1]
  if not client then
    return ''
  end
  local s = M.cluster_status[client.id]
  if not s or s.state == 'disabled' then
    return 'Flux'
  end
  local ctx = str(s.context)
  return ctx and ('Flux: %s (%s)'):format(ctx, s.state) or ('Flux: ' .. s.state)
end

local function client_for(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = M.name })[1]
end

--- Runs a server command on the object at `line` (0-based) of `bufnr`.
--- `callback(err, result)` defaults to a notification.
function M.execute(command, bufnr, line, callback)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if line == nil then
    line = vim.api.nvim_win_get_cursor(0)[1] - 1
  end
  callback = callback
    or function(err, result)
      if err then
        vim.notify(('flux-lsp: %s failed: %s'):format(command, err.message or vim.inspect(err)), vim.log.levels.ERROR)
      elseif type(result) == 'table' and result.message then
        vim.notify('flux-lsp: ' .. result.message, vim.log.levels.INFO)
      end
    end
  local client = client_for(bufnr)
  if not client then
    callback({ code = -1, message = 'flux-lsp is not attached to this buffer' }, nil)
    return
  end
  client:request('workspace/executeCommand', {
    command = command,
    arguments = { { uri = vim.uri_from_bufnr(bufnr), line = line } },
  }, callback, bufnr)
end

--- Refreshes the code lenses of a buffer (cluster status and actions).
function M.codelens_refresh(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if client_for(bufnr) then
    vim.lsp.codelens.refresh({ bufnr = bufnr })
  end
end

--- Called on LspAttach of flux_lsp (plugin/flux_lsp.lua): code lenses stay fresh while editing.
function M.on_attach(client, bufnr)
  if client:supports_method('textDocument/codeLens') and vim.g.flux_lsp_codelens ~= false then
    local group = vim.api.nvim_create_augroup('flux_lsp_codelens_' .. bufnr, { clear = true })
    vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'BufWritePost' }, {
      group = group,
      buffer = bufnr,
      callback = function()
        M.codelens_refresh(bufnr)
      end,
    })
    M.codelens_refresh(bufnr)
  end
end

return M
