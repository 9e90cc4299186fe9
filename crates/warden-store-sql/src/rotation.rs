//! Refresh-token rotation, and its group commit on SQLite.
//!
//! A rotation is a compare-and-swap on the refresh token (only a token not
//! yet used is marked used) under the session's row lock, which serializes
//! every rotation of one session; a normal rotation writes no feed entry and
//! so takes no feed lock. A reused token revokes the session.
//!
//! **Group commit** ([`GroupCommit`], on databases with one writer: SQLite).
//! Every rotation is a write transaction, and SQLite runs one at a time: with
//! one transaction per request, concurrent refreshes queue on SQLite's busy
//! handler, which polls with sleeps of up to 100 ms, so the tail latency
//! grows with the load. Instead, one writer task takes every rotation that is
//! waiting (up to [`MAX_BATCH`]), runs them one after the other in one
//! transaction and answers each caller only after that transaction has
//! committed: nothing is acknowledged before it is durable. Their order in
//! the batch is their arrival order, so two rotations of one token in one
//! batch see each other exactly as in two transactions (the second is a
//! reuse). If a batch fails, its rotations are run again one per
//! transaction, so one bad rotation cannot fail the others.
//!
//! On PostgreSQL and MySQL, rotations of different sessions run in parallel
//! on row locks, one transaction each; a reuse is revoked in a feed
//! transaction that takes the feed lock before any row lock.

use crate::backend::{SqlBackend, audit_sql, insert_feed};
use crate::codec::{from_ts_opt, ts};
use crate::dialect::{Dialect, Tx};
use crate::rows::{self, session_cols};
use crate::sql::sql;
use sqlx::Pool;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use warden_core::error::{Error, Result};
use warden_core::model::Session;
use warden_core::store::{ActiveOrg, ActiveOrganization, Change, Rotation};

/// Most rotations committed in one transaction.
pub(crate) const MAX_BATCH: usize = 128;

/// Rotations waiting for the writer before callers wait to enqueue.
const QUEUE: usize = 1024;

/// One rotation request.
#[derive(Debug, Clone)]
pub(crate) struct Rotate {
    pub(crate) old_hash: [u8; 32],
    pub(crate) new_hash: [u8; 32],
    pub(crate) now: OffsetDateTime,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
}

/// What [`swap`] found.
enum Swap {
    /// Decided: rotated, or invalid.
    Done(Rotation),
    /// The token was used already: `session` must be revoked ([`revoke_reused`]).
    Reused(Session),
}

/// Append the audit event `name` of a rotation of `session` (detail: its id).
async fn audit_rotation<D: Dialect>(
    tx: &mut Tx<D>,
    r: &Rotate,
    session: &Session,
    name: &str,
) -> Result<()> {
    // `{"session_id": id}` without building a JSON value.
    let detail = format!("{{\"session_id\":\"{}\"}}", session.id.0);
    tx.q(audit_sql())
        .bind(ts(r.now)?)
        .binds((
            session.account_id.0,
            name,
            &r.ip,
            &r.user_agent,
            detail.as_str(),
        ))
        .run()
        .await
}

/// Check and swap the token in `tx` (without committing).
async fn swap<D: Dialect>(tx: &mut Tx<D>, r: &Rotate) -> Result<Swap> {
    let at = ts(r.now)?;
    // The token's session, row-locked (the lock serializes every rotation of
    // the session and comes before the token's, as for every writer; the
    // subqueries lock nothing), with the organization it acts for
    // (`org_epoch` is NULL when it has no row).
    let Some(row) = tx
        .q(sql!(concat!(
            "SELECT ",
            session_cols!(),
            ", (SELECT organization_id FROM org_sessions o WHERE o.session_id = sessions.id) \
             AS org_id, (SELECT epoch FROM org_sessions o WHERE o.session_id = sessions.id) \
             AS org_epoch FROM sessions \
             WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = $1) {FOR UPDATE}"
        )))
        .bind(&r.old_hash)
        .fetch_optional()
        .await?
    else {
        return Ok(Swap::Done(Rotation::Invalid));
    };
    let mut session = rows::session(&row)?;
    if !session.is_live(r.now) {
        return Ok(Swap::Done(Rotation::Invalid));
    }
    let org = match row.get::<Option<i64>>("org_epoch")? {
        None => None,
        Some(epoch) => Some(ActiveOrganization {
            organization: row.get("org_id")?,
            epoch,
        }),
    };
    // Compare-and-swap: only a current token is marked used.
    let swapped = tx
        .q(sql!(
            "UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL"
        ))
        .binds((at, &r.old_hash))
        .execute()
        .await?
        == 1;
    if !swapped {
        // A used token never becomes current again: the verdict holds after
        // this transaction ends.
        return Ok(Swap::Reused(session));
    }
    let sid = session.id.0;
    tx.q(sql!(
        "INSERT INTO refresh_tokens (hash, session_id, used_at) VALUES ($1, $2, NULL)"
    ))
    .binds((&r.new_hash, sid))
    .run()
    .await?;
    tx.q(sql!(
        "UPDATE sessions SET last_seen_at = $1, ip = $2, user_agent = $3 WHERE id = $4"
    ))
    .binds((at, &r.ip, &r.user_agent, sid))
    .run()
    .await?;
    audit_rotation(tx, r, &session, "token.refresh").await?;
    session.last_seen_at = r.now;
    session.ip.clone_from(&r.ip);
    session.user_agent.clone_from(&r.user_agent);
    Ok(Swap::Done(Rotation::Rotated(session, ActiveOrg::Read(org))))
}

