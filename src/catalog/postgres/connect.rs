//! Connecting to a shared catalog: the schema's migrations, passwords from ~/.pgpass, addresses
//! without their password.

use super::*;

/// Check for pgvector and apply the migrations this version knows and the database lacks; refuse
/// a schema newer than this version.
pub(super) fn migrate(c: &mut Client, at: &Path) -> Result<()> {
    let location = at.to_string_lossy().into_owned();
    let has_vector = c
        .query_typed_opt(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'",
            &[],
        )
        .map_err(pg_err(at))?
        .is_some();
    if !has_vector {
        return Err(Error::NoPgvector { location });
    }
    c.batch_execute("CREATE EXTENSION IF NOT EXISTS vector")
        .map_err(|e| match e.code() {
            Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Error::NoPgvector {
                location: location.clone(),
            },
            _ => pg_err(at)(e),
        })?;
    let mut tx = c.transaction().map_err(pg_err(at))?;
    // One migrating machine at a time; the others wait, then find the work done.
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7262961343);
         CREATE TABLE IF NOT EXISTS lookalike_schema(version integer NOT NULL);",
    )
    .map_err(pg_err(at))?;
    let found: i32 = tx
        .query_typed_one(
            "SELECT coalesce(max(version), 0) FROM lookalike_schema",
            &[],
        )
        .map_err(pg_err(at))?
        .get(0);
    let known = MIGRATIONS.len() as i32;
    if found > known {
        return Err(Error::NewerSchema {
            location,
            found: found as u32,
            known: known as u32,
        });
    }
    for (version, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(step).map_err(pg_err(at))?;
        tx.execute_typed(
            "INSERT INTO lookalike_schema(version) VALUES($1)",
            &[(&(version as i32 + 1), Type::INT4)],
        )
        .map_err(pg_err(at))?;
    }
    tx.commit().map_err(pg_err(at))
}

/// The password for `config` from `PGPASSWORD`, else the first matching line of `~/.pgpass`
/// (or `PGPASSFILE`): `host:port:database:user:password`, `*` matching anything.
pub(super) fn password_for(config: &Config) -> Option<String> {
    if let Ok(p) = std::env::var("PGPASSWORD") {
        return Some(p);
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first()? {
        postgres::config::Host::Tcp(h) => h.clone(),
        postgres::config::Host::Unix(p) => p.to_string_lossy().into_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    let want = [
        host.as_str(),
        port.as_str(),
        db,
        config.get_user().unwrap_or(""),
    ];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = pgpass_fields(line);
            (fields.len() == 5
                && fields[..4]
                    .iter()
                    .zip(want)
                    .all(|(f, w)| f == "*" || f == w))
            .then(|| fields[4].clone())
        })
}

/// The fields of one `.pgpass` line: `:` separates, `\` escapes.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => fields
                .last_mut()
                .unwrap_or(&mut String::new())
                .extend(chars.next()),
            ':' => fields.push(String::new()),
            _ => fields.last_mut().unwrap_or(&mut String::new()).push(ch),
        }
    }
    fields
}

/// `url` with any password taken out.
pub(super) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let mut out = format!("{scheme}://");
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            out.push_str(userinfo.split(':').next().unwrap_or(""));
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    // Query parameters may carry a password too.
    match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.starts_with("password="))
                .collect();
            out.push_str(path);
            if !kept.is_empty() {
                out.push('?');
                out.push_str(&kept.join("&"));
            }
        }
        None => out.push_str(tail),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_location() {
        assert_eq!(
            redacted("postgres://ann:s3cret@db.shop:5432/catalog"),
            "postgres://ann@db.shop:5432/catalog"
        );
        assert_eq!(
            redacted("postgresql://ann@db/catalog?password=x&sslmode=require"),
            "postgresql://ann@db/catalog?sslmode=require"
        );
        assert_eq!(redacted("postgres://db/catalog"), "postgres://db/catalog");
    }

    #[test]
    fn pgpass_lines_split_on_unescaped_colons() {
        assert_eq!(
            pgpass_fields(r"db:5432:*:ann:pa\:ss"),
            vec!["db", "5432", "*", "ann", "pa:ss"]
        );
    }
}
