// WebKit for the end-to-end suite (engines.mjs): WebKitGTK's MiniBrowser through
// selenium-webdriver over classic WebDriver, under Xvfb (TOOLCHAIN.md, "Other engines").
//
// Classic WebDriver has no page events, no script that runs before a page's own, no request
// routing. The layer makes up for what it can:
// - a context is one WebDriver session (its pages are the session's windows, sharing
//   BroadcastChannel and Web Locks as tabs do); sessions are kept in a pool and cleaned between
//   contexts (windows closed, cookies deleted), since starting MiniBrowser takes seconds;
// - init scripts and the fake clock (@sinonjs/fake-timers) run right after each navigation the
//   test makes, before it gets the page back — early enough for this suite, whose clients are
//   made by the test after the page loaded;
// - the focus, blur and visibilitychange events the browser fires when the layer switches
//   windows are stopped (a user cannot be in two tabs at once; tests dispatch their own);
// - `console`, `pageerror`, `request` (from Resource Timing), `response` (from a wrapper of the
//   page's `fetch`: what a script may read — no `Set-Cookie`) and exposed functions are queued
//   in the page and drained by a poller every 100 ms.
// A page event it cannot give throws `UnsupportedInEngine`.
import { spawn } from "node:child_process";
import { InjectedClock, clockScript, freePort } from "./engines.mjs";

const DRIVER = process.env.WEBKIT_DRIVER ?? "/usr/bin/WebKitWebDriver";

/** Thrown for what classic WebDriver cannot do; tests that need it skip this engine. */
export class UnsupportedInEngine extends Error {}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


let display;
const children = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** A display for MiniBrowser: $DISPLAY, or an Xvfb started once for this process. */
async function ensureDisplay() {
  if (display) return display;
  if (process.env.DISPLAY) return (display = process.env.DISPLAY);
  const number = 90 + (process.pid % 9);
  const xvfb = spawn("Xvfb", [`:${number}`, "-screen", "0", "1280x800x24", "-nolisten", "tcp"], { stdio: "ignore" });
  children.add(xvfb);
  await sleep(500);
  return (display = `:${number}`);
}

/** One WebKitWebDriver process with one session. */
async function startSession() {
  const { Builder } = await import("selenium-webdriver");
  const port = await freePort();
  const driverProcess = spawn(DRIVER, [`--port=${port}`], { stdio: "ignore", env: { ...process.env, DISPLAY: await ensureDisplay() } });
  children.add(driverProcess);
  let driver;
  for (let attempt = 0; ; attempt++) {
    try {
      driver = await new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities({ browserName: "MiniBrowser" }).build();
      break;
    } catch (e) {
      if (attempt > 40) throw e;
      await sleep(250);
    }
  }
  // WebKit's driver times scripts out with the page's own setTimeout: under the fake clock a
  // runFor of minutes would fire it. The longest delay setTimeout takes (24.8 days) is never
  // reached; the tests' own timeouts bound every call.
  await driver.manage().setTimeouts({ script: 2_147_483_647, pageLoad: 30_000 });
  return {
    driver,
    async quit() {
      await driver.quit().catch(() => {});
      driverProcess.kill();
      children.delete(driverProcess);
    },
  };
}

export async function launchWebKit() {
  return new WebDriverBrowser();
}

class WebDriverBrowser {
  constructor() {
    this.idle = [];
    this.all = new Set();
  }
  async newContext() {
    const session = this.idle.pop() ?? (await startSession());
    this.all.add(session);
    return new WebDriverContext(this, session);
  }
  /** A context on a new session, quit when the context closes: no cache shared with others. */
  async newIsolatedContext() {
    const session = await startSession();
    session.isolated = true;
    this.all.add(session);
    return new WebDriverContext(this, session);
  }
  /**
   * A context's session back to the pool: one blank window, no cookies. WebDriver deletes only
   * the cookies of the current document, so each URL the context opened is visited for it.
   */
  async release(session, visited) {
    if (session.isolated) {
      this.all.delete(session);
      return session.quit();
    }
    try {
      const handles = await session.driver.getAllWindowHandles();
      for (const handle of handles.slice(1)) {
        await session.driver.switchTo().window(handle);
        await session.driver.close();
      }
      await session.driver.switchTo().window(handles[0]);
      for (const url of visited) {
        await session.driver.get(url);
        await session.driver.manage().deleteAllCookies();
      }
      await session.driver.get("about:blank");
      this.idle.push(session);
    } catch {
      this.all.delete(session);
      await session.quit();
    }
  }
  async close() {
    for (const session of this.all) await session.quit();
    this.all.clear();
    this.idle = [];
    for (const child of children) child.kill();
  }
}

