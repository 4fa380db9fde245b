//! The INF parser checked field for field against Wine's SetupAPI (an independent implementation).
