// The browser engines of the end-to-end suite (issue 13): one small driver layer so that each
// scenario is written once. `launchEngine()` answers a browser with the part of playwright's API
// the suite uses — contexts, pages, evaluate, page events, the context clock — whatever the
// engine behind it:
//
// - chromium: Debian's Chromium through playwright-core, as it is;
// - firefox:  Debian's Firefox ESR through puppeteer-core over WebDriver BiDi;
// - webkit:   WebKitGTK's MiniBrowser through selenium-webdriver (classic WebDriver) under Xvfb.
//
// Where an engine has no fake clock of its own (firefox, webkit), @sinonjs/fake-timers is
// injected into every page before its scripts run, and the context clock drives it the way
// playwright's does: time flows until `pauseAt`, then moves only by `runFor`/`setSystemTime`.
//
// ENGINE picks the engine (default chromium).
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

const www = createRequire(new URL("../package.json", import.meta.url));

/** The engine this run drives. */
export const ENGINE = process.env.ENGINE ?? "chromium";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // gc() for the test of a client kept only through fetcher() (lifetime.test.mjs).
  "--js-flags=--expose-gc",
];
const FIREFOX_PATH = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";

/** A port nobody listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Launches the engine of this run. */
export async function launchEngine() {
  if (ENGINE === "chromium") {
    const { chromium } = await import("playwright-core");
    return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  }
  if (ENGINE === "firefox") {
    const { default: puppeteer } = await import("puppeteer-core");
    return new BidiBrowser(
      await puppeteer.launch({
        browser: "firefox",
        executablePath: FIREFOX_PATH,
        headless: true,
        // Timers of background tabs run on time, as playwright makes Chromium's do: the suite
        // drives several tabs of one context at once (the library's own catch-up after a
        // stalled timer is tested by firing the page events it listens to).
        extraPrefsFirefox: {
          "dom.min_background_timeout_value": 4,
          "dom.min_background_timeout_value_without_budget_throttling": 4,
          "dom.timeout.enable_budget_timer_throttling": false,
        },
      }),
    );
  }
  if (ENGINE === "webkit") {
    const { launchWebKit } = await import("./engines-webkit.mjs");
    return launchWebKit();
  }
  throw new Error(`ENGINE=${ENGINE}: expected chromium, firefox or webkit`);
}

// ---- the fake clock for engines without their own ----

let fakeTimersSource;

/** @sinonjs/fake-timers as a script that defines `FakeTimers` (bundled once by esbuild). */
export function fakeTimersScript() {
  if (!fakeTimersSource) {
    const esbuild = www("esbuild");
    const entry = www.resolve("@sinonjs/fake-timers");
    fakeTimersSource = esbuild.buildSync({
      entryPoints: [entry],
      bundle: true,
      format: "iife",
      globalName: "FakeTimers",
      platform: "browser",
      // Reached only where `process` exists (Node): never in a page.
      external: ["util"],
      write: false,
      minify: true,
    }).outputFiles[0].text;
  }
  return fakeTimersSource;
}

/**
 * The script every page of a clocked context runs first: installs fake timers at `now` (real
 * time when undefined), advancing with real time unless paused, and exposes `window.__e2eClock`.
 */
export function clockScript({ now, paused }) {
  return `${fakeTimersScript()};(${installClock})(${JSON.stringify({ now, paused })});`;
}

