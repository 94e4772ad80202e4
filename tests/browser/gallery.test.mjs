// A guest's phone opens the gallery while the demo's virtual camera keeps shooting: new photos
// must appear without a reload, newest first, and the page must look right at phone size.
// Runs inside a loopback-only network namespace (see run.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.HOTSHOE_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;

function startDemo(dataDir) {
  const child = spawn(BIN, [
    'demo', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--shot-every', '2',
    '--size', '3000x2000', '--no-qr',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo printed no gallery URL:\n${out}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Gallery:\s+(\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => reject(new Error(`demo exited early (${code}):\n${out}`)));
  });
  return { child, url, log: () => out };
}

async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'hotshoe-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
    ],
  });
  return { ctx, profile };
}

test('gallery shows new shots live, without reload, newest first', { timeout: 180_000 }, async () => {
  assert.ok(BIN, 'HOTSHOE_BIN must point at the hotshoe binary');
  const dataDir = mkdtempSync(join(tmpdir(), 'hotshoe-demo-'));
  const demo = startDemo(dataDir);
  const { ctx, profile } = await launch();
  try {
    const url = await demo.url;
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForSelector('[data-photo-id]', { timeout: 60_000 });
    // A marker that a reload would wipe out.
    await page.evaluate(() => { window.__stillHere = 'yes'; });
    const before = await page.$$eval('[data-photo-id]', (els) => els.map((e) => e.dataset.photoId));
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-photo-id]').length > n,
      before.length,
      { timeout: 60_000, polling: 100 },
    );
    const after = await page.$$eval('[data-photo-id]', (els) => els.map((e) => ({
      id: e.dataset.photoId, seq: Number(e.dataset.seq),
    })));
    assert.equal(await page.evaluate(() => window.__stillHere), 'yes', 'the page reloaded');
    const fresh = after.filter((p) => !before.includes(p.id));
    assert.ok(fresh.length >= 1);
    assert.equal(after[0].id, fresh[0].id, 'the newest photo is not first');
    const seqs = after.map((p) => p.seq);
    assert.deepEqual([...seqs].sort((a, b) => b - a), seqs, 'tiles are not newest first');
    assert.equal(new Set(after.map((p) => p.id)).size, after.length, 'a photo is shown twice');
    // Thumbnails really load.
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-photo-id] img');
      return img && img.complete && img.naturalWidth > 0;
    }, null, { timeout: 20_000 });
    await page.waitForTimeout(800); // let the arrival animation finish before the picture
    await page.screenshot({ path: join(ARTIFACTS, 'gallery-phone.png') });

    // The lightbox opens on the newest photo at web size.
    await page.click('[data-photo-id] >> nth=0');
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('img')].filter((i) => i.src.includes('/web.jpg'));
      return imgs.some((i) => i.complete && i.naturalWidth >= 1000);
    }, null, { timeout: 20_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'lightbox-phone.png') });
  } catch (e) {
    console.error(demo.log());
    throw e;
  } finally {
    await ctx.close();
    demo.child.kill('SIGINT');
    await new Promise((r) => { demo.child.once('exit', r); setTimeout(r, 10_000); });
    rmSync(profile, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});
