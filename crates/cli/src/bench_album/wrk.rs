//! Gallery-page load with `wrk` (Debian package `wrk`), and the parsing of its text report.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// How wrk is run.
#[derive(Debug, Clone, Copy)]
pub struct WrkLoad {
    pub duration: Duration,
    pub connections: u32,
    pub threads: u32,
}

/// What one wrk run reported.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WrkResult {
    pub requests: u64,
    pub seconds: f64,
    pub requests_per_sec: f64,
    pub latency_p50_ms: f64,
    pub latency_p75_ms: f64,
    pub latency_p90_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    /// Responses outside 2xx/3xx; must be 0.
    pub non_2xx_3xx: u64,
    /// connect + read + write + timeout errors; must be 0.
    pub socket_errors: u64,
}

pub async fn run(url: &str, load: WrkLoad) -> Result<WrkResult> {
    let out = tokio::process::Command::new("wrk")
        .arg("--latency")
        .arg(format!("-t{}", load.threads.max(1)))
        .arg(format!("-c{}", load.connections.max(load.threads.max(1))))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .arg(url)
        .kill_on_drop(true)
        .output()
        .await
        .context("running wrk (Debian package `wrk`; scripts/setup.sh --test installs it)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse(&text).with_context(|| format!("reading wrk's report:\n{text}"))
}

/// wrk prints durations as `812.00us`, `1.23ms`, `2.00s` or `1.50m`.
fn duration_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, factor) = if let Some(n) = s.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000.0)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * factor)
}

pub fn parse(text: &str) -> Result<WrkResult> {
    let mut r = WrkResult {
        requests: 0,
        seconds: 0.0,
        requests_per_sec: f64::NAN,
        latency_p50_ms: f64::NAN,
        latency_p75_ms: f64::NAN,
        latency_p90_ms: f64::NAN,
        latency_p99_ms: f64::NAN,
        latency_max_ms: f64::NAN,
        non_2xx_3xx: 0,
        socket_errors: 0,
    };
    let mut in_distribution = false;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Latency", _avg, _stdev, max, ..] if !in_distribution => {
                r.latency_max_ms = duration_ms(max).unwrap_or(f64::NAN);
            }
            ["Latency", "Distribution", ..] => in_distribution = true,
            [pct, value] if in_distribution && pct.ends_with('%') => {
                let v = duration_ms(value).context("latency percentile")?;
                match *pct {
                    "50%" => r.latency_p50_ms = v,
                    "75%" => r.latency_p75_ms = v,
                    "90%" => r.latency_p90_ms = v,
                    "99%" => r.latency_p99_ms = v,
                    _ => {}
                }
            }
            // "12345 requests in 10.00s, 1.23MB read"
            [n, "requests", "in", secs, ..] => {
                in_distribution = false;
                r.requests = n.parse().context("request count")?;
                r.seconds = duration_ms(secs.trim_end_matches(',')).context("duration")? / 1000.0;
            }
            ["Requests/sec:", v] => r.requests_per_sec = v.parse().context("requests/sec")?,
            ["Non-2xx", "or", "3xx", "responses:", n] => r.non_2xx_3xx = n.parse()?,
            // "Socket errors: connect 0, read 0, write 0, timeout 0"
            ["Socket", "errors:", rest @ ..] => {
                r.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    if r.requests_per_sec.is_nan() || r.latency_p99_ms.is_nan() || r.requests == 0 {
        bail!("no Requests/sec, latency distribution or request count");
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 3s test @ http://127.0.0.1:40000/g/abc
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.05ms  21.30ms   90.12%
    Req/Sec     1.95k   150.00     2.20k    70.00%
  Latency Distribution
     50%  812.00us
     75%    2.50ms
     90%    3.00ms
     99%    1.20s
  11700 requests in 3.00s, 120.50MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   3899.12
Transfer/sec:     40.17MB
";

    #[test]
    fn parses_wrk_latency_report() {
        let r = parse(SAMPLE).unwrap();
        assert_eq!(r.requests, 11700);
        assert_eq!(r.seconds, 3.0);
        assert_eq!(r.requests_per_sec, 3899.12);
        assert!((r.latency_p50_ms - 0.812).abs() < 1e-9);
        assert_eq!(r.latency_p75_ms, 2.5);
        assert_eq!(r.latency_p99_ms, 1200.0);
        assert_eq!(r.latency_max_ms, 21.3);
        assert_eq!(r.socket_errors, 3);
        assert_eq!(r.non_2xx_3xx, 4);
    }

    #[test]
    fn refuses_a_report_without_numbers() {
        assert!(parse("unable to connect to 127.0.0.1:1 Connection refused").is_err());
    }
}
