//! Real-world-style Compose projects under `tests/fixtures/NAME/`. Each directory holds its
//! Compose file(s), optionally `.env`/env files and an `options` file (one per line:
//! `-f FILE`, `-p NAME`, `--profile P`, `--env-file F`, `env KEY=VALUE`), and the golden
//! `expected.yaml` (the `config` output, with the fixture's path written as `$FIXTURE`) and
//! `expected.warnings`. Set `BERTH_UPDATE_GOLDEN=1` to rewrite the golden files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_compose::find::ProjectOptions;
use berth_compose::{config, load};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn options(dir: &Path) -> ProjectOptions {
    let mut opts = ProjectOptions {
        working_dir: dir.to_path_buf(),
        environment: BTreeMap::from([("HOME".to_string(), "/home/user".to_string())]),
        ..ProjectOptions::default()
    };
    let Ok(text) = fs_err::read_to_string(dir.join("options")) else {
        return opts;
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (flag, value) = line.split_once(' ').expect("options line: FLAG VALUE");
        match flag {
            "-f" => opts.files.push(PathBuf::from(value)),
            "-p" => opts.project_name = Some(value.to_string()),
            "--profile" => opts.profiles.push(value.to_string()),
            "--env-file" => opts.env_files.push(PathBuf::from(value)),
            "env" => {
                let (k, v) = value.split_once('=').expect("env KEY=VALUE");
                opts.environment.insert(k.to_string(), v.to_string());
            }
            other => panic!("unknown option {other} in {}", dir.display()),
        }
    }
    opts
}

fn check_golden(path: &Path, actual: &str) {
    if std::env::var_os("BERTH_UPDATE_GOLDEN").is_some() {
        fs_err::write(path, actual).unwrap();
        return;
    }
    let expected = fs_err::read_to_string(path).unwrap_or_default();
    assert_eq!(actual, expected, "golden file {} differs", path.display());
}

fn check_fixture(name: &str) {
    let dir = fixtures_dir().join(name);
    let opts = options(&dir);
    let project = load::load(&opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let rendered = config::render(&project).unwrap();
    let placeholder = dir.display().to_string();
    check_golden(
        &dir.join("expected.yaml"),
        &rendered.replace(&placeholder, "$FIXTURE"),
    );
    let warnings: String = project.warnings.iter().map(|w| format!("{w}\n")).collect();
    check_golden(&dir.join("expected.warnings"), &warnings);

    // Round trip: the printed model, read back as the only file of the same project, is
    // the same model.
    let tmp = tempfile::tempdir().unwrap();
    let printed = tmp.path().join("config.yaml");
    fs_err::write(&printed, &rendered).unwrap();
    let again = load::load(&ProjectOptions {
        files: vec![printed],
        project_directory: Some(dir.clone()),
        project_name: None,
        env_files: Vec::new(),
        ..opts.clone()
    })
    .unwrap_or_else(|e| panic!("{name}: printed config does not load: {e}"));
    assert_eq!(
        config::resolved(&again),
        config::resolved(&project),
        "{name}: round trip changed the model"
    );
    assert_eq!(
        config::render(&again).unwrap(),
        rendered,
        "{name}: output not stable"
    );
}

#[test]
fn every_fixture_has_a_test() {
    let mut names: Vec<String> = fs_err::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, FIXTURES.to_vec());
}

macro_rules! fixtures {
    ($($name:ident => $dir:literal),* $(,)?) => {
        const FIXTURES: &[&str] = &[$($dir),*];
        $(#[test] fn $name() { check_fixture($dir); })*
    };
}

fixtures! {
    anchors_extensions => "anchors-extensions",
    auto_override => "auto-override",
    deploy_resources => "deploy-resources",
    env_files => "env-files",
    flask_postgres_healthcheck => "flask-postgres-healthcheck",
    misc_keys => "misc-keys",
    multiple_files => "multiple-files",
    name_and_warnings => "name-and-warnings",
    networks_all_forms => "networks-all-forms",
    node_mongo_build => "node-mongo-build",
    ports_all_forms => "ports-all-forms",
    profiles_active => "profiles-active",
    profiles_default => "profiles-default",
    project_name_flag => "project-name-flag",
    traefik_whoami => "traefik-whoami",
    volumes_all_forms => "volumes-all-forms",
    web_redis => "web-redis",
    wordpress_mysql => "wordpress-mysql",
}
