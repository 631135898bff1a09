//! `edgeplane inspect FILE.gguf`: a GGUF file's metadata and tensor table, for people
//! (tables) or programs (`--json`). Long arrays are cut to their first items so a 150k-token
//! vocabulary doesn't flood the terminal; the length is always shown.

use comfy_table::{Cell, CellAlignment, Table};
use edgeplane::gguf::{Array, GgufFile, Value};
use edgeplane::{Error, Result};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `edgeplane inspect`.
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The GGUF file.
    pub file: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Most array items shown per metadata value (0 shows all).
    #[arg(long, default_value_t = 8)]
    pub max_items: usize,
}

/// Opens the file and prints it.
pub fn run(args: &InspectArgs) -> Result<()> {
    let file = GgufFile::open(&args.file)?;
    let max_items = if args.max_items == 0 {
        usize::MAX
    } else {
        args.max_items
    };
    if args.json {
        let text = serde_json::to_string_pretty(&to_json(&file, max_items))
            .map_err(|e| Error::InvalidInput(format!("JSON: {e}")))?;
        println!("{text}");
    } else {
        print_tables(&file, max_items);
    }
    Ok(())
}

/// Totals over every tensor: (elements, bytes).
fn totals(file: &GgufFile) -> (u128, u128) {
    file.tensors().iter().fold((0, 0), |(e, b), t| {
        (
            e + t.desc.shape.elements() as u128,
            b + u128::from(t.byte_len()),
        )
    })
}

/// The file as JSON: header, metadata in file order, tensors and totals.
pub fn to_json(file: &GgufFile, max_items: usize) -> serde_json::Value {
    let metadata: Vec<serde_json::Value> = file
        .metadata()
        .iter()
        .map(|kv| {
            let mut entry = json!({
                "key": kv.key,
                "type": type_name(&kv.value),
                "value": value_json(&kv.value, max_items),
            });
            if let Value::Array(a) = &kv.value {
                entry["len"] = json!(a.len());
            }
            entry
        })
        .collect();
    let tensors: Vec<serde_json::Value> = file
        .tensors()
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "dtype": t.desc.dtype.name(),
                "shape": t.desc.shape.dims(),
                "elements": t.desc.shape.elements(),
                "bytes": t.byte_len(),
                "offset": t.range.start,
            })
        })
        .collect();
    let (elements, bytes) = totals(file);
    json!({
        "file": file.describe(),
        "version": file.version(),
        "alignment": file.alignment(),
        "data_offset": file.data_offset(),
        "file_bytes": file.file_len(),
        "metadata": metadata,
        "tensors": tensors,
        "totals": {
            "tensors": file.tensors().len(),
            "elements": u64::try_from(elements).unwrap_or(u64::MAX),
            "bytes": u64::try_from(bytes).unwrap_or(u64::MAX),
        },
    })
}

/// `uint32`, `array[string]`.
fn type_name(value: &Value) -> String {
    match value {
        Value::Array(a) => format!("array[{}]", a.element_type()),
        other => other.value_type().name().to_string(),
    }
}

/// A value as JSON, arrays cut to `max_items`. Non-finite floats become `null`.
fn value_json(value: &Value, max_items: usize) -> serde_json::Value {
    match value {
        Value::U8(v) => json!(v),
        Value::I8(v) => json!(v),
        Value::U16(v) => json!(v),
        Value::I16(v) => json!(v),
        Value::U32(v) => json!(v),
        Value::I32(v) => json!(v),
        Value::F32(v) => json!(v),
        Value::Bool(v) => json!(v),
        Value::String(v) => json!(v),
        Value::U64(v) => json!(v),
        Value::I64(v) => json!(v),
        Value::F64(v) => json!(v),
        Value::Array(a) => array_json(a, max_items),
    }
}

fn array_json(array: &Array, max_items: usize) -> serde_json::Value {
    let shown = array.len().min(max_items);
    serde_json::Value::Array(
        (0..shown)
            .filter_map(|i| array.get(i))
            .map(|v| value_json(&v, max_items))
            .collect(),
    )
}

/// Header line, metadata table, tensor table with a totals row.
fn print_tables(file: &GgufFile, max_items: usize) {
    println!(
        "{}: GGUF v{}, {} metadata entries, {} tensors, alignment {}, data at byte {}, {}",
        file.describe(),
        file.version(),
        file.metadata().len(),
        file.tensors().len(),
        file.alignment(),
        file.data_offset(),
        human_bytes(file.file_len())
    );
    let mut meta = Table::new();
    meta.set_header(["key", "type", "value"]);
    for kv in file.metadata() {
        meta.add_row([
            kv.key.clone(),
            type_name(&kv.value),
            kv.value.display_abbreviated(max_items),
        ]);
    }
    println!("{meta}");

    let mut tensors = Table::new();
    tensors.set_header(["name", "dtype", "shape", "bytes"]);
    for t in file.tensors() {
        tensors.add_row([
            Cell::new(&t.name),
            Cell::new(t.desc.dtype.name()),
            Cell::new(t.desc.shape.to_string()),
            Cell::new(t.byte_len()).set_alignment(CellAlignment::Right),
        ]);
    }
    let (elements, bytes) = totals(file);
    tensors.add_row([
        Cell::new(format!("total: {} tensors", file.tensors().len())),
        Cell::new(""),
        Cell::new(format!("{elements} elements")),
        Cell::new(format!("{bytes} ({})", human_bytes_u128(bytes)))
            .set_alignment(CellAlignment::Right),
    ]);
    println!("{tensors}");
}

/// `1.5 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    human_bytes_u128(bytes.into())
}

fn human_bytes_u128(bytes: u128) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
