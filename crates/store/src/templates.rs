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
    /// OWASP Top 10 for LLM Applications ids with their edition (`LLM01:2025`).
    pub owasp_llm: Vec<String>,
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
    /// OWASP Top 10 for LLM Applications ids with their edition (`LLM01:2025`).
    pub owasp_llm: Vec<String>,
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

    /// Inserts each template whose name the store does not hold yet, and fills in the OWASP ids
    /// of a stored template of the same name that has none; never changes a stored definition.
    /// Idempotent: run at every boot. Returns the number of templates inserted.
    pub async fn ensure_templates(&self, templates: Vec<NewTemplate>) -> Result<u64> {
        let mut inserted = 0;
        for new in templates {
            let existing = policy_template::Entity::find()
                .filter(policy_template::Column::Name.eq(new.name.as_str()))
                .one(&self.db)
                .await?;
            match existing {
                // Another node booting at the same time may win the race for the name.
                None => match self.create_template(new).await {
                    Ok(_) => inserted += 1,
                    Err(StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                },
                Some(row) if row.owasp_llm.is_none() && !new.owasp_llm.is_empty() => {
                    let mut model: policy_template::ActiveModel = row.into();
                    model.owasp_llm = Set(owasp_column(&new.owasp_llm));
                    model.update(&self.db).await?;
                }
                Some(_) => {}
            }
        }
        Ok(inserted)
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
            owasp_llm: Set(owasp_column(&new.owasp_llm)),
            is_active: Set(true),
            created_at: Set(Timestamp::now().0),
            ..Default::default()
        };
        convert::template(model.insert(&self.db).await.map_err(StoreError::classify)?)
    }
}

fn owasp_column(ids: &[String]) -> Option<String> {
    (!ids.is_empty()).then(|| ids.join(","))
}
