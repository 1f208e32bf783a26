//! berth's Compose front end: everything about a Compose project that needs no engine.
//!
//! - [`find`] locates the files (`compose.yaml` … in the current or a parent directory, `-f`,
//!   the override file), reads `.env`/`--env-file`, and settles profiles and the project name.
//! - [`interpolate`] substitutes `${VAR:-default}` and friends in every string value.
//! - [`model`] is the Compose specification's model ([`model::ComposeFile`],
//!   [`model::Service`] …): each key accepts its short and long syntaxes and holds the long
//!   one.
//! - [`load`] turns files into a validated [`load::Project`]: YAML (errors with line and
//!   column, anchors and `<<:` merge keys), interpolation, the model (unknown keys become
//!   [`Warning`]s), [`merge`] of several files, normalization and validation.
//! - [`config`] prints the resolved model as `docker compose config` does.
//! - [`plan`] orders services by `depends_on`, names containers, networks and volumes and
//!   labels them; [`converge`] compares a plan with existing containers and decides what to
//!   create, recreate, start, scale or keep.
//! - [`run`] executes: [`run::Compose`] binds a project to a `berth_engine::Engine` and
//!   carries out `up`, `down`, `start`, `stop`, `logs` … (building with `berth_build`),
//!   reporting progress as [`run::Event`]s.
//!
//! Everything above [`run`] is pure: it reads files but starts nothing. [`run`] drives the
//! engine. The crate never prints: the caller gets data (a plan, warnings, events).
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::path::PathBuf;
//! use berth_compose::{config, find::ProjectSources, load, plan};
//!
//! let sources = ProjectSources {
//!     files: vec![PathBuf::from("/srv/shop/compose.yaml")],
//!     project_dir: PathBuf::from("/srv/shop"),
//!     environment: BTreeMap::from([("TAG".to_string(), "7".to_string())]),
//!     profiles: Vec::new(),
//!     name_override: None,
//! };
//! let yaml = "services:\n  web:\n    image: nginx\n    depends_on: [cache]\n    ports: [\"8080:80\"]\n  cache:\n    image: redis:${TAG}\n";
//! let project = load::load_texts(&sources, &[("compose.yaml".into(), yaml.into())]).unwrap();
//! assert!(config::render(&project).unwrap().contains("image: redis:7"));
//!
//! let plan = plan::plan(&project, &plan::PlanOptions::default()).unwrap();
//! assert_eq!(plan.stop_order(), vec!["web", "cache"]);
//! assert_eq!(plan.container_name(&plan.services[1], 1), "shop-web-1");
//! ```

pub mod config;
pub mod converge;
pub mod envfile;
pub mod error;
pub mod find;
pub mod interpolate;
pub mod load;
pub mod merge;
pub mod model;
mod normalize;
pub mod plan;
pub mod run;
mod validate;

pub use error::{Error, Result, Warning};
