use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use sentinel_api::{Timestamp, UserRole};

use crate::entity::user;
use crate::{Result, Store, StoreError, convert};

/// A user to insert; the password is already hashed by the caller.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub hashed_password: String,
    pub role: UserRole,
}

/// A stored user, including the password hash (never sent over the wire).
#[derive(Clone)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub hashed_password: String,
    pub role: UserRole,
    pub is_active: bool,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

fn record(m: user::Model) -> Result<UserRecord> {
    Ok(UserRecord {
        id: m.id,
        role: convert::parse("users.role", &m.role)?,
        username: m.username,
        email: m.email,
        full_name: m.full_name,
        hashed_password: m.hashed_password,
        is_active: m.is_active,
        created_at: convert::ts(m.created_at),
    })
}

impl Store {
    pub async fn create_user(&self, new: NewUser) -> Result<UserRecord> {
        let model = user::ActiveModel {
            username: Set(new.username),
            email: Set(new.email),
            full_name: Set(new.full_name),
            hashed_password: Set(new.hashed_password),
            role: Set(new.role.as_str().to_owned()),
            is_active: Set(true),
            created_at: Set(sentinel_api::Timestamp::now().0),
            updated_at: Set(None),
            ..Default::default()
        };
        record(model.insert(&self.db).await.map_err(StoreError::classify)?)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>> {
        user::Entity::find()
            .order_by_asc(user::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(record)
            .collect()
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
