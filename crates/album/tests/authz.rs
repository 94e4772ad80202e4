//! The authorization matrix: admin, uploader, viewer and anonymous against every endpoint.
//! A viewer (has the gallery link) must never upload, delete, moderate or see unpublished
//! photos; an uploader may only upload.

use std::net::SocketAddr;

use album::{AlbumOptions, Config, Server};
use base64::Engine;
use reqwest::{Client, Method, StatusCode};

fn jpeg(seed: u8) -> Vec<u8> {
    let (w, h) = (64u16, 48u16);
    let pixels: Vec<u8> = (0..w as usize * h as usize * 3)
        .map(|i| (i as u8) ^ seed)
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 80)
        .encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Admin,
    Uploader,
    Viewer,
    Anonymous,
}

#[tokio::test]
async fn every_role_against_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Config::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        dir.path(),
    ))
    .await
    .unwrap();
    let album = server
        .create_album(
            "Review",
            AlbumOptions {
                review: true,
                ..AlbumOptions::default()
            },
        )
        .await
        .unwrap();
    let base = server.base_url();
    let http = Client::new();
    let admin = server.admin_token().to_owned();

    // One pending photo, uploaded by the uploader.
    let data = jpeg(1);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let r = http
        .post(&album.upload_url)
        .header("Tus-Resumable", "1.0.0")
        .bearer_auth(&album.upload_token)
        .header("Upload-Length", data.len().to_string())
        .header("Upload-Metadata", format!("filename {}", b64("a.jpg")))
        .header("Content-Type", "application/offset+octet-stream")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let pending = r.headers()["hotshoe-photo-id"].to_str().unwrap().to_owned();

    let id = &album.id;
    let slug = &album.slug;
    // (method, path, body, who may) — "may" means a 2xx answer.
    let endpoints: Vec<(Method, String, Option<serde_json::Value>, &[Who])> = vec![
        (Method::GET, "/api/albums".into(), None, &[Who::Admin]),
        (
            Method::POST,
            "/api/albums".into(),
            Some(serde_json::json!({"title": "x"})),
            &[Who::Admin],
        ),
        (
            Method::GET,
            format!("/api/albums/{id}"),
            None,
            &[Who::Admin],
        ),
        (
            Method::PATCH,
            format!("/api/albums/{id}"),
            Some(serde_json::json!({"photographer": "Jo"})),
            &[Who::Admin],
        ),
        (
            Method::GET,
            format!("/api/albums/{id}/photos"),
            None,
            &[Who::Admin],
        ),
        (
            Method::GET,
            format!("/api/albums/{id}/review"),
            None,
            &[Who::Admin],
        ),
        (
            Method::GET,
            format!("/api/albums/{id}/tokens"),
            None,
            &[Who::Admin],
        ),
        (
            Method::POST,
            format!("/api/albums/{id}/tokens"),
            Some(serde_json::json!({"label": "cam2"})),
            &[Who::Admin],
        ),
        (
            Method::GET,
            format!("/p/{pending}/thumb.jpg"),
            None,
            &[Who::Admin],
        ),
        (
            Method::GET,
            format!("/p/{pending}/web.jpg"),
            None,
            &[Who::Admin],
        ),
        (
            Method::POST,
            format!("/api/photos/{pending}/reject"),
            None,
            &[Who::Admin],
        ),
        (
            Method::GET,
            format!("/g/{slug}"),
            None,
            &[Who::Admin, Who::Uploader, Who::Viewer, Who::Anonymous],
        ),
        (
            Method::GET,
            format!("/g/{slug}/photos.json"),
            None,
            &[Who::Admin, Who::Uploader, Who::Viewer, Who::Anonymous],
        ),
        (
            Method::GET,
            format!("/g/{slug}/qr"),
            None,
            &[Who::Admin, Who::Uploader, Who::Viewer, Who::Anonymous],
        ),
        (
            Method::DELETE,
            format!("/api/photos/{pending}"),
            None,
            &[Who::Admin],
        ),
    ];
    for (method, path, body, allowed) in &endpoints {
        for who in [Who::Anonymous, Who::Viewer, Who::Uploader, Who::Admin] {
            let mut req = http.request(method.clone(), format!("{base}{path}"));
            match who {
                Who::Admin => req = req.bearer_auth(&admin),
                Who::Uploader => req = req.bearer_auth(&album.upload_token),
                // A viewer holds the link; with a made-up bearer to probe for confusion.
                Who::Viewer => req = req.bearer_auth("viewer-with-the-link-only"),
                Who::Anonymous => {}
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let status = req.send().await.unwrap().status();
            let may = allowed.contains(&who);
            assert_eq!(
                status.is_success(),
                may,
                "{who:?} {method} {path} answered {status}"
            );
            if !may {
                assert!(
                    matches!(status.as_u16(), 401 | 403 | 404),
                    "{who:?} {method} {path}: refusal should be 401/403/404, got {status}"
                );
            }
        }
    }

    // Uploading: only the uploader token (and not the admin token, which is not an album's).
    for (who, token) in [
        (Who::Viewer, Some("viewer-with-the-link-only")),
        (Who::Anonymous, None),
        (Who::Admin, Some(admin.as_str())),
    ] {
        let mut req = http
            .post(&album.upload_url)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", "10");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let status = req.send().await.unwrap().status();
        assert!(
            matches!(status.as_u16(), 401 | 403),
            "{who:?} could create an upload: {status}"
        );
    }

    // A revoked upload token stops working at once.
    let r = http
        .delete(format!(
            "{base}/api/albums/{id}/tokens/{}",
            album.upload_token
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = http
        .post(&album.upload_url)
        .header("Tus-Resumable", "1.0.0")
        .bearer_auth(&album.upload_token)
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // A password keeps guests out until they unlock, and the viewer cookie lets them in.
    let r = http
        .patch(format!("{base}/api/albums/{id}"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"password": "confetti"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = http
        .get(format!("{base}/g/{slug}/photos.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let jar = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = jar
        .post(format!("{base}/g/{slug}/unlock"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("password=wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = jar
        .post(format!("{base}/g/{slug}/unlock"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("password=confetti")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let r = jar
        .get(format!("{base}/g/{slug}/photos.json"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    server.shutdown().await;
}
