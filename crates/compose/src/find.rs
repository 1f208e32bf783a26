//! Finding a project: its Compose files (`compose.yaml` … in the current or a parent
//! directory, or `-f`), the override file beside them, `.env`/`--env-file`, the active
//! profiles and the project name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::envfile;
use crate::error::{Error, Result};

/// File names looked for, in Docker Compose's order of preference.
pub const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// What the user asked for on the command line, plus the process environment (passed in so
/// that the crate never reads global state).
#[derive(Debug, Clone, Default)]
pub struct ProjectOptions {
    /// The current directory (discovery starts here; relative paths are resolved here).
    pub working_dir: PathBuf,
    /// `-f` files, in order; empty means discover (or `COMPOSE_FILE`).
    pub files: Vec<PathBuf>,
    /// `--project-directory`; default: the first file's directory.
    pub project_directory: Option<PathBuf>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--env-file` (replaces `.env`).
    pub env_files: Vec<PathBuf>,
    /// `--profile` (else `COMPOSE_PROFILES`).
    pub profiles: Vec<String>,
    /// The process environment.
    pub environment: BTreeMap<String, String>,
}

/// The files and environment of a project, before its files are parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSources {
    /// Compose files in merge order (absolute).
    pub files: Vec<PathBuf>,
    /// The project directory: relative paths in the files are resolved against it.
    pub project_dir: PathBuf,
    /// Interpolation environment: the process environment over the `.env` file(s).
    pub environment: BTreeMap<String, String>,
    /// Active profiles.
    pub profiles: Vec<String>,
    /// `-p` or `COMPOSE_PROJECT_NAME`, validated.
    pub name_override: Option<String>,
}

fn absolute(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Looks for a Compose file in `dir` and its parents.
pub fn find_compose_file(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find_map(|d| {
        DEFAULT_FILES
            .iter()
            .map(|name| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The override file Docker Compose reads beside a discovered main file
/// (`compose.override.yaml` for `compose.yaml`, `docker-compose.override.yml` …).
pub fn override_file(main: &Path) -> Option<PathBuf> {
    let dir = main.parent()?;
    let stem = main.file_stem()?.to_str()?;
    ["yaml", "yml"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.override.{ext}")))
        .find(|p| p.is_file())
}

/// Resolves files, project directory, environment, profiles and the name override.
pub fn discover(opts: &ProjectOptions) -> Result<ProjectSources> {
    let cwd = &opts.working_dir;
    let mut files: Vec<PathBuf> = opts.files.iter().map(|f| absolute(cwd, f)).collect();
    if files.is_empty()
        && let Some(list) = opts
            .environment
            .get("COMPOSE_FILE")
            .filter(|s| !s.is_empty())
    {
        let sep = opts
            .environment
            .get("COMPOSE_PATH_SEPARATOR")
            .map_or(":", String::as_str);
        files = list
            .split(sep)
            .filter(|s| !s.is_empty())
            .map(|f| absolute(cwd, Path::new(f)))
            .collect();
    }
    if files.is_empty() {
        let main = find_compose_file(cwd).ok_or_else(|| Error::NotFound { dir: cwd.clone() })?;
        let over = override_file(&main);
        files.push(main);
        files.extend(over);
    }
    for f in &files {
        // Read errors name the path (fs-err); checking here gives a clear early error.
        fs_err::metadata(f)?;
    }
    let project_dir = match &opts.project_directory {
        Some(d) => absolute(cwd, d),
        None => files
            .first()
            .and_then(|f| f.parent())
            .map_or_else(|| cwd.clone(), Path::to_path_buf),
    };

    // `.env` supplies defaults; the process environment wins.
    let mut environment = BTreeMap::new();
    let env_files: Vec<PathBuf> = if opts.env_files.is_empty() {
        let dotenv = project_dir.join(".env");
        if dotenv.is_file() {
            vec![dotenv]
        } else {
            Vec::new()
        }
    } else {
        opts.env_files.iter().map(|f| absolute(cwd, f)).collect()
    };
    for file in env_files {
        let text = fs_err::read_to_string(&file)?;
        let mut seen = environment.clone();
        seen.extend(opts.environment.clone());
        for (k, v) in envfile::parse(&text, &file.display().to_string(), &seen)? {
            environment.insert(k, v);
        }
    }
    environment.extend(opts.environment.clone());

    let profiles = if opts.profiles.is_empty() {
        environment
            .get("COMPOSE_PROFILES")
            .map(|p| {
                p.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        opts.profiles.clone()
    };

    let name_override = match (&opts.project_name, environment.get("COMPOSE_PROJECT_NAME")) {
        (Some(n), _) => Some(check_project_name(n, "-p")?),
        (None, Some(n)) if !n.is_empty() => Some(check_project_name(n, "COMPOSE_PROJECT_NAME")?),
        _ => None,
    };
    Ok(ProjectSources {
        files,
        project_dir,
        environment,
        profiles,
        name_override,
    })
}

/// Accepts a name the user chose: lowercase letters, digits, `_` and `-`, starting with a
/// letter or digit.
pub fn check_project_name(name: &str, origin: &str) -> Result<String> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(name.to_string())
    } else {
        Err(Error::ProjectName {
            name: name.to_string(),
            origin: origin.to_string(),
        })
    }
}

/// Turns a directory name into a project name: lowercased, other characters dropped, leading
/// `_`/`-` trimmed (`My App.v2` → `myappv2`).
pub fn normalize_project_name(dir_name: &str) -> String {
    let lowered: String = dir_name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lowered.trim_start_matches(['_', '-']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(normalize_project_name("My App.v2"), "myappv2");
        assert_eq!(normalize_project_name("_web-Site_"), "web-site_");
        assert!(check_project_name("ok-1_x", "-p").is_ok());
        assert_eq!(
            check_project_name("Bad", "-p").unwrap_err().to_string(),
            "invalid project name \"Bad\" (from -p)\nhint: use lowercase letters, digits, dashes and underscores, starting with a letter or digit"
        );
        assert!(check_project_name("-x", "-p").is_err());
    }

    #[test]
    fn discovery_in_parent_with_override_env_and_profiles() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs_err::write(root.join("docker-compose.yml"), "services: {}\n").unwrap();
        fs_err::write(root.join("docker-compose.override.yml"), "services: {}\n").unwrap();
        fs_err::write(root.join("compose.yml.bak"), "").unwrap();
        fs_err::write(
            root.join(".env"),
            "COMPOSE_PROFILES=debug, tools\nTAG=1\nHOME_X=$SHELL_X\n",
        )
        .unwrap();
        let sub = root.join("src/deep");
        fs_err::create_dir_all(&sub).unwrap();
        let opts = ProjectOptions {
            working_dir: sub.clone(),
            environment: BTreeMap::from([
                ("TAG".to_string(), "2".to_string()),
                ("SHELL_X".to_string(), "sh".to_string()),
            ]),
            ..ProjectOptions::default()
        };
        let s = discover(&opts).unwrap();
        assert_eq!(
            s.files,
            vec![
                root.join("docker-compose.yml"),
                root.join("docker-compose.override.yml")
            ]
        );
        assert_eq!(s.project_dir, root);
        assert_eq!(
            s.environment["TAG"], "2",
            "process environment wins over .env"
        );
        assert_eq!(s.environment["HOME_X"], "sh");
        assert_eq!(s.profiles, vec!["debug".to_string(), "tools".to_string()]);
        assert_eq!(s.name_override, None);

        // compose.yaml is preferred over docker-compose.yml in the same directory.
        fs_err::write(root.join("compose.yaml"), "services: {}\n").unwrap();
        let s = discover(&opts).unwrap();
        assert_eq!(s.files, vec![root.join("compose.yaml")]);

        let explicit = ProjectOptions {
            files: vec![PathBuf::from("../../compose.yaml")],
            profiles: vec!["web".to_string()],
            project_name: Some("demo".to_string()),
            env_files: vec![PathBuf::from("../../missing.env")],
            ..opts.clone()
        };
        let err = discover(&explicit).unwrap_err().to_string();
        assert!(err.contains("missing.env"), "{err}");
        let explicit = ProjectOptions {
            env_files: Vec::new(),
            ..explicit
        };
        let s = discover(&explicit).unwrap();
        assert_eq!(s.profiles, vec!["web".to_string()]);
        assert_eq!(s.name_override.as_deref(), Some("demo"));

        // COMPOSE_FILE lists files when no -f is given; COMPOSE_PROJECT_NAME names the project.
        let mut env_opts = opts.clone();
        env_opts.environment.insert(
            "COMPOSE_FILE".to_string(),
            format!("{}:docker-compose.yml", root.join("compose.yaml").display()),
        );
        env_opts.working_dir = root.to_path_buf();
        env_opts
            .environment
            .insert("COMPOSE_PROJECT_NAME".to_string(), "from-env".to_string());
        let s = discover(&env_opts).unwrap();
        assert_eq!(
            s.files,
            vec![root.join("compose.yaml"), root.join("docker-compose.yml")]
        );
        assert_eq!(s.name_override.as_deref(), Some("from-env"));
    }

    #[test]
    fn nothing_found() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = ProjectOptions {
            working_dir: tmp.path().to_path_buf(),
            ..ProjectOptions::default()
        };
        // A stray compose file above the temporary directory would be found instead.
        if let Some(stray) = tmp.path().parent().and_then(find_compose_file) {
            eprintln!("skipping: {} exists above the temp dir", stray.display());
            return;
        }
        let err = discover(&opts).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "no compose file found in {} or any parent directory\nhint: create compose.yaml there or pass -f FILE",
                tmp.path().display()
            )
        );
    }
}
