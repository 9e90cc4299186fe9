//! A mailer for tests that keeps every mail it is given.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warden_core::mail::{Mail, Mailer};

/// A [`Mailer`] that keeps every mail; clones share the list.
#[derive(Default, Clone)]
pub struct Capture(Arc<Mutex<Vec<Mail>>>);

#[async_trait]
impl Mailer for Capture {
    async fn send(&self, mail: Mail) -> warden_core::Result<()> {
        self.0.lock().unwrap().push(mail);
        Ok(())
    }
}

impl Capture {
    /// How many mails came so far.
    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    /// The newest mail; panics when none came.
    pub fn last(&self) -> Mail {
        self.0.lock().unwrap().last().cloned().expect("no mail")
    }
    /// Wait (two seconds at most) for the n-th mail (1-based).
    pub async fn wait_for(&self, n: usize) -> Mail {
        for _ in 0..200 {
            if let Some(m) = self.0.lock().unwrap().get(n - 1) {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("mail {n} never came");
    }
}
