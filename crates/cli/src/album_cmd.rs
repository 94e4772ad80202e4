//! `hotshoe album serve | create`: the album server on its own, for real events.
//!
//! `create` opens the server's database directly (the data folder, or `--database` for
//! PostgreSQL) rather than calling the admin API: it works before the server's first start
//! and needs no admin token on the command line. Links it prints use the base URL the
//! server announced last (or `--public-url`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct AlbumArgs {
    #[command(subcommand)]
    cmd: AlbumCmd,
}

#[derive(Subcommand)]
enum AlbumCmd {
    /// Run the album server: tus uploads, guest galleries, admin page at /admin.
    Serve(ServeArgs),
    /// Create an album; prints its gallery URL, tus endpoint, upload token and setup link.
    Create(CreateArgs),
}

#[derive(Args, Clone)]
struct Where {
    /// Data folder: unfinished uploads, and the SQLite database and objects by default.
    #[arg(long, env = "HOTSHOE_ALBUM_DATA", default_value = "album-data")]
    data: PathBuf,
    /// `postgres://user@host/db` to share metadata between instances [default: SQLite in --data].
    #[arg(long, env = "HOTSHOE_ALBUM_DATABASE")]
    database: Option<String>,
    /// Base URL for links and QR codes, e.g. https://photos.example.com.
    #[arg(long, env = "HOTSHOE_ALBUM_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOTSHOE_ALBUM_LISTEN", default_value = "0.0.0.0:8470")]
    listen: SocketAddr,
    #[command(flatten)]
    place: Where,
    /// `s3://bucket?endpoint=…&region=…` (credentials from AWS_* variables) or a folder
    /// [default: objects/ in --data].
    #[arg(long, env = "HOTSHOE_ALBUM_OBJECTS")]
    objects: Option<String>,
    /// Largest accepted upload, in MiB.
    #[arg(long, default_value_t = 200)]
    max_upload_mib: u64,
}

#[derive(Args)]
struct CreateArgs {
    /// Album title, e.g. "Anna & Ben".
    name: String,
    #[command(flatten)]
    place: Where,
    /// Hold uploads for approval on the admin page before guests see them.
    #[arg(long)]
    review: bool,
    /// Guests must enter this password.
    #[arg(long)]
    password: Option<String>,
    /// private | unlisted | public.
    #[arg(long, default_value = "unlisted")]
    visibility: String,
    /// Let guests download originals.
    #[arg(long)]
    allow_original: bool,
    /// Photographer credit shown on the gallery.
    #[arg(long)]
    photographer: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: AlbumArgs, verbose: u8, json_logs: bool) -> Result<()> {
    match args.cmd {
        AlbumCmd::Serve(a) => serve(a, verbose, json_logs).await,
        AlbumCmd::Create(a) => create(a, verbose, json_logs).await,
    }
}

async fn serve(args: ServeArgs, verbose: u8, json_logs: bool) -> Result<()> {
    std::fs::create_dir_all(&args.place.data)
        .with_context(|| format!("cannot create {}", args.place.data.display()))?;
    let log_file = hotshoe::logging::init(Some(&args.place.data), verbose.max(1), json_logs);
    // One socket per open gallery page: a busy event outgrows a 1024 default.
    if let Some(limit) = hotshoe::raise_open_files_limit() {
        tracing::info!(limit, "open files limit");
    }
    let mut config = album::Config::new(args.listen, &args.place.data);
    config.public_url = args.place.public_url;
    config.database_url = args.place.database;
    config.objects_url = args.objects;
    config.max_upload_bytes = args.max_upload_mib.saturating_mul(1024 * 1024);
    let server = album::Server::start(config)
        .await
        .context("starting the album server")?;
    println!("Hotshoe album server on {}", server.local_addr());
    println!("  Admin:  {}", server.admin_url());
    if server.first_start() {
        println!(
            "  Admin token (shown once, keep it): {}",
            server.admin_token()
        );
    }
    if let Some(f) = log_file {
        println!("  Log:    {}", f.display());
    }
    hotshoe::stop_signal().await;
    println!("stopping…");
    server.shutdown().await;
    Ok(())
}

async fn create(args: CreateArgs, verbose: u8, json_logs: bool) -> Result<()> {
    hotshoe::logging::init(None, verbose, json_logs);
    let visibility = match args.visibility.as_str() {
        "private" => album::Visibility::Private,
        "unlisted" => album::Visibility::Unlisted,
        "public" => album::Visibility::Public,
        other => anyhow::bail!("--visibility {other:?}: use private, unlisted or public"),
    };
    let mut config = album::Config::new(SocketAddr::from(([127, 0, 0, 1], 8470)), &args.place.data);
    config.public_url = args.place.public_url;
    config.database_url = args.place.database;
    let opts = album::AlbumOptions {
        visibility,
        review: args.review,
        password: args.password,
        allow_original: args.allow_original,
        photographer: args.photographer,
        upload_token: None,
    };
    let info = album::create_album_direct(&config, &args.name, &opts)
        .await
        .context("creating the album")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        println!("Album \"{}\" created", info.title);
        println!("  Gallery:       {}", info.gallery_url);
        println!("  QR page:       {}/qr", info.gallery_url);
        println!("  Upload (tus):  {}", info.upload_url);
        println!("  Upload token:  {}", info.upload_token);
        println!("  Setup link:    {}", info.setup_link);
    }
    Ok(())
}
