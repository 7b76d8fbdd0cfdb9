//! Noticing that a client went away while its request is being computed.
//!
//! actix-web treats a client's end-of-stream as a half-close and keeps a
//! non-streaming handler running until it writes the response, which for a
//! generation request means holding a KV slot for nothing. As Go's
//! `net/http` does, the connection's socket is peeked in the background: a
//! read of zero bytes means the client closed it, and the handler's future is
//! dropped, which cancels the engine request.

use std::any::Any;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::dev::Extensions;

/// How often a waiting handler checks its connection.
const POLL: Duration = Duration::from_millis(200);

/// The connection's socket, recorded when the connection is accepted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerSocket(#[cfg(unix)] std::os::fd::RawFd);

/// `HttpServer::on_connect` hook: remembers the socket of TCP connections.
pub(crate) fn on_connect(connection: &dyn Any, data: &mut Extensions) {
    #[cfg(unix)]
    if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        use std::os::fd::AsRawFd;
        data.insert(PeerSocket(stream.as_raw_fd()));
    }
    #[cfg(not(unix))]
    let _ = (connection, data);
}

impl PeerSocket {
    /// Whether the client closed the connection (end of stream or reset).
    #[cfg(unix)]
    fn closed(self) -> bool {
        use std::os::fd::FromRawFd;
        // SAFETY: the descriptor belongs to the connection whose request is
        // being handled; the dispatcher keeps it open for as long as the
        // handler's future (and so this check) is alive. ManuallyDrop keeps
        // this borrowed view from closing it, and peek leaves the data in
        // place for the dispatcher.
        let stream =
            std::mem::ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(self.0) });
        let mut byte = [0u8; 1];
        match stream.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
            ),
        }
    }

    #[cfg(not(unix))]
    fn closed(self) -> bool {
        false
    }
}

/// Resolves when the client of `req` has gone away; never, when that cannot
/// be known (in-process test requests).
pub(crate) async fn gone(req: &HttpRequest) {
    let Some(socket) = req.conn_data::<PeerSocket>().copied() else {
        return std::future::pending().await;
    };
    loop {
        actix_web::rt::time::sleep(POLL).await;
        if socket.closed() {
            tracing::debug!("client closed the connection; cancelling its request");
            return;
        }
    }
}