class WebDriverContext {
  constructor(browser, session) {
    this.browser = browser;
    this.session = session;
    this.driver = session.driver;
    this.pages = [];
    this.initScripts = [];
    this.clock = new InjectedClock(this);
    /** One WebDriver session runs one command at a time: the clock moves pages in turn. */
    this.movesPagesInTurn = true;
    this.queue = Promise.resolve();
    this.closed = false;
    this.firstWindowUsed = false;
    /** Every URL opened in this context: their cookies are deleted when it closes. */
    this.visited = new Set();
  }
  /** Runs `fn` alone on this session, switched to `page`'s window. */
  exclusive(page, fn) {
    const run = this.queue.then(async () => {
      if (this.closed) throw new Error("the context is closed");
      if (page) await this.driver.switchTo().window(page.handle);
      return fn(this.driver);
    });
    this.queue = run.catch(() => {});
    return run;
  }
  openPages() {
    return this.pages.filter((p) => !p.closed);
  }
  async newPage() {
    const handle = await this.exclusive(null, async (driver) => {
      if (!this.firstWindowUsed) {
        this.firstWindowUsed = true;
        return driver.getWindowHandle();
      }
      await driver.switchTo().newWindow("tab");
      return driver.getWindowHandle();
    });
    const page = new WebDriverPage(this, handle);
    this.pages.push(page);
    return page;
  }
  async clockInstalled() {}
  async addInitScript(fn, arg) {
    this.initScripts.push(`(${fn})(${JSON.stringify(arg)});`);
  }
  /**
   * The cookies of `urls` (playwright's filter). WebDriver gives only the cookies of the current
   * document's URL, so each URL is opened in a window of its own for the reading.
   */
  async cookies(urls = []) {
    const list = await this.exclusive(null, async (driver) => {
      const back = this.openPages()[0]?.handle;
      const out = [];
      for (const url of urls) {
        this.visited.add(url);
        await driver.switchTo().newWindow("tab");
        await driver.get(url);
        out.push(...(await driver.manage().getCookies()));
        await driver.close();
      }
      if (back) await driver.switchTo().window(back);
      if (urls.length === 0) out.push(...(await driver.manage().getCookies()));
      return out;
    });
    return list.map((c) => ({ ...c, httpOnly: c.httpOnly ?? false, sameSite: c.sameSite ?? "None" }));
  }
  async close() {
    if (this.closed) return;
    for (const page of this.pages) page.stopPolling();
    await this.queue;
    this.closed = true;
    await this.browser.release(this.session, this.visited);
  }
}

/** Queues page events for the poller: console, errors, resources fetched, exposed calls. */
function installQueue() {
  if (window.__e2eQueue) return;
  const queue = (window.__e2eQueue = []);
  for (const type of ["log", "info", "warn", "error", "debug"]) {
    const original = console[type].bind(console);
    console[type] = (...args) => {
      queue.push({ kind: "console", type: type === "warn" ? "warning" : type, text: args.map(String).join(" ") });
      original(...args);
    };
  }
  // Switching windows to run a command gives the window focus and shows it, which no tab in
  // the back/forward cache could get: the browser's own focus, blur and visibilitychange events
  // stop here (the tests dispatch the ones they mean).
  for (const [target, type] of [[window, "focus"], [window, "blur"], [document, "visibilitychange"]]) {
    target.addEventListener(type, (e) => e.isTrusted && e.stopImmediatePropagation(), true);
  }
  window.addEventListener("error", (e) => queue.push({ kind: "pageerror", text: String(e.error?.stack ?? e.message) }));
  // WebDriver waits for a navigation to finish before it runs a script, by which time this
  // document is gone: what it queued travels in window.name, which survives the navigation
  // and is no storage a test inspects.
  window.addEventListener("pagehide", () => {
    if (queue.length) window.name = `__e2eQueue:${JSON.stringify(queue.splice(0))}`;
  });
  window.addEventListener("unhandledrejection", (e) => queue.push({ kind: "pageerror", text: String(e.reason?.stack ?? e.reason) }));
  // Responses, as the page's own `fetch` sees them (a wrapper installed before any client is
  // made, so authfetch captures it): url, status, headers a script may read, and the body.
  const realFetch = window.fetch;
  window.fetch = async function (...args) {
    const response = await realFetch.apply(this, args);
    const copy = response.clone();
    copy.text().then(
      (body) => queue.push({ kind: "response", url: response.url, status: response.status, headers: Object.fromEntries(response.headers), body }),
      () => {},
    );
    return response;
  };
  let seen = 0;
  window.__e2eResources = () => {
    const entries = performance.getEntriesByType("resource");
    const fresh = entries.slice(seen).map((e) => e.name);
    seen = entries.length;
    return fresh;
  };
}

