//! ptp (placeholder doc, replaced below)
