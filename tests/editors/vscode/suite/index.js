// Extension-host test suite: runs inside code-server's (Node) extension host
// with editors/vscode loaded as the development extension, against the real
// flux-lsp binary. Loaded through the `extensionTestsPath` payload entry.
//
// Results go to the JSON-lines file named by E2E_RESULT (set by driver.js):
// one {"name","ok","error","ms"} object per check, then {"done":true,"suite":"index"}.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

const { EXTENSION_ID, report, check, assert, waitFor } = require('./harness');

function codeOf(d) {
  return d.code && typeof d.code === 'object' ? String(d.code.value) : String(d.code);
}

function diagnostics(uri, code) {
  return vscode.languages.getDiagnostics(uri).filter((d) => code === undefined || codeOf(d) === code);
}

function describe(ds) {
  return JSON.stringify(ds.map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${codeOf(d)} ${d.message}`));
}

function hoverText(hovers) {
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : c.value))
    .join('\n');
}

async function run() {
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  if (!folder) {
    report({ name: 'workspace', ok: false, error: 'no workspace folder is open' });
    report({ done: true, suite: 'index' });
    return;
  }
  const root = folder.uri.fsPath;
  const uriOf = (rel) => vscode.Uri.file(path.join(root, rel));
  const podinfo = uriOf('apps/podinfo.yaml');
  let api;
  let doc;
  let editor;

  const ok = await check('activate', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert(ext, `extension ${EXTENSION_ID} is not loaded`);
    doc = await vscode.workspace.openTextDocument(podinfo);
    editor = await vscode.window.showTextDocument(doc);
    api = await ext.activate();
    await api.ready();
    assert(api.client, `no language client; status bar: ${api.status.text}`);
    await waitFor('the client to run', () => api.client.isRunning());
    const info = api.client.initializeResult && api.client.initializeResult.serverInfo;
    assert(info && info.name === 'flux-lsp', `serverInfo: ${JSON.stringify(info)}`);
  });
  if (!ok) {
    report({ done: true, suite: 'index' });
    return;
  }

  await check('diagnostics', async () => {
    const [d] = await waitFor('an unknown-field diagnostic', () => diagnostics(podinfo, 'unknown-field').length > 0 && diagnostics(podinfo, 'unknown-field'));
    assert(d.range.start.line === 8 && d.range.start.character === 2, `at ${describe([d])}`);
    assert(d.severity === vscode.DiagnosticSeverity.Error, `severity ${d.severity}`);
    assert(d.message.includes('prune'), `message: ${d.message}`);
    assert(d.source === undefined || typeof d.source === 'string', 'source');
  });

  await check('diagnostics-syntax', async () => {
    const broken = uriOf('apps/broken.yaml');
    await vscode.workspace.openTextDocument(broken);
    await waitFor('yaml-syntax and duplicate-key', () => diagnostics(broken, 'yaml-syntax').length > 0 && diagnostics(broken, 'duplicate-key').length > 0);
    const [dup] = diagnostics(broken, 'duplicate-key');
    assert(dup.range.start.line === 4, `duplicate-key at ${describe([dup])}`);
    // fluxLsp.diagnostics.severity in the user settings made it a warning
    assert(dup.severity === vscode.DiagnosticSeverity.Warning, `duplicate-key severity ${dup.severity}`);
    const [syn] = diagnostics(broken, 'yaml-syntax');
    assert(syn.severity === vscode.DiagnosticSeverity.Error, `yaml-syntax severity ${syn.severity}`);
  });

  await check('hover', async () => {
    const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', podinfo, new vscode.Position(6, 4));
    const text = hoverText(hovers || []);
    assert(text.length > 20, `hover too short: ${JSON.stringify(text)}`);
    assert(text.toLowerCase().includes('interval'), `hover does not mention interval: ${text}`);
  });

  await check('completion', async () => {
    const file = uriOf('apps/new.yaml');
    // the start of a Kustomization (shared with the Neovim suite), written into the copy
    fs.copyFileSync(path.join(__dirname, '..', '..', 'completion-start.yaml'), file.fsPath);
    const d = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(d);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(file, new vscode.Position(7, 0), '  pru');
    assert(await vscode.workspace.applyEdit(edit), 'the edit was not applied');
    const list = await vscode.commands.executeCommand('vscode.executeCompletionItemProvider', file, new vscode.Position(7, 5));
    const labels = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    assert(labels.includes('prune'), `no prune in ${JSON.stringify(labels.slice(0, 40))}`);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    editor = await vscode.window.showTextDocument(doc);
  });

  await check('definition', async () => {
    const locs = await vscode.commands.executeCommand('vscode.executeDefinitionProvider', podinfo, new vscode.Position(11, 11));
    assert(locs && locs.length > 0, 'no definition');
    const l = locs[0];
    const uri = l.targetUri || l.uri;
    const range = l.targetSelectionRange || l.targetRange || l.range;
    assert(uri.fsPath === uriOf('infrastructure/sources.yaml').fsPath, `definition in ${uri.fsPath}`);
    assert(range.start.line <= 4, `definition at line ${range.start.line + 1}`);
  });

  await check('symbols', async () => {
    const symbols = await vscode.commands.executeCommand('vscode.executeDocumentSymbolProvider', podinfo);
    assert(symbols && symbols.length > 0, 'no symbols');
    assert(JSON.stringify(symbols.map((s) => s.name)).includes('podinfo'), `symbols: ${JSON.stringify(symbols.map((s) => s.name))}`);
  });

  await check('quickfix', async () => {
    const [d] = diagnostics(podinfo, 'unknown-field');
    assert(d, 'no unknown-field diagnostic to fix');
    const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', podinfo, d.range, vscode.CodeActionKind.QuickFix.value);
    const titles = (actions || []).map((a) => a.title);
    const fix = (actions || []).find((a) => a.title.includes('prune'));
    assert(fix, `no fix with prune in ${JSON.stringify(titles)}`);
    assert(fix.edit, `the fix has no edit: ${JSON.stringify(fix)}`);
    assert(await vscode.workspace.applyEdit(fix.edit), 'the fix was not applied');
    assert(doc.lineAt(8).text === '  prune: true', `line 9 is ${JSON.stringify(doc.lineAt(8).text)}`);
    await waitFor('the unknown-field diagnostic to go away', () => diagnostics(podinfo, 'unknown-field').length === 0);
  });

  await check('status-bar', async () => {
    // the server reports the cluster state (the overlay is off in the test settings)
    await waitFor('flux-lsp/clusterStatus', () => api.status.clusterStatus);
    assert(api.status.clusterStatus.state === 'disabled', `cluster status ${JSON.stringify(api.status.clusterStatus)}`);
    assert(api.status.text === '$(check) Flux', `status bar text ${api.status.text}`);
  });

  await check('command', async () => {
    editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(1, 0, 1, 0);
    // Without a cluster the server refuses: the answer comes from the server.
    const first = await vscode.commands.executeCommand('fluxLsp.reconcile');
    assert(first && first.ok === false && /cluster/.test(first.error), `reconcile: ${JSON.stringify(first)}`);
    // A settings change reaches the server (workspace/didChangeConfiguration).
    const config = vscode.workspace.getConfiguration('fluxLsp');
    await config.update('cluster.readOnly', true, vscode.ConfigurationTarget.Global);
    const second = await waitFor('the readOnly refusal', async () => {
      const r = await vscode.commands.executeCommand('fluxLsp.suspend');
      return r && r.ok === false && /readOnly/.test(r.error) && r;
    });
    assert(second.code === 2, `suspend: ${JSON.stringify(second)}`);
  });

  await check('status-bar-cluster', async () => {
    // a kubeconfig whose API server refuses connections (written by driver.js)
    const kubeconfig = process.env.E2E_KUBECONFIG;
    assert(kubeconfig && fs.existsSync(kubeconfig), `E2E_KUBECONFIG: ${kubeconfig}`);
    const config = vscode.workspace.getConfiguration('fluxLsp');
    await config.update('cluster.kubeconfig', kubeconfig, vscode.ConfigurationTarget.Global);
    await config.update('cluster.enabled', true, vscode.ConfigurationTarget.Global);
    await waitFor('the status bar to show the failed connection to e2e-ctx', () => api.status.text === '$(warning) Flux: e2e-ctx');
    assert(api.status.clusterStatus.state === 'error', `cluster status ${JSON.stringify(api.status.clusterStatus)}`);
    await config.update('cluster.enabled', false, vscode.ConfigurationTarget.Global);
    await waitFor('the status bar to show the cluster off again', () => api.status.text === '$(check) Flux');
    await config.update('cluster.kubeconfig', undefined, vscode.ConfigurationTarget.Global);
  });

  const configuredPath = vscode.workspace.getConfiguration('fluxLsp').inspect('server.path').globalValue;
  await check('server-missing', async () => {
    const config = vscode.workspace.getConfiguration('fluxLsp');
    await config.update('server.path', '/nonexistent/flux-lsp', vscode.ConfigurationTarget.Global);
    await waitFor('the status bar to say no server', () => api.status.text === '$(error) Flux: no server');
    assert(!api.client, 'a client is still there');
  });

  // leave the user settings as the driver wrote them
  const config = vscode.workspace.getConfiguration('fluxLsp');
  await config.update('server.path', configuredPath, vscode.ConfigurationTarget.Global);
  await config.update('cluster.readOnly', undefined, vscode.ConfigurationTarget.Global);

  report({ done: true, suite: 'index' });
}

module.exports = { run };
