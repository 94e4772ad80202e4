//! A printable page with a big QR code of the gallery URL, for table cards and screens.

use axum::extract::{Path as UrlPath, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::gallery::{escape, viewer_album};
use crate::http_error::HttpError;
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/g/{slug}/qr", get(page))
}

/// An SVG QR code that scales to its container (CSS sets the size).
pub fn svg_code(text: &str) -> Result<String, qrcode::types::QrError> {
    // Level M survives a smudged print or a glare on a screen without growing too dense.
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    // Drop the XML prolog: the SVG is inlined into HTML.
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

async fn page(
    State(state): State<AppState>,
    UrlPath(slug): UrlPath<String>,
    headers: axum::http::HeaderMap,
) -> Result<Html<String>, HttpError> {
    let album = viewer_album(&state, &slug, &headers).await?;
    let url = state.gallery_url(&album);
    let svg = svg_code(&url).map_err(|e| HttpError::internal("QR code", e))?;
    Ok(Html(
        PAGE.replace("{{TITLE}}", &escape(&album.title))
            .replace("{{URL}}", &escape(&url))
            .replace("{{SVG}}", &svg),
    ))
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{TITLE}} · QR code</title>
<style>
*{box-sizing:border-box}
html,body{margin:0;height:100%;background:#fff;color:#111;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{min-height:100%;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:20px;padding:32px;text-align:center}
h1{margin:0;font-size:clamp(24px,5vw,48px);font-weight:700}
.hint{margin:0;font-size:clamp(16px,2.6vw,24px);color:#444}
.qr svg{display:block;width:min(70vw,62vh);height:auto}
.url{font:clamp(13px,1.8vw,18px)/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all;color:#333}
@media print{@page{margin:12mm}main{min-height:auto}}
</style>
</head>
<body>
<main>
<h1>{{TITLE}}</h1>
<p class="hint">Scan to see the photos live</p>
<div class="qr">{{SVG}}</div>
<p class="url">{{URL}}</p>
</main>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    #[test]
    fn renders_inline_svg() {
        let svg = super::svg_code("http://192.168.1.20:8470/g/abc").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("viewBox"));
    }
}
