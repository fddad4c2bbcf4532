// VS Code client for flux-lsp.

import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';

import { findServer } from './server';
import { ClusterStatus, StatusItem } from './status';

const SECTION = 'fluxLsp';
/** Settings of the `fluxLsp` section that belong to the extension, not to the server. */
const CLIENT_ONLY_KEYS = ['server', 'trace'];
/** Cluster actions: palette command → server command for `workspace/executeCommand`. */
const CLUSTER_ACTIONS: ReadonlyArray<[string, string, string]> = [
  ['fluxLsp.reconcile', 'flux-lsp.reconcile', 'Reconcile'],
  ['fluxLsp.reconcileWithSource', 'flux-lsp.reconcileWithSource', 'Reconcile with Source'],
  ['fluxLsp.suspend', 'flux-lsp.suspend', 'Suspend'],
  ['fluxLsp.resume', 'flux-lsp.resume', 'Resume'],
];
const FLUX_MARKER = /apiVersion:\s*["']?[a-z.]*toolkit\.fluxcd\.io\//;
const SCAN_LIMIT = 300;

/** What `activate` returns: used by the extension-host tests. */
export interface FluxLspApi {
  readonly client: LanguageClient | undefined;
  readonly status: StatusItem;
  /** Resolves once a server start attempt finished (successfully or not). */
  ready(): Promise<void>;
  start(): Promise<void>;
}

let output: vscode.OutputChannel;
let traceOutput: vscode.OutputChannel;
let status: StatusItem;
let client: LanguageClient | undefined;
let starting: Promise<void> | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<FluxLspApi> {
  output = vscode.window.createOutputChannel('Flux LSP');
  traceOutput = vscode.window.createOutputChannel('Flux LSP Trace');
  status = new StatusItem();
  context.subscriptions.push(output, traceOutput, status);

  context.subscriptions.push(
    vscode.commands.registerCommand('fluxLsp.showOutput', () => output.show(true)),
    vscode.commands.registerCommand('fluxLsp.restartServer', () => restart(context)),
    ...CLUSTER_ACTIONS.map(([id, serverCommand, title]) =>
      vscode.commands.registerCommand(id, (uri?: vscode.Uri, line?: number) => clusterAction(serverCommand, title, uri, line)),
    ),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SECTION}.server`)) {
        output.appendLine('fluxLsp.server settings changed: restarting the server');
        void restart(context);
      }
    }),
  );

  const api: FluxLspApi = {
    get client() {
      return client;
    },
    status,
    ready: () => starting ?? Promise.resolve(),
    start: () => ensureStarted(context),
  };

  if (await workspaceHasFlux()) {
    void ensureStarted(context);
  } else {
    output.appendLine('no Flux manifest in this workspace yet: the server starts when one is opened');
    status.setServer('idle');
    const watch = vscode.workspace.onDidOpenTextDocument((doc) => {
      if (isFluxDocument(doc)) {
        watch.dispose();
        void ensureStarted(context);
      }
    });
    context.subscriptions.push(watch);
  }
  return api;
}

export async function deactivate(): Promise<void> {
  await stopClient();
}

function isFluxDocument(doc: vscode.TextDocument): boolean {
  return doc.languageId === 'yaml' && doc.uri.scheme === 'file' && FLUX_MARKER.test(doc.getText());
}

/** Whether the workspace holds Flux manifests: an open document, or a YAML file among the first few hundred. */
async function workspaceHasFlux(): Promise<boolean> {
  if (vscode.workspace.textDocuments.some(isFluxDocument)) {
    return true;
  }
  if (!vscode.workspace.workspaceFolders?.length) {
    // single files without a folder: the open documents were all there is
    return false;
  }
  const files = await vscode.workspace.findFiles('**/*.{yaml,yml}', '**/{node_modules,.git,vendor}/**', SCAN_LIMIT);
  for (const uri of files) {
    try {
      const bytes = await vscode.workspace.fs.readFile(uri);
      if (FLUX_MARKER.test(Buffer.from(bytes.subarray(0, 64 * 1024)).toString('utf8'))) {
        return true;
      }
    } catch {
      // unreadable: skip
    }
  }
  return false;
}

function ensureStarted(context: vscode.ExtensionContext): Promise<void> {
  if (!starting) {
    starting = startClient(context).catch((err) => {
      status.setServer('stopped', String(err));
      output.appendLine(`failed to start the server: ${err}`);
    });
  }
  return starting;
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const lookup = findServer(config.get<string | null>('server.path'), context.extensionPath, folder);
  for (const line of lookup.tried) {
    output.appendLine(`server lookup: ${line}`);
  }
  if (!lookup.path) {
    status.setServer('missing', lookup.tried.join('\n'));
    const openSettings = 'Open Settings';
    const showOutput = 'Show Output';
    void vscode.window
      .showErrorMessage(
        'Flux LSP: the flux-lsp language server was not found (setting fluxLsp.server.path, the extension\'s server/ folder, PATH). Install flux-lsp or set "fluxLsp.server.path".',
        openSettings,
        showOutput,
      )
      .then((choice) => {
        if (choice === openSettings) {
          void vscode.commands.executeCommand('workbench.action.openSettings', 'fluxLsp.server.path');
        } else if (choice === showOutput) {
          output.show(true);
        }
      });
    return;
  }
  output.appendLine(`starting ${lookup.path} (from ${lookup.source})`);
  status.setServer('starting');

  const extraEnv = config.get<Record<string, string>>('server.extraEnv') ?? {};
  const serverOptions: ServerOptions = {
    command: lookup.path,
    args: [],
    options: { env: { ...process.env, ...extraEnv } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'yaml' },
      { scheme: 'untitled', language: 'yaml' },
    ],
    synchronize: {
      configurationSection: SECTION,
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.yaml,*.yml,values.schema.json}'),
    },
    outputChannel: output,
    traceOutputChannel: traceOutput,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    middleware: {
      workspace: {
        // The server reads its settings with workspace/configuration for
        // section `fluxLsp`: leave out the keys that only the extension uses.
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          if (!Array.isArray(result)) {
            return result;
          }
          return result.map((value, i) => (params.items[i]?.section === SECTION ? serverSettings(value) : value));
        },
      },
    },
  };

  const c = new LanguageClient('fluxLsp', 'Flux LSP', serverOptions, clientOptions);
  c.onNotification('flux-lsp/clusterStatus', (params: ClusterStatus) => {
    status.setCluster(params);
  });
  c.onDidChangeState((e) => {
    if (e.newState === State.Running) {
      status.setServer('running');
    } else if (e.newState === State.Stopped) {
      status.setServer('stopped');
    }
    // shows the cluster actions in the palette and the editor context menu
    void vscode.commands.executeCommand('setContext', 'fluxLsp.running', e.newState === State.Running);
  });
  client = c;
  await c.start();
  const info = c.initializeResult?.serverInfo;
  output.appendLine(`server running: ${info?.name ?? 'flux-lsp'} ${info?.version ?? ''}`.trimEnd());
}

function serverSettings(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const key of CLIENT_ONLY_KEYS) {
    delete copy[key];
  }
  return copy;
}

async function stopClient(): Promise<void> {
  const c = client;
  client = undefined;
  starting = undefined;
  if (c) {
    try {
      await c.stop(5000);
    } catch (err) {
      output.appendLine(`stopping the server: ${err}`);
    }
    await c.dispose();
  }
}

async function restart(context: vscode.ExtensionContext): Promise<void> {
  await stopClient();
  await ensureStarted(context);
}

/**
 * Runs a cluster action on the Flux object under the cursor (or at `uri`/`line`
 * when called with arguments, e.g. from a code lens). Errors are shown to the
 * user; programmatic callers get `{ ok, result | error }`.
 */
async function clusterAction(serverCommand: string, title: string, uri?: vscode.Uri, line?: number): Promise<ActionOutcome> {
  const c = client;
  if (!c || !c.isRunning()) {
    void vscode.window.showErrorMessage(`Flux: ${title}: the flux-lsp server is not running.`);
    return { ok: false, error: 'the flux-lsp server is not running' };
  }
  let target: { uri: string; line: number } | undefined;
  if (uri instanceof vscode.Uri && typeof line === 'number') {
    target = { uri: c.code2ProtocolConverter.asUri(uri), line };
  } else {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.languageId !== 'yaml') {
      void vscode.window.showErrorMessage(`Flux: ${title}: put the cursor on a Flux object in a YAML file first.`);
      return { ok: false, error: 'no YAML editor is active' };
    }
    target = { uri: c.code2ProtocolConverter.asUri(editor.document.uri), line: editor.selection.active.line };
  }
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Flux: ${title}…` },
      () => c.sendRequest(ExecuteCommandRequest.type, { command: serverCommand, arguments: [target] }),
    );
    const message = resultMessage(result);
    if (message) {
      void vscode.window.showInformationMessage(`Flux: ${message}`);
    }
    return { ok: true, result };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: unknown }).code;
    output.appendLine(`${serverCommand} failed: ${message}`);
    void vscode.window.showErrorMessage(`Flux: ${title} failed: ${message}`);
    return { ok: false, error: message, code: typeof code === 'number' ? code : undefined };
  }
}

export type ActionOutcome = { ok: true; result: unknown } | { ok: false; error: string; code?: number };

function resultMessage(result: unknown): string | undefined {
  if (typeof result === 'string') {
    return result;
  }
  if (result && typeof result === 'object' && typeof (result as { message?: unknown }).message === 'string') {
    return (result as { message: string }).message;
  }
  return undefined;
}
