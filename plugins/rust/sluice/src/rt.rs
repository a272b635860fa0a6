//! The ABI glue behind [`plugin!`](crate::plugin): buffers, decoding, encoding.
//! Not part of the public API.

use crate::config::Config;
use crate::output::{encode_error, Output};
use crate::page::Page;
use crate::types::Schema;
use crate::wire::Reader;
use crate::{Error, Plugin};

/// The SDK's per-instance state: the input buffer handed out by `sluice_alloc`,
/// the result buffer a handle points into, the reused output and the schema of the
/// last page. One per module instance; the host calls one export at a time.
#[derive(Default)]
pub struct Runtime {
    input: Vec<u8>,
    result: Vec<u8>,
    out: Output,
    schema_raw: Vec<u8>,
    schema_ncols: usize,
    schema: Schema,
    schema_id: u64,
    /// The schema id the plugin's `prepare` last succeeded for (0 = none).
    prepared: u64,
    inited: bool,
}

/// The row slot (ABI.md 3.1): the index of the row the plugin last took
/// from the page of the current `sluice_process` ([`Page::row`] and the row
/// iterator store it), -1 outside. After a trap the host reads it to name the
/// row. An atomic only so native tests may run in threads; on wasm32 it is a
/// plain load and store.
pub static ROW_SLOT: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(-1);

/// The address of [`ROW_SLOT`], for the `sluice_row_slot` export.
pub fn row_slot() -> i32 {
    &ROW_SLOT as *const _ as usize as i32
}

fn not_inited() -> Error {
    Error::new("sluice sdk: called before a successful sluice_init")
}

impl Runtime {
    /// Makes room for `size` input bytes and returns where the host writes them.
    pub fn alloc(&mut self, size: usize) -> *mut u8 {
        self.input.clear();
        self.input.reserve(size);
        self.input.as_mut_ptr()
    }

    /// Takes the input the host wrote at `ptr`, checking it is the buffer of the
    /// last `alloc`.
    ///
    /// # Safety
    /// The host wrote `len` bytes at `ptr` (a wasm guarantee of the ABI).
    pub unsafe fn take_input(&mut self, ptr: usize, len: usize) -> Result<Vec<u8>, Error> {
        if len == 0 {
            return Ok(Vec::new());
        }
        if ptr != self.input.as_ptr() as usize || len > self.input.capacity() {
            return Err(Error::new(format!(
                "sluice sdk: input (ptr 0x{:x}, {} bytes) is not within the {}-byte buffer of the last sluice_alloc",
                ptr,
                len,
                self.input.capacity()
            )));
        }
        self.input.set_len(len);
        Ok(std::mem::take(&mut self.input))
    }

    /// Gives the input buffer back for reuse.
    pub fn put_input(&mut self, b: Vec<u8>) {
        if b.capacity() >= self.input.capacity() {
            self.input = b;
        }
    }

    /// Encodes `e` as the result.
    pub fn error(&mut self, e: &Error) -> &[u8] {
        encode_error(&mut self.result, e);
        &self.result
    }

    /// `sluice_init`: decodes the config and initialises the plugin.
    pub fn init<P: Plugin>(&mut self, slot: &mut Option<P>, cfg: &[u8]) -> &[u8] {
        self.result.clear();
        if self.inited {
            return self.error(&Error::new("sluice sdk: sluice_init called twice"));
        }
        let cfg = match Config::decode(cfg) {
            Ok(c) => c,
            Err(e) => return self.error(&e.context("sluice sdk: decode config")),
        };
        match P::init(&cfg) {
            Ok(p) => {
                *slot = Some(p);
                self.inited = true;
                &self.result
            }
            Err(e) => self.error(&e),
        }
    }

    /// `sluice_process`: decodes the page, runs the plugin, encodes its output.
    pub fn process<P: Plugin>(&mut self, slot: &mut Option<P>, b: &[u8]) -> &[u8] {
        if let Err(e) = self.process_inner(slot, b) {
            return self.error(&e);
        }
        &self.result
    }

    fn process_inner<P: Plugin>(&mut self, slot: &mut Option<P>, b: &[u8]) -> Result<(), Error> {
        let plugin = match slot.as_mut() {
            Some(p) if self.inited => p,
            _ => return Err(not_inited()),
        };
        let layout = Page::read_header(b).map_err(|e| e.context("sluice sdk: decode page"))?;
        // Pages of one stream share a schema: reuse the decoded one when the
        // descriptors are byte-identical (the decoder is deterministic).
        let start = layout.schema_start;
        let at = if layout.ncols == self.schema_ncols && crate::wire::starts_with(&b[start..], &self.schema_raw) {
            start + self.schema_raw.len()
        } else {
            let mut r = Reader::new(b, "page");
            r.pos = start;
            let schema = Schema::read_columns(&mut r, layout.ncols)
                .map_err(|e| e.context("sluice sdk: decode page"))?;
            self.schema = schema;
            self.schema_id += 1;
            self.schema_raw.clear();
            self.schema_raw.extend_from_slice(&b[start..r.pos]);
            self.schema_ncols = layout.ncols;
            r.pos
        };
        if self.schema_id == 0 {
            self.schema_id = 1; // a first page without columns
        }
        let page = Page::assemble(b, &layout, at, &self.schema, self.schema_id)
            .map_err(|e| e.context("sluice sdk: decode page"))?;
        if self.prepared != self.schema_id {
            // Once per new schema; again on the next page after a failure.
            plugin.prepare(&self.schema)?;
            self.prepared = self.schema_id;
        }
        self.out.reset(Some(layout.nrows));
        crate::page::take_fault();
        let r = plugin.process(&page, &mut self.out);
        ROW_SLOT.store(-1, core::sync::atomic::Ordering::Relaxed);
        // A malformed cell the plugin read is the first problem, whatever it did
        // with the null it got.
        if let Some(f) = crate::page::take_fault() {
            return Err(f);
        }
        r?;
        self.out.encode(Some(&self.schema), &mut self.result)
    }

