//! `berth inspect [-f FORMAT] [--type T] NAME...`: containers, images, networks and
//! volumes, tried in Docker's order when no type is given.

use berth_engine::Paths;
use clap::Args;
use serde_json::Value;

/// Return low-level information on berth objects.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a Go template or `json`.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Display total file sizes (`SizeRw`, `SizeRootFs`).
    #[arg(short, long)]
    pub size: bool,
    /// Only inspect objects of this type (container, image, network, volume).
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Containers, images, networks or volumes.
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// Runs `berth inspect`.
pub fn run(paths: &Paths, args: &InspectArgs) -> anyhow::Result<()> {
    let engine = super::engine(paths)?;
    let mut docs = Vec::new();
    let mut failed = false;
    let kinds: &[&str] = match args.kind.as_deref() {
        None => &["container", "image", "network", "volume"],
        Some("container") => &["container"],
        Some("image") => &["image"],
        Some("network") => &["network"],
        Some("volume") => &["volume"],
        Some(k) => anyhow::bail!("invalid --type {k:?}\nhint: container, image, network or volume"),
    };
    for n in &args.names {
        let found = kinds.iter().find_map(|kind| {
            let doc = match *kind {
                "container" => engine.inspect_container(n),
                "image" => engine.inspect_image(n),
                "network" => engine
                    .find_network(n)
                    .and_then(|net| berth_engine::networks::network_json(&engine, &net)),
                _ => engine.inspect_volume(n),
            };
            doc.ok().map(|d| (*kind, d))
        });
        match found {
            Some((kind, mut d)) => {
                if args.size && kind == "container" {
                    add_sizes(&engine, &mut d);
                }
                docs.push(d);
            }
            None => {
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    format!("Error: no such object: {n}\n").as_bytes(),
                );
                failed = true;
            }
        }
    }
    print_docs(&docs, args.format.as_deref())?;
    if failed {
        return Err(super::Reported.into());
    }
    Ok(())
}

/// Docker's `inspect -s` fields: the container's own files, and those plus its image's.
fn add_sizes(engine: &berth_engine::Engine, doc: &mut Value) {
    let id = doc["Id"].as_str().unwrap_or_default().to_owned();
    let rw = engine
        .store()
        .container_dir(&id)
        .map_or(0, |d| berth_store::tree_size(&d.join("upper")));
    let image = doc["Image"]
        .as_str()
        .and_then(|i| engine.store().get_image(i).ok())
        .map_or(0, |i| i.size);
    doc["SizeRw"] = Value::from(rw);
    doc["SizeRootFs"] = Value::from(rw + image);
}

/// Prints inspect documents: a JSON array, or one rendered template per document.
pub fn print_docs(docs: &[Value], format: Option<&str>) -> anyhow::Result<()> {
    match format {
        None | Some("") => println!(
            "{}",
            serde_json::to_string_pretty(&Value::Array(docs.to_vec()))?
        ),
        Some("json") => {
            for d in docs {
                println!("{d}");
            }
        }
        Some(t) => {
            for d in docs {
                println!("{}", crate::format::render(t, d)?);
            }
        }
    }
    Ok(())
}
