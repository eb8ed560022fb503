/**
 * The chat page in a real browser, as a user runs it: `npm start` with the default
 * configuration (port 6767, the Procfile's two handler processes, under holdDefaultPorts)
 * and headless Debian Chromium driven by playwright-core (ECOSYSTEM.md §10). Two tabs per
 * room see each other's messages once and nothing of the other room; with the WebSocket
 * blocked the page falls back to SSE, with SSE blocked too to long-poll, and messages
 * still flow both ways.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { defaultEnv, holdDefaultPorts, npmStart, waitUntil } from '../helpers/system.js'

const kBase = 'http://127.0.0.1:6767'
const kChromium = '/usr/bin/chromium'
/** ECOSYSTEM.md §10: without the background-networking flags Chromium keeps calling hosts it cannot reach. */
const kFlags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']
const kSeeMs = 10_000

/** Chromium with a fresh profile; closed (and its profile removed) in teardown, whatever happens. */
async function launch (t: ExecutionContext): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'swb-chromium-'))
  t.teardown(() => { rmSync(profile, { recursive: true, force: true }) })
  const browser = await chromium.launchPersistentContext(profile, { executablePath: kChromium, headless: true, args: kFlags })
  t.teardown(async () => {
    const closed = browser.close()
    const late = setTimeout(() => { for (const p of chromiumPids(profile)) try { process.kill(p, 'SIGKILL') } catch {} }, 10_000)
    await closed.catch(() => {})
    clearTimeout(late)
  })
  return browser
}

/** Chromium processes of this profile (by their command line), should close() hang. */
function chromiumPids (profile: string): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try { if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(profile)) pids.push(Number(name)) } catch {}
  }
  return pids
}

interface Tab { page: Page, name: string, errors: string[] }

async function openTab (browser: BrowserContext, room: string, name: string, extra = ''): Promise<Tab> {
  const page = await browser.newPage()
  const tab: Tab = { page, name, errors: [] }
  page.on('pageerror', (err) => { tab.errors.push(`${name}: ${err.message}`) })
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) tab.errors.push(`${name}: ${m.text()}`) })
  await page.goto(`${kBase}/chat/?room=${room}&name=${name}${extra}`)
  return tab
}

async function transport (tab: Tab, want: string): Promise<void> {
  try {
    await tab.page.waitForSelector(`#transport[data-state="${want}"]`, { timeout: kSeeMs })
  } catch (err) {
    const state = await tab.page.textContent('#transport').catch(() => '?')
    const log = await tab.page.textContent('#log').catch(() => '?')
    throw new Error(`${tab.name}: transport ${state}, not ${want}; log: ${log}; ${(err as Error).message}`)
  }
}

async function say (tab: Tab, text: string): Promise<void> {
  await tab.page.fill('#text', text)
  await tab.page.press('#text', 'Enter')
}

/** How many lines of the log end with `: text` (a message shows as `time name: text`). */
function count (tab: Tab, text: string): Promise<number> {
  return tab.page.$$eval('#log li', (lis, t) => lis.filter((li) => li.textContent?.endsWith(`: ${t}`)).length, text)
}

async function sees (tab: Tab, text: string, ms = kSeeMs): Promise<void> {
  await waitUntil(async () => await count(tab, text) > 0, ms, `${tab.name} to see "${text}"`)
}

/** `from` says `text`; every tab in `hear` shows it exactly once, every tab in `deaf` never. */
async function exchange (t: ExecutionContext, from: Tab, text: string, hear: Tab[], deaf: Tab[]): Promise<void> {
  await say(from, text)
  for (const tab of hear) await sees(tab, text)
  await new Promise((resolve) => setTimeout(resolve, 300))   // a duplicate would come right behind
  for (const tab of hear) t.is(await count(tab, text), 1, `${tab.name} shows "${text}" once`)
  for (const tab of deaf) t.is(await count(tab, text), 0, `${tab.name} (other room) never shows "${text}"`)
}

