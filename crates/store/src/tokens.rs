//! Rotating refresh tokens. Each login starts a family; each refresh marks the presented token
//! used and issues the next one in the family. Presenting a used or revoked token again revokes the
//! whole family: whoever holds the stolen copy and the rightful owner both have to log in again.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::audit::{self, AuditChange, AuditContext};
use crate::entity::refresh_token;
use crate::{Result, Store, StoreError};

/// A refresh token to store: only its hash.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub user_id: i64,
    pub token_hash: String,
    pub family_id: String,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was valid; the new one (same family) is stored.
    Rotated { user_id: i64 },
    /// Unknown or expired.
    Invalid,
    /// A used or revoked token came back: its family is now revoked.
    Reused { user_id: i64 },
}

async fn insert<C: ConnectionTrait>(db: &C, new: NewRefreshToken) -> Result<()> {
    refresh_token::ActiveModel {
        user_id: Set(new.user_id),
        token_hash: Set(new.token_hash),
        family_id: Set(new.family_id),
        created_at: Set(sentinel_api::Timestamp::now().0),
        expires_at: Set(new.expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(StoreError::classify)?;
    Ok(())
}

async fn revoke_family<C: ConnectionTrait>(db: &C, family_id: &str) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(sentinel_api::Timestamp::now().0),
        )
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

impl Store {
    pub async fn create_refresh_token(&self, new: NewRefreshToken) -> Result<()> {
        insert(&self.db, new).await
    }

    /// Exchanges the token hashed `presented` for `next` (whose `family_id` is replaced by the
    /// presented token's family). A reuse is audited in the same transaction as the revocation.
    pub async fn rotate_refresh_token(
        &self,
        ctx: &AuditContext,
        presented: &str,
        next: NewRefreshToken,
    ) -> Result<RefreshOutcome> {
        let txn = audit::begin(&self.db).await?;
        let Some(row) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(presented))
            .one(&txn)
            .await?
        else {
            return Ok(RefreshOutcome::Invalid);
        };
        let now = sentinel_api::Timestamp::now().0;
        if row.used_at.is_some() || row.revoked_at.is_some() {
            revoke_family(&txn, &row.family_id).await?;
            audit::append(
                &txn,
                ctx,
                AuditChange::new("auth.refresh_reuse", "user").target(row.user_id),
            )
            .await?;
            txn.commit().await?;
            return Ok(RefreshOutcome::Reused {
                user_id: row.user_id,
            });
        }
        if row.expires_at <= now {
            return Ok(RefreshOutcome::Invalid);
        }
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(row.id))
            .exec(&txn)
            .await?;
        insert(
            &txn,
            NewRefreshToken {
                family_id: row.family_id.clone(),
                user_id: row.user_id,
                ..next
            },
        )
        .await?;
        txn.commit().await?;
        Ok(RefreshOutcome::Rotated {
            user_id: row.user_id,
        })
    }

    /// Logout: revokes the presented token's family. Returns its user, if the token was known.
    pub async fn revoke_refresh_token(
        &self,
        ctx: &AuditContext,
        presented: &str,
    ) -> Result<Option<i64>> {
        let txn = audit::begin(&self.db).await?;
        let Some(row) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(presented))
            .one(&txn)
            .await?
        else {
            return Ok(None);
        };
        revoke_family(&txn, &row.family_id).await?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("auth.logout", "user").target(row.user_id),
        )
        .await?;
        txn.commit().await?;
        Ok(Some(row.user_id))
    }
}

/// Revokes every live refresh token of a user (disabled, deleted or given a new password).
pub(crate) async fn revoke_user<C: ConnectionTrait>(db: &C, user_id: i64) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(sentinel_api::Timestamp::now().0),
        )
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
