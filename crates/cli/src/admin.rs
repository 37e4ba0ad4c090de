//! `sentinel user …` and `sentinel audit …`: identity and audit chores from the command line.
//! Every change is audited with the actor `cli:<login name>`.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use sentinel_api::Patch;
use sentinel_api::identity::{UserCreate, UserUpdate};
use sentinel_api::page::PageParams;
use sentinel_api::{UserId, UserRole};
use sentinel_server::service::ServiceError;
use sentinel_server::service::users;
use sentinel_store::Store;

use crate::cli_actor;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password is read from the first line of standard input.
    Create {
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role, default_value = "viewer")]
        role: UserRole,
        #[arg(long)]
        full_name: Option<String>,
    },
    /// List users.
    List,
    /// Set a user's password, read from the first line of standard input. Signs them out.
    SetPassword { username: String },
    /// Disable a user and sign them out. The last active admin cannot be disabled.
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute the hash chain. Exit status 0 when intact, 1 when broken (naming the first bad
    /// entry).
    Verify,
    /// Write every entry, oldest first.
    Export {
        #[arg(long, default_value = "jsonl", value_parser = ["jsonl"])]
        format: String,
        /// Write to FILE instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

fn parse_role(s: &str) -> Result<UserRole, String> {
    s.parse()
        .map_err(|e: sentinel_api::ParseEnumError| e.to_string())
}

fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        anyhow::bail!(
            "no password on standard input (pipe it in: `printf '%s\\n' \"$PASSWORD\" | sentinel user …`)"
        );
    }
    Ok(password)
}

/// A use case's failure, as the sentence it already is.
fn explain(e: ServiceError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn user_id(store: &Store, username: &str) -> Result<UserId> {
    Ok(UserId(
        store
            .find_user_by_username(username)
            .await?
            .with_context(|| format!("no user named {username}"))?
            .user
            .id,
    ))
}

pub async fn user(store: &Store, command: UserCommand) -> Result<()> {
    let ctx = cli_actor();
    match command {
        UserCommand::Create {
            username,
            email,
            role,
            full_name,
        } => {
            let password = read_password()?;
            let user = users::create(
                store,
                &ctx,
                UserCreate {
                    username,
                    email,
                    password,
                    role,
                    full_name,
                },
            )
            .await
            .map_err(explain)?;
            println!(
                "created user {} (id {}, {})",
                user.username, user.id, user.role
            );
        }
        UserCommand::List => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:>5}  {:<24} {:<32} {:<8} {:<6} created",
                "id", "username", "email", "role", "active"
            )?;
            let mut skip = 0;
            loop {
                let page = store.list_users(PageParams { skip, limit: 1000 }).await?;
                for u in &page.items {
                    writeln!(
                        out,
                        "{:>5}  {:<24} {:<32} {:<8} {:<6} {}",
                        u.id,
                        u.username,
                        u.email,
                        u.role.as_str(),
                        if u.is_active { "yes" } else { "no" },
                        u.created_at
                    )?;
                }
                skip += page.items.len() as u64;
                if page.items.is_empty() || skip >= page.total {
                    break;
                }
            }
        }
        UserCommand::SetPassword { username } => {
            let id = user_id(store, &username).await?;
            let password = read_password()?;
            let body = UserUpdate {
                password: Patch::Value(password),
                ..UserUpdate::default()
            };
            users::update(store, &ctx, id, body)
                .await
                .map_err(explain)?;
            println!("password of {username} changed; their sessions are revoked");
        }
        UserCommand::Disable { username } => set_active(store, &ctx, &username, false).await?,
        UserCommand::Enable { username } => set_active(store, &ctx, &username, true).await?,
    }
    Ok(())
}

async fn set_active(
    store: &Store,
    ctx: &sentinel_store::AuditContext,
    username: &str,
    active: bool,
) -> Result<()> {
    let id = user_id(store, username).await?;
    let body = UserUpdate {
        is_active: Patch::Value(active),
        ..UserUpdate::default()
    };
    users::update(store, ctx, id, body).await.map_err(explain)?;
    println!(
        "{username} is {}",
        if active { "enabled" } else { "disabled" }
    );
    Ok(())
}

/// Returns the exit status: 0 intact (or exported), 1 broken.
pub async fn audit(store: &Store, command: AuditCommand) -> Result<u8> {
    match command {
        AuditCommand::Verify => {
            let report = store.verify_audit().await?;
            if report.intact {
                println!(
                    "audit trail intact: {} entries, head {} ({})",
                    report.entries, report.head_id, report.head_hash
                );
                Ok(0)
            } else {
                println!(
                    "audit trail BROKEN at entry {}: {}",
                    report.first_bad_id.unwrap_or_default(),
                    report.reason.unwrap_or_default()
                );
                Ok(1)
            }
        }
        AuditCommand::Export { format: _, output } => {
            let mut out: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut failure = None;
            store
                .export_audit(|entry| {
                    if failure.is_none()
                        && let Err(e) = serde_json::to_writer(&mut out, &entry)
                            .map_err(std::io::Error::from)
                            .and_then(|()| out.write_all(b"\n"))
                    {
                        failure = Some(e);
                    }
                    Ok(())
                })
                .await?;
            if let Some(e) = failure {
                return Err(e).context("writing the export");
            }
            out.flush().context("writing the export")?;
            Ok(0)
        }
    }
}
