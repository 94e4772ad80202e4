//! The guest gallery: a server-rendered page per album, its JSON pages for infinite
//! scroll, and the photo files themselves.
//!
//! No framework and no build step: the page must open fast on a phone on venue Wi-Fi,
//! so CSS and JS are inline and small, and the first screen of tiles is in the HTML.

use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::db::{AlbumRow, PhotoRow};
use crate::http_error::HttpError;
use crate::live::PhotoView;
use crate::server::AppState;
use crate::store::Variant;

const PAGE_SIZE: i64 = 60;
const MAX_PAGE_SIZE: i64 = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/g/{slug}", get(page))
        .route("/g/{slug}/photos.json", get(photos_json))
        .route("/p/{photo_id}/{file}", get(photo_file))
}

/// The album behind a gallery slug, if guests may see it. Private and unknown albums
/// answer the same 404 so slugs cannot be probed.
pub async fn public_album(state: &AppState, slug: &str) -> Result<AlbumRow, HttpError> {
    match state.db.album_by_slug(slug).await? {
        Some(album) if album.is_public => Ok(album),
        _ => Err(HttpError::not_found("gallery")),
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

async fn page(
    State(state): State<AppState>,
    UrlPath(slug): UrlPath<String>,
) -> Result<Response, HttpError> {
    let album = public_album(&state, &slug).await?;
    let count = state.db.gallery_count(&album.id).await?;
    let photos = state.db.gallery_before(&album.id, None, PAGE_SIZE).await?;
    let tiles: String = photos.iter().map(|p| tile(&PhotoView::from(p))).collect();
    let html = PAGE
        .replace("{{TITLE}}", &escape(&album.title))
        .replace("{{SLUG}}", &escape(&album.slug))
        .replace("{{COUNT}}", &count.to_string())
        .replace("{{COUNT_TEXT}}", &count_text(count))
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
    let mut response = Html(html).into_response();
    // The page is a snapshot; live updates come over SSE, so never serve it stale.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct PhotoPage {
    photos: Vec<PhotoView>,
}

async fn photos_json(
    State(state): State<AppState>,
    UrlPath(slug): UrlPath<String>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PhotoPage>, HttpError> {
    let Query(query) = query.map_err(|e| HttpError::bad_request(e.body_text()))?;
    let album = public_album(&state, &slug).await?;
    let limit = query.limit.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    let rows = state
        .db
        .gallery_before(&album.id, query.before, limit)
        .await?;
    Ok(Json(PhotoPage {
        photos: rows.iter().map(PhotoView::from).collect(),
    }))
}

#[derive(Debug, Deserialize)]
struct FileQuery {
    /// `?dl=1` asks the browser to save rather than show.
    dl: Option<String>,
}

fn download_name(photo: &PhotoRow) -> String {
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
    if !name.to_ascii_lowercase().ends_with(".jpg") && !name.to_ascii_lowercase().ends_with(".jpeg")
    {
        name.push_str(".jpg");
    }
    name
}

async fn photo_file(
    State(state): State<AppState>,
    UrlPath((photo_id, file)): UrlPath<(String, String)>,
    Query(query): Query<FileQuery>,
) -> Result<Response, HttpError> {
    let variant = Variant::from_file_name(&file).ok_or_else(|| HttpError::not_found("file"))?;
    let photo = state
        .db
        .photo_by_id(&photo_id)
        .await?
        .ok_or_else(|| HttpError::not_found("photo"))?;
    match state.db.album_by_id(&photo.album_id).await? {
        Some(album) if album.is_public => {}
        _ => return Err(HttpError::not_found("photo")),
    }
    let object = state.store.get(&photo.album_id, &photo.id, variant).await?;
    let body = Body::from_stream(object.stream.map_err(std::io::Error::other));
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(object.size));
    // Photo ids are never reused and files never change: let phones keep them forever.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if query.dl.is_some() {
        let value = format!("attachment; filename=\"{}\"", download_name(&photo));
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
:root{color-scheme:dark;--bg:#111214;--fg:#ececec;--mute:#8d9096;--live:#ff5a5f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-text-size-adjust:100%}
header{position:sticky;top:0;z-index:2;padding:calc(12px + env(safe-area-inset-top)) 16px 10px;background:rgba(17,18,20,.86);backdrop-filter:blur(14px);-webkit-backdrop-filter:blur(14px)}
h1{margin:0;font-size:20px;font-weight:650;letter-spacing:.005em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.meta{display:flex;align-items:center;gap:8px;margin-top:3px;color:var(--mute);font-size:13px}
.dot{width:8px;height:8px;border-radius:50%;background:#4a4c51;transition:background .3s}
.dot.on{background:var(--live);animation:pulse 2s infinite}
@keyframes pulse{0%{box-shadow:0 0 0 0 rgba(255,90,95,.55)}70%{box-shadow:0 0 0 7px rgba(255,90,95,0)}100%{box-shadow:0 0 0 0 rgba(255,90,95,0)}}
#grid{display:grid;grid-template-columns:repeat(3,1fr);gap:2px}
@media (min-width:700px){#grid{grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:4px;padding:0 4px}}
.t{display:block;aspect-ratio:1/1;background:#1c1e21;overflow:hidden;-webkit-tap-highlight-color:transparent}
.t img{width:100%;height:100%;object-fit:cover;display:block}
.t.new{animation:arrive .7s ease-out}
@keyframes arrive{from{opacity:0;transform:scale(.94)}}
#pill{position:fixed;top:calc(78px + env(safe-area-inset-top));left:50%;transform:translateX(-50%);z-index:3;border:0;border-radius:999px;padding:9px 18px;background:var(--fg);color:#111;font:inherit;font-weight:650;box-shadow:0 6px 20px rgba(0,0,0,.45);cursor:pointer}
#pill[hidden],.empty[hidden]{display:none}
.empty{padding:72px 24px;text-align:center;color:var(--mute)}
#more{height:1px}
#lb{position:fixed;inset:0;z-index:10;background:#000;display:flex;align-items:center;justify-content:center;touch-action:pan-y}
#lb[hidden]{display:none}
#lb img{max-width:100%;max-height:100%;object-fit:contain;user-select:none;-webkit-user-select:none}
#lb button{position:absolute;display:flex;align-items:center;justify-content:center;width:44px;height:44px;border:0;border-radius:50%;background:rgba(40,40,40,.55);color:#fff;font-size:26px;line-height:1;cursor:pointer}
#prev{left:10px;top:calc(50% - 22px)}#next{right:10px;top:calc(50% - 22px)}
#close{right:12px;top:calc(12px + env(safe-area-inset-top))}
#dl{position:absolute;bottom:calc(18px + env(safe-area-inset-bottom));left:50%;transform:translateX(-50%);padding:10px 20px;border-radius:999px;background:rgba(255,255,255,.16);color:#fff;text-decoration:none;font-weight:600;backdrop-filter:blur(8px)}
@media (hover:none){#prev,#next{display:none}}
footer{padding:28px 16px 40px;text-align:center;color:var(--mute);font-size:12px}
</style>
</head>
<body data-slug="{{SLUG}}" data-count="{{COUNT}}" data-more="{{MORE}}">
<header><h1>{{TITLE}}</h1><div class="meta"><span id="live" class="dot" title="live"></span><span id="count">{{COUNT_TEXT}}</span></div></header>
<button id="pill" type="button" hidden></button>
<p class="empty" id="empty" {{EMPTY_HIDDEN}}>Photos appear here moments after they are taken.</p>
<main id="grid">{{TILES}}</main>
<div id="more"></div>
<footer>Live gallery · Hotshoe</footer>
<div id="lb" hidden><img id="lbimg" alt=""><button id="prev" type="button" aria-label="Previous">&#8249;</button><button id="next" type="button" aria-label="Next">&#8250;</button><button id="close" type="button" aria-label="Close">&#215;</button><a id="dl" href="#" download>Download</a></div>
<script>
(()=>{
const $=id=>document.getElementById(id),grid=$('grid'),pill=$('pill'),dot=$('live'),lb=$('lb'),lbimg=$('lbimg');
const slug=document.body.dataset.slug;let count=+document.body.dataset.count,done=document.body.dataset.more!=='1',loading=false;
const tiles=()=>[...grid.querySelectorAll('[data-photo-id]')];
const seen=new Set(tiles().map(t=>t.dataset.photoId));
let maxSeq=0,minSeq=Infinity;for(const t of tiles()){maxSeq=Math.max(maxSeq,+t.dataset.seq);minSeq=Math.min(minSeq,+t.dataset.seq)}
function tile(p){const a=document.createElement('a');a.className='t';a.href=p.web_url;a.dataset.photoId=p.id;a.dataset.seq=p.seq;a.dataset.w=p.width;a.dataset.h=p.height;const i=new Image();i.loading='lazy';i.decoding='async';i.alt='';i.src=p.thumb_url;a.append(i);return a}
function showCount(){$('count').textContent=count+(count===1?' photo':' photos');$('empty').hidden=count>0}
// New photos go in at the top only when the guest is at the top; otherwise they wait
// behind a pill so the tiles under a scrolled-down thumb never move.
const queued=[];const atTop=()=>window.scrollY<60;
function flush(){if(!queued.length)return;queued.sort((a,b)=>a.seq-b.seq);for(const p of queued){const t=tile(p);t.classList.add('new');grid.prepend(t)}queued.length=0;pill.hidden=true}
function arrive(p){if(seen.has(p.id))return;seen.add(p.id);count++;showCount();maxSeq=Math.max(maxSeq,p.seq);queued.push(p);
 if(atTop()&&lb.hidden)flush();else{pill.textContent=queued.length+(queued.length===1?' new photo':' new photos')+' \u2191';pill.hidden=false}}
pill.onclick=()=>{window.scrollTo({top:0,behavior:'smooth'});flush()};
addEventListener('scroll',()=>{if(atTop()&&lb.hidden)flush()},{passive:true});
function connect(){const es=new EventSource('/g/'+slug+'/events?after='+maxSeq);
 es.onopen=()=>dot.classList.add('on');
 es.onerror=()=>{dot.classList.remove('on');if(es.readyState===2)setTimeout(connect,5000)};
 es.addEventListener('photo',e=>{try{arrive(JSON.parse(e.data))}catch(_){}})}
connect();
async function more(){if(loading||done)return;loading=true;
 try{const r=await fetch('/g/'+slug+'/photos.json?limit=60'+(isFinite(minSeq)?'&before='+minSeq:''));if(!r.ok)throw 0;const j=await r.json();
  for(const p of j.photos){minSeq=Math.min(minSeq,p.seq);if(seen.has(p.id))continue;seen.add(p.id);grid.append(tile(p))}
  if(j.photos.length<60)done=true}catch(_){}
 loading=false;if(!done&&$('more').getBoundingClientRect().top<innerHeight+800)more()}
new IntersectionObserver(e=>{if(e[0].isIntersecting)more()},{rootMargin:'800px'}).observe($('more'));
// Lightbox: neighbours are DOM siblings, so live inserts never confuse prev/next.
let cur=null;
function show(t){if(!t)return;cur=t;lbimg.src=t.href;$('dl').href=t.href+'?dl=1';if(!t.nextElementSibling)more()}
function open(t){show(t);lb.hidden=false;document.body.style.overflow='hidden';history.pushState({lb:1},'')}
function close(){if(lb.hidden)return;lb.hidden=true;lbimg.removeAttribute('src');document.body.style.overflow='';flush()}
grid.addEventListener('click',e=>{const t=e.target.closest('[data-photo-id]');if(!t)return;e.preventDefault();open(t)});
$('prev').onclick=e=>{e.stopPropagation();show(cur&&cur.previousElementSibling)};
$('next').onclick=e=>{e.stopPropagation();show(cur&&cur.nextElementSibling)};
$('close').onclick=e=>{e.stopPropagation();history.back()};
$('dl').onclick=e=>e.stopPropagation();
lb.onclick=e=>{if(e.target===lb)history.back()};
addEventListener('popstate',close);
addEventListener('keydown',e=>{if(lb.hidden)return;if(e.key==='Escape')history.back();else if(e.key==='ArrowLeft')show(cur.previousElementSibling);else if(e.key==='ArrowRight')show(cur.nextElementSibling)});
let x0=null;lb.addEventListener('touchstart',e=>{x0=e.touches[0].clientX},{passive:true});
lb.addEventListener('touchend',e=>{if(x0===null)return;const dx=e.changedTouches[0].clientX-x0;x0=null;if(Math.abs(dx)>50)show(dx>0?cur.previousElementSibling:cur.nextElementSibling)});
})();
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
