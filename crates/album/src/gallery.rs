//! The guest gallery: a server-rendered page per album, its JSON pages for infinite
//! scroll, and the photo files themselves.
//!
//! No framework and no build step: the page must open fast on a phone on venue Wi-Fi,
//! so CSS and JS are inline and small, and the first screen of tiles is in the HTML.

use axum::body::Body;
use axum::extract::{Form, Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::api::listed;
use crate::auth::{self, Keys, ViewerAccess};
use crate::db::{AlbumRow, PhotoRow, ORIGINAL_RENDITION, PUBLISHED};
use crate::http_error::HttpError;
use crate::live::PhotoView;
use crate::server::AppState;
use crate::store::Variant;

const PAGE_SIZE: i64 = 60;
const MAX_PAGE_SIZE: i64 = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(front))
        .route("/g/{slug}", get(page))
        .route("/g/{slug}/unlock", axum::routing::post(unlock))
        .route("/g/{slug}/photos.json", get(photos_json))
        .route("/p/{photo_id}/{file}", get(photo_file))
}

async fn album_by_slug(state: &AppState, slug: &str) -> Result<AlbumRow, HttpError> {
    state
        .db
        .album_by_slug(slug)
        .await?
        .ok_or_else(|| HttpError::not_found("gallery"))
}