    /// `sluice_flush`.
    pub fn flush<P: Plugin>(&mut self, slot: &mut Option<P>) -> &[u8] {
        let plugin = match slot.as_mut() {
            Some(p) if self.inited => p,
            _ => return self.error(&not_inited()),
        };
        self.out.reset(None);
        let r = plugin
            .flush(&mut self.out)
            .and_then(|_| self.out.encode(None, &mut self.result));
        match r {
            Ok(()) => &self.result,
            Err(e) => self.error(&e),
        }
    }

    /// `sluice_snapshot`: the state bytes, or an error (the export traps on it:
    /// snapshot has no error channel).
    pub fn snapshot<P: Plugin>(&mut self, slot: &mut Option<P>) -> Result<&[u8], Error> {
        let plugin = match slot.as_ref() {
            Some(p) if self.inited => p,
            _ => return Err(not_inited()),
        };
        self.result.clear();
        if let Some(state) = plugin.snapshot() {
            self.result = state;
        }
        Ok(&self.result)
    }

    /// `sluice_restore`.
    pub fn restore<P: Plugin>(&mut self, slot: &mut Option<P>, state: &[u8]) -> &[u8] {
        let plugin = match slot.as_mut() {
            Some(p) if self.inited => p,
            _ => return self.error(&not_inited()),
        };
        self.result.clear();
        match plugin.restore(state) {
            Ok(()) => &self.result,
            Err(e) => self.error(&e),
        }
    }
}

/// The module's one runtime. wasm32-unknown-unknown is single-threaded and the
/// host calls one export at a time, so a `static mut` reached only through
/// [`with`] is never aliased.
static mut RT: Option<Runtime> = None;

/// Runs `f` with the module's runtime.
///
/// # Safety
/// Not reentrant: only the export functions call it, once per call.
pub unsafe fn with<R>(f: impl FnOnce(&mut Runtime) -> R) -> R {
    if RT.is_none() {
        install_panic_hook();
    }
    f(RT.get_or_insert_with(Runtime::default))
}

/// Packs a result into an ABI handle: `ptr << 32 | len`, 0 for empty.
pub fn handle(b: &[u8]) -> i64 {
    if b.is_empty() {
        return 0;
    }
    ((b.as_ptr() as usize as u64) << 32 | b.len() as u64) as i64
}

/// Routes panic messages to the host log (error level) before the trap.
fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        std::panic::set_hook(Box::new(|info| {
            crate::log(crate::Level::Error, &format!("plugin panicked: {}", info));
        }));
    }
}

/// The body of `sluice_alloc`.
pub fn alloc(size: i32) -> i32 {
    if size < 0 {
        panic!("sluice sdk: sluice_alloc({})", size);
    }
    // SAFETY: see `with`.
    unsafe { with(|rt| rt.alloc(size as usize) as usize as i32) }
}

/// The body of `sluice_init`.
///
/// # Safety
/// Called only from the `sluice_init` export with the host's arguments.
pub unsafe fn init<P: Plugin>(slot: &mut Option<P>, ptr: i32, len: i32) -> i64 {
    with(|rt| match rt.take_input(ptr as u32 as usize, len as u32 as usize) {
        Err(e) => handle(rt.error(&e)),
        Ok(b) => {
            let h = handle(rt.init(slot, &b));
            rt.put_input(b);
            h
        }
    })
}

/// The body of `sluice_process`.
///
/// # Safety
/// Called only from the `sluice_process` export with the host's arguments.
pub unsafe fn process<P: Plugin>(slot: &mut Option<P>, ptr: i32, len: i32) -> i64 {
    with(|rt| match rt.take_input(ptr as u32 as usize, len as u32 as usize) {
        Err(e) => handle(rt.error(&e)),
        Ok(b) => {
            let h = handle(rt.process(slot, &b));
            rt.put_input(b);
            h
        }
    })
}

/// The body of `sluice_flush`.
///
/// # Safety
/// Called only from the `sluice_flush` export.
pub unsafe fn flush<P: Plugin>(slot: &mut Option<P>) -> i64 {
    with(|rt| handle(rt.flush(slot)))
}

/// The body of `sluice_snapshot`.
///
/// # Safety
/// Called only from the `sluice_snapshot` export.
pub unsafe fn snapshot<P: Plugin>(slot: &mut Option<P>) -> i64 {
    with(|rt| match rt.snapshot(slot) {
        Ok(b) => handle(b),
        // sluice_snapshot has no error channel: trap (the panic hook logs it).
        Err(e) => panic!("sluice sdk: snapshot: {}", e),
    })
}

/// The body of `sluice_restore`.
///
/// # Safety
/// Called only from the `sluice_restore` export with the host's arguments.
pub unsafe fn restore<P: Plugin>(slot: &mut Option<P>, ptr: i32, len: i32) -> i64 {
    with(|rt| match rt.take_input(ptr as u32 as usize, len as u32 as usize) {
        Err(e) => handle(rt.error(&e)),
        Ok(b) => {
            let h = handle(rt.restore(slot, &b));
            rt.put_input(b);
            h
        }
    })
}