/// Revoke the session of a reused token in `tx`, a feed transaction (unless
/// another writer revoked it meanwhile, with its own feed entry).
async fn revoke_reused<D: Dialect>(
    tx: &mut Tx<D>,
    mut session: Session,
    r: &Rotate,
) -> Result<Rotation> {
    let now = r.now;
    let at = ts(now)?;
    let prior = tx
        .q(sql!(
            "SELECT revoked_at FROM sessions WHERE id = $1 {FOR UPDATE}"
        ))
        .bind(session.id.0)
        .fetch_optional()
        .await?;
    let prior = match prior {
        Some(r) => Some(r.get::<Option<i64>>("revoked_at")?),
        None => None,
    };
    if let Some(None) = prior {
        tx.q(sql!("UPDATE sessions SET revoked_at = $1 WHERE id = $2"))
            .binds((at, session.id.0))
            .run()
            .await?;
        let change = Change::SessionRevoked(session.id, session.account_id);
        insert_feed(tx, &change, at).await?;
        session.revoked_at = Some(now);
    } else {
        session.revoked_at = from_ts_opt(prior.flatten())?.or(Some(now));
    }
    audit_rotation(tx, r, &session, "token.refresh_reused").await?;
    Ok(Rotation::Reused(session))
}

/// Rotate `r` in its own transaction (PostgreSQL, MySQL; and SQLite when a
/// batch failed).
pub(crate) async fn rotate_alone<D: Dialect>(pool: &Pool<D::Db>, r: &Rotate) -> Result<Rotation> {
    let mut tx = Tx::<D>::begin(pool, false).await?;
    match swap(&mut tx, r).await? {
        Swap::Done(done) => {
            tx.commit().await?;
            Ok(done)
        }
        Swap::Reused(session) => {
            // The revocation runs in a feed transaction, which takes the feed
            // lock before any row lock.
            tx.rollback().await?;
            let mut tx = Tx::<D>::begin(pool, true).await?;
            let out = revoke_reused(&mut tx, session, r).await?;
            tx.commit().await?;
            Ok(out)
        }
    }
}

/// Rotate every request of `batch` in one transaction, in order.
async fn rotate_batch<D: Dialect>(pool: &Pool<D::Db>, batch: &[Job]) -> Result<Vec<Rotation>> {
    // A feed transaction: a reuse in the batch appends to the feed. On SQLite
    // (the only user) that takes no extra lock.
    let mut tx = Tx::<D>::begin(pool, true).await?;
    let mut out = Vec::with_capacity(batch.len());
    for job in batch {
        out.push(match swap(&mut tx, &job.rotate).await? {
            Swap::Done(done) => done,
            Swap::Reused(session) => revoke_reused(&mut tx, session, &job.rotate).await?,
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// A rotation waiting for the writer, and where its answer goes.
struct Job {
    rotate: Rotate,
    reply: oneshot::Sender<Result<Rotation>>,
}

/// The queue of the group-commit writer (see the module doc). The writer task
/// ends when the store (the last sender) is dropped.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Start the writer task on `pool` (in the current tokio runtime).
    pub(crate) fn start<D: Dialect>(pool: Pool<D::Db>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(writer::<D>(pool, queue));
        Self { jobs }
    }

    /// Rotate `r` in the next batch; answers after that batch commits.
    pub(crate) async fn rotate(&self, rotate: Rotate) -> Result<Rotation> {
        let (reply, answer) = oneshot::channel();
        let stopped = || Error::Unavailable("the refresh-token writer has stopped".into());
        self.jobs
            .send(Job { rotate, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The writer task: one batch of waiting rotations per transaction.
async fn writer<D: Dialect>(pool: Pool<D::Db>, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::take(&mut batch);
        match rotate_batch::<D>(&pool, &jobs).await {
            Ok(done) => {
                for (job, rotation) in jobs.into_iter().zip(done) {
                    // A caller that went away needs no answer.
                    let _ = job.reply.send(Ok(rotation));
                }
            }
            Err(e) if jobs.len() == 1 => {
                for job in jobs {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, n = jobs.len(), "rotation batch failed; one by one");
                for job in jobs {
                    let out = rotate_alone::<D>(&pool, &job.rotate).await;
                    let _ = job.reply.send(out);
                }
            }
        }
    }
}

impl<D: Dialect> SqlBackend<D> {
    /// Rotate through the group-commit writer if this store has one.
    pub(crate) async fn rotate(&self, r: Rotate) -> Result<Rotation> {
        match &self.group_commit {
            Some(writer) => writer.rotate(r).await,
            None => rotate_alone::<D>(&self.pool, &r).await,
        }
    }
}