test.serial('chat page in Chromium: two tabs per room over WebSocket, then SSE with the WebSocket blocked, then long-poll', async (t) => {
  t.timeout(120_000)
  await holdDefaultPorts(t)
  const started = Date.now()
  const phase = (what: string): void => { t.log(`${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`) }
  const npm = npmStart(t, [], defaultEnv())
  t.teardown(() => { if (!t.passed) t.log(`npm start's output (end):\n${npm.output.slice(-6000)}`) })
  await npm.waitFor(/acceptor\.1 .*listening url=http:\/\/127\.0\.0\.1:6767\//, 45_000)
  await npm.waitFor(/broker\.1 .*handler connected .*handlers=2/, 45_000)
  await waitUntil(async () => (await fetch(kBase + '/hello', { signal: AbortSignal.timeout(1000) }).catch(() => null))?.status === 200, 30_000, 'GET /hello')
  phase('system up')
  const browser = await launch(t)
  const [a1, a2, r1, r2] = await Promise.all([
    openTab(browser, 'lobby', 'ann'), openTab(browser, 'lobby', 'bo'), openTab(browser, 'random', 'cy'), openTab(browser, 'random', 'di')
  ]) as [Tab, Tab, Tab, Tab]
  const lobby = [a1, a2]
  const random = [r1, r2]

  phase('tabs open')
  // 1. WebSocket everywhere: both ways in each room, rooms apart, text shown as text.
  for (const tab of [...lobby, ...random]) await transport(tab, 'websocket')
  await exchange(t, a1, 'hello from ann', lobby, random)
  await exchange(t, a2, 'hi ann, bo here', lobby, random)
  await exchange(t, r1, 'random talk', random, lobby)
  await exchange(t, r2, 'more random', random, lobby)
  const html = '<img src=x onerror="window.pwned=1">'
  await exchange(t, a1, html, lobby, random)
  t.is(await a2.page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined, 'no script ran from a message')
  t.is(await a2.page.$$eval('#log img', (imgs) => imgs.length), 0)

  phase('websocket done')
  // 2. WebSockets blocked (a real refusal: the socket closes before it joins): SSE, sending by POST.
  // Routing acts on new sockets: bo reloads first (SSE beside ann's WebSocket), then ann.
  await browser.routeWebSocket('**/chat/ws**', (ws) => { ws.close() })
  await a2.page.reload()
  await transport(a2, 'sse')
  await exchange(t, a1, 'from a websocket to sse', lobby, random)
  await exchange(t, a2, 'from sse to a websocket', lobby, random)
  await a1.page.reload()
  await transport(a1, 'sse')
  await exchange(t, a1, 'over sse now', lobby, random)
  await exchange(t, a2, 'sse both ways', lobby, random)
  await exchange(t, r1, 'random still on websockets', random, lobby)

  phase('sse done')
  // 3. SSE blocked too for bo: long-poll. A poll's hold is not visible from outside, so ann
  // says it again (a new text) until bo has one; what bo sends (by POST) ann sees over SSE.
  // (bo's own may fall between two polls: the demo keeps no history.)
  await a2.page.route('**/chat/sse**', (route) => route.abort())
  await a2.page.reload()
  await transport(a2, 'long-poll')
  let seen = ''
  await waitUntil(async () => {
    const text = `polling ${Date.now()}`
    await say(a1, text)
    try {
      await sees(a2, text, 2000)
      seen = text
      return true
    } catch { return false }
  }, 30_000, 'bo (long-poll) to get a message from ann (SSE)')
  t.is(await count(a2, seen), 1)
  await exchange(t, a2, 'sent while long-polling', [a1], random)

  phase('long-poll done')
  // 4. `?transport=long-poll` (README) starts there, without any block.
  const eve = await openTab(browser, 'random', 'eve', '&transport=long-poll')
  await transport(eve, 'long-poll')
  random.push(eve)

  for (const tab of [...lobby, ...random]) t.deepEqual(tab.errors, [], 'no script error nor CSP violation')
})
