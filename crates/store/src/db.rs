//! The SQLite connection: pragmas, schema migrations, transactions.
//!
//! Every write runs in `BEGIN IMMEDIATE`: a deferred transaction that reads
//! and then writes has to upgrade its lock, and SQLite answers an upgrade
//! conflict with SQLITE_BUSY at once instead of waiting on busy_timeout —
//! the classic "database is locked" under concurrent CLI processes.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};

use crate::Store;
use crate::error::{Error, Result};

/// The database file in the store's root.
pub(crate) const DB_FILE: &str = "berth.db";

/// Schema steps; `PRAGMA user_version` counts how many were applied, so a
/// later berth appends a step and keeps every row it finds.
const MIGRATIONS: &[&str] = &[include_str!("schema/v1.sql")];

/// WAL pages after which a commit checkpoints (SQLite's default: 1000).
const WAL_AUTOCHECKPOINT: i64 = 64;

/// Most of the database that reads may map (bytes); the file is far smaller.
const MMAP_SIZE: i64 = 256 << 20;

/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Opens the database with the store's pragmas and brings its schema up to date.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Switching to WAL needs a moment alone with the file; the busy handler
    // does not cover it in every SQLite version, so retry briefly by hand.
    let mut tries = 0;
    loop {
        match conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(_) => break,
            Err(e) if is_busy(&e) && tries < 600 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
    // FULL: a committed row survives power loss too; rootfs and volume data
    // on disk is only ever cleaned up when no row claims it, so losing a
    // committed row could lose user data.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The last connection to close would otherwise checkpoint the WAL into the
    // database and delete it: two more fsyncs and a file re-created by the next
    // process, paid by every short-lived CLI command. The WAL is part of the
    // database's durable state either way; a commit checkpoints it once it
    // reaches WAL_AUTOCHECKPOINT pages.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    // ... but every process that opens the database alone rebuilds the WAL index
    // by reading each frame of the WAL (one pread per page): keep the WAL short
    // so that costs well under a millisecond, with a checkpoint every few runs.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)?;
    // Reads through a shared mapping of the file instead of one pread(2) per
    // 4 KiB page into a private cache: `ps -a` over 1,000 containers read
    // ~1,000 pages that way. Writes still go through write(2) and the WAL.
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
    conn.set_prepared_statement_cache_capacity(64);
    migrate(&mut conn, path)?;
    Ok(conn)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > supported {
        return Err(Error::SchemaTooNew {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    for (step, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
        let version = i64::try_from(step + 1).unwrap_or(i64::MAX);
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(())
}

/// The schema version this build writes.
pub fn schema_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

impl Store {
    /// Runs `f` in one `BEGIN IMMEDIATE` transaction; commits if it returns Ok.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| in_transaction(conn, "BEGIN IMMEDIATE", f))
    }

    /// Like [`Store::write`], but the commit does not wait for the disk
    /// (`synchronous=NORMAL` for this transaction only). For facts that a
    /// power loss makes stale anyway, such as a container's run state: WAL
    /// mode keeps the database consistent, and a power loss can only lose a
    /// suffix of such commits, never one made with [`Store::write`] (whose
    /// sync covers every earlier commit). Row creation and deletion, which
    /// decide what recovery keeps on disk, never use this.
    pub(crate) fn write_relaxed<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| {
            run_cached(conn, "PRAGMA synchronous = NORMAL")?;
            let result = in_transaction(conn, "BEGIN IMMEDIATE", f);
            // Back to FULL even after an error: every other write relies on it.
            let restored = run_cached(conn, "PRAGMA synchronous = FULL");
            let value = result?;
            restored?;
            Ok(value)
        })
    }

    /// Runs read-only queries on the connection (one implicit read snapshot
    /// per statement; use [`Store::read_tx`] for several consistent reads).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| f(conn))
    }

    /// Several reads from one consistent snapshot of the database.
    pub(crate) fn read_tx<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| in_transaction(conn, "BEGIN DEFERRED", f))
    }

    /// Runs `f` on the connection, opening it again if [`Store::release_memory`]
    /// closed it.
    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let conn = match &mut *guard {
            Some(conn) => conn,
            slot @ None => slot.insert(open(&self.root.join(DB_FILE))?),
        };
        f(conn)
    }

    /// Gives back the memory the connection holds by closing it; the next statement
    /// opens it again. For a long-lived process that uses the store only now and then
    /// (a container's monitor). A tracer set with [`Store::trace_sql`] goes with it.
    pub fn release_memory(&self) {
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Closing gives back everything: the schema, the lookaside buffers, the page
        // cache and the mappings of the file and its WAL index. The next statement
        // opens it again (about a millisecond). No checkpoint runs on close (see
        // `open`), so closing writes nothing.
        *conn = None;
    }

    /// Calls `f` with the text of every SQL statement this store's
    /// connection runs (`None` stops it). For tests and debugging.
    pub fn trace_sql(&self, f: Option<SqlTracer>) -> Result<()> {
        self.with_conn(|conn| {
            match f {
                Some(mut f) => conn.trace_v2(
                    rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
                    Some(move |ev: rusqlite::trace::TraceEvent<'_>| {
                        if let rusqlite::trace::TraceEvent::Stmt(_, sql) = ev {
                            f(sql);
                        }
                    }),
                )?,
                None => conn.trace_v2(
                    rusqlite::trace::TraceEventCodes::empty(),
                    None::<fn(rusqlite::trace::TraceEvent<'_>)>,
                )?,
            }
            Ok(())
        })
    }
}

