//! The photographer's admin page (`/admin`): albums and their settings, upload tokens and
//! setup links, the review queue, and deleting photos. A static page whose script calls
//! the admin JSON API (`api`), authenticated by the `hs_admin` cookie that logging in with
//! the admin token sets (SameSite=Strict, so other sites cannot ride on it).

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::auth::ADMIN_COOKIE;
use crate::http_error::HttpError;
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/login", post(login))
        .route("/admin/logout", post(logout))
}

async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let html = if state.keys.is_admin(&headers) {
        APP
    } else {
        &LOGIN.replace("{{ERROR}}", "")
    };
    let mut r = Html(html.to_owned()).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
}

async fn login(
    State(state): State<AppState>,
    Form(form): Form<Login>,
) -> Result<Response, HttpError> {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", form.token.trim())) {
        headers.insert(header::AUTHORIZATION, v);
    }
    if !state.keys.is_admin(&headers) {
        tracing::warn!("admin login with a wrong token");
        let html = LOGIN.replace(
            "{{ERROR}}",
            r#"<p class="err">That is not this server's admin token.</p>"#,
        );
        return Ok((StatusCode::UNAUTHORIZED, Html(html)).into_response());
    }
    let mut response = Redirect::to("/admin").into_response();
    set_cookie(
        &mut response,
        &format!(
            "{ADMIN_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000",
            state.keys.admin_cookie_value()
        ),
    );
    Ok(response)
}

