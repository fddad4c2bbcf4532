-- End-to-end test of flux-lsp in headless Neovim 0.11, through the plugin in
-- editors/nvim (lsp/flux_lsp.lua + vim.lsp.enable, user commands).
--
--   FLUX_LSP_BIN=/abs/flux-lsp E2E_WORKSPACE=/tmp/copy-of-workspace \
--   E2E_PLUGIN=/abs/editors/nvim XDG_STATE_HOME=$(mktemp -d) \
--     nvim --headless --clean -l tests/editors/nvim/e2e.lua
--
-- Prints one line per check (`PASS name` / `FAIL name: why` / `PENDING name: why`)
-- and exits 1 when any check failed. Checks named in E2E_PENDING (comma
-- separated) are reported as PENDING instead of FAIL: for server features that
-- are not there yet, never for regressions.

local bin = assert(os.getenv('FLUX_LSP_BIN'), 'FLUX_LSP_BIN is not set')
local ws = assert(os.getenv('E2E_WORKSPACE'), 'E2E_WORKSPACE is not set')
local plugin = assert(os.getenv('E2E_PLUGIN'), 'E2E_PLUGIN is not set')
local timeout = tonumber(os.getenv('E2E_TIMEOUT') or '') or 15000
local pending = {}
for name in (os.getenv('E2E_PENDING') or ''):gmatch('[^,%s]+') do
  pending[name] = true
end

local failures, passes = 0, 0
local t0 = vim.uv.hrtime()
local function ms()
  return math.floor((vim.uv.hrtime() - t0) / 1e6)
end
local function out(line)
  io.stdout:write(line .. '\n')
end

--- Runs one check; `fn` returns nothing on success or raises with the reason.
local function check(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passes = passes + 1
    out(('PASS nvim/%s (%d ms)'):format(name, ms()))
  elseif pending[name] then
    out(('PENDING nvim/%s: %s'):format(name, tostring(err):gsub('\n.*', '')))
  else
    failures = failures + 1
    out(('FAIL nvim/%s: %s'):format(name, tostring(err)))
  end
  return ok
end

local function wait(what, pred)
  if not vim.wait(timeout, pred, 20) then
    error(('timed out after %d ms waiting for %s'):format(timeout, what), 2)
  end
end

local function finish()
  for _, c in ipairs(vim.lsp.get_clients({ _uninitialized = true })) do
    c:stop()
  end
  vim.wait(2000, function()
    return #vim.lsp.get_clients({ _uninitialized = true }) == 0
  end, 20)
  for _, c in ipairs(vim.lsp.get_clients({ _uninitialized = true })) do
    c:stop(true)
  end
  out(('nvim: %d passed, %d failed (%d ms)'):format(passes, failures, ms()))
  os.exit(failures > 0 and 1 or 0)
end

-- Load the plugin as a user would (lazy.nvim/packadd put it on the runtimepath).
vim.opt.runtimepath:prepend(plugin)
vim.cmd.runtime('plugin/flux_lsp.lua')
local flux = require('flux_lsp')

local attached = {} -- bufnr -> client
vim.api.nvim_create_autocmd('LspAttach', {
  callback = function(ev)
    local c = vim.lsp.get_client_by_id(ev.data.client_id)
    if c and c.name == 'flux_lsp' then
      attached[ev.buf] = c
    end
  end,
})
local notes = {}

vim.notify = function(msg, level, opts)
  table.insert(notes, { msg = tostring(msg), level = level })
  -- not echoed: headless output is the test report
end

vim.lsp.config('flux_lsp', {
  cmd = { bin },
  settings = {
    fluxLsp = {
      -- a test runs without a cluster: the overlay stays off
      cluster = { enabled = false },
      diagnostics = { severity = { ['duplicate-key'] = 'warning' } },
    },
  },
})
vim.lsp.enable('flux_lsp')

local function path(rel)
  return vim.fs.joinpath(ws, rel)
end

local function diags(bufnr, code)
  return vim.tbl_filter(function(d)
    return code == nil or d.code == code
  end, vim.diagnostic.get(bufnr))
end

local function describe(ds)
  return vim.inspect(vim.tbl_map(function(d)
    return ('%d:%d %s %s'):format(d.lnum + 1, d.col + 1, tostring(d.code), d.message)
  end, ds))
end

local function request(bufnr, method, params)
  local res, err = vim.lsp.buf_request_sync(bufnr, method, params, timeout)
  if not res then
    error(method .. ': ' .. tostring(err), 2)
  end
  for _, r in pairs(res) do
    if r.err then
      error(method .. ': ' .. vim.inspect(r.err), 2)
    end
    return r.result
  end
  error(method .. ': no client answered', 2)
end

local function pos(bufnr, line, col)
  return { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = line, character = col } }