class WebDriverPage {
  constructor(context, handle) {
    this.context = context;
    this.handle = handle;
    this.closed = false;
    this.listeners = { console: [], pageerror: [], request: [], response: [] };
    this.exposed = new Map();
    this.poller = undefined;
  }
  get clock() {
    return this.context.clock;
  }
  on(event, handler) {
    if (!this.listeners[event]) throw new UnsupportedInEngine(`page.on("${event}") in WebKit`);
    this.listeners[event].push(handler);
    this.startPolling();
  }
  startPolling() {
    if (this.poller) return;
    this.poller = setInterval(() => this.drain().catch(() => {}), 100);
    this.poller.unref?.();
  }
  stopPolling() {
    clearInterval(this.poller);
    this.poller = undefined;
  }
  async drain() {
    if (this.closed || this.context.closed) return;
    // A synchronous script: an asynchronous one would hang the session if the page navigated
    // while it ran.
    const raw = await this.context.exclusive(this, (driver) =>
      driver.executeScript(`
        let carried = [];
        if (window.name.startsWith("__e2eQueue:")) {
          carried = JSON.parse(window.name.slice("__e2eQueue:".length));
          window.name = "";
        }
        return JSON.stringify({
          queue: carried.concat((window.__e2eQueue || []).splice(0)),
          resources: window.__e2eResources ? window.__e2eResources() : [],
        });`),
    );
    const { queue, resources } = JSON.parse(raw);
    for (const item of queue) {
      if (item.kind === "console") for (const h of this.listeners.console) h({ type: () => item.type, text: () => item.text });
      else if (item.kind === "pageerror") for (const h of this.listeners.pageerror) h(new Error(item.text));
      else if (item.kind === "exposed") await this.exposed.get(item.name)?.(...item.args);
      else if (item.kind === "response") {
        const response = {
          url: () => item.url,
          status: () => item.status,
          text: async () => item.body,
          json: async () => JSON.parse(item.body),
          allHeaders: async () => item.headers,
        };
        for (const h of this.listeners.response) h(response);
      }
    }
    for (const url of resources) for (const h of this.listeners.request) h({ url: () => url });
  }
  /**
   * Runs `fn(arg)` in the page; answers its value, or throws what it threw. Values cross as
   * JSON in which `undefined` is kept (a key set to undefined means "the default" to this
   * suite's helpers, as with playwright).
   */
  async run(fn, arg) {
    const script = `const done = arguments[arguments.length - 1];
      const UNDEFINED = ${JSON.stringify(UNDEFINED)};
      const keep = (k, v) => (v === undefined ? UNDEFINED : v);
      const revive = ${revive};
      Promise.resolve().then(() => (${fn})(revive(JSON.parse(arguments[0]), UNDEFINED)))
        .then((v) => done(JSON.stringify({ v }, keep)), (e) => done(JSON.stringify({ e: String(e && e.stack || e), name: e && e.name })));`;
    const raw = await this.context.exclusive(this, (driver) =>
      driver.executeAsyncScript(script, JSON.stringify(arg ?? null, (k, v) => (v === undefined ? UNDEFINED : v))),
    );
    const out = revive(JSON.parse(raw), UNDEFINED);
    if ("e" in out) {
      const error = new Error(out.e);
      error.name = out.name ?? "Error";
      throw error;
    }
    return out.v;
  }
  async evaluate(fn, arg) {
    const value = await this.run(fn, arg);
    await this.drain();
    return value;
  }
  /** What runs after each navigation the test makes: the queue, the clock, init scripts, exposed functions. */
  async afterNavigation() {
    await this.run(installQueue);
    const clock = this.context.clock.scriptForNewPage();
    if (clock) await this.run(new Function(clock));
    for (const script of this.context.initScripts) await this.run(new Function(script));
    for (const name of this.exposed.keys()) await this.run(defineExposed, name);
  }
  async goto(url) {
    await this.context.exclusive(this, (driver) => driver.get(url));
    this.context.visited.add(url);
    this.lastUrl = url;
    await this.afterNavigation();
  }
  async reload() {
    await this.context.exclusive(this, (driver) => driver.navigate().refresh());
    await this.afterNavigation();
  }
  url() {
    return this.lastUrl ?? "about:blank";
  }
  async currentUrl() {
    this.lastUrl = await this.context.exclusive(this, (driver) => driver.getCurrentUrl());
    return this.lastUrl;
  }
  async waitForFunction(fn, arg, { timeout = 30_000 } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = await this.run(fn, arg).catch(() => undefined);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`waitForFunction timed out after ${timeout} ms`);
      await sleep(50);
    }
  }
  async waitForURL(predicate, { timeout = 30_000 } = {}) {
    const matches = typeof predicate === "function" ? (u) => predicate(new URL(u)) : (u) => u === predicate;
    const deadline = Date.now() + timeout;
    while (!matches(await this.currentUrl())) {
      if (Date.now() > deadline) throw new Error(`waitForURL: still at ${this.lastUrl}`);
      await sleep(50);
    }
  }
  async exposeFunction(name, fn) {
    this.exposed.set(name, fn);
    this.startPolling();
    await this.run(defineExposed, name).catch(() => {});
  }
  async element(selector) {
    const { By } = await import("selenium-webdriver");
    return this.context.exclusive(this, (driver) => driver.findElement(By.css(selector)));
  }
  async click(selector) {
    const element = await this.element(selector);
    await this.context.exclusive(this, () => element.click());
  }
  $$eval(selector, fn, arg) {
    return this.run(new Function("[s, a]", `return (${fn})([...document.querySelectorAll(s)], a);`), [selector, arg]);
  }
  textContent(selector) {
    return this.run((s) => document.querySelector(s)?.textContent ?? null, selector);
  }
  getAttribute(selector, name) {
    return this.run(([s, n]) => document.querySelector(s)?.getAttribute(n) ?? null, [selector, name]);
  }
  inputValue(selector) {
    return this.run((s) => document.querySelector(s).value, selector);
  }
  isVisible(selector) {
    return this.run((s) => {
      const e = document.querySelector(s);
      return !!e && !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
    }, selector);
  }
  selectOption(selector, value) {
    return this.run(([s, v]) => {
      const e = document.querySelector(s);
      e.value = v;
      e.dispatchEvent(new Event("change", { bubbles: true }));
    }, [selector, value]);
  }
  async setInputFiles(selector, { name, mimeType, buffer }) {
    // No file chooser over WebDriver here: the file is built in the page, as a user's pick would be.
    await this.run(([s, n, type, b64]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], n, { type }));
      const input = document.querySelector(s);
      input.files = transfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }, [selector, name, mimeType, Buffer.from(buffer).toString("base64")]);
  }
  async waitForSelector(selector, { state = "visible", timeout = 30_000 } = {}) {
    await this.waitForFunction(
      ([s, visible]) => {
        const e = document.querySelector(s);
        if (!e) return false;
        return !visible || !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
      },
      [selector, state === "visible"],
      { timeout },
    );
  }
  async close() {
    if (this.closed) return;
    this.stopPolling();
    this.closed = true;
    if (this.context.openPages().length === 0) return; // the context's last window stays until release
    await this.context.exclusive(this, (driver) => driver.close());
  }
}

/** How `undefined` travels in this layer's JSON. */
const UNDEFINED = "\u0000undefined";

/** `value` with every UNDEFINED marker (in objects and arrays, at any depth) made `undefined` again. */
function revive(value, marker) {
  if (value === marker) return undefined;
  if (value && typeof value === "object") {
    for (const key of Object.keys(value)) value[key] = revive(value[key], marker);
  }
  return value;
}

/** In the page: `window[name](...args)` queues a call for the poller. */
function defineExposed(name) {
  window[name] = (...args) => {
    (window.__e2eQueue ??= []).push({ kind: "exposed", name, args: JSON.parse(JSON.stringify(args)) });
    return Promise.resolve();
  };
}
