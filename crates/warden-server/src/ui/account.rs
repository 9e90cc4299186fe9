//! The account pages (filled in by the next commits).

use super::Ui;
use axum::Router;

/// Built-in templates of these pages.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[];

/// The routes of these pages.
pub(crate) fn routes() -> Router<Ui> {
    Router::new()
}
