#!/usr/bin/env node
// VS Code end-to-end driver: code-server + headless Chromium (playwright-core).
//
//   node driver.js --bin /abs/flux-lsp [--screenshots DIR] [--chromium /usr/bin/chromium]
//
// Phase 1 runs suite/index.js in code-server's extension host, with
// editors/vscode as the development extension (no install, no .vsix).
// Phase 2 opens a file in the workbench UI like a user, checks that a
// diagnostic squiggle and a hover show, and saves screenshots.
// Prints `PASS name` / `FAIL name: why` / `PENDING name: why` lines and exits 1
// on any failure.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const here = __dirname;
const repo = path.resolve(here, '../../..');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const bin = path.resolve(arg('bin', process.env.FLUX_LSP_BIN || 'target/release/flux-lsp'));
const screenshots = path.resolve(arg('screenshots', path.join(repo, 'target/editor-screenshots')));
const chromiumPath = arg('chromium', process.env.CHROMIUM || '/usr/bin/chromium');
const extensionPath = path.join(repo, 'editors/vscode');
const pendingSet = new Set((process.env.E2E_PENDING || '').split(/[,\s]+/).filter(Boolean));
const t0 = Date.now();

let failures = 0;
let passes = 0;
function pass(name) {
  passes++;
  console.log(`PASS vscode/${name} (${Date.now() - t0} ms)`);
}
function fail(name, why, pending = pendingSet.has(name)) {
  if (pending) {
    console.log(`PENDING vscode/${name}: ${String(why).split('\n')[0]}`);
  } else {
    failures++;
    console.log(`FAIL vscode/${name}: ${why}`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function httpOk(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode < 500);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** A copy of the fixture workspace with an empty .git/ (the root marker). */
function workspaceCopy(tmp, name) {
  const ws = path.join(tmp, name);
  fs.cpSync(path.join(here, '..', 'workspace'), ws, { recursive: true });
  fs.rmSync(path.join(ws, 'README.md'), { force: true });
  fs.mkdirSync(path.join(ws, '.git'));
  return fs.realpathSync(ws);
}

function writeSettings(userDataDir) {
  const dir = path.join(userDataDir, 'User');
  fs.mkdirSync(dir, { recursive: true });
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'security.workspace.trust.enabled': false,
    'editor.wordBasedSuggestions': 'off',
    'editor.hover.delay': 100,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'fluxLsp.server.path': bin,
    'fluxLsp.cluster.enabled': false,
    'fluxLsp.diagnostics.severity': { 'duplicate-key': 'warning' },
  };
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-lsp-vscode-'));
  const ws = workspaceCopy(tmp, 'workspace');
  const userDataDir = path.join(tmp, 'user-data');
  const extensionsDir = path.join(tmp, 'extensions');
  fs.mkdirSync(extensionsDir);
  writeSettings(userDataDir);
  const resultFile = path.join(tmp, 'result.jsonl');
  const kubeconfig = path.join(tmp, 'kubeconfig');
  fs.writeFileSync(kubeconfig, fs.readFileSync(path.join(here, '..', 'kubeconfig-refused.yaml')));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;

  const codeServer = path.join(here, 'node_modules', '.bin', 'code-server');
  const serverLog = path.join(tmp, 'code-server.log');
  const logFd = fs.openSync(serverLog, 'w');
  const cs = spawn(
    codeServer,
    [
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-workspace-trust',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir,
      ws,
    ],
    {
      env: {
        ...process.env,
        E2E_RESULT: resultFile,
        E2E_KUBECONFIG: kubeconfig,
        // never talk to a real cluster
        KUBECONFIG: path.join(tmp, 'no-kubeconfig'),
        // code-server writes its config.yaml there: keep the machine clean
        XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'),
        XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
      },
      stdio: ['ignore', logFd, logFd],
      detached: true,
    },
  );
  let browser;
  const cleanup = async () => {
    if (browser) {
      await browser.close().catch(() => {});
    }
    try {
      process.kill(-cs.pid, 'SIGTERM');
    } catch {}
    await sleep(300);
    try {
      process.kill(-cs.pid, 'SIGKILL');
    } catch {}
  };

  try {
    const up = Date.now();
    while (!(await httpOk(`${base}/healthz`))) {
      if (Date.now() - up > 30000 || cs.exitCode !== null) {
        throw new Error(`code-server did not start:\n${fs.readFileSync(serverLog, 'utf8')}`);
      }
      await sleep(100);
    }
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });

    // ---- phase 1: extension-host suites
    const runSuite = async (folder, suite) => {
      const payload = JSON.stringify([
        ['extensionDevelopmentPath', remote(extensionPath)],
        ['extensionTestsPath', remote(path.join(here, 'suite', `${suite}.js`))],
      ]);
      const page = await context.newPage();
      const consoleLines = [];
      page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
      await page.goto(`${base}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(payload)}`);
      const deadline = Date.now() + Number(process.env.E2E_SUITE_TIMEOUT || 150000);
      let done = false;
      while (!done && Date.now() < deadline) {
        await sleep(200);
        if (!fs.existsSync(resultFile)) {
          continue;
        }
        for (const line of fs.readFileSync(resultFile, 'utf8').split('\n').filter(Boolean)) {
          if (seen.has(line)) {
            continue;
          }
          seen.add(line);
          const r = JSON.parse(line);
          if (r.done) {
            done = r.suite === suite;
          } else if (r.ok) {
            pass(r.name);
          } else {
            fail(r.name, r.error, r.pending);
          }
        }
      }
      if (!done) {
        fail(`suite-${suite}`, `the extension-host suite did not finish; browser console:\n${consoleLines.slice(-30).join('\n')}`);
      }
      await page.close();
    };
    const seen = new Set();
    await runSuite(ws, 'index');
    // a workspace without Flux manifests: the server waits for one
    const plain = path.join(tmp, 'plain');
    fs.mkdirSync(path.join(plain, '.git'), { recursive: true });
    fs.writeFileSync(path.join(plain, 'config.yaml'), 'name: not-flux\nreplicas: 2\n');
    writeSettings(userDataDir);
    await runSuite(fs.realpathSync(plain), 'idle');

    // ---- phase 2: the workbench UI, screenshots
    // a fresh copy: the suite edited the first one (and the workbench keeps
    // unsaved edits per folder)
    const uiWs = workspaceCopy(tmp, 'workspace-ui');
    writeSettings(userDataDir); // the suite changed settings on the way
    fs.mkdirSync(screenshots, { recursive: true });
    await uiPhase(context, `${base}/?folder=${encodeURIComponent(uiWs)}&payload=${encodeURIComponent(
      JSON.stringify([['extensionDevelopmentPath', remote(extensionPath)]]),
    )}`);
  } catch (err) {
    fail('driver', err && err.stack ? err.stack : String(err));
  } finally {
    await cleanup();
    if (failures > 0) {
      const log = fs.existsSync(serverLog) ? fs.readFileSync(serverLog, 'utf8').split('\n').slice(-30).join('\n') : '';
      console.log(`--- last lines of ${serverLog}\n${log}`);
    }
    if (!process.env.E2E_KEEP) {
      fs.rmSync(tmp, { recursive: true, force: true });
    } else {
      console.log(`kept ${tmp}`);
    }
  }
  console.log(`vscode: ${passes} passed, ${failures} failed (${Date.now() - t0} ms)`);
  process.exit(failures > 0 ? 1 : 0);
}

