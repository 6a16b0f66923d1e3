//! Where int8 rows are: in memory, or in a part of a memory-mapped vectors file, which the
//! operating system reads from disk only as searches touch it (opening a million items' vectors
//! costs no copy).

use std::io::Read;
use std::sync::Arc;

/// The bytes of a set of int8 rows.
pub(super) enum RowBytes {
    Owned(Vec<i8>),
    Mapped {
        map: Arc<memmap2::Mmap>,
        start: usize,
        len: usize,
    },
}

impl RowBytes {
    /// The bytes to change: mapped ones are copied into memory first.
    pub(super) fn to_mut(&mut self) -> &mut Vec<i8> {
        if let RowBytes::Mapped { .. } = self {
            *self = RowBytes::Owned(self.to_vec());
        }
        match self {
            RowBytes::Owned(v) => v,
            RowBytes::Mapped { .. } => unreachable!("copied just above"),
        }
    }
}

impl std::ops::Deref for RowBytes {
    type Target = [i8];
    fn deref(&self) -> &[i8] {
        match self {
            RowBytes::Owned(v) => v,
            RowBytes::Mapped { map, start, len } => {
                bytemuck::cast_slice(&map[*start..*start + *len])
            }
        }
    }
}

/// A reader of rows: a stream copies them, a mapped file hands out parts of itself.
pub(super) trait RowSource: Read {
    fn row_bytes(&mut self, n: usize) -> std::io::Result<RowBytes>;
}

/// Any stream: rows are read into memory.
pub(super) struct Copied<R>(pub R);

impl<R: Read> Read for Copied<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> RowSource for Copied<R> {
    fn row_bytes(&mut self, n: usize) -> std::io::Result<RowBytes> {
        let mut data = vec![0i8; n];
        self.0.read_exact(bytemuck::cast_slice_mut(&mut data))?;
        Ok(RowBytes::Owned(data))
    }
}

/// A memory-mapped file read from `position` on.
pub struct MappedFile {
    map: Arc<memmap2::Mmap>,
    position: usize,
}

impl MappedFile {
    pub fn new(map: Arc<memmap2::Mmap>, position: usize) -> Self {
        MappedFile { map, position }
    }

    /// Where the next read starts.
    pub fn position(&self) -> usize {
        self.position
    }
}

impl Read for MappedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.map.get(self.position..).unwrap_or_default();
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.position += n;
        Ok(n)
    }
}

impl RowSource for MappedFile {
    fn row_bytes(&mut self, n: usize) -> std::io::Result<RowBytes> {
        let end = self
            .position
            .checked_add(n)
            .filter(|&end| end <= self.map.len())
            .ok_or_else(|| super::invalid("int8 rows run past the end of the file"))?;
        let bytes = RowBytes::Mapped {
            map: Arc::clone(&self.map),
            start: self.position,
            len: n,
        };
        self.position = end;
        Ok(bytes)
    }
}
