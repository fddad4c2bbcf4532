#!/usr/bin/env node
// The extension's server lookup (editors/vscode/src/server.ts) in plain Node:
// setting, then the bundled binary, then PATH, and a clear report when none.
// Prints PASS/FAIL lines like the other suites.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ext = path.resolve(__dirname, '../../../editors/vscode');
const esbuild = require(path.join(ext, 'node_modules/esbuild'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-lsp-lookup-'));
const out = path.join(tmp, 'server.js');
esbuild.buildSync({ entryPoints: [path.join(ext, 'src/server.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'error' });
const { findServer } = require(out);

function exe(p) {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, '#!/bin/sh\n');
  fs.chmodSync(p, 0o755);
  return p;
}

const extDir = path.join(tmp, 'ext');
const binDir = path.join(tmp, 'bin');
const onPath = exe(path.join(binDir, 'flux-lsp'));
const env = { PATH: `/nonexistent:${binDir}` };
let failed = 0;
let passed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`PASS vscode/lookup-${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL vscode/lookup-${name}: ${err.message}`);
  }
}
function eq(a, b, what) {
  if (a !== b) {
    throw new Error(`${what}: ${JSON.stringify(a)}, expected ${JSON.stringify(b)}`);
  }
}

check('path', () => {
  const r = findServer(null, extDir, undefined, env);
  eq(r.path, onPath, 'path');
  eq(r.source, 'PATH', 'source');
});
check('bundled-before-path', () => {
  const bundled = exe(path.join(extDir, 'server', 'flux-lsp'));
  const r = findServer('', extDir, undefined, env);
  eq(r.path, bundled, 'path');
  eq(r.source, 'bundled', 'source');
});
check('setting-first', () => {
  const custom = exe(path.join(tmp, 'ws', 'tools', 'flux-lsp'));
  const r = findServer('${workspaceFolder}/tools/flux-lsp', extDir, path.join(tmp, 'ws'), env);
  eq(r.path, custom, 'path');
  eq(r.source, 'setting', 'source');
});
check('setting-missing-is-not-replaced', () => {
  const r = findServer('/nonexistent/flux-lsp', extDir, undefined, env);
  eq(r.path, undefined, 'path');
  if (!/nonexistent\/flux-lsp does not exist/.test(r.tried.join('\n'))) {
    throw new Error(`report: ${r.tried.join(' | ')}`);
  }
});
check('none', () => {
  fs.rmSync(path.join(extDir, 'server'), { recursive: true });
  const r = findServer(undefined, extDir, undefined, { PATH: '/nonexistent' });
  eq(r.path, undefined, 'path');
  eq(r.tried.length, 3, `tried (${r.tried.join(' | ')})`);
});

fs.rmSync(tmp, { recursive: true, force: true });
process.exit(failed > 0 ? 1 : 0);
