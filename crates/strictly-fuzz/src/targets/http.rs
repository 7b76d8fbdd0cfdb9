//! Request bodies sent to a running server over a real socket: every
//! answer is a well-formed HTTP response with a JSON body, and nothing a
//! client sends gets a 5xx. The server runs the real grammar engine over a
//! scripted model (a byte vocabulary), and batch jobs over an echo
//! extractor, so each input costs milliseconds rather than a forward pass.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use arbitrary::{Result, Unstructured};
use serde_json::{Value, json};
use strictly_batch::jobs::{JobRunner, RunnerConfig};
use strictly_batch::store::BatchStore;
use strictly_batch::testing::EchoExtractor;
use strictly_engine::testing::{ByteCodec, ScriptedModel};
use strictly_engine::{Engine, EngineConfig, GrammarCompiler, TextCodec};
use strictly_server::{AppState, ServerConfig};

use super::schema_gen::schema_from_entropy;
use crate::{Outcome, Target, signature};

const ROUTES: [(&str, &str); 4] = [
    ("POST", "/v1/extract"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/extract"),
    ("POST", "/v1/batches"),
];

pub struct HttpTarget {
    addr: SocketAddr,
}

impl HttpTarget {
    /// Starts the server on a free local port (it lives as long as the
    /// process).
    pub fn start() -> std::io::Result<Self> {
        let codec = ByteCodec::new();
        let compiler =
            GrammarCompiler::new(&codec, codec.vocab_size()).map_err(std::io::Error::other)?;
        let engine = Engine::builder(ScriptedModel::new(""), Arc::new(codec), Arc::new(compiler))
            .config(EngineConfig {
                request_timeout: Duration::from_secs(30),
                ..EngineConfig::default()
            })
            .start();
        let state = AppState::loading(ServerConfig {
            port: 0,
            workers: 1,
            ..ServerConfig::default()
        });
        state.set_ready(engine, "fuzz-model");
        let store = Arc::new(BatchStore::open_in_memory().map_err(std::io::Error::other)?);
        let runner = JobRunner::start(
            store,
            Arc::new(EchoExtractor::new()),
            RunnerConfig::default(),
        )
        .map_err(std::io::Error::other)?;
        state.set_batches(runner);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match strictly_server::run(state) {
                    Ok((server, addrs)) => {
                        let _ = tx.send(Ok(addrs[0]));
                        let _ = server.await;
                    }
                    Err(err) => {
                        let _ = tx.send(Err(err));
                    }
                }
            })
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(std::io::Error::other)??;
        Ok(Self { addr })
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> std::io::Result<Vec<u8>> {
        let mut socket = TcpStream::connect(self.addr)?;
        socket.set_read_timeout(Some(Duration::from_secs(60)))?;
        write!(
            socket,
            "{method} {path} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )?;
        socket.write_all(body)?;
        let mut response = Vec::new();
        socket.read_to_end(&mut response)?;
        Ok(response)
    }
}

/// Status and body of a raw HTTP/1.1 response (chunked bodies joined).
fn parse(response: &[u8]) -> std::result::Result<(u16, Vec<u8>), String> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of the response head")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        let stop = (start + size).min(raw.len());
        out.extend_from_slice(&raw[start..stop]);
        raw = raw.get(stop + 2..).unwrap_or_default();
    }
    out
}

impl Target for HttpTarget {
    fn name(&self) -> &'static str {
        "http"
    }

    fn run(&mut self, input: &[u8]) -> Outcome {
        let (selector, body) = input.split_first().unwrap_or((&0, &[]));
        let (method, path) = ROUTES[usize::from(selector & 3)];
        let content_type = if selector & 0x40 != 0 {
            "text/plain"
        } else {
            "application/json"
        };
        let response = self
            .send(method, path, content_type, body)
            .map_err(|e| format!("{path}: no response: {e}"))?;
        let (status, body) = parse(&response).map_err(|e| format!("{path}: {e}"))?;
        if body.starts_with(b"data:") {
            return Ok(signature((path, status, "sse")));
        }
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            format!(
                "{path}: {status} with a body that is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&body)
            )
        })?;
        let kind = value["error"]["type"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if status >= 500 {
            return Err(format!(
                "{path}: {status} {kind}: {}",
                value["error"]["message"]
            ));
        }
        if status >= 400 && kind.is_empty() {
            return Err(format!("{path}: {status} without an error type: {value}"));
        }
        Ok(signature((path, status, kind)))
    }

    fn generate(&self, entropy: &[u8]) -> Vec<u8> {
        let mut u = Unstructured::new(entropy);
        body_from(&mut u).unwrap_or_default()
    }

    fn dictionary(&self) -> &[&[u8]] {
        &[
            b"\"document\":", b"\"schema\":", b"\"options\":{", b"\"max_tokens\":",
            b"\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]", b"\"stream\":true",
            b"\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":",
            b"\"temperature\":", b"\"rows\":[", b"\"instructions\":", b"\\u0000", b"\\ud800",
            b"{", b"}", b"[", b"]", b"null", b"1e999",
        ]
    }
}

fn body_from(u: &mut Unstructured) -> Result<Vec<u8>> {
    let selector: u8 = u.arbitrary::<u8>()? & 0x3f;
    let schema = schema_from_entropy(u.bytes(u.len().min(256))?);
    let max_tokens = json!(u.choose(&[1u64, 16, 64, 0, 1 << 20])?);
    let document: String = u.arbitrary()?;
    let body = match selector & 3 {
        1 => json!({
            "messages": [{"role": "user", "content": document}],
            "max_tokens": max_tokens,
            "stream": u.ratio(1, 3)?,
            "temperature": u.choose(&[0.0, 0.7, -1.0, 3.0])?,
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        }),
        3 => json!({
            "schema": schema,
            "rows": [{"id": "1", "text": document}],
        }),
        _ => json!({"document": document, "schema": schema, "options": {"max_tokens": max_tokens}}),
    };
    let mut out = vec![selector];
    out.extend_from_slice(body.to_string().as_bytes());
    Ok(out)
}
