//! [`ProviderStore`] of [`SqlBackend`]: the OpenID Provider's clients,
//! authorization codes and consents. `use_auth_code` locks the code row, so
//! of two exchanges of one code exactly one finds it unused;
//! `delete_oauth_client` reads the consenting accounts and deletes the
//! client (its codes and consents go by cascade) in one transaction.

use crate::accounts::require_account;
use crate::backend::{SqlBackend, commit_if_changed, insert_audit};
use crate::codec::{from_json_list, from_ts, from_ts_opt, json_list, storable, ts};
use crate::dialect::{Arg, Dialect, Record, Tx};
use crate::sql::sql;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::error::{Error, Result};
use warden_core::model::{AccountId, AuditEvent, SessionId};
use warden_core::store::{AuthCode, CodeUse, Consent, OAuthClient, ProviderStore};

macro_rules! client_cols {
    () => {
        "client_id, secret_hash, name, redirect_uris, post_logout_redirect_uris, grant_types, \
         scopes, is_public, first_party, created_at, updated_at"
    };
}

macro_rules! code_cols {
    () => {
        "hash, client_id, account_id, grant_doc, expires_at, used_at, session_id"
    };
}

fn client_row<D: Dialect>(row: &Record<D>) -> Result<OAuthClient> {
    let secret: Option<Vec<u8>> = row.get("secret_hash")?;
    let secret_hash = match secret {
        Some(v) => Some(
            <[u8; 32]>::try_from(v.as_slice())
                .map_err(|_| Error::Internal("stored client secret hash".into()))?,
        ),
        None => None,
    };
    Ok(OAuthClient {
        client_id: row.get("client_id")?,
        secret_hash,
        name: row.get("name")?,
        redirect_uris: from_json_list(&row.get::<String>("redirect_uris")?)?,
        post_logout_redirect_uris: from_json_list(
            &row.get::<String>("post_logout_redirect_uris")?,
        )?,
        grant_types: from_json_list(&row.get::<String>("grant_types")?)?,
        scopes: from_json_list(&row.get::<String>("scopes")?)?,
        public: row.get("is_public")?,
        first_party: row.get("first_party")?,
        created_at: from_ts(row.get("created_at")?)?,
        updated_at: from_ts(row.get("updated_at")?)?,
    })
}

fn code_row<D: Dialect>(row: &Record<D>) -> Result<AuthCode> {
    let hash: Vec<u8> = row.get("hash")?;
    Ok(AuthCode {
        hash: <[u8; 32]>::try_from(hash.as_slice())
            .map_err(|_| Error::Internal("stored code hash".into()))?,
        client_id: row.get("client_id")?,
        account_id: AccountId(row.get("account_id")?),
        grant: serde_json::from_str(&row.get::<String>("grant_doc")?).map_err(Error::internal)?,
        expires_at: from_ts(row.get("expires_at")?)?,
        used_at: from_ts_opt(row.get("used_at")?)?,
        session_id: row.get::<Option<Uuid>>("session_id")?.map(SessionId),
    })
}

fn consent_row<D: Dialect>(row: &Record<D>) -> Result<Consent> {
    Ok(Consent {
        account_id: AccountId(row.get("account_id")?),
        client_id: row.get("client_id")?,
        scopes: from_json_list(&row.get::<String>("scopes")?)?,
        granted_at: from_ts(row.get("granted_at")?)?,
    })
}

async fn client_exists<D: Dialect>(tx: &mut Tx<D>, client_id: &str) -> Result<bool> {
    tx.q(sql!(
        "SELECT 1 FROM oauth_clients WHERE client_id = $1 {FOR KEY SHARE}"
    ))
    .bind(client_id)
    .exists()
    .await
}

