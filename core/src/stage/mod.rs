//! Stages that change an offline image. Each computes a [`plan::Plan`] first (data: file
//! writes and registry edits) and only then commits it, so nothing is written to an image until
//! the plan is complete (DESIGN.md, invariants).

pub mod commit;
pub mod inject;
pub mod plan;
pub mod records;
