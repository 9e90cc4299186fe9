//! The audit log with filters and paging.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AuditParams {
    account: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// A time typed into a filter: RFC 3339, a `datetime-local` value
/// (`YYYY-MM-DDTHH:MM[:SS]`, read as UTC) or a date. For the end of a range
/// (`end`) the whole minute, second or day given is included.
pub(super) fn parse_when(s: &str, end: bool) -> Option<OffsetDateTime> {
    // The stores keep nanoseconds since 1970 in 64 bits (up to 2262).
    parse_time(s, end).filter(|t| (1970..=2200).contains(&t.year()))
}

pub(super) fn parse_time(s: &str, end: bool) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let local = s.replacen(' ', "T", 1);
    let local = local.split('.').next().unwrap_or_default();
    if let Ok(t) = PrimitiveDateTime::parse(
        local,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    ) {
        let t = t.assume_utc();
        return Some(if end { t + Duration::seconds(1) } else { t });
    }
    if let Ok(t) = PrimitiveDateTime::parse(
        local,
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    ) {
        let t = t.assume_utc();
        return Some(if end { t + Duration::minutes(1) } else { t });
    }
    if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        let t = d.midnight().assume_utc();
        return Some(if end { t + Duration::days(1) } else { t });
    }
    None
}

/// Where a page of the audit log ends: the time of the last event read and
/// how many events of exactly that time were read (`<unix nanos>_<count>`).
pub(super) fn parse_cursor(s: &str) -> Option<(OffsetDateTime, usize)> {
    let (nanos, n) = s.split_once('_')?;
    let t = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    let n: usize = n.parse().ok()?;
    (1..=100_000).contains(&n).then_some((t, n))
}

pub(super) fn type_matches(filter: Option<&str>, event: &str) -> bool {
    match filter {
        None => true,
        Some(f) => {
            let f = f.trim_end_matches(['.', '*']);
            event == f || event.strip_prefix(f).is_some_and(|r| r.starts_with('.'))
        }
    }
}

/// One page of events, newest first, from `cursor` on; the cursor of the
/// next page when there may be more.
pub(super) async fn audit_slice(
    auth: &warden_core::Auth,
    base: &AuditQuery,
    kind: Option<&str>,
    mut cursor: Option<(OffsetDateTime, usize)>,
    limit: usize,
) -> Result<(Vec<AuditEvent>, Option<(OffsetDateTime, usize)>), Error> {
    let mut out = Vec::new();
    for _ in 0..AUDIT_MAX_BATCHES {
        let (to, skip) = match cursor {
            Some((t, n)) => (Some(t + Duration::nanoseconds(1)), n),
            None => (base.to, 0),
        };
        let want = AUDIT_BATCH + u32::try_from(skip).unwrap_or(u32::MAX - AUDIT_BATCH);
        let batch = auth
            .accounts()
            .audit_events(&AuditQuery {
                account_id: base.account_id,
                from: base.from,
                to,
                limit: want,
            })
            .await?;
        let exhausted = batch.len() < want as usize;
        for ev in batch.into_iter().skip(skip) {
            if out.len() == limit {
                return Ok((out, cursor));
            }
            cursor = Some(match cursor {
                Some((t, n)) if t == ev.at => (t, n + 1),
                _ => (ev.at, 1),
            });
            if type_matches(kind, &ev.event) {
                out.push(ev);
            }
        }
        if exhausted {
            return Ok((out, None));
        }
    }
    // Read enough for one request: the next page goes on from here.
    Ok((out, cursor))
}

