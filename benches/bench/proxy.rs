//! A delaying TCP proxy on 127.0.0.1: what a real network's round trip costs, on loopback
//! (`tc netem` is not available in this kernel). Each chunk read from one side reaches the other
//! half a round trip later, in order per direction, and a new connection pays its TCP handshake:
//! loopback's is instant, so nothing a client sends is forwarded before a full round trip has
//! passed since it connected. Without that, a client that opens a connection per request would
//! look a round trip cheaper than it is on a real network.
//!
//! Blocking sockets on threads of their own (a reader and a writer per direction): a thread's
//! sleep is precise to tens of microseconds, where a tokio timer rounds up to the next
//! millisecond. The proxy sets `TCP_NODELAY` on both sides, so it adds no Nagle delay of its
//! own; the kernel acknowledges each side's segments at once, so a client's own Nagle or
//! delayed-ACK stalls do not show here (they would on a real network).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub struct DelayProxy {
    pub addr: SocketAddr,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
    /// Chunks read from clients (about one per write a client made).
    chunks_up: AtomicUsize,
}

impl DelayProxy {
    /// Listens on 127.0.0.1 and forwards every connection to `upstream` with `rtt` added.
    pub fn start(upstream: SocketAddr, rtt: Duration) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        let counters = Arc::new(Counters::default());
        let accepted = counters.clone();
        thread::Builder::new()
            .name("delay-proxy".into())
            .spawn(move || {
                for client in listener.incoming().flatten() {
                    let opened = Instant::now();
                    accepted.connections.fetch_add(1, Ordering::SeqCst);
                    let Ok(server) = TcpStream::connect(upstream) else {
                        continue;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone())
                    else {
                        continue;
                    };
                    // The client's first bytes leave once its SYN and the SYN-ACK have crossed.
                    let handshake = opened + rtt;
                    forward(client, server, rtt / 2, handshake, Some(accepted.clone()));
                    forward(server2, client2, rtt / 2, opened, None);
                }
            })
            .expect("proxy thread");
        DelayProxy { addr, counters }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `https://localhost:PORT` (the name in the test certificate).
    pub fn tls_endpoint(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }

    /// Chunks read from clients so far.
    pub fn chunks_up(&self) -> usize {
        self.counters.chunks_up.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to`, each chunk delivered `one_way` after it was read and never before
/// `not_before` + `one_way`; the end of the stream is passed on after the last chunk.
fn forward(
    mut from: TcpStream,
    mut to: TcpStream,
    one_way: Duration,
    not_before: Instant,
    counters: Option<Arc<Counters>>,
) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    thread::spawn(move || {
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(counters) = &counters {
                        counters.chunks_up.fetch_add(1, Ordering::SeqCst);
                    }
                    let due = Instant::now().max(not_before) + one_way;
                    if tx.send((due, buffer[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    thread::spawn(move || {
        // Ends when the reader ends (its sender is dropped) or the other side is gone.
        while let Ok((due, chunk)) = rx.recv() {
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
