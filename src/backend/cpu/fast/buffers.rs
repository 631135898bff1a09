//! The f32 buffers of one executable's tensors, recycled within a run and from run to run.
//!
//! Why: a node's output used to be a fresh `Vec` that lived until the end of the run. A
//! multi-megabyte allocation made on a pool thread is fresh pages every time (4064 page
//! faults per run of a 4096² matmul at n = 512, ~3 ms on this VM), and every intermediate
//! of a whole-model graph was alive at once (a 1B model's prompt: every layer's). Now a
//! value goes back to the pool after its last reader ran, the next node of its size takes
//! it, and the pool outlives the run, so a run allocates nothing once the first has sized
//! the pool, and peak memory is the largest set of values alive at one time.

use crate::graph::{Graph, TensorKind};

/// Free buffers, handed out smallest-that-fits.
#[derive(Debug, Default)]
pub struct BufferPool {
    free: Vec<Vec<f32>>,
}

impl BufferPool {
    /// A buffer for `len` values: the smallest free one that holds them, else a new one.
    /// It keeps its stale values (the op sizes it: `value::zeroed` clears it, and
    /// `value::overwritten`, for ops that write every value, does not — clearing here made
    /// that a full `memset` after all).
    pub fn take(&mut self, len: usize) -> Vec<f32> {
        let fits = (0..self.free.len())
            .filter(|&i| self.free[i].capacity() >= len)
            .min_by_key(|&i| self.free[i].capacity());
        fits.map(|i| self.free.swap_remove(i)).unwrap_or_default()
    }

    /// Returns a buffer for later `take`s.
    pub fn give(&mut self, buf: Vec<f32>) {
        if buf.capacity() > 0 {
            self.free.push(buf);
        }
    }
}

/// For each tensor, the index of the last node that reads it, if its value may go back to
/// the pool right after that node: inputs and computed tensors that are not graph outputs
/// (those are read after the run) and not aliases of state (`KvWrite` outputs). A computed
/// tensor nothing reads is released after the node that made it.
pub fn release_points(graph: &Graph, storage: &[usize]) -> Vec<Option<usize>> {
    let mut last: Vec<Option<usize>> = graph
        .tensors()
        .iter()
        .map(|t| match t.kind {
            TensorKind::Computed(node) => Some(node.0),
            _ => None,
        })
        .collect();
    for (i, node) in graph.nodes().iter().enumerate() {
        for input in &node.inputs {
            last[input.0] = Some(i);
        }
    }
    for (id, t) in graph.tensors().iter().enumerate() {
        let recyclable = matches!(t.kind, TensorKind::Input | TensorKind::Computed(_))
            && storage[id] == id
            && !graph.outputs().iter().any(|o| o.0 == id);
        if !recyclable {
            last[id] = None;
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_hands_out_the_smallest_buffer_that_fits() {
        let mut pool = BufferPool::default();
        pool.give(vec![1.0; 100]);
        pool.give(vec![2.0; 10]);
        pool.give(vec![3.0; 50]);
        let b = pool.take(40);
        assert_eq!((b.len(), b.capacity()), (50, 50), "stale values kept");
        let c = pool.take(200);
        assert_eq!(c.capacity(), 0, "nothing fits: a new buffer");
        let held: Vec<usize> = pool.free.iter().map(Vec::capacity).collect();
        assert_eq!(held, [100, 10]);
    }

    #[test]
    fn values_are_released_after_their_last_reader_unless_read_after_the_run() {
        use crate::{DType, Op, TensorDesc};
        let mut g = Graph::new();
        let desc = TensorDesc::new(DType::F32, [2, 4]);
        let x = g.input("x", desc.clone()).unwrap();
        let a = g.add(Op::Add, &[x, x]).unwrap(); // node 0
        let b = g.add(Op::Add, &[a, x]).unwrap(); // node 1
        let c = g.add(Op::Mul, &[b, b]).unwrap(); // node 2, an output
        let dead = g.add(Op::Add, &[x, x]).unwrap(); // node 3, read by nothing
        let w = g
            .constant(
                "w",
                desc,
                bytemuck::cast_slice(&[0.5f32; 8]).to_vec().into(),
            )
            .unwrap();
        let e = g.add(Op::Add, &[c, w]).unwrap(); // node 4, reads the output c
        g.mark_output(c).unwrap();
        g.mark_output(e).unwrap();
        let storage: Vec<usize> = (0..g.tensors().len()).collect();
        let points = release_points(&g, &storage);
        assert_eq!(points[x.0], Some(3), "the input after its last reader");
        assert_eq!(points[a.0], Some(1));
        assert_eq!(points[b.0], Some(2));
        assert_eq!(points[dead.0], Some(3), "unread: right after it is made");
        assert_eq!(points[c.0], None, "outputs are read after the run");
        assert_eq!(points[e.0], None);
        assert_eq!(points[w.0], None, "constants stay");
    }
}
