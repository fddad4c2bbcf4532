// The status bar item: server state, then the cluster context and connection
// state reported by the server's `flux-lsp/clusterStatus` notification.

import * as vscode from 'vscode';

export type ClusterState = 'disabled' | 'connecting' | 'connected' | 'error';

export interface ClusterStatus {
  state: ClusterState;
  context: string | null;
  message: string | null;
}

/** `idle`: not started because the workspace has no Flux manifest (the item is hidden). */
export type ServerState = 'idle' | 'starting' | 'running' | 'stopped' | 'missing';

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private server: ServerState = 'starting';
  private cluster: ClusterStatus | undefined;
  private serverDetail = '';

  constructor() {
    this.item = vscode.window.createStatusBarItem('fluxLsp.status', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'Flux LSP';
    this.item.command = 'fluxLsp.showOutput';
    this.render();
  }

  /** What the status bar says now (for tests and the output channel). */
  get text(): string {
    return this.item.text;
  }

  get serverState(): ServerState {
    return this.server;
  }

  get clusterStatus(): ClusterStatus | undefined {
    return this.cluster;
  }

  setServer(state: ServerState, detail = ''): void {
    this.server = state;
    this.serverDetail = detail;
    if (state !== 'running') {
      this.cluster = undefined;
    }
    this.render();
  }

  setCluster(status: ClusterStatus): void {
    this.cluster = status;
    this.render();
  }

  private render(): void {
    const tip = new vscode.MarkdownString(undefined, true);
    tip.isTrusted = { enabledCommands: ['fluxLsp.showOutput', 'fluxLsp.restartServer', 'workbench.action.openSettings'] };
    let text: string;
    let background: vscode.ThemeColor | undefined;
    switch (this.server) {
      case 'idle':
        text = 'Flux';
        tip.appendMarkdown('No Flux manifest in this workspace yet.\n\n');
        break;
      case 'missing':
        text = '$(error) Flux: no server';
        background = new vscode.ThemeColor('statusBarItem.errorBackground');
        tip.appendMarkdown('**flux-lsp was not found.** Install it or set `fluxLsp.server.path`.\n\n');
        this.item.command = { title: 'Open Settings', command: 'workbench.action.openSettings', arguments: ['fluxLsp.server.path'] };
        break;
      case 'starting':
        text = '$(loading~spin) Flux';
        tip.appendMarkdown('Starting the flux-lsp server…\n\n');
        this.item.command = 'fluxLsp.showOutput';
        break;
      case 'stopped':
        text = '$(debug-disconnect) Flux: stopped';
        background = new vscode.ThemeColor('statusBarItem.warningBackground');
        tip.appendMarkdown('The flux-lsp server is not running.\n\n');
        this.item.command = 'fluxLsp.restartServer';
        break;
      case 'running': {
        this.item.command = 'fluxLsp.showOutput';
        const c = this.cluster;
        const ctx = c?.context ?? '';
        const code = ctx ? ` (context \`${ctx.replace(/`/g, '')}\`)` : '';
        switch (c?.state) {
          case undefined:
          case 'disabled':
            text = '$(check) Flux';
            tip.appendMarkdown('Cluster connection is off (`fluxLsp.cluster.enabled`).\n\n');
            break;
          case 'connecting':
            text = `$(sync~spin) Flux: ${ctx || 'connecting'}`;
            tip.appendMarkdown(`Connecting to the cluster${code}…\n\n`);
            break;
          case 'connected':
            text = `$(cloud) Flux: ${ctx || 'connected'}`;
            tip.appendMarkdown(`Connected to the cluster${code}.\n\n`);
            break;
          case 'error':
            text = `$(warning) Flux: ${ctx || 'cluster error'}`;
            background = new vscode.ThemeColor('statusBarItem.warningBackground');
            tip.appendMarkdown(`Cluster connection failed${code}.\n\n`);
            break;
        }
        if (c?.message) {
          tip.appendMarkdown(`${escape(c.message)}\n\n`);
        }
        break;
      }
    }
    if (this.serverDetail) {
      tip.appendMarkdown(`${escape(this.serverDetail)}\n\n`);
    }
    tip.appendMarkdown('[Show Output](command:fluxLsp.showOutput) · [Restart Server](command:fluxLsp.restartServer)');
    this.item.text = text;
    this.item.tooltip = tip;
    this.item.backgroundColor = background;
    if (this.server === 'idle') {
      this.item.hide();
    } else {
      this.item.show();
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}

function escape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!<>|]/g, (m) => `\\${m}`);
}
