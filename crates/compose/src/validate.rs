//! Checks that need the whole merged model: references between services, networks and
//! volumes, dependency cycles, container names, and services that cannot get an image.
//! They run before anything starts.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::model::{ComposeFile, MountType};

pub(crate) fn validate(model: &ComposeFile, origins: &BTreeMap<String, Vec<String>>) -> Result<()> {
    let invalid = |service: &str, path: String, message: String| Error::Invalid {
        file: origins
            .get(service)
            .map(|f| f.join(", "))
            .unwrap_or_default(),
        path,
        message,
    };
    let known = model
        .services
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut container_names: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, s) in &model.services {
        if s.image.is_none() && s.build.is_none() {
            return Err(invalid(
                name,
                format!("services.{name}"),
                "neither image nor build is set\nhint: add `image:` or `build:` to the service"
                    .to_string(),
            ));
        }
        for (dep, d) in &s.depends_on {
            if d.required && !model.services.contains_key(dep) {
                return Err(invalid(
                    name,
                    format!("services.{name}.depends_on"),
                    format!("unknown service {dep:?}\nhint: defined services: {known}"),
                ));
            }
        }
        for net in s.networks.keys() {
            if !model.networks.contains_key(net) {
                return Err(invalid(
                    name,
                    format!("services.{name}.networks"),
                    format!(
                        "unknown network {net:?}\nhint: declare it under the top-level `networks:` key"
                    ),
                ));
            }
        }
        for (i, m) in s.volumes.iter().enumerate() {
            if m.kind == MountType::Volume
                && let Some(src) = &m.source
                && !model.volumes.contains_key(src)
            {
                return Err(invalid(
                    name,
                    format!("services.{name}.volumes[{i}]"),
                    format!(
                        "unknown volume {src:?}\nhint: declare it under the top-level `volumes:` key"
                    ),
                ));
            }
        }
        if let Some(cn) = &s.container_name {
            if let Some(other) = container_names.insert(cn, name) {
                return Err(invalid(
                    name,
                    format!("services.{name}.container_name"),
                    format!("{cn:?} is already the container name of service {other:?}"),
                ));
            }
            if s.replicas() > 1 {
                return Err(invalid(
                    name,
                    format!("services.{name}.container_name"),
                    format!(
                        "a service with a fixed container name cannot have {} replicas\nhint: remove container_name or scale to 1",
                        s.replicas()
                    ),
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(model) {
        let first = cycle.first().cloned().unwrap_or_default();
        return Err(invalid(
            &first,
            format!("services.{first}.depends_on"),
            format!("dependency cycle: {}", cycle.join(" -> ")),
        ));
    }
    Ok(())
}

/// The first cycle found, walking services and dependencies in name order, as a path that
/// ends where it started (`a -> b -> a`).
pub(crate) fn find_cycle(model: &ComposeFile) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        model: &'a ComposeFile,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match marks.get(name).copied().unwrap_or(Mark::New) {
            Mark::Done => return None,
            Mark::Active => {
                let start = stack.iter().position(|s| *s == name).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(name.to_string());
                return Some(cycle);
            }
            Mark::New => {}
        }
        marks.insert(name, Mark::Active);
        stack.push(name);
        if let Some(s) = model.services.get(name) {
            for dep in s.depends_on.keys() {
                if model.services.contains_key(dep)
                    && let Some(c) = visit(dep, model, marks, stack)
                {
                    return Some(c);
                }
            }
        }
        stack.pop();
        marks.insert(name, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for name in model.services.keys() {
        if let Some(c) = visit(name, model, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}
