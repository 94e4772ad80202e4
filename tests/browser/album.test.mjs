// The album server on its own (`hotshoe album serve`), as at a real event: albums made
// through the admin API, photos sent by an independent tus client (tus-js-client, the one
// web uploaders use), and guests watching on a phone in Debian Chromium. Checks live
// arrival without reload, review mode end to end (the photographer approves on the admin
// page), the lightbox (tap, swipe, close, download), that guests never see unpublished
// photos, and that new arrivals do not move what a scrolled-down guest is looking at.
// Runs inside a loopback-only network namespace (see run.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import tus from 'tus-js-client';

const BIN = process.env.HOTSHOE_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;

function startAlbumServer(dataDir) {
  const child = spawn(BIN, ['album', 'serve', '--listen', '127.0.0.1:0', '--data', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`album server did not start:\n${out}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const addr = out.match(/album server on (\S+)/);
      const token = out.match(/Admin token \(shown once, keep it\): (\S+)/);
      const admin = out.match(/Admin:\s+(\S+)/);
      if (addr && token && admin) {
        clearTimeout(timer);
        resolve({ base: `http://${addr[1]}`, adminToken: token[1], adminUrl: admin[1] });
      }
    });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => reject(new Error(`album server exited early (${code}):\n${out}`)));
  });
  return { child, ready, log: () => out };
}

async function launch(viewport = { width: 390, height: 844 }, mobile = true) {
  const profile = mkdtempSync(join(tmpdir(), 'hotshoe-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    deviceScaleFactor: 2,
    isMobile: mobile,
    hasTouch: mobile,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
    ],
  });
  return { ctx, profile };
}

/// A real JPEG made by Chromium's own encoder: a colour field with a big label, so a
/// screenshot shows which photo is which, and thumbnails have something to render.
async function makeJpeg(page, { w, h, hue, label }) {
  const b64 = await page.evaluate(({ w, h, hue, label }) => {
    const c = document.createElement('canvas');
    c.width = w; c.height = h;
    const g = c.getContext('2d');
    const grad = g.createLinearGradient(0, 0, w, h);
    grad.addColorStop(0, `hsl(${hue} 70% 55%)`);
    grad.addColorStop(1, `hsl(${(hue + 60) % 360} 60% 25%)`);
    g.fillStyle = grad; g.fillRect(0, 0, w, h);
    g.fillStyle = 'rgba(255,255,255,.9)';
    g.font = `bold ${Math.round(h / 3)}px sans-serif`;
    g.textAlign = 'center'; g.textBaseline = 'middle';
    g.fillText(label, w / 2, h / 2);
    return c.toDataURL('image/jpeg', 0.85).split(',')[1];
  }, { w, h, hue, label });
  const bytes = Buffer.from(b64, 'base64');
  assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], 'canvas did not make a JPEG');
  return bytes;
}

/// Sends `bytes` with tus-js-client in small chunks, so creation and several PATCHes are
/// exercised; resolves with the photo id the album server names in its last answer.
function tusUpload(endpoint, token, bytes, filename) {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(bytes, {
      endpoint,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename, filetype: 'image/jpeg' },
      chunkSize: 32 * 1024,
      retryDelays: [],
      onError: reject,
      onSuccess: ({ lastResponse }) => {
        const id = lastResponse.getHeader('Hotshoe-Photo-Id');
        if (!id) reject(new Error(`no Hotshoe-Photo-Id after upload of ${filename}`));
        else resolve({ id, url: upload.url });
      },
    });
    upload.start();
  });
}

