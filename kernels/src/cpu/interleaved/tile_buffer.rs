//! Where a matrix's tiles live: fresh anonymous pages, asked for as 2 MiB huge pages.
//!
//! Decode streams every weight byte once per token, so a 4 KiB page is a TLB miss every
//! 4 KiB (a two-dimensional page walk under a VM) and the hardware prefetcher stops at
//! each page's end. Linux gives huge pages to a region advised `MADV_HUGEPAGE` when its
//! pages are first touched (`transparent_hugepage` set to `madvise`, the common default);
//! with `always` it would anyway, with `never` the advice is a no-op. The tiles are packed
//! after the advice, into pages no one has written, so they are faulted in huge.

use std::ops::{Deref, DerefMut};

/// A huge page's size and alignment on x86-64 and on aarch64 with 4 KiB pages.
const HUGE_PAGE: usize = 2 << 20;

/// Zeroed memory for `len` values of `T`, read and written as a slice.
pub(crate) struct TileBuffer<T: bytemuck::Pod> {
    storage: Storage<T>,
    len: usize,
}

enum Storage<T> {
    /// An anonymous mapping with the values from `offset`, a huge-page boundary.
    Mapped {
        map: memmap2::MmapMut,
        offset: usize,
    },
    /// The allocator's memory, where no mapping could be had or for small buffers.
    Heap(Vec<T>),
}

impl<T: bytemuck::Pod> TileBuffer<T> {
    /// `len` zeroed values; `None` if the memory cannot be had. Buffers of at least one huge
    /// page are mapped and advised; smaller ones come from the allocator.
    pub(crate) fn zeroed(len: usize) -> Option<TileBuffer<T>> {
        let bytes = len.checked_mul(size_of::<T>())?;
        let storage = if bytes >= HUGE_PAGE {
            Self::map_huge(bytes).or_else(|| Self::heap(len))?
        } else {
            Self::heap(len)?
        };
        Some(TileBuffer { storage, len })
    }

    fn heap(len: usize) -> Option<Storage<T>> {
        Some(Storage::Heap(bytemuck::try_zeroed_vec(len).ok()?))
    }

    /// A mapping one huge page longer than `bytes`, so a huge-page boundary lies within
    /// its first page's worth; only the whole huge pages from there are advised, so a
    /// tail shorter than one keeps small pages and costs no more than it holds.
    fn map_huge(bytes: usize) -> Option<Storage<T>> {
        let map = memmap2::MmapMut::map_anon(bytes + HUGE_PAGE).ok()?;
        let offset = (map.as_ptr() as usize).next_multiple_of(HUGE_PAGE) - map.as_ptr() as usize;
        #[cfg(target_os = "linux")]
        {
            let whole = bytes / HUGE_PAGE * HUGE_PAGE;
            // Advice only: if the kernel has no transparent huge pages it refuses, and the
            // small pages serve. (memmap2 offers the advice on Linux only, so Android's
            // kernels, which have it too, get the mapping without it.)
            let _ = map.advise_range(memmap2::Advice::HugePage, offset, whole);
        }
        Some(Storage::Mapped { map, offset })
    }

    /// Whether the values live in a mapping (and so were advised), not on the heap.
    #[cfg(test)]
    fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped { .. })
    }
}

impl<T: bytemuck::Pod> Deref for TileBuffer<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.storage {
            Storage::Mapped { map, offset } => {
                bytemuck::cast_slice(&map[*offset..*offset + self.len * size_of::<T>()])
            }
            Storage::Heap(v) => v,
        }
    }
}

impl<T: bytemuck::Pod> DerefMut for TileBuffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.storage {
            Storage::Mapped { map, offset } => {
                bytemuck::cast_slice_mut(&mut map[*offset..*offset + self.len * size_of::<T>()])
            }
            Storage::Heap(v) => v,
        }
    }
}

impl<T: bytemuck::Pod> std::fmt::Debug for TileBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.storage {
            Storage::Mapped { .. } => "mapped",
            Storage::Heap(_) => "heap",
        };
        write!(
            f,
            "TileBuffer({} x {} bytes, {kind})",
            self.len,
            size_of::<T>()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buffers_come_from_the_heap_zeroed() {
        let mut b = TileBuffer::<u64>::zeroed(1000).expect("memory");
        assert!(!b.is_mapped());
        assert_eq!(b.len(), 1000);
        assert!(b.iter().all(|&v| v == 0));
        b[999] = 7;
        assert_eq!(b[999], 7);
    }

    #[test]
    fn large_buffers_are_mapped_zeroed_from_a_huge_page_boundary() {
        let len = (3 * HUGE_PAGE + 100) / size_of::<[u64; 8]>();
        let mut b = TileBuffer::<[u64; 8]>::zeroed(len).expect("memory");
        assert!(b.is_mapped());
        assert_eq!(b.len(), len);
        assert_eq!(b.as_ptr() as usize % HUGE_PAGE, 0);
        assert!(b.iter().all(|v| *v == [0; 8]));
        for (i, v) in b.iter_mut().enumerate() {
            v[i % 8] = i as u64;
        }
        assert!(b.iter().enumerate().all(|(i, v)| v[i % 8] == i as u64));
    }

    /// Where the kernel has transparent huge pages, the whole huge pages of a mapped
    /// buffer carry the advice (`hg` in the region's `VmFlags`). Whether the kernel then
    /// finds free huge pages is up to it, so that is not asserted.
    #[cfg(target_os = "linux")]
    #[test]
    fn mapped_buffers_are_advised_huge_where_the_kernel_has_huge_pages() {
        let Ok(mode) = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        else {
            return; // No transparent huge pages in this kernel: the advice is refused.
        };
        let b = TileBuffer::<u8>::zeroed(2 * HUGE_PAGE).expect("memory");
        let at = b.as_ptr() as usize;
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("Linux has smaps");
        let mut inside = false;
        let mut flags = None;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((lo, hi)) = range.split_once('-') {
                    if let (Ok(lo), Ok(hi)) =
                        (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                    {
                        inside = (lo..hi).contains(&at);
                        continue;
                    }
                }
            }
            if inside {
                if let Some(f) = line.strip_prefix("VmFlags:") {
                    flags = Some(f.split_whitespace().map(str::to_string).collect::<Vec<_>>());
                }
            }
        }
        let flags = flags.expect("the buffer's region is in smaps");
        assert!(
            flags.iter().any(|f| f == "hg"),
            "THP mode {mode:?}: region flags {flags:?} lack the huge-page advice"
        );
    }
}