/// The album behind a gallery slug, if this request may see it. Private and unknown
/// albums answer the same 404 so slugs cannot be probed; a password-protected album
/// without its cookie answers 401.
pub async fn viewer_album(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
) -> Result<AlbumRow, HttpError> {
    let album = album_by_slug(state, slug).await?;
    match auth::viewer_access(&state.keys, album, headers)? {
        ViewerAccess::Granted { album, .. } => Ok(album),
        ViewerAccess::Locked(_) => Err(HttpError::new(
            StatusCode::UNAUTHORIZED,
            "this gallery needs its password",
        )),
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn tile(photo: &PhotoView) -> String {
    format!(
        r#"<a class="t" href="{web}" data-photo-id="{id}" data-seq="{seq}" data-w="{w}" data-h="{h}"><img src="{thumb}" loading="lazy" decoding="async" alt=""></a>"#,
        web = escape(&photo.web_url),
        thumb = escape(&photo.thumb_url),
        id = escape(&photo.id),
        seq = photo.seq,
        w = photo.width,
        h = photo.height,
    )
}

fn count_text(n: i64) -> String {
    if n == 1 {
        "1 photo".to_owned()
    } else {
        format!("{n} photos")
    }
}

/// The footer's audience figure; nothing at all while nobody (but the admin) has looked.
fn views_text(n: i64) -> String {
    match n {
        n if n <= 0 => String::new(),
        1 => " · 1 view".to_owned(),
        n => format!(" · {n} views"),
    }
}

fn no_cache(mut response: Response) -> Response {
    // Pages are snapshots; live updates come over SSE, so never serve them stale.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    /// Sub-album to show; none shows every photo.
    s: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    UrlPath(slug): UrlPath<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let album = album_by_slug(&state, &slug).await?;
    let (album, admin) = match auth::viewer_access(&state.keys, album, &headers)? {
        ViewerAccess::Granted { album, admin } => (album, admin),
        ViewerAccess::Locked(album) => {
            let html = LOCKED
                .replace("{{TITLE}}", &escape(&album.title))
                .replace("{{SLUG}}", &escape(&album.slug))
                .replace("{{ERROR}}", "");
            return Ok(no_cache(
                (StatusCode::UNAUTHORIZED, Html(html)).into_response(),
            ));
        }
    };
    // Counted per page load: a rough audience figure for the photographer, not analytics.
    // Batched (see `views.rs`); the page shows the stored count plus what is not yet flushed,
    // this view included: a guest must not read "0 views" on the very page they are viewing.
    let pending = if admin { 0 } else { state.views.add(&album.id) };
    let views = album.views + pending;
    let section = query.s.as_deref().filter(|s| !s.is_empty());
    let count = state.db.gallery_count(&album.id, section).await?;
    let photos = state
        .db
        .gallery_before(&album.id, section, None, PAGE_SIZE)
        .await?;
    let sections = state.db.sections(&album.id).await?;
    let tiles: String = photos.iter().map(|p| tile(&PhotoView::from(p))).collect();

    let mut tabs = String::new();
    if !sections.is_empty() {
        tabs.push_str(r#"<nav class="tabs">"#);
        let base = format!("/g/{}", album.slug);
        tabs.push_str(&format!(
            r#"<a href="{}"{}>All</a>"#,
            escape(&base),
            if section.is_none() {
                r#" class="on""#
            } else {
                ""
            }
        ));
        for s in &sections {
            tabs.push_str(&format!(
                r#"<a href="{}?s={}"{}>{}</a>"#,
                escape(&base),
                escape(&query_value(&s.name)),
                if section == Some(s.name.as_str()) {
                    r#" class="on""#
                } else {
                    ""
                },
                escape(&s.name)
            ));
        }
        tabs.push_str("</nav>");
    }
    // Cover: the chosen photo, else the newest one; shown as a banner above the grid.
    // Without a section the page's first tile is already the newest photo.
    let cover_id = match &album.cover_photo_id {
        Some(id) => Some(id.clone()),
        None if section.is_none() => photos.first().map(|p| p.id.clone()),
        None => state
            .db
            .gallery_before(&album.id, None, None, 1)
            .await?
            .first()
            .map(|p| p.id.clone()),
    };
    let cover = cover_id
        .map(|id| {
            format!(
                r#"<div class="cover" style="background-image:url('/p/{}/web.jpg')"></div>"#,
                escape(&id)
            )
        })
        .unwrap_or_default();
    let credit = album
        .photographer
        .as_deref()
        .map(|p| format!(r#"<span class="by">Photos by {}</span>"#, escape(p)))
        .unwrap_or_default();
    let html = PAGE
        .replace("{{TITLE}}", &escape(&album.title))
        .replace("{{SLUG}}", &escape(&album.slug))
        .replace("{{SECTION}}", &escape(section.unwrap_or("")))
        .replace("{{ORIGINAL}}", if album.allow_original { "1" } else { "0" })
        .replace("{{COUNT}}", &count.to_string())
        .replace("{{COUNT_TEXT}}", &count_text(count))
        .replace("{{VIEWS}}", &views_text(views))
        .replace("{{COVER}}", &cover)
        .replace("{{CREDIT}}", &credit)
        .replace("{{TABS}}", &tabs)
        .replace(
            "{{MORE}}",
            if photos.len() as i64 == PAGE_SIZE {
                "1"
            } else {
                "0"
            },
        )
        .replace("{{EMPTY_HIDDEN}}", if count == 0 { "" } else { "hidden" })
        .replace("{{TILES}}", &tiles);
    Ok(no_cache(Html(html).into_response()))
}

#[derive(Debug, Deserialize)]
struct Unlock {
    password: String,
}

async fn unlock(
    State(state): State<AppState>,
    UrlPath(slug): UrlPath<String>,
    headers: HeaderMap,
    Form(form): Form<Unlock>,
) -> Result<Response, HttpError> {
    let album = album_by_slug(&state, &slug).await?;
    if let ViewerAccess::Locked(album) = auth::viewer_access(&state.keys, album, &headers)? {
        let ok = album
            .password_hash
            .as_deref()
            .is_some_and(|h| auth::check_password(h, &form.password));
        if !ok {
            tracing::info!(album_id = %album.id, "wrong gallery password");
            let html = LOCKED
                .replace("{{TITLE}}", &escape(&album.title))
                .replace("{{SLUG}}", &escape(&album.slug))
                .replace(
                    "{{ERROR}}",
                    r#"<p class="err">Wrong password, try again.</p>"#,
                );
            return Ok((StatusCode::UNAUTHORIZED, Html(html)).into_response());
        }
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000",
            Keys::viewer_cookie_name(&album),
            state.keys.viewer_cookie_value(&album)
        );
        let mut response = Redirect::to(&format!("/g/{}", album.slug)).into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
        return Ok(response);
    }
    Ok(Redirect::to(&format!("/g/{slug}")).into_response())
}

#[derive(Debug, Deserialize)]
struct JsonQuery {
    before: Option<i64>,
    limit: Option<i64>,
    s: Option<String>,
}

#[derive(Debug, Serialize)]
struct PhotoPage {
    photos: Vec<PhotoView>,
}

async fn photos_json(
    State(state): State<AppState>,
    UrlPath(slug): UrlPath<String>,
    headers: HeaderMap,
    query: Result<Query<JsonQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PhotoPage>, HttpError> {
    let Query(query) = query.map_err(|e| HttpError::bad_request(e.body_text()))?;
    let album = viewer_album(&state, &slug, &headers).await?;
    let limit = query.limit.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    let section = query.s.as_deref().filter(|s| !s.is_empty());
    let rows = state
        .db
        .gallery_before(&album.id, section, query.before, limit)
        .await?;
    Ok(Json(PhotoPage {
        photos: rows.iter().map(PhotoView::from).collect(),
    }))
}

/// Public albums, for whoever opens the server's root.
async fn front(State(state): State<AppState>) -> Result<Html<String>, HttpError> {
    let mut items = String::new();
    for album in state.db.albums().await?.iter().filter(|a| listed(a)) {
        items.push_str(&format!(
            r#"<li><a href="/g/{}">{}</a></li>"#,
            escape(&album.slug),
            escape(&album.title)
        ));
    }
    if items.is_empty() {
        items.push_str("<li class=\"none\">No public albums.</li>");
    }
    Ok(Html(FRONT.replace("{{ITEMS}}", &items)))
}

#[derive(Debug, Deserialize)]
struct FileQuery {
    /// `?dl=1` asks the browser to save rather than show.
    dl: Option<String>,
}

fn download_name(photo: &PhotoRow, suffix: &str) -> String {
    let base = photo
        .filename
        .as_deref()
        .and_then(|f| f.rsplit(['/', '\\']).next())
        .unwrap_or("");
    let mut name: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    if name.trim_matches('.').is_empty() {
        name = photo.id.clone();
    }
    let lower = name.to_ascii_lowercase();
    if let Some(stem) = lower
        .strip_suffix(".jpg")
        .or_else(|| lower.strip_suffix(".jpeg"))
        .map(str::len)
    {
        name.truncate(stem);
    }
    format!("{name}{suffix}.jpg")
}

/// `/p/{photo}/web.jpg`, `thumb.jpg`, and `original.jpg` (the original rendition of the
/// same shot, when the album allows it). Guests get published photos of albums they may
/// view; the admin gets everything (the admin page shows the review queue).
async fn photo_file(
    State(state): State<AppState>,
    UrlPath((photo_id, file)): UrlPath<(String, String)>,
    Query(query): Query<FileQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let not_found = || HttpError::not_found("photo");
    let photo = state
        .db
        .photo_by_id(&photo_id)
        .await?
        .ok_or_else(not_found)?;
    let album = state
        .db
        .album_by_id(&photo.album_id)
        .await?
        .ok_or_else(not_found)?;
    let admin = match auth::viewer_access(&state.keys, album.clone(), &headers) {
        Ok(ViewerAccess::Granted { admin, .. }) => admin,
        _ => return Err(not_found()),
    };
    if !admin && photo.status != PUBLISHED {
        return Err(not_found());
    }
    let (row, variant, suffix) = match file.as_str() {
        "original.jpg" => {
            if !admin && !album.allow_original {
                return Err(not_found());
            }
            let original = state
                .db
                .photo_by_identity(&album.id, &photo.content_hash, ORIGINAL_RENDITION)
                .await?
                .filter(|o| admin || o.status == PUBLISHED)
                .ok_or_else(not_found)?;
            (original, Variant::Web, "-original")
        }
        other => {
            let variant = Variant::from_file_name(other).ok_or_else(not_found)?;
            (photo, variant, "")
        }
    };
    let object = state.store.get(&row.album_id, &row.id, variant).await?;
    let body = Body::from_stream(object.stream.map_err(std::io::Error::other));
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(object.size));
    // Photo ids are never reused and files never change; but a deleted photo must stop
    // being served, and a password may be added, so shared caches must ask again.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    if query.dl.is_some() {
        let value = format!("attachment; filename=\"{}\"", download_name(&row, suffix));
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(response)
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1,viewport-fit=cover">
<meta name="theme-color" content="#111214">
<title>{{TITLE}}</title>
<style>
:root{color-scheme:dark;--bg:#111214;--fg:#ececec;--mute:#8d9096;--live:#ff5a5f;--gut:12px;--gap:4px}
@media (min-width:700px){:root{--gut:24px;--gap:6px}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-text-size-adjust:100%}
.cover{height:34vw;max-height:300px;min-height:120px;background:#1c1e21 center/cover no-repeat;position:relative}
.cover::after{content:"";position:absolute;inset:0;background:linear-gradient(transparent 40%,var(--bg))}
header{position:sticky;top:0;z-index:2;padding:calc(12px + env(safe-area-inset-top)) calc(var(--gut) + env(safe-area-inset-right)) 10px calc(var(--gut) + env(safe-area-inset-left));background:rgba(17,18,20,.86);backdrop-filter:blur(14px);-webkit-backdrop-filter:blur(14px)}
.row{display:flex;align-items:center;gap:10px}
h1{flex:1;margin:0;font-size:20px;font-weight:650;letter-spacing:.005em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.meta{display:flex;align-items:center;gap:8px;margin-top:3px;color:var(--mute);font-size:13px;white-space:nowrap}
#count{flex:none}.by{min-width:0;overflow:hidden;text-overflow:ellipsis}
.dot{flex:none;width:8px;height:8px;border-radius:50%;background:#4a4c51;transition:background .3s}
.dot.on{background:var(--live);animation:pulse 2s infinite}
@keyframes pulse{0%{box-shadow:0 0 0 0 rgba(255,90,95,.55)}70%{box-shadow:0 0 0 7px rgba(255,90,95,0)}100%{box-shadow:0 0 0 0 rgba(255,90,95,0)}}
.act{flex:none;display:flex;gap:6px}
.act a,.act button{display:flex;align-items:center;justify-content:center;height:32px;padding:0 12px;border:0;border-radius:999px;background:rgba(255,255,255,.1);color:var(--fg);font:inherit;font-size:13px;font-weight:600;text-decoration:none;cursor:pointer}
.tabs{display:flex;gap:6px;overflow-x:auto;padding:10px var(--gut) 8px;scrollbar-width:none}
.tabs a{flex:none;padding:6px 14px;border-radius:999px;background:#1f2124;color:var(--mute);text-decoration:none;font-size:14px;font-weight:600}
.tabs a.on{background:var(--fg);color:#111}
/* One gutter for header, tabs and grid, so the title and the tiles line up. */
#grid{display:grid;grid-template-columns:repeat(3,1fr);gap:var(--gap);padding:2px calc(var(--gut) + env(safe-area-inset-right)) 0 calc(var(--gut) + env(safe-area-inset-left))}
@media (min-width:700px){#grid{grid-template-columns:repeat(auto-fill,minmax(220px,1fr))}}
.t{display:block;aspect-ratio:1/1;background:#1c1e21;border-radius:3px;overflow:hidden;-webkit-tap-highlight-color:transparent}
.t img{width:100%;height:100%;object-fit:cover;display:block}
.t.new{animation:arrive .7s ease-out}
.t.gone{transition:opacity .3s;opacity:0}
@keyframes arrive{from{opacity:0;transform:scale(.94)}}
#pill{position:fixed;top:calc(78px + env(safe-area-inset-top));left:50%;transform:translateX(-50%);z-index:3;border:0;border-radius:999px;padding:9px 18px;background:var(--fg);color:#111;font:inherit;font-weight:650;box-shadow:0 6px 20px rgba(0,0,0,.45);cursor:pointer}
#pill[hidden],.empty[hidden],#toast[hidden]{display:none}
.empty{padding:72px 24px;text-align:center;color:var(--mute)}
#more{height:1px}
#lb{position:fixed;inset:0;z-index:10;background:#000;display:flex;align-items:center;justify-content:center;touch-action:pan-y}
#lb[hidden]{display:none}
#lb img{max-width:100%;max-height:100%;object-fit:contain;user-select:none;-webkit-user-select:none}
#lb button{position:absolute;display:flex;align-items:center;justify-content:center;width:44px;height:44px;border:0;border-radius:50%;background:rgba(40,40,40,.55);color:#fff;font-size:26px;line-height:1;cursor:pointer}
#prev{left:10px;top:calc(50% - 22px)}#next{right:10px;top:calc(50% - 22px)}
#close{right:12px;top:calc(12px + env(safe-area-inset-top))}
.dls{position:absolute;bottom:calc(18px + env(safe-area-inset-bottom));left:0;right:0;display:flex;justify-content:center;gap:10px}
.dls a{padding:10px 20px;border-radius:999px;background:rgba(255,255,255,.16);color:#fff;text-decoration:none;font-weight:600;backdrop-filter:blur(8px)}
.dls a[hidden]{display:none}
@media (hover:none){#prev,#next{display:none}}
#toast{position:fixed;bottom:24px;left:50%;transform:translateX(-50%);z-index:20;padding:10px 18px;border-radius:10px;background:#2a2c30;color:var(--fg);font-size:14px}
footer{padding:28px 16px 40px;text-align:center;color:var(--mute);font-size:12px}
footer a{color:var(--mute)}
</style>
</head>
<body data-slug="{{SLUG}}" data-count="{{COUNT}}" data-more="{{MORE}}" data-section="{{SECTION}}" data-original="{{ORIGINAL}}">
{{COVER}}
<header><div class="row"><h1>{{TITLE}}</h1><div class="act"><button id="share" type="button">Share</button><a href="/g/{{SLUG}}/qr" aria-label="QR code">QR</a></div></div>
<div class="meta"><span id="live" class="dot" title="live"></span><span id="count">{{COUNT_TEXT}}</span>{{CREDIT}}</div></header>
{{TABS}}
<button id="pill" type="button" hidden></button>
<p class="empty" id="empty" {{EMPTY_HIDDEN}}>Photos appear here moments after they are taken.</p>
<main id="grid">{{TILES}}</main>
<div id="more"></div>
<footer>Live gallery{{VIEWS}} · Hotshoe</footer>
<div id="toast" hidden></div>
<div id="lb" hidden><img id="lbimg" alt=""><button id="prev" type="button" aria-label="Previous">&#8249;</button><button id="next" type="button" aria-label="Next">&#8250;</button><button id="close" type="button" aria-label="Close">&#215;</button><div class="dls"><a id="dl" href="#" download>Download</a><a id="dlo" href="#" download hidden>Original</a></div></div>
<script>
(()=>{
const $=id=>document.getElementById(id),grid=$('grid'),pill=$('pill'),dot=$('live'),lb=$('lb'),lbimg=$('lbimg'),B=document.body.dataset;
const slug=B.slug,section=B.section,sq=section?'&s='+encodeURIComponent(section):'';let count=+B.count,done=B.more!=='1',loading=false;
const tiles=()=>[...grid.querySelectorAll('[data-photo-id]')];
const seen=new Set(tiles().map(t=>t.dataset.photoId));
let maxSeq=0,minSeq=Infinity;for(const t of tiles()){maxSeq=Math.max(maxSeq,+t.dataset.seq);minSeq=Math.min(minSeq,+t.dataset.seq)}
function tile(p){const a=document.createElement('a');a.className='t';a.href=p.web_url;a.dataset.photoId=p.id;a.dataset.seq=p.seq;a.dataset.w=p.width;a.dataset.h=p.height;const i=new Image();i.loading='lazy';i.decoding='async';i.alt='';i.src=p.thumb_url;a.append(i);return a}
function showCount(){$('count').textContent=count+(count===1?' photo':' photos');$('empty').hidden=count>0}
function toast(t){const e=$('toast');e.textContent=t;e.hidden=false;clearTimeout(toast.h);toast.h=setTimeout(()=>e.hidden=true,2500)}
// New photos go in at the top only when the guest is at the top; otherwise they wait
// behind a pill so the tiles under a scrolled-down thumb never move.
const queued=[];const atTop=()=>window.scrollY<60;
function flush(){if(!queued.length)return;queued.sort((a,b)=>a.seq-b.seq);for(const p of queued){const t=tile(p);t.classList.add('new');grid.prepend(t)}queued.length=0;pill.hidden=true}
function arrive(p){if(section&&p.section!==section)return;if(seen.has(p.id))return;seen.add(p.id);count++;showCount();maxSeq=Math.max(maxSeq,p.seq);queued.push(p);
 if(atTop()&&lb.hidden)flush();else{pill.textContent=queued.length+(queued.length===1?' new photo':' new photos')+' \u2191';pill.hidden=false}}
function remove(id){const q=queued.findIndex(p=>p.id===id);if(q>=0){queued.splice(q,1);count--;showCount();if(!queued.length)pill.hidden=true;return}
 const t=grid.querySelector('[data-photo-id="'+CSS.escape(id)+'"]');if(!t)return;count--;showCount();
 if(cur===t){const n=t.nextElementSibling||t.previousElementSibling;n?show(n):history.back()}
 t.classList.add('gone');setTimeout(()=>t.remove(),300)}
pill.onclick=()=>{window.scrollTo({top:0,behavior:'smooth'});flush()};
addEventListener('scroll',()=>{if(atTop()&&lb.hidden)flush()},{passive:true});
function connect(){const es=new EventSource('/g/'+slug+'/events?after='+maxSeq);
 es.onopen=()=>dot.classList.add('on');
 es.onerror=()=>{dot.classList.remove('on');if(es.readyState===2)setTimeout(connect,5000)};
 es.addEventListener('photo',e=>{try{arrive(JSON.parse(e.data))}catch(_){}});
 es.addEventListener('remove',e=>{try{remove(JSON.parse(e.data).id)}catch(_){}})}
connect();
async function more(){if(loading||done)return;loading=true;
 try{const r=await fetch('/g/'+slug+'/photos.json?limit=60'+sq+(isFinite(minSeq)?'&before='+minSeq:''));if(!r.ok)throw 0;const j=await r.json();
  for(const p of j.photos){minSeq=Math.min(minSeq,p.seq);if(seen.has(p.id))continue;seen.add(p.id);grid.append(tile(p))}
  if(j.photos.length<60)done=true}catch(_){}
 loading=false;if(!done&&$('more').getBoundingClientRect().top<innerHeight+800)more()}
new IntersectionObserver(e=>{if(e[0].isIntersecting)more()},{rootMargin:'800px'}).observe($('more'));
$('share').onclick=async()=>{const url=location.origin+'/g/'+slug;
 try{if(navigator.share){await navigator.share({title:document.title,url});return}await navigator.clipboard.writeText(url);toast('Link copied')}catch(_){toast(url)}};
// Lightbox: neighbours are DOM siblings, so live inserts never confuse prev/next.
let cur=null;
function show(t){if(!t)return;cur=t;lbimg.src=t.href;$('dl').href=t.href+'?dl=1';const o=$('dlo');o.hidden=B.original!=='1';o.href=t.href.replace(/web\.jpg$/,'original.jpg')+'?dl=1';if(!t.nextElementSibling)more()}
function open(t){show(t);lb.hidden=false;document.body.style.overflow='hidden';history.pushState({lb:1},'')}
function close(){if(lb.hidden)return;lb.hidden=true;cur=null;lbimg.removeAttribute('src');document.body.style.overflow='';flush()}
grid.addEventListener('click',e=>{const t=e.target.closest('[data-photo-id]');if(!t)return;e.preventDefault();open(t)});
$('prev').onclick=e=>{e.stopPropagation();show(cur&&cur.previousElementSibling)};
$('next').onclick=e=>{e.stopPropagation();show(cur&&cur.nextElementSibling)};
$('close').onclick=e=>{e.stopPropagation();history.back()};
$('dl').onclick=$('dlo').onclick=e=>e.stopPropagation();
lb.onclick=e=>{if(e.target===lb)history.back()};
addEventListener('popstate',close);
addEventListener('keydown',e=>{if(lb.hidden)return;if(e.key==='Escape')history.back();else if(e.key==='ArrowLeft')show(cur.previousElementSibling);else if(e.key==='ArrowRight')show(cur.nextElementSibling)});
let x0=null;lb.addEventListener('touchstart',e=>{x0=e.touches[0].clientX},{passive:true});
lb.addEventListener('touchend',e=>{if(x0===null||!cur)return;const dx=e.changedTouches[0].clientX-x0;x0=null;if(Math.abs(dx)>50)show(dx>0?cur.previousElementSibling:cur.nextElementSibling)});
})();
</script>
</body>
</html>
"##;

const LOCKED: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{TITLE}}</title>
<style>
:root{color-scheme:dark}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#111214;color:#ececec;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
form{width:min(340px,88vw);display:flex;flex-direction:column;gap:12px;text-align:center}
h1{margin:0 0 4px;font-size:22px}
p{margin:0;color:#8d9096}
input,button{font:inherit;padding:12px 14px;border-radius:10px;border:1px solid #33363b;background:#1c1e21;color:inherit}
button{background:#ececec;color:#111;border:0;font-weight:650}
.err{color:#ff8a8e}
</style>
</head>
<body>
<form method="post" action="/g/{{SLUG}}/unlock">
<h1>{{TITLE}}</h1>
<p>This gallery is protected. Enter the password you were given.</p>
{{ERROR}}
<input type="password" name="password" autocomplete="current-password" placeholder="Password" required autofocus>
<button type="submit">Open gallery</button>
</form>
</body>
</html>
"##;

const FRONT: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Galleries</title>
<style>
:root{color-scheme:dark}
body{margin:0;padding:32px 20px;background:#111214;color:#ececec;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
h1{font-size:22px;margin:0 0 16px}
ul{list-style:none;padding:0;margin:0;display:flex;flex-direction:column;gap:8px}
a{display:block;padding:14px 16px;border-radius:12px;background:#1c1e21;color:inherit;text-decoration:none;font-weight:600}
.none{color:#8d9096}
</style>
</head>
<body>
<h1>Galleries</h1>
<ul>{{ITEMS}}</ul>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_text_hides_zero_and_counts_one() {
        assert_eq!(views_text(0), "");
        assert_eq!(views_text(1), " · 1 view");
        assert_eq!(views_text(12), " · 12 views");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
