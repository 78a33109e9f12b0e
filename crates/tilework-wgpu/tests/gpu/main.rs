//! GPU conformance tests: every kernel family against the CPU backend (the oracle), on any
//! wgpu adapter (lavapipe included). Without an adapter each test prints
//! `skipping GPU test: <reason>` and returns, unless `TILEWORK_REQUIRE_GPU=1`.

mod common;
mod elementwise;
mod errors;
mod gather;
mod matmul;
mod reduce;
mod roofline;
mod scan;
mod sources;
mod transfer;
