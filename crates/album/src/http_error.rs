//! HTTP error answers: a status, a one-line reason for the client, and a log line for
//! the operator, so bad input is visible on both ends and never takes the server down.

use std::fmt::Display;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::AlbumError;

#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    message: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl HttpError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    /// A server-side failure; the detail goes to the log, the client gets a generic line.
    pub fn internal(context: &str, error: impl Display) -> Self {
        tracing::error!(error = %error, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {context}"),
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), reason = %self.message, "request failed");
        } else {
            tracing::warn!(status = self.status.as_u16(), reason = %self.message, "request rejected");
        }
        let mut response = (self.status, format!("{}\n", self.message)).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<sqlx::Error> for HttpError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal("database", e)
    }
}

impl From<object_store::Error> for HttpError {
    fn from(e: object_store::Error) -> Self {
        Self::internal("object store", e)
    }
}

impl From<std::io::Error> for HttpError {
    fn from(e: std::io::Error) -> Self {
        Self::internal("file i/o", e)
    }
}

impl From<AlbumError> for HttpError {
    fn from(e: AlbumError) -> Self {
        match e {
            AlbumError::Invalid(m) => Self::bad_request(m),
            AlbumError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, m),
            other => Self::internal("album", other),
        }
    }
}
