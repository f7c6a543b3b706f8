//! The store-kit helpers against real engines: a SQLite file in a fresh temporary directory
//! and a session of the PostgreSQL server named by `TEST_POSTGRES_URL` (temporary tables only,
//! so no database is created). PostgreSQL tests fail — never skip — when the server cannot be
//! reached.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use store_kit::{Database, Engine, PoolSettings, ResultExt, UuidText, placeholder_rows};
use uuid::Uuid;

/// A directory removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One connection, so that the temporary tables stay put.
async fn connect(engine: Engine) -> (Database, TempDir) {
    let dir = TempDir(std::env::temp_dir().join(format!("storekit-{}", Uuid::new_v4().simple())));
    let url = match engine {
        Engine::Sqlite => format!("sqlite://{}/test.db", dir.0.display()),
        Engine::Postgres => std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
    };
    let settings = PoolSettings {
        max_connections: 1,
        ..PoolSettings::default()
    };
    let db = Database::connect(&url, &settings)
        .await
        .unwrap_or_else(|e| panic!("{} is required for these tests: {e}", engine.as_str()));
    for sql in [
        "CREATE TEMPORARY TABLE parents (id TEXT PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE UNIQUE INDEX parents_name_key ON parents (name)",
        "CREATE TEMPORARY TABLE children (id BIGINT PRIMARY KEY, parent_id TEXT REFERENCES parents (id), other_id TEXT)",
    ] {
        sqlx::query(sql).execute(&db.pool).await.expect(sql);
    }
    (db, dir)
}

async fn uuid_columns_round_trip(engine: Engine) {
    let (db, _dir) = connect(engine).await;
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO parents (id, name) VALUES ($1, 'a')")
        .bind(UuidText(id))
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO children (id, parent_id, other_id) VALUES (1, $1, $2)")
        .bind(UuidText(id))
        .bind(None::<UuidText>)
        .execute(&db.pool)
        .await
        .unwrap();
    let (parent, other): (UuidText, Option<UuidText>) =
        sqlx::query_as("SELECT parent_id, other_id FROM children WHERE id = 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(Uuid::from(parent), id);
    assert_eq!(other, None);
    // Stored as the hyphenated text other programs (and the migrations' comments) expect.
    let text: String = sqlx::query_scalar("SELECT id FROM parents")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(text, id.hyphenated().to_string());

    sqlx::query("INSERT INTO parents (id, name) VALUES ('not-a-uuid', 'b')")
        .execute(&db.pool)
        .await
        .unwrap();
    let err = sqlx::query_scalar::<_, UuidText>("SELECT id FROM parents WHERE name = 'b'")
        .fetch_one(&db.pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not-a-uuid"), "{err}");
}

#[derive(Debug, PartialEq)]
enum Failure {
    NameTaken(bool),
    NoParent,
}

async fn violations_become_caller_errors(engine: Engine) {
    let (db, _dir) = connect(engine).await;
    let insert = |id: &str, name: &str| {
        sqlx::query("INSERT INTO parents (id, name) VALUES ($1, $2)")
            .bind(id.to_owned())
            .bind(name.to_owned())
            .execute(&db.pool)
    };
    assert!(matches!(
        insert("p1", "x")
            .await
            .on_unique(|_| Failure::NameTaken(false)),
        Ok(Ok(_))
    ));
    // The constraint text names the column (SQLite) or the index (PostgreSQL).
    let taken = insert("p2", "x")
        .await
        .on_unique(|c| Failure::NameTaken(c.contains("name")));
    assert!(matches!(taken, Err(Failure::NameTaken(true))));
    assert!(matches!(
        insert("p3", "x")
            .await
            .on_unique_of("name", || Failure::NameTaken(true)),
        Err(Failure::NameTaken(true))
    ));
    // Another constraint is not this caller's: the error stays, for context.
    assert!(matches!(
        insert("p4", "x")
            .await
            .on_unique_of("email", || Failure::NameTaken(true)),
        Ok(Err(sqlx::Error::Database(_)))
    ));
    let orphan = sqlx::query("INSERT INTO children (id, parent_id) VALUES (2, 'nobody')")
        .execute(&db.pool)
        .await;
    assert!(matches!(
        orphan.on_unique(|_| Failure::NameTaken(false)),
        Ok(Err(sqlx::Error::Database(_)))
    ));
    let orphan = sqlx::query("INSERT INTO children (id, parent_id) VALUES (2, 'nobody')")
        .execute(&db.pool)
        .await;
    assert_eq!(
        orphan.on_foreign_key(|| Failure::NoParent).err(),
        Some(Failure::NoParent)
    );
}

async fn placeholder_rows_bind_in_order(engine: Engine) {
    let (db, _dir) = connect(engine).await;
    let rows = [("r1", "one"), ("r2", "two"), ("r3", "three")];
    let sql = format!(
        "INSERT INTO parents (id, name) VALUES {} RETURNING id, name",
        placeholder_rows(1, rows.len(), 2)
    );
    let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
    for (id, name) in rows {
        query = query.bind(id).bind(name);
    }
    let mut stored = query.fetch_all(&db.pool).await.unwrap();
    stored.sort();
    let expected: Vec<(String, String)> = rows
        .iter()
        .map(|(id, name)| ((*id).to_owned(), (*name).to_owned()))
        .collect();
    assert_eq!(stored, expected);
}

macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(store_kit::Engine::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(store_kit::Engine::Postgres).await;
            })*
        }
    };
}

both_engines!(
    uuid_columns_round_trip,
    violations_become_caller_errors,
    placeholder_rows_bind_in_order,
);

/// `sqlite::memory:` opens (it used to be rewritten into a URL with an empty host).
#[tokio::test]
async fn an_in_memory_sqlite_database_opens() {
    let settings = PoolSettings {
        max_connections: 1,
        ..PoolSettings::default()
    };
    let db = Database::connect("sqlite::memory:", &settings)
        .await
        .unwrap();
    let one: i64 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
}
