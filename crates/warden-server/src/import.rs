//! `warden account import FILE`: JSON lines of accounts from another system,
//! each imported in its own transaction by
//! [`warden_core::Accounts::import_account`], with a report line per input
//! line and a summary.

use std::io::{BufRead, Write};
use warden_core::import::{ImportOutcome, ImportedAccount};
use warden_core::model::ClientInfo;
use warden_core::{Auth, Error};

/// Counts of one import run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// New accounts.
    pub created: usize,
    /// Lines whose account (same login, same hash) was already there.
    pub unchanged: usize,
    /// Lines refused (each reported with its error code).
    pub failed: usize,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} created, {} unchanged, {} failed",
            self.created, self.unchanged, self.failed
        )
    }
}

/// Import every non-blank line of `input` (JSON objects with `login`,
/// `email`, `password_hash`, `scopes`, `properties`, `created_at`), writing
/// `line N: created LOGIN ID`, `line N: unchanged LOGIN` or `line N: CODE:
/// detail` for each to `report`, then the summary. A refused line changes
/// nothing and the next line goes on; a run again over the same file
/// reports the lines it imported as unchanged. Errs only when `input` or
/// `report` cannot be read or written.
pub async fn import_accounts(
    auth: &Auth,
    mut input: impl BufRead,
    report: &mut impl Write,
    client: &ClientInfo,
) -> Result<ImportSummary, Error> {
    let mut summary = ImportSummary::default();
    let mut raw = Vec::new();
    let mut n = 0usize;
    loop {
        raw.clear();
        if input.read_until(b'\n', &mut raw).map_err(Error::internal)? == 0 {
            break;
        }
        n += 1;
        let line = match std::str::from_utf8(&raw) {
            Ok(l) => l.trim(),
            Err(_) => {
                summary.failed += 1;
                say(report, n, "invalid_line: not UTF-8")?;
                continue;
            }
        };
        if line.is_empty() {
            continue;
        }
        let account: ImportedAccount = match serde_json::from_str(line) {
            Ok(a) => a,
            Err(e) => {
                summary.failed += 1;
                say(report, n, &format!("invalid_line: {e}"))?;
                continue;
            }
        };
        match auth.accounts().import_account(account, client).await {
            Ok(ImportOutcome::Created(a)) => {
                summary.created += 1;
                say(report, n, &format!("created {} {}", a.login, a.id))?;
            }
            Ok(ImportOutcome::Unchanged(a)) => {
                summary.unchanged += 1;
                say(
                    report,
                    n,
                    &format!("unchanged {} (already imported)", a.login),
                )?;
            }
            Err(e) => {
                summary.failed += 1;
                say(report, n, &describe_error(&e))?;
            }
        }
    }
    writeln!(report, "{summary}").map_err(Error::internal)?;
    Ok(summary)
}

/// `code` or `code: field: message; ...` for a validation error.
fn describe_error(e: &Error) -> String {
    match e {
        Error::Validation(fields) => {
            let detail: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            format!("{}: {}", e.code(), detail.join("; "))
        }
        Error::Internal(m) | Error::Unavailable(m) => format!("{}: {m}", e.code()),
        other => other.code().to_owned(),
    }
}

fn say(report: &mut impl Write, n: usize, what: &str) -> Result<(), Error> {
    writeln!(report, "line {n}: {what}").map_err(Error::internal)
}
