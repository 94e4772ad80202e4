//! camsim (placeholder doc, replaced below)
