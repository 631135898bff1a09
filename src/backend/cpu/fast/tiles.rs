//! The backend's record of weights already repacked into interleaved tiles, so that the
//! executables compiled from one model (a session compiles one per batch size) share one
//! copy instead of repacking the whole model at every compile.
//!
//! Keyed by where the weight bytes live: graph constants are immutable shared bytes (a
//! GGUF mmap or a vector), and an entry is only reused while some executable still holds
//! its tiles — that executable holds the graph, so the bytes under the key cannot have
//! been freed and reused for other data.

use crate::DType;
use edgeplane_kernels::cpu::interleaved::Interleaved;
use edgeplane_kernels::cpu::{SimdLevel, WeightMatrix};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

/// Address, length, dtype and rows of a weight's bytes.
type Key = (usize, usize, DType, usize);

/// Tiles by weight, held weakly: they are freed with the last executable using them.
#[derive(Default)]
pub struct TileCache {
    entries: Mutex<HashMap<Key, Weak<Interleaved>>>,
}

impl TileCache {
    /// The tiles of each of `weights` (`None` where its format or shape has none, or its
    /// tiles have no kernel at `level`, the backend's one SIMD level): the live ones from
    /// earlier compiles, the rest repacked in parallel on `pool` (about 0.2–1.3 ns per
    /// value on one core).
    pub fn get_or_pack(
        &self,
        pool: &rayon::ThreadPool,
        level: SimdLevel,
        weights: &[WeightMatrix],
    ) -> Vec<Option<Arc<Interleaved>>> {
        let key = |w: &WeightMatrix| (w.bytes.as_ptr() as usize, w.bytes.len(), w.dtype, w.rows);
        let known: Vec<Option<Arc<Interleaved>>> = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            weights
                .iter()
                .map(|w| entries.get(&key(w)).and_then(Weak::upgrade))
                .collect()
        };
        let packed: Vec<Option<Arc<Interleaved>>> = pool.install(|| {
            weights
                .par_iter()
                .zip(known)
                .map(|(w, k)| k.or_else(|| Interleaved::new(w, level).map(Arc::new)))
                .collect()
        });
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, t| t.strong_count() > 0);
        for (w, t) in weights.iter().zip(&packed) {
            if let Some(t) = t {
                entries.insert(key(w), Arc::downgrade(t));
            }
        }
        packed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_share_live_tiles_and_repack_freed_ones() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        // A level the Q4_K tiles have kernels at (tiles are packed whether or not this
        // CPU has it).
        let level = SimdLevel::Avx2;
        let (rows, k) = (32, 256);
        let bytes = edgeplane_kernels::quant::quantize(
            DType::Q4K,
            &edgeplane_kernels::noise::noise(5, rows * k),
        )
        .unwrap();
        let w = WeightMatrix {
            dtype: DType::Q4K,
            rows,
            k,
            bytes: &bytes,
        };
        let f32_rows = vec![0u8; rows * k * 4];
        let plain = WeightMatrix {
            dtype: DType::F32,
            rows,
            k,
            bytes: &f32_rows,
        };
        let cache = TileCache::default();
        let first = cache.get_or_pack(&pool, level, &[w, plain]);
        assert!(
            first[0].is_some() && first[1].is_none(),
            "Q4_K tiles, none for f32"
        );
        let second = cache.get_or_pack(&pool, level, &[w]);
        assert!(Arc::ptr_eq(
            first[0].as_ref().unwrap(),
            second[0].as_ref().unwrap()
        ));
        let weak = Arc::downgrade(first[0].as_ref().unwrap());
        drop((first, second));
        assert_eq!(weak.strong_count(), 0, "freed with the last user");
        assert!(
            cache.get_or_pack(&pool, level, &[w])[0].is_some(),
            "repacked again"
        );
    }
}