function installClock({ now, paused }) {
  const realClearInterval = window.clearInterval.bind(window);
  const clock = FakeTimers.withGlobal(window).install({
    now: now ?? Date.now(),
    shouldAdvanceTime: !paused,
    advanceTimeDelta: 20,
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
  window.__e2eClock = {
    clock,
    pause() {
      if (clock.attachedInterval !== undefined) {
        realClearInterval(clock.attachedInterval);
        clock.attachedInterval = undefined;
      }
    },
  };
}

/** The largest step the pages of one context are moved by at a time (InjectedClock.runFor). */
const RUN_STEP_MS = 250;

/**
 * playwright's `context.clock` over the pages of a context whose engine has no clock: `install`
 * makes every page opened afterwards start on fake timers; the other calls go to every page.
 */
export class InjectedClock {
  constructor(context) {
    this.context = context;
    this.installed = false;
    this.pausedAt = undefined;
  }
  /** The script for a page opened now, or undefined when the clock is not installed. */
  scriptForNewPage() {
    return this.installed ? clockScript({ now: this.pausedAt, paused: this.pausedAt !== undefined }) : undefined;
  }
  async install() {
    this.installed = true;
    await this.context.clockInstalled();
  }
  async pauseAt(time) {
    const t = typeof time === "number" ? time : time.getTime();
    await this.each(async (t) => {
      const c = window.__e2eClock;
      c.pause();
      await c.clock.tickAsync(Math.max(0, t - c.clock.now));
    }, t);
    this.pausedAt = t;
  }
  /**
   * Moves every page's clock `ms` forward. Where the layer moves pages one after the other
   * (WebKit's: `movesPagesInTurn`) and there are several, the time goes in rounds of at most
   * RUN_STEP_MS, every page one step per round, so that no page's clock runs ahead of the others
   * by more than a step while their messages travel — as one shared clock would.
   */
  async runFor(ms) {
    const step = this.context.movesPagesInTurn && this.context.openPages().length > 1 ? RUN_STEP_MS : ms;
    for (let done = 0; done < ms; done += step) {
      const now = Math.min(step, ms - done);
      await this.each((ms) => window.__e2eClock.clock.tickAsync(ms).then(() => undefined), now);
    }
    if (this.pausedAt !== undefined) this.pausedAt += ms;
  }
  async setSystemTime(time) {
    const t = typeof time === "number" ? time : time.getTime();
    await this.each((t) => window.__e2eClock.clock.setSystemTime(t), t);
    if (this.pausedAt !== undefined) this.pausedAt = t;
  }
  /** Runs `fn(arg)` in every page of the context at once, as playwright moves their clocks. */
  async each(fn, arg) {
    await Promise.all(this.context.openPages().map((page) => page.evaluate(fn, arg)));
  }
}

// ---- Firefox: puppeteer-core over WebDriver BiDi ----

class BidiBrowser {
  constructor(browser) {
    this.browser = browser;
  }
  async newContext() {
    return new BidiContext(await this.browser.createBrowserContext());
  }
  async close() {
    await this.browser.close();
  }
}

class BidiContext {
  constructor(context) {
    this.context = context;
    this.pages = [];
    this.initScripts = [];
    this.clock = new InjectedClock(this);
  }
  openPages() {
    return this.pages.filter((p) => !p.closed);
  }
  async newPage() {
    const raw = await this.context.newPage();
    const page = new BidiPage(raw, this);
    const clock = this.clock.scriptForNewPage();
    if (clock) await raw.evaluateOnNewDocument(clock);
    for (const script of this.initScripts) await raw.evaluateOnNewDocument(script);
    this.pages.push(page);
    return page;
  }
  async clockInstalled() {
    const script = this.clock.scriptForNewPage();
    for (const page of this.openPages()) await page.raw.evaluateOnNewDocument(script);
  }
  async addInitScript(fn, arg) {
    const script = `(${fn})(${JSON.stringify(arg)});`;
    this.initScripts.push(script);
    for (const page of this.openPages()) await page.raw.evaluateOnNewDocument(script);
  }
  async cookies() {
    return this.context.cookies();
  }
  async close() {
    await this.context.close();
  }
}

/** Answers a playwright-style predicate/glob for a URL. */
function urlMatcher(matcher) {
  if (typeof matcher === "function") return (url) => matcher(new URL(url));
  if (matcher instanceof RegExp) return (url) => matcher.test(url);
  const re = new RegExp(`^${String(matcher).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, ".*").replace(/(?<!\.)\*/g, "[^/]*")}$`);
  return (url) => re.test(url);
}

class BidiPage {
  constructor(page, context) {
    this.raw = page;
    this.context = context;
    this.closed = false;
  }
  get clock() {
    return this.context.clock;
  }
  on(event, handler) {
    if (event === "console") this.raw.on("console", (m) => handler({ type: () => (m.type() === "warn" ? "warning" : m.type()), text: () => m.text() }));
    else if (event === "response") {
      // playwright's Response: the headers are `allHeaders()`, a promise.
      this.raw.on("response", (r) =>
        handler({ url: () => r.url(), status: () => r.status(), json: () => r.json(), text: () => r.text(), allHeaders: async () => r.headers() }),
      );
    } else this.raw.on(event, handler);
  }
  $$eval(selector, fn, arg) {
    return this.raw.$$eval(selector, fn, arg);
  }
  goto(url) {
    return this.raw.goto(url, { waitUntil: "load" });
  }
  reload() {
    return this.raw.reload({ waitUntil: "load" });
  }
  url() {
    return this.raw.url();
  }
  evaluate(fn, arg) {
    return this.raw.evaluate(fn, arg);
  }
  waitForFunction(fn, arg, { timeout = 30_000 } = {}) {
    return this.raw.waitForFunction(fn, { timeout, polling: 50 }, arg);
  }
  async waitForURL(predicate, { timeout = 30_000 } = {}) {
    const matches = urlMatcher(predicate);
    const deadline = Date.now() + timeout;
    while (!matches(this.raw.url())) {
      if (Date.now() > deadline) throw new Error(`waitForURL: still at ${this.raw.url()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  exposeFunction(name, fn) {
    return this.raw.exposeFunction(name, fn);
  }
  click(selector) {
    return this.raw.click(selector);
  }
  textContent(selector) {
    return this.raw.$eval(selector, (e) => e.textContent);
  }
  getAttribute(selector, name) {
    return this.raw.$eval(selector, (e, n) => e.getAttribute(n), name);
  }
  inputValue(selector) {
    return this.raw.$eval(selector, (e) => e.value);
  }
  isVisible(selector) {
    return this.raw.$eval(selector, (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)).catch(() => false);
  }
  async selectOption(selector, value) {
    await this.raw.select(selector, value);
  }
  async setInputFiles(selector, { name, buffer }) {
    const dir = mkdtempSync(`${tmpdir()}/e2e-upload-`);
    writeFileSync(`${dir}/${name}`, buffer);
    const input = await this.raw.$(selector);
    await input.uploadFile(`${dir}/${name}`);
  }
  waitForSelector(selector, { state = "visible", timeout = 30_000 } = {}) {
    return this.raw.waitForSelector(selector, { visible: state === "visible", hidden: state === "hidden", timeout });
  }
  async close() {
    this.closed = true;
    await this.raw.close();
  }
}
