//! Graph rewrites.
