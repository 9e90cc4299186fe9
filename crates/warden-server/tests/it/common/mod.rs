//! Helpers shared by the router tests: the test kit's app harness, and the
//! browser of the hosted pages.
#![allow(dead_code, unused_imports)]

pub mod browser;
pub mod imported_hashes;
pub use imported_hashes::{IMPORTED_HASHES, IMPORTED_PASSWORD};

pub use warden_testkit::app::*;
pub use warden_testkit::{Backend, each_backend, needs};
