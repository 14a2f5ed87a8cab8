//! `api-server`: the reference API server for authfetch's demo and browser tests.
//!
//! It speaks the five seed APIs (PGBen under `/v1`, the others under `/s000` … `/s003`),
//! serves the demo's files, plays a
//! foreign origin on a second port, and with `--test-controls` lets tests steer and observe
//! it. README.md beside this crate is the contract. Once both ports are bound it prints one
//! JSON line on stdout, `{"event":"listening","port":P,"foreignPort":F}`, and nothing else
//! there afterwards; errors go to stderr, and tokens and passwords go nowhere.

mod app;
mod clock;
mod controls;
mod cors;
mod errors;
mod faults;
mod foreign;
mod form;
mod ids;
mod pgben;
mod s000;
mod s001;
mod s002;
mod s003;
mod serve;
mod state;
mod statics;
#[cfg(test)]
mod testing;
mod tokens;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use tokio::net::TcpListener;

use crate::serve::Connections;
use crate::state::{AppState, Settings};

const USAGE: &str = "\
usage: api-server [--port 8080] [--foreign-port 8081] [--host 127.0.0.1]
                  [--access-ttl 3600] [--refresh-ttl 2592000] [--max-failed-logins 5]
                  [--refresh-cookie] [--cors-origin <origin>]... [--www www] [--pkg pkg]
                  [--test-controls]

Port 0 picks a free port. TTLs are seconds. Without --access-ttl each dialect issues access
tokens with its seed's lifetime; with it, every dialect uses that. --max-failed-logins 0 never
locks. --refresh-cookie: PGBen's refresh token travels in an HttpOnly cookie.
--cors-origin http://localhost:5173 (repeatable): pages of that origin may call the main port
(CORS with credentials); other origins get no CORS headers.
Prints {\"event\":\"listening\",\"port\":P,\"foreignPort\":F} once both ports are bound.
";

/// The command line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    host: String,
    port: u16,
    foreign_port: u16,
    settings: Settings,
    /// `--cors-origin`, in the order given.
    cors_origins: Vec<String>,
    www: PathBuf,
    pkg: PathBuf,
    test_controls: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            foreign_port: 8081,
            settings: Settings::default(),
            cors_origins: Vec::new(),
            www: "www".into(),
            pkg: "pkg".into(),
            test_controls: false,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run(Options),
    Help,
}

/// Parses the flags (`--name value` or `--name=value`).
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{name} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--test-controls" if inline.is_none() => options.test_controls = true,
            "--refresh-cookie" if inline.is_none() => options.settings.refresh_cookie = true,
            "--host" => options.host = value()?,
            "--port" => options.port = number(&name, &value()?)?,
            "--foreign-port" => options.foreign_port = number(&name, &value()?)?,
            "--access-ttl" => {
                options.settings.access_ttl_s = number(&name, &value()?)?;
                options.settings.access_ttl_uniform = true;
            }
            "--refresh-ttl" => options.settings.refresh_ttl_s = number(&name, &value()?)?,
            "--max-failed-logins" => {
                options.settings.max_failed_logins = number(&name, &value()?)?;
            }
            "--cors-origin" => {
                let origin = cors::parse_origin(&value()?).map_err(|e| format!("{name}: {e}"))?;
                options.cors_origins.push(origin);
            }
            "--www" => options.www = value()?.into(),
            "--pkg" => options.pkg = value()?.into(),
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    Ok(Command::Run(options))
}

fn number<T: FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{name} wants a non-negative integer, got {value:?}"))
}

/// Both ports, bound, and the state they share.
struct Bound {
    main: TcpListener,
    foreign: TcpListener,
    state: AppState,
    www: PathBuf,
    pkg: PathBuf,
}

impl Bound {
    async fn bind(options: &Options) -> io::Result<Self> {
        let main = TcpListener::bind((options.host.as_str(), options.port)).await?;
        let foreign = TcpListener::bind((options.host.as_str(), options.foreign_port)).await?;
        Ok(Self {
            main,
            foreign,
            state: AppState::with_cors(
                options.settings,
                options.test_controls,
                options.cors_origins.clone(),
            ),
            www: options.www.clone(),
            pkg: options.pkg.clone(),
        })
    }