end

-- 1. A plain YAML file outside a Flux repository gets no client.
check('no-attach-outside-flux', function()
  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, 'p')
  vim.fn.writefile({ 'a: 1', 'b: [1, 2' }, dir .. '/plain.yaml')
  vim.cmd.edit(vim.fn.fnameescape(dir .. '/plain.yaml'))
  assert(vim.bo.filetype == 'yaml', 'filetype is ' .. vim.bo.filetype)
  vim.wait(300)
  assert(#vim.lsp.get_clients({ bufnr = 0, name = 'flux_lsp' }) == 0, 'flux_lsp attached to a non-Flux file')
end)

-- 2. Attach to a Flux manifest, with the repository root as root_dir.
vim.cmd.edit(vim.fn.fnameescape(path('apps/podinfo.yaml')))
local buf = vim.api.nvim_get_current_buf()
local client
local started = check('attach', function()
  assert(vim.bo[buf].filetype == 'yaml', 'filetype is ' .. vim.bo[buf].filetype)
  assert(vim.fn.executable(bin) == 1, bin .. ' is not an executable file')
  wait('LspAttach of flux_lsp', function()
    return attached[buf] ~= nil
  end)
  client = attached[buf]
  assert(client.root_dir == ws, ('root_dir is %s, expected %s'):format(tostring(client.root_dir), ws))
  assert(client.server_info and client.server_info.name == 'flux-lsp', 'server_info: ' .. vim.inspect(client.server_info))
end)
if not started then
  out('lsp.log: ' .. vim.lsp.get_log_path())
  finish()
end

-- 3. Schema diagnostics, pushed by the server.
check('diagnostics', function()
  wait('an unknown-field diagnostic on `prun`', function()
    return #diags(buf, 'unknown-field') > 0
  end)
  local d = diags(buf, 'unknown-field')[1]
  assert(d.lnum == 8 and d.col == 2, 'at ' .. describe({ d }))
  assert(d.severity == vim.diagnostic.severity.ERROR, 'severity ' .. tostring(d.severity))
  assert(d.message:find('prune', 1, true), 'message: ' .. d.message)
end)

-- 4. Syntax errors and duplicate keys, with a severity from the settings.
check('diagnostics-syntax', function()
  vim.cmd.edit(vim.fn.fnameescape(path('apps/broken.yaml')))
  local b = vim.api.nvim_get_current_buf()
  wait('yaml-syntax and duplicate-key diagnostics', function()
    return #diags(b, 'yaml-syntax') > 0 and #diags(b, 'duplicate-key') > 0
  end)
  local dup = diags(b, 'duplicate-key')[1]
  assert(dup.lnum == 4, 'duplicate-key at ' .. describe({ dup }))
  -- settings.fluxLsp.diagnostics.severity made it a warning
  assert(dup.severity == vim.diagnostic.severity.WARN, 'duplicate-key severity ' .. tostring(dup.severity))
  local syn = diags(b, 'yaml-syntax')[1]
  assert(syn.severity == vim.diagnostic.severity.ERROR, 'yaml-syntax severity ' .. tostring(syn.severity))
  assert(syn.lnum >= 5, 'yaml-syntax at ' .. describe({ syn }))
  vim.cmd.buffer(buf)
end)

-- 5. Hover on a schema field.
check('hover', function()
  local r = request(buf, 'textDocument/hover', pos(buf, 6, 4)) -- `interval`
  assert(r and r.contents, 'no hover')
  local text = type(r.contents) == 'string' and r.contents or r.contents.value or vim.inspect(r.contents)
  assert(#text > 20, 'hover too short: ' .. text)
  assert(text:lower():find('interval', 1, true), 'hover does not mention interval: ' .. text)
  -- and as a user sees it: `K` opens a floating window with the text
  vim.api.nvim_win_set_cursor(0, { 7, 4 })
  local before = #vim.api.nvim_list_wins()
  vim.lsp.buf.hover()
  local float
  wait('the hover window', function()
    for _, w in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(w).relative ~= '' then
        float = w
        return true
      end
    end
    return false
  end)
  local shown = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(float), 0, -1, false), '\n')
  assert(shown:lower():find('interval', 1, true), 'hover window: ' .. shown)
  vim.api.nvim_win_close(float, true)
  assert(#vim.api.nvim_list_wins() == before, 'windows left open')
end)