/// Runs one statement through the connection's statement cache: a short-lived CLI
/// process runs its handful of transactions and lookups many times over, and parsing the
/// same SQL again each time was the bulk of its SQLite time.
fn run_cached(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Runs `f` between `begin` and COMMIT; rolls back if `f` fails (or panics) or the commit
/// does. rusqlite's `Transaction` does the same with statements it parses anew each time.
fn in_transaction<T>(
    conn: &Connection,
    begin: &str,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    struct Open<'a>(Option<&'a Connection>);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            if let Some(conn) = self.0 {
                let _ = run_cached(conn, "ROLLBACK");
            }
        }
    }
    run_cached(conn, begin)?;
    let mut open = Open(Some(conn));
    let value = f(conn)?;
    run_cached(conn, "COMMIT")?;
    open.0 = None;
    Ok(value)
}

/// A callback receiving SQL statement texts, for [`Store::trace_sql`].
pub type SqlTracer = Box<dyn FnMut(&str) + Send>;

/// `SELECT 1 FROM … WHERE …` convenience.
pub(crate) fn exists(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<bool> {
    Ok(conn
        .query_row(sql, params, |_| Ok(()))
        .optional()?
        .is_some())
}

/// Encodes a string map as a JSON object for a labels/options column.
pub(crate) fn map_to_json(map: &std::collections::BTreeMap<String, String>) -> String {
    // A map of strings always serialises.
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned())
}

/// Decodes a labels/options column.
pub(crate) fn json_to_map(
    what: impl FnOnce() -> String,
    text: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|e| Error::json(what(), e))
}

/// SQL for "row's labels JSON column `col` matches this label filter";
/// pushes its parameters.
pub(crate) fn label_clause(
    col: &str,
    filter: &crate::LabelFilter,
    params: &mut Vec<rusqlite::types::Value>,
) -> String {
    params.push(filter.key.clone().into());
    match &filter.value {
        None => format!(
            "EXISTS (SELECT 1 FROM json_each({col}) WHERE key = ?{})",
            params.len()
        ),
        Some(v) => {
            params.push(v.clone().into());
            format!(
                "EXISTS (SELECT 1 FROM json_each({col}) WHERE key = ?{} AND value = ?{})",
                params.len() - 1,
                params.len()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(store: &Store) -> i64 {
        store
            .read(|c| Ok(c.pragma_query_value(None, "synchronous", |r| r.get(0))?))
            .unwrap()
    }

    #[test]
    fn relaxed_writes_restore_full_sync_even_after_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // 2 is FULL.
        assert_eq!(synchronous(&store), 2);
        store
            .write_relaxed(|tx| {
                // 1 is NORMAL, for this transaction only.
                assert_eq!(
                    tx.pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0))?,
                    1
                );
                tx.execute(
                    "INSERT INTO volumes (name, driver, created, labels, options, anonymous)
                     VALUES ('v', 'local', 0, '{}', '{}', 0)",
                    [],
                )?;
                Ok(())
            })
            .unwrap();
        assert_eq!(synchronous(&store), 2);
        let err = store.write_relaxed(|tx| -> Result<()> {
            tx.execute("DELETE FROM volumes", [])?;
            Err(Error::VolumeNotFound("simulated".into()))
        });
        assert!(err.is_err());
        assert_eq!(synchronous(&store), 2);
        // The failed transaction rolled back; the relaxed commit stayed.
        let n: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM volumes", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_failed_or_panicking_transaction_leaves_no_transaction_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let insert = |tx: &Connection, name: &str| -> Result<()> {
            tx.execute(
                "INSERT INTO volumes (name, driver, created, labels, options, anonymous)
                 VALUES (?1, 'local', 0, '{}', '{}', 0)",
                [name],
            )?;
            Ok(())
        };
        assert!(
            store
                .write(|tx| {
                    insert(tx, "a")?;
                    // The same name again: a constraint error from SQLite itself.
                    insert(tx, "a")
                })
                .is_err()
        );
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.read_tx(|tx| -> Result<()> {
                insert(tx, "b")?;
                panic!("simulated")
            })
        }));
        assert!(panicked.is_err());
        let (autocommit, names) = store
            .read(|c| {
                let mut st = c.prepare("SELECT name FROM volumes ORDER BY name")?;
                let names = st
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((c.is_autocommit(), names))
            })
            .unwrap();
        assert!(autocommit, "a transaction was left open");
        assert!(names.is_empty(), "{names:?}");
        // Later transactions of the same connection work.
        store.write(|tx| insert(tx, "c")).unwrap();
        store.read_tx(|tx| insert(tx, "d")).unwrap();
        let n: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM volumes", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(n, 2);
    }
}
