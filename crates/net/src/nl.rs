//! The bridge between rtnetlink's async API and berth's synchronous callers.
//!
//! Each call builds a current-thread tokio runtime, opens a netlink socket in
//! the calling thread's network namespace, runs the requests and drops
//! everything before returning: no thread outlives a call, so the engine can
//! fork containers right after.

use std::future::Future;

use futures_util::TryStreamExt;
use rtnetlink::Handle;
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};

use crate::error::{Error, Result};

/// Runs `f` with a netlink handle in the current thread's network namespace.
pub(crate) fn run<T, F, Fut>(f: F) -> Result<T>
where
    F: FnOnce(Handle) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("starting netlink runtime: {e}"),
            ))
        })?;
    rt.block_on(async move {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("opening netlink socket: {e}"),
            ))
        })?;
        let task = tokio::spawn(conn);
        let out = f(handle).await;
        task.abort();
        out
    })
}

/// The errno of a netlink error (positive), if the kernel sent one.
pub(crate) fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| c.get().abs()),
        _ => None,
    }
}

/// Wraps a netlink error with what berth asked for.
pub(crate) fn err(op: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> Error {
    let op = op.into();
    move |source| Error::Netlink { op, source }
}

/// The link called `name`, or `None` if there is none.
pub(crate) async fn link_by_name(handle: &Handle, name: &str) -> Result<Option<LinkMessage>> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(link) => Ok(link),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(err(format!("look up link {name}"))(e)),
    }
}

/// The index of link `name`, or an error naming it.
pub(crate) async fn index_of(handle: &Handle, name: &str) -> Result<u32> {
    link_by_name(handle, name)
        .await?
        .map(|l| l.header.index)
        .ok_or_else(|| Error::Netlink {
            op: format!("look up link {name}"),
            source: rtnetlink::Error::NamespaceError(format!("no link named {name}")),
        })
}

/// Every link of the current namespace as (index, name).
pub(crate) async fn links(handle: &Handle) -> Result<Vec<(u32, String)>> {
    let mut stream = handle.link().get().execute();
    let mut out = Vec::new();
    while let Some(msg) = stream.try_next().await.map_err(err("list links"))? {
        let name = msg.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        });
        if let Some(name) = name {
            out.push((msg.header.index, name));
        }
    }
    Ok(out)
}

/// Whether a link called `name` exists in the current namespace.
pub fn link_exists(name: &str) -> Result<bool> {
    run(|h| async move { Ok(link_by_name(&h, name).await?.is_some()) })
}

/// The index of link `name` in the current namespace, if it exists.
pub fn link_index(name: &str) -> Result<Option<u32>> {
    run(|h| async move { Ok(link_by_name(&h, name).await?.map(|l| l.header.index)) })
}