-- 6. Completion of a half-typed key, after an edit (didChange).
check('completion', function()
  local f = path('apps/new.yaml')
  -- the start of a Kustomization (shared with the VS Code suite), written into the copy
  local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
  vim.fn.writefile(vim.fn.readfile(vim.fs.joinpath(here, '..', 'completion-start.yaml')), f)
  vim.cmd.edit(vim.fn.fnameescape(f))
  local b = vim.api.nvim_get_current_buf()
  wait('attach to apps/new.yaml', function()
    return attached[b] ~= nil
  end)
  vim.api.nvim_buf_set_lines(b, -1, -1, false, { '  pru' })
  local params = pos(b, 7, 5)
  params.context = { triggerKind = 1 }
  local r = request(b, 'textDocument/completion', params)
  local items = r and (r.items or r) or {}
  local labels = vim.tbl_map(function(i)
    return i.label
  end, items)
  assert(vim.tbl_contains(labels, 'prune'), 'no `prune` in ' .. vim.inspect(labels))
  vim.cmd('bwipeout!')
  vim.cmd.buffer(buf)
end)

-- 7. Go to definition, across files: sourceRef.name → the GitRepository.
check('definition', function()
  vim.api.nvim_win_set_cursor(0, { 12, 11 }) -- `podinfo` in `    name: podinfo`
  vim.lsp.buf.definition()
  wait('a jump to infrastructure/sources.yaml', function()
    return vim.api.nvim_buf_get_name(0) == path('infrastructure/sources.yaml')
  end)
  local line = vim.api.nvim_win_get_cursor(0)[1]
  assert(line >= 1 and line <= 4, 'jumped to line ' .. line .. ', expected the GitRepository head or its metadata.name')
  vim.cmd.buffer(buf)
end)

-- 8. Document symbols.
check('symbols', function()
  local r = request(buf, 'textDocument/documentSymbol', { textDocument = { uri = vim.uri_from_bufnr(buf) } })
  assert(r and #r > 0, 'no symbols')
  local s = vim.inspect(r)
  assert(s:find('podinfo', 1, true), 'no symbol names podinfo: ' .. s)
end)

-- 9. Quick fix: `prun` → `prune`, applied the way a user does it.
check('quickfix', function()
  vim.api.nvim_win_set_cursor(0, { 9, 3 })
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(a)
      return a.title:find('prune', 1, true) ~= nil
    end,
  })
  wait('the fix to be applied', function()
    return vim.api.nvim_buf_get_lines(buf, 8, 9, false)[1] == '  prune: true'
  end)
  wait('the unknown-field diagnostic to go away', function()
    return #diags(buf, 'unknown-field') == 0
  end)
end)

-- 10. A cluster command through the user command: without a cluster the
-- server answers with an error, which is shown to the user.
check('command', function()
  notes = {}
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  vim.cmd('FluxReconcile')
  wait('the answer of flux-lsp.reconcile', function()
    for _, n in ipairs(notes) do
      if n.msg:find('flux-lsp.reconcile', 1, true) then
        return true
      end
    end
    return false
  end)
  local msg = notes[#notes].msg
  assert(msg:find('cluster', 1, true), 'unexpected answer: ' .. msg)
end)

-- 11. Cluster status notification and code lens refresh.
check('cluster-status', function()
  wait('flux-lsp/clusterStatus', function()
    return flux.cluster_status[client.id] ~= nil
  end)
  local s = flux.cluster_status[client.id]
  assert(s.state == 'disabled', 'state: ' .. vim.inspect(s))
  assert(flux.statusline(buf) == 'Flux', 'statusline: ' .. flux.statusline(buf))
  -- code lenses: refreshed on BufEnter/InsertLeave/BufWritePost, and answered
  local au = vim.api.nvim_get_autocmds({ group = 'flux_lsp_codelens_' .. buf })
  assert(#au >= 3, 'code lens autocmds: ' .. #au)
  request(buf, 'textDocument/codeLens', { textDocument = { uri = vim.uri_from_bufnr(buf) } })
  vim.cmd('FluxCodeLensRefresh')
end)

-- 12. The cluster state follows a settings change: a kubeconfig whose API
-- server refuses connections gives `connecting`, then `error`, with its context.
check('cluster-status-error', function()
  local kubeconfig = assert(os.getenv('E2E_KUBECONFIG'), 'E2E_KUBECONFIG is not set')
  client.settings.fluxLsp.cluster = { enabled = true, kubeconfig = kubeconfig }
  client:notify('workspace/didChangeConfiguration', { settings = client.settings })
  wait('the cluster state error for e2e-ctx', function()
    local s = flux.cluster_status[client.id]
    return s and s.state == 'error' and s.context == 'e2e-ctx'
  end)
  assert(flux.statusline(buf) == 'Flux: e2e-ctx (error)', 'statusline: ' .. flux.statusline(buf))
  client.settings.fluxLsp.cluster = { enabled = false }
  client:notify('workspace/didChangeConfiguration', { settings = client.settings })
  wait('the cluster state disabled', function()
    return flux.cluster_status[client.id].state == 'disabled'
  end)
end)

finish()
