//! `edgeplane devices`: every backend compiled in that opens here and what it reports.

use comfy_table::Table;
use edgeplane::{Backend, DeviceInfo, Result};
use std::sync::Arc;

/// Arguments of `edgeplane devices`.
#[derive(clap::Args, Debug)]
pub struct DevicesArgs {
    /// Print JSON (one object per backend) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Lists the backends.
pub fn run(args: &DevicesArgs, backends: &[Arc<dyn Backend>]) -> Result<()> {
    let infos: Vec<DeviceInfo> = backends.iter().map(|b| b.info()).collect();
    if args.json {
        let text = serde_json::to_string_pretty(&infos)
            .map_err(|e| edgeplane::Error::InvalidInput(format!("JSON: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    let mut table = Table::new();
    table.set_header([
        "backend", "device", "kind", "api", "driver", "memory", "features",
    ]);
    for info in &infos {
        table.add_row([
            info.backend.clone(),
            info.device.clone(),
            format!("{:?}", info.kind),
            info.api.clone(),
            info.driver.clone(),
            info.memory_bytes
                .map(super::inspect::human_bytes)
                .unwrap_or_else(|| "-".into()),
            info.features.join(" "),
        ]);
    }
    println!("{table}");
    println!("{} backend(s)", infos.len());
    Ok(())
}
