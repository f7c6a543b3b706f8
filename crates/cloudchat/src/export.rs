//! `cloudchat export-to-postgres --auth-db URL --chat-db URL`: moves a quick start's data up
//! to the PostgreSQL stack (deploy/README.md, "Moving up to PostgreSQL").
//!
//! Each SQLite database is brought to the current schema, then copied table by table into a
//! fresh PostgreSQL database that the service's own migrations create: the same rows with
//! the same ids, seqs and revisions, parents before children, in one PostgreSQL transaction
//! (all or nothing), and every id sequence set past the highest id copied. The tables and
//! their columns are read from PostgreSQL's catalog, so tables that later migrations add are
//! copied too without a change here.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail};
use sqlx::{AnyConnection, Row};
use store_kit::{Database, Migrations};

/// Rows per `INSERT`: PostgreSQL binds at most 65,535 values in one statement.
const MAX_VALUES: usize = 30_000;

/// `export-to-postgres --auth-db URL --chat-db URL`, from the words after the command.
pub fn parse_args(args: &[String]) -> anyhow::Result<(String, String)> {
    let usage = || {
        anyhow::anyhow!(
            "usage: cloudchat export-to-postgres --auth-db postgres://… --chat-db postgres://…"
        )
    };
    let (mut auth, mut chat) = (None, None);
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let slot = match word.as_str() {
            "--auth-db" => &mut auth,
            "--chat-db" => &mut chat,
            _ => return Err(usage()),
        };
        *slot = Some(words.next().ok_or_else(usage)?.clone());
    }
    match (auth, chat) {
        (Some(auth), Some(chat)) if auth != chat => Ok((auth, chat)),
        (Some(_), Some(_)) => bail!("--auth-db and --chat-db must be two databases"),
        _ => Err(usage()),
    }
}

/// What one database's copy did: rows per table, in the order copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub database: &'static str,
    pub tables: Vec<(String, u64)>,
}

/// Copies the quick start's two databases in `data_dir` into the PostgreSQL databases at
/// `auth_url` and `chat_url`, which must be fresh (never migrated). The quick start must be
/// stopped (the caller holds its data directory's lock).
pub async fn export_to_postgres(
    data_dir: &Path,
    auth_url: &str,
    chat_url: &str,
) -> anyhow::Result<Vec<Copied>> {
    let mut done = Vec::new();
    for (database, file, target, migrations) in [
        (
            "auth",
            crate::AUTH_DB,
            auth_url,
            &auth_service::startup::MIGRATIONS,
        ),
        (
            "chat",
            crate::CHAT_DB,
            chat_url,
            &chat_service::startup::MIGRATIONS,
        ),
    ] {
        let source = data_dir.join(file);
        if !source.is_file() {
            bail!(
                "{} does not exist: is DATA_DIR the quick start's?",
                source.display()
            );
        }
        let tables = copy_database(&crate::sqlite_url(data_dir, file), target, migrations)
            .await
            .with_context(|| format!("exporting the {database} database"))?;
        tracing::info!(database, ?tables, "exported");
        done.push(Copied { database, tables });
    }
    Ok(done)
}

async fn copy_database(
    source_url: &str,
    target_url: &str,
    migrations: &Migrations,
) -> anyhow::Result<Vec<(String, u64)>> {
    if !target_url.starts_with("postgres") {
        bail!("the target must be a postgres:// URL, got {target_url:?}");
    }
    let target = Database::open(target_url, migrations, false).await?;
    let migrated: Option<i64> = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
    )
    .fetch_optional(&target.pool)
    .await?;
    if migrated.unwrap_or(0) > 0 {
        bail!(
            "{} is not a fresh database (it has been migrated already): create an empty one",
            redact(target_url)
        );
    }
    target.migrate(migrations).await?;
    // The source at the same schema version as the target (what starting it would do).
    let source = Database::open(source_url, migrations, true).await?;

    let mut src = source.pool.acquire().await?;
    // One read transaction: every table from the same snapshot.
    sqlx::query("BEGIN").execute(&mut *src).await?;
    let mut tx = target.pool.begin().await?;
    let order = tables_in_dependency_order(&mut tx).await?;
    // Rows the migrations seeded (the `general` room) come from the source like the rest.
    for table in order.iter().rev() {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {}",
            quoted(table)
        )))
        .execute(&mut *tx)
        .await?;
    }
    let mut copied = Vec::new();
    for table in &order {
        let n = copy_table(&mut src, &mut tx, table).await?;
        copied.push((table.clone(), n));
    }
    reset_sequences(&mut tx).await?;
    tx.commit().await?;
    sqlx::query("COMMIT").execute(&mut *src).await?;
    Ok(copied)
}

/// A catalog name as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// The schema's tables (but the migrations' own), each after the tables it references.
async fn tables_in_dependency_order(conn: &mut AnyConnection) -> anyhow::Result<Vec<String>> {
    let mut tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
           AND table_name <> '_sqlx_migrations'
         ORDER BY table_name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
         FROM pg_constraint c
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut parents: HashMap<String, HashSet<String>> = HashMap::new();
    for (child, parent) in references {
        if child != parent {
            parents.entry(child).or_default().insert(parent);
        }
    }
    let mut order = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let placed: HashSet<&String> = order.iter().collect();
        let Some(next) = tables.iter().position(|t| {
            parents
                .get(t)
                .is_none_or(|ps| ps.iter().all(|p| placed.contains(p)))
        }) else {
            bail!("the foreign keys between {tables:?} form a cycle");
        };
        order.push(tables.remove(next));
    }
    Ok(order)
}

