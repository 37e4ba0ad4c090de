//! API keys: only a SHA-256 hash and a visible prefix are stored; the key is shown once.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use sentinel_api::KeyScope;
use sentinel_api::identity::ApiKeyResponse;
use sentinel_api::page::{Page, PageParams};

use crate::audit::{self, AuditChange, AuditContext};
use crate::entity::api_key;
use crate::error::Entity;
use crate::{Result, Store, StoreError, convert};

/// A key to insert; the caller generated the key and hashed it.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub scopes: Vec<KeyScope>,
    pub created_by: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub app: Option<String>,
    pub environment: Option<String>,
}

/// A stored key with its hash, for authentication. Never sent over the wire.
#[derive(Clone)]
pub struct ApiKeyRecord {
    pub info: ApiKeyResponse,
    pub key_hash: String,
}

impl std::fmt::Debug for ApiKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyRecord")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

const ENTITY: Entity = Entity::ApiKey;

fn response(m: &api_key::Model) -> Result<ApiKeyResponse> {
    let scopes = m
        .scopes
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| convert::parse("api_keys.scopes", s))
        .collect::<Result<Vec<KeyScope>>>()?;
    Ok(ApiKeyResponse {
        id: m.id,
        name: m.name.clone(),
        prefix: m.prefix.clone(),
        scopes,
        created_by: m.created_by,
        created_at: convert::ts(m.created_at),
        expires_at: m.expires_at.map(convert::ts),
        revoked_at: m.revoked_at.map(convert::ts),
        last_used_at: m.last_used_at.map(convert::ts),
        app: m.app.clone(),
        environment: m.environment.clone(),
    })
}

impl Store {
    pub async fn create_api_key(
        &self,
        ctx: &AuditContext,
        new: NewApiKey,
    ) -> Result<ApiKeyResponse> {
        let scopes: Vec<&str> = new.scopes.iter().map(|s| s.as_str()).collect();
        let txn = audit::begin(&self.db).await?;
        let inserted = api_key::ActiveModel {
            name: Set(new.name),
            prefix: Set(new.prefix),
            key_hash: Set(new.key_hash),
            scopes: Set(scopes.join(",")),
            created_by: Set(new.created_by),
            created_at: Set(sentinel_api::Timestamp::now().0),
            expires_at: Set(new.expires_at),
            revoked_at: Set(None),
            last_used_at: Set(None),
            app: Set(new.app),
            environment: Set(new.environment),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(StoreError::classify)?;
        let key = response(&inserted)?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("key.create", "api_key")
                .target(key.id)
                .after(&key),
        )
        .await?;
        txn.commit().await?;
        Ok(key)
    }

    /// Newest first.
    pub async fn list_api_keys(&self, page: PageParams) -> Result<Page<ApiKeyResponse>> {
        let select = api_key::Entity::find().order_by_desc(api_key::Column::Id);
        let (rows, total) = convert::paginate(&self.db, select, page.skip, page.limit).await?;
        Ok(Page {
            items: rows.iter().map(response).collect::<Result<_>>()?,
            total,
        })
    }

    pub async fn get_api_key(&self, id: i64) -> Result<ApiKeyResponse> {
        let row = api_key::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound { entity: ENTITY })?;
        response(&row)
    }

    /// Revokes a key. Revoking a revoked key changes nothing and writes no entry.
    pub async fn revoke_api_key(&self, ctx: &AuditContext, id: i64) -> Result<ApiKeyResponse> {
        let txn = audit::begin(&self.db).await?;
        let row = api_key::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound { entity: ENTITY })?;
        if row.revoked_at.is_some() {
            return response(&row);
        }
        let before = response(&row)?;
        let mut model: api_key::ActiveModel = row.into();
        model.revoked_at = Set(Some(sentinel_api::Timestamp::now().0));
        let after = response(&model.update(&txn).await?)?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("key.revoke", "api_key")
                .target(id)
                .before(&before)
                .after(&after),
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// The key with this visible prefix, with its hash, whatever its state.
    pub async fn find_api_key(&self, prefix: &str) -> Result<Option<ApiKeyRecord>> {
        api_key::Entity::find()
            .filter(api_key::Column::Prefix.eq(prefix))
            .one(&self.db)
            .await?
            .map(|m| {
                Ok(ApiKeyRecord {
                    info: response(&m)?,
                    key_hash: m.key_hash,
                })
            })
            .transpose()
    }

    /// Bookkeeping, not a change anyone makes: not audited.
    pub async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        api_key::Entity::update_many()
            .col_expr(
                api_key::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(at),
            )
            .filter(api_key::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
