use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use sentinel_api::identity::UserResponse;
use sentinel_api::page::{Page, PageParams};
use sentinel_api::{Timestamp, UserRole};

use crate::audit::{self, AuditChange, AuditContext};
use crate::entity::user;
use crate::error::Entity;
use crate::{Result, Store, StoreError, convert, tokens};

/// A user to insert; the password is already hashed by the caller.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub hashed_password: String,
    pub role: UserRole,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A partial update of a user: `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct UserChange {
    pub email: Option<String>,
    /// `Some(None)` clears the name.
    pub full_name: Option<Option<String>>,
    pub role: Option<UserRole>,
    pub is_active: Option<bool>,
    /// A new argon2id hash. Setting it signs the user out everywhere.
    pub hashed_password: Option<String>,
}

impl std::fmt::Debug for UserChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserChange")
            .field("role", &self.role)
            .field("is_active", &self.is_active)
            .field("new_password", &self.hashed_password.is_some())
            .finish_non_exhaustive()
    }
}

/// A stored user, including the password hash (never sent over the wire).
#[derive(Clone)]
pub struct UserRecord {
    pub user: UserResponse,
    pub hashed_password: String,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

const ENTITY: Entity = Entity::User;

fn response(m: &user::Model) -> Result<UserResponse> {
    Ok(UserResponse {
        id: m.id,
        role: convert::parse("users.role", &m.role)?,
        username: m.username.clone(),
        email: m.email.clone(),
        full_name: m.full_name.clone(),
        is_active: m.is_active,
        created_at: convert::ts(m.created_at),
        updated_at: m.updated_at.map(convert::ts),
    })
}

fn record(m: user::Model) -> Result<UserRecord> {
    Ok(UserRecord {
        user: response(&m)?,
        hashed_password: m.hashed_password,
    })
}

async fn find<C: ConnectionTrait>(db: &C, id: i64) -> Result<user::Model> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound { entity: ENTITY })
}

/// Refuses a change that would leave no active admin.
async fn keep_an_admin<C: ConnectionTrait>(db: &C, losing: &user::Model) -> Result<()> {
    if losing.role != UserRole::Admin.as_str() || !losing.is_active {
        return Ok(());
    }
    let others = user::Entity::find()
        .filter(user::Column::Role.eq(UserRole::Admin.as_str()))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::Id.ne(losing.id))
        .count(db)
        .await?;
    if others == 0 {
        return Err(StoreError::LastAdmin);
    }
    Ok(())
}

impl Store {
    pub async fn create_user(&self, ctx: &AuditContext, new: NewUser) -> Result<UserResponse> {
        let txn = audit::begin(&self.db).await?;
        let inserted = user::ActiveModel {
            username: Set(new.username),
            email: Set(new.email),
            full_name: Set(new.full_name),
            hashed_password: Set(new.hashed_password),
            role: Set(new.role.as_str().to_owned()),
            is_active: Set(true),
            created_at: Set(Timestamp::now().0),
            updated_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(StoreError::classify)?;
        let user = response(&inserted)?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("user.create", "user")
                .target(user.id)
                .after(&user),
        )
        .await?;
        txn.commit().await?;
        Ok(user)
    }

    /// Applies a change. Demoting, disabling or deleting the last active admin is refused; a new
    /// password or a disabled account revokes the user's refresh tokens in the same transaction.
    pub async fn update_user(
        &self,
        ctx: &AuditContext,
        id: i64,
        change: UserChange,
    ) -> Result<UserResponse> {
        let txn = audit::begin(&self.db).await?;
        let current = find(&txn, id).await?;
        let demoted = change.role.is_some_and(|r| r != UserRole::Admin);
        let disabled = change.is_active == Some(false);
        if demoted || disabled {
            keep_an_admin(&txn, &current).await?;
        }
        let before = response(&current)?;
        let sign_out = disabled || change.hashed_password.is_some();
        let mut model: user::ActiveModel = current.into();
        if let Some(v) = change.email {
            model.email = Set(v);
        }
        if let Some(v) = change.full_name {
            model.full_name = Set(v);
        }
        if let Some(v) = change.role {
            model.role = Set(v.as_str().to_owned());
        }
        if let Some(v) = change.is_active {
            model.is_active = Set(v);
        }
        let password_changed = change.hashed_password.is_some();
        if let Some(v) = change.hashed_password {
            model.hashed_password = Set(v);
        }
        model.updated_at = Set(Some(Timestamp::now().0));
        let after = response(&model.update(&txn).await.map_err(StoreError::classify)?)?;
        if sign_out {
            tokens::revoke_user(&txn, id).await?;
        }
        let mut after_json = serde_json::to_value(&after).unwrap_or_default();
        if password_changed {
            // The entry says that the password changed, never what to.
            after_json["password_changed"] = true.into();
        }
        audit::append(
            &txn,
            ctx,
            AuditChange::new("user.update", "user")
                .target(id)
                .before(&before)
                .after(after_json),
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    pub async fn delete_user(&self, ctx: &AuditContext, id: i64) -> Result<UserResponse> {
        let txn = audit::begin(&self.db).await?;
        let current = find(&txn, id).await?;
        keep_an_admin(&txn, &current).await?;
        let before = response(&current)?;
        user::Entity::delete_by_id(id).exec(&txn).await?;
        audit::append(
            &txn,
            ctx,
            AuditChange::new("user.delete", "user")
                .target(id)
                .before(&before),
        )
        .await?;
        txn.commit().await?;
        Ok(before)
    }

    pub async fn get_user(&self, id: i64) -> Result<UserRecord> {
        record(find(&self.db, id).await?)
    }

    pub async fn list_users(&self, page: PageParams) -> Result<Page<UserResponse>> {
        let select = user::Entity::find().order_by_asc(user::Column::Id);
        let (rows, total) = convert::paginate(&self.db, select, page.skip, page.limit).await?;
        Ok(Page {
            items: rows.iter().map(response).collect::<Result<_>>()?,
            total,
        })
    }

    pub async fn find_user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(&self.db)
            .await?
            .map(record)
            .transpose()
    }

    pub async fn count_users(&self) -> Result<u64> {
        Ok(user::Entity::find().count(&self.db).await?)
    }
}
