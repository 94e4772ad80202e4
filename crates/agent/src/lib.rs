//! agent (placeholder doc, replaced below)
