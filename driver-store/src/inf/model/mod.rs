//! The INF semantic model: [Version], [Manufacturer] with decorations, models, DDInstall, services, files.
