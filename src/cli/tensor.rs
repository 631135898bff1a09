//! `edgeplane tensor FILE.gguf NAME --npy OUT.npy`: one tensor dequantized to f32 and saved
//! for numpy, in row-major shape (GGUF's `ne` reversed), so `np.load` gives the same array
//! as the `gguf` Python package's dequantization.

use edgeplane::gguf::GgufFile;
use edgeplane::{Error, Result};
use edgeplane_kernels::quant::dequantize_row;
use npyz::WriterBuilder;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `edgeplane tensor`.
#[derive(clap::Args, Debug)]
pub struct TensorArgs {
    /// The GGUF file.
    pub file: PathBuf,
    /// The tensor's name (as `inspect` lists it).
    pub name: String,
    /// Where to write the float32 .npy array.
    #[arg(long)]
    pub npy: PathBuf,
}

/// Dequantizes the tensor and writes the .npy file.
pub fn run(args: &TensorArgs) -> Result<()> {
    let file = GgufFile::open(&args.file)?;
    let info = file.tensor(&args.name).ok_or_else(|| {
        Error::InvalidInput(format!(
            "{}: no tensor named '{}' (it has {} tensors; `edgeplane inspect` lists them)",
            file.describe(),
            args.name,
            file.tensors().len()
        ))
    })?;
    let desc = info.desc.clone();
    let bytes = file.tensor_bytes(&args.name)?;
    let values = dequantize_rows(&desc, bytes.as_slice())?;
    let shape: Vec<u64> = desc.shape.dims().iter().map(|&d| d as u64).collect();
    write_npy(&args.npy, &shape, &values)?;
    println!(
        "{}: {} {} → float32 {} written to {}",
        file.describe(),
        args.name,
        desc,
        desc.shape,
        args.npy.display()
    );
    Ok(())
}

/// Every row through the quant module's row dequantizer (the one the backends are tested
/// against), so this command shows exactly what edgeplane computes with.
fn dequantize_rows(desc: &edgeplane::TensorDesc, bytes: &[u8]) -> Result<Vec<f32>> {
    let cols = desc.shape.cols();
    let row_bytes = desc.row_bytes();
    let mut values = vec![0f32; desc.shape.elements()];
    if cols == 0 || row_bytes == 0 {
        return Ok(values);
    }
    for (row, out) in bytes
        .chunks_exact(row_bytes)
        .zip(values.chunks_exact_mut(cols))
    {
        dequantize_row(desc.dtype, row, out)?;
    }
    Ok(values)
}

/// Writes `values` as a C-order float32 array of `shape`.
pub fn write_npy(path: &std::path::Path, shape: &[u64], values: &[f32]) -> Result<()> {
    let io = |e| Error::io(path, e);
    let file = std::fs::File::create(path).map_err(io)?;
    let mut buffered = std::io::BufWriter::new(file);
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut buffered)
        .begin_nd()
        .map_err(io)?;
    writer.extend(values.iter().copied()).map_err(io)?;
    writer.finish().map_err(io)?;
    buffered.flush().map_err(io)
}
