//! An FTP or FTPS (explicit TLS, `AUTH TLS`) server, through `suppaftp` on tokio + rustls.
//!
//! A file is stored as `.{name}.part` and renamed to its final name only when complete, so
//! whatever watches the server's folder (a newsroom's ingest, a print station) never picks up
//! half a JPEG. An interrupted transfer resumes: `SIZE` of the `.part` file says how much the
//! server has, `REST` + `STOR` sends the rest. Names derive from the content hash, so a retry
//! after a crash between the rename and the journal update finds the final file at its full
//! size and stops there.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use suppaftp::tokio::{AsyncRustlsConnector, AsyncRustlsFtpStream};
use suppaftp::tokio_rustls::rustls;
use suppaftp::types::FileType;
use suppaftp::{FtpError, Mode, Status};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::naming::{self, Secret};
use super::{Target, UploadError, UploadIo, Uploaded, PIECE};
use crate::journal::UploadJob;

/// A control command or a data write that takes longer than this means the link is gone.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// `kind = "ftp"` in the agent's config.
#[derive(Clone, Serialize, Deserialize)]
pub struct FtpConfig {
    /// `ftp://host[:port]/folder` or `ftps://host[:port]/folder` (explicit TLS on the normal
    /// port, 21 by default). The folder is created if missing.
    pub url: String,
    /// Default `anonymous`.
    #[serde(default)]
    pub user: Option<String>,
    /// Never written back out or logged.
    #[serde(default, skip_serializing)]
    pub password: Option<Secret>,
    /// Passive mode (the default) works through the NAT of venue Wi-Fi; active mode needs the
    /// server to reach back to the laptop.
    #[serde(default = "yes")]
    pub passive: bool,
    /// File name template (see `upload::naming::object_name`); may contain sub-folders.
    #[serde(default = "default_template")]
    pub template: String,
    /// A PEM file of extra certificate authorities to trust for `ftps://`, for a server with
    /// its own CA (a NAS, a newsroom's internal server). The system's roots are always trusted.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

fn default_template() -> String {
    naming::DEFAULT_TEMPLATE.to_owned()
}

impl fmt::Debug for FtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FtpConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("passive", &self.passive)
            .field("template", &self.template)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

pub struct FtpTarget {
    name: String,
    host: String,
    port: u16,
    /// Folder segments below the login folder.
    base: Vec<String>,
    user: String,
    password: Secret,
    passive: bool,
    template: String,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl FtpTarget {
    pub fn new(name: &str, cfg: &FtpConfig) -> Result<FtpTarget, String> {
        let url = reqwest::Url::parse(&cfg.url)
            .map_err(|e| format!("FTP target {name}: bad url {:?}: {e}", cfg.url))?;
        let secure = match url.scheme() {
            "ftp" => false,
            "ftps" => true,
            s => {
                return Err(format!(
                    "FTP target {name}: scheme {s:?} is not ftp or ftps"
                ))
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            // Credentials in a URL end up in logs and screenshots; they have their own keys.
            return Err(format!(
                "FTP target {name}: put the user and password in `user` and `password`, not in the url"
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("FTP target {name}: no host in the url"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let base = naming::clean_prefix(url.path())
            .map_err(|e| format!("FTP target {name}: {e}"))?
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let tls = if secure {
            Some(Arc::new(
                tls_config(cfg.ca_file.as_deref())
                    .map_err(|e| format!("FTP target {name}: TLS setup: {e}"))?,
            ))
        } else {
            None
        };
        Ok(FtpTarget {
            name: name.to_owned(),
            host,
            port: url.port().unwrap_or(21),
            base,
            user: cfg.user.clone().unwrap_or_else(|| "anonymous".to_owned()),
            password: cfg.password.clone().unwrap_or_else(|| Secret::new("")),
            passive: cfg.passive,
            template: cfg.template.clone(),
            tls,
        })
    }

    /// The path of a job below the target folder, as folder segments and a file name.
    pub fn path_of(&self, job: &UploadJob) -> Result<(Vec<String>, String), UploadError> {
        let rel = naming::object_name(&self.template, job)?;
        let mut segs: Vec<String> = rel.split('/').map(str::to_owned).collect();
        let file = segs.pop().unwrap_or_default();
        let mut dirs = self.base.clone();
        dirs.extend(segs);
        Ok((dirs, file))
    }

    async fn connect(&self) -> Result<AsyncRustlsFtpStream, UploadError> {
        let addr = format!("{}:{}", self.host, self.port);
        let mut ftp = timed(AsyncRustlsFtpStream::connect(addr.as_str()), "connect").await?;
        if let Some(tls) = &self.tls {
            let connector =
                AsyncRustlsConnector::from(suppaftp::tokio_rustls::TlsConnector::from(tls.clone()));
            ftp = timed(ftp.into_secure(connector, &self.host), "AUTH TLS").await?;
        }
        timed(
            ftp.login(self.user.as_str(), self.password.expose()),
            "login",
        )
        .await?;
        timed(ftp.transfer_type(FileType::Binary), "TYPE I").await?;
        if self.passive {
            // Venue routers and servers behind NAT announce private addresses in PASV answers:
            // connect to the control connection's address instead.
            ftp.set_mode(Mode::Passive);
            ftp.set_passive_nat_workaround(true);
        } else {
            ftp = ftp.active_mode(IO_TIMEOUT);
        }
        Ok(ftp)
    }

    /// `cd` into each folder, creating the ones that are missing.
    async fn enter(ftp: &mut AsyncRustlsFtpStream, dirs: &[String]) -> Result<(), UploadError> {
        for d in dirs {
            if timed(ftp.cwd(d), "CWD").await.is_err() {
                // Another uploader may create it between our CWD and MKD: only the second CWD
                // decides.
                let _ = timed(ftp.mkdir(d), "MKD").await;
                timed(ftp.cwd(d), "CWD").await?;
            }
        }
        Ok(())
    }

    /// Size of a file on the server; `None` when it is not there, or when the server has no
    /// `SIZE` command (RFC 3659 is not universal): then nothing is skipped or resumed, every
    /// attempt sends the whole file, which is slower but still correct.
    async fn size_of(
        ftp: &mut AsyncRustlsFtpStream,
        name: &str,
    ) -> Result<Option<u64>, UploadError> {
        match tokio::time::timeout(IO_TIMEOUT, ftp.size(name)).await {
            Err(_) => Err(UploadError::Transient("SIZE: timed out".into())),
            Ok(Ok(n)) => Ok(Some(n as u64)),
            Ok(Err(FtpError::UnexpectedResponse(r)))
                if matches!(
                    r.status,
                    Status::FileUnavailable
                        | Status::BadCommand
                        | Status::BadArguments
                        | Status::NotImplemented
                        | Status::NotImplementedParameter
                ) =>
            {
                Ok(None)
            }
            Ok(Err(e)) => Err(map_err(e, "SIZE")),
        }
    }

    async fn send(
        &self,
        ftp: &mut AsyncRustlsFtpStream,
        job: &UploadJob,
        io: &UploadIo<'_>,
        name: &str,
        remote_id: &str,
    ) -> Result<Uploaded, UploadError> {
        let mut file = tokio::fs::File::open(&job.path).await.map_err(local)?;
        let size = file.metadata().await.map_err(local)?.len();
        if Self::size_of(ftp, name).await? == Some(size) {
            // Renamed into place by an earlier attempt whose success never reached the journal.
            return Ok(Uploaded {
                remote_id: Some(remote_id.to_owned()),
                duplicate: true,
            });
        }
        let part = format!(".{name}.part");
        let mut offset = Self::size_of(ftp, &part).await?.unwrap_or(0);
        if offset > size {
            // Not a prefix of this file: start it again.
            let _ = timed(ftp.rm(part.as_str()), "DELE").await;
            offset = 0;
        }
        // A `.part` already at full size lost only its rename: skip straight to that.
        if offset < size || size == 0 {
            if offset > 0 {
                tracing::info!(target = %self.name, shot = job.shot_id, offset, size, "resuming FTP upload");
                timed(ftp.resume_transfer(offset as usize), "REST").await?;
            }
            let mut stream = timed(ftp.put_with_stream(part.as_str()), "STOR").await?;
            file.seek(std::io::SeekFrom::Start(offset))
                .await
                .map_err(local)?;
            let mut buf = vec![0u8; PIECE];
            loop {
                let n = file.read(&mut buf).await.map_err(local)?;
                if n == 0 {
                    break;
                }
                io.pacer.take(n as u64).await;
                match tokio::time::timeout(IO_TIMEOUT, stream.write_all(&buf[..n])).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(UploadError::Transient(format!("data: {e}"))),
                    Err(_) => return Err(UploadError::Transient("data: timed out".into())),
                }
            }
            timed(stream.finish(), "STOR (closing)").await?;
        }
        // The server says what it stored; a short file is never renamed into place.
        match Self::size_of(ftp, &part).await? {
            Some(stored) if stored != size => {
                return Err(UploadError::Transient(format!(
                    "server has {stored} of {size} bytes after the transfer"
                )));
            }
            // Without SIZE the server's 226 after the whole file is all we have.
            _ => {}
        }
        if let Err(e) = timed(ftp.rename(part.as_str(), name), "RNFR/RNTO").await {
            // Some servers (IIS, some NAS) refuse to rename over an existing file.
            if Self::size_of(ftp, name).await?.is_some() {
                timed(ftp.rm(name), "DELE").await?;
                timed(ftp.rename(part.as_str(), name), "RNFR/RNTO").await?;
            } else {
                return Err(e);
            }
        }
        Ok(Uploaded {
            remote_id: Some(remote_id.to_owned()),
            duplicate: false,
        })
    }
}

fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("no certificate in {}", path.display()));
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
        }
    } else if added == 0 {
        return Err("no trusted certificate authorities on this system".into());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

async fn timed<T>(
    fut: impl std::future::Future<Output = Result<T, FtpError>>,
    what: &str,
) -> Result<T, UploadError> {
    match tokio::time::timeout(IO_TIMEOUT, fut).await {
        Ok(r) => r.map_err(|e| map_err(e, what)),
        Err(_) => Err(UploadError::Transient(format!("{what}: timed out"))),
    }
}

fn map_err(e: FtpError, what: &str) -> UploadError {
    match e {
        FtpError::UnexpectedResponse(r) => {
            let text = String::from_utf8_lossy(&r.body).trim().to_owned();
            let code = r.status.code();
            let msg = format!("{what}: server answered {code} {text}");
            match code {
                // Not logged in / need account: the credentials are wrong.
                530 | 332 => UploadError::Rejected(msg),
                // Permission denied, bad file name: configuration.
                550 | 553 | 504 | 502 => UploadError::Rejected(msg),
                // 4xx (busy, data connection failed, disk full for now), 552 and the rest.
                _ => UploadError::Transient(msg),
            }
        }
        // A certificate that does not verify will not verify on the next try.
        FtpError::SecureError(s) => UploadError::Rejected(format!("{what}: TLS: {s}")),
        FtpError::InvalidAddress(a) => UploadError::Rejected(format!("{what}: {a}")),
        e => UploadError::Transient(format!("{what}: {e}")),
    }
}

fn local(e: std::io::Error) -> UploadError {
    UploadError::Rejected(format!("cannot read the rendition: {e}"))
}

#[async_trait]
impl Target for FtpTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn upload(&self, job: &UploadJob, io: &UploadIo<'_>) -> Result<Uploaded, UploadError> {
        let (dirs, file) = self.path_of(job)?;
        let scheme = if self.tls.is_some() { "ftps" } else { "ftp" };
        let remote_id = format!(
            "{scheme}://{}:{}/{}",
            self.host,
            self.port,
            dirs.iter()
                .chain(std::iter::once(&file))
                .cloned()
                .collect::<Vec<_>>()
                .join("/")
        );
        let mut ftp = self.connect().await?;
        let result = match Self::enter(&mut ftp, &dirs).await {
            Ok(()) => self.send(&mut ftp, job, io, &file, &remote_id).await,
            Err(e) => Err(e),
        };
        // Polite goodbye; a dead connection is simply dropped.
        let _ = tokio::time::timeout(Duration::from_secs(2), ftp.quit()).await;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_and_hides_the_password() {
        let cfg: FtpConfig = serde_json::from_str(
            r#"{"url":"ftp://127.0.0.1:2121/events/day1","user":"u","password":"pw-secret"}"#,
        )
        .unwrap();
        assert!(!format!("{cfg:?}").contains("pw-secret"));
        assert!(!serde_json::to_string(&cfg).unwrap().contains("pw-secret"));
        assert!(cfg.passive);
        let t = FtpTarget::new("f", &cfg).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 2121));
        let job = naming::test_job("web", "../x.jpg", "/r/a.jpg");
        let (dirs, file) = t.path_of(&job).unwrap();
        assert_eq!(dirs, ["events", "day1"]);
        assert_eq!(file, "af1349b9f5f9a1a6a0404dea36dcc949-web.jpg");
    }

    #[test]
    fn credentials_in_the_url_are_refused() {
        let cfg: FtpConfig = serde_json::from_str(r#"{"url":"ftp://me:pw@example.com/"}"#).unwrap();
        let e = FtpTarget::new("f", &cfg).err().unwrap();
        assert!(!e.contains("pw"), "{e}");
    }
}
