use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use sentinel_api::page::{Page, PageParams};
use sentinel_api::{InterventionType, PerformanceMode, PolicyCategory, Severity, Timestamp};

use crate::entity::policy_template;
use crate::error::Entity;
use crate::{Result, Store, StoreError, convert};

/// A stored policy template.
#[derive(Debug, Clone)]
pub struct TemplateRecord {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub category: PolicyCategory,
    pub template_code: String,
    pub default_severity: Severity,
    pub default_performance_mode: PerformanceMode,
    pub default_intervention_type: InterventionType,
    pub tags: Option<String>,
    pub is_active: bool,
    pub created_at: Timestamp,
}

/// A template to insert.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub name: String,
    pub description: Option<String>,
    pub category: PolicyCategory,
    pub template_code: String,
    pub default_severity: Severity,
    pub default_performance_mode: PerformanceMode,
    pub default_intervention_type: InterventionType,
    pub tags: Option<String>,
}

impl Store {
    /// Active templates in id order.
    pub async fn list_templates(&self, page: PageParams) -> Result<Page<TemplateRecord>> {
        let select = policy_template::Entity::find()
            .filter(policy_template::Column::IsActive.eq(true))
            .order_by_asc(policy_template::Column::Id);
        let (rows, total) = convert::paginate(&self.db, select, page.skip, page.limit).await?;
        let items = rows
            .into_iter()
            .map(convert::template)
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// An active template.
    pub async fn get_template(&self, id: i64) -> Result<TemplateRecord> {
        let row = policy_template::Entity::find_by_id(id)
            .filter(policy_template::Column::IsActive.eq(true))
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound {
                entity: Entity::Template,
            })?;
        convert::template(row)
    }

    pub async fn create_template(&self, new: NewTemplate) -> Result<TemplateRecord> {
        let model = policy_template::ActiveModel {
            name: Set(new.name),
            description: Set(new.description),
            category: Set(new.category.as_str().to_owned()),
            template_code: Set(new.template_code),
            default_severity: Set(new.default_severity.as_str().to_owned()),
            default_performance_mode: Set(new.default_performance_mode.as_str().to_owned()),
            default_intervention_type: Set(new.default_intervention_type.as_str().to_owned()),
            tags: Set(new.tags),
            is_active: Set(true),
            created_at: Set(Timestamp::now().0),
            ..Default::default()
        };
        convert::template(model.insert(&self.db).await.map_err(StoreError::classify)?)
    }
}