pub(super) async fn audit(ap: AdminPage, RawQuery(raw): RawQuery) -> Response {
    let p: AuditParams = query(raw);
    let page = &ap.page;
    let auth = page.auth();
    let mut errors: BTreeMap<&str, String> = BTreeMap::new();
    let mut alert = None;
    let text = |o: &Option<String>| o.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let (account_text, kind_text, from_text, to_text) =
        (text(&p.account), text(&p.kind), text(&p.from), text(&p.to));
    // An account by id, or by login for convenience.
    let account_id = if account_text.is_empty() {
        None
    } else if let Some(id) = AccountId::parse(&account_text) {
        Some(id)
    } else {
        match auth.accounts().account_by_login(&account_text).await {
            Ok(Some(a)) => Some(a.id),
            Ok(None) => {
                errors.insert("account", "is not an account id or login".into());
                None
            }
            Err(e) => return page.error(&e),
        }
    };
    let from = (!from_text.is_empty())
        .then(|| {
            parse_when(&from_text, false).or_else(|| {
                errors.insert(
                    "from",
                    "is not a date and time between 1970 and 2200 (YYYY-MM-DD HH:MM)".into(),
                );
                None
            })
        })
        .flatten();
    let to = (!to_text.is_empty())
        .then(|| {
            parse_when(&to_text, true).or_else(|| {
                errors.insert(
                    "to",
                    "is not a date and time between 1970 and 2200 (YYYY-MM-DD HH:MM)".into(),
                );
                None
            })
        })
        .flatten();
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        errors.insert("to", "must be after From".into());
    }
    let limit = match p.limit.as_deref().map(str::trim) {
        None | Some("") => AUDIT_PAGE_SIZE,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                alert = Some("The page size must be between 1 and 200.".to_owned());
                AUDIT_PAGE_SIZE
            }
        },
    };
    let cursor = match p.after.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let c = parse_cursor(s);
            if c.is_none() {
                alert = Some("This page link is not valid; showing the newest events.".into());
            }
            c
        }
    };
    let kind = (!kind_text.is_empty()).then_some(kind_text.as_str());
    let (events, next) = if errors.is_empty() {
        let base = AuditQuery {
            account_id,
            from,
            to,
            limit: 0,
        };
        match audit_slice(auth, &base, kind, cursor, limit).await {
            Ok(r) => r,
            Err(e) => return page.error(&e),
        }
    } else {
        (Vec::new(), None)
    };
    // Logins of the accounts shown (deleted ones keep their id).
    let mut logins: BTreeMap<AccountId, Option<String>> = BTreeMap::new();
    for id in events.iter().filter_map(|e| e.account_id) {
        if let std::collections::btree_map::Entry::Vacant(slot) = logins.entry(id) {
            slot.insert(
                auth.accounts()
                    .account(id)
                    .await
                    .ok()
                    .map(|a| a.login.clone()),
            );
        }
    }
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            let actor = e
                .detail
                .get("actor")
                .or_else(|| e.detail.get("by"))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            json!({
                "at": when(e.at, true),
                "event": e.event,
                "account_id": e.account_id.map(|a| a.to_string()),
                "account_login": e.account_id.and_then(|a| logins.get(&a).cloned().flatten()),
                "actor": actor,
                "actor_id": e.detail.get("actor_id").and_then(|v| v.as_str()).and_then(AccountId::parse).map(|a| a.to_string()),
                "ip": e.ip,
                "user_agent": e.user_agent,
                "detail": if e.detail.as_object().is_some_and(|o| o.is_empty()) || e.detail.is_null() {
                    String::new()
                } else {
                    e.detail.to_string()
                },
            })
        })
        .collect();
    let filter_qs = {
        let mut qs = String::new();
        for (k, v) in [
            ("account", &account_text),
            ("type", &kind_text),
            ("from", &from_text),
            ("to", &to_text),
        ] {
            if !v.is_empty() {
                qs.push_str(&format!("{k}={}&", url_encode(v)));
            }
        }
        if limit != AUDIT_PAGE_SIZE {
            qs.push_str(&format!("limit={limit}&"));
        }
        qs
    };
    let base_url = page.ui.url("/admin/audit");
    let next = next.map(|(t, n)| {
        format!(
            "{base_url}?{filter_qs}after={}_{n}",
            t.unix_timestamp_nanos()
        )
    });
    let first = cursor.is_some().then(|| {
        let qs = filter_qs.trim_end_matches('&');
        if qs.is_empty() {
            base_url.clone()
        } else {
            format!("{base_url}?{qs}")
        }
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page.render_status(
        status,
        "admin/audit.html",
        minijinja::context! {
            section => "audit",
            account => account_text,
            account_link => account_id.map(|a| page.ui.url(&format!("/admin/accounts/{a}"))),
            kind => kind_text,
            from => from_text,
            to => to_text,
            events => to_value(&rows),
            next => next,
            first => first,
            errors => to_value(&errors),
            alert => alert,
        },
    )
}