/// The kinds of column the schemas use, and how a value of each is carried across.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Integer,
    Text,
    Boolean,
    Float,
    Bytes,
}

fn kind(data_type: &str) -> Option<Kind> {
    Some(match data_type {
        "bigint" | "integer" | "smallint" => Kind::Integer,
        "text" | "character varying" | "character" => Kind::Text,
        "boolean" => Kind::Boolean,
        "double precision" | "real" | "numeric" => Kind::Float,
        "bytea" => Kind::Bytes,
        _ => return None,
    })
}

/// One value read from SQLite, to bind in PostgreSQL.
enum Value {
    Integer(Option<i64>),
    Text(Option<String>),
    Boolean(Option<bool>),
    Float(Option<f64>),
    Bytes(Option<Vec<u8>>),
}

async fn copy_table(
    src: &mut AnyConnection,
    dst: &mut AnyConnection,
    table: &str,
) -> anyhow::Result<u64> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        // Generated columns (the search `tsvector`) are computed by PostgreSQL on insert.
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
         ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *dst)
    .await?;
    let kinds: Vec<Kind> = columns
        .iter()
        .map(|(name, data_type)| {
            kind(data_type).with_context(|| format!("{table}.{name}: no copy for type {data_type}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let names: Vec<String> = columns.iter().map(|(name, _)| quoted(name)).collect();
    let list = names.join(", ");
    // Names come from PostgreSQL's catalog, quoted; every value is bound.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {list} FROM {}",
        quoted(table)
    )))
    .fetch_all(&mut *src)
    .await
    .with_context(|| format!("reading {table} from SQLite"))?;
    let mut values: Vec<Vec<Value>> = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut record = Vec::with_capacity(kinds.len());
        for (i, kind) in kinds.iter().enumerate() {
            let value = match kind {
                Kind::Integer => Value::Integer(row.try_get(i)?),
                Kind::Text => Value::Text(row.try_get(i)?),
                // SQLite keeps booleans and floats as numbers.
                Kind::Boolean => Value::Boolean(row.try_get::<Option<i64>, _>(i)?.map(|v| v != 0)),
                Kind::Float => Value::Float(row.try_get(i)?),
                Kind::Bytes => Value::Bytes(row.try_get(i)?),
            };
            record.push(value);
        }
        values.push(record);
    }
    let per_statement = (MAX_VALUES / kinds.len().max(1)).max(1);
    for chunk in values.chunks(per_statement) {
        let sql = format!(
            "INSERT INTO {} ({list}) VALUES {}",
            quoted(table),
            store_kit::placeholder_rows(1, chunk.len(), kinds.len())
        );
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
        for record in chunk {
            for value in record {
                insert = match value {
                    Value::Integer(v) => insert.bind(*v),
                    Value::Text(v) => insert.bind(v.clone()),
                    Value::Boolean(v) => insert.bind(*v),
                    Value::Float(v) => insert.bind(*v),
                    Value::Bytes(v) => insert.bind(v.clone()),
                };
            }
        }
        insert
            .execute(&mut *dst)
            .await
            .with_context(|| format!("writing {table} to PostgreSQL"))?;
    }
    Ok(values.len() as u64)
}

/// Every column fed by a sequence (`BIGSERIAL`) continues after the highest value copied.
async fn reset_sequences(conn: &mut AnyConnection) -> anyhow::Result<()> {
    let serial: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (table, column) in serial {
        // Names from the catalog, quoted; `setval(..., false)` makes the next value `max + 1`.
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({c}), 0) + 1, false)::bigint FROM {t}",
            c = quoted(&column),
            t = quoted(&table)
        );
        let _: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&table)
            .bind(&column)
            .fetch_one(&mut *conn)
            .await
            .with_context(|| format!("resetting the sequence of {table}.{column}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            super::redact("postgres://chat:s3cret@db:5432/chat"),
            "postgres://chat:***@db:5432/chat"
        );
        assert_eq!(super::redact("postgres://db/chat"), "postgres://db/chat");
    }

    #[test]
    fn arguments() {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            super::parse_args(&words(&[
                "--chat-db",
                "postgres://c",
                "--auth-db",
                "postgres://a"
            ]))
            .unwrap(),
            ("postgres://a".to_owned(), "postgres://c".to_owned())
        );
        assert!(super::parse_args(&words(&["--auth-db", "postgres://a"])).is_err());
        assert!(super::parse_args(&words(&["--auth-db", "x", "--chat-db", "x"])).is_err());
        assert!(super::parse_args(&words(&["--auth-db"])).is_err());
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(super::quoted("rooms"), "\"rooms\"");
        assert_eq!(super::quoted("a\"b"), "\"a\"\"b\"");
    }
}