async function uiPhase(context, url) {
  const page = await context.newPage();
  // the suite left a missing server path in the user settings, and
  // code-server picks up the rewritten settings.json through a file watcher:
  // give it time before the window starts
  await sleep(2000);
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 30000 });
  // open apps/podinfo.yaml through Quick Open, as a user would
  const openPodinfo = async () => {
    await page.locator('.monaco-workbench .part.editor').waitFor({ timeout: 20000 });
    await sleep(500);
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').waitFor({ timeout: 10000 });
    await page.keyboard.type('podinfo.yaml');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'podinfo.yaml' }).first();
    await row.waitFor({ timeout: 10000 });
    await row.click();
    await page.locator('.monaco-editor .view-lines:has-text("sourceRef")').waitFor({ timeout: 10000 });
  };
  const opened = await step('ui-open', async () => {
    await openPodinfo();
    // if the extension still read the stale path (status bar "Flux: no
    // server"), reload the window once: the settings are current by then
    const status = page.locator('[id="flux-lsp.flux-lsp.fluxLsp.status"]');
    await status.waitFor({ timeout: 10000 }).catch(() => {});
    if (/no server/.test(await status.innerText().catch(() => ''))) {
      console.log('vscode: the UI window started with the stale server path; reloading it');
      await sleep(1000);
      await page.reload();
      await page.locator('.monaco-workbench').waitFor({ timeout: 30000 });
      await openPodinfo();
    }
  });
  if (!opened) {
    await page.screenshot({ path: path.join(screenshots, 'vscode-failure.png') });
    return;
  }
  await step('ui-diagnostic', async () => {
    await page.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 20000 });
    const problems = await page.locator('[id="status.problems"]').innerText();
    if (!/[1-9]/.test(problems)) {
      throw new Error(`problems in the status bar: ${JSON.stringify(problems)}`);
    }
  });
  await step('ui-status-bar', async () => {
    const item = page.locator('[id="flux-lsp.flux-lsp.fluxLsp.status"]');
    await item.waitFor({ timeout: 10000 });
    const text = await item.innerText();
    if (!/Flux/.test(text)) {
      throw new Error(`status bar item: ${JSON.stringify(text)}`);
    }
  });
  // hover the schema field `interval`: the hover box and, below it, the
  // squiggle under `prun` are both in the screenshot
  await step('ui-hover', async () => {
    const word = page.locator('.monaco-editor .view-line span', { hasText: /^interval$/ }).first();
    await word.hover();
    const hover = page.locator('.monaco-hover:visible .hover-contents').first();
    await hover.waitFor({ timeout: 10000 });
    const text = await hover.innerText();
    if (!/interval/i.test(text)) {
      throw new Error(`hover: ${JSON.stringify(text)}`);
    }
    await sleep(300);
    await page.screenshot({ path: path.join(screenshots, 'vscode-hover-and-diagnostic.png') });
  });
  // hover the diagnostic itself: message and quick fix in the hover
  await step('ui-diagnostic-hover', async () => {
    await page.mouse.move(5, 5);
    await sleep(300);
    const word = page.locator('.monaco-editor .view-line span', { hasText: /^prun$/ }).first();
    await word.hover();
    const hover = page.locator('.monaco-hover:visible', { hasText: 'prune' }).first();
    await hover.waitFor({ timeout: 10000 });
    await sleep(300);
    await page.screenshot({ path: path.join(screenshots, 'vscode-diagnostic-hover.png') });
  });
  // the cluster actions in the editor's context menu (Flux submenu)
  await step('ui-context-menu', async () => {
    await page.mouse.move(5, 5);
    await page.keyboard.press('Escape');
    await page.locator('.monaco-editor .view-line span', { hasText: /^sourceRef$/ }).first().click({ button: 'right' });
    const flux = page.locator('.context-view .monaco-menu .action-label', { hasText: /^Flux$/ }).first();
    await flux.waitFor({ timeout: 10000 });
    await flux.hover();
    await page.locator('.context-view .monaco-menu .action-label', { hasText: /^Reconcile with Source$/ }).first().waitFor({ timeout: 10000 });
    await page.screenshot({ path: path.join(screenshots, 'vscode-context-menu.png') });
    await page.keyboard.press('Escape');
  });
  await page.close();

  async function step(name, fn) {
    try {
      await fn();
      pass(name);
      return true;
    } catch (err) {
      fail(name, err && err.message ? err.message : String(err));
      await page.screenshot({ path: path.join(screenshots, `vscode-${name}-failure.png`) }).catch(() => {});
      return false;
    }
  }
}

main().catch((err) => {
  console.log(`FAIL vscode/driver: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
