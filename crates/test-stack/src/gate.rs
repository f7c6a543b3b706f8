//! A TCP proxy in front of a service (chat-service, Redis) that tests cut or stall to play
//! "the service stopped" and "the service hung".

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// A TCP proxy to a port on 127.0.0.1.
pub struct Gate {
    pub url: String,
    mode: Arc<AtomicU8>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

const OPEN: u8 = 0;
const REFUSE: u8 = 1;
const HANG: u8 = 2;

impl Gate {
    pub async fn start(target_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(AtomicU8::new(OPEN));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (m, c) = (mode.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                match m.load(Ordering::SeqCst) {
                    REFUSE => drop(inbound),
                    HANG => {
                        let task = tokio::spawn(async move {
                            let mut sink = tokio::io::sink();
                            let _ = tokio::io::copy(&mut inbound, &mut sink).await;
                        });
                        c.lock().unwrap().push(task);
                    }
                    _ => {
                        let task = tokio::spawn(async move {
                            if let Ok(mut outbound) =
                                TcpStream::connect(("127.0.0.1", target_port)).await
                            {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        });
                        c.lock().unwrap().push(task);
                    }
                }
            }
        });
        Self { url, mode, conns }
    }

    fn cut_existing(&self) {
        for task in self.conns.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// The service "stopped": connections are closed at once.
    pub fn refuse(&self) {
        self.mode.store(REFUSE, Ordering::SeqCst);
        self.cut_existing();
    }

    /// The service "hung": connections are accepted and never answered.
    pub fn hang(&self) {
        self.mode.store(HANG, Ordering::SeqCst);
        self.cut_existing();
    }

    pub fn open(&self) {
        self.mode.store(OPEN, Ordering::SeqCst);
    }
}
