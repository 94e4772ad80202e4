//! album (placeholder doc, replaced below)
