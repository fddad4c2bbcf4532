// Finding the flux-lsp binary: the `fluxLsp.server.path` setting, then the
// binary bundled in the extension (`server/flux-lsp`), then `PATH`.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ServerLookup {
  /** The binary to run, when one was found. */
  path?: string;
  /** Where it came from, for the output channel. */
  source?: 'setting' | 'bundled' | 'PATH';
  /** Every place that was looked at, in order, with what was found there. */
  tried: string[];
}

const exe = process.platform === 'win32' ? 'flux-lsp.exe' : 'flux-lsp';

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) {
      return false;
    }
    if (process.platform !== 'win32') {
      fs.accessSync(p, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

/** Expands `~` and `${workspaceFolder}` in a configured path. */
export function expandPath(p: string, workspaceFolder: string | undefined): string {
  let out = p.trim();
  if (out === '~' || out.startsWith('~/')) {
    out = path.join(os.homedir(), out.slice(1));
  }
  if (workspaceFolder) {
    out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  if (!path.isAbsolute(out) && workspaceFolder && (out.includes('/') || out.includes('\\'))) {
    out = path.join(workspaceFolder, out);
  }
  return out;
}

function searchPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? '').split(path.delimiter).filter((d) => d.length > 0);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

export function findServer(
  configured: string | null | undefined,
  extensionPath: string,
  workspaceFolder: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ServerLookup {
  const tried: string[] = [];
  if (configured && configured.trim() !== '') {
    const p = expandPath(configured, workspaceFolder);
    // A bare name ("flux-lsp") in the setting means: look it up on PATH.
    const resolved = path.isAbsolute(p) ? p : searchPath(p, env);
    if (resolved && isExecutable(resolved)) {
      return { path: resolved, source: 'setting', tried: [`fluxLsp.server.path = ${configured}: found ${resolved}`] };
    }
    // An explicit setting is never silently replaced by another binary.
    tried.push(`fluxLsp.server.path = ${configured}: ${resolved ?? p} does not exist or is not executable`);
    return { tried };
  }
  tried.push('fluxLsp.server.path: not set');
  const bundled = path.join(extensionPath, 'server', exe);
  if (isExecutable(bundled)) {
    return { path: bundled, source: 'bundled', tried: [...tried, `bundled: found ${bundled}`] };
  }
  tried.push(`bundled: no ${bundled}`);
  const onPath = searchPath(exe, env);
  if (onPath) {
    return { path: onPath, source: 'PATH', tried: [...tried, `PATH: found ${onPath}`] };
  }
  tried.push(`PATH: no ${exe} in ${env.PATH ?? ''}`);
  return { tried };
}