    /// The line test harnesses wait for. Written by hand: the key order is the contract.
    fn listening_line(&self) -> io::Result<String> {
        Ok(format!(
            r#"{{"event":"listening","port":{},"foreignPort":{}}}"#,
            self.main.local_addr()?.port(),
            self.foreign.local_addr()?.port()
        ))
    }

    /// Serves both ports until the process ends.
    async fn serve(self) {
        let main = app::main_router(self.state.clone(), &self.www, &self.pkg);
        let foreign = foreign::router(self.state.clone());
        let main_idle = self.state.connections.subscribe();
        // The foreign port never closes idle connections on purpose: a signal whose sender is
        // dropped at once.
        let foreign_idle = Connections::default().subscribe();
        tokio::join!(
            serve::serve(self.main, main, main_idle),
            serve::serve(self.foreign, foreign, foreign_idle)
        );
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("api-server: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let bound = match Bound::bind(&options).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!(
                "api-server: cannot listen on {} ports {} and {}: {e}",
                options.host, options.port, options.foreign_port
            );
            return ExitCode::FAILURE;
        }
    };
    let announced = bound.listening_line().and_then(|line| {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()
    });
    if let Err(e) = announced {
        // A harness that closed our stdout may still want the server; keep serving.
        eprintln!("api-server: could not print the listening line: {e}");
    }
    tokio::select! {
        () = bound.serve() => {}
        () = shutdown_signal() => {}
    }
    ExitCode::SUCCESS
}

