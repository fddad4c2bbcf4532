// Shared by the extension-host suites: checks reported as JSON lines to the
// file named by E2E_RESULT (set by driver.js).
'use strict';

const fs = require('node:fs');

const EXTENSION_ID = 'flux-lsp.flux-lsp';
const TIMEOUT = Number(process.env.E2E_TIMEOUT || 20000);
const resultFile = process.env.E2E_RESULT;
const pending = new Set((process.env.E2E_PENDING || '').split(/[,\s]+/).filter(Boolean));
const t0 = Date.now();

function report(entry) {
  if (resultFile) {
    fs.appendFileSync(resultFile, JSON.stringify(entry) + '\n');
  }
  console.log('[flux-lsp e2e]', JSON.stringify(entry));
}

async function check(name, fn) {
  try {
    await fn();
    report({ name, ok: true, ms: Date.now() - t0 });
    return true;
  } catch (err) {
    const error = err && err.stack ? err.stack : String(err);
    report({ name, ok: false, pending: pending.has(name), error, ms: Date.now() - t0 });
    return false;
  }
}

function assert(cond, message) {
  if (!cond) {
    throw new Error(message);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn) {
  const end = Date.now() + TIMEOUT;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) {
        return last;
      }
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${TIMEOUT} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await sleep(50);
  }
}

module.exports = { EXTENSION_ID, TIMEOUT, report, check, assert, sleep, waitFor };