test('album server: live tus uploads, review, lightbox, privacy, at phone size', { timeout: 240_000 }, async () => {
  assert.ok(BIN, 'HOTSHOE_BIN must point at the hotshoe binary');
  const dataDir = mkdtempSync(join(tmpdir(), 'hotshoe-album-'));
  const server = startAlbumServer(dataDir);
  const guest = await launch();
  const admin = await launch({ width: 1100, height: 900 }, false);
  try {
    const { base, adminToken } = await server.ready;
    const api = async (method, path, body) => {
      const r = await fetch(base + path, {
        method,
        headers: { Authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await r.text();
      assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
      return r.status === 204 ? null : JSON.parse(text);
    };
    const party = await api('POST', '/api/albums', {
      title: 'Garden Party', photographer: 'Ana Photo', visibility: 'unlisted',
    });
    const gala = await api('POST', '/api/albums', { title: 'Charity Gala', review: true });
    assert.equal(gala.review, true);

    const page = await guest.ctx.newPage();
    const maker = await guest.ctx.newPage(); // draws the test JPEGs; never navigates
    await maker.goto(`${base}/healthz`);

    // ---- Live arrival without reload -------------------------------------------------
    await page.goto(party.gallery_url);
    assert.equal(await page.locator('[data-photo-id]').count(), 0);
    await page.evaluate(() => { window.__stillHere = 'yes'; });
    // The first guest's own visit counts: never "0 views" on the page being viewed.
    assert.match(await page.locator('footer').innerText(), /· 1 view ·/);

    const sent = [];
    for (const [i, hue] of [[1, 10], [2, 130], [3, 220]].values()) {
      const bytes = await makeJpeg(maker, { w: 1600, h: 1067, hue, label: `#${i}` });
      const { id } = await tusUpload(party.upload_url, party.upload_token, bytes, `party-${i}.jpg`);
      sent.push({ id, bytes });
      // Each one shows up on the open page by itself.
      await page.waitForSelector(`[data-photo-id="${id}"]`, { timeout: 10_000 });
    }
    assert.equal(await page.evaluate(() => window.__stillHere), 'yes', 'the gallery reloaded');
    const order = await page.$$eval('[data-photo-id]', (els) => els.map((e) => e.dataset.photoId));
    assert.deepEqual(order, sent.map((s) => s.id).reverse(), 'tiles are not newest first');
    assert.equal(await page.locator('#count').innerText(), '3 photos');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-photo-id] img')]
      .every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10_000 });
    await page.waitForTimeout(800); // the arrival animation
    await page.screenshot({ path: join(ARTIFACTS, 'album-grid-phone.png') });
    // The grid keeps the header's side margins: the title and the first tile start at the
    // same x, and the last tile ends as far from the right edge.
    const edges = await page.evaluate(() => {
      const h1 = document.querySelector('h1').getBoundingClientRect();
      const t = [...document.querySelectorAll('[data-photo-id]')].map((e) => e.getBoundingClientRect());
      return { title: h1.left, first: t[0].left, last: innerWidth - t[2].right };
    });
    assert.ok(edges.title > 0, 'the header has no margin');
    assert.equal(edges.first, edges.title, 'tiles and title do not line up');
    assert.equal(edges.last, edges.title, 'the grid is not symmetric');

    // ---- Lightbox: tap, swipe, keyboard, download, close ----------------------------
    const lbSrc = () => page.$eval('#lbimg', (i) => i.getAttribute('src') || '');
    await page.locator(`[data-photo-id="${sent[2].id}"]`).tap();
    await page.waitForFunction(() => {
      const i = document.getElementById('lbimg');
      return !document.getElementById('lb').hidden && i.complete && i.naturalWidth === 1600;
    }, null, { timeout: 10_000 });
    assert.match(await lbSrc(), new RegExp(`/p/${sent[2].id}/web\\.jpg$`));
    await page.screenshot({ path: join(ARTIFACTS, 'album-lightbox-phone.png') });

    // A real touch swipe from right to left moves to the next (older) photo.
    const cdp = await guest.ctx.newCDPSession(page);
    const touch = async (type, x) => cdp.send('Input.dispatchTouchEvent', {
      type, touchPoints: type === 'touchEnd' ? [] : [{ x, y: 420 }],
    });
    await touch('touchStart', 320);
    for (const x of [280, 220, 160, 100]) await touch('touchMove', x);
    await touch('touchEnd', 100);
    await page.waitForFunction((id) => document.getElementById('lbimg').src.includes(id), sent[1].id,
      { timeout: 5_000 });
    // The keyboard does the same on a laptop.
    await page.keyboard.press('ArrowRight');
    assert.match(await lbSrc(), new RegExp(`/p/${sent[0].id}/`));
    await page.keyboard.press('ArrowLeft');
    assert.match(await lbSrc(), new RegExp(`/p/${sent[1].id}/`));

    // "Download" returns exactly the bytes that were uploaded (the web rendition is stored
    // as sent), as an attachment.
    const dlHref = await page.$eval('#dl', (a) => a.href);
    const dl = await fetch(dlHref);
    assert.equal(dl.status, 200);
    assert.equal(dl.headers.get('content-type'), 'image/jpeg');
    assert.match(dl.headers.get('content-disposition') || '', /^attachment; filename="party-2\.jpg"$/);
    assert.ok(Buffer.from(await dl.arrayBuffer()).equals(sent[1].bytes), 'download differs from the upload');
    // No original rendition was offered for this album.
    assert.equal(await page.$eval('#dlo', (a) => a.hidden), true);

    await page.locator('#close').tap();
    await page.waitForFunction(() => document.getElementById('lb').hidden, null, { timeout: 5_000 });
    assert.equal(await page.evaluate(() => window.__stillHere), 'yes', 'closing the lightbox navigated');
    assert.equal(new URL(page.url()).pathname, `/g/${party.slug}`);

    // ---- New photos while the guest has scrolled down: nothing under the thumb moves --
    const filler = await makeJpeg(maker, { w: 480, h: 320, hue: 40, label: 'x' });
    for (let i = 0; i < 27; i++) {
      // Same pixels, different bytes (a comment segment), so each is a new photo.
      const bytes = Buffer.concat([filler.subarray(0, 2),
        Buffer.from([0xff, 0xfe, 0x00, 0x06]), Buffer.from(`f${String(i).padStart(3, '0')}`),
        filler.subarray(2)]);
      await tusUpload(party.upload_url, party.upload_token, bytes, `filler-${i}.jpg`);
    }
    await page.waitForFunction(() => document.querySelectorAll('[data-photo-id]').length === 30, null,
      { timeout: 20_000 });
    await page.evaluate(() => window.scrollTo(0, 1200));
    await page.waitForTimeout(300);
    const watched = sent[0].id; // the oldest, far down the page
    const rect = () => page.$eval(`[data-photo-id="${watched}"]`, (e) => {
      const r = e.getBoundingClientRect(); return { top: r.top, left: r.left };
    });
    const before = await rect();
    assert.ok(before.top > 0 && before.top < 844, `the watched tile is not on screen: ${before.top}`);
    const late = await makeJpeg(maker, { w: 1600, h: 1067, hue: 300, label: '#4' });
    const lateId = (await tusUpload(party.upload_url, party.upload_token, late, 'party-4.jpg')).id;
    await page.waitForSelector('#pill:not([hidden])', { timeout: 10_000 });
    assert.deepEqual(await rect(), before, 'a new photo moved what the guest was looking at');
    assert.equal(await page.locator('#count').innerText(), '31 photos');
    await page.screenshot({ path: join(ARTIFACTS, 'album-scrolled-pill-phone.png') });
    await page.locator('#pill').tap();
    await page.waitForSelector(`[data-photo-id="${lateId}"]`, { timeout: 5_000 });
    await page.waitForFunction(() => window.scrollY === 0, null, { timeout: 5_000 });

    // ---- Review mode: held back until the photographer approves ----------------------
    const galaPage = await guest.ctx.newPage();
    await galaPage.goto(gala.gallery_url);
    await galaPage.evaluate(() => { window.__stillHere = 'yes'; });
    await galaPage.waitForFunction(() => document.getElementById('live').classList.contains('on'),
      null, { timeout: 5_000 }); // the live stream is open before the upload
    const held = await makeJpeg(maker, { w: 1600, h: 1067, hue: 270, label: 'R1' });
    const heldId = (await tusUpload(gala.upload_url, gala.upload_token, held, 'gala-1.jpg')).id;
    // The server has it (the admin sees it in the queue) ...
    const queue = await api('GET', `/api/albums/${gala.id}/review`);
    assert.deepEqual(queue.map((p) => p.id), [heldId]);
    // ... but a guest does not: not live, not in the JSON, not the files.
    await galaPage.waitForTimeout(1500);
    assert.equal(await galaPage.locator('[data-photo-id]').count(), 0, 'a pending photo reached the guest');
    const anonymous = await fetch(`${base}/g/${gala.slug}/photos.json`);
    assert.equal(anonymous.status, 200);
    assert.deepEqual((await anonymous.json()).photos, []);
    for (const f of ['web.jpg', 'thumb.jpg', 'original.jpg']) {
      assert.equal((await fetch(`${base}/p/${heldId}/${f}`)).status, 404, `anonymous ${f} of a pending photo`);
    }
    const reload = await fetch(gala.gallery_url);
    assert.doesNotMatch(await reload.text(), new RegExp(heldId), 'the gallery HTML names a pending photo');

    // The photographer signs in on the admin page and approves it there.
    const adminPage = await admin.ctx.newPage();
    await adminPage.goto(`${base}/admin`);
    await adminPage.fill('input[name=token]', adminToken);
    await adminPage.click('button[type=submit]');
    const card = adminPage.locator(`.review [data-photo-id="${heldId}"]`);
    await card.waitFor({ timeout: 10_000 });
    await adminPage.waitForFunction((id) => {
      const i = document.querySelector(`.review [data-photo-id="${id}"] img`);
      return i && i.complete && i.naturalWidth > 0;
    }, heldId, { timeout: 10_000 });
    await adminPage.screenshot({ path: join(ARTIFACTS, 'album-admin-review.png'), fullPage: true });
    await card.locator('button.approve').click();
    await galaPage.waitForSelector(`[data-photo-id="${heldId}"]`, { timeout: 10_000 });
    assert.equal(await galaPage.evaluate(() => window.__stillHere), 'yes', 'approval reloaded the gallery');
    await adminPage.waitForFunction((id) => !document.querySelector(`.review [data-photo-id="${id}"]`),
      heldId, { timeout: 10_000 });
    assert.equal((await fetch(`${base}/p/${heldId}/web.jpg`)).status, 200);
    assert.deepEqual((await (await fetch(`${base}/g/${gala.slug}/photos.json`)).json()).photos.map((p) => p.id),
      [heldId]);

    // A private album is invisible to guests altogether.
    await api('PATCH', `/api/albums/${gala.id}`, { visibility: 'private' });
    assert.equal((await fetch(`${base}/g/${gala.slug}/photos.json`)).status, 404);
    assert.equal((await fetch(`${base}/p/${heldId}/web.jpg`)).status, 404);

    // ---- The QR page for the table cards ---------------------------------------------
    const qr = await guest.ctx.newPage();
    await qr.goto(`${party.gallery_url}/qr`);
    assert.equal(await qr.locator('.url').innerText(), party.gallery_url);
    await qr.screenshot({ path: join(ARTIFACTS, 'album-qr-phone.png') });

    // A guest arriving later: the server-rendered page with its cover and a full grid.
    const later = await guest.ctx.newPage();
    await later.goto(party.gallery_url);
    assert.equal(await later.locator('[data-photo-id]').count(), 31);
    assert.match(await later.locator('footer').innerText(), /· 2 views ·/);
    await later.waitForFunction(() => [...document.querySelectorAll('[data-photo-id] img')].slice(0, 15)
      .every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10_000 });
    await later.screenshot({ path: join(ARTIFACTS, 'album-grid-later-phone.png') });
  } catch (e) {
    console.error(server.log());
    throw e;
  } finally {
    await guest.ctx.close();
    await admin.ctx.close();
    server.child.kill('SIGINT');
    await new Promise((r) => { server.child.once('exit', r); setTimeout(r, 10_000); });
    rmSync(guest.profile, { recursive: true, force: true });
    rmSync(admin.profile, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});
