//! imaging (placeholder doc, replaced below)