async fn logout() -> Response {
    let mut response = Redirect::to("/admin").into_response();
    set_cookie(
        &mut response,
        &format!("{ADMIN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

const LOGIN: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Hotshoe admin</title>
<style>body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f4f5;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
form{width:min(380px,90vw);display:flex;flex-direction:column;gap:12px;background:#fff;padding:28px;border-radius:14px;box-shadow:0 4px 24px rgba(0,0,0,.08)}
h1{margin:0;font-size:20px}p{margin:0;color:#555}input,button{font:inherit;padding:11px 13px;border-radius:9px;border:1px solid #ccc}
button{background:#111;color:#fff;border:0;font-weight:600}.err{color:#c0262d}</style></head>
<body><form method="post" action="/admin/login"><h1>Hotshoe album server</h1>
<p>Sign in with the admin token printed when the server first started.</p>{{ERROR}}
<input type="password" name="token" placeholder="Admin token" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button></form></body></html>
"##;

const APP: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Hotshoe admin</title>
<style>
body{margin:0;background:#f4f4f5;color:#18181b;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
header{display:flex;align-items:center;gap:12px;padding:14px 20px;background:#111;color:#fff}
header h1{flex:1;margin:0;font-size:18px}header button{background:#333;color:#fff}
main{max-width:980px;margin:0 auto;padding:20px;display:flex;flex-direction:column;gap:18px}
section{background:#fff;border-radius:14px;padding:18px 20px;box-shadow:0 2px 12px rgba(0,0,0,.05)}
h2{margin:0 0 10px;font-size:18px}h3{margin:16px 0 8px;font-size:15px}
button{font:inherit;padding:7px 13px;border-radius:8px;border:0;background:#e4e4e7;cursor:pointer}
button.primary{background:#111;color:#fff}button.danger{background:#fde2e2;color:#a1161d}
input,select{font:inherit;padding:7px 10px;border-radius:8px;border:1px solid #ccc}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(120px,1fr));gap:8px}
.ph{position:relative;background:#eee;border-radius:8px;overflow:hidden}.ph img{display:block;width:100%;aspect-ratio:1;object-fit:cover}
.ph .b{display:flex;gap:4px;padding:4px}.ph .b button{flex:1;padding:5px;font-size:13px}
.set{display:flex;flex-wrap:wrap;gap:10px 18px;align-items:center}
code{font-size:12px;background:#f1f1f3;padding:2px 5px;border-radius:5px;word-break:break-all}
.mute{color:#71717a}.tok{display:flex;gap:8px;align-items:center;margin:4px 0}
</style></head>
<body>
<header><h1>Hotshoe albums</h1><form method="post" action="/admin/logout"><button>Sign out</button></form></header>
<main>
<section><h2>New album</h2><form id="new" class="set">
<input name="title" placeholder="Event title" required>
<label><input type="checkbox" name="review"> review before publishing</label>
<input name="password" placeholder="Gallery password (optional)">
<select name="visibility"><option value="unlisted">unlisted (link only)</option><option value="public">public</option><option value="private">private</option></select>
<button class="primary">Create</button></form></section>
<div id="albums"></div>
</main>
<script>
(()=>{
const api=async(m,u,b)=>{const r=await fetch(u,{method:m,headers:b?{'content-type':'application/json'}:{},body:b?JSON.stringify(b):undefined,credentials:'same-origin'});if(!r.ok)throw new Error(await r.text());return r.status===204?null:r.json()};
const h=(t,a={},...c)=>{const e=document.createElement(t);for(const[k,v]of Object.entries(a)){if(k.startsWith('on'))e[k]=v;else e.setAttribute(k,v)}e.append(...c);return e};
const box=document.getElementById('albums');
const n=(k,w)=>k+' '+w+(k===1?'':'s');
async function album(a){
 const s=h('section',{'data-album':a.id});
 s.append(h('h2',{},a.title),h('p',{class:'mute'},n(a.photos,'photo')+' · '+a.pending+' waiting for review · '+n(a.views,'view')));
 s.append(h('p',{},'Gallery: ',h('a',{href:a.gallery_url,target:'_blank'},a.gallery_url),' · ',h('a',{href:a.qr_url,target:'_blank'},'QR page')));
 const set=h('div',{class:'set'});
 const box=(k,label)=>{const c=h('input',{type:'checkbox'});c.checked=a[k];c.onchange=()=>api('PATCH','/api/albums/'+a.id,{[k]:c.checked}).then(load);return h('label',{},c,' '+label)};
 const vis=h('select',{},...['unlisted','public','private'].map(v=>{const o=h('option',{value:v},v);if(v===a.visibility)o.selected=true;return o}));
 vis.onchange=()=>api('PATCH','/api/albums/'+a.id,{visibility:vis.value}).then(load);
 const pw=h('input',{placeholder:a.has_password?'password set — new one':'no password'});
 const pwb=h('button',{onclick:()=>api('PATCH','/api/albums/'+a.id,{password:pw.value}).then(load)},pw.value?'Set':'Set / clear');
 const by=h('input',{placeholder:'Photographer credit',value:a.photographer||''});
 const byb=h('button',{onclick:()=>api('PATCH','/api/albums/'+a.id,{photographer:by.value}).then(load)},'Save credit');
 set.append(box('review','review mode'),box('allow_original','guests may download originals'),vis,pw,pwb,by,byb);s.append(set);
 s.append(h('h3',{},'Upload tokens'));
 for(const t of await api('GET','/api/albums/'+a.id+'/tokens')){
  const row=h('div',{class:'tok'},h('code',{},t.token),h('span',{class:'mute'},t.label+(t.revoked_at?' · revoked':'')));
  if(!t.revoked_at)row.append(h('button',{class:'danger',onclick:()=>confirm('Revoke this token? Agents using it stop uploading.')&&api('DELETE','/api/albums/'+a.id+'/tokens/'+encodeURIComponent(t.token)).then(load)},'Revoke'));
  s.append(row)}
 s.append(h('p',{},'Setup link for the agent: ',h('code',{},a.setup_link)));
 s.append(h('button',{onclick:()=>api('POST','/api/albums/'+a.id+'/tokens',{label:prompt('Label for the new token (e.g. camera 2)')||'token'}).then(load)},'Add token'));
 const queue=await api('GET','/api/albums/'+a.id+'/review');
 if(queue.length){s.append(h('h3',{},'Review queue ('+queue.length+')'));const g=h('div',{class:'grid review'});
  for(const p of queue)g.append(h('div',{class:'ph','data-photo-id':p.id},h('img',{src:'/p/'+p.id+'/thumb.jpg',alt:''}),h('div',{class:'b'},
   h('button',{class:'primary approve',onclick:()=>api('POST','/api/photos/'+p.id+'/approve').then(load)},'Approve'),
   h('button',{class:'danger reject',onclick:()=>api('POST','/api/photos/'+p.id+'/reject').then(load)},'Reject'))));
  s.append(g)}
 const photos=(await api('GET','/api/albums/'+a.id+'/photos')).filter(p=>p.rendition==='web'&&p.status==='published').reverse().slice(0,60);
 if(photos.length){s.append(h('h3',{},'Published (newest '+photos.length+')'));const g=h('div',{class:'grid'});
  for(const p of photos)g.append(h('div',{class:'ph','data-photo-id':p.id},h('img',{src:'/p/'+p.id+'/thumb.jpg',alt:''}),h('div',{class:'b'},
   h('button',{class:'danger',onclick:()=>confirm('Delete this photo everywhere?')&&api('DELETE','/api/photos/'+p.id).then(load)},'Delete'))));
  s.append(g)}
 return s}
async function load(){try{const list=await api('GET','/api/albums');const out=[];for(const a of list.reverse())out.push(await album(a));box.replaceChildren(...out)}catch(e){box.replaceChildren(h('section',{},'Could not load: '+e.message))}}
document.getElementById('new').onsubmit=async e=>{e.preventDefault();const f=new FormData(e.target);
 await api('POST','/api/albums',{title:f.get('title'),review:f.get('review')==='on',password:f.get('password')||null,visibility:f.get('visibility')});e.target.reset();load()};
load();setInterval(()=>{if(!document.hidden&&!document.activeElement.matches('input'))load()},5000);
})();
</script></body></html>
"##;