/// Resolves on Ctrl-C or SIGTERM, so that `kill` ends the server with status 0.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_parse_with_defaults() {
        assert_eq!(parse_args(args(&[])), Ok(Command::Run(Options::default())));
        let parsed = parse_args(args(&[
            "--port=0",
            "--foreign-port",
            "0",
            "--host",
            "0.0.0.0",
            "--access-ttl",
            "5",
            "--refresh-ttl=60",
            "--max-failed-logins",
            "0",
            "--www",
            "demo",
            "--pkg=build/pkg",
            "--test-controls",
            "--refresh-cookie",
            "--cors-origin",
            "http://localhost:5173",
            "--cors-origin=https://app.example.com",
        ]));
        let want = Options {
            host: "0.0.0.0".into(),
            port: 0,
            foreign_port: 0,
            settings: Settings {
                access_ttl_s: 5,
                access_ttl_uniform: true,
                refresh_ttl_s: 60,
                max_failed_logins: 0,
                refresh_cookie: true,
            },
            cors_origins: vec![
                "http://localhost:5173".into(),
                "https://app.example.com".into(),
            ],
            www: "demo".into(),
            pkg: "build/pkg".into(),
            test_controls: true,
        };
        assert_eq!(parsed, Ok(Command::Run(want)));
        assert_eq!(parse_args(args(&["--help"])), Ok(Command::Help));
        assert!(parse_args(args(&["--port"]))
            .unwrap_err()
            .contains("--port needs a value"));
        assert!(parse_args(args(&["--port", "x"]))
            .unwrap_err()
            .contains("--port"));
        assert!(parse_args(args(&["--port", "70000"])).is_err());
        assert!(parse_args(args(&["--access-ttl", "-1"])).is_err());
        assert!(parse_args(args(&["--bogus"]))
            .unwrap_err()
            .contains("--bogus"));
        assert!(parse_args(args(&["--test-controls=yes"])).is_err());
        assert!(parse_args(args(&["--refresh-cookie=1"])).is_err());
        assert!(parse_args(args(&["--cors-origin"]))
            .unwrap_err()
            .contains("--cors-origin needs a value"));
        for bad in ["http://localhost:5173/", "*", "localhost:5173"] {
            assert!(parse_args(args(&["--cors-origin", bad]))
                .unwrap_err()
                .contains("--cors-origin"));
        }
    }

    /// Binds both ports on 0 as the binary does, serves them in the background, and answers
    /// the listening line and the main port's address.
    async fn start(test_controls: bool) -> (String, SocketAddr, SocketAddr) {
        let options = Options {
            port: 0,
            foreign_port: 0,
            test_controls,
            www: "/nonexistent/www".into(),
            pkg: "/nonexistent/pkg".into(),
            ..Options::default()
        };
        let bound = Bound::bind(&options).await.unwrap();
        let line = bound.listening_line().unwrap();
        let main = bound.main.local_addr().unwrap();
        let foreign = bound.foreign.local_addr().unwrap();
        tokio::spawn(bound.serve());
        (line, main, foreign)
    }

    fn raw_request(method: &str, path: &str, body: &str, keep_alive: bool) -> String {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n{body}",
            body.len(),
            if keep_alive { "keep-alive" } else { "close" }
        )
    }

    /// Reads one response with a Content-Length body; answers (status, headers, body).
    async fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    let status = head[9..12].parse().unwrap();
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string();
                    return (status, head.to_lowercase(), body);
                }
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "connection closed mid-response: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn call(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(raw_request(method, path, body, false).as_bytes())
            .await
            .unwrap();
        read_response(&mut stream).await
    }

    /// Reads until the peer closes; answers the bytes read (a reset counts as closed).
    async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "the server did not close the connection");
        buf
    }

    #[tokio::test]
    async fn listening_line_and_real_requests_on_both_ports() {
        let (line, main, foreign) = start(true).await;
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            line,
            format!(
                r#"{{"event":"listening","port":{},"foreignPort":{}}}"#,
                main.port(),
                foreign.port()
            )
        );
        assert_eq!(parsed["event"], "listening");
        assert_ne!(main.port(), 0);
        assert_ne!(main.port(), foreign.port());

        let login = r#"{"email":"maria.oliveira@exemplo.com","senha":"S3nh4F0rt3!"}"#;
        let (status, _, body) = call(main, "POST", "/v1/auth/login", login).await;
        assert_eq!(status, 200);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["usuario"]["nome"], "Maria Oliveira");

        let (status, _, body) = call(foreign, "GET", "/anything", "").await;
        assert_eq!(status, 200);
        assert!(body.contains(r#""origin":"foreign""#));
        let (_, _, counters) = call(main, "GET", "/__control/counters", "").await;
        let counters: serde_json::Value = serde_json::from_str(&counters).unwrap();
        assert_eq!(counters["logins"], 1);
        assert_eq!(counters["foreign"]["requests"], 1);
        assert_eq!(call(main, "GET", "/", "").await.0, 404);
    }

    #[tokio::test]
    async fn drop_closes_the_connection_without_an_answer() {
        let (_, main, _) = start(true).await;
        let login = r#"{"email":"maria.oliveira@exemplo.com","senha":"S3nh4F0rt3!"}"#;
        let (_, _, body) = call(main, "POST", "/v1/auth/login", login).await;
        let refresh = serde_json::from_str::<serde_json::Value>(&body).unwrap()["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let refresh_body = format!(r#"{{"refreshToken":"{refresh}"}}"#);

        // A keep-alive connection, idle when the drop is armed.
        let mut idle = TcpStream::connect(main).await.unwrap();
        idle.write_all(raw_request("GET", "/v1/nao-existe", "", true).as_bytes())
            .await
            .unwrap();
        let (status, head, _) = read_response(&mut idle).await;
        assert_eq!(status, 404);
        assert!(!head.contains("connection: close"));

        let (status, head, _) = call(
            main,
            "POST",
            "/__control/fail-refresh",
            r#"{"count":1,"mode":"drop"}"#,
        )
        .await;
        assert_eq!(status, 200);
        assert!(head.contains("connection: close"));
        // The server closed the idle connection, so a browser could not reuse it.
        assert!(read_until_closed(&mut idle).await.is_empty());

        let mut dropped = TcpStream::connect(main).await.unwrap();
        dropped
            .write_all(
                raw_request("POST", "/v1/auth/refresh-token", &refresh_body, true).as_bytes(),
            )
            .await
            .unwrap();
        assert!(
            read_until_closed(&mut dropped).await.is_empty(),
            "drop must not answer"
        );

        // Nothing was consumed: the same refresh token works now that the plan is used up.
        let (status, _, _) = call(main, "POST", "/v1/auth/refresh-token", &refresh_body).await;
        assert_eq!(status, 200);
        let (_, _, counters) = call(main, "GET", "/__control/counters", "").await;
        let counters: serde_json::Value = serde_json::from_str(&counters).unwrap();
        assert_eq!(counters["refreshRequests"], 2);
        assert_eq!(counters["refreshFailures"], 1);
        assert_eq!(counters["refreshes"], 1);
    }
}
