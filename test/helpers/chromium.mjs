// Headless Chromium (Debian's package) driven over the Chrome DevTools protocol, on the pipe
// transport (--remote-debugging-pipe: JSON messages ended by NUL on fds 3 and 4), so nothing
// but Node is needed: no WebSocket, no port, no npm package.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** Why a browser test cannot run here, or false (for `test(name, { skip }, ...)`). */
export const noChromium = CHROMIUM ? false : 'no /usr/bin/chromium on this machine (apt-get install chromium): CI machines may lack it';

/**
 * Starts Chromium with one page of `width` x `height` CSS pixels. Resolves with
 * { page: { navigate, evaluate, waitFor, click, screenshot, send }, close() }.
 */
export async function launch({ width = 1280, height = 800, timeoutMs = 30_000 } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'tw-chromium-'));
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-extensions',
      '--disable-sync',
      '--no-first-run',
      '--no-default-browser-check',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      `--window-size=${width},${height}`,
      '--remote-debugging-pipe',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const toBrowser = child.stdio[3];
  const fromBrowser = child.stdio[4];
  let nextId = 1;
  const pending = new Map();
  const listeners = new Set();
  let buffered = '';
  fromBrowser.setEncoding('utf8').on('data', (chunk) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\0'); end >= 0; end = buffered.indexOf('\0')) {
      const msg = JSON.parse(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p?.resolve(msg.result);
      } else for (const l of [...listeners]) l(msg);
    }
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.once('exit', () => {
    for (const p of pending.values()) p.reject(new Error(`chromium exited; stderr:\n${stderr}`));
    pending.clear();
  });
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms; chromium stderr:\n${stderr}`));
      }, timeoutMs);
      pending.set(id, { method, resolve: (v) => (clearTimeout(timer), resolve(v)), reject: (e) => (clearTimeout(timer), reject(e)) });
      toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  const event = (name, sessionId, ms = timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(on);
        reject(new Error(`no ${name} in ${ms} ms`));
      }, ms);
      const on = (msg) => {
        if (msg.method === name && msg.sessionId === sessionId) {
          clearTimeout(timer);
          listeners.delete(on);
          resolve(msg.params);
        }
      };
      listeners.add(on);
    });

  const close = async () => {
    await send('Browser.close').catch(() => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    const s = (method, params) => send(method, params, sessionId);
    await s('Page.enable');
    await s('Runtime.enable');
    await s('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    const evaluate = async (expression) => {
      const r = await s('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value;
    };
    const page = {
      send: s,
      evaluate,
      async navigate(url) {
        const loaded = event('Page.loadEventFired', sessionId);
        const r = await s('Page.navigate', { url });
        if (r.errorText) throw new Error(`navigate ${url}: ${r.errorText}`);
        await loaded;
      },
      /** Resolves with the first truthy value of `expression`, polled. */
      async waitFor(expression, ms = 60_000) {
        const until = Date.now() + ms;
        for (;;) {
          const v = await evaluate(expression);
          if (v) return v;
          if (Date.now() > until) throw new Error(`not true within ${ms} ms: ${expression}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      /** A real mouse click at the middle of the first element matching `selector`. */
      async click(selector) {
        const box = await evaluate(`(() => { const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null; e.scrollIntoView({ block: 'nearest' }); const r = e.getBoundingClientRect(); return { x: r.left + Math.min(r.width / 2, 40), y: r.top + r.height / 2 }; })()`);
        if (box === null) throw new Error(`nothing matches ${selector}`);
        for (const type of ['mousePressed', 'mouseReleased']) await s('Input.dispatchMouseEvent', { type, x: box.x, y: box.y, button: 'left', clickCount: 1 });
      },
      /** A PNG of the viewport. */
      async screenshot() {
        const { data } = await s('Page.captureScreenshot', { format: 'png' });
        return Buffer.from(data, 'base64');
      },
    };
    return { page, close, stderr: () => stderr };
  } catch (err) {
    await close();
    throw err;
  }
}
