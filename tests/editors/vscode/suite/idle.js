// Extension-host suite for a workspace without Flux manifests (driver.js makes
// one): the extension activates on YAML but starts no server, hides its status
// item, and starts the server once a Flux manifest is opened.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

const { EXTENSION_ID, report, check, assert, waitFor } = require('./harness');

async function run() {
  const root = vscode.workspace.workspaceFolders[0].uri.fsPath;
  let api;
  await check('idle-without-flux', async () => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(root, 'config.yaml')));
    await vscode.window.showTextDocument(doc);
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert(ext, `extension ${EXTENSION_ID} is not loaded`);
    api = await ext.activate();
    await api.ready();
    assert(!api.client, 'a server was started for a workspace without Flux manifests');
    assert(api.status.serverState === 'idle', `status: ${api.status.serverState}`);
  });
  await check('start-on-flux-file', async () => {
    assert(api, 'not activated');
    const file = path.join(root, 'source.yaml');
    fs.copyFileSync(path.join(__dirname, '..', '..', 'workspace', 'infrastructure', 'sources.yaml'), file);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    await vscode.window.showTextDocument(doc);
    // on a timeout, say how far it got: never started (the open was not
    // seen as a Flux manifest), or started but not answering `initialize`
    await waitFor('the server to start', () => {
      if (api.client && api.client.isRunning()) {
        return true;
      }
      const client = api.client ? `client state ${api.client.state} (1 stopped, 2 running, 3 starting)` : 'no client';
      throw new Error(`${client}, status ${api.status.serverState}, document language ${doc.languageId}`);
    });
    assert(api.status.serverState === 'running', `status: ${api.status.serverState}`);
  });
  report({ done: true, suite: 'idle' });
}

module.exports = { run };