#[async_trait]
impl<D: Dialect> ProviderStore for SqlBackend<D> {
    async fn insert_oauth_client(&self, c: &OAuthClient, audit: &AuditEvent) -> Result<()> {
        let (redirects, logouts) = (
            json_list(&c.redirect_uris)?,
            json_list(&c.post_logout_redirect_uris)?,
        );
        let (grants, scopes) = (json_list(&c.grant_types)?, json_list(&c.scopes)?);
        let mut tx = self.write().await?;
        tx.q(sql!(concat!(
            "INSERT INTO oauth_clients (",
            client_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .binds((
            &c.client_id,
            Arg::Bytes(c.secret_hash.as_ref().map(|h| &h[..])),
            &c.name,
            &redirects,
            &logouts,
            &grants,
            &scopes,
            c.public,
            c.first_party,
            ts(c.created_at)?,
            ts(c.updated_at)?,
        ))
        .execute()
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn oauth_client(&self, client_id: &str) -> Result<Option<OAuthClient>> {
        if !storable(client_id) {
            return Ok(None);
        }
        self.q(sql!(concat!(
            "SELECT ",
            client_cols!(),
            " FROM oauth_clients WHERE client_id = $1"
        )))
        .bind(client_id)
        .one(client_row)
        .await
    }

    async fn oauth_clients(&self) -> Result<Vec<OAuthClient>> {
        self.q(sql!(concat!(
            "SELECT ",
            client_cols!(),
            " FROM oauth_clients ORDER BY created_at, client_id"
        )))
        .all(client_row)
        .await
    }

    async fn update_oauth_client(&self, c: &OAuthClient, audit: &AuditEvent) -> Result<bool> {
        let (redirects, logouts) = (
            json_list(&c.redirect_uris)?,
            json_list(&c.post_logout_redirect_uris)?,
        );
        let (grants, scopes) = (json_list(&c.grant_types)?, json_list(&c.scopes)?);
        let mut tx = self.write().await?;
        let n = tx
            .q(sql!(
                "UPDATE oauth_clients SET secret_hash = $2, name = $3, redirect_uris = $4, \
                 post_logout_redirect_uris = $5, grant_types = $6, scopes = $7, is_public = $8, \
                 first_party = $9, updated_at = $10 WHERE client_id = $1"
            ))
            .binds((
                &c.client_id,
                Arg::Bytes(c.secret_hash.as_ref().map(|h| &h[..])),
                &c.name,
                &redirects,
                &logouts,
                &grants,
                &scopes,
                c.public,
                c.first_party,
                ts(c.updated_at)?,
            ))
            .execute()
            .await?;
        commit_if_changed(tx, n, audit).await
    }

    async fn delete_oauth_client(
        &self,
        client_id: &str,
        audit: &AuditEvent,
    ) -> Result<Option<Vec<AccountId>>> {
        if !storable(client_id) {
            return Ok(None);
        }
        let mut tx = self.write().await?;
        let rows = tx
            .q(sql!(
                "SELECT account_id FROM oauth_consents WHERE client_id = $1 ORDER BY account_id"
            ))
            .bind(client_id)
            .fetch_all()
            .await?;
        let accounts = (rows.iter())
            .map(|r| Ok(AccountId(r.get("account_id")?)))
            .collect::<Result<Vec<_>>>()?;
        tx.q(sql!("DELETE FROM oauth_consents WHERE client_id = $1"))
            .bind(client_id)
            .execute()
            .await?;
        tx.q(sql!("DELETE FROM oauth_codes WHERE client_id = $1"))
            .bind(client_id)
            .execute()
            .await?;
        let n = tx
            .q(sql!("DELETE FROM oauth_clients WHERE client_id = $1"))
            .bind(client_id)
            .execute()
            .await?;
        if n == 0 {
            return Ok(None);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(accounts))
    }

    async fn insert_auth_code(&self, code: &AuthCode, audit: &AuditEvent) -> Result<()> {
        let grant = serde_json::to_string(&code.grant).map_err(Error::internal)?;
        let mut tx = self.write().await?;
        require_account(&mut tx, code.account_id).await?;
        if !client_exists(&mut tx, &code.client_id).await? {
            return Err(Error::NotFound);
        }
        tx.q(sql!(concat!(
            "INSERT INTO oauth_codes (",
            code_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, NULL, NULL)"
        )))
        .binds((
            &code.hash,
            &code.client_id,
            code.account_id.0,
            &grant,
            ts(code.expires_at)?,
        ))
        .execute()
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn use_auth_code(
        &self,
        hash: &[u8; 32],
        session: SessionId,
        now: OffsetDateTime,
    ) -> Result<CodeUse> {
        let mut tx = self.write().await?;
        let Some(row) = tx
            .q(sql!(concat!(
                "SELECT ",
                code_cols!(),
                " FROM oauth_codes WHERE hash = $1 {FOR UPDATE}"
            )))
            .bind(hash)
            .fetch_optional()
            .await?
        else {
            return Ok(CodeUse::Invalid);
        };
        let mut code = code_row(&row)?;
        if code.used_at.is_some() {
            return Ok(CodeUse::Reused(code));
        }
        if code.expires_at <= now {
            return Ok(CodeUse::Invalid);
        }
        tx.q(sql!(
            "UPDATE oauth_codes SET used_at = $2, session_id = $3 WHERE hash = $1"
        ))
        .binds((hash, ts(now)?, session.0))
        .execute()
        .await?;
        tx.commit().await?;
        code.used_at = Some(now);
        code.session_id = Some(session);
        Ok(CodeUse::Fresh(code))
    }

    async fn put_consent(&self, consent: &Consent, audit: &AuditEvent) -> Result<()> {
        let scopes = json_list(&consent.scopes)?;
        let mut tx = self.write().await?;
        require_account(&mut tx, consent.account_id).await?;
        if !client_exists(&mut tx, &consent.client_id).await? {
            return Err(Error::NotFound);
        }
        tx.q(sql!(
            "DELETE FROM oauth_consents WHERE account_id = $1 AND client_id = $2"
        ))
        .binds((consent.account_id.0, &consent.client_id))
        .execute()
        .await?;
        tx.q(sql!(
            "INSERT INTO oauth_consents (account_id, client_id, scopes, granted_at) \
             VALUES ($1, $2, $3, $4)"
        ))
        .binds((
            consent.account_id.0,
            &consent.client_id,
            &scopes,
            ts(consent.granted_at)?,
        ))
        .execute()
        .await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn consent(&self, account: AccountId, client_id: &str) -> Result<Option<Consent>> {
        if !storable(client_id) {
            return Ok(None);
        }
        self.q(sql!(
            "SELECT account_id, client_id, scopes, granted_at FROM oauth_consents \
             WHERE account_id = $1 AND client_id = $2"
        ))
        .binds((account.0, client_id))
        .one(consent_row)
        .await
    }

    async fn consents_of(&self, account: AccountId) -> Result<Vec<Consent>> {
        self.q(sql!(
            "SELECT account_id, client_id, scopes, granted_at FROM oauth_consents \
             WHERE account_id = $1 ORDER BY granted_at, client_id"
        ))
        .bind(account.0)
        .all(consent_row)
        .await
    }

    async fn delete_consent(
        &self,
        account: AccountId,
        client_id: &str,
        audit: &AuditEvent,
    ) -> Result<bool> {
        if !storable(client_id) {
            return Ok(false);
        }
        let mut tx = self.write().await?;
        let n = tx
            .q(sql!(
                "DELETE FROM oauth_consents WHERE account_id = $1 AND client_id = $2"
            ))
            .binds((account.0, client_id))
            .execute()
            .await?;
        commit_if_changed(tx, n, audit).await
    }

    async fn prune_auth_codes(&self, before: OffsetDateTime) -> Result<u64> {
        self.q(sql!("DELETE FROM oauth_codes WHERE expires_at < $1"))
            .bind(ts(before)?)
            .execute()
            .await
    }
}
